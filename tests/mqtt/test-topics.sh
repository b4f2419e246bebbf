#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Every topic of one board: requests (start, replace, stop, stopall,
# definitions/get) and their results, the retained state, running, lit and
# definitions, finished/<name>; bad requests refused with the bridge's own
# errors and nothing started; blinkd's errors passed on as they are.
. "$(dirname "$0")/lib.sh"

start_broker
start_board b1 ', "payload_max": 1024'
T=blinkd/b1
subscribe r "$T/result" "$T/finished/+" "$T/running" "$T/lit"

# start: a result with the object path; running and lit follow; finished at the end.
pub "$T/start/hb" '{"program": {"blink": {"lines": [11], "interval": "100ms", "times": 2}}, "id": "s1"}'
res=$(wait_result r '"s1"' "$T/result")
[ "$(json_get "$res" 'j["ok"], j["path"]')" = "(True, '/io/blinkd1/program/hb')" ] || fail "start: $res"
wait_until 5 "received r $T/finished/hb | grep -qx '{\"name\":\"hb\",\"result\":\"done\"}'"
received r "$T/running" | grep -q '"name":"hb"' || fail "running never listed hb"
received r "$T/lit" | grep -qx '\[11\]' || fail "lit never showed [11]"
[ "$(retained "$T/running")" = "[]" ] || fail "running after the end: $(retained "$T/running")"
[ "$(trace_rising b1)" = "11 11" ] || fail "trace: $(trace_rising b1)"

# A program given as text; replace; stop; stopall.
pub "$T/start/keep" '{"program": "{\"on\": {\"lines\": [2]}}", "id": "s2"}'
wait_result r '"s2"' "$T/result" | grep -q '"ok":true' || fail "start with program text"
pub "$T/start/textual" '{"program": "on(27, 50ms)", "id": "s2t"}'
wait_result r '"s2t"' "$T/result" | grep -q '"ok":true' || fail "start in the text form"
wait_until 5 "received r $T/finished/textual | grep -q done"
pub "$T/replace/keep" '{"program": {"on": {"lines": [3]}}, "id": "s3"}'
wait_result r '"s3"' "$T/result" | grep -q '"ok":true' || fail "replace"
wait_until 5 "received r $T/finished/keep | grep -q replaced"
[ "$(blinkd_list b1)" = 'keep {"on":{"lines":[3]}}' ] || fail "List after replace: $(blinkd_list b1)"
pub "$T/stop/keep" '{"id": 4}'
wait_result r 4 "$T/result" | grep -q '"ok":true' || fail "stop"
pub "$T/stop/keep" '{"id": 5}'
res=$(wait_result r 5 "$T/result")
[ "$(json_get "$res" 'j["ok"], j["error"]')" = "(False, 'io.blinkd1.Error.NotRunning')" ] || fail "stop of nothing: $res"
pub "$T/start/a" '{"program": {"on": {"lines": [4]}}}'
pub "$T/start/b" '{"program": {"on": {"lines": [5]}}}'
wait_until 5 "[ \$(blinkd_list b1 | wc -l) -eq 2 ]"
pub "$T/stopall" ''
wait_until 5 "[ -z \"\$(blinkd_list b1)\" ]"
wait_until 5 "received r $T/result | grep -q '\"verb\":\"stopall\",\"ok\"\|\"ok\":true,\"verb\":\"stopall\"'"

# blinkd's own errors, name and message as they are.
pub "$T/start/bad" '{"program": {"blink": {"lines": [11], "interval": "5 parsecs"}}, "id": "e1"}'
res=$(wait_result r '"e1"' "$T/result")
[ "$(json_get "$res" 'j["error"]')" = io.blinkd1.Error.InvalidProgram ] || fail "invalid program: $res"
json_get "$res" 'j["message"]' | grep -q '^\$.blink.interval: ' || fail "message: $res"
pub "$T/start/bad" '{"program": "blink(11, 5parsecs)", "id": "e1t"}'
res=$(wait_result r '"e1t"' "$T/result")
json_get "$res" 'j["message"]' | grep -q '^line 1, column 11: ' || fail "message: $res"
pub "$T/start/nope" '{"program": {"call": "nothing"}, "id": "e2"}'
wait_result r '"e2"' "$T/result" | grep -q 'io.blinkd1.Error.NotDefined' || fail "call of nothing"

# Bad requests: refused by the bridge, nothing started.
before=$(blinkd_list b1)
pub "$T/start/m1" '{"program": {"on": {"lines": [1]}}, "id": "m1"'
wait_until 5 "received r $T/result | grep -q 'unexpected end of text'"
pub "$T/start/m2" '{"program": {"on": {"lines": [1]}}, "id": "m2", "colour": "red"}'
res=$(wait_result r '"m2"' "$T/result")
[ "$(json_get "$res" 'j["error"]')" = io.blinkd1.Mqtt.Error.InvalidPayload ] || fail "unknown key: $res"
json_get "$res" 'j["message"]' | grep -q 'colour' || fail "the message does not name the key: $res"
pub "$T/start/m3" '{"id": "m3"}'
wait_result r '"m3"' "$T/result" | grep -q '\$.program: is missing' || fail "missing program"
pub "$T/start/m4" "{\"id\": \"m4\", \"program\": {\"on\": {\"lines\": [1]}}, \"pad\": \"$(head -c 2000 /dev/zero | tr '\0' x)\"}"
wait_until 5 "received r $T/result | grep -q PayloadTooLarge"
received r "$T/result" | grep PayloadTooLarge | grep -q 'more than the 1024' || fail "the cap is not named"
# Options go to StartWithOptions; the daemon's refusal comes back as it is.
pub "$T/start/m6" '{"program": {"on": {"lines": [1]}}, "id": "m6", "options": {"priority": 5000}}'
res=$(wait_result r '"m6"' "$T/result")
[ "$(json_get "$res" 'j["error"]')" = io.blinkd1.Error.InvalidOptions ] || fail "options: $res"
json_get "$res" 'j["message"]' | grep -q priority || fail "the option is not named: $res"
pub "$T/start/m7" '{"program": {"on": {"lines": [1]}}, "id": "m7", "options": {"later": true}}'
wait_result r '"m7"' "$T/result" | grep -q 'options.later: unknown option' || fail "unknown option"
[ "$(blinkd_list b1)" = "$before" ] || fail "a refused request changed List: $(blinkd_list b1)"
grep -q ' 1 1$' "$TEST_DIR/b1.trace" && fail "a refused request lit line 1"
# And options that fit start the program with them: a timeout ends it done.
pub "$T/start/m8" '{"program": {"on": {"lines": [2]}}, "id": "m8", "options": {"priority": 3, "timeout": 100000}}'
wait_result r '"m8"' "$T/result" | grep -q '"ok":true' || fail "options that fit were refused"
wait_until 5 "received r $T/finished/m8 | grep -q done"

# definitions: retained, and again on request.
retained "$T/definitions" | grep -q '"name":"flash"' || fail "definitions: $(retained "$T/definitions")"
DBUS_SESSION_BUS_ADDRESS=${BUS_ADDRESS[b1]} busctl --user call io.blinkd1 /io/blinkd1 \
	io.blinkd1.Manager Define ss later '{"wait":"1s"}'
pub "$T/definitions/get" '{"id": "d1"}'
wait_result r '"d1"' "$T/result" | grep -q '"ok":true' || fail "definitions/get"
wait_until 5 "retained $T/definitions | grep -q '\"name\":\"later\"'"

# An unknown verb under the board is answered (InvalidTopic, see mqtt-every-request); the bridge lives on.
pub "$T/explode/x" '{}'
pub "$T/start/alive" '{"program": {"on": {"lines": [6]}}, "id": "z"}'
wait_result r '"z"' "$T/result" | grep -q '"ok":true' || fail "the bridge after an unknown verb"

# A clean stop says offline, not through the will.
stop_bridge b1
[ "$(retained "$T/state")" = offline ] || fail "state after SIGTERM: $(retained "$T/state")"
grep -q "Stopping" "$TEST_DIR/b1-bridge.log" || fail "no clean stop in the log"

# A retained request runs once, when it is published; what the broker
# replays from its store to a (re)subscribing bridge is refused, not run again.
start_bridge b1 ', "payload_max": 1024'
wait_until 10 "state_is b1 online"
pub "$T/start/m5" '{"program": {"on": {"lines": [7]}}, "id": "m5"}' -r
wait_result r '"m5"' "$T/result" | grep -q '"ok":true' || fail "a live retained request did not run"
stop_bridge b1
: >"$TEST_DIR/r.sub"
start_bridge b1 ', "payload_max": 1024'
res=$(wait_result r '"m5"' "$T/result")
json_get "$res" 'j["message"]' | grep -q 'retained request is not run' || fail "replayed retained request: $res"
pub "$T/start/m5" '' -r   # clear it from the broker
[ "$(blinkd_list b1 | grep -c '^m5 ')" -eq 1 ] || fail "m5 runs twice or not at all"
