#!/usr/bin/env bash
# TLS code that appears after the agent started is hooked without restarting it: a copy of
# libssl in a directory of its own (a bundled library), and a copy of node (OpenSSL embedded in the
# executable), each a new inode the agent never saw at start-up.
source "$(dirname "$0")/lib.sh"
require_root
make_certs
start_server srv; PORT=$SERVER_PORT
ALERT_PORT=$PORT
start_daemon "$SRC/policies/default.json"
NIR="2 95 10 99 126 111 93"

# A bundled libssl, loaded through LD_LIBRARY_PATH by a program started after the agent.
mkdir -p "$T/bundle"
cp "$(readlink -f /usr/lib/x86_64-linux-gnu/libssl.so.3 2>/dev/null || readlink -f /lib/*/libssl.so.3)" "$T/bundle/libssl.so.3"
LD_LIBRARY_PATH="$T/bundle" "$PY" - "$PORT" "$T/ca.pem" "$NIR" <<'PYEOF'
import ssl, sys, time, urllib.request
time.sleep(1.0)  # the user types: the agent sees the library mapped in the meantime
ctx = ssl.create_default_context(cafile=sys.argv[2])
urllib.request.urlopen(urllib.request.Request(f"https://127.0.0.1:{sys.argv[1]}/late", data=("NIR " + sys.argv[3]).encode()), context=ctx).read()
PYEOF
wait_alerts 1 || fail "no alert from a libssl copy loaded after start ($(grep -c bundle "$T/daemon.log" || true))"
"$BIN/rempart" --socket "$SOCK" status | grep -q "$T/bundle/libssl.so.3:SSL_write" || fail "bundled libssl not among the probes"
log "bundled libssl hooked after start"

# A node executable copied after start: OpenSSL's SSL_write is exported by the executable itself.
mkdir -p "$T/bin"
cp "$(readlink -f "$(command -v node)")" "$T/bin/node-copy"
NODE_EXTRA_CA_CERTS="$T/ca.pem" "$T/bin/node-copy" -e '
setTimeout(() => {
  const req = require("https").request({host: "127.0.0.1", port: +process.argv[1], method: "POST", path: "/late"},
    (res) => { res.resume(); });
  req.end("NIR: " + process.argv[2]);
}, 1000);' "$PORT" "$NIR"
wait_alerts 2 || fail "no alert from a node copy started after the agent"
[[ $(alerts_query "alerts[1]['actor']['process']['file']['path']") == "$T/bin/node-copy" ]] \
  || fail "alert does not name the node copy: $(alerts_query "alerts[1]['actor']['process']")"
log "embedded OpenSSL in a new executable hooked at exec"
assert_no_leak "$NIR"
log "PASS"
