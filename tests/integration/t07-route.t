#!/usr/bin/env bash
# The supervisor routes TLV messages between services and stamps FROM.
. "$(dirname "$0")/../lib/lib.sh"
t_setup
plan 5

t_config '{}' "{\"A\": $(svc A '{"peer": "B", "echo_ms": 50}'), \"B\": $(svc B),
  \"C\": $(svc C '{"peer": "Nobody", "echo_ms": 50}')}"
sup_start
wait_until 10 grep -q "echo request seq [0-9]* from A: ping" "$T/log/B.log"
ok $? "B receives A's request, with FROM set to A by the supervisor"
wait_until 5 grep -q "echo reply seq [0-9]* from B: pong" "$T/log/A.log"
ok $? "A receives B's reply"
wait_until 5 grep -q "result seq [0-9]*: service Nobody is not running" "$T/log/C.log"
ok $? "a message to an unknown service is answered with a clear error"
plsc disable B >/dev/null
wait_until 5 state_is B disabled
wait_until 5 grep -q "result seq [0-9]*: service B is not running" "$T/log/A.log"
ok $? "a message to a stopped service is answered with an error"
state_is A running
ok $? "and the sender keeps running"
t_done
