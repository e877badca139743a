#!/usr/bin/env bash
# Hold verdict timeout (settings.hold_timeout_ms) and fail_mode, with verdicts withheld by
# REMPART_FAULT_NO_HOLD_VERDICT: "closed" kills the flow of a held write at the timeout (nothing
# reaches the server), "open" releases it at the timeout (it arrives, late).
source "$(dirname "$0")/lib.sh"
require_root
source "$(dirname "$0")/enforce_lib.sh"
make_certs
start_server srv >/dev/null; PORT=$(cat "$T/srv.port") # not in $(...): the server pid must reach PIDS
export REMPART_FAULT_NO_HOLD_VERDICT=1
TIMEOUT_MS=300

post() { # post MARKER: one clean POST; prints "OK <ms>" or "ERR <ms>"
  "$TPY" - "$PORT" "$T/ca.pem" "$1" <<'PYEOF'
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
s.settimeout(5)
body = ("timeout-test " + sys.argv[3]).encode()
t0 = time.monotonic()
try:
    s.sendall(b"POST /t HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    ok = s.recv(200).startswith(b"HTTP/1.1 200")
except (OSError, ssl.SSLError):
    ok = False
print("OK" if ok else "ERR", int((time.monotonic() - t0) * 1000))
PYEOF
}
timeouts() { "$BIN/rempart" --socket "$SOCK" status --json | "$PY" -c \
  'import json,sys; print(json.load(sys.stdin)["enforcement_counters"]["hold_timeouts"])'; }

for mode in closed open; do
  scoped_policy "$SRC/policies/examples/hold.json" "$T/$mode.json" \
    "{\"settings\": {\"hold_timeout_ms\": $TIMEOUT_MS, \"fail_mode\": \"$mode\"}}"
  start_daemon "$T/$mode.json"
  read -r res ms < <(post "fail-$mode")
  log "fail_mode $mode: $res after $ms ms (timeouts: $(timeouts))"
  [[ $(timeouts) -ge 1 ]] || fail "fail_mode $mode: no hold timeout counted"
  if [[ $mode == closed ]]; then
    [[ $res == ERR ]] || fail "fail_mode closed: the held write went through"
    grep -qF "timeout-test fail-closed" "$T"/srv/conn-*.bin 2>/dev/null && fail "fail_mode closed: server received the held write"
    wait_alerts 1 || fail "fail_mode closed: no alert for the timeout"
    [[ $(alerts_query "alerts[0]['rempart']['rule']") == settings.hold_timeout_ms ]] || fail "timeout alert has the wrong rule"
    [[ $(alerts_query "alerts[0]['rempart']['enforcement']") == "hold timeout (fail closed): "* ]] || fail "timeout alert lacks the enforcement"
    log "timeout alert: $(alerts_query "alerts[0]['rempart']['enforcement']")"
  else
    [[ $res == OK ]] || fail "fail_mode open: the held write was not released"
    [[ $ms -ge $TIMEOUT_MS ]] || fail "fail_mode open: released after $ms ms, before the ${TIMEOUT_MS} ms timeout"
    grep -qF "timeout-test fail-open" "$T"/srv/conn-*.bin || fail "fail_mode open: server did not receive the write"
  fi
  stop_daemon || fail "rempartd did not exit cleanly"
done
log "PASS"
