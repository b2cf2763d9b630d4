#!/usr/bin/env bash
# Badge release end to end: reader emulators for both presets in both
# connect directions, users with badges, held jobs, recording printers.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 33

BR=PrinterLogicServiceSimpleBadgeRelease
rec_start P1
rec_start P2
BR_PORT=$(free_port)
DIAL_PORT=$(free_port)
DIAL_PORT2=$(free_port)
OP_PORT=$(free_port)
t_config '{"log_level": "debug"}' "$(jq -n --arg op "$BIN/$OP" --arg br "$BIN/$BR" \
	--arg opl "127.0.0.1:$OP_PORT" --arg brl "0.0.0.0:$BR_PORT" '{
	"PrinterLogicServiceOfflinePrint": {path: $op, listen: {main: $opl}},
	"PrinterLogicServiceSimpleBadgeRelease": {path: $br, listen: {main: $brl},
		dedupe_ms: 1000, refresh_s: 1, redial_max_ms: 1000}}')"
sup_start
wait_until 15 state_is "$OP" running && wait_until 15 state_is "$BR" running
ok $? "the held-jobs and badge services run"

plsc printers add P1 "socket://127.0.0.1:$REC_PORT_P1" >/dev/null
plsc printers add P2 "socket://127.0.0.1:$REC_PORT_P2" >/dev/null
echo 1234 | plsc users add alice --name "Alice A" --email alice@example.org --badge 6699 --pin >/dev/null
ok $? "plsc users add (badge given in decimal)"
plsc users add bob --badge 0xff01 >/dev/null
like "$(plsc users list)" "alice +Alice A +alice@example.org +yes +local +\*+b" "plsc users list masks badges"
like "$(plsc users list --show-badges)" "alice +Alice A +alice@example.org +yes +local +1a2b" \
	"--show-badges shows them whole"
plsc readers add R1 --address 127.0.0.2 --printer P1 --preset elatec-tcpconv2 >/dev/null &&
plsc readers add R2 --address 127.0.0.3 --printer P2 --preset rfideas-e241 --mode all >/dev/null &&
plsc readers add R3 --address 127.0.0.4 --direction listen --port "$DIAL_PORT" --printer P1 \
	--preset rfideas-e241 >/dev/null &&
plsc readers add R4 --address 127.0.0.5 --direction listen --port "$DIAL_PORT2" --printer P2 \
	--preset elatec-tcpconv2 >/dev/null
ok $? "plsc readers add: connect and listen readers, both presets"
token_for ws1
for i in 1 2; do echo "alice job $i" > "$T/a$i"; submit ws1 alice "$T/a$i" >/dev/null; sleep 0.02; done
sleep 1.2 # the service re-reads its readers every refresh_s

EMU="$BIN/plsc-reademu"
"$EMU" connect 127.0.0.1 "$BR_PORT" 127.0.0.2 elatec-tcpconv2 twice:1a2b
wait_until 10 test -e "$T/rec-P1/job-1.bin"
is "$(cat "$T/rec-P1/job-1.bin")" "alice job 2" "alice's badge at R1 (most-recent): the newer job prints"
sleep 0.5
[ ! -e "$T/rec-P1/job-2.bin" ]
ok $? "a repeated read within dedupe_ms counts once"
sleep 0.6
"$EMU" connect 127.0.0.1 "$BR_PORT" 127.0.0.2 elatec-tcpconv2 badge:1a2b
wait_until 10 test -e "$T/rec-P1/job-2.bin"
is "$(cat "$T/rec-P1/job-2.bin")" "alice job 1" "again: the older one"

for i in 3 4; do echo "alice job $i" > "$T/a$i"; submit ws1 alice "$T/a$i" >/dev/null; done
"$EMU" connect 127.0.0.1 "$BR_PORT" 127.0.0.2 elatec-tcpconv2 badge:ff01
sleep 0.5
[ ! -e "$T/rec-P1/job-3.bin" ]
ok $? "bob's badge releases none of alice's jobs"
wait_until 5 grep -q "no held jobs for bob" "$T/log/$BR.log"
ok $? "and the log says bob has nothing held"
"$EMU" connect 127.0.0.1 "$BR_PORT" 127.0.0.3 rfideas-e241 badge:1a2b
wait_until 10 test -e "$T/rec-P2/job-2.bin"
is "$(cat "$T/rec-P2/job-1.bin" "$T/rec-P2/job-2.bin" | sort | tr '\n' ' ')" \
	"alice job 3 alice job 4 " "alice's card at R2 (rfideas, decimal, all): every job prints"

"$EMU" connect 127.0.0.1 "$BR_PORT" 127.0.0.2 elatec-tcpconv2 badge:deadbeef01
wait_until 5 grep -q "unknown badge \*\+ef01; nothing released" "$T/log/$BR.log"
ok $? "an unknown badge releases nothing and is logged masked"
! grep -q "deadbeef01" "$T/log/$BR.log"
ok $? "the full badge ID never appears in the log"
wait_until 5 bash -c "$BIN/plsc -c $CONF status --json | jq -r '.services[] | select(.name==\"$BR\") | .detail' | grep -q ', 1 unknown badges'"
ok $? "unknown badges are counted in plsc status"

out=$("$EMU" connect 127.0.0.1 "$BR_PORT" 127.0.0.9 elatec-tcpconv2 badge:1a2b 2>&1)
wait_until 5 grep -q "refused a connection from 127.0.0.9" "$T/log/$BR.log"
ok $? "an unlisted address is refused and logged"

# An address written as IPv4-mapped IPv6 is the same reader (the allow-list
# compares addresses, not their spelling).
plsc readers add R6 --address ::ffff:127.0.0.6 --printer P1 --preset elatec-tcpconv2 >/dev/null
sleep 1.2
"$EMU" connect 127.0.0.1 "$BR_PORT" 127.0.0.6 elatec-tcpconv2 badge:ff01
wait_until 5 grep -q "reader R6: badge .* is bob" "$T/log/$BR.log"
ok $? "a reader configured as ::ffff:127.0.0.6 is served from 127.0.0.6"

# Noise, a silent reader, and 500 idle connections: others still served.
"$EMU" connect 127.0.0.1 "$BR_PORT" 127.0.0.2 elatec-tcpconv2 garbage long binary
"$EMU" connect 127.0.0.1 "$BR_PORT" 127.0.0.3 rfideas-e241 hold:3000 & BG_PIDS+=($!)
for i in $(seq 1 500); do
	(exec 3<>/dev/tcp/127.0.0.1/$BR_PORT; sleep 3) 2>/dev/null &
done
echo "alice job 5" > "$T/a5"; submit ws1 alice "$T/a5" >/dev/null
sleep 1.1
"$EMU" connect 127.0.0.1 "$BR_PORT" 127.0.0.2 elatec-tcpconv2 badge:1a2b
wait_until 10 test -e "$T/rec-P1/job-3.bin"
is "$(cat "$T/rec-P1/job-3.bin" 2>/dev/null)" "alice job 5" "after garbage, a silent reader and 500 idle connections, a swipe still prints"
state_is "$BR" running
ok $? "the badge service is still running"

# 400 KB of junk from a listed reader: the warnings are rate-limited and
# summarised, not one a frame (they used to rotate the swipe trail away).
before=$(wc -c < "$T/log/$BR.log")
args=(); for i in $(seq 1 400); do args+=(long); done
"$EMU" connect 127.0.0.1 "$BR_PORT" 127.0.0.2 elatec-tcpconv2 "${args[@]}"
sleep 0.5
grown=$(( $(wc -c < "$T/log/$BR.log") - before ))
diag "the log grew by $grown bytes for 400 junk frames"
ok $(( grown < 8000 ? 0 : 1 )) "400 junk frames (1.2 MB) add a few lines to the log, not one each"

# Server-mode reader: the service dials it.
echo "alice job 6" > "$T/a6"; submit ws1 alice "$T/a6" >/dev/null
"$EMU" listen 127.0.0.4 "$DIAL_PORT" rfideas-e241 badge:1a2b hold:500 > "$T/emu3.out" &
BG_PIDS+=($!)
wait_until 15 test -e "$T/rec-P1/job-4.bin"
is "$(cat "$T/rec-P1/job-4.bin" 2>/dev/null)" "alice job 6" "a reader in server mode is dialled and its swipe prints"
is "$(grep -c "reader R3 (127.0.0.4:$DIAL_PORT): .*trying again" "$T/log/$BR.log")" 1 \
	"a reader that was unreachable for seconds (redials every second) is one warning"
like_log "$BR" "reader R3 \(127.0.0.4:$DIAL_PORT\): connected, after [0-9]+ s unreachable" \
	"and its connection says how long it was away"
echo "alice job 7" > "$T/a7"; submit ws1 alice "$T/a7" >/dev/null
"$EMU" listen 127.0.0.5 "$DIAL_PORT2" elatec-tcpconv2 badge:1a2b hold:500 > "$T/emu4.out" &
BG_PIDS+=($!)
wait_until 15 test -e "$T/rec-P2/job-3.bin"
is "$(cat "$T/rec-P2/job-3.bin" 2>/dev/null)" "alice job 7" "an ELATEC reader in server mode too"

ok $(( $(releases_straight alice) >= 5 && $(releases_asking alice) == 0 ? 0 : 1 )) \
	"one holder: each swipe's release went straight to it"

# Two holders: a swipe's release asks both and prints the newest.
holder2_add
ok $? "a second holder runs ($OP2)"
echo "alice job 8" > "$T/a8"; submit ws1 alice "$T/a8" >/dev/null; sleep 0.02
echo "alice job 9" > "$T/a9"; submit2 ws1 alice "$T/a9" >/dev/null
"$EMU" connect 127.0.0.1 "$BR_PORT" 127.0.0.2 elatec-tcpconv2 badge:1a2b
wait_until 10 test -e "$T/rec-P1/job-5.bin"
is "$(cat "$T/rec-P1/job-5.bin" 2>/dev/null)" "alice job 9" \
	"two holders: a swipe prints the newest job across both (in $OP2)"
is "$(releases_asking alice)" 1 "asking both holders"

# CSV import: bad lines are reported by number, good lines kept.
cat > "$T/users.csv" <<'CSV'
username,display name,email,badge IDs,PIN
carol,Carol C,carol@example.org,0x77aa;1234567,9876
,no name,x@example.org,,
dave,Dave D,dave@example.org,0xZZ,
erin,Erin E,erin@example.org,6699,
frank,"Frank, Jr.",frank@example.org,4242,12
CSV
out=$(plsc users import "$T/users.csv" 2>&1); rc=$?
is "$rc" 1 "an import with bad lines exits 1"
like "$out" "users.csv:3: .*username" "line 3 (no username) is reported by number"
like "$out" "users.csv:4: .*badge" "line 4 (bad badge) is reported"
like "$out" "users.csv:5: .*already belongs to alice" "line 5 (alice's badge) is reported"
like "$out" "users.csv:6: .*PIN" "line 6 (a 2-digit PIN) is reported"
like "$(plsc users list)" "carol +Carol C" "the good lines are kept"
t_done
