#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `rempart policy`: check on the shipped and the malformed policies, sign/verify/accept with real
# Ed25519 keys (tampering, wrong key, replay refused), and an HTTPS pull with ETag/304 from a local
# TLS server with a throw-away CA. No root needed.
source "$(dirname "$0")/lib.sh"

R="$BIN/rempart"
[[ -x "$R" ]] || fail "no $R"

# expect_rc RC CMD...: run, keep stdout/stderr in $T/out $T/err, check the exit status.
expect_rc() {
  local want=$1 rc=0; shift
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  [[ $rc -eq $want ]] || fail "exit $rc (want $want): $* -- stderr: $(head -c 600 "$T/err")"
}
err_has() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(head -c 600 "$T/err")"; }
out_has() { grep -qF -- "$1" "$T/out" || fail "stdout lacks '$1': $(head -c 600 "$T/out")"; }

# --- check: shipped policies
for f in "$SRC/policies/default.json" "$SRC"/policies/examples/*.json; do
  expect_rc 0 "$R" policy check "$f"
  grep -Eq '^OK [^ ]+ [0-9]+ [0-9a-f]{64}$' "$T/out" || fail "bad OK line for $f: $(cat "$T/out")"
  [[ $(awk '{print $4}' "$T/out") == $(sha256sum < "$f" | cut -d' ' -f1) ]] || fail "sha256 mismatch for $f"
done
log "shipped policies OK"

# --- check: every malformed fixture is refused with its expected messages on stderr
n=0
for f in "$SRC"/tests/policies/malformed/*.json; do
  expect_rc 1 "$R" policy check "$f"
  [[ -s "$T/out" ]] && fail "$f: something on stdout: $(cat "$T/out")"
  while IFS= read -r line; do err_has "$line"; done < "${f%.json}.expect"
  # Every diagnostic line names the file first.
  if grep -vqF -- "$f: " "$T/err"; then fail "$f: a diagnostic line without the file name"; fi
  n=$((n + 1))
done
[[ $n -ge 30 ]] || fail "only $n malformed fixtures"
log "$n malformed policies refused with the expected messages"

# Several files: one bad makes the whole run fail, the good one is still reported.
expect_rc 1 "$R" policy check "$SRC/policies/default.json" "$SRC/tests/policies/malformed/action-typo.json"
out_has "OK rempart-default"
err_has 'rules[0].action: "blok" is not one of audit, alert, block, kill, hold'

# Generated: 100 MB (sparse) and invalid UTF-8.
truncate -s 100M "$T/huge.json"
expect_rc 1 "$R" policy check "$T/huge.json"
err_has "larger than the 16777216-byte limit"
printf '{"schema_version": 1, "name": "caf\xe9", "serial": 1, "rules": []}\n' > "$T/latin1.json"
expect_rc 1 "$R" policy check "$T/latin1.json"
err_has "line 1, column 35 (byte 34): invalid UTF-8"
expect_rc 1 "$R" policy check "$T/does-not-exist.json"
err_has "cannot read: No such file or directory"

# policies/schema.json (JSON Schema 2020-12) agrees on the shipped policies and refuses most
# fixtures (the rest need cross-references or compilation, beyond what a schema can say).
SCHEMA_PY=
for py in "$PY" python3; do
  if command -v "$py" >/dev/null && "$py" -c 'import jsonschema' 2>/dev/null; then SCHEMA_PY=$py; break; fi
done
if [[ -n "$SCHEMA_PY" ]]; then
  "$SCHEMA_PY" - "$SRC" <<'PYEOF' || fail "schema.json disagrees with the loader"
import glob, json, sys, jsonschema
src = sys.argv[1]
schema = json.load(open(src + "/policies/schema.json"))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for f in [src + "/policies/default.json"] + glob.glob(src + "/policies/examples/*.json"):
    errs = [e.message for e in v.iter_errors(json.load(open(f)))]
    if errs:
        sys.exit(f"{f}: schema refuses a shipped policy: {errs[:3]}")
refused = 0
for f in glob.glob(src + "/tests/policies/malformed/*.json"):
    try:
        doc = json.load(open(f))
    except ValueError:
        continue
    refused += any(True for _ in v.iter_errors(doc))
if refused < 40:
    sys.exit(f"schema refuses only {refused} malformed fixtures")
PYEOF
  log "schema.json consistent"
else
  log "python3-jsonschema not installed: schema.json consistency not checked"
fi

# Usage errors
expect_rc 2 "$R" policy
expect_rc 2 "$R" policy check
expect_rc 2 "$R" policy frobnicate
expect_rc 2 "$R" policy sign "$SRC/policies/default.json"
expect_rc 0 "$R" policy --help
out_has "sign --key PRIVKEY.pem"

# --- keys and signing
openssl genpkey -algorithm ed25519 -out "$T/signer.key" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$T/rogue.key" 2>/dev/null
mkdir -p "$T/keys"
openssl pkey -in "$T/signer.key" -pubout -out "$T/keys/signer.pem"
expect_rc 0 "$R" policy keyid "$T/keys/signer.pem"
[[ $(cat "$T/out") == $(openssl pkey -pubin -in "$T/keys/signer.pem" -outform DER | sha256sum | cut -d' ' -f1) ]] \
  || fail "key id is not the SHA-256 of the DER public key"
KID=$(cat "$T/out")

policy_with_serial() { # SERIAL ACTION > file
  sed -e "s/\"serial\": 1,/\"serial\": $1,/" "$SRC/policies/default.json" |
    sed -e "0,/\"action\": \"block\"/s//\"action\": \"$2\"/"
}
policy_with_serial 5 block > "$T/p5.json"
policy_with_serial 4 block > "$T/p4.json"
policy_with_serial 6 audit > "$T/p6.json"

expect_rc 0 "$R" policy sign --key "$T/signer.key" -o "$T/b5.bundle" "$T/p5.json"
out_has "SIGNED rempart-default 5"
expect_rc 0 "$R" policy verify --keys "$T/keys" "$T/b5.bundle"
out_has "OK rempart-default 5 $(sha256sum < "$T/p5.json" | cut -d' ' -f1) $KID"

# The format is plain: openssl alone can check a bundle.
"$PY" - "$T/b5.bundle" "$T" <<'PYEOF'
import base64, json, sys
b = json.load(open(sys.argv[1]))
open(sys.argv[2] + "/b5.policy", "wb").write(base64.b64decode(b["policy"]))
open(sys.argv[2] + "/b5.sig", "wb").write(base64.b64decode(b["signature"]))
PYEOF
cmp -s "$T/b5.policy" "$T/p5.json" || fail "bundle does not carry the exact policy bytes"
openssl pkeyutl -verify -pubin -inkey "$T/keys/signer.pem" -rawin -in "$T/b5.policy" \
  -sigfile "$T/b5.sig" >/dev/null || fail "openssl does not verify the bundle signature"
log "sign/verify OK, interoperable with openssl"

# Tampered: the policy edited (block -> audit) after signing.
"$PY" - "$T/b5.bundle" "$T/tampered.bundle" <<'PYEOF'
import base64, json, sys
b = json.load(open(sys.argv[1]))
p = base64.b64decode(b["policy"]).replace(b'"action": "block"', b'"action": "audit"')
b["policy"] = base64.b64encode(p).decode()
json.dump(b, open(sys.argv[2], "w"))
PYEOF
expect_rc 1 "$R" policy verify --keys "$T/keys" "$T/tampered.bundle"
err_has "the signature does not match the policy"

# Wrong key
expect_rc 0 "$R" policy sign --key "$T/rogue.key" -o "$T/rogue.bundle" "$T/p5.json"
expect_rc 1 "$R" policy verify --keys "$T/keys" "$T/rogue.bundle"
err_has "which is not among the 1 trusted keys"

# Unsigned
expect_rc 1 "$R" policy verify --keys "$T/keys" "$T/p5.json"
err_has "unsigned policy refused"
expect_rc 0 "$R" policy verify --keys "$T/keys" --allow-unsigned "$T/p5.json"
out_has "OK rempart-default 5"
out_has "unsigned"

# Never sign an invalid policy.
expect_rc 1 "$R" policy sign --key "$T/signer.key" -o "$T/bad.bundle" "$SRC/tests/policies/malformed/action-typo.json"
err_has "not signed: the policy is invalid"
[[ -e "$T/bad.bundle" ]] && fail "a bundle was written for an invalid policy"

# --- accept: monotonic serial, replay refused
expect_rc 0 "$R" policy sign --key "$T/signer.key" -o "$T/b4.bundle" "$T/p4.json"
expect_rc 0 "$R" policy sign --key "$T/signer.key" -o "$T/b6.bundle" "$T/p6.json"
expect_rc 0 "$R" policy accept --keys "$T/keys" --state "$T/state" "$T/b5.bundle"
out_has "ACCEPTED rempart-default 5"
expect_rc 0 "$R" policy accept --keys "$T/keys" --state "$T/state" "$T/b5.bundle"
out_has "ALREADY rempart-default 5"
expect_rc 1 "$R" policy accept --keys "$T/keys" --state "$T/state" "$T/b4.bundle"
err_has "serial 4 is not newer than the last accepted serial 5 (rollback refused)"
expect_rc 1 "$R" policy accept --keys "$T/keys" --state "$T/state" "$T/tampered.bundle"
cmp -s "$T/state/policy.bundle" "$T/b5.bundle" || fail "last-known-good changed by a refused bundle"
expect_rc 0 "$R" policy accept --keys "$T/keys" --state "$T/state" "$T/b6.bundle"
cmp -s "$T/state/policy.bundle" "$T/b6.bundle" || fail "last-known-good is not the accepted bundle"
grep -q "^6 $(sha256sum < "$T/p6.json" | cut -d' ' -f1) rempart-default$" "$T/state/policy.state" \
  || fail "state file: $(cat "$T/state/policy.state")"
log "accept/rollback OK"

# --- HTTPS pull with a pinned throw-away CA, ETag and 304
make_certs
mkdir -p "$T/www"
cp "$T/b6.bundle" "$T/www/policy.bundle"
head -c 300000 /dev/zero | tr '\0' ' ' > "$T/www/big.bundle"
"$PY" "$SRC/tests/integration/policy_https_server.py" --root "$T/www" --cert "$T/server.pem" \
  --key "$T/server.key" --port-file "$T/https.port" --log "$T/https.log" >"$T/https.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [[ -s "$T/https.port" ]] && break; sleep 0.1; done
[[ -s "$T/https.port" ]] || fail "HTTPS server did not start: $(cat "$T/https.out")"
URL="https://127.0.0.1:$(cat "$T/https.port")"

expect_rc 0 "$R" policy fetch --ca "$T/ca.pem" -o "$T/fetched.bundle" "$URL/policy.bundle"
grep -Eq '^FETCHED "[0-9a-f]{20}"$' "$T/out" || fail "fetch output: $(cat "$T/out")"
ETAG=$(awk '{print $2}' "$T/out")
cmp -s "$T/fetched.bundle" "$T/b6.bundle" || fail "fetched bytes differ"
expect_rc 0 "$R" policy verify --keys "$T/keys" "$T/fetched.bundle"
out_has "OK rempart-default 6"

rm -f "$T/again.bundle"
expect_rc 0 "$R" policy fetch --ca "$T/ca.pem" --etag "$ETAG" -o "$T/again.bundle" "$URL/policy.bundle"
out_has "NOT-MODIFIED $ETAG"
[[ -e "$T/again.bundle" ]] && fail "304 wrote a file"
[[ $(tail -n 1 "$T/https.log") == "/policy.bundle $ETAG" ]] || fail "If-None-Match not sent: $(cat "$T/https.log")"

# A new bundle on the server: the old ETag no longer matches.
cp "$T/b5.bundle" "$T/www/policy.bundle"
expect_rc 0 "$R" policy fetch --ca "$T/ca.pem" --etag "$ETAG" -o "$T/new.bundle" "$URL/policy.bundle"
out_has "FETCHED"
cmp -s "$T/new.bundle" "$T/b5.bundle" || fail "changed bundle not fetched"

# Refusals: size bound, unknown CA, plain http, 404.
expect_rc 1 "$R" policy fetch --ca "$T/ca.pem" --max-bytes 100000 -o "$T/big" "$URL/big.bundle"
err_has "response larger than 100000 bytes"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=Other CA" -keyout "$T/other.key" \
  -out "$T/other-ca.pem" 2>/dev/null
expect_rc 1 "$R" policy fetch --ca "$T/other-ca.pem" -o "$T/x" "$URL/policy.bundle"
expect_rc 1 "$R" policy fetch --ca "$T/ca.pem" -o "$T/x" "http://127.0.0.1:$(cat "$T/https.port")/policy.bundle"
err_has "only https:// URLs are fetched"
expect_rc 1 "$R" policy fetch --ca "$T/ca.pem" -o "$T/x" "$URL/missing.bundle"
err_has "HTTP status 404"
# A server that accepts and then says nothing: the timeout bounds the pull.
"$PY" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
open(sys.argv[1], "w").write(str(s.getsockname()[1])); time.sleep(120)' "$T/silent.port" &
PIDS+=($!)
for _ in $(seq 50); do [[ -s "$T/silent.port" ]] && break; sleep 0.1; done
start=$(date +%s%N)
expect_rc 1 "$R" policy fetch --ca "$T/ca.pem" --timeout-ms 1000 -o "$T/x" "https://127.0.0.1:$(cat "$T/silent.port")/p"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
err_has "timed out"
[[ $elapsed_ms -lt 5000 ]] || fail "timeout of 1000 ms took $elapsed_ms ms"
log "HTTPS fetch with ETag/304 OK"
log "PASS"
