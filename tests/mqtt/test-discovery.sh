#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Home Assistant discovery: every line and the matrix as an MQTT light of
# the JSON schema (checked by check-discovery.py against the keys HA
# requires), commands as HA sends them (ON, an effect, OFF) reaching the
# lines, the state topics following, and the configs again when HA says
# it is back (homeassistant/status) or the definitions change.
. "$(dirname "$0")/lib.sh"

CHECK="python3 $(dirname "$0")/check-discovery.py"
OFFSETS="0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,20,22,23,24,25,27"

start_broker
start_board b1
T=blinkd/b1
subscribe d 'homeassistant/light/+/config'
subscribe r "$T/result" "$T/light/+/state"

# The configs: retained, one per line and one for the matrix.
wait_until 5 "[ \$(grep -c ^homeassistant/light/ '$TEST_DIR/d.sub') -ge 26 ]"
grep ^homeassistant/ "$TEST_DIR/d.sub" | $CHECK blinkd b1 homeassistant corners,flash "$OFFSETS" ||
	fail "discovery configs"
[ "$(grep -c ^homeassistant/ "$TEST_DIR/d.sub")" -eq 26 ] || fail "not 26 configs"

# ON: the line goes on, under ha-12; the state topic says ON.
pub "$T/light/12/set" '{"state": "ON"}'
wait_until 5 "received r $T/light/12/state | grep -qx '{\"state\":\"ON\",\"color_mode\":\"onoff\"}'"
[ "$(blinkd_list b1)" = 'ha-12 {"on":{"lines":[12]}}' ] || fail "ON: $(blinkd_list b1)"
wait_until 5 "grep -q ' 12 1$' '$TEST_DIR/b1.trace'"
[ "$(retained "$T/light/matrix/state")" = '{"state":"ON","color_mode":"onoff"}' ] ||
	fail "the matrix is not ON while a line is"

# An effect: the definition runs under ha-12, and the state names it.
pub "$T/light/12/set" '{"state": "ON", "effect": "corners"}'
wait_until 5 "received r $T/light/12/state | grep -q '\"effect\":\"corners\"'"
[ "$(blinkd_list b1)" = 'ha-12 {"call":"corners"}' ] || fail "effect: $(blinkd_list b1)"
wait_until 5 "grep -q ' 14 1$' '$TEST_DIR/b1.trace'"

# OFF: stopped; OFF again is no error.
pub "$T/light/12/set" '{"state": "OFF"}'
wait_until 5 "[ -z \"\$(blinkd_list b1)\" ]"
wait_until 5 "[ \"\$(retained $T/light/12/state)\" = '{\"state\":\"OFF\"}' ]"
pub "$T/light/12/set" '{"state": "OFF"}'
wait_until 5 "[ \$(received r $T/result | grep -c '\"name\":\"ha-12\"') -ge 4 ]"
received r "$T/result" | grep '"name":"ha-12"' | grep -q '"ok":false' &&
	fail "an ON, effect or OFF failed: $(received r "$T/result")"

# The matrix: every line.
pub "$T/light/matrix/set" '{"state": "ON"}'
wait_until 5 "blinkd_list b1 | grep -qx 'ha-matrix {\"on\":{\"lines\":\"all\"}}'"
pub "$T/light/matrix/set" '{"state": "OFF"}'
wait_until 5 "[ -z \"\$(blinkd_list b1)\" ]"

# What HA cannot send to this light, and effects the board does not have.
pub "$T/light/3/set" '{"state": "ON", "brightness": 128}'
wait_until 5 "received r $T/result | grep -q 'brightness: not supported'"
pub "$T/light/3/set" '{"state": "ON", "effect": "disco"}'
wait_until 5 "received r $T/result | grep -q 'io.blinkd1.Error.NotDefined'"
pub "$T/light/3/set" 'ON'
wait_until 5 "received r $T/result | grep -q 'ha-3.*InvalidPayload.*invalid JSON'"
[ -z "$(blinkd_list b1)" ] || fail "a refused command started something: $(blinkd_list b1)"

# HA restarts: the configs again. A new definition: in every effect list.
: >"$TEST_DIR/d.sub"
pub homeassistant/status online
wait_until 5 "[ \$(grep -c ^homeassistant/light/ '$TEST_DIR/d.sub') -ge 26 ]"
DBUS_SESSION_BUS_ADDRESS=${BUS_ADDRESS[b1]} busctl --user call io.blinkd1 /io/blinkd1 \
	io.blinkd1.Manager Define ss blink-all '{"blink":{"lines":"all","interval":"0.5s"}}'
: >"$TEST_DIR/d.sub"
pub "$T/definitions/get" ''
wait_until 5 "[ \$(grep -c ^homeassistant/light/ '$TEST_DIR/d.sub') -ge 26 ]"
grep ^homeassistant/ "$TEST_DIR/d.sub" | $CHECK blinkd b1 homeassistant blink-all,corners,flash "$OFFSETS" ||
	fail "discovery configs after Define"

# Availability follows blinkd.
stop_blinkd b1
wait_until 5 "state_is b1 offline"
