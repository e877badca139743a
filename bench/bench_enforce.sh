#!/usr/bin/env bash
# Enforcement figures, on loopback against a local TLS server:
#   - block: time from the offending write to the flow being dead (socket aborted), p50/p99;
#   - hold: added latency per clean write (1 KiB), p50/p99, against no agent and against the agent
#     in a non-hold mode (capture and detection only), and a 10 MiB upload (one write).
# Usage: bench/bench_enforce.sh BUILD_DIR   (as root)
# The policies are the shipped examples, scoped to a copy of python under a temporary directory
# so the benchmark never acts on other processes of this machine.
set -euo pipefail
BUILD=${1:?usage: bench_enforce.sh BUILD_DIR}
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=$BUILD/bin
PY=/usr/bin/python3
W=$(mktemp -d /tmp/rempart-bench-enforce.XXXXXX)
DPID= SPID=
cleanup() {
  local rc=$?
  if [[ -n "$DPID" ]]; then kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null || true; fi
  if [[ -n "$SPID" ]]; then kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null || true; fi
  rm -rf "$W"
  exit $rc
}
trap cleanup EXIT
if [[ $(id -u) -ne 0 ]]; then echo "bench_enforce: needs root (BPF)"; exit 0; fi

N_KILL=${N_KILL:-200} N_WRITES=${N_WRITES:-2000} N_UPLOADS=${N_UPLOADS:-5}
mkdir -p "$W/bin" "$W/rec"
cp "$(readlink -f "$PY")" "$W/bin/python3"
TPY=$W/bin/python3

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bench CA" -keyout "$W/ca.key" -out "$W/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$W/server.key" -out "$W/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$W/san.ext"
openssl x509 -req -in "$W/server.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial -days 2 \
  -extfile "$W/san.ext" -out "$W/server.pem" 2>/dev/null
"$PY" "$SRC/tests/integration/tls_server.py" --cert "$W/server.pem" --key "$W/server.key" \
  --record-dir "$W/rec" --port-file "$W/port" >/dev/null 2>&1 &
SPID=$!
for _ in $(seq 100); do [[ -s "$W/port" ]] && break; sleep 0.1; done
PORT=$(cat "$W/port")

scoped() { "$PY" - "$1" "$2" "$W" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1]))
for r in p["rules"]:
    r.setdefault("scope", {})["exe"] = [sys.argv[3] + "/*"]
json.dump(p, open(sys.argv[2], "w"))
PYEOF
}
scoped "$SRC/policies/examples/block.json" "$W/block.json"
scoped "$SRC/policies/examples/hold.json" "$W/hold.json"

start_daemon() {
  "$BIN/rempartd" --policy "$1" --alerts "$W/alerts.jsonl" --socket "$W/c.sock" --no-journal --quiet \
    >"$W/daemon.log" 2>&1 &
  DPID=$!
  for _ in $(seq 150); do "$BIN/rempart" --socket "$W/c.sock" status >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "rempartd did not start: $(tail -3 "$W/daemon.log")"; exit 1
}
stop_daemon() { kill "$DPID"; wait "$DPID" 2>/dev/null || true; DPID=; }
client() { "$TPY" "$SRC/bench/enforce_client.py" "$PORT" "$W/ca.pem" "$@"; }
# stats FILE: "p50 p99 n" over the numeric lines of FILE
stats() { grep -E '^[0-9.]+$' "$1" | sort -g | awk '{v[NR]=$1} END {if (!NR) {print "n/a n/a 0"; exit}
  i50=int(0.50*NR+0.999); i99=int(0.99*NR+0.999); if (i50<1) i50=1; if (i99<1) i99=1;
  printf "%.3f %.3f %d\n", v[i50], v[i99], NR}'; }

echo "bench_enforce: baseline" >&2
# 1. Baseline without the agent.
client write-latency "$N_WRITES" 1024 > "$W/lat.none"
client upload $((10 << 20)) "$N_UPLOADS" > "$W/up.none"

echo "bench_enforce: block" >&2
# 2. Block policy: capture + detection, no hold; and the time to kill a flow.
start_daemon "$W/block.json"
client write-latency "$N_WRITES" 1024 > "$W/lat.capture"
client upload $((10 << 20)) "$N_UPLOADS" > "$W/up.capture"
echo "bench_enforce: kill-time" >&2
client kill-time "$N_KILL" "dossier patient, NIR 2 95 10 99 126 111 93, fin" > "$W/kill.out"
not_aborted=$(grep -c -E 'NOT-ABORTED|TIMEOUT' "$W/kill.out" || true)
how=$("$PY" -c 'import json,sys; a=[json.loads(l) for l in open(sys.argv[1])]; print(len(a), a[-1]["rempart"]["enforcement"] if a else "")' "$W/alerts.jsonl")
stop_daemon

echo "bench_enforce: hold" >&2
# 3. Hold policy: every write of the python copy is held until scanned.
: > "$W/alerts.jsonl"
start_daemon "$W/hold.json"
client write-latency "$N_WRITES" 1024 > "$W/lat.hold"
client upload $((10 << 20)) "$N_UPLOADS" > "$W/up.hold"
"$BIN/rempart" --socket "$W/c.sock" status --json > "$W/status.json"
stop_daemon
holds=$("$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))["enforcement_counters"]; print(e["holds"], e["hold_stops"], e["hold_timeouts"])' "$W/status.json")

read -r k50 k99 kn < <(stats "$W/kill.out")
echo "== block: offending write -> flow dead (SOCK_DESTROY seen by the writer), ${kn} flows"
printf '  p50 %s ms   p99 %s ms   (not aborted: %s; alerts: %s)\n' "$k50" "$k99" "$not_aborted" "${how%% *}"
echo "  enforcement: ${how#* }"
echo "== latency of one clean 1 KiB TLS write (SSL_write call), ${N_WRITES} writes, us"
printf '  %-22s %10s %10s\n' "" p50 p99
for m in none capture hold; do
  read -r a b _ < <(stats "$W/lat.$m")
  printf '  %-22s %10s %10s\n' "$m" "$a" "$b"
done
read -r n50 n99 _ < <(stats "$W/lat.none"); read -r h50 h99 _ < <(stats "$W/lat.hold")
read -r c50 c99 _ < <(stats "$W/lat.capture")
awk -v a="$n50" -v b="$n99" -v c="$c50" -v d="$c99" -v e="$h50" -v f="$h99" 'BEGIN {
  printf "  added by hold vs no agent:      p50 %+.1f us  p99 %+.1f us\n", e-a, f-b;
  printf "  added by hold vs capture only:  p50 %+.1f us  p99 %+.1f us\n", e-c, f-d }'
echo "== 10 MiB upload, one write + answer, ${N_UPLOADS} runs, ms"
for m in none capture hold; do
  read -r a b _ < <(stats "$W/up.$m")
  printf '  %-22s p50 %10s   max %10s\n' "$m" "$a" "$b"
done
echo "  hold counters (holds, hold_stops, timeouts): $holds"
others=$( (pgrep -x rempartd || true) | wc -l)
[[ $others -eq 0 ]] || echo "NOTE: $others other rempartd process(es) ran on this machine: their hooks add to these figures"
