#!/usr/bin/env bash
# hold (strict) mode: each TLS write of a covered process is stopped at SSL_write entry until it
# is scanned. A write carrying a NIR never reaches the peer -- not one byte of it -- and its flow
# is killed; clean writes through the same policy go through; processes the policy does not
# cover are released at once.
source "$(dirname "$0")/lib.sh"
require_root
source "$(dirname "$0")/enforce_lib.sh"
make_certs
start_server srv >/dev/null; PORT=$(cat "$T/srv.port") # not in $(...): the server pid must reach PIDS
scoped_policy "$SRC/policies/examples/hold.json" "$T/hold.json"
start_daemon "$T/hold.json"
NIR="2 95 10 99 126 111 93"
# The user is told why the application froze: a notifier (stdout, every user) gets held writes.
"$BIN/rempart-notify" --socket "$NOTIFY_SOCK" --stdout --all >"$T/notify.out" 2>"$T/notify.err" &
PIDS+=($!)
for _ in $(seq 100); do grep -q subscribed "$T/notify.err" 2>/dev/null && break; sleep 0.1; done
grep -q subscribed "$T/notify.err" || fail "notifier did not subscribe: $(cat "$T/notify.err")"

session() { # session MARKER BODY...: one connection, one POST per BODY; prints per-request results
  "$TPY" - "$PORT" "$T/ca.pem" "$@" <<'PYEOF'
import socket, ssl, sys
port, ca, marker, bodies = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
s.settimeout(10)
for b in bodies:
    body = (marker + " " + b).encode()
    if b.startswith("@big:"):   # a 1 MiB write whose end carries the sensitive part
        body = marker.encode() + b" " + b"x" * (1 << 20) + b" " + b[5:].encode()
    try:
        s.sendall(b"POST /h HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        r = s.recv(200)
        print("OK" if r.startswith(b"HTTP/1.1 200") else "EOF")
    except (OSError, ssl.SSLError) as e:
        print("ERR", type(e).__name__)
        break
PYEOF
}
server_has() { grep -qF -- "$1" "$T"/srv/conn-*.bin 2>/dev/null; }

# 1. Clean requests go through (each write held, scanned, released).
out=$(session clean-1 "bonjour" "compte rendu sans identifiant")
[[ $out == $'OK\nOK' ]] || fail "clean session failed: $out"
server_has "clean-1 compte rendu" || fail "server did not receive the clean requests"

# 2. A clean request, then one carrying a NIR on the same connection: the first arrives, the
#    second is refused before encryption: the server receives none of its bytes.
out=$(session dirty-2 "premier envoi propre" "patient NIR $NIR, fin" "apres")
log "dirty session: $(echo $out)"
[[ $(sed -n 1p <<<"$out") == OK ]] || fail "the clean first request failed"
[[ $(sed -n 2p <<<"$out") == ERR* || $(sed -n 2p <<<"$out") == EOF ]] || fail "the NIR request was answered"
server_has "dirty-2 premier envoi propre" || fail "server lacks the clean first request"
server_has "dirty-2 patient" && fail "server received bytes of the held write"
server_has "$NIR" && fail "server received the NIR"
conn=$(grep -lF "dirty-2 premier" "$T"/srv/conn-*.bin)
grep -q "POST /h HTTP/1.1.*dirty-2 premier envoi propre$" <(tr '\r\n' '  ' < "$conn"; echo) \
  || fail "the connection carried more than the clean request: $(od -c "$conn" | tail -3)"
wait_alerts 1 || fail "no alert for the held write"
[[ $(alerts_query "alerts[0]['rempart']['action']") == hold ]] || fail "alert action is not hold"
how=$(alerts_query "alerts[0]['rempart']['enforcement']")
log "enforcement: $how"
[[ $how == *"held at TLS entry"* ]] || fail "alert does not say the write was held"
for _ in $(seq 50); do grep -qF "2 95 10 ** *** *** 93" "$T/notify.out" && break; sleep 0.1; done
grep -qF "2 95 10 ** *** *** 93" "$T/notify.out" || fail "the held write was not notified: $(cat "$T/notify.out")"
grep -qF "$NIR" "$T/notify.out" && fail "the notification carries the NIR in full"

# 3. A 1 MiB write with the NIR at its very end: none of the 1 MiB reaches the server.
out=$(session big-3 "@big:NIR $NIR.")
[[ $out == ERR* || $out == EOF ]] || fail "the big write was answered: $out"
server_has "big-3" && fail "server received bytes of the held 1 MiB write"

# 4. The NIR as the very first write of a new connection, while the process has another one in
#    use: the held write has not reached its socket yet (no link), the agent still finds it --
#    the process's only socket not linked to another flow -- and the other connection lives on.
"$TPY" - "$PORT" "$T/ca.pem" "$NIR" > "$T/first.out" 2>&1 <<'PYEOF' || fail "first-write case: $(cat "$T/first.out")"
import socket, ssl, sys
port, ca, nir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
def conn():
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    s.settimeout(10)
    return s
def post(s, body):
    s.sendall(b"POST /h HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    return s.recv(200)
b = conn()
assert post(b, b"first-4 B before").startswith(b"HTTP/1.1 200")
a = conn()
try:
    r = post(a, ("first-4 A patient NIR " + nir + ", fin").encode())
    assert not r.startswith(b"HTTP/1.1 200"), "the NIR request was answered"
except (OSError, ssl.SSLError):
    pass
assert post(b, b"first-4 B after").startswith(b"HTTP/1.1 200"), "B broken"
PYEOF
server_has "first-4 A" && fail "server received bytes of a held first write"
server_has "first-4 B after" || fail "the other connection did not keep working"
log "first write of a new connection: $(alerts_query "alerts[-1]['rempart']['enforcement']")"

# 4b. curl with a NIR: refused, nothing received.
set +e
"$TCURL" -sS --cacert "$T/ca.pem" --max-time 10 -o /dev/null -d "curl-4 patient NIR $NIR, fin" \
  "https://127.0.0.1:$PORT/h" 2>"$T/curl.err"
rc=$?
set -e
log "curl exit $rc: $(cat "$T/curl.err")"
[[ $rc -ne 0 ]] || fail "curl with a NIR succeeded in hold mode"
server_has "curl-4" && fail "server received curl's held write"

# 4c. A gzip-compressed body: the raw bytes show nothing, what the decoder makes of them does.
#     The NIR ends the body: whether its digits go on waits for bytes the held writer cannot send;
#     the agent decides when the write is held.
"$TPY" - "$PORT" "$T/ca.pem" "$NIR" > "$T/gzip.out" 2>&1 <<'PYEOF' || fail "gzip case: $(cat "$T/gzip.out")"
import gzip, socket, ssl, sys
port, ca, nir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
s.settimeout(10)
body = gzip.compress(("Merci de reformuler ce compte rendu pour la famille. " * 20 + "NIR du patient : " + nir).encode())
try:
    s.sendall(b"POST /h HTTP/1.1\r\nHost: localhost\r\nX-Case: gzip-4c\r\nContent-Type: text/plain\r\n"
              b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    r = s.recv(200)
    assert not r.startswith(b"HTTP/1.1 200"), "the gzip request carrying a NIR was answered"
except (OSError, ssl.SSLError):
    pass
PYEOF
server_has "gzip-4c" && fail "server received the held gzip write"

# 4d. A Word document uploaded as a multipart part: deflated XML, the NIR cut across runs. The
#     held write is judged on the text read out of the document: none of it reaches the server.
"$TPY" - "$PORT" "$T/ca.pem" > "$T/docx.out" 2>&1 <<'PYEOF' || fail "docx case: $(cat "$T/docx.out")"
import io, socket, ssl, sys, zipfile
port, ca = int(sys.argv[1]), sys.argv[2]
doc = io.BytesIO()
with zipfile.ZipFile(doc, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("word/document.xml", '<w:document><w:body><w:p><w:r><w:t>Patient, NIR 2 95 1</w:t></w:r>'
               '<w:r><w:t>0 99 126 111 93</w:t></w:r></w:p></w:body></w:document>')
part = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="cr.docx"\r\n\r\n' + doc.getvalue() +
        b"\r\n--B--\r\n")
assert b"126 111 93" not in part
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
s.settimeout(10)
try:
    s.sendall(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nX-Case: docx-4d\r\n"
              b"Content-Type: multipart/form-data; boundary=B\r\nContent-Length: %d\r\n\r\n" % len(part) + part)
    r = s.recv(200)
    assert not r.startswith(b"HTTP/1.1 200"), "the document carrying a NIR was answered"
except (OSError, ssl.SSLError):
    pass
PYEOF
server_has "docx-4d" && fail "server received the held document upload"
log "held .docx upload: refused, nothing received"

# 5. A process the policy does not cover (the system python) is released: its data goes through.
"$PY" - "$PORT" "$T/ca.pem" "$NIR" <<'PYEOF' || fail "an uncovered process was disturbed"
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
urllib.request.urlopen(urllib.request.Request("https://127.0.0.1:%s/u" % sys.argv[1],
    data=("uncovered-5 NIR " + sys.argv[3] + ", fin").encode(), method="POST"), context=ctx).read()
PYEOF
server_has "uncovered-5" || fail "uncovered process's data did not arrive"

"$BIN/rempart" --socket "$SOCK" status > "$T/status.txt"
stop_daemon || fail "rempartd did not exit cleanly"

# 6. Hold scoped by destination: the flow's socket decides (127.0.0.1 is held, nothing else).
"$PY" - "$T/hold.json" "$T/hold-dest.json" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1]))
for r in p["rules"]:
    r["scope"]["addresses"] = ["127.0.0.1/32"]
json.dump(p, open(sys.argv[2], "w"))
PYEOF
start_daemon "$T/hold-dest.json"
out=$(session dest-6 "premier envoi propre" "patient NIR $NIR, fin")
log "destination-scoped hold: $(echo $out)"
[[ $(sed -n 1p <<<"$out") == OK ]] || fail "clean request failed under a destination-scoped hold"
[[ $(sed -n 2p <<<"$out") != OK ]] || fail "the NIR request was answered under a destination-scoped hold"
server_has "dest-6 premier" || fail "server lacks the clean request"
server_has "dest-6 patient" && fail "server received bytes of the held write (destination-scoped)"
stop_daemon || fail "rempartd did not exit cleanly"
log "PASS"
