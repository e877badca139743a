#!/usr/bin/env bash
# Every common TLS stack and plaintext TCP, driven by real clients against local servers: each
# sends a NIR and must produce an alert naming the right process and destination.
source "$(dirname "$0")/lib.sh"
require_root
make_certs
start_server srv; PORT=$SERVER_PORT
start_server srv6 --host ::1; PORT6=$SERVER_PORT
start_server plain --plain; PLAIN=$SERVER_PORT
# The default policy, plus an audit of every TLS session no hook can read: none of the clients
# below may show up there, they are all hooked (a handshake the hooks missed would say so).
default_policy_with "$T/policy.json" 'p["rules"].append({"id": "audit-unreadable-tls", "uninspected_tls": True, "action": "audit"})'
start_daemon "$T/policy.json"

NIR="2 95 10 99 126 111 93"

# expect_alert COMM PORT SOURCE [IP]: a new alert names COMM, its capture source, IP and PORT.
# Alerts are matched by content, not position: other programs on the machine may alert too.
expect_alert() {
  local comm=$1 port=$2 source=$3 ip=${4:-127.0.0.1}
  local want="('$comm', '$ip', $port, '$source', 'fr_nir')" got=
  for _ in $(seq 150); do
    got=$(alerts_query "[(a['actor']['process']['name'], a['dst_endpoint']['ip'], a['dst_endpoint']['port'], a['rempart']['flow']['source'], a['rempart']['detector']) for a in alerts].count($want)")
    [[ "$got" -gt "${SEEN[$want]:-0}" ]] && break
    sleep 0.1
  done
  [[ "$got" -gt "${SEEN[$want]:-0}" ]] || fail "no alert $want; alerts: $(alerts_query "[(a['actor']['process']['name'], a['dst_endpoint']['port'], a['rempart']['flow']['source']) for a in alerts]")"
  SEEN[$want]=$got
  log "$comm via $source -> $ip:$port: alert ok"
}
declare -A SEEN

curl -sS --cacert "$T/ca.pem" -o /dev/null -d "NIR: $NIR" "https://127.0.0.1:$PORT/"
expect_alert curl "$PORT" openssl

"$PY" -c 'import ssl,sys,urllib.request as u; u.urlopen(u.Request(sys.argv[1], data=sys.argv[3].encode()), context=ssl.create_default_context(cafile=sys.argv[2])).read()' \
  "https://127.0.0.1:$PORT/" "$T/ca.pem" "NIR: $NIR"
expect_alert python3 "$PORT" openssl

NODE_EXTRA_CA_CERTS="$T/ca.pem" node -e '
const req = require("https").request({host: "127.0.0.1", port: +process.argv[1], method: "POST", path: "/"},
  (res) => { res.resume(); });
req.end("NIR: " + process.argv[2]);' "$PORT" "$NIR"
expect_alert node "$PORT" openssl

wget -q -O /dev/null --ca-certificate="$T/ca.pem" --post-data="NIR: $NIR" "https://127.0.0.1:$PORT/"
expect_alert wget "$PORT" gnutls

printf 'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 27\r\n\r\nNIR: %s' "$NIR" | \
  timeout 20 gnutls-cli --x509cafile="$T/ca.pem" -p "$PORT" 127.0.0.1 >/dev/null 2>&1 || true
expect_alert gnutls-cli "$PORT" gnutls

# IPv6 loopback.
curl -sS --cacert "$T/ca.pem" -o /dev/null -d "NIR: $NIR" "https://[::1]:$PORT6/"
expect_alert curl "$PORT6" openssl "::1"

# Plaintext HTTP: the syscall hooks see it.
curl -sS -o /dev/null -d "NIR: $NIR" "http://127.0.0.1:$PLAIN/"
expect_alert curl "$PLAIN" tcp

# Firefox ESR (NSS/NSPR PR_Write), headless, with a profile that trusts the test CA. The page
# posts the NIR with fetch() once loaded.
cat > "$T/page.html" <<HTML
<html><body>test<script>fetch("/submit", {method: "POST", body: "NIR: $NIR"});</script></body></html>
HTML
start_server ff --page "$T/page.html"; FFPORT=$SERVER_PORT
start_firefox "https://localhost:$FFPORT/"
for _ in $(seq 600); do
  got=$(alerts_query "[(a['actor']['process']['name'], a['dst_endpoint']['port'], a['rempart']['flow']['source']) for a in alerts if a['dst_endpoint']['port'] == $FFPORT]")
  [[ "$got" == *"$FFPORT, 'nspr')"* ]] && break
  sleep 0.1
done
[[ "$got" == *"('firefox-esr', $FFPORT, 'nspr')"* ]] || fail "no NSPR alert from Firefox: $got ($(tail -3 "$T/firefox.log"))"
grep -q "NIR: $NIR" "$T"/ff/conn-*.bin || fail "Firefox did not post"
kill "$FFPID" 2>/dev/null || true
wait "$FFPID" 2>/dev/null || true
log "firefox-esr via nspr: alert ok ($got)"

# A 5 MiB upload with the NIR in its last kilobyte.
"$PY" -c 'import sys; sys.stdout.buffer.write(b"x" * (5 * 1024 * 1024 - 512) + b" NIR: " + sys.argv[1].encode() + b" " + b"y" * 400)' "$NIR" > "$T/upload.bin"
curl -sS --cacert "$T/ca.pem" -o /dev/null --data-binary "@$T/upload.bin" "https://127.0.0.1:$PORT/upload"
expect_alert curl "$PORT" openssl

# Many small writes: no loss. 20000 TLS writes of 100 bytes, the NIR in the last one.
before=$("$BIN/rempart" --socket "$SOCK" status --json | "$PY" -c 'import json,sys; c=json.load(sys.stdin)["kernel_counters"]; print(c["writes"], c["wakeups"])')
"$PY" - "$PORT" "$T/ca.pem" "$NIR" <<'PYEOF'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
N = 20000
chunk = b"a" * 100
body_len = N * 100
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as raw, ctx.wrap_socket(raw, server_hostname="localhost") as s:
    s.sendall(b"POST /small HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % body_len)
    for i in range(N - 1):
        s.sendall(chunk)
    last = (b"NIR: " + sys.argv[3].encode()).ljust(100, b".")
    s.sendall(last)
    s.recv(100)
PYEOF
expect_alert python3 "$PORT" openssl
"$BIN/rempart" --socket "$SOCK" status --json > "$T/status.json"
"$PY" - "$T/status.json" $before <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))["kernel_counters"]
writes = c["writes"] - int(sys.argv[2])
wakeups = c["wakeups"] - int(sys.argv[3])
assert writes >= 20001, f"only {writes} writes seen"
for k in ("gap_records", "gap_bytes", "ringbuf_full", "gaps_lost", "read_faults"):
    assert c[k] == 0, f"{k} = {c[k]}"
# Each wakeup is an interrupt the writer pays: while records keep coming the agent polls and
# writers leave it be.
assert 1 <= wakeups <= writes // 100, f"{wakeups} wakeups for {writes} writes"
print("no loss over", writes, "writes,", wakeups, "wakeups")
# The socket link also gives enforcement each TLS flow's socket fd (for a verdict that lands
# before the flow's records carry its socket).
e = json.load(open(sys.argv[1]))["enforcement_counters"]
assert e["fd_linked"] >= 1, f"no TLS flow linked to its fd: {e}"
PYEOF

# No client above was taken for one whose TLS cannot be read.
unread=$(alerts_query "sorted(set((a['actor']['process']['name'], a['dst_endpoint'].get('hostname', a['dst_endpoint']['ip'])) for a in alerts if a['rempart']['detector'] == 'uninspected_tls' and a['actor']['process']['name'] in ('curl', 'python3', 'node', 'wget', 'gnutls-cli', 'firefox-esr')))")
[[ "$unread" == "[]" ]] || fail "hooked clients reported as unreadable TLS: $unread"

assert_no_leak "$NIR" "295109912611193"
log "PASS"
