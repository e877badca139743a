#!/usr/bin/env bash
# Walking skeleton, end to end: real TLS clients write a NIR through OpenSSL to a local HTTPS
# server; rempartd sees the plaintext at SSL_write and writes one masked alert per flow.
source "$(dirname "$0")/lib.sh"
require_root
make_certs
start_server srv; PORT=$SERVER_PORT
ALERT_PORT=$PORT
start_daemon "$SRC/policies/default.json"

NIR_SPACED="2 95 10 99 126 111 93"
NIR_PLAIN="295109912611193"
URL="https://127.0.0.1:$PORT/chat"

# 1. curl POST with a NIR -> one alert naming curl.
curl -sS --cacert "$T/ca.pem" -o /dev/null -d "{\"prompt\": \"Patient NIR $NIR_SPACED, résumé du séjour\"}" "$URL"
wait_alerts 1 || fail "no alert for curl"
[[ $(alerts_query "alerts[0]['rempart']['detector']") == fr_nir ]] || fail "detector is not fr_nir"
[[ $(alerts_query "alerts[0]['actor']['process']['name']") == curl ]] || fail "alert does not name curl"
[[ $(alerts_query "alerts[0]['actor']['process']['file']['path']") == */curl ]] || fail "alert lacks curl's exe"
[[ $(alerts_query "alerts[0]['rempart']['masked']") == *"**"* ]] || fail "value not masked"
[[ $(alerts_query "alerts[0]['actor']['process']['user']['uid']") == 0 ]] || fail "uid missing"
[[ $(alerts_query "alerts[0]['time'] > 1700000000000") == True ]] || fail "time missing"
log "curl: alert ok ($(alerts_query "alerts[0]['rempart']['masked']"))"

# 2. python3 (urllib, SSL_write_ex) POST with a NIR -> one alert naming python3 with its pid.
"$PY" - "$URL" "$T/ca.pem" "$NIR_PLAIN" > "$T/py.pid" <<'PYEOF'
import os, ssl, sys, urllib.request
print(os.getpid(), flush=True)
ctx = ssl.create_default_context(cafile=sys.argv[2])
req = urllib.request.Request(sys.argv[1], data=("numéro de sécurité sociale " + sys.argv[3]).encode(), method="POST")
urllib.request.urlopen(req, context=ctx).read()
PYEOF
wait_alerts 2 || fail "no alert for python3"
PYPID=$(cat "$T/py.pid")
[[ $(alerts_query "alerts[1]['actor']['process']['pid']") == "$PYPID" ]] || fail "python alert has wrong pid"
[[ $(alerts_query "alerts[1]['actor']['process']['name']") == python3* ]] || fail "python alert has wrong comm"
log "python3: alert ok"

# 3. Clean text -> no alert.
curl -sS --cacert "$T/ca.pem" -o /dev/null -d '{"prompt": "Résume ce protocole de soins, commande 4512 3345 9981 2"}' "$URL"
"$PY" - "$URL" "$T/ca.pem" <<'PYEOF'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b"bonjour, rien de sensible ici: 0612345678", method="POST"), context=ctx).read()
PYEOF

# 4. A NIR split across two SSL_write calls -> one alert.
"$PY" - "$PORT" "$T/ca.pem" <<'PYEOF'
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        body1 = b"NIR du patient: 2 95 10 99 1"
        body2 = b"26 111 93 fin"
        head = b"POST /split HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % (len(body1) + len(body2))
        s.sendall(head + body1)
        time.sleep(0.2)
        s.sendall(body2)
        s.recv(100)
PYEOF
wait_alerts 3 || fail "no alert for a NIR split across two writes"

# 5. A 200 KiB write with the NIR at its end -> alert (chunking works).
"$PY" - "$PORT" "$T/ca.pem" <<'PYEOF'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
filler = (b"Compte rendu de consultation, examen clinique normal. " * 4000)[:200 * 1024]
body = filler + b" NIR 1 51 02 46102 043 25"
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"POST /big HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        s.recv(100)
PYEOF
wait_alerts 4 || fail "no alert for a NIR at the end of a 200 KiB write"
sleep 1
n=$(alert_count)
[[ $n -eq 4 ]] || fail "expected exactly 4 alerts, got $n: $(cat "$ALERTS")"
[[ $(alerts_query "sorted(a['rempart']['detector'] for a in alerts)") == "['fr_nir', 'fr_nir', 'fr_nir', 'fr_nir']" ]] \
  || fail "unexpected detectors"

# The server did receive the data: the agent watches, it does not get in the way in alert mode.
grep -q "NIR 1 51 02 46102 043 25" "$T"/srv/conn-*.bin || fail "server did not receive the big upload"

# The full values never appear in alerts or the daemon's output.
assert_no_leak "$NIR_SPACED" "$NIR_PLAIN" "1 51 02 46102 043 25" "151024610204325" "2 95 10 99 126"

# No core dump of the daemon may carry plaintext.
grep -Eq "^Max core file size +0 +0 " "/proc/$DAEMON_PID/limits" || fail "rempartd may dump core"

# status shows the probes and the counters.
"$BIN/rempart" --socket "$SOCK" status > "$T/status.txt" || fail "status not ready"
grep -q "SSL_write" "$T/status.txt" || fail "status does not list SSL_write probes"
grep -q "bytes_captured" "$T/status.txt" || fail "status lacks counters"

# status tells what the detection state of live flows costs: a connection kept open after its
# request (two flows: the client's and the test server's, both hooked) holds a few hundred bytes
# once idle, and less once it is closed.
"$PY" - "$PORT" "$T/ca.pem" > "$T/open.out" 2>&1 <<'PYEOF' &
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
body = b"bonjour, une question sans identifiant"
s.sendall(b"POST /open HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
s.recv(200)
print("sent", flush=True)
time.sleep(4)
s.close()
PYEOF
OPEN_PID=$!
state_bytes() { "$BIN/rempart" --socket "$SOCK" status --json | "$PY" -c \
  'import json,sys; print(json.load(sys.stdin)["agent_counters"]["detection_state_bytes"])'; }
for _ in $(seq 30); do grep -q sent "$T/open.out" 2>/dev/null && break; sleep 0.1; done
sleep 0.3 # past the 20 ms pause: the flow is idle
held=$(state_bytes)
log "detection state with one idle connection: $held bytes"
[[ $held -gt 0 && $held -le 1024 ]] || fail "detection_state_bytes with one idle flow: $held"
wait "$OPEN_PID" || fail "the open connection failed: $(cat "$T/open.out")"
for _ in $(seq 30); do [[ $(state_bytes) -lt $held ]] && break; sleep 0.1; done
[[ $(state_bytes) -lt $held ]] || fail "detection state not released when the connection closed"

# A program gone before the agent reads its records is still named: the agent saw its exec. The
# agent is stopped while curl runs to its end (capture goes on into the ring buffer).
kill -STOP "$DAEMON_PID"
curl -sS --cacert "$T/ca.pem" -o /dev/null -d "{\"prompt\": \"NIR $NIR_SPACED, parti avant\"}" "$URL" || { kill -CONT "$DAEMON_PID"; fail "curl failed"; }
kill -CONT "$DAEMON_PID"
wait_alerts 5 || fail "no alert for a curl already gone when its records were read"
[[ $(alerts_query "alerts[4]['actor']['process']['file']['path']") == */curl ]] \
  || fail "the alert for a finished curl lacks its exe: $(alerts_query "alerts[4]['actor']['process']")"
log "a program gone before its records were read: alert names its exe"

# Clean shutdown: exit 0, socket removed, no uprobe left behind.
stop_daemon || fail "rempartd did not exit cleanly"
[[ ! -e "$SOCK" ]] || fail "control socket left behind"
if grep -q "ssl_write" <<<"$(bpftool link show 2>/dev/null)"; then fail "BPF links left after exit"; fi
log "PASS"
