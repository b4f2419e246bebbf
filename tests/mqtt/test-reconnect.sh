#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The broker and blinkd go away mid-run and come back: the bridge says so
# (state offline), refuses what it cannot pass on, reconnects, and works
# after. Prints how long each took.
BROKER_PERSIST=1
. "$(dirname "$0")/lib.sh"

start_broker
start_board b1
start_board b2
T=blinkd/b1

# --- the broker restarts while programs run
pub "$T/start/long" '{"program": {"blink": {"lines": [11], "interval": "50ms"}}}'
wait_until 5 "retained $T/running | grep -q long"
stop_broker
t0=$(now_ms)
sleep 1
start_broker
subscribe r "$T/result" "blinkd/b2/result"
wait_until 40 "state_is b1 online && state_is b2 online"
t1=$(now_ms)
pub "$T/start/after" '{"program": {"on": {"lines": [3]}}, "id": "a1"}'
wait_result r '"a1"' "$T/result" | grep -q '"ok":true' || fail "start after the broker came back"
t2=$(now_ms)
retained "$T/running" | grep -q long || fail "running was not republished: $(retained "$T/running")"
grep -q "Lost the broker" "$TEST_DIR/b1-bridge.log" || fail "the bridge did not notice"
echo "broker back after 1 s down: online again after $((t1 - t0 - 1000)) ms, a request answered $((t2 - t1)) ms later"

# --- a report made while the broker is away is kept and sent when it is
# back; a subscriber's persistent session in a broker that keeps its
# sessions on disk receives it, even though it came back after the bridge.
pub "$T/start/soon" '{"program": {"on": {"lines": [4], "for": "1s"}}}'
subscribe_session f "$T/finished/soon"
kill "${SUB_PIDS[-1]}"
stop_broker
sleep 1.5 # soon finishes while the broker is down
start_broker
wait_until 40 "state_is b1 online"
subscribe_session f "$T/finished/soon"
wait_until 10 "received f $T/finished/soon | grep -q done"

# --- blinkd goes away: state offline, requests refused, nothing lost
subscribe r2 "$T/result"
stop_blinkd b1
t0=$(now_ms)
wait_until 10 "state_is b1 offline"
t1=$(now_ms)
state_is b2 online || fail "b2 went offline with b1's blinkd"
[ "$(retained "$T/running")" = "[]" ] || fail "running while blinkd is gone: $(retained "$T/running")"
pub "$T/start/nobody" '{"program": {"on": {"lines": [5]}}, "id": "n1"}'
res=$(wait_result r2 '"n1"' "$T/result")
[ "$(json_get "$res" 'j["error"]')" = io.blinkd1.Mqtt.Error.Unavailable ] || fail "while blinkd is gone: $res"
echo "blinkd stopped: state offline after $((t1 - t0)) ms"

start_blinkd b1
t0=$(now_ms)
wait_until 10 "state_is b1 online"
t1=$(now_ms)
pub "$T/start/back" '{"program": {"on": {"lines": [6], "for": "100ms"}}, "id": "b1"}'
wait_result r2 '"b1"' "$T/result" | grep -q '"ok":true' || fail "start after blinkd came back"
wait_until 5 "grep -q ' 6 1$' '$TEST_DIR/b1.trace'"
# Subscribed again: the new blinkd's frames reach the lit topic.
subscribe l "$T/lit"
pub "$T/start/lit" '{"program": {"on": {"lines": [9]}}}'
wait_until 5 "received l $T/lit | grep -qx '\[9\]'"
echo "blinkd started again: state online after $((t1 - t0)) ms"

# --- and once more, with programs running
pub "$T/start/again" '{"program": {"on": {"lines": [1]}}, "id": "g1"}'
wait_result r2 '"g1"' "$T/result" | grep -q '"ok":true' || fail "start before the second restart"
stop_blinkd b1
wait_until 10 "state_is b1 offline"
start_blinkd b1
wait_until 10 "state_is b1 online"

# --- the bus itself goes away: the bridge stays up and reconnects
stop_blinkd b1
kill "${BUS_PID[b1]}"; wait "${BUS_PID[b1]}" 2>/dev/null || true
rm -f "$TEST_DIR/b1.bus" "$TEST_DIR/b1.bus-address"
wait_until 10 "state_is b1 offline"
kill -0 "${BRIDGE_PID[b1]}" || fail "the bridge died with the bus"
start_bus b1
start_blinkd b1
t0=$(now_ms)
wait_until 40 "state_is b1 online"
echo "bus restarted: state online after $(($(now_ms) - t0)) ms"
pub "$T/start/bus" '{"program": {"on": {"lines": [8]}}, "id": "c1"}'
wait_result r2 '"c1"' "$T/result" | grep -q '"ok":true' || fail "start after the bus came back"

# --- the will: a bridge that dies is offline all the same
kill -9 "${BRIDGE_PID[b2]}"
wait "${BRIDGE_PID[b2]}" 2>/dev/null || true
BRIDGE_PID[b2]=
t0=$(now_ms)
wait_until 10 "state_is b2 offline"
echo "bridge killed: the will said offline after $(($(now_ms) - t0)) ms"
