#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The payload limit holds before a request is read into memory: the bridge
# asks the broker (MQTT 5 maximum packet size) for nothing much larger than
# payload_max, so a 10 MB request never reaches it and its peak RSS
# (VmHWM) grows by far less than 10 MB; the broker drops that request, and
# no result can be published for it (the bridge never sees it). A request a
# little over payload_max still arrives and is answered PayloadTooLarge.
# The broker here takes packets of any size, as brokers do by default.
. "$(dirname "$0")/lib.sh"

# The harness's broker refuses packets over 1 MB itself; this one must not.
start_broker() {
	BROKER_PORT=$(free_port)
	cat >"$TEST_DIR/mosquitto.conf" <<-EOC
	listener $BROKER_PORT 127.0.0.1
	allow_anonymous true
	persistence false
	EOC
	"$MOSQUITTO" -c "$TEST_DIR/mosquitto.conf" >>"$TEST_DIR/broker.log" 2>&1 &
	BROKER_PID=$!
	wait_until 10 broker_up
}

# peak_rss_kib PID: the most resident memory the process ever had.
peak_rss_kib() {
	awk '$1 == "VmHWM:" { print $2 }' "/proc/$1/status"
}

start_broker
start_board b1
T=blinkd/b1
subscribe r "$T/result"
pid=${BRIDGE_PID[b1]}

pub "$T/start/warm" '{"id": "w", "program": {"on": {"lines": [1], "for": "10ms"}}}'
wait_result r '"w"' "$T/result" | grep -q '"ok":true' || fail "a first request"
before=$(peak_rss_kib "$pid")

# A little over the 65536 bytes of the default payload_max: answered.
python3 -c 'import json; print(json.dumps({"id": "over", "program": {"on": {"lines": [1]}}, "pad": "x" * 70000}))' >"$TEST_DIR/over.json"
mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -q 1 -t "$T/start/over" -f "$TEST_DIR/over.json"
wait_until 10 "received r $T/result | grep -q 'PayloadTooLarge'"
received r "$T/result" | grep PayloadTooLarge | grep -q 'more than the 65536' || fail "the cap is not named"

# 10 MB: dropped by the broker, never read by the bridge.
python3 -c 'import json; print(json.dumps({"id": "huge", "program": {"on": {"lines": [1]}}, "pad": "x" * 10000000}))' >"$TEST_DIR/huge.json"
mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -q 1 -t "$T/start/huge" -f "$TEST_DIR/huge.json" ||
	fail "the broker did not take the 10 MB request"
rm -f "$TEST_DIR/huge.json"
# Delivered in order: once this one is answered, the huge one came or never will.
pub "$T/start/after" '{"id": "after", "program": {"on": {"lines": [2], "for": "10ms"}}}'
wait_result r '"after"' "$T/result" | grep -q '"ok":true' || fail "the request after the huge one"
after=$(peak_rss_kib "$pid")
echo "bridge peak RSS: $before KiB before a 10 MB request, $after KiB after (+$((after - before)) KiB)"
[ $((after - before)) -lt 8192 ] || fail "the peak RSS grew by $((after - before)) KiB for a request that was over the limit"
received r "$T/result" | grep -q '"id":"huge"' && fail "the huge request reached the bridge"
kill -0 "$pid" || fail "the bridge died"
