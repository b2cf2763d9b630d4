#!/usr/bin/env bash
# Started as root: services run as the configured unprivileged user, get
# their sockets from the supervisor, and own a private state dir.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 7

if [ "$(id -u)" -ne 0 ]; then
	for i in 1 2 3 4 5 6 7; do echo "ok $i # SKIP not running as root"; done
	exit 0
fi
chmod 755 "$T"
user=nobody
uid=$(id -u $user)
port=$(free_port)
t_config "{\"user\": \"$user\"}" "{\"A\": $(svc A "{\"listen\": {\"main\": \"127.0.0.1:$port\"}}")}"
sup_start
wait_until 10 state_is A running
ok $? "A runs under a root supervisor"
is "$(cat "$T/lib/A/uid")" "$uid" "A runs as $user (uid $uid)"
is "$(stat -c '%U %a' "$T/lib/A")" "$user 700" "A's state dir belongs to $user, mode 0700"
out=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat <&3")
is "$out" "testsvc A uid $uid" "A serves the socket the supervisor bound"
is "$(stat -c '%a' "$T/run/plsc.sock")" 660 "the control socket is mode 0660"
is "$(ps -o user= -p "$SUP_PID" | tr -d ' ')" root "the supervisor itself stays root"

t_config '{"user": "no-such-user-plsc"}' "{\"A\": $(svc A)}"
out=$("$BIN/plsc-supervisor" -c "$CONF" -q 2>&1 & sleep 1; kill %1 2>/dev/null)
like "$out" "no such user 'no-such-user-plsc'" "an unknown run user is a clear error"
t_done
