#!/bin/bash
# SPDX-License-Identifier: MIT
#
# watch --once (text, JSON, UTF-8 and not), and watch without a terminal:
# one line per Frame.
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
source "${BASH_SOURCE[0]%/*}/lib.sh"

start_daemon

# The "lines" of watch --once --json for the default matrix: every line, in
# matrix order, on the simulated chip; lit are those given.
default_lines_json() {
	local n lit sep=""
	for n in 11 10 27 4 2 0 9 22 17 3 5 20 1 25 18 6 16 7 24 15 13 12 8 23 14; do
		lit=false
		[[ " $* " == *" $n "* ]] && lit=true
		printf '%s{"number":%s,"ref":"%s","alias":null,"chip":"sim","offset":%s,"present":true,"lit":%s}' \
			"$sep" "$n" "$n" "$n" "$lit"
		sep=,
	done
}

export LC_ALL=C.UTF-8
run 0 client watch --once
expect_stdout "· · · · ·
· · · · ·
· · · · ·
· · · · ·
· · · · ·

running: nothing"
run 0 client watch --once --json
expect_stdout '{"rows":[[11,10,27,4,2],[0,9,22,17,3],[5,20,1,25,18],[6,16,7,24,15],[13,12,8,23,14]],"lit":[],"programs":[],"lines":['"$(default_lines_json)"']}'

run 0 client start on --row 0 --name top
run 0 client start on --lines 9,14 --name dots
wait_until 2 'test "$(trace_lit_now | wc -w)" -eq 7'
run 0 client watch --once
expect_stdout "● ● ● ● ●
· ● · · ·
· · · · ·
· · · · ·
· · · · ●

running: dots, top"
run 0 client --json watch --once
expect_stdout '{"rows":[[11,10,27,4,2],[0,9,22,17,3],[5,20,1,25,18],[6,16,7,24,15],[13,12,8,23,14]],"lit":[11,10,27,4,2,9,14],"programs":["dots","top"],"lines":['"$(default_lines_json 11 10 27 4 2 9 14)"']}'

# Without UTF-8: plain ASCII.
LC_ALL=C run 0 client watch --once
expect_stdout "# # # # #
. # . . .
. . . . .
. . . . .
. . . . #

running: dots, top"
run 0 client off

# Not a terminal: "<monotonic usec> <lit offsets>" per frame, "-" for none.
watch_out=$TEST_DIR/watch.out
"$BLINKD_CLIENT" --user watch >"$watch_out" 2>"$TEST_DIR/watch.err" &
watch_pid=$!
wait_for_match Frame
run 0 client start on --lines 27,11 --for 1s --name flash
run 0 client wait flash
wait_until 2 'grep -q " -$" "$watch_out"'
grep -qx '[0-9]* 11,27' "$watch_out" || fail "no frame with 11 and 27 lit: $(cat "$watch_out")"
# The frames' times are the daemon's CLOCK_MONOTONIC, as the trace's: the
# frame carries the time of its batch, within the noise of the edge's.
frame_usec=$(awk '$2 == "11,27" { print $1; exit }' "$watch_out")
edge_usec=$(awk '$2 == 27 && $3 == 1 { print int($1 / 1000) }' "$TRACE" | tail -n1)
if [ $((frame_usec - edge_usec)) -lt -20000 ] || [ $((frame_usec - edge_usec)) -ge 1000000 ]; then
	fail "frame at $frame_usec us, edge at $edge_usec us"
fi
# Lit, then dark, in that order.
[ "$(awk '{ print $2 }' "$watch_out" | grep -n . | grep -m1 '11,27' | cut -d: -f1)" -lt \
  "$(awk '{ print $2 }' "$watch_out" | grep -n . | grep '^[0-9]*:-$' | tail -n1 | cut -d: -f1)" ] ||
	fail "frames out of order: $(cat "$watch_out")"

# SIGTERM ends it cleanly.
kill -TERM "$watch_pid"
rc=0
wait "$watch_pid" || rc=$?
[ "$rc" -eq 0 ] || fail "watch exited $rc on SIGTERM"

# The daemon goes away: watch says so and exits 3.
"$BLINKD_CLIENT" --user watch >/dev/null 2>"$TEST_DIR/watch.err" &
watch_pid=$!
wait_for_match Frame
stop_daemon
rc=0
wait "$watch_pid" || rc=$?
[ "$rc" -eq 3 ] || fail "watch exited $rc when the daemon left"
grep -q 'left the bus' "$TEST_DIR/watch.err" || fail "$(cat "$TEST_DIR/watch.err")"

run 2 client watch --json
run 2 client watch now
