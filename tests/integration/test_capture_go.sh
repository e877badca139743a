#!/usr/bin/env bash
# Go programs carry their own TLS (crypto/tls): a Go HTTPS client, built here with the system's Go,
# posts a NIR and must produce an alert naming it, its capture source "go" and its destination.
# The same program stripped of its ELF symbols is found in Go's own function table. A copy
# installed under /opt before the agent starts is hooked at start-up: its very first run is read.
# An audit rule reports TLS that cannot be read: the hooked programs' own handshakes must not
# show up there.
source "$(dirname "$0")/lib.sh"
require_root
command -v go >/dev/null || fail "no Go toolchain (scripts/deps.sh test installs golang-go)"
make_certs
start_server srv; PORT=$SERVER_PORT

# Built offline from the standard library only; its own cache, nothing left behind.
export GOCACHE=$T/go-cache GOPATH=$T/go GO111MODULE=off GOFLAGS=
mkdir -p "$T/bin"
go build -o "$T/bin/gopost" "$SRC/tests/integration/go/https_post.go" || fail "go build failed"
go build -buildmode=pie -ldflags="-s -w" -o "$T/bin/gopost-strip" "$SRC/tests/integration/go/https_post.go" || fail "go build (stripped) failed"
log "built with $(go version | awk '{print $3}')"
# Installed before the agent starts, never run: a fresh file (own inode) in a vendor directory.
OPT=$(mktemp -d /opt/rempart-test.XXXXXX)
CLEANUP_PATHS+=("$OPT")
mkdir -p "$OPT/app/bin"
cp "$T/bin/gopost" "$OPT/app/bin/gopost-opt"

default_policy_with "$T/policy.json" 'p["rules"].append({"id": "audit-unreadable-tls", "uninspected_tls": True, "action": "audit"})'
start_daemon "$T/policy.json"
ALERT_PORT=$PORT
NIR="2 95 10 99 126 111 93"

# seen COMM DETECTOR: alerts about PORT from COMM with that detector, as (source, detector) pairs.
seen() { alerts_query "[(a['rempart']['flow']['source'], a['rempart']['detector']) for a in alerts if a['actor']['process']['name'] == '$1' and a['rempart']['detector'] == '$2']"; }
wait_seen() { for _ in $(seq 100); do [[ $(seen "$1" "$2") != "[]" ]] && return 0; sleep 0.1; done; return 1; }

# post_hooked NAME: a program that embeds its TLS is hooked when it is first seen (here: at its
# exec), so its first run may start before its probes: run it once, until its probes are in place,
# then for real: an alert from the go source. Neither run's handshake may be reported as
# unreadable TLS (the first one's hello, written before the probes, is known to be its library's).
post_hooked() {
  local name=$1 probe="$1:crypto/tls.(\*Conn).Write"
  "$T/bin/$name" "https://localhost:$PORT/warmup" "$T/ca.pem" "hello" >/dev/null || fail "$name could not post"
  for _ in $(seq 50); do status_has "$probe" && break; sleep 0.1; done
  status_has "$probe" || fail "no probe on $name"
  "$T/bin/$name" "https://localhost:$PORT/submit" "$T/ca.pem" "Patient NIR: $NIR from $name" >/dev/null || fail "$name could not post"
  grep -q "NIR: $NIR from $name" "$T"/srv/conn-*.bin || fail "the server did not receive $name's post"
  wait_seen "$name" fr_nir || fail "no alert from $name: $(alerts_query "[(a['actor']['process']['name'], a['rempart']['detector']) for a in alerts]")"
  [[ $(seen "$name" fr_nir) == *"('go', 'fr_nir')"* ]] || fail "$name's alert is not from the go source: $(seen "$name" fr_nir)"
  [[ $(seen "$name" uninspected_tls) == "[]" ]] || fail "$name was reported as unreadable: $(seen "$name" uninspected_tls)"
}

# The installed program: examined after start-up (status says when all are), hooked before its
# first run, which is read from its first byte (no warm-up run).
for _ in $(seq 300); do
  status_has "installed programs: .* examined for embedded TLS$" && break
  sleep 0.1
done
status_has "installed programs: .* examined for embedded TLS$" ||
  fail "installed programs still being examined after 30 s: $("$BIN/rempart" --socket "$SOCK" status | grep installed)"
status_has -F "$OPT/app/bin/gopost-opt:crypto/tls.(*Conn).Write" ||
  fail "the installed Go program was not hooked at start-up: $("$BIN/rempart" --socket "$SOCK" status | grep -E "installed|gopost|probes:" | tr '\n' ' ')"
"$OPT/app/bin/gopost-opt" "https://localhost:$PORT/submit" "$T/ca.pem" "Patient NIR: $NIR from gopost-opt" >/dev/null ||
  fail "gopost-opt could not post"
wait_seen gopost-opt fr_nir || fail "no alert from the first run of an installed Go program"
[[ $(seen gopost-opt fr_nir) == *"('go', 'fr_nir')"* ]] || fail "gopost-opt's alert is not from the go source: $(seen gopost-opt fr_nir)"
[[ $(seen gopost-opt uninspected_tls) == "[]" ]] || fail "gopost-opt was reported as unreadable"
log "installed Go program: hooked at start-up, its first run read"

post_hooked gopost
log "Go crypto/tls: alert from source go, its own handshake not taken for an unreadable one"
# Stripped of its symbols (-ldflags=-s, as release builds often are) and position-independent (as
# distributions build them): found in Go's own function table, hooked the same.
post_hooked gopost-strip
log "stripped PIE Go program: hooked through its function table, alert"
assert_no_leak "$NIR" "295109912611193"
log "PASS"
