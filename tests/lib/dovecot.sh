# A real Dovecot IMAP server for the e-mail tests, started as the current
# user on 127.0.0.1 with its own CA, a passwd-file and maildirs in $T/dv.
# dv_start sets DV_PORT (implicit TLS), DV_PLAIN_PORT (IMAP, STARTTLS),
# DV_CA (the CA's certificate), DV_USER / DV_PASS.
DV_USER=printmail
DV_PASS=s3cret-mailbox

# dv_ca DIR CN [CA_DIR]: a server certificate for CN in DIR, issued by the
# CA in CA_DIR, or by a new CA made in DIR.
dv_ca() {
	local d=$1 cn=$2 ca=${3:-$1}
	mkdir -p "$d"
	[ -f "$ca/ca.pem" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -days 2 -subj "/CN=test CA $cn" -keyout "$ca/ca.key" -out "$ca/ca.pem" \
		>/dev/null 2>&1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=$cn" -keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1
	printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\n' "$cn" > "$d/ext"
	openssl x509 -req -in "$d/server.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/ext" -out "$d/server.pem" >/dev/null 2>&1
	chmod 644 "$d"/*.pem "$d"/*.key
}

# dv_conf CERT_DIR: (re)write the configuration with that certificate;
# DV_EXTRA, when set, is appended (e.g. an imap_capability without IDLE).
dv_conf() {
	local d=$T/dv me grp login mailu mailg
	me=$(id -un)
	grp=$(id -gn)
	login=$me
	mailu=$me
	mailg=$grp
	# Dovecot will not run its login and mail processes as root: in CI
	# (root) they run as Dovecot's own system users and the mail as nobody.
	if [ "$(id -u)" = 0 ]; then
		me=dovecot grp=dovecot login=dovenull mailu=nobody mailg=nogroup
	fi
	cat > "$d/dovecot.conf" <<CONF
base_dir = $d/run
state_dir = $d/state
instance_name = plsc-test-$$
listen = 127.0.0.1
protocols = imap
default_internal_user = $me
default_internal_group = $grp
default_login_user = $login
log_path = $d/dovecot.log
ssl = yes
ssl_cert = <$1/server.pem
ssl_key = <$1/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
mail_location = maildir:$d/mail/%u
mail_uid = $mailu
mail_gid = $mailg
first_valid_uid = 0
first_valid_gid = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/passwd
}
userdb {
  driver = static
  args = uid=$mailu gid=$mailg home=$d/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DV_PLAIN_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $DV_PORT
    ssl = yes
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
service auth {
  unix_listener auth-userdb {
    mode = 0600
  }
}
protocol imap {
  imap_idle_notify_interval = 1 secs
}
${DV_EXTRA:-}
CONF
}

dv_start() {
	local d=$T/dv
	mkdir -p "$d/run" "$d/state" "$d/mail" "$d/home"
	if [ "$(id -u)" = 0 ]; then
		chmod 711 "$T"
		chmod 755 "$d"
		chown nobody:nogroup "$d/mail" "$d/home"
	fi
	[ -f "$d/good/ca.pem" ] || dv_ca "$d/good" localhost
	DV_CA=$d/good/ca.pem
	printf '%s:{PLAIN}%s\n' "$DV_USER" "$DV_PASS" > "$d/passwd"
	DV_PORT=${DV_PORT:-$(free_port)}
	DV_PLAIN_PORT=${DV_PLAIN_PORT:-$(free_port)}
	dv_conf "${1:-$d/good}"
	# Dovecot daemonizes: not with the test's output (a pipe reader would
	# wait for it), and its master is stopped by t_cleanup.
	dovecot -c "$d/dovecot.conf" </dev/null >/dev/null 2>&1 || return 1
	wait_until 10 test -s "$d/run/master.pid" || return 1
	BG_PIDS+=("$(cat "$d/run/master.pid")")
	wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$DV_PORT" || return 1
}

dv_stop() {
	[ -f "$T/dv/dovecot.conf" ] && doveadm -c "$T/dv/dovecot.conf" stop 2>/dev/null
	wait_until 10 bash -c "! exec 3<>/dev/tcp/127.0.0.1/$DV_PORT"
}

# dv_mkdir FOLDER: create a folder in the print mailbox.
dv_mkdir() { doveadm -c "$T/dv/dovecot.conf" mailbox create -u "$DV_USER" "$1" 2>/dev/null; }

# dv_save FILE [FOLDER]: deliver a message into the mailbox (INBOX).
dv_save() {
	doveadm -c "$T/dv/dovecot.conf" save -u "$DV_USER" -m "${2:-INBOX}" < "$1"
}

# dv_count FOLDER: messages in a folder.
dv_count() {
	doveadm -c "$T/dv/dovecot.conf" -f flow mailbox status -u "$DV_USER" messages "$1" |
		sed 's/.*messages=//'
}
