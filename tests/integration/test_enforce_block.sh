#!/usr/bin/env bash
# block: a flow carrying a NIR is killed (SOCK_DESTROY + egress drop), the client sees its
# connection aborted, the alert says how, and the process's other connections keep working.
source "$(dirname "$0")/lib.sh"
require_root
source "$(dirname "$0")/enforce_lib.sh"
make_certs
start_server srv >/dev/null; PORT=$(cat "$T/srv.port") # not in $(...): the server pid must reach PIDS
scoped_policy "$SRC/policies/examples/block.json" "$T/block.json"
start_daemon "$T/block.json"
NIR="2 95 10 99 126 111 93"

# 1. python: two TLS connections; the NIR goes on A; A dies, B keeps working.
set +e
"$TPY" - "$PORT" "$T/ca.pem" "$NIR" "$BIN/rempart" "$SOCK" > "$T/py.out" 2>&1 <<'PYEOF'
import json, socket, ssl, subprocess, sys, time
port, ca, nir, rempart, sock = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=ca)
def conn():
    raw = socket.create_connection(("127.0.0.1", port))
    return ctx.wrap_socket(raw, server_hostname="localhost")
def post(s, body):
    s.sendall(b"POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    return s.recv(200)
a, b = conn(), conn()
assert post(b, b"hello from B").startswith(b"HTTP/1.1 200")
# The verdict may come before this very write reaches the socket (then it fails), or a moment
# after: A must fail within a bounded time either way.
aborted = None
try:
    post(a, ("patient NIR " + nir + ", fin").encode())
except (OSError, ssl.SSLError) as e:
    aborted = repr(e)
for i in range(0 if aborted else 50):
    time.sleep(0.1)
    try:
        post(a, b"more data on A")
    except (OSError, ssl.SSLError) as e:
        aborted = repr(e)
        break
print("A:", aborted)
# while this process lives, its flow's block mark stands: the hooks' gate is open
st = json.loads(subprocess.run([rempart, "--socket", sock, "status", "--json"], capture_output=True).stdout)
print("gate open while blocked:", st["enforcement_counters"]["blocked_flows_open"])
ok = post(b, b"still alive on B").startswith(b"HTTP/1.1 200")
print("B:", ok)
sys.exit(0 if aborted and ok else 1)
PYEOF
rc=$?
set -e
cat "$T/py.out" >&2
[[ $rc -eq 0 ]] || fail "python: connection A not aborted or B broken; alerts: $(cat "$ALERTS" 2>/dev/null | grep -o "\"enforcement\":\"[^\"]*\"")"
wait_alerts 1 || fail "no alert for the python upload"
[[ $(alerts_query "alerts[0]['rempart']['action']") == block ]] || fail "alert action is not block"
how=$(alerts_query "alerts[0]['rempart']['enforcement']")
log "python alert enforcement: $how"
[[ $how == *"blocked: socket destroyed (SOCK_DESTROY"* ]] || fail "alert does not say the socket was destroyed: $how"
# The server saw the first A request but nothing after the block.
if grep -q "more data on A" "$T"/srv/conn-*.bin; then fail "server received data written on A after the block"; fi
grep -q "still alive on B" "$T"/srv/conn-*.bin || fail "server did not receive B's second request"

# The TLS hooks consult the blocked-flow marks only while some may exist: once the blocked
# process is gone, the daemon collects its marks and closes that gate; the next block reopens it.
gate() { "$BIN/rempart" --socket "$SOCK" status --json | "$PY" -c \
  'import json,sys; print(json.load(sys.stdin)["enforcement_counters"]["blocked_flows_open"])'; }
grep -q "gate open while blocked: True" "$T/py.out" || fail "the block did not open the hooks' gate: $(cat "$T/py.out")"
for _ in $(seq 50); do [[ $(gate) == False ]] && break; sleep 0.1; done
[[ $(gate) == False ]] || fail "blocked-flow marks of an exited process were not collected"
log "blocked-flow marks collected after python exited: gate closed"

# 2. curl: a slow upload whose beginning carries a NIR is cut mid-way.
{ printf 'patient NIR %s\n' "$NIR"; head -c 3000000 /dev/zero | tr '\0' 'a'; } > "$T/upload.txt"
set +e
"$TCURL" -sS --cacert "$T/ca.pem" --limit-rate 200K -o /dev/null -T "$T/upload.txt" --max-time 30 \
  "https://127.0.0.1:$PORT/upload" 2> "$T/curl.err"
rc=$?
set -e
log "curl exit $rc: $(cat "$T/curl.err")"
[[ $rc -ne 0 && $rc -ne 28 ]] || fail "curl upload was not aborted (exit $rc)"
wait_alerts 2 || fail "no alert for curl"
[[ $(alerts_query "alerts[1]['actor']['process']['name']") == curl ]] || fail "second alert is not curl's"
[[ $(alerts_query "alerts[1]['rempart']['enforcement']") == *blocked* ]] || fail "curl alert not blocked"
"$BIN/rempart" --socket "$SOCK" status > "$T/status.txt"
stop_daemon || fail "rempartd did not exit cleanly"
log "PASS"
