#!/usr/bin/env bash
# Documents uploaded the way clinicians upload them: a Word letter (.docx) as a multipart form
# part (curl -F, HTTP/1.1 and HTTP/2), a spreadsheet (.xlsx) PUT as it is, a LibreOffice text
# (.odt) from python, a lab report PDF made by ReportLab (as report generators make them), a page
# printed to PDF by Chromium and a letter exported to PDF by LibreOffice (fonts with their own
# codes); files
# inline in genAI API calls as base64 (python: a CSV in Gemini's inline_data; node: the PDF as an
# OpenAI data: URL), and Firefox uploading the .docx with FormData. Inside, the NIR is deflated and cut across XML runs; the agent reads the
# documents back into text and alerts, naming the process and the destination.
source "$(dirname "$0")/lib.sh"
require_root
make_certs
start_server srv; PORT=$SERVER_PORT
start_h2_server
start_daemon "$SRC/policies/default.json"

# Office documents written with Python's zipfile (deflated entries, as Office writes them), the
# NIR 2 95 10 99 126 111 93 split over runs the way Word splits text it spell-checked.
"$PY" - "$T" <<'PYEOF'
import sys, zipfile
t = sys.argv[1]
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
doc = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document {W}><w:body>'
       '<w:p><w:r><w:t>Compte rendu de consultation</w:t></w:r></w:p>'
       '<w:p><w:r><w:t xml:space="preserve">Patient n\u00e9 le 12/10/1995, num\u00e9ro de s</w:t></w:r>'
       '<w:proofErr w:type="spellStart"/><w:r><w:rPr><w:b/></w:rPr><w:t>\u00e9curit\u00e9 sociale : 2 95 1</w:t></w:r>'
       '<w:r><w:t>0 99 126 111 93</w:t></w:r></w:p></w:body></w:document>')
def office(path, parts):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        z.writestr("_rels/.rels", "<Relationships/>")
        z.writestr("docProps/thumbnail.jpeg", bytes(range(256)) * 40)
        for name, xml in parts:
            z.writestr(name, xml)
office(f"{t}/compte-rendu.docx", [("word/document.xml", doc)])
office(f"{t}/liste.xlsx", [("xl/sharedStrings.xml",
    '<sst><si><t>Nom</t></si><si><t>NIR</t></si><si><t>DUPONT Jean</t></si>'
    '<si><r><t>2 95 10 99 </t></r><r><rPr><b/></rPr><t>126 111 93</t></r></si></sst>'),
    ("xl/worksheets/sheet1.xml", '<worksheet><sheetData><row r="1"><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row></sheetData></worksheet>')])
with zipfile.ZipFile(f"{t}/courrier.odt", "w") as z:
    z.writestr("mimetype", "application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED)
    z.writestr("content.xml", '<office:document-content><office:body><office:text><text:p>N\u00b0 de s\u00e9curit\u00e9 sociale'
               '<text:s/>2 95 10 99<text:s/>126 111 93</text:p></office:text></office:body></office:document-content>',
               zipfile.ZIP_DEFLATED)
PYEOF
# A PDF as report generators write them (ReportLab: Helvetica, ASCII85 + Flate content streams).
"$PY" - "$T/resultats.pdf" <<'PYEOF'
import sys
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
c = canvas.Canvas(sys.argv[1], pagesize=A4)
c.setFont("Helvetica", 10)
c.drawString(60, 800, "Laboratoire de biologie m\u00e9dicale - R\u00e9sultats")
c.drawString(60, 780, "Patient : DUPONT Jean, NIR 2 95 10 99 126 111 93")
c.drawString(60, 760, "H\u00e9moglobine 13,5 g/dL")
c.showPage()
c.save()
PYEOF
for f in compte-rendu.docx liste.xlsx courrier.odt resultats.pdf; do
  if grep -qa "126 111 93" "$T/$f"; then fail "$f carries the NIR in clear: the test would prove nothing"; fi
done

# newest alert about PORT: "process detector masked"
alert_for() { ALERT_PORT=$1 alerts_query "(lambda a: ' '.join((a['actor']['process']['name'], a['rempart']['detector'], a['rempart']['masked'])))(alerts[-1]) if alerts else ''"; }
# expect_upload PORT N PROCESS WHAT: the Nth alert to PORT is a fr_nir from PROCESS.
expect_upload() {
  wait_port_alerts "$1" "$2" || fail "no alert for $4"
  got=$(alert_for "$1"); log "$4 -> $got"
  [[ $got == "$3 fr_nir "* ]] || fail "$4: $got"
}

curl -sS --max-time 10 --cacert "$T/ca.pem" -o /dev/null -F "file=@$T/compte-rendu.docx" -F "purpose=assistants" \
  "https://127.0.0.1:$PORT/v1/files" || true
expect_upload "$PORT" 1 curl "curl -F compte-rendu.docx (HTTP/1.1)"

curl -sS --max-time 10 --cacert "$T/ca.pem" -o /dev/null -T "$T/liste.xlsx" "https://127.0.0.1:$PORT/upload/liste.xlsx" || true
expect_upload "$PORT" 2 curl "curl -T liste.xlsx (HTTP/1.1)"

"$PY" - "$PORT" "$T/ca.pem" "$T/courrier.odt" <<'PYEOF'
import ssl, sys, urllib.request
port, ca, path = sys.argv[1:4]
body = open(path, "rb").read()
req = urllib.request.Request(f"https://127.0.0.1:{port}/upload", data=body, method="POST",
                             headers={"Content-Type": "application/vnd.oasis.opendocument.text"})
try:
    urllib.request.urlopen(req, context=ssl.create_default_context(cafile=ca), timeout=10).read()
except Exception as e:
    print("python:", e, file=sys.stderr)
PYEOF
expect_upload "$PORT" 3 python3 "python urllib courrier.odt (HTTP/1.1)"

curl -sS --http2 --max-time 10 --cacert "$T/ca.pem" -o /dev/null -F "file=@$T/compte-rendu.docx" \
  "https://127.0.0.1:$H2PORT/upload" 2>/dev/null || true
expect_upload "$H2PORT" 1 curl "curl --http2 -F compte-rendu.docx"

curl -sS --max-time 10 --cacert "$T/ca.pem" -o /dev/null -F "file=@$T/resultats.pdf;type=application/pdf" \
  "https://127.0.0.1:$PORT/upload" || true
expect_upload "$PORT" 4 curl "curl -F resultats.pdf (HTTP/1.1)"

# A script calling a genAI API with a file inline (Gemini inline_data: base64 of a CSV export),
# and node sending a PDF as a data: URL (OpenAI file_data).
"$PY" - "$PORT" "$T/ca.pem" <<'PYEOF'
import base64, json, ssl, sys, urllib.request
port, ca = sys.argv[1:3]
csv = "nom;prenom;nir;ddn\nDUPONT;Jean;2 95 10 99 126 111 93;12/10/1995\n"
body = json.dumps({"contents": [{"parts": [{"text": "Fais une synth\u00e8se de ce fichier"},
    {"inline_data": {"mime_type": "text/csv", "data": base64.b64encode(csv.encode() * 3).decode()}}]}]}).encode()
req = urllib.request.Request(f"https://127.0.0.1:{port}/v1beta/models/gemini-pro:generateContent", data=body,
                             headers={"Content-Type": "application/json"})
try:
    urllib.request.urlopen(req, context=ssl.create_default_context(cafile=ca), timeout=10).read()
except Exception as e:
    print("python:", e, file=sys.stderr)
PYEOF
expect_upload "$PORT" 5 python3 "python, CSV inline in base64 (Gemini API shape)"

node - "$PORT" "$T/ca.pem" "$T/resultats.pdf" <<'JSEOF' || true
const https = require("https"), fs = require("fs");
const [port, ca, pdf] = process.argv.slice(2);
const body = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: [
  { type: "text", text: "Analyse ce compte rendu" },
  { type: "file", file: { filename: "resultats.pdf", file_data: "data:application/pdf;base64," + fs.readFileSync(pdf).toString("base64") } }] }] });
const req = https.request({ host: "127.0.0.1", port, path: "/v1/chat/completions", method: "POST", ca: fs.readFileSync(ca),
  headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } }, (res) => res.resume());
req.on("error", (e) => console.error("node:", e.message));
req.end(body);
JSEOF
expect_upload "$PORT" 6 node "node, PDF as a base64 data: URL (OpenAI API shape)"

# A patient record printed from a web page with Chromium's "Save as PDF": its fonts are Type0 with
# Identity-H, the strings are glyph numbers that only the ToUnicode CMaps (after the pages) turn
# back into text. Printed in a network namespace of its own: Chromium reaches nothing.
if command -v chromium >/dev/null; then
  cat > "$T/dossier.html" <<'HTML'
<!doctype html><html><head><meta charset="utf-8"><title>Dossier patient</title></head><body>
<h1>Compte rendu de consultation</h1>
<p>Patient : DUPONT Jean, né le 12/10/1995 à Lyon</p>
<p>Numéro de sécurité sociale : 2 95 10 99 126 111 93</p>
</body></html>
HTML
  timeout 60 unshare --net chromium --headless --no-sandbox --disable-gpu --no-pdf-header-footer \
    --disable-background-networking --disable-component-update --no-first-run --user-data-dir="$T/chromium" \
    --print-to-pdf="$T/dossier.pdf" "file://$T/dossier.html" >"$T/chromium.log" 2>&1 || true
  [[ -s "$T/dossier.pdf" ]] || fail "chromium printed no PDF: $(tail -3 "$T/chromium.log")"
  grep -qa "/Identity-H" "$T/dossier.pdf" || fail "chromium's PDF has no Identity-H font: the case is not tested"
  if grep -qa "126 111 93" "$T/dossier.pdf"; then fail "dossier.pdf carries the NIR in clear"; fi
  curl -sS --max-time 10 --cacert "$T/ca.pem" -o /dev/null -F "file=@$T/dossier.pdf;type=application/pdf" \
    "https://127.0.0.1:$PORT/upload" || true
  expect_upload "$PORT" 7 curl "curl -F dossier.pdf (printed by Chromium: Identity-H fonts)"
else
  log "no chromium here (Debian packages it): the Chromium-printed PDF is not tested"
fi

# A letter written in LibreOffice and exported to PDF: TrueType subsets whose codes are 0, 1, 2...
# in the order the letters first appear, readable only through their ToUnicode CMaps.
"$PY" - "$T/lettre.odt" <<'PYEOF'
import sys, zipfile
NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
      'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("mimetype", "application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED)
    z.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
               'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
               '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>'
               '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    z.writestr("content.xml", f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {NS} office:version="1.2">'
               '<office:body><office:text><text:p>Lettre de liaison</text:p>'
               '<text:p>Patient : DUPONT Jean, n\u00e9 le 12/10/1995</text:p>'
               '<text:p>Num\u00e9ro de s\u00e9curit\u00e9 sociale : 2 95 10 99 126 111 93</text:p>'
               '</office:text></office:body></office:document-content>', zipfile.ZIP_DEFLATED)
PYEOF
timeout 120 unshare --net soffice --headless "-env:UserInstallation=file://$T/lo-profile" --convert-to pdf \
  --outdir "$T" "$T/lettre.odt" >"$T/soffice.log" 2>&1 || true
[[ -s "$T/lettre.pdf" ]] || fail "LibreOffice exported no PDF: $(tail -3 "$T/soffice.log")"
if grep -qa "126 111 93" "$T/lettre.pdf"; then fail "lettre.pdf carries the NIR in clear"; fi
before=$(ALERT_PORT=$PORT alert_count)
curl -sS --max-time 10 --cacert "$T/ca.pem" -o /dev/null -F "file=@$T/lettre.pdf;type=application/pdf" \
  "https://127.0.0.1:$PORT/upload" || true
expect_upload "$PORT" $((before + 1)) curl "curl -F lettre.pdf (exported by LibreOffice: subset codes)"

# Firefox (NSS): the page uploads the Word document with FormData, as a web chat's "attach file"
# does; the browser builds the multipart body itself.
DOCX_B64=$(base64 -w0 "$T/compte-rendu.docx")
cat > "$T/page.html" <<HTML
<html><body>upload<script>
const bytes = Uint8Array.from(atob("$DOCX_B64"), c => c.charCodeAt(0));
const form = new FormData();
form.append("file", new Blob([bytes], {type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}), "compte-rendu.docx");
fetch("/upload", {method: "POST", body: form});
</script></body></html>
HTML
start_server ff --page "$T/page.html"; FFPORT=$SERVER_PORT
start_firefox "https://localhost:$FFPORT/"
for _ in $(seq 600); do [[ $(ALERT_PORT=$FFPORT alert_count) -ge 1 ]] && break; sleep 0.1; done
got=$(alert_for "$FFPORT"); log "firefox-esr, FormData upload of compte-rendu.docx -> $got"
[[ $got == "firefox-esr fr_nir "* ]] || fail "Firefox upload: $got ($(tail -3 "$T/firefox.log"))"
grep -qa "compte-rendu.docx" "$T"/ff/conn-*.bin || fail "Firefox did not upload the document"
kill "$FFPID" 2>/dev/null || true

# rempart status counts the document parts read
parts=$("$BIN/rempart" --socket "$SOCK" status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["decoder_counters"]["document_parts"])')
log "rempart status: $parts document parts read"
[[ $parts -ge 7 ]] || fail "rempart status counts $parts document parts, expected at least 7"

assert_no_leak "2 95 10 99 126 111 93" "295109912611193"
log "PASS"
