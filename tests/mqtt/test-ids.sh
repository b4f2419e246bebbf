#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Ids are the client's: the bridge hands each back exactly as it was
# written, strings and numbers alike, so a number beyond 64 bits still
# matches its request (json-c alone would turn 18446744073709551616 into
# 18446744073709551615). Integers beyond 64 bits anywhere else are refused
# with InvalidPayload naming their path, and nothing starts; options that
# do not fit their D-Bus type are refused naming the option.
. "$(dirname "$0")/lib.sh"

start_broker
start_board b1
T=blinkd/b1
subscribe r "$T/result"

# Ids beyond 64 bits, either sign, and numbers as written come back as they were.
for id in 18446744073709551616 -99999999999999999999999999 340282366920938463463374607431768211457 1.50 7; do
	pub "$T/stop/none-$RANDOM" "{\"id\": $id}"
	wait_until 10 "received r $T/result | grep -qF '\"id\":$id,'"
done
# Every one of them once, and none saturated.
received r "$T/result" | grep -qF '"id":18446744073709551615,' && fail "an id came back saturated"
[ "$(received r "$T/result" | wc -l)" -eq 5 ] || fail "not one result per request: $(received r "$T/result")"

# A start with a huge id runs, and its result carries the id as it was sent.
pub "$T/start/big" '{"id": 18446744073709551617, "program": {"on": {"lines": [3]}}}'
res=$(wait_result r 18446744073709551617 "$T/result")
[ "$(json_get "$res" 'j["ok"], j["id"]')" = "(True, 18446744073709551617)" ] || fail "big id: $res"

# Integers beyond 64 bits in options and programs: refused by path, nothing started.
before=$(blinkd_list b1)
# (grep, not json_get: a python per check is slow on a busy machine; no message here has a quote.)
check_refused() { # ID PAYLOAD MESSAGE-PREFIX
	local res
	pub "$T/start/r$1" "$2"
	res=$(wait_result r "\"$1\"" "$T/result")
	grep -qF '"error":"io.blinkd1.Mqtt.Error.InvalidPayload","message":"'"$3" <<<"$res" ||
		fail "$1: not InvalidPayload naming $3: $res"
}
check_refused o1 '{"id": "o1", "program": {"on": {"lines": [1]}}, "options": {"at": 18446744073709551616}}' \
	'$.options.at: 18446744073709551616 is beyond the range of a 64-bit integer'
check_refused o2 '{"id": "o2", "program": {"on": {"lines": [1]}}, "options": {"timeout": 36893488147419103232}}' \
	'$.options.timeout: 36893488147419103232 is beyond'
check_refused o3 '{"id": "o3", "program": {"on": {"lines": [1]}}, "options": {"priority": 4294967301}}' \
	'$.options.priority: must fit in 32 bits'
check_refused o4 '{"id": "o4", "program": {"on": {"lines": [1]}}, "options": {"priority": -9223372036854775809}}' \
	'$.options.priority: -9223372036854775809 is beyond'
check_refused o5 '{"id": "o5", "program": {"on": {"lines": [1]}}, "options": {"timeout": -1}}' \
	'$.options.timeout: must not be negative'
check_refused o6 '{"id": "o6", "program": {"blink": {"lines": [1], "times": 18446744073709551617}}}' \
	'$.program.blink.times: 18446744073709551617 is beyond'
[ "$(blinkd_list b1)" = "$before" ] || fail "a refused request changed List: $(blinkd_list b1)"
grep -q ' 1 1$' "$TEST_DIR/b1.trace" && fail "a refused request lit line 1"

# The edge of 64 bits is no refusal of the bridge's: blinkd judges it (its own
# InvalidOptions, or a start), and the bridge passes the value on exact.
pub "$T/start/edge" '{"id": "e1", "program": {"on": {"lines": [2]}}, "options": {"timeout": 18446744073709551615}}'
res=$(wait_result r '"e1"' "$T/result")
[ "$(json_get "$res" 'j.get("error", "")')" != io.blinkd1.Mqtt.Error.InvalidPayload ] || fail "edge: $res"
