#!/usr/bin/env bash
# Bad input to the daemon and the CLI: a one-line error naming the problem, a non-zero exit, no crash.
source "$(dirname "$0")/lib.sh"

expect_error() { # expect_error EXPECTED_SUBSTRING CMD...
  local want=$1; shift
  local rc=0
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  [[ $rc -ne 0 ]] || fail "'$*' succeeded"
  [[ $rc -lt 128 ]] || fail "'$*' crashed (exit $rc)"
  grep -qi -- "$want" "$T/err" || fail "'$*': stderr lacks '$want': $(cat "$T/err")"
}

expect_error "No such file" "$BIN/rempartd" --policy "$T/missing.json" --alerts "$T/a" --socket "$T/s"
echo '{"not": "closed"' > "$T/broken.json"
expect_error "broken.json" "$BIN/rempartd" --policy "$T/broken.json" --alerts "$T/a" --socket "$T/s"
touch "$T/unreadable.json"; chmod 000 "$T/unreadable.json"
if [[ $(id -u) -ne 0 ]]; then
  expect_error "unreadable.json" "$BIN/rempartd" --policy "$T/unreadable.json" --alerts "$T/a" --socket "$T/s"
fi
expect_error "unrecognized option" "$BIN/rempartd" --bogus
expect_error "unexpected argument" "$BIN/rempartd" extra
expect_error "power of two" "$BIN/rempartd" --ringbuf-mb 3
expect_error "cannot reach rempartd" "$BIN/rempart" --socket "$T/nope.sock" status
expect_error "unknown command" "$BIN/rempart" frobnicate
grep -q -- "--policy" <<<"$("$BIN/rempartd" --help)" || fail "rempartd --help lacks --policy"
grep -q "status" <<<"$("$BIN/rempart" --help)" || fail "rempart --help lacks status"

# Without privileges: a clear message, not a crash.
if id nobody >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
  cp "$SRC/policies/default.json" "$T/p.json"; chmod 755 "$T"; chmod 644 "$T/p.json"
  expect_error "must run as root" setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$BIN/rempartd" --policy "$T/p.json" --alerts /dev/null --socket "$T/s"
fi
log "PASS"
