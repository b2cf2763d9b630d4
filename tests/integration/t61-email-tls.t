#!/usr/bin/env bash
# The Email service's TLS against a real Dovecot: a certificate for another
# host name, or from another CA, is refused before any login (Debian's
# libetpan would accept anything: the service verifies with OpenSSL
# itself); Dovecot restarted under the service is reconnected to; a pinned
# SHA-256 fingerprint instead of a CA; STARTTLS on the plain port.
. "$(dirname "$0")/../lib/lib.sh"
. "$(dirname "$0")/../lib/dovecot.sh"
t_setup
plan 25

EM=PrinterLogicServiceEmail
export EM

em_config() {
	printf '%s\n' "$DV_PASS" > "$T/imap-password"
	chmod 600 "$T/imap-password"
	t_config '{}' "$(jq -n --arg p "$BIN/$EM" --arg s "localhost:$DV_PORT" \
		--arg u "$DV_USER" --arg pw "$T/imap-password" --arg ca "$DV_CA" \
		--argjson extra "${1:-{\}}" '{($ENV.EM):
		({path: $p, imap_server: $s, imap_user: $u, imap_password_file: $pw,
		  imap_ca_file: $ca, imap_timeout_s: 5, require_authentication: false,
		  reconnect_max_s: 1} + $extra)}')"
}

detail() { field "$EM" detail; }
is_idle() { detail | grep -q '^idle'; }
logins() { grep -c 'Login: user=<' "$T/dv/dovecot.log" 2>/dev/null; }
dv_restart() { dv_stop && dv_start "$1"; }

# The test's CA issues a certificate for another name; another CA one for
# localhost.
dv_start
dv_ca "$T/dv/othername" mail.elsewhere.example "$T/dv/good"
dv_ca "$T/dv/otherca" localhost
dv_restart "$T/dv/othername"
ok $? "Dovecot serves a certificate for mail.elsewhere.example"

em_config
sup_start
wait_until 15 state_is "$EM" running
ok $? "the Email service runs"
wait_until 15 bash -c "grep -q 'does not verify' '$T/log/$EM.log'"
ok $? "a certificate for another host name is refused"
like_log "$EM" "TLS with localhost refused: the certificate does not verify \\(hostname mismatch\\)" \
	"the log says why"
tls_error_shown() { detail | grep -Eq '^(disconnected|connecting), .*last error: TLS with localhost refused'; }
wait_until 10 tls_error_shown
ok $? "plsc status shows it ($(detail))"
is "$(logins)" 0 "no login was attempted"
out=$("$BIN/$EM" --test -c "$CONF")
is "$?" 1 "plsc email test (--test) fails"
like "$out" "FAILED: TLS with localhost refused" "and names the certificate"

dv_restart "$T/dv/otherca"
wait_until 15 bash -c "grep -q 'unable to get local issuer certificate' '$T/log/$EM.log'"
ok $? "a certificate from another CA is refused"
is "$(logins)" 0 "still no login"

# Dovecot back with the right certificate: the service reconnects alone.
dv_restart "$T/dv/good"
wait_until 30 is_idle
ok $? "restarted with the right certificate, Dovecot is reconnected to ($(detail))"
pid=$(svc_pid "$EM")
dv_restart "$T/dv/good"
wait_until 30 bash -c "[ \$(grep -c 'Login: user=<' '$T/dv/dovecot.log') -ge 2 ]"
ok $? "Dovecot restarted under the service: it logs in again"
is "$(svc_pid "$EM")" "$pid" "without a restart of the service"
sup_kill

# A pinned fingerprint, no CA file.
fp=$(openssl x509 -in "$T/dv/good/server.pem" -noout -fingerprint -sha256 | sed 's/.*=//')
em_config "$(jq -n --arg f "$fp" '{imap_fingerprint: $f, imap_ca_file: null} | del(.imap_ca_file)')"
jq 'del(.services[$ENV.EM].imap_ca_file)' "$CONF" > "$CONF.new" && mv "$CONF.new" "$CONF"
sup_start
wait_until 30 is_idle
ok $? "a pinned SHA-256 fingerprint is accepted"
sup_kill
em_config '{"imap_fingerprint": "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"}'
sup_start
wait_until 15 bash -c "grep -q 'SHA-256 is not imap_fingerprint' '$T/log/$EM.log'"
ok $? "another fingerprint is refused"
sup_kill

count_is() { [ "$(dv_count "$1")" = "$2" ]; }
note() {
	printf 'From: <someone@elsewhere.example>\r\nTo: <print@corp.example>\r\nSubject: %s\r\n' "$2"
	printf 'Message-ID: <%s@test>\r\n\r\nnobody here\r\n' "$RANDOM"
} >"$1"

# STARTTLS on the plain IMAP port, IDLE re-issued every second.
em_config "$(jq -n --arg s "localhost:$DV_PLAIN_PORT" '{imap_server: $s, imap_security: "starttls",
	idle_renew_s: 1}')"
sup_start
wait_until 30 is_idle
ok $? "STARTTLS on port 143's stand-in, verified the same way"
sleep 3
note "$T/s1" "after renewals"
dv_save "$T/s1"
wait_until 30 count_is Rejected 1
ok $? "after IDLE was re-issued a few times, a new message is still seen (a stranger's: rejected)"
sup_kill

# A server without IDLE and MOVE: polling, and COPY + \Deleted + UID EXPUNGE.
DV_EXTRA="protocol imap {
  imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE UIDPLUS
}"
dv_restart "$T/dv/good"
em_config '{"poll_interval_s": 1}'
sup_start
wait_until 30 bash -c "grep -q 'connected (polling)' '$T/log/$EM.log'"
ok $? "without IDLE offered, the service polls"
wait_until 10 bash -c "$(declare -f field detail plsc); BIN=$BIN CONF=$CONF EM=$EM; detail | grep -q '^polling'"
ok $? "plsc status says polling"
note "$T/s2" "polled"
dv_save "$T/s2"
wait_until 30 count_is Rejected 2
ok $? "a message is found by polling and moved without MOVE"
is "$(dv_count INBOX)" 0 "the inbox is empty (expunged after the copy)"
sup_kill

# XOAUTH2 (Exchange Online, Gmail): Dovecot's oauth2 passdb asks an
# introspection endpoint of ours whether the token is active. The token
# file is read again at each login: a renewed token needs no restart.
echo tok-1 > "$T/good-tokens"
python3 "$(dirname "$0")/../lib/oauth2introspect.py" "$T/oaport" "$T/good-tokens" 2>/dev/null &
BG_PIDS+=($!)
wait_until 5 test -s "$T/oaport"
printf 'introspection_mode = post\nintrospection_url = http://127.0.0.1:%s/introspect\n' \
	"$(cat "$T/oaport")" > "$T/oauth2.conf.ext"
printf 'username_attribute = username\nactive_attribute = active\nactive_value = true\n' \
	>> "$T/oauth2.conf.ext"
chmod 644 "$T/oauth2.conf.ext" "$T/good-tokens"
DV_EXTRA="passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $T/oauth2.conf.ext
}"
dv_restart "$T/dv/good"
echo tok-1 > "$T/token"
em_config "$(jq -n --arg t "$T/token" '{imap_auth: "xoauth2", imap_oauth2_token_file: $t}')"
jq 'del(.services[$ENV.EM].imap_password_file)' "$CONF" > "$CONF.new" && mv "$CONF.new" "$CONF"
sup_start
wait_until 30 is_idle
ok $? "XOAUTH2 with the token from the file"
grep -q 'method=XOAUTH2' "$T/dv/dovecot.log"
ok $? "Dovecot saw an XOAUTH2 login"
# the token expires; Dovecot restarts (the session ends: an old session's
# process may linger up to 30 s after its master, hence the longer wait);
# then it is renewed
echo tok-2 > "$T/good-tokens"
dv_restart "$T/dv/good"
wait_until 60 bash -c "grep -q 'AUTHENTICATE XOAUTH2 failed' '$T/log/$EM.log'"
ok $? "an expired token is refused"
echo tok-2 > "$T/token"
wait_until 30 is_idle
ok $? "the renewed token file is read at the next login: connected again without a restart"
t_done
