#!/usr/bin/env bash
# Decoders end to end: real clients send a NIR the raw bytes of their flow do not show whole
# (HTTP/2 DATA frame boundary, HPACK Huffman-coded :path, gzip request body, chunk framing);
# rempartd must decode the flow before scanning it and alert each time.
source "$(dirname "$0")/lib.sh"
require_root
command -v nghttpd >/dev/null || fail "nghttpd missing (package nghttp2-server, scripts/deps.sh)"
make_certs
start_server srv; PORT=$SERVER_PORT

# nghttpd: HTTP/2 over TLS on loopback, verbose so the frames it received can be checked.
H2PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$T/htdocs"
echo ok > "$T/htdocs/index.html"
nghttpd -v -a 127.0.0.1 -d "$T/htdocs" "$H2PORT" "$T/server.key" "$T/server.pem" >"$T/nghttpd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  grep -q "listen 127.0.0.1:$H2PORT" "$T/nghttpd.log" 2>/dev/null && break
  sleep 0.1
done
grep -q "listen 127.0.0.1:$H2PORT" "$T/nghttpd.log" || fail "nghttpd did not start: $(cat "$T/nghttpd.log")"

start_daemon "$SRC/policies/default.json"

NIR="2 95 10 99 126 111 93"
NIR_PLAIN="295109912611193"

# expect_alert PORT N WHAT: at least N fr_nir alerts for traffic to PORT.
expect_alert() {
  ALERT_PORT=$1
  wait_alerts "$2" || fail "no alert for $3; alerts to $1: $(alerts_query "[a['rempart']['detector'] for a in alerts]")"
  [[ $(alerts_query "[a['rempart']['detector'] for a in alerts].count('fr_nir')") -ge $2 ]] || fail "$3: not fr_nir"
  [[ $(alerts_query "alerts[-1]['actor']['process']['name']") == "$4" ]] || fail "$3: alert does not name $4"
  log "$3: alert ok"
}

# (a) curl --http2, a 40 KiB JSON body with the NIR across the first 16 KiB DATA frame boundary.
"$PY" - "$T/body40k.json" "$NIR" <<'PYEOF'
import sys
nir = " NIR " + sys.argv[2] + " "
head = '{"prompt": "'
filler = "Compte rendu d'hospitalisation, examen clinique sans particularite. "
pre = (filler * 400)[:16384 - len(head) - len(nir) // 2]
post = (filler * 400)[:40 * 1024 - 16384 - 8]
body = head + pre + nir + post + '"}'
assert body.index(nir) < 16384 < body.index(nir) + len(nir)
open(sys.argv[1], "w").write(body)
PYEOF
curl -sS --http2 --cacert "$T/ca.pem" -o /dev/null -H 'Content-Type: application/json' \
  --data-binary @"$T/body40k.json" "https://127.0.0.1:$H2PORT/chat"
expect_alert "$H2PORT" 1 "HTTP/2 DATA across a frame boundary" curl
# The control: the server did receive the body as a first DATA frame of exactly 16384 bytes, so
# in the raw flow a 9-byte frame header sits inside the NIR and a raw scan cannot match it.
grep -q "recv DATA frame <length=16384" "$T/nghttpd.log" || fail "first DATA frame was not 16 KiB: $(grep 'recv DATA' "$T/nghttpd.log" | head -3)"

# (b) HTTP/2 with the NIR only in the URL: HPACK Huffman-codes :path.
curl -sS --http2 --cacert "$T/ca.pem" -o /dev/null "https://127.0.0.1:$H2PORT/search?patient=$NIR_PLAIN&lang=fr"
expect_alert "$H2PORT" 2 "HTTP/2 :path (HPACK)" curl
grep -q ":path: /search?patient=$NIR_PLAIN" "$T/nghttpd.log" || fail "nghttpd did not see the path"

# (c) HTTP/1.1 POST of a gzip body (the compressed bytes do not contain the NIR).
printf '{"messages": [{"role": "user", "content": "Dossier du patient NIR %s, synthese"}]}' "$NIR" | gzip -c > "$T/body.gz"
if zcat -f "$T/body.gz" >/dev/null && grep -qaF "$NIR" "$T/body.gz"; then fail "control: gzip body carries the NIR in clear"; fi
curl -sS --http1.1 --cacert "$T/ca.pem" -o /dev/null -H 'Content-Encoding: gzip' -H 'Content-Type: application/json' \
  --data-binary @"$T/body.gz" "https://127.0.0.1:$PORT/gz"
expect_alert "$PORT" 1 "HTTP/1.1 gzip body" curl

# (d) A chunked upload, the NIR cut by a chunk-size line.
"$PY" - "$PORT" "$T/ca.pem" <<'PYEOF'
import http.client, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=ctx)
chunks = [b'{"note": "Patient NIR 2 95 10', b' 99 126 111 93, sortie J3"}']
c.request("POST", "/chunked", body=iter(chunks), headers={"Content-Type": "application/json"}, encode_chunked=True)
c.getresponse().read()
PYEOF
expect_alert "$PORT" 2 "HTTP/1.1 chunked upload" "python3"
# The server got the chunk framing in the middle of the value.
cat "$T"/srv/conn-*.bin | "$PY" -c 'import re, sys; sys.exit(0 if re.search(rb"2 95 10\r\n[0-9a-fA-F]+\r\n 99 126", sys.stdin.buffer.read()) else 1)' \
  || fail "control: no chunk-size line inside the NIR"

sleep 1
ALERT_PORT=$H2PORT
[[ $(alert_count) -eq 2 ]] || fail "expected 2 HTTP/2 alerts, got $(alert_count)"
ALERT_PORT=$PORT
[[ $(alert_count) -eq 2 ]] || fail "expected 2 HTTP/1.1 alerts, got $(alert_count)"
assert_no_leak "$NIR" "$NIR_PLAIN"
stop_daemon || fail "rempartd did not exit cleanly"
log "PASS"
