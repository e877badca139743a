#!/usr/bin/env bash
# Destinations are named by host: the HTTP/1 Host header or the HTTP/2 :authority, read by the
# decoders, decides which rule of the default policy applies. Patient data to a genAI host the
# policy does not approve is blocked; the same data to another host only raises an alert.
source "$(dirname "$0")/lib.sh"
require_root
make_certs
start_server srv; PORT=$SERVER_PORT
start_h2_server
start_daemon "$SRC/policies/default.json"
NIR="2 95 10 99 126 111 93"

# alert_for PORT: "action destination rule" of the newest alert about PORT
alert_for() { ALERT_PORT=$1 alerts_query "' '.join((alerts[-1]['rempart']['action'], alerts[-1]['dst_endpoint'].get('name', '-'), alerts[-1]['rempart']['rule'])) if alerts else ''"; }

# HTTP/1.1 to a host that is no genAI service: alert.
curl -sS --cacert "$T/ca.pem" -o /dev/null -H "Host: dossiers.chu.example" -d "NIR $NIR" "https://127.0.0.1:$PORT/" || true
wait_port_alerts "$PORT" 1 || fail "no alert for the intranet host"
[[ $(alert_for "$PORT") == "alert - patient-id-elsewhere" ]] || fail "intranet host: $(alert_for "$PORT")"
log "HTTP/1.1 Host dossiers.chu.example -> $(alert_for "$PORT")"

# HTTP/1.1 to chatgpt.com (an unapproved genAI service in the default catalogue): block.
curl -sS --cacert "$T/ca.pem" -o /dev/null -H "Host: chatgpt.com" -d "NIR $NIR" "https://127.0.0.1:$PORT/" 2>/dev/null || true
wait_port_alerts "$PORT" 2 || fail "no alert for chatgpt.com"
[[ $(alert_for "$PORT") == "block openai-chatgpt patient-id-to-unapproved-genai" ]] || fail "chatgpt.com: $(alert_for "$PORT")"
log "HTTP/1.1 Host chatgpt.com -> $(alert_for "$PORT")"

# HTTP/2: the :authority (HPACK-coded) names the service.
curl -sS --http2 --cacert "$T/ca.pem" -o /dev/null -H "Host: gemini.google.com" -d "NIR $NIR" "https://127.0.0.1:$H2PORT/" 2>/dev/null || true
wait_port_alerts "$H2PORT" 1 || fail "no alert for the HTTP/2 request"
[[ $(alert_for "$H2PORT") == "block google-gemini patient-id-to-unapproved-genai" ]] || fail "HTTP/2 :authority: $(alert_for "$H2PORT")"
log "HTTP/2 :authority gemini.google.com -> $(alert_for "$H2PORT")"
assert_no_leak "$NIR"
log "PASS"
