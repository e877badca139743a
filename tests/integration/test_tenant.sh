#!/usr/bin/env bash
# A genAI service approved for the hospital's own tenant only: the same patient data sent to the
# same host is audited when the request is signed in to the hospital's Microsoft 365 tenant
# (bearer JWT: "tid", "upn"), and blocked from a personal account or without credentials.
# curl over HTTP/1.1 and HTTP/2 against local TLS servers named copilot.microsoft.com by Host.
source "$(dirname "$0")/lib.sh"
require_root
make_certs
start_server srv; PORT=$SERVER_PORT
start_h2_server

TID=3f2b8c1e-5d4a-4e6f-9a7b-0c1d2e3f4a5b
cat > "$T/policy.json" <<JSON
{
  "schema_version": 1, "name": "tenant-test", "serial": 1,
  "destinations": [
    { "name": "microsoft-copilot", "category": "genai", "approved": true,
      "approved_tenants": ["$TID", "chu-exemple.fr"], "hosts": ["copilot.microsoft.com"] }
  ],
  "rules": [
    { "id": "approved-genai", "detectors": ["fr_nir"],
      "scope": { "categories": ["genai"], "approved": true }, "action": "audit" },
    { "id": "unapproved-genai", "detectors": ["fr_nir"],
      "scope": { "categories": ["genai"], "approved": false }, "action": "block" }
  ]
}
JSON
start_daemon "$T/policy.json"
NIR="2 95 10 99 126 111 93"

# jwt CLAIMS_JSON: an unsigned-looking token shaped like Entra's (the agent reads, never verifies).
jwt() { "$PY" - "$1" <<'PYEOF'
import base64, json, sys
b = lambda o: base64.urlsafe_b64encode(json.dumps(o, separators=(",", ":")).encode()).rstrip(b"=").decode()
head = {"typ": "JWT", "alg": "RS256", "x5t": "x" * 300, "kid": "k1"}
print(b(head) + "." + b(json.loads(sys.argv[1])) + "." + base64.urlsafe_b64encode(b"s" * 256).rstrip(b"=").decode())
PYEOF
}
HOSPITAL=$(jwt "{\"aud\":\"https://substrate.office.com\",\"iss\":\"https://sts.windows.net/$TID/\",\"tid\":\"$TID\",\"upn\":\"jean.dupont@chu-exemple.fr\",\"name\":\"Jean Dupont\",\"amr\":[\"pwd\",\"mfa\"]}")
PERSONAL=$(jwt '{"tid":"9188040d-6c67-4c5b-b112-36a304b66dad","preferred_username":"jean.dupont@outlook.com"}')

# post PORT [curl args]: one request with the NIR to copilot.microsoft.com.
post() { local port=$1; shift
  curl -sS --max-time 10 --cacert "$T/ca.pem" -o /dev/null -H "Host: copilot.microsoft.com" "$@" \
    -d "{\"prompt\": \"résume le dossier, NIR $NIR\"}" "https://127.0.0.1:$port/" 2>/dev/null || true; }
# newest alert about PORT: "action approved tenant-id tenant-domain"
alert_for() { ALERT_PORT=$1 alerts_query "(lambda a: ' '.join((a['rempart']['action'], str(a['rempart']['destination_approved']), a['rempart'].get('tenant', {}).get('id', '-'), a['rempart'].get('tenant', {}).get('domain', '-'), a['dst_endpoint'].get('hostname', '-'))))(alerts[-1]) if alerts else ''"; }

post "$PORT" -H "Authorization: Bearer $HOSPITAL"
wait_port_alerts "$PORT" 1 || fail "no alert for the hospital tenant"
got=$(alert_for "$PORT"); log "HTTP/1.1, hospital tenant -> $got"
[[ $got == "audit True $TID chu-exemple.fr copilot.microsoft.com" ]] || fail "hospital tenant: $got"

post "$PORT" -H "Authorization: Bearer $PERSONAL"
wait_port_alerts "$PORT" 2 || fail "no alert for the personal account"
got=$(alert_for "$PORT"); log "HTTP/1.1, personal account -> $got"
[[ $got == "block False 9188040d-6c67-4c5b-b112-36a304b66dad outlook.com copilot.microsoft.com" ]] || fail "personal account: $got"

post "$PORT"
wait_port_alerts "$PORT" 3 || fail "no alert without credentials"
got=$(alert_for "$PORT"); log "HTTP/1.1, no credentials -> $got"
[[ $got == "block False - - copilot.microsoft.com" ]] || fail "no credentials: $got"

# HTTP/2: the token travels HPACK-coded.
post "$H2PORT" --http2 -H "Authorization: Bearer $HOSPITAL"
wait_port_alerts "$H2PORT" 1 || fail "no alert for the HTTP/2 request"
got=$(alert_for "$H2PORT"); log "HTTP/2, hospital tenant -> $got"
[[ $got == "audit True $TID chu-exemple.fr copilot.microsoft.com" ]] || fail "HTTP/2 hospital tenant: $got"

# The account name is personal data: only its domain is kept.
grep -q "jean.dupont" "$ALERTS" && fail "the account name reached the alerts"
assert_no_leak "$NIR"
log "PASS"
