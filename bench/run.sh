#!/usr/bin/env bash
# Run every benchmark: bench_* binaries that run on their own, then bench_*.sh scripts that drive
# the agent. Usage: bench/run.sh BUILD_DIR
set -uo pipefail
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
rc=0
for b in "$BUILD"/bin/bench_*; do
  [[ -x "$b" ]] || continue
  case "$(basename "$b")" in bench_tls_writes) continue ;; esac # a tool of bench_capture.sh
  echo "### $(basename "$b")"
  "$b" || rc=1
done
for s in "$HERE"/bench_*.sh; do
  echo "### $(basename "$s")"
  bash "$s" "$BUILD" || rc=1
done
exit $rc
