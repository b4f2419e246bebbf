#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Requests that wait in the broker for the bridge's persistent session are
# handed over the moment it connects, often before the bridge has heard
# from the bus whether blinkd is there, or has read blinkd's interface (for
# options). They are held until it knows, then passed on in order: with
# blinkd up, every one is answered by blinkd, never Unavailable, over ten
# restarts of the bridge. With blinkd truly gone, each is answered
# Unavailable: none is lost.
. "$(dirname "$0")/lib.sh"

start_broker
start_board b1
T=blinkd/b1
subscribe r "$T/result"

for round in $(seq 10); do
	stop_bridge b1
	# Kept by the broker for the bridge's session (QoS 1, clean start off).
	pub "$T/start/p$round" "{\"id\": \"s$round\", \"program\": {\"on\": {\"lines\": [1], \"for\": \"10ms\"}}}"
	pub "$T/start/q$round" "{\"id\": \"o$round\", \"program\": {\"on\": {\"lines\": [2], \"for\": \"10ms\"}}, \"options\": {\"priority\": 2}}"
	pub "$T/stop/nothing" "{\"id\": \"n$round\"}"
	pub "$T/definitions/get" "{\"id\": \"d$round\"}"
	start_bridge b1
	# grep, not json_get: a python per check is slow on a busy machine.
	wait_result r "\"s$round\"" "$T/result" | grep -q '"ok":true' ||
		fail "round $round, start: $(wait_result r "\"s$round\"" "$T/result")"
	wait_result r "\"o$round\"" "$T/result" | grep -q '"ok":true' ||
		fail "round $round, start with options: $(wait_result r "\"o$round\"" "$T/result")"
	wait_result r "\"n$round\"" "$T/result" | grep -q '"error":"io.blinkd1.Error.NotRunning"' ||
		fail "round $round, stop: $(wait_result r "\"n$round\"" "$T/result")"
	wait_result r "\"d$round\"" "$T/result" | grep -q '"ok":true' ||
		fail "round $round, definitions/get: $(wait_result r "\"d$round\"" "$T/result")"
done
received r "$T/result" | grep -q Unavailable && fail "a request was refused Unavailable while blinkd was up"
# Passed on to blinkd in the order they were sent (definitions/get is
# answered by the bridge at once, so its result may come first).
order=$(received r "$T/result" | python3 -c 'import json, sys; print(" ".join(json.loads(l)["id"] for l in sys.stdin if l.strip() and json.loads(l)["verb"] != "definitions/get"))')
expected=$(for round in $(seq 10); do printf 's%d o%d n%d ' "$round" "$round" "$round"; done)
[ "$order " = "$expected" ] || fail "results out of order: $order"

echo "$(grep -c 'passing on' "$TEST_DIR/b1-bridge.log" || true) of 10 starts held requests until blinkd was known"

# blinkd gone: the held requests are answered Unavailable once the bus says so.
stop_bridge b1
stop_blinkd b1
pub "$T/start/gone" '{"id": "g1", "program": {"on": {"lines": [1]}}}'
pub "$T/stopall" '{"id": "g2"}'
start_bridge b1
for id in g1 g2; do
	res=$(wait_result r "\"$id\"" "$T/result")
	grep -q '"error":"io.blinkd1.Mqtt.Error.Unavailable","message":"blinkd is not on the bus' <<<"$res" ||
		fail "$id without blinkd: $res"
done
