#!/usr/bin/env bash
# Desktop notifications end to end: a private session bus with a real notification server (dunst
# on a virtual X display), rempartd, and rempart-notify clients for two users (root and nobody).
# A NIR sent by a user's curl must reach that user's desktop as an org.freedesktop.Notifications
# Notify call carrying the masked value only, and must never reach another user's notifier.
source "$(dirname "$0")/lib.sh"
require_root
for tool in Xvfb dbus-daemon dbus-monitor dbus-send dunst setpriv; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps.sh test installs it)"
done

NIR_SPACED="2 95 10 99 126 111 93"
NIR_PLAIN="295109912611193"
MASKED="2 95 10 ** *** *** 93"

# wait_for SECONDS COMMAND...: poll COMMAND every 0.1 s until it succeeds; bounded.
wait_for() {
  local n=$(($1 * 10)); shift
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
  return 1
}
count_in() { grep -cF -- "$2" "$1" 2>/dev/null || true; }
has_at_least() { [[ $(count_in "$1" "$2") -ge $3 ]]; }
# Other clients on this machine may raise alerts too (uprobes see every process): everything below
# is matched on the pid of the curl this test ran. run_curl USER ARGS...: prints curl's pid.
run_curl() {
  local user=$1; shift
  if [[ $user == root ]]; then
    curl -sS --cacert "$T/ca.pem" -o /dev/null "$@" "$URL" >&2 &
  else
    setpriv --reuid="$user" --regid=nogroup --clear-groups curl -sS --cacert "$T/ca.pem" -o /dev/null "$@" "$URL" >&2 &
  fi
  local pid=$!
  # The alert comes from the write itself; another agent on the machine may have cut the flow.
  wait "$pid" || log "note: curl as $user exited with $?"
  echo "$pid"
}
has_alert_for() { [[ $(alerts_query "sum(1 for a in alerts if a['actor']['process']['pid'] == $1)") -ge 1 ]]; }

make_certs
start_server srv; PORT=$SERVER_PORT
URL="https://127.0.0.1:$PORT/chat"
# nobody's curl must read the test CA: let it traverse $T and read that one public file.
chmod 711 "$T"; chmod 644 "$T/ca.pem"

# --- A desktop session without a desktop: Xvfb, a private session bus, dunst owning the name.
Xvfb -displayfd 3 -nolisten tcp -ac 3>"$T/display" >"$T/xvfb.log" 2>&1 &
PIDS+=($!)
wait_for 10 test -s "$T/display" || fail "Xvfb did not start: $(cat "$T/xvfb.log")"
DISPLAY_NAME=":$(head -n1 "$T/display")"
cat >"$T/session.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$T/session.bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
BUS=$(dbus-daemon --config-file="$T/session.conf" --fork --print-address=1 --print-pid=4 4>"$T/dbus.pid" | head -n1)
PIDS+=("$(cat "$T/dbus.pid")")
[[ -n "$BUS" ]] || fail "dbus-daemon gave no address"
export DBUS_SESSION_BUS_ADDRESS=$BUS
: >"$T/dunstrc"
DISPLAY=$DISPLAY_NAME dunst -config "$T/dunstrc" >"$T/dunst.log" 2>&1 &
PIDS+=($!)
notifications_owned() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.Notifications 2>/dev/null | grep -q "boolean true"
}
wait_for 10 notifications_owned || fail "dunst did not take org.freedesktop.Notifications: $(cat "$T/dunst.log")"
dbus-monitor --session "type='method_call',interface='org.freedesktop.Notifications',member='Notify'" \
  >"$T/monitor.log" 2>&1 &
PIDS+=($!)
wait_for 5 grep -q NameAcquired "$T/monitor.log" || fail "dbus-monitor did not start"

start_daemon "$SRC/policies/default.json"

# --- Notifiers: root on the desktop (--once), root and nobody on stdout, root's --all view.
"$BIN/rempart-notify" --socket "$NOTIFY_SOCK" --once >"$T/root-desktop.out" 2>"$T/root-desktop.err" &
ROOT_DESKTOP=$!
PIDS+=($ROOT_DESKTOP)
# A session whose bus is gone: the alert must still be told, on stderr (the user journal).
DBUS_SESSION_BUS_ADDRESS=unix:path=$T/no-such.bus "$BIN/rempart-notify" --socket "$NOTIFY_SOCK" \
  >"$T/nobus.out" 2>"$T/nobus.err" &
NOBUS=$!
PIDS+=($NOBUS)
"$BIN/rempart-notify" --socket "$NOTIFY_SOCK" --stdout >"$T/root.out" 2>"$T/root.err" &
ROOT=$!
PIDS+=($ROOT)
"$BIN/rempart-notify" --socket "$NOTIFY_SOCK" --stdout --all >"$T/all.out" 2>"$T/all.err" &
ALL=$!
PIDS+=($ALL)
setpriv --reuid=nobody --regid=nogroup --clear-groups \
  "$BIN/rempart-notify" --socket "$NOTIFY_SOCK" --stdout >"$T/nobody.out" 2>"$T/nobody.err" &
NOBODY=$!
PIDS+=($NOBODY)
for f in root-desktop nobus root all nobody; do
  wait_for 10 grep -q "subscribed" "$T/$f.err" || fail "notifier $f did not subscribe: $(cat "$T/$f.err")"
done
# nobody may not see everyone's alerts.
if setpriv --reuid=nobody --regid=nogroup --clear-groups \
     timeout 10 "$BIN/rempart-notify" --socket "$NOTIFY_SOCK" --stdout --all >/dev/null 2>"$T/nobody-all.err"; then
  fail "a non-root notifier was allowed to subscribe to every user's alerts"
fi
grep -q "only root" "$T/nobody-all.err" || fail "refusal not explained: $(cat "$T/nobody-all.err")"

# --- 1. root's curl sends a NIR: root's desktop gets a Notify call with the masked value.
ROOT_CURL=$(run_curl root -d "{\"prompt\": \"Patient NIR $NIR_SPACED, résumé du séjour\"}")
wait_for 10 has_alert_for "$ROOT_CURL" || fail "no alert for root's curl"
for _ in $(seq 100); do kill -0 "$ROOT_DESKTOP" 2>/dev/null || break; sleep 0.1; done
kill -0 "$ROOT_DESKTOP" 2>/dev/null && fail "desktop notifier (--once) did not finish: $(cat "$T/root-desktop.err")"
wait "$ROOT_DESKTOP" || fail "desktop notifier failed: $(cat "$T/root-desktop.err")"
wait_for 5 has_at_least "$T/monitor.log" "member=Notify" 1 || fail "no Notify call on the session bus"
[[ $(count_in "$T/monitor.log" "member=Notify") -eq 1 ]] || fail "expected one Notify call: $(cat "$T/monitor.log")"
grep -qF "$MASKED" "$T/monitor.log" || fail "Notify call lacks the masked value: $(cat "$T/monitor.log")"
grep -qF "(pid $ROOT_CURL)" "$T/monitor.log" || fail "Notify call is not about root's curl: $(cat "$T/monitor.log")"
grep -qF "health data detected" "$T/monitor.log" || fail "Notify call lacks the title"
grep -qF "curl" "$T/monitor.log" || fail "Notify call does not name curl"
# The destination the alert recorded (the 4-tuple once capture links the TLS object to its socket).
DEST=$(alerts_query "[('unknown' if a['dst_endpoint']['ip'] == 'unknown' else '%s:%d' % (a['dst_endpoint']['ip'], a['dst_endpoint']['port'])) for a in alerts if a['actor']['process']['pid'] == $ROOT_CURL][0]")
grep -qF "Destination: $DEST" "$T/monitor.log" || fail "Notify call does not name the destination $DEST"
grep -A2 '"urgency"' "$T/monitor.log" | grep -q "byte 1" || fail "alert should have normal urgency"
log "desktop: Notify call with '$MASKED' reached dunst"
wait_for 10 has_at_least "$T/nobus.err" "health data detected" 1 || fail "no fallback when the bus is gone: $(cat "$T/nobus.err")"
grep -q "session bus" "$T/nobus.err" || fail "fallback does not say what failed: $(cat "$T/nobus.err")"
kill -0 "$NOBUS" || fail "notifier without a bus died"

wait_for 10 has_at_least "$T/all.out" "(pid $ROOT_CURL)" 1 || fail "root's --all notifier missed the alert"
wait_for 10 has_at_least "$T/root.out" "(pid $ROOT_CURL)" 1 || fail "root's stdout notifier missed root's alert"
sleep 0.5 # the same publish queued it for every subscriber; give a wrong delivery time to show
[[ ! -s "$T/nobody.out" ]] || fail "nobody's notifier received another user's alert: $(cat "$T/nobody.out")"

# --- 2. nobody's curl sends a NIR: only nobody (and root's --all view) hear of it.
NOBODY_CURL=$(run_curl nobody -d "numéro de sécurité sociale $NIR_SPACED")
wait_for 10 has_alert_for "$NOBODY_CURL" || fail "no alert for nobody's curl"
[[ $(alerts_query "[a['actor']['process']['user']['uid'] for a in alerts if a['actor']['process']['pid'] == $NOBODY_CURL][0]") == 65534 ]] \
  || fail "the alert does not carry nobody's uid"
wait_for 10 has_at_least "$T/nobody.out" "(pid $NOBODY_CURL)" 1 || fail "nobody's notifier missed nobody's alert"
wait_for 10 has_at_least "$T/all.out" "(pid $NOBODY_CURL)" 1 || fail "root's --all notifier missed nobody's alert"
sleep 0.5
[[ $(count_in "$T/root.out" "(pid $NOBODY_CURL)") -eq 0 ]] || fail "root's notifier received nobody's alert"
[[ $(count_in "$T/monitor.log" "member=Notify") -eq 1 ]] || fail "root's desktop got a second Notify call"
grep -qF "$MASKED" "$T/nobody.out" || fail "nobody's notification lacks the masked value"
grep -q "Programme / program: curl (pid $NOBODY_CURL)" "$T/nobody.out" || fail "stdout notification lacks the program"
log "per-user delivery ok"

# --- 3. The daemon restarts, with a policy that blocks and allows 2 notifications a minute: the
# notifier reconnects by itself; block is critical; the rate limit holds the rest back.
"$PY" - "$SRC/policies/default.json" "$T/block.json" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1]))
p["settings"]["notify_rate_per_minute"] = 2
for r in p["rules"]:
    if r["id"] == "patient-id-elsewhere":
        r["action"] = "block"
json.dump(p, open(sys.argv[2], "w"))
PYEOF
stop_daemon || fail "rempartd did not exit cleanly"
[[ ! -e "$NOTIFY_SOCK" ]] || fail "notification socket left behind"
start_daemon "$T/block.json"
wait_for 20 has_at_least "$T/nobody.err" "subscribed" 2 || fail "nobody's notifier did not reconnect: $(cat "$T/nobody.err")"
wait_for 20 has_at_least "$T/all.err" "subscribed" 2 || fail "root's --all notifier did not reconnect"
wait_for 20 has_at_least "$T/root.err" "subscribed" 2 || fail "root's notifier did not reconnect"
wait_for 20 has_at_least "$T/nobus.err" "subscribed" 2 || fail "the bus-less notifier did not reconnect"
CURLS=()
for i in 1 2 3 4; do
  CURLS+=("$(run_curl nobody -d "NIR $NIR_SPACED, envoi $i")")
  wait_for 10 has_alert_for "${CURLS[-1]}" || fail "no alert for nobody's curl $i after the restart"
done
wait_for 10 has_at_least "$T/nobody.out" "(pid ${CURLS[1]})" 1 || fail "no notification after reconnecting"
sleep 0.5
for i in 0 1; do
  grep -qF "(pid ${CURLS[$i]})" "$T/nobody.out" || fail "notification $((i + 1)) after the restart is missing"
done
for i in 2 3; do
  if grep -qF "(pid ${CURLS[$i]})" "$T/nobody.out"; then fail "rate limit of 2 per minute let notification $((i + 1)) through"; fi
done
grep -qF "[critical] Rempart : envoi bloqué, données de santé / upload blocked, health data" "$T/nobody.out" \
  || fail "a block is not shown as critical: $(cat "$T/nobody.out")"
"$BIN/rempart" --socket "$SOCK" status --json >"$T/status.json" || fail "status failed"
[[ $("$PY" -c 'import json,sys; n=json.load(open(sys.argv[1]))["notify"]; print(n["subscribers"], n["dropped_rate"] >= 2)' "$T/status.json") == "4 True" ]] \
  || fail "status does not show 4 subscribers and the rate-limited notifications: $(cat "$T/status.json")"
kill -0 "$NOBODY" || fail "nobody's notifier died"
log "reconnect after restart, critical block, rate limit ok"

# The full values never appear anywhere: alerts, daemon output, bus traffic, notifier output.
assert_no_leak "$NIR_SPACED" "$NIR_PLAIN"
for f in monitor.log root-desktop.out root.out all.out nobody.out root.err nobody.err nobus.err; do
  for v in "$NIR_SPACED" "$NIR_PLAIN"; do
    if grep -qF -- "$v" "$T/$f"; then fail "full value found in $f"; fi
  done
done
stop_daemon || fail "rempartd did not exit cleanly"
# SIGTERM ends a notifier cleanly (exit 0), even while it waits to reconnect.
for pid in $ROOT $ALL $NOBODY $NOBUS; do
  kill -TERM "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "notifier $pid ignored SIGTERM"
  wait "$pid" || fail "notifier $pid exited with $? on SIGTERM"
done
# With a sanitizer build (make sanitize), any report fails the test.
if grep -lE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T"/*.err "$T/daemon.log" 2>/dev/null; then
  fail "sanitizer report in the output above"
fi
log "PASS"
