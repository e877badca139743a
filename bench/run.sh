#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Run every benchmark that was built: bench/run.sh BUILD_DIR
set -euo pipefail
BUILD=${1:-build}
found=0
for b in "$BUILD"/bin/bench_*; do
	[ -x "$b" ] || continue
	found=1
	echo "== $(basename "$b")"
	"$b"
	echo
done
if [ "$found" = 0 ]; then
	echo "no bench_* in $BUILD/bin: build first" >&2
	exit 1
fi
