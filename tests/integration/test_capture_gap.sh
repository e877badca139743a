#!/usr/bin/env bash
# A write larger than the per-write capture budget: the bytes past it are announced by a GAP
# record, counted, and the policy's capture_gap_action judges the flow. Bytes sent to a socket
# from a file (sendfile) or a pipe (splice) never pass through the process's memory: a gap of
# exactly what was sent, on the socket's flow; so are bytes sent through io_uring, which no
# syscall tracepoint sees. Nothing is lost silently.
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
[[ "$masked" =~ ^[0-9]+\ bytes\ not\ inspected,\ over\ the\ write\ budget$ ]] || fail "gap alert says '$masked'"
"$BIN/rempart" --socket "$SOCK" status --json > "$T/status.json"
"$PY" - "$T/status.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))["kernel_counters"]
assert c["gap_records"] >= 1 and c["gap_bytes"] >= 900 * 1024, c
PYEOF
log "gap: $masked; counters show it"

# sendfile from a file and splice from a pipe, over plaintext TCP to a sink in the same program.
read -r SINK_PORT GOT_FILE GOT_PIPE < <("$PY" - "$T" <<'PYEOF'
import os, socket, sys, threading
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(2)
srv.settimeout(20)
got = []
def sink():
    for _ in range(2):
        c, _ = srv.accept()
        n = 0
        while (b := c.recv(65536)):
            n += len(b)
        got.append(n)
        c.close()
t = threading.Thread(target=sink)
t.start()
path = os.path.join(sys.argv[1], "record.txt")
with open(path, "wb") as f:
    f.write(b"NIR 2 95 10 99 126 111 93 " + b"x" * 5000)
with socket.create_connection(srv.getsockname()) as s, open(path, "rb") as f:
    s.sendfile(f)  # os.sendfile: a blocking socket without timeout
r, w = os.pipe()
os.write(w, b"NIR 2 95 10 99 126 111 93 by splice")
os.close(w)
with socket.create_connection(srv.getsockname()) as s:
    assert os.splice(r, s.fileno(), 65536) == 35
t.join(20)
print(srv.getsockname()[1], *got)
PYEOF
)
[[ "$GOT_FILE $GOT_PIPE" == "5026 35" ]] || fail "the sink did not get what was sent: $GOT_FILE $GOT_PIPE"
ALERT_PORT=$SINK_PORT
for _ in $(seq 100); do [[ $(alert_count) -ge 2 ]] && break; sleep 0.1; done
gaps=$(alerts_query "sorted((a['rempart']['detector'], a['rempart']['masked'], a['actor']['process']['name']) for a in alerts)")
[[ "$gaps" == "[('capture_gap', '35 bytes not inspected, sendfile/splice', 'python3'), ('capture_gap', '5026 bytes not inspected, sendfile/splice', 'python3')]" ]] \
  || fail "sendfile/splice: expected two gap alerts of exactly what was sent, got $gaps"
"$BIN/rempart" --socket "$SOCK" status --json > "$T/status.json"
"$PY" -c 'import json,sys; c=json.load(open(sys.argv[1]))["kernel_counters"]; assert c["sendfile_splice_sends"] >= 2, c' "$T/status.json" \
  || fail "sendfile_splice_sends not counted"
log "sendfile and splice to a TCP socket: gaps of exactly what was sent, alerts naming the sender"

# io_uring: four kinds of send request, each on its own connection, performed by the kernel.
"$PY" - "$T/uring" <<'PYEOF' &
import socket, sys
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(4)
srv.settimeout(30)
open(sys.argv[1] + ".port", "w").write(str(srv.getsockname()[1]))
got = []
for _ in range(4):
    c, _ = srv.accept()
    n = 0
    while (b := c.recv(65536)):
        n += len(b)
    got.append(str(n))
    c.close()
open(sys.argv[1] + ".got", "w").write(" ".join(got))
PYEOF
SINK_PID=$!; PIDS+=("$SINK_PID")
for _ in $(seq 100); do [[ -s "$T/uring.port" ]] && break; sleep 0.1; done
SINK_PORT=$(cat "$T/uring.port")
ALERT_PORT=$SINK_PORT
n=0
for op in send write sendmsg send_zc; do
  n=$((n + 1000))
  # A record with a NIR, a different length per request so that each gap is told apart.
  sent=$("$PY" -c 'import sys; p = b"NIR 2 95 10 99 126 111 93 by io_uring "; sys.stdout.buffer.write(p + b"u" * (int(sys.argv[1]) - len(p)))' "$n" \
         | "$BUILD/tests/uring_send" "$SINK_PORT" "$op") || fail "uring_send $op failed"
  [[ "$sent" == "$n" ]] || fail "uring_send $op sent $sent bytes, not $n"
done
wait "$SINK_PID" || fail "the io_uring sink failed"
[[ $(cat "$T/uring.got") == "1000 2000 3000 4000" ]] || fail "the sink got $(cat "$T/uring.got")"
for _ in $(seq 100); do [[ $(alert_count) -ge 4 ]] && break; sleep 0.1; done
gaps=$(alerts_query "sorted((a['rempart']['detector'], a['rempart']['masked'], a['actor']['process']['name']) for a in alerts)")
want="[('capture_gap', '1000 bytes not inspected, io_uring', 'uring_send'), ('capture_gap', '2000 bytes not inspected, io_uring', 'uring_send'), ('capture_gap', '3000 bytes not inspected, io_uring', 'uring_send'), ('capture_gap', '4000 bytes not inspected, io_uring', 'uring_send')]"
[[ "$gaps" == "$want" ]] || fail "io_uring: expected four gap alerts of exactly what was sent, got $gaps"
"$BIN/rempart" --socket "$SOCK" status --json > "$T/status.json"
"$PY" -c 'import json,sys; c=json.load(open(sys.argv[1]))["kernel_counters"]; assert c["io_uring_sends"] >= 4, c' "$T/status.json" \
  || fail "io_uring_sends not counted"
log "io_uring send, write, sendmsg and send_zc to a TCP socket: gaps of exactly what was sent"
log "PASS"
