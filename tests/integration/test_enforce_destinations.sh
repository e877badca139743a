#!/usr/bin/env bash
# Connect-time destination control: denied addresses/CIDRs (IPv4, IPv6, catalogue entries) make
# connect() fail with EPERM; UDP/443 (QUIC) is refused to processes named like a browser so they
# fall back to TLS over TCP, where Rempart sees the plaintext; everything else is untouched.
source "$(dirname "$0")/lib.sh"
require_root
source "$(dirname "$0")/enforce_lib.sh"
make_certs
start_server srv --host 127.0.0.4 >/dev/null; PORT=$(cat "$T/srv.port") # not in $(...): the server pid must reach PIDS
cp "$TPY" "$T/bin/firefox-esr"

# Only documentation/unused ranges and spare loopback addresses: never anything others use.
scoped_policy "$SRC/policies/examples/block.json" "$T/deny.json" '{
  "destinations": [{"name": "test-paste", "category": "paste", "addresses": ["127.0.0.6/32"]}],
  "enforcement": {"deny": ["127.0.0.2/31", "2001:db8::/32"], "deny_destinations": ["test-paste"],
                  "block_quic": true, "quic_comm": ["firefox-esr", "chromium"]}}'
start_daemon "$T/deny.json"

probe() { # probe PROGRAM KIND ADDR PORT -> prints OK or the errno name
  "$1" - "$2" "$3" "$4" <<'PYEOF'
import errno, socket, sys
kind, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
try:
    if kind == "tcp":
        s = socket.socket(fam, socket.SOCK_STREAM); s.settimeout(2); s.connect((addr, port))
    elif kind == "udp-connect":
        s = socket.socket(fam, socket.SOCK_DGRAM); s.connect((addr, port)); s.send(b"\xc0quic")
    else:
        s = socket.socket(fam, socket.SOCK_DGRAM); s.sendto(b"\xc0quic", (addr, port))
    print("OK")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
PYEOF
}
expect() { # expect WANT PROGRAM KIND ADDR PORT
  local got; got=$(probe "$2" "$3" "$4" "$5")
  [[ $got == "$1" ]] || fail "$(basename "$2") $3 to $4:$5: expected $1, got $got"
  log "$(basename "$2") $3 $4:$5 -> $got"
}

expect EPERM "$TPY" tcp 127.0.0.2 "$PORT"
expect EPERM "$TPY" tcp 127.0.0.3 "$PORT"
expect EPERM "$TPY" tcp 127.0.0.6 "$PORT"       # catalogue destination
expect OK "$TPY" tcp 127.0.0.4 "$PORT"          # allowed: the server is there
expect EPERM "$TPY" tcp 2001:db8::1 443
got=$(probe "$TPY" tcp 2001:db9::1 443)
[[ $got != EPERM ]] || fail "2001:db9::1 is not denied but connect() got EPERM"
expect EPERM "$TPY" udp-sendto 127.0.0.2 53     # denied destinations apply to UDP too

# QUIC: the browser-named copy is refused UDP/443, connected or not, v4 and v6; the same binary
# under another name is not; the browser keeps other UDP ports and TCP/443.
expect EPERM "$T/bin/firefox-esr" udp-sendto 127.0.0.1 443
expect EPERM "$T/bin/firefox-esr" udp-connect 127.0.0.1 443
expect EPERM "$T/bin/firefox-esr" udp-sendto ::1 443
expect OK "$TPY" udp-sendto 127.0.0.1 443
expect OK "$T/bin/firefox-esr" udp-sendto 127.0.0.1 4433
expect OK "$T/bin/firefox-esr" tcp 127.0.0.4 "$PORT"

# A reload that drops the denial lifts it.
scoped_policy "$SRC/policies/examples/block.json" "$T/deny.json" '{"enforcement": {"block_quic": false}}'
"$BIN/rempart" --socket "$SOCK" reload >/dev/null || fail "reload failed"
expect OK "$TPY" tcp 127.0.0.4 "$PORT"
got=$(probe "$TPY" tcp 127.0.0.2 "$PORT")
[[ $got != EPERM ]] || fail "127.0.0.2 still denied after reload"
expect OK "$T/bin/firefox-esr" udp-sendto 127.0.0.1 443
stop_daemon || fail "rempartd did not exit cleanly"
# Nothing stays attached once rempartd is gone.
got=$(probe "$T/bin/firefox-esr" udp-sendto 127.0.0.1 443)
[[ $got == OK ]] || fail "QUIC still refused after rempartd exited"
log "PASS"
