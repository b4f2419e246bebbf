#!/bin/bash
# SPDX-License-Identifier: MIT
#
# start: every kind and every program option, checked on the trace.
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
source "${BASH_SOURCE[0]%/*}/lib.sh"

start_daemon

# The issue's example: row 0 is 11, 10, 27, 4, 2, lit one at a time in that order.
run 0 client start cycle --row 0 --interval 150ms --times 1
wait_until 5 '! program_running cycle'
[ "$(trace_rising)" = "11 10 27 4 2" ] || fail "cycle lit $(trace_rising)"
[ "$(trace_count)" -eq 10 ] || fail "cycle made $(trace_count) changes, expected 10"
max_lit=$(awk '{ lit += $3 ? 1 : -1; if (lit > max) max = lit } END { print max }' "$TRACE")
[ "$max_lit" -eq 1 ] || fail "cycle lit $max_lit lines at once"

# Without options it runs forever with the default interval of 0.5 s: rising
# edges 1 s apart (on 0.5 s, off 0.5 s). Never early (20 ms for the first
# edge's own stamp), and late by what a busy machine makes a wakeup late,
# well short of the 1.5 s of a 750 ms interval.
: >"$TRACE"
run 0 client start cycle --row 0
run 0 client list
expect_stdout_has '{"cycle":{"lines":{"row":0},"interval":"500ms"}}'
wait_until 5 'test "$(trace_rising | wc -w)" -ge 2'
[ "$(trace_rising)" = "11 10" ] || fail "cycle lit $(trace_rising)"
gap=$(awk '$3 == 1 { t[n++] = $1 } END { printf "%d", (t[1] - t[0]) / 1000000 }' "$TRACE")
if [ "$gap" -lt 980 ] || [ "$gap" -gt 1300 ]; then
	fail "rising edges $gap ms apart, expected 1000"
fi
run 0 client stop cycle
wait_until 2 nothing_lit

# blink: a column, all its lines in one batch, --times cycles.
: >"$TRACE"
run 0 client start blink --col 1 --interval 100ms --times 2
wait_until 5 '! program_running blink'
[ "$(trace_count)" -eq 20 ] || fail "blink made $(trace_count) changes, expected 20"
[ "$(awk '{ print $1 }' "$TRACE" | sort -u | wc -l)" -eq 4 ] ||
	fail "blink's edges were not batched: $(cat "$TRACE")"
[ "$(awk '$3 == 1 { print $2 }' "$TRACE" | sort -n -u | tr '\n' ' ')" = "9 10 12 16 20 " ] ||
	fail "blink did not light column 1"

# A bare number is seconds.
run 0 client start blink --row 3 --interval 0.05 --name seconds
run 0 client list
expect_stdout_has '{"blink":{"lines":{"row":3},"interval":"50ms"}}'
run 0 client stop seconds

# on: --lines by offset and by name, --for, --name.
: >"$TRACE"
run 0 client start on --lines 11,GPIO10,27 --for 500ms --name trio
run 0 client list
expect_stdout_has 'trio'
expect_stdout_has '{"on":{"lines":[11,"GPIO10",27],"for":"500ms"}}'
wait_until 5 '! program_running trio'
[ "$(trace_rising)" = "10 11 27" ] || fail "on lit $(trace_rising)"
nothing_lit || fail "on --for left lines lit"

# on --all: every line, until stopped.
run 0 client start on --all --name everything
wait_until 2 'test "$(trace_lit_now | wc -w)" -eq 25'
run 0 client stop everything
wait_until 2 nothing_lit

# A whole program: --program, --file FILE, --file - (stdin).
echo '{"on": {"lines": [2]}}' >"$TEST_DIR/p2.json"
run 0 client start p1 --program '{"on": {"lines": [4]}}'
run 0 client start --name p2 --file "$TEST_DIR/p2.json"
echo '{"on": {"lines": {"col": 4}}}' | run 0 client start p3 --file -
run 0 client list
expect_stdout_has '{"on":{"lines":[4]}}'
expect_stdout_has '{"on":{"lines":[2]}}'
expect_stdout_has '{"on":{"lines":{"col":4}}}'
[ "$(awk 'NR > 1 { print $1 }' "$OUT" | tr '\n' ' ')" = "p1 p2 p3 " ] ||
	fail "list shows $(cat "$OUT")"
wait_until 2 'test "$(trace_lit_now)" = "2 3 4 14 15 18"'
run 0 client off

# Any other word is a definition, started as {"call": WORD}, under its name or --name.
: >"$TRACE"
run 0 client start corners
run 0 client start flash --name quick
run 0 client list
expect_stdout_has '{"call":"corners"}'
expect_stdout_has '{"call":"flash"}'
expect_stdout_has 'quick'
wait_until 5 '! program_running quick'
wait_until 2 'test "$(trace_lit_now)" = "2 11 13 14"'
run 0 client off
wait_until 2 nothing_lit
