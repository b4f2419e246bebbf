#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The text form of the language: validate --text and its round trip with
# JSON, errors with line and column, text programs started and defined
# through blinkd-client and through busctl on the daemon, and the examples
# of blinkd-programs(7), each the same program in both forms.
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
source "${BASH_SOURCE[0]%/*}/lib.sh"

# --- validate, without a bus
export DBUS_SESSION_BUS_ADDRESS=unix:path=$TEST_DIR/no-bus

talk='forever(sequence(blink(col 0, 300ms, 2), blink(col 1, 200ms, 2)))'
talk_json='{"forever":{"sequence":[{"blink":{"lines":{"col":0},"interval":"300ms","times":2}},{"blink":{"lines":{"col":1},"interval":"200ms","times":2}}]}}'
run 0 client validate --text --program "$talk"
expect_stdout "$talk"
expect_stderr ''
run 0 client validate --program "$talk"
expect_stdout "$talk_json"
# JSON -> text -> JSON, and text -> JSON -> text.
run 0 client validate --text --program "$talk_json"
expect_stdout "$talk"
for program in \
	'any(on(row 2), cycle(col 2, 150ms, 3))' \
	'all(on([6, 12, 8, 23, 15]), forever(sequence(on([9, 17], 2s), wait(200ms))))' \
	'repeat(2, sequence(on(row 2, 100ms), wait(150ms)))' \
	'on(["pinctrl-rp1:GPIO17", status, "all"], 1m)' \
	'sequence(wait(1500ms), call("1st"), call(smiley))' \
	'fade(status, 0, 1, 2s)' \
	'all(dim(col 0, 0.25), pattern(row 0, [[1, 100ms], [0, 0]], 3), morse(11, "SOS"))'; do
	run 0 client validate --program "$program"
	json=$(cat "$OUT")
	run 0 client validate --text --program "$json"
	expect_stdout "$program"
	run 0 client validate --text --program "$program"
	expect_stdout "$program"
done

# Not canonical in, canonical out; from a file, with comments, and from stdin.
cat >"$TEST_DIR/heartbeat.txt" <<'EOT'
# Two beats on row 2.
repeat(2, sequence(
	on(row 2, 0.1s),   # the beat
	wait(150ms),
))
EOT
run 4 client validate --file "$TEST_DIR/heartbeat.txt"
expect_stderr 'blinkd-client: line 5, column 1: "," must be followed by an argument: sequence(PROGRAM, ...)'
sed -i 's/wait(150ms),/wait(150ms)/' "$TEST_DIR/heartbeat.txt"
run 0 client validate --text --file "$TEST_DIR/heartbeat.txt"
expect_stdout 'repeat(2, sequence(on(row 2, 100ms), wait(150ms)))'
run 0 client validate --file - <"$TEST_DIR/heartbeat.txt"
expect_stdout '{"repeat":{"times":2,"program":{"sequence":[{"on":{"lines":{"row":2},"for":"100ms"}},{"wait":"150ms"}]}}}'

# Invalid: exit 4, the place first, then the rule.
run 4 client validate --program 'blink(col 5, 300ms)'
expect_stdout ''
expect_stderr 'blinkd-client: line 1, column 11: col 5 is out of range (the layout has 5 columns)'
run 4 client validate --text --program 'blink(col 0, 300)'
expect_stderr 'blinkd-client: line 1, column 14: a duration needs its unit, as in 300ms or 2s (us, ms, s, m, h, d)'
run 4 client validate --program 'flash(row 1)'
expect_stderr_has 'line 1, column 1: unknown program "flash"'
run 4 client validate --program "$(printf 'sequence(\n  wait(1s),\n  on([11, 11]))')"
expect_stderr 'blinkd-client: line 3, column 11: line 11 is named twice'
# JSON keeps its paths.
run 4 client validate --text --program '{"wait": "2d"}'
expect_stderr 'blinkd-client: wait: must be between 100us and 1d (at $.wait)'
run 2 client validate --text
run 2 client validate --program 'wait(1s)' --text extra

# --- the daemon
unset DBUS_SESSION_BUS_ADDRESS
start_daemon

# start --program with the text form: column 1 (10 9 20 16 12) blinks twice.
: >"$TRACE"
run 0 client start twice --program 'blink(col 1, 100ms, 2)'
wait_until 5 '! program_running twice'
[ "$(trace_count)" -eq 20 ] || fail "blink made $(trace_count) changes, expected 20"
[ "$(awk '$3 == 1 { print $2 }' "$TRACE" | sort -n -u | tr '\n' ' ')" = "9 10 12 16 20 " ] ||
	fail "blink did not light column 1: $(cat "$TRACE")"

# The daemon shows its canonical JSON form, whichever form came in.
run 0 client start steady --program 'on([11, GPIO10])'
run 0 client list
expect_stdout_has '{"on":{"lines":[11,"GPIO10"]}}'
run 0 client stop steady
wait_until 2 nothing_lit

# A file in the text form, and a definition in it, started by name.
run 0 client define beat --file "$TEST_DIR/heartbeat.txt"
run 0 client definitions
expect_stdout_has '{"repeat":{"times":2,"program":{"sequence":[{"on":{"lines":{"row":2},"for":"100ms"}},{"wait":"150ms"}]}}}'
: >"$TRACE"
run 0 client start beat
wait_until 5 '! program_running beat'
[ "$(trace_rising)" = "1 5 18 20 25 1 5 18 20 25" ] || fail "beat lit $(trace_rising)"

# What only the daemon knows (its chip's names) comes back with line and column.
run 4 client start named --program "$(printf 'sequence(wait(1s),\n  on(LED_X))')"
expect_stderr 'blinkd-client: line 2, column 6: no line is named "LED_X"'

# busctl, straight to the D-Bus API: Start and Define take the text form too.
# (100 ms steps: a wakeup later than a step drops its pulse, and a busy
# machine makes some 20 ms late.)
: >"$TRACE"
busctl --user call io.blinkd1 /io/blinkd1 io.blinkd1.Manager Start ss talk \
	'any(on(row 2), cycle(col 2, 100ms, 1))' >"$OUT" 2>"$ERR" || fail "busctl Start: $(cat "$ERR")"
expect_stdout 'o "/io/blinkd1/program/talk"'
wait_until 5 '! program_running talk'
# Row 2 (5 20 1 25 18) and column 2 (27 22 1 7 8) went on, and all is dark again.
[ "$(awk '$3 == 1 { print $2 }' "$TRACE" | sort -n -u | tr '\n' ' ')" = "1 5 7 8 18 20 22 25 27 " ] ||
	fail "any lit $(trace_rising)"
nothing_lit || fail "any left lines lit: $(trace_lit_now)"

busctl --user call io.blinkd1 /io/blinkd1 io.blinkd1.Manager Define ss corner \
	'on(11, 50ms)' >"$OUT" 2>"$ERR" || fail "busctl Define: $(cat "$ERR")"
: >"$TRACE"
busctl --user call io.blinkd1 /io/blinkd1 io.blinkd1.Manager Start ss corners2 \
	'sequence(call(corner), wait(100ms), call(corner))' >"$OUT" 2>"$ERR" || fail "busctl Start: $(cat "$ERR")"
wait_until 5 '! program_running corners2'
[ "$(trace_rising)" = "11 11" ] || fail "corners2 lit $(trace_rising)"

# Refused: InvalidProgram, the message names the line and column.
rc=0
busctl --user call io.blinkd1 /io/blinkd1 io.blinkd1.Manager Start ss bad \
	'blink(col 5, 300ms)' >"$OUT" 2>"$ERR" || rc=$?
[ "$rc" -ne 0 ] || fail "busctl Start of an invalid program succeeded"
expect_stderr_has 'line 1, column 11: col 5 is out of range (the layout has 5 columns)'
rc=0
busctl --user call io.blinkd1 /io/blinkd1 io.blinkd1.Manager Define ss bad \
	'wait(1s' >"$OUT" 2>"$ERR" || rc=$?
[ "$rc" -ne 0 ] || fail "busctl Define of an invalid program succeeded"
expect_stderr_has 'line 1, column 8: expected "," or ")", found the end of the text'
nothing_running || fail "a refused program runs"

# --- the man page's examples: each text form is the JSON shown before it
: "${BLINKD_SOURCE_ROOT:?BLINKD_SOURCE_ROOT must name the source tree}"
export DBUS_SESSION_BUS_ADDRESS=unix:path=$TEST_DIR/no-bus
mkdir "$TEST_DIR/examples"
awk -v dir="$TEST_DIR/examples" '
	/^# / { inside = ($0 == "# EXAMPLES") }
	!inside { next }
	/^```$/ {
		if (code) {
			code = 0
			close(file)
		} else {
			code = 1
			file = sprintf("%s/%02d.%s", dir, ++n, text ? "text" : "json")
			text = 0
		}
		next
	}
	code { print > file; next }
	/^or, in the text form:$/ { text = 1 }
' "$BLINKD_SOURCE_ROOT/docs/blinkd-programs.7.scd"
pairs=0
for text in "$TEST_DIR"/examples/*.text; do
	n=$(basename "$text" .text)
	json=$TEST_DIR/examples/$(printf %02d $((10#$n - 1))).json
	[ -f "$json" ] || fail "the man page's text example $n follows no JSON"
	run 0 client validate --file "$json"
	want=$(cat "$OUT")
	run 0 client validate --file "$text"
	[ "$(cat "$OUT")" = "$want" ] || fail "the man page's example $n: $(cat "$text") is not $(cat "$json")"
	run 0 client validate --text --file "$json"
	want=$(cat "$OUT")
	run 0 client validate --text --file "$text"
	expect_stdout "$want"
	pairs=$((pairs + 1))
done
[ "$pairs" -ge 11 ] || fail "found $pairs examples in both forms in blinkd-programs(7), expected 11"
