#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `rempart scan`: exit codes, --json shape, stdin, offsets in the file for a value that crosses
# the CLI's 64 KiB read boundary, masked evidence only.
set -euo pipefail

SRC=${REMPART_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${REMPART_BUILD_DIR:-$SRC/build}
REMPART=$BUILD/bin/rempart
if [ ! -x "$REMPART" ]; then
	echo "SKIP: $REMPART not built"
	exit 77
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# usage and input errors: 2
set +e
"$REMPART" scan >/dev/null 2>&1; [ $? -eq 2 ] || fail "no path: want 2"
"$REMPART" scan --bogus x >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad option: want 2"
"$REMPART" scan "$WORK/missing" >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing file: want 2"
set -e

# a NIR straddling 65536, an IBAN, nothing else but prose
python3 - "$WORK/big.txt" <<'PY'
import sys
nir = "2 95 10 99 126 111 93"
pad = "x" * (65536 - 10)
text = pad + " NIR " + nir + " fin.\n" + "Le patient va bien.\n" * 1000 + "IBAN FR76 3000 6000 0112 3456 7890 189\n"
open(sys.argv[1], "w").write(text)
PY
"$REMPART" scan --json "$WORK/big.txt" > "$WORK/out.jsonl"
python3 - "$WORK/out.jsonl" "$WORK/big.txt" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
data = open(sys.argv[2], "rb").read()
found = [json.loads(l) for l in lines]
assert all(set(f) == {"file", "detector", "offset", "length", "confidence", "masked"} for f in found), found
dets = sorted(f["detector"] for f in found)
assert dets == ["fr_nir", "iban"], dets
for f in found:
    value = data[f["offset"]:f["offset"] + f["length"]]
    assert value.decode() not in json.dumps(found), "full value leaked"
    if f["detector"] == "fr_nir":
        assert value == b"2 95 10 99 126 111 93", value
        assert f["masked"] == "2 95 10 ** *** *** 93", f
    assert 0.0 < f["confidence"] <= 1.0
PY

# stdin, and human output on stdout
printf 'NIR 2 95 10 99 126 111 93\n' | "$REMPART" scan - > "$WORK/human.txt" 2>/dev/null
grep -q '^-:4: fr_nir (confidence 0\.[0-9][0-9]): 2 95 10 \*\* \*\*\* \*\*\* 93$' "$WORK/human.txt" || fail "human line: $(cat "$WORK/human.txt")"
# a Word document: the text inside it is scanned (deflated, the value cut across XML runs);
# offsets count in that text, and the finding says so
python3 - "$WORK/lettre.docx" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("word/document.xml", '<w:document><w:body><w:p><w:r><w:t>N\u00b0 de s\u00e9curit\u00e9 sociale : 2 95 1</w:t>'
               '</w:r><w:r><w:rPr><w:b/></w:rPr><w:t>0 99 126 111 93</w:t></w:r></w:p></w:body></w:document>')
PY
if grep -qa "111 93" "$WORK/lettre.docx"; then fail "the test document carries the value in clear"; fi
"$REMPART" scan --json "$WORK/lettre.docx" > "$WORK/doc.jsonl"
python3 - "$WORK/doc.jsonl" <<'PY'
import json, sys
found = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()]
assert [f["detector"] for f in found] == ["fr_nir"], found
assert found[0]["decoded"] == "document" and found[0]["masked"] == "2 95 10 ** *** *** 93", found
# the text read out: the zip signature (passed as it is), then the entry's text
assert found[0]["offset"] == 4 + len("N\u00b0 de s\u00e9curit\u00e9 sociale : ".encode()), found
PY

# a PDF (ReportLab, as report generators write them): the text its pages show is scanned
/usr/bin/python3 - "$WORK/resultats.pdf" <<'PY'
import sys
from reportlab.pdfgen import canvas
c = canvas.Canvas(sys.argv[1])
c.drawString(60, 780, "Patient : NIR 2 95 10 99 126 111 93")
c.save()
PY
if grep -qa "111 93" "$WORK/resultats.pdf"; then fail "the test PDF carries the value in clear"; fi
"$REMPART" scan --json "$WORK/resultats.pdf" > "$WORK/pdf.jsonl"
grep -q '"detector": "fr_nir".*"decoded": "document"' "$WORK/pdf.jsonl" || fail "PDF: $(cat "$WORK/pdf.jsonl")"

# an e-mail address whose domain crosses the 64 KiB read boundary, with a shorter address inside
# it ("chu.fr" before "-lyon.example.org"): one finding, the whole address, its offsets in the file
python3 - "$WORK/mail.txt" <<'PY'
import sys
addr = "marie.curie@secretariat.chu.fr-lyon.example.org"
pad = "y" * (65536 - 30)
open(sys.argv[1], "w").write(pad + " écrire à " + addr + ". Merci\n")
PY
"$REMPART" scan --json "$WORK/mail.txt" > "$WORK/mail.jsonl"
python3 - "$WORK/mail.jsonl" "$WORK/mail.txt" <<'PY'
import json, sys
found = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()]
data = open(sys.argv[2], "rb").read()
assert [f["detector"] for f in found] == ["email"], found
f = found[0]
assert f["offset"] < 65536 < f["offset"] + f["length"], f
assert data[f["offset"]:f["offset"] + f["length"]] == b"marie.curie@secretariat.chu.fr-lyon.example.org", f
assert f["masked"] == "m****.*****@secretariat.chu.fr-lyon.example.org", f
PY

# no finding: exit 0, nothing on stdout in --json mode
printf 'rien à signaler\n' > "$WORK/clean.txt"
out=$("$REMPART" scan --json "$WORK/clean.txt")
[ -z "$out" ] || fail "clean file printed: $out"
echo "ok"
