#!/usr/bin/env bash
# TLS code installed before the agent starts but never run is hooked in the seconds after start,
# before it runs: a node copy (OpenSSL embedded in the executable) and an NSPR library bundled
# with an application, both under /opt; the node copy's very first run alerts. Replaced on disk
# (an upgrade), its new copy is hooked at exec, and the old copy's probes, which keep the old file
# on disk, are detached once no process runs it any more.
# TLS code that appears after the agent started is hooked without restarting it: a copy of
# libssl in a directory of its own (a bundled library), and a copy of node (OpenSSL embedded in the
# executable), each a new inode the agent never saw at start-up.
source "$(dirname "$0")/lib.sh"
require_root
make_certs
start_server srv; PORT=$SERVER_PORT
ALERT_PORT=$PORT
NIR="2 95 10 99 126 111 93"

# node_post_later NODE PATH: a node executable posts the NIR after a second (the user types: a new
# executable is hooked at its exec, the second leaves time for that).
node_post_later() {
  NODE_EXTRA_CA_CERTS="$T/ca.pem" "$1" -e '
setTimeout(() => {
  const req = require("https").request({host: "127.0.0.1", port: +process.argv[1], method: "POST", path: process.argv[3]},
    (res) => { res.resume(); });
  req.end("NIR: " + process.argv[2]);
}, 1000);' "$PORT" "$NIR" "$2"
}

export REMPART_RELEASE_CHECK_MS=300 # how often replaced files are looked for (default: a minute)
OPT=$(mktemp -d /opt/rempart-test.XXXXXX)
CLEANUP_PATHS+=("$OPT")
mkdir -p "$OPT/app/bin" "$OPT/mail"
cp "$(readlink -f "$(command -v node)")" "$OPT/app/bin/node-opt"
cp "$(readlink -f /usr/lib/x86_64-linux-gnu/libnspr4.so 2>/dev/null || readlink -f /lib/*/libnspr4.so)" "$OPT/mail/libnspr4.so"
start_daemon "$SRC/policies/default.json"
for _ in $(seq 300); do status_has "installed programs: .* examined for embedded TLS$" && break; sleep 0.1; done
status_has "installed programs: .* examined for embedded TLS$" || fail "installed programs still being examined after 30 s"
status_has -F "$OPT/app/bin/node-opt:SSL_write" || fail "the installed node copy was not hooked before its first run"
status_has -F "$OPT/mail/libnspr4.so:PR_Write" || fail "the NSPR library bundled under /opt was not hooked"
NODE_EXTRA_CA_CERTS="$T/ca.pem" "$OPT/app/bin/node-opt" -e '
const req = require("https").request({host: "127.0.0.1", port: +process.argv[1], method: "POST", path: "/first"},
  (res) => { res.resume(); });
req.end("NIR: " + process.argv[2]);' "$PORT" "$NIR"
wait_alerts 1 || fail "no alert from the first run of an installed node copy"
[[ $(alerts_query "alerts[0]['actor']['process']['file']['path']") == "$OPT/app/bin/node-opt" ]] \
  || fail "alert does not name the installed node copy: $(alerts_query "alerts[0]['actor']['process']")"
log "installed before start, never run: hooked after start, first run read"

# An upgrade replaces it while a process still runs the old copy.
probes_of_node_opt() {
  local out; out=$("$BIN/rempart" --socket "$SOCK" status 2>&1) || true
  grep -cxF "  $OPT/app/bin/node-opt:SSL_write" <<<"$out" || true
}
"$OPT/app/bin/node-opt" -e 'setTimeout(() => {}, 30000)' &
OLD=$!; PIDS+=("$OLD")
sleep 0.5
cp "$OPT/app/bin/node-opt" "$OPT/app/bin/node-opt.new"
mv -f "$OPT/app/bin/node-opt.new" "$OPT/app/bin/node-opt"
node_post_later "$OPT/app/bin/node-opt" /upgraded
wait_alerts 2 || fail "no alert from the replaced node copy"
[[ $(probes_of_node_opt) -eq 2 ]] || fail "expected the old and the new copy hooked, got $(probes_of_node_opt) SSL_write probes"
sleep 1.5 # several release checks
[[ $(probes_of_node_opt) -eq 2 ]] || fail "the probes of a copy still running were detached"
kill "$OLD"; wait "$OLD" 2>/dev/null || true
for _ in $(seq 50); do [[ $(probes_of_node_opt) -eq 1 ]] && break; sleep 0.1; done
[[ $(probes_of_node_opt) -eq 1 ]] || fail "the old copy's probes were not detached once it stopped running"
status_has "hooked files replaced on disk and no longer run: 1 " || fail "status does not count the released copy"
log "replaced on disk: new copy hooked, old copy's probes kept while it ran, then detached"

# A bundled libssl, loaded through LD_LIBRARY_PATH by a program started after the agent.
mkdir -p "$T/bundle"
cp "$(readlink -f /usr/lib/x86_64-linux-gnu/libssl.so.3 2>/dev/null || readlink -f /lib/*/libssl.so.3)" "$T/bundle/libssl.so.3"
LD_LIBRARY_PATH="$T/bundle" "$PY" - "$PORT" "$T/ca.pem" "$NIR" <<'PYEOF'
import ssl, sys, time, urllib.request
time.sleep(1.0)  # the user types: the agent sees the library mapped in the meantime
ctx = ssl.create_default_context(cafile=sys.argv[2])
urllib.request.urlopen(urllib.request.Request(f"https://127.0.0.1:{sys.argv[1]}/late", data=("NIR " + sys.argv[3]).encode()), context=ctx).read()
PYEOF
wait_alerts 3 || fail "no alert from a libssl copy loaded after start ($(grep -c bundle "$T/daemon.log" || true))"
status_has -F "$T/bundle/libssl.so.3:SSL_write" || fail "bundled libssl not among the probes"
log "bundled libssl hooked after start"

# A node executable copied after start: OpenSSL's SSL_write is exported by the executable itself.
mkdir -p "$T/bin"
cp "$(readlink -f "$(command -v node)")" "$T/bin/node-copy"
node_post_later "$T/bin/node-copy" /late
wait_alerts 4 || fail "no alert from a node copy started after the agent"
[[ $(alerts_query "alerts[3]['actor']['process']['file']['path']") == "$T/bin/node-copy" ]] \
  || fail "alert does not name the node copy: $(alerts_query "alerts[3]['actor']['process']")"
log "embedded OpenSSL in a new executable hooked at exec"
assert_no_leak "$NIR"
log "PASS"
