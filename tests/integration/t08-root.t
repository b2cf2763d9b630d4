#!/usr/bin/env bash
# Started as root with privilege separation: each service runs as its own
# system user, in the services' group, owning only its 0700 state dir; it
# gets its sockets from the supervisor; the binaries are executed even
# where their users cannot look (a checkout under /root); the control
# socket belongs to the admin group and only the console learns its path.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 16

if [ "$(id -u)" -ne 0 ]; then
	for i in $(seq 1 16); do echo "ok $i # SKIP not running as root"; done
	exit 0
fi
port=$(free_port)
# The binaries from a directory no service user may enter, as a checkout
# under /root is.
priv=$(mktemp -d /tmp/plsc-priv.XXXXXX)
chmod 700 "$priv"
cp "$TESTSVC" "$priv/plsc-testsvc"
trap 't_cleanup; rm -rf "$priv"' EXIT
t_config '{"privsep": true}' "{
  \"A\": $(jq -n --arg p "$priv/plsc-testsvc" --arg l "127.0.0.1:$port" '{path: $p, listen: {main: $l}}'),
  \"B\": $(svc B '{"user": "plsc-t08-b"}')}"
t_privsep
ok $? "plsc-supervisor --create-users makes the groups and users"
# The deployment-order trap: plsc run as root, with a strict umask, before
# the supervisor's first start.
(umask 077; plsc printers add P socket://127.0.0.1:9 >/dev/null)
is "$(stat -c '%a' "$T/lib")" 755 "plsc as root under umask 077 leaves the state dir enterable"
chmod 700 "$T/lib"
sup_start
wait_until 10 state_is A running && wait_until 10 state_is B running
ok $? "A and B run under a root supervisor"
uid_a=$(id -u plsc-a)
uid_b=$(id -u plsc-t08-b)
is "$(cat "$T/lib/A/uid")" "$uid_a" "A runs as its own user plsc-a (the default: plsc-<name>)"
is "$(cat "$T/lib/B/uid")" "$uid_b" "B runs as the user its section names"
is "$(stat -c '%U %G %a' "$T/lib/A")" "plsc-a plsc 700" "A's state dir belongs to plsc-a, mode 0700"
is "$(stat -c '%U %a' "$T/lib/B")" "plsc-t08-b 700" "B's state dir belongs to B's user"
pid_a=$(cat "$T/lib/A/pid")
is "$(awk '/^Groups:/ {print $2 $3}' "/proc/$pid_a/status")" "" "A has no supplementary groups"
is "$(awk '/^Gid:/ {print $2}' "/proc/$pid_a/status")" "$(getent group plsc | cut -d: -f3)" \
	"A's group is the services' group"
out=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat <&3")
is "$out" "testsvc A uid $uid_a" "A serves the socket the supervisor bound"
is "$(stat -c '%U %G %a' "$T/run/plsc.sock")" "root plsc-admin 660" \
	"the control socket is root:plsc-admin 0660"
is "$(tr '\0' '\n' < "/proc/$pid_a/environ" | grep -c PLSC_CONTROL_SOCKET)" 0 \
	"a service other than the console is not told where the control socket is"
is "$(ps -o user= -p "$SUP_PID" | tr -d ' ')" root "the supervisor itself stays root"
is "$(stat -c '%U %G %a' "$T/lib/directory")" "root plsc 750" \
	"the directory belongs to its writer (root without a console) and the services' group"
like "$(cat "$T/supervisor.stderr")" "$T/lib was mode 0700, owner 0:0; made root's, mode 0755" \
	"the supervisor repairs a state dir the services could not enter, and says so"

t_config '{"privsep": true}' "{\"A\": $(svc A '{"user": "no-such-user-plsc"}')}"
sup_kill
sup_start
wait_until 10 state_is A failed
like "$(field A last_exit)" "no such user 'no-such-user-plsc'.*--create-users" \
	"a service whose user is missing fails with a clear message"
t_done
