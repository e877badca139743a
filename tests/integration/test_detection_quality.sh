#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Detection quality on a labelled, generated corpus: French clinician prompts (plain and wrapped in
# JSON chat requests, and patient records as applications upload them) with valid identifiers and
# look-alikes. `rempart scan --json` must reach precision >= 0.99 and recall >= 0.97 for each
# checksum detector, and for birth dates in the records (stored as date-times, among timestamps).
set -euo pipefail

SRC=${REMPART_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${REMPART_BUILD_DIR:-$SRC/build}
REMPART=$BUILD/bin/rempart
if [ ! -x "$REMPART" ]; then
	echo "SKIP: $REMPART not built"
	exit 77
fi
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

python3 "$SRC/tests/corpus/gen_corpus.py" --docs 800 "$WORK/corpus"
"$REMPART" scan --json "$WORK"/corpus/doc_* > "$WORK/findings.jsonl"

python3 - "$WORK/corpus/labels.jsonl" "$WORK/findings.jsonl" <<'PY'
import json
import sys
from collections import defaultdict

CHECKSUM = ["fr_nir", "iban", "credit_card", "fr_rpps", "fr_finess", "us_npi", "us_dea", "us_ssn"]
labels = [json.loads(l) for l in open(sys.argv[1])]
findings = [json.loads(l) for l in open(sys.argv[2])]
by_key = defaultdict(list)
for lab in labels:
    by_key[(lab["file"], lab["detector"])].append(lab)

def overlaps(a, b):
    return a["offset"] < b["offset"] + b["length"] and b["offset"] < a["offset"] + a["length"]

for f in findings:
    assert set(f) == {"file", "detector", "offset", "length", "confidence", "masked"}, f
    assert 0.0 <= f["confidence"] <= 1.0, f

failed = False
print("%-12s %6s %6s %6s %9s %7s" % ("detector", "labels", "found", "fp", "precision", "recall"))
# Birth dates are labelled in the records only (prose has dates of every kind, unlabelled).
record_files = {l["file"] for l in labels if l["detector"] == "date_of_birth"}
for det in CHECKSUM + ["date_of_birth"]:
    labs = [l for l in labels if l["detector"] == det]
    fnd = [f for f in findings if f["detector"] == det and (det != "date_of_birth" or f["file"] in record_files)]
    tp_findings = [f for f in fnd if any(overlaps(f, l) for l in by_key[(f["file"], det)])]
    hit = set()
    for f in tp_findings:
        for i, l in enumerate(by_key[(f["file"], det)]):
            if overlaps(f, l):
                hit.add((f["file"], l["offset"]))
    precision = len(tp_findings) / len(fnd) if fnd else 1.0
    recall = len(hit) / len(labs) if labs else 1.0
    print("%-12s %6d %6d %6d %9.4f %7.4f" % (det, len(labs), len(fnd), len(fnd) - len(tp_findings), precision, recall))
    if not labs:
        print("  no labels for %s: the generator is broken" % det)
        failed = True
    if precision < 0.99 or recall < 0.97:
        failed = True
        for f in fnd:
            if f not in tp_findings:
                print("  FP", f)
        missed = [l for l in labs if (l["file"], l["offset"]) not in hit]
        for l in missed[:10]:
            print("  FN", l)
sys.exit(1 if failed else 0)
PY
