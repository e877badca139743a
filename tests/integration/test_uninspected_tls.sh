#!/usr/bin/env bash
# TLS the agent cannot read: Chromium's BoringSSL is linked in and stripped, so no hook sees its
# plaintext. Its ClientHello still names the server: a rule with "uninspected_tls" judges by that
# name and the process. With the default policy, Chromium opening a generative-AI site the policy
# does not approve is cut off at the handshake (the page never shows), Chromium opening another
# site is left alone, and curl (OpenSSL, hooked) to the same genAI name is not mistaken for an
# unreadable client.
source "$(dirname "$0")/lib.sh"
require_root
if ! command -v chromium >/dev/null; then
  log "SKIP: no chromium here (Debian packages it; Ubuntu's is a snap that does not run in a test)"
  exit 77
fi
make_certs
cat > "$T/page.html" <<'HTML'
<html><body><p id="m">RENDERED-BY-THE-SERVER</p></body></html>
HTML
start_server srv --page "$T/page.html"; PORT=$SERVER_PORT
# The shipped default, with one more unapproved genAI service: a name this machine can serve.
default_policy_with "$T/policy.json" 'p["destinations"].append({"name": "test-genai", "category": "genai", "hosts": ["genai.test"]})'
start_daemon "$T/policy.json"
ALERT_PORT=$PORT

# chromium_get NAME: what Chromium renders of https://NAME:PORT/ (NAME resolved to 127.0.0.1 by
# Chromium itself; its own profile; the test CA is not in it, so certificate errors are waived).
chromium_get() {
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --no-first-run --user-data-dir="$T/chromium-$1" \
    --ignore-certificate-errors --host-resolver-rules="MAP $1 127.0.0.1" \
    --dump-dom "https://$1:$PORT/" 2>>"$T/chromium.log" || true
}
unreadable() { alerts_query "[(a['rempart']['action'], a['actor']['process']['name'], a['dst_endpoint'].get('hostname'), a['rempart']['rule']) for a in alerts if a['rempart']['detector'] == 'uninspected_tls']"; }

# Another site: nothing to say, the page shows.
page=$(chromium_get intranet.test)
[[ "$page" == *RENDERED-BY-THE-SERVER* ]] || fail "Chromium did not load the intranet page: $(tail -3 "$T/chromium.log")"
sleep 0.5
[[ $(unreadable) == "[]" ]] || fail "Chromium to a site no rule names was judged: $(unreadable)"
hellos=$("$BIN/rempart" --socket "$SOCK" status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["agent_counters"]["uninspected_tls_sessions"])')
[[ $hellos -ge 1 ]] || fail "Chromium's TLS session was not seen as unreadable (uninspected_tls_sessions = $hellos)"
log "chromium -> intranet.test: page loaded, $hellos unreadable session(s) seen, no rule applies"

# curl (OpenSSL: hooked) to the genAI name: its hello is its library's, not an unreadable client's.
curl -sS -k --resolve "genai.test:$PORT:127.0.0.1" -o /dev/null "https://genai.test:$PORT/" || fail "curl could not fetch"
sleep 0.5
[[ $(unreadable) == "[]" ]] || fail "curl taken for an unreadable client: $(unreadable)"

# The genAI site: the connection is destroyed at the handshake, Chromium shows nothing.
page=$(chromium_get genai.test)
for _ in $(seq 100); do [[ $(unreadable) != "[]" ]] && break; sleep 0.1; done
got=$(unreadable)
[[ "$got" == *"('block', 'chromium', 'genai.test', 'unreadable-tls-to-unapproved-genai')"* ]] || fail "no block for Chromium to genai.test: $got"
[[ "$page" != *RENDERED-BY-THE-SERVER* ]] || fail "Chromium still loaded the genAI page"
how=$(alerts_query "sorted(set(a['rempart']['enforcement'] for a in alerts if a['rempart']['detector'] == 'uninspected_tls'))")
[[ "$how" == *"socket destroyed"* ]] || fail "the connection was not destroyed: $how"
grep -q "genai.test" "$T/daemon.log" || fail "the daemon did not log the blocked name"
log "chromium -> genai.test: blocked at the handshake ($how)"
log "PASS"
