# Shared helpers for integration tests: real daemon, real TLS server, real clients, on loopback.
# Source it; it sets up a temporary directory and a cleanup trap.
set -euo pipefail

SRC=${REMPART_SOURCE_DIR:?REMPART_SOURCE_DIR must be set (run through ctest)}
BUILD=${REMPART_BUILD_DIR:?REMPART_BUILD_DIR must be set (run through ctest)}
BIN=$BUILD/bin
PY=/usr/bin/python3   # Debian's python links the system libssl.so.3
T=$(mktemp -d /tmp/rempart-test.XXXXXX)
PIDS=()
DAEMON_PID=
CLEANUP_PATHS=() # made outside $T by a test (e.g. under /opt), removed at exit

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

cleanup() {
  local rc=$?
  if [[ -n "$DAEMON_PID" ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DAEMON_PID" 2>/dev/null || true
  fi
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $rc -ne 0 && -f "$T/daemon.log" ]]; then
    log "daemon log:"; tail -n 40 "$T/daemon.log" >&2 || true
  fi
  rm -rf "$T"
  for p in "${CLEANUP_PATHS[@]}"; do rm -rf -- "$p"; done
  exit $rc
}
trap cleanup EXIT

# BPF tests run for real as root; they may skip only when not root and REMPART_REQUIRE_BPF unset.
require_root() {
  if [[ $(id -u) -ne 0 ]]; then
    if [[ -n "${REMPART_REQUIRE_BPF:-}" ]]; then fail "needs root (REMPART_REQUIRE_BPF is set)"; fi
    log "SKIP: needs root for BPF"; exit 77
  fi
}

# A throw-away CA and a server certificate for localhost, 127.0.0.1 and ::1.
make_certs() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Rempart Test CA" \
    -keyout "$T/ca.key" -out "$T/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$T/server.key" -out "$T/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\n' > "$T/san.ext"
  openssl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
    -days 2 -extfile "$T/san.ext" -out "$T/server.pem" 2>/dev/null
}

# start_server NAME [--host H] [--plain] [--page FILE]: records into $T/NAME/; sets SERVER_PORT.
# Not to be called in $(...): the server's pid must reach the cleanup list of this shell.
start_server() {
  local name=$1; shift
  mkdir -p "$T/$name"
  "$PY" "$SRC/tests/integration/tls_server.py" --cert "$T/server.pem" --key "$T/server.key" \
    --record-dir "$T/$name" --port-file "$T/$name.port" "$@" >"$T/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do [[ -s "$T/$name.port" ]] && break; sleep 0.1; done
  [[ -s "$T/$name.port" ]] || fail "server $name did not start"
  SERVER_PORT=$(cat "$T/$name.port")
}

# start_h2_server: nghttpd (HTTP/2 over TLS) on loopback, serving a one-line page; sets H2PORT.
# Not to be called in $(...), like start_server.
start_h2_server() {
  H2PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$T/htdocs"; echo ok > "$T/htdocs/index.html"
  nghttpd -a 127.0.0.1 -d "$T/htdocs" "$H2PORT" "$T/server.key" "$T/server.pem" >"$T/nghttpd.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$H2PORT" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "nghttpd did not start: $(cat "$T/nghttpd.log")"
}

# start_firefox URL: headless Firefox ESR (NSS/NSPR) with a fresh profile that trusts the test CA,
# opening URL; sets FFPID (in PIDS). Not to be called in $(...).
start_firefox() {
  command -v firefox-esr >/dev/null || fail "firefox-esr is not installed (scripts/deps.sh test installs it)"
  mkdir -p "$T/ffprofile" "$T/ffhome"
  if [[ ! -f "$T/ffprofile/cert9.db" ]]; then
    certutil -N -d "sql:$T/ffprofile" --empty-password
    certutil -A -n rempart-test-ca -t C,, -i "$T/ca.pem" -d "sql:$T/ffprofile"
  fi
  HOME="$T/ffhome" MOZ_HEADLESS=1 timeout 90 firefox-esr --headless --no-remote --profile "$T/ffprofile" \
    --screenshot "$T/ff.png" "$1" >"$T/firefox.log" 2>&1 &
  FFPID=$!
  PIDS+=($FFPID)
}

# wait_port_alerts PORT N: until at least N alerts about PORT (bounded, 10 s).
wait_port_alerts() { for _ in $(seq 100); do [[ $(ALERT_PORT=$1 alert_count) -ge $2 ]] && return 0; sleep 0.1; done; return 1; }

# default_policy_with OUT PYTHON: the shipped default policy, changed by PYTHON statements on the
# parsed document `p`, written to OUT.
default_policy_with() {
  "$PY" - "$SRC/policies/default.json" "$1" "$2" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(p, open(sys.argv[2], "w"))
PYEOF
}

# start_daemon POLICY [extra args]: waits (bounded) until `rempart status` says ready.
start_daemon() {
  local policy=$1; shift
  SOCK=$T/control.sock
  ALERTS=$T/alerts.jsonl
  NOTIFY_SOCK=$T/notify.sock
  "$BIN/rempartd" --policy "$policy" --alerts "$ALERTS" --socket "$SOCK" --notify-socket "$NOTIFY_SOCK" \
    --no-journal "$@" \
    >"$T/daemon.log" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 150); do
    if "$BIN/rempart" --socket "$SOCK" status >/dev/null 2>&1; then return 0; fi
    kill -0 "$DAEMON_PID" 2>/dev/null || fail "rempartd exited: $(tail -n 5 "$T/daemon.log")"
    sleep 0.1
  done
  fail "rempartd not ready after 15 s"
}

# status_has GREP_ARGS...: whether `rempart status` says it. Never `status | grep -q` under
# pipefail: grep leaves at its first match, and the status printer, still writing, dies of SIGPIPE.
status_has() {
  local out
  out=$("$BIN/rempart" --socket "$SOCK" status 2>&1) || true
  grep -q "$@" <<<"$out"
}

stop_daemon() {
  kill -TERM "$DAEMON_PID"
  local rc=0
  wait "$DAEMON_PID" || rc=$?
  DAEMON_PID=
  return $rc
}

# Alerts about traffic to ALERT_PORT only (when set): the hooks see every program on the machine,
# and a test must not count what others send.
ALERT_PORT=

alert_count() { alerts_query "len(alerts)"; }

# wait_alerts N: until at least N alerts (bounded, 10 s).
wait_alerts() {
  for _ in $(seq 100); do
    [[ $(alert_count) -ge $1 ]] && return 0
    sleep 0.1
  done
  return 1
}

# Query alerts with a Python expression over `alerts` (list of dicts); prints the result.
alerts_query() {
  "$PY" - "$ALERTS" "$1" "$ALERT_PORT" <<'PYEOF'
import json, os, sys
alerts = [json.loads(l) for l in open(sys.argv[1]) if l.strip()] if os.path.exists(sys.argv[1]) else []
if sys.argv[3]:
    alerts = [a for a in alerts if a["dst_endpoint"]["port"] == int(sys.argv[3])]
print(eval(sys.argv[2]))
PYEOF
}

# assert_no_leak VALUE...: no full value in the alert file or the daemon's output.
assert_no_leak() {
  for v in "$@"; do
    if grep -qF -- "$v" "$ALERTS" 2>/dev/null; then fail "full value '$v' found in alerts"; fi
    if grep -qF -- "$v" "$T/daemon.log" 2>/dev/null; then fail "full value '$v' found in daemon output"; fi
  done
}
