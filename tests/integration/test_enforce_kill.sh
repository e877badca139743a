#!/usr/bin/env bash
# kill: the process that writes a NIR dies (SIGKILL from rempartd at once, and from the TLS hook
# at its next write); an unrelated process of the same program with clean data lives on.
source "$(dirname "$0")/lib.sh"
require_root
source "$(dirname "$0")/enforce_lib.sh"
make_certs
start_server srv >/dev/null; PORT=$(cat "$T/srv.port") # not in $(...): the server pid must reach PIDS
scoped_policy "$SRC/policies/examples/kill.json" "$T/kill.json"
start_daemon "$T/kill.json"

client() { # client BODY: posts BODY, then keeps writing for up to 10 s; prints its pid first
  "$TPY" - "$PORT" "$T/ca.pem" "$1" <<'PYEOF'
import os, socket, ssl, sys, time
print(os.getpid(), flush=True)
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
def post(body):
    s.sendall(b"POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    s.recv(200)
post(sys.argv[3].encode())
for _ in range(100):
    time.sleep(0.1)
    post(b"still here")
PYEOF
}

set +e
start=$(date +%s%N)
client "dossier patient, NIR 2 95 10 99 126 111 93 ." > "$T/dirty.out" 2>&1
rc_dirty=$?
end=$(date +%s%N)
client "compte rendu sans identifiant" > "$T/clean.out" 2>&1
rc_clean=$?
set -e
log "dirty client exit $rc_dirty after $(( (end - start) / 1000000 )) ms; clean client exit $rc_clean"
[[ $rc_dirty -eq 137 ]] || fail "the process that sent a NIR was not killed (exit $rc_dirty)"
[[ $(( (end - start) / 1000000 )) -lt 5000 ]] || fail "the kill took more than 5 s"
[[ $rc_clean -eq 0 ]] || fail "a clean process was disturbed (exit $rc_clean)"
wait_alerts 1 || fail "no alert"
[[ $(alerts_query "alerts[0]['rempart']['action']") == kill ]] || fail "alert action is not kill"
[[ $(alerts_query "alerts[0]['actor']['process']['pid']") == "$(head -1 "$T/dirty.out")" ]] || fail "alert names another pid"
[[ $(alerts_query "alerts[0]['rempart']['enforcement']") == *"process killed"* ]] || fail "alert does not say killed"
stop_daemon || fail "rempartd did not exit cleanly"
log "PASS"
