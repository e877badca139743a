#!/usr/bin/env bash
# block on a kernel without SOCK_DESTROY (RHEL ships CONFIG_INET_DIAG_DESTROY off), simulated by
# REMPART_FAULT_NO_SOCK_DESTROY: the flow's packets are dropped by cookie in cgroup_skb/egress,
# so nothing written after the verdict reaches the server; with kill_if_unstoppable the writer is
# killed as well. The alert says which path was taken.
source "$(dirname "$0")/lib.sh"
require_root
source "$(dirname "$0")/enforce_lib.sh"
make_certs
start_server srv >/dev/null; PORT=$(cat "$T/srv.port") # not in $(...): the server pid must reach PIDS
export REMPART_FAULT_NO_SOCK_DESTROY=1
NIR="2 95 10 99 126 111 93"

client() { # client: a clean request, the NIR, then a marker that must never arrive
  "$TPY" - "$PORT" "$T/ca.pem" "$NIR" <<'PYEOF'
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
def post(body):
    s.sendall(b"POST /f HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    return s.recv(200)
assert post(b"fallback clean first").startswith(b"HTTP/1.1 200")
s.sendall(b"POST /f HTTP/1.1\r\nHost: localhost\r\nContent-Length: 30\r\n\r\n" + ("NIR " + sys.argv[3] + ", fin.....").encode()[:30])
time.sleep(1.0)  # the verdict lands meanwhile
s.settimeout(3)
try:
    s.sendall(b"fallback-marker-after-verdict")
    r = s.recv(200)
    print("ANSWERED" if r else "EOF")
except (OSError, ssl.SSLError) as e:
    print("ERR", type(e).__name__)
PYEOF
}

# 1. Drop only.
scoped_policy "$SRC/policies/examples/block.json" "$T/p1.json" '{"enforcement": {"kill_if_unstoppable": false}}'
start_daemon "$T/p1.json"
out=$(client) || fail "client failed: $out"
log "drop only: client says $out"
wait_alerts 1 || fail "no alert"
how=$(alerts_query "alerts[0]['rempart']['enforcement']")
log "enforcement: $how"
[[ $how == *"egress drop by cookie (SOCK_DESTROY: Operation not supported)"* ]] || fail "alert does not say egress drop: $how"
[[ $how != *killed* ]] || fail "killed although kill_if_unstoppable is false"
grep -qF "fallback clean first" "$T"/srv/conn-*.bin || fail "server lacks the clean request"
if grep -qF "fallback-marker-after-verdict" "$T"/srv/conn-*.bin; then fail "data written after the verdict reached the server"; fi
dropped=$("$BIN/rempart" --socket "$SOCK" status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["enforcement_counters"]["egress_dropped"])')
[[ $dropped -gt 0 ]] || fail "no packet dropped by cookie"
log "egress packets dropped: $dropped"
# The drop entry stays while its socket exists (the client is gone, but the kernel keeps trying to
# send its FIN, which is dropped too); once the socket is gone, the entry is swept.
swept() { "$BIN/rempart" --socket "$SOCK" status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["enforcement_counters"]["cookies_swept"])'; }
sleep 6
ss -Htn state all "dport = :$PORT" | grep -q . || fail "the dropped socket is already gone: the sweep cannot be told apart"
[[ $(swept) -eq 0 ]] || fail "a drop entry was swept while its socket still exists"
ss -K -tn "dport = :$PORT" >/dev/null 2>&1 || true
for _ in $(seq 150); do [[ $(swept) -ge 1 ]] && break; sleep 0.1; done
[[ $(swept) -ge 1 ]] || fail "the drop entry of a socket that is gone was not swept"
log "drop entry kept while its socket lived, swept once it was gone"
stop_daemon || fail "rempartd did not exit cleanly"

# 2. Drop + kill.
rm -f "$ALERTS"
scoped_policy "$SRC/policies/examples/block.json" "$T/p2.json" '{"enforcement": {"kill_if_unstoppable": true}}'
start_daemon "$T/p2.json"
set +e; out=$(client); rc=$?; set -e
log "drop + kill: client exit $rc"
[[ $rc -eq 137 ]] || fail "writer not killed (exit $rc, $out)"
wait_alerts 1 || fail "no alert"
how=$(alerts_query "alerts[0]['rempart']['enforcement']")
[[ $how == *"egress drop by cookie"*"+ process killed"* ]] || fail "alert does not say drop + kill: $how"
stop_daemon || fail "rempartd did not exit cleanly"
log "PASS"
