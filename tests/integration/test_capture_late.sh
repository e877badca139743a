#!/usr/bin/env bash
# TLS code installed before the agent starts but never run is hooked in the seconds after start,
# before it runs: a node copy (OpenSSL embedded in the executable) and an NSPR library bundled
# with an application, both under /opt; the node copy's very first run alerts. Replaced on disk
# (an upgrade), its new copy is hooked at exec, and the old copy's probes, which keep the old file
# on disk, are detached once no process runs it any more.
# TLS code that appears after the agent started is hooked without restarting it: a copy of
# libssl in a directory of its own (a bundled library), and a copy of node (OpenSSL embedded in the
# executable), each a new inode the agent never saw at start-up; and a libssl copy loaded by
# dlopen long after its process started, told by the dynamic loader.
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

# A libssl copy loaded by dlopen 9 s after its process started, past the agent's scheduled looks
# at a new process (0.25, 1.75 and 7.75 s after exec): the dynamic loader's probe tells the agent.
# Named as a Python wheel bundles it (auditwheel adds a hash to the name).
# The program waits for the probes before it connects (a test must not race), and how long they
# took is logged.
mkdir -p "$T/dl"
cp "$T/bundle/libssl.so.3" "$T/dl/libssl-5f3a9c1e.so.3"
"$PY" - "$PORT" "$NIR" "$T/dl/libssl-5f3a9c1e.so.3" "$T/dl/loaded" "$T/dl/go" <<'PYEOF' &
import ctypes, os, socket, sys, time
port, nir, lib, loaded, go = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
time.sleep(9.0)
ssl = ctypes.CDLL(lib)
open(loaded, "w").close()
for _ in range(200):
    if os.path.exists(go):
        break
    time.sleep(0.05)
vp = ctypes.c_void_p
for name, res, args in [("TLS_client_method", vp, []), ("SSL_CTX_new", vp, [vp]), ("SSL_new", vp, [vp]),
                        ("SSL_set_fd", ctypes.c_int, [vp, ctypes.c_int]), ("SSL_connect", ctypes.c_int, [vp]),
                        ("SSL_write", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_int]),
                        ("SSL_read", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_int]),
                        ("SSL_free", None, [vp]), ("SSL_CTX_free", None, [vp])]:
    getattr(ssl, name).restype, getattr(ssl, name).argtypes = res, args
ctx = ssl.SSL_CTX_new(ssl.TLS_client_method())
with socket.create_connection(("127.0.0.1", port)) as s:
    h = ssl.SSL_new(ctx)
    ssl.SSL_set_fd(h, s.fileno())
    assert ssl.SSL_connect(h) == 1, "handshake failed"
    body = ("NIR " + nir).encode()
    req = b"POST /dlopen HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
    assert ssl.SSL_write(h, req, len(req)) == len(req), "SSL_write failed"
    ssl.SSL_read(h, ctypes.create_string_buffer(4096), 4096)
    ssl.SSL_free(h)
ssl.SSL_CTX_free(ctx)
PYEOF
DL_PID=$!; PIDS+=("$DL_PID")
for _ in $(seq 150); do [[ -e "$T/dl/loaded" ]] && break; sleep 0.1; done
[[ -e "$T/dl/loaded" ]] || fail "the dlopen client did not load its library"
t0=$(date +%s%N)
for _ in $(seq 100); do status_has -F "$T/dl/libssl-5f3a9c1e.so.3:SSL_write" && break; sleep 0.02; done
status_has -F "$T/dl/libssl-5f3a9c1e.so.3:SSL_write" || fail "a libssl copy loaded by dlopen 9 s after start was not hooked"
log "libssl loaded by dlopen 9 s after its process started: probes in within $(( ($(date +%s%N) - t0) / 1000000 )) ms"
touch "$T/dl/go"
wait "$DL_PID" || fail "the dlopen client failed"
wait_alerts 4 || fail "no alert from the libssl copy loaded by dlopen"
[[ $(alerts_query "[(a['actor']['process']['name'], a['rempart']['flow']['source']) for a in alerts if a['rempart']['detector'] == 'fr_nir'][-1]") == "('python3', 'openssl')" ]] \
  || fail "the dlopen alert does not name python3 and openssl: $(alerts_query "[a['actor']['process']['name'] for a in alerts]")"

# A program in another mount namespace (a container, a Flatpak or snap application; the service's
# own private /tmp too) maps a libssl at a path that, from the agent, holds nothing: a tmpfs
# mounted in its namespace only. Found through the process's root.
mkdir -p "$T/nsmnt"
# It stays until the probes are checked: once it is gone, its file is no longer at any path the
# agent can reach and is mapped by no process, and its probes are released (checked every 300 ms
# here).
unshare --mount --propagation private -- bash -c 'mount -t tmpfs rempart-test "$1" && cp "$2" "$1/libssl.so.3" &&
  LD_LIBRARY_PATH="$1" exec "$3" - "$4" "$5" "$6" "$7"' _ "$T/nsmnt" "$T/bundle/libssl.so.3" "$PY" "$PORT" "$T/ca.pem" "$NIR" "$T/ns.done" <<'PYEOF' &
import os, ssl, sys, time, urllib.request
time.sleep(1.0)
ctx = ssl.create_default_context(cafile=sys.argv[2])
urllib.request.urlopen(urllib.request.Request(f"https://127.0.0.1:{sys.argv[1]}/ns", data=("NIR " + sys.argv[3]).encode()), context=ctx).read()
for _ in range(200):
    if os.path.exists(sys.argv[4]):
        break
    time.sleep(0.05)
PYEOF
NS_PID=$!; PIDS+=("$NS_PID")
wait_alerts 5 || fail "no alert from a libssl only its own mount namespace sees"
[[ ! -e "$T/nsmnt/libssl.so.3" ]] || fail "the namespace's tmpfs is visible here: the test proves nothing"
status_has -E "^  /proc/[0-9]+/root$T/nsmnt/libssl.so.3:SSL_write$" || fail "the namespace's libssl is not among the probes"
touch "$T/ns.done"
wait "$NS_PID" || fail "the program in its own mount namespace failed"
log "libssl in another mount namespace hooked through the process's root"

# A node executable copied after start: OpenSSL's SSL_write is exported by the executable itself.
mkdir -p "$T/bin"
cp "$(readlink -f "$(command -v node)")" "$T/bin/node-copy"
node_post_later "$T/bin/node-copy" /late
wait_alerts 6 || fail "no alert from a node copy started after the agent"
[[ $(alerts_query "alerts[5]['actor']['process']['file']['path']") == "$T/bin/node-copy" ]] \
  || fail "alert does not name the node copy: $(alerts_query "alerts[5]['actor']['process']")"
log "embedded OpenSSL in a new executable hooked at exec"
assert_no_leak "$NIR"
log "PASS"
