#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Three boards on one broker: a request under blinkd/all/ reaches every
# board (all three traces show the program) and each answers on its own
# result topic; a request for one board reaches that board only.
. "$(dirname "$0")/lib.sh"

start_broker
for b in b1 b2 b3; do start_board "$b"; done
subscribe r 'blinkd/+/result' 'blinkd/+/finished/+'

# 150 ms a line: a wakeup late by a whole interval on a loaded machine would
# merge a line's on and off into one batch, and its rising edge with them.
pub blinkd/all/start/wave '{"program": {"cycle": {"lines": [11, 12, 13], "interval": "150ms", "times": 1}}, "id": "g1"}'
for b in b1 b2 b3; do
	res=$(wait_result r '"g1"' "blinkd/$b/result")
	[ "$(json_get "$res" 'j["ok"], j["group"], j["path"]')" = "(True, True, '/io/blinkd1/program/wave')" ] ||
		fail "$b: $res"
	wait_until 5 "received r blinkd/$b/finished/wave | grep -q done"
	[ "$(trace_rising "$b")" = "11 12 13" ] || fail "$b's trace: $(trace_rising "$b")"
done

# One board only.
pub blinkd/b2/start/solo '{"program": {"on": {"lines": [2], "for": "100ms"}}, "id": "o1"}'
wait_result r '"o1"' blinkd/b2/result | grep -q '"ok":true' || fail "b2 solo"
wait_until 5 "received r blinkd/b2/finished/solo | grep -q done"
[ "$(trace_rising b2)" = "11 12 13 2" ] || fail "b2's trace: $(trace_rising b2)"
for b in b1 b3; do
	[ "$(trace_rising "$b")" = "11 12 13" ] || fail "$b ran b2's program: $(trace_rising "$b")"
	received r "blinkd/$b/result" | grep -q '"o1"' && fail "$b answered b2's request"
done

# A group stopall, and every board's running topic goes back to [].
for b in b1 b2 b3; do pub "blinkd/$b/start/hold" '{"program": {"on": {"lines": [0]}}}'; done
for b in b1 b2 b3; do wait_until 5 "retained blinkd/$b/running | grep -q hold"; done
pub blinkd/all/stopall '{"id": "g2"}'
for b in b1 b2 b3; do
	wait_result r '"g2"' "blinkd/$b/result" | grep -q '"ok":true' || fail "$b stopall"
	wait_until 5 "[ \"\$(retained blinkd/$b/running)\" = '[]' ]"
	[ -z "$(blinkd_list "$b")" ] || fail "$b still runs: $(blinkd_list "$b")"
done
