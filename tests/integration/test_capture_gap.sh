#!/usr/bin/env bash
# A write larger than the per-write capture budget: the bytes past it are announced by a GAP
# record, counted, and the policy's capture_gap_action judges the flow. Nothing is lost silently.
source "$(dirname "$0")/lib.sh"
require_root
make_certs
start_server srv; PORT=$SERVER_PORT
ALERT_PORT=$PORT
cat > "$T/policy.json" <<'JSON'
{ "schema_version": 1, "name": "gap-test", "serial": 1,
  "settings": { "capture_budget_bytes": 65536, "capture_gap_action": "alert" },
  "rules": [ { "id": "nir", "detectors": ["fr_nir"], "action": "alert" } ] }
JSON
start_daemon "$T/policy.json"

# One 1 MiB write: 64 KiB captured, the rest is a gap; the NIR is in the part that was seen.
"$PY" - "$PORT" "$T/ca.pem" <<'PYEOF'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
body = b"NIR 2 95 10 99 126 111 93 " + b"z" * (1024 * 1024)
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as raw, ctx.wrap_socket(raw, server_hostname="localhost") as s:
    s.sendall(b"POST /gap HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    s.recv(100)
PYEOF
wait_alerts 2 || fail "expected a fr_nir alert and a capture_gap alert: $(alerts_query "[a['rempart']['detector'] for a in alerts]")"
[[ $(alerts_query "sorted(a['rempart']['detector'] for a in alerts)") == "['capture_gap', 'fr_nir']" ]] \
  || fail "unexpected alerts: $(alerts_query "[a['rempart']['detector'] for a in alerts]")"
[[ $(alerts_query "[a['rempart']['flow']['capture_gap'] for a in alerts if a['rempart']['detector'] == 'capture_gap'][0]") == True ]] \
  || fail "the gap alert does not mark the flow"
masked=$(alerts_query "[a['rempart']['masked'] for a in alerts if a['rempart']['detector'] == 'capture_gap'][0]")
[[ "$masked" =~ ^[0-9]+\ bytes\ not\ inspected$ ]] || fail "gap alert says '$masked'"
"$BIN/rempart" --socket "$SOCK" status --json > "$T/status.json"
"$PY" - "$T/status.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))["kernel_counters"]
assert c["gap_records"] >= 1 and c["gap_bytes"] >= 900 * 1024, c
PYEOF
log "gap: $masked; counters show it"
log "PASS"
