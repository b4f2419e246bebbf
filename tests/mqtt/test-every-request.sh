#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Every request gets exactly one result, whatever its topic's shape: an
# empty name, no name, a name of two levels, a name after a verb that takes
# none, a verb that does not exist, under the board and under the group.
# Each is answered InvalidTopic, naming the problem, with the request's id;
# nothing starts. (MQTT itself forbids '+', '#' and invalid UTF-8 in the
# topic of a PUBLISH: the broker refuses those, so they never reach the
# bridge; the unit test test-mqtt-parts covers the bridge's own check.)
. "$(dirname "$0")/lib.sh"

start_broker
start_board b1
T=blinkd/b1
subscribe r "$T/result"

shapes=(
	"$T/start/|the topic names no program"
	"$T/replace/|the topic names no program"
	"$T/stop/|the topic names no program"
	"blinkd/all/start/|the topic names no program"
	"$T/start|start needs a name"
	"$T/stop|stop needs a name"
	"$T/start/a/b|a program name is one topic level"
	"$T/replace/a//|a program name is one topic level"
	"$T/stopall/x|stopall takes no name"
	"$T/stopall/|stopall takes no name"
	"$T/definitions/get/x|definitions/get takes no name"
	"$T/definitions/put|unknown verb \"definitions\""
	"$T/explode/x|unknown verb \"explode\""
	"$T/Start/x|unknown verb \"Start\""
	"blinkd/all/blink|unknown verb \"blink\""
	"$T//start/x|unknown verb \"\""
)
before=$(blinkd_list b1)
i=0
: >"$TEST_DIR/expected"
for shape in "${shapes[@]}"; do
	i=$((i + 1))
	pub "${shape%%|*}" "{\"id\": \"t$i\", \"program\": {\"on\": {\"lines\": [1]}}}"
	echo "t$i|$shape" >>"$TEST_DIR/expected"
done
# A last request's result comes after all of theirs: then each must have exactly one.
pub "$T/start/last" '{"id": "last", "program": {"on": {"lines": [2]}}}'
wait_result r '"last"' "$T/result" | grep -q '"ok":true' || fail "the request after them"
received r "$T/result" >"$TEST_DIR/results"
python3 - "$TEST_DIR/expected" "$TEST_DIR/results" <<'EOPY' || fail "results above"
import json, sys
results = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
bad = 0
for line in open(sys.argv[1]):
    id, topic, message = line.rstrip("\n").split("|", 2)
    mine = [r for r in results if r.get("id") == id]
    if len(mine) != 1:
        print(f"{topic}: {len(mine)} results, not one: {mine}")
        bad += 1
    elif mine[0]["ok"] or mine[0]["error"] != "io.blinkd1.Mqtt.Error.InvalidTopic" \
            or message not in mine[0]["message"]:
        print(f"{topic}: not InvalidTopic \"{message}\": {mine[0]}")
        bad += 1
sys.exit(1 if bad else 0)
EOPY
[ "$(blinkd_list b1 | grep -v '^last ')" = "$before" ] || fail "a refused request changed List: $(blinkd_list b1)"
grep -q ' 1 1$' "$TEST_DIR/b1.trace" && fail "a refused request lit line 1"

# A payload without an id is answered all the same; the bridge's own topics are no requests.
pub "$T/start/" ''
wait_until 10 "received r $T/result | grep -q '\"id\":null.*the topic names no program'"
n=$(received r "$T/result" | wc -l)
pub "$T/state" 'online'
pub "$T/running" '[]'
pub "$T/finished/x" '{}'
pub "$T/start/last2" '{"id": "last2", "program": {"on": {"lines": [4]}}}'
wait_result r '"last2"' "$T/result" | grep -q '"ok":true' || fail "the request after the own topics"
[ "$(received r "$T/result" | wc -l)" -eq $((n + 1)) ] || fail "own topics answered: $(received r "$T/result" | tail -n 4)"
