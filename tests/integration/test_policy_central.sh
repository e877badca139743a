#!/usr/bin/env bash
# Central policy, end to end with the real daemon: signed bundles through the spool directory and
# an HTTPS pull; tampered, wrong-key and replayed bundles refused; last-known-good at boot;
# malformed local policies refused by reload while the previous one keeps judging real traffic;
# reloads under traffic lose no alert.
source "$(dirname "$0")/lib.sh"
require_root
make_certs
start_server srv; PORT=$SERVER_PORT
ALERT_PORT=$PORT
NIR="2 95 10 99 126 111 93"
mkdir -p "$T/keys" "$T/spool" "$T/state" "$T/other" "$T/www"

openssl genpkey -algorithm ed25519 -out "$T/sign.key" 2>/dev/null
openssl pkey -in "$T/sign.key" -pubout -out "$T/keys/security-team.pem"
openssl genpkey -algorithm ed25519 -out "$T/rogue.key" 2>/dev/null

# policy SERIAL RULE_ID ACTION: a small valid policy whose rule id tells which one judged a flow.
policy() {
  cat <<JSON
{ "schema_version": 1, "name": "central-$1", "serial": $1,
  "detectors": { "fr_nir": { "enabled": true, "min_confidence": 0.7 } },
  "rules": [ { "id": "$2", "detectors": ["fr_nir"], "action": "$3" } ] }
JSON
}
sign() { # sign SERIAL RULE ACTION OUT [KEY]
  policy "$1" "$2" "$3" > "$T/p$1.json"
  "$BIN/rempart" policy sign --key "${5:-$T/sign.key}" -o "$4" "$T/p$1.json" >/dev/null
}
serial() { "$BIN/rempart" --socket "$SOCK" status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["policy"]["serial"])'; }
last_error() { "$BIN/rempart" --socket "$SOCK" status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["policy"]["last_error"])'; }
wait_serial() { for _ in $(seq 100); do [[ $(serial) == "$1" ]] && return 0; sleep 0.1; done; fail "serial $1 not in force (now $(serial); error: $(last_error))"; }
post_nir() { curl -sS --cacert "$T/ca.pem" -o /dev/null -d "NIR $NIR" "https://127.0.0.1:$PORT/" || true; }
last_rule() { alerts_query "alerts[-1]['rempart']['rule'] if alerts else ''"; }

cp "$SRC/policies/default.json" "$T/local.json"
start_daemon "$T/local.json" --spool "$T/spool" --keys "$T/keys" --state-dir "$T/state"
[[ $(serial) == $("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["serial"])' "$T/local.json") ]] \
  || fail "local policy not in force at first boot"

# 1. A signed bundle dropped in the spool is put in force and judges traffic.
sign 10 central-ten alert "$T/b10"
cp "$T/b10" "$T/spool/.b10.tmp" && mv "$T/spool/.b10.tmp" "$T/spool/b10.bundle"
wait_serial 10
post_nir; wait_alerts 1 || fail "no alert under serial 10"
[[ $(last_rule) == central-ten ]] || fail "flow not judged by the spool policy: $(last_rule)"
log "spool bundle serial 10 in force and judging"

# 2. Tampered, wrong key, replayed older serial, unsigned: all refused, serial 10 stays.
sign 20 central-twenty alert "$T/b20"
"$PY" - "$T/b20" "$T/tampered" <<'PYEOF'
import base64, json, sys
b = json.load(open(sys.argv[1]))
p = base64.b64decode(b["policy"]).replace(b'"alert"', b'"audit"')
b["policy"] = base64.b64encode(p).decode()
json.dump(b, open(sys.argv[2], "w"))
PYEOF
cp "$T/tampered" "$T/spool/tampered.bundle"; sleep 1
sign 21 rogue alert "$T/spool/rogue.bundle" "$T/rogue.key"; sleep 1
sign 5 central-five alert "$T/spool/old.bundle"; sleep 1
policy 30 unsigned alert > "$T/spool/unsigned.json"; sleep 1
[[ $(serial) == 10 ]] || fail "a refused bundle changed the policy (serial $(serial))"
[[ -n "$(last_error)" ]] || fail "refusals not reported by status"
rm -f "$T"/spool/*
log "tampered, wrong-key, replayed and unsigned bundles refused: $(last_error | cut -c1-160)"

# 3. Malformed local policies: reload refuses each with a message; serial 10 still judges traffic.
# (In central mode reload looks for bundles; a daemon without central sources reloads its file.)
stop_daemon
start_daemon "$T/local.json"
base_serial=$(serial)
count=0
for bad in "$SRC"/tests/policies/malformed/*.json; do
  cp "$bad" "$T/local.json"
  if "$BIN/rempart" --socket "$SOCK" reload >"$T/reload.out" 2>"$T/reload.err"; then fail "reload accepted $(basename "$bad")"; fi
  [[ -s "$T/reload.err" ]] || fail "no message for $(basename "$bad")"
  count=$((count + 1))
done
[[ $count -ge 30 ]] || fail "only $count malformed policies"
[[ $(serial) == "$base_serial" ]] || fail "a malformed policy changed the serial"
kill -0 "$DAEMON_PID" || fail "daemon died on malformed policies"
before=$(alert_count)
post_nir; wait_alerts $((before + 1)) || fail "no alert after $count refused reloads"
log "$count malformed policies refused by reload; the previous policy still judges traffic"

# 4. Reload under traffic loses no alert: 30 flows with a NIR while valid reloads happen.
cp "$SRC/policies/default.json" "$T/local.json"
before=$(alert_count)
( for _ in $(seq 10); do "$BIN/rempart" --socket "$SOCK" reload >/dev/null 2>&1; sleep 0.05; done ) &
RL=$!
for _ in $(seq 30); do post_nir; done
wait $RL
wait_alerts $((before + 30)) || fail "alerts lost during reloads: $(( $(alert_count) - before ))/30"
log "30/30 alerts during 10 reloads"
stop_daemon

# 5. Boot: the last-known-good central policy (serial 10) outranks the local file.
start_daemon "$T/local.json" --spool "$T/spool" --keys "$T/keys" --state-dir "$T/state"
[[ $(serial) == 10 ]] || fail "last-known-good not used at boot (serial $(serial))"
log "last-known-good serial 10 used at boot"
stop_daemon

# 6. HTTPS pull from a local server with a pinned CA: a newer signed bundle is picked up.
sign 40 pulled-forty alert "$T/www/policy.bundle"
"$PY" - "$T/www" "$T/server.pem" "$T/server.key" "$T/www.port" <<'PYEOF' &
import http.server, os, ssl, sys, functools
os.chdir(sys.argv[1])
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1]))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(sys.argv[4] + ".tmp", "w").write(str(srv.server_address[1])); os.rename(sys.argv[4] + ".tmp", sys.argv[4])
srv.serve_forever()
PYEOF
PIDS+=($!)
for _ in $(seq 50); do [[ -s "$T/www.port" ]] && break; sleep 0.1; done
start_daemon "$T/local.json" --policy-url "https://127.0.0.1:$(cat "$T/www.port")/policy.bundle" \
  --policy-ca "$T/ca.pem" --pull-interval 10 --keys "$T/keys" --state-dir "$T/state"
wait_serial 40
before=$(alert_count)
post_nir; wait_alerts $((before + 1)) || fail "no alert under the pulled policy"
[[ $(last_rule) == pulled-forty ]] || fail "flow not judged by the pulled policy: $(last_rule)"
log "HTTPS pull: serial 40 in force and judging"
stop_daemon
log "PASS"
