#!/usr/bin/env bash
# Go programs carry their own TLS (crypto/tls): a Go HTTPS client, built here with the system's Go,
# posts a NIR and must produce an alert naming it, its capture source "go" and its destination.
# The same program stripped of its ELF symbols is found in Go's own function table. An audit rule
# reports TLS that cannot be read: the hooked programs' own handshakes must not show up there.
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

default_policy_with "$T/policy.json" 'p["rules"].append({"id": "audit-unreadable-tls", "uninspected_tls": True, "action": "audit"})'
start_daemon "$T/policy.json"
ALERT_PORT=$PORT
NIR="2 95 10 99 126 111 93"

# seen COMM DETECTOR: alerts about PORT from COMM with that detector, as (source, detector) pairs.
seen() { alerts_query "[(a['rempart']['flow']['source'], a['rempart']['detector']) for a in alerts if a['actor']['process']['name'] == '$1' and a['rempart']['detector'] == '$2']"; }
wait_seen() { for _ in $(seq 100); do [[ $(seen "$1" "$2") != "[]" ]] && return 0; sleep 0.1; done; return 1; }

# A program that embeds its TLS is hooked when it is first seen (here: at its exec). Run it until
# its probes are in place, then for real.
"$T/bin/gopost" "https://localhost:$PORT/warmup" "$T/ca.pem" "hello" >/dev/null || fail "gopost could not post"
for _ in $(seq 50); do "$BIN/rempart" --socket "$SOCK" status | grep -q "gopost:crypto/tls.(\*Conn).Write" && break; sleep 0.1; done
"$BIN/rempart" --socket "$SOCK" status | grep -q "gopost:crypto/tls.(\*Conn).Write" || fail "no probe on the Go program"

# (The warm-up run may have been reported as unreadable TLS: it could start before its probes.)
unread_before=$(seen gopost uninspected_tls)
"$T/bin/gopost" "https://localhost:$PORT/submit" "$T/ca.pem" "Patient NIR: $NIR" >/dev/null || fail "gopost could not post"
wait_seen gopost fr_nir || fail "no alert from the Go program: $(alerts_query "[(a['actor']['process']['name'], a['rempart']['detector']) for a in alerts]")"
[[ $(seen gopost fr_nir) == *"('go', 'fr_nir')"* ]] || fail "the Go alert is not from the go source: $(seen gopost fr_nir)"
grep -q "NIR: $NIR" "$T"/srv/conn-*.bin || fail "the server did not receive the post"
[[ $(seen gopost uninspected_tls) == "$unread_before" ]] || fail "the hooked Go program was reported as unreadable: $(seen gopost uninspected_tls)"
log "Go crypto/tls: alert from source go, its own handshake not taken for an unreadable one"

# Stripped of its symbols (-ldflags=-s, as release builds often are) and position-independent (as
# distributions build them): found in Go's own function table, hooked the same.
"$T/bin/gopost-strip" "https://localhost:$PORT/warmup" "$T/ca.pem" "hello" >/dev/null || fail "gopost-strip could not post"
for _ in $(seq 50); do "$BIN/rempart" --socket "$SOCK" status | grep -q "gopost-strip:crypto/tls.(\*Conn).Write" && break; sleep 0.1; done
"$BIN/rempart" --socket "$SOCK" status | grep -q "gopost-strip:crypto/tls.(\*Conn).Write" || fail "no probe on the stripped Go program"
unread_before=$(seen gopost-strip uninspected_tls)
"$T/bin/gopost-strip" "https://localhost:$PORT/submit" "$T/ca.pem" "Patient NIR: $NIR" >/dev/null || fail "gopost-strip could not post"
wait_seen gopost-strip fr_nir || fail "no alert from the stripped Go program"
[[ $(seen gopost-strip uninspected_tls) == "$unread_before" ]] || fail "the stripped Go program was reported as unreadable"
[[ $(seen gopost-strip fr_nir) == *"('go', 'fr_nir')"* ]] || fail "the stripped Go alert is not from the go source"
log "stripped Go program: hooked through its function table, alert"
assert_no_leak "$NIR" "295109912611193"
log "PASS"
