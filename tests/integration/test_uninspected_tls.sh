#!/usr/bin/env bash
# TLS the agent cannot read: Chromium's BoringSSL is linked in and stripped, so no hook sees its
# plaintext. Its ClientHello still names the server: a rule with "uninspected_tls" judges by that
# name and the process. With the default policy, Chromium opening a generative-AI site the policy
# does not approve is cut off at the handshake (the page never shows), Chromium opening another
# site is left alone, and curl (OpenSSL, hooked) to the same genAI name is not mistaken for an
# unreadable client. The same through an HTTP proxy, as hospitals configure browsers: the session
# travels inside the proxy's tunnel, named by the CONNECT request before it.
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
# The test's HTTP proxy runs on this machine: relaying Chromium's sessions, it writes their hellos
# itself, like a client the agent cannot read (a local relay is judged so); it is excepted, as IT
# would except a relay it runs.
default_policy_with "$T/policy.json" 'p["destinations"].append({"name": "test-genai", "category": "genai", "hosts": ["genai.test"]})
p["exceptions"].append({"id": "test-proxy", "reason": "the test proxy relays sessions it did not open", "scope": {"exe": ["/usr/bin/python3*"]}})'
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

# Through an HTTP proxy: CONNECT NAME:PORT in plaintext, then the session inside the tunnel. The
# proxy sends every tunnel to the test server, whatever the name.
"$PY" - "$T/proxy.port" "$PORT" <<'PYEOF' &
import socket, sys, threading
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
open(sys.argv[1], "w").write(str(srv.getsockname()[1]))
def pipe(a, b):
    try:
        while (data := a.recv(65536)):
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def serve(c):
    c.settimeout(60)
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 65536:
        chunk = c.recv(4096)
        if not chunk:
            return c.close()
        head += chunk
    if not head.startswith(b"CONNECT "):
        c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        return c.close()
    up = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=60)
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    rest = head.split(b"\r\n\r\n", 1)[1]
    if rest:
        up.sendall(rest)
    threading.Thread(target=pipe, args=(up, c), daemon=True).start()
    pipe(c, up)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
PYEOF
PIDS+=("$!")
for _ in $(seq 100); do [[ -s "$T/proxy.port" ]] && break; sleep 0.1; done
PROXY_PORT=$(cat "$T/proxy.port")
ALERT_PORT=$PROXY_PORT # what the agent sees of these sessions: a socket to the proxy
chromium_via_proxy() {
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --no-first-run --user-data-dir="$T/chromium-proxy-$1" \
    --ignore-certificate-errors --proxy-server="http://127.0.0.1:$PROXY_PORT" \
    --dump-dom "https://$1:$PORT/" 2>>"$T/chromium.log" || true
}
tunnels() { "$BIN/rempart" --socket "$SOCK" status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["agent_counters"]["uninspected_tls_tunnels"])'; }
[[ $(tunnels) -eq 0 ]] || fail "tunnels counted before any proxy was used: $(tunnels)"
page=$(chromium_via_proxy intranet.test)
[[ "$page" == *RENDERED-BY-THE-SERVER* ]] || fail "Chromium did not load the intranet page through the proxy: $(tail -3 "$T/chromium.log")"
sleep 0.5
[[ $(unreadable) == "[]" ]] || fail "Chromium through the proxy to a site no rule names was judged: $(unreadable)"
n=$(tunnels)
[[ $n -ge 1 ]] || fail "Chromium's session through the proxy was not seen in the tunnel"
log "chromium -> proxy -> intranet.test: page loaded, $n unreadable session(s) seen in the tunnel, no rule applies"

curl -sS -k -x "http://127.0.0.1:$PROXY_PORT" -o /dev/null "https://genai.test:$PORT/" || fail "curl could not fetch through the proxy"
sleep 0.5
[[ $(unreadable) == "[]" ]] || fail "curl through the proxy taken for an unreadable client: $(unreadable)"
[[ $(tunnels) -eq $n ]] || fail "curl's own session through the proxy counted as unreadable"

page=$(chromium_via_proxy genai.test)
for _ in $(seq 100); do [[ $(unreadable) != "[]" ]] && break; sleep 0.1; done
got=$(unreadable)
[[ "$got" == *"('block', 'chromium', 'genai.test', 'unreadable-tls-to-unapproved-genai')"* ]] || fail "no block for Chromium to genai.test through the proxy: $got"
[[ "$page" != *RENDERED-BY-THE-SERVER* ]] || fail "Chromium still loaded the genAI page through the proxy"
said=$(alerts_query "sorted(set(a['rempart']['masked'] + ' / ' + a['rempart']['enforcement'] for a in alerts if a['rempart']['detector'] == 'uninspected_tls'))")
[[ "$said" == *"TLS not readable, to genai.test (proxy tunnel) / "*"socket destroyed"* ]] || fail "the tunnel's alert says: $said"
log "chromium -> proxy -> genai.test: blocked in the tunnel ($said)"
log "PASS"
