#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Lines without a matrix, on several simulated chips: the client takes
# aliases, references and names wherever it takes lines, list names lines
# by alias, and watch draws them as a list, a line a row, with the chip and
# offset of each and the chips that are absent. Then a matrix with lines
# outside it, listed below it.
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
source "${BASH_SOURCE[0]%/*}/lib.sh"

cat >"$CONFIG" <<'EOC'
{
  "lines": {
    "27": {"alias": "status", "active_low": true},
    "GPIO17": {"alias": "relay"},
    "exp:2": {"alias": "green"},
    "exp:LED3": {},
    "usb:0": {"alias": "beep"}
  },
  "sim_chips": [
    {"label": "exp", "lines": 4, "names": ["", "", "", "LED3"]},
    {"label": "usb", "lines": 2, "present": false}
  ]
}
EOC
start_daemon

set_present() {
	busctl --user call io.blinkd1 /io/blinkd1 io.blinkd1.Simulation SetChipPresent sb "$1" "$2"
}

export LC_ALL=C.UTF-8
run 0 client watch --once
expect_stdout "· status    sim 27
· relay     sim 17
· green     exp 2
· exp:LED3  exp 3
· beep      usb 0 (absent)

running: nothing"
LC_ALL=C run 0 client watch --once
expect_stdout ". status    sim 27
. relay     sim 17
. green     exp 2
. exp:LED3  exp 3
. beep      usb 0 (absent)

running: nothing"
run 0 client watch --once --json
expect_stdout '{"rows":[],"lit":[],"programs":[],"lines":[{"number":27,"ref":"27","alias":"status","chip":"sim","offset":27,"present":true,"lit":false},{"number":65536,"ref":"GPIO17","alias":"relay","chip":"sim","offset":17,"present":true,"lit":false},{"number":65537,"ref":"exp:2","alias":"green","chip":"exp","offset":2,"present":true,"lit":false},{"number":65538,"ref":"exp:LED3","alias":null,"chip":"exp","offset":3,"present":true,"lit":false},{"number":65539,"ref":"usb:0","alias":"beep","chip":"usb","offset":0,"present":false,"lit":false}]}'

# Lines by alias, by reference, by the name the chip gives, and by number.
run 0 client start on --lines status,exp:LED3,beep --name three
run 0 client start blink --lines relay --interval 1h --name one
run 0 client start on --lines GPIO2 --name byname
run 0 client start on --lines 65536 --name bynumber
# list_lines NAME: the LINES column of program NAME in list's table.
list_lines() {
	client list | awk -v name="$1" '$1 == name { print $3 }'
}
[ "$(list_lines byname)" = green ] || fail "list: $(client list)"
[ "$(list_lines bynumber)" = relay ] || fail "list: $(client list)"
[ "$(list_lines three)" = status,exp:LED3,beep ] || fail "list: $(client list)"
run 0 client watch --once
expect_stdout "● status    sim 27
● relay     sim 17
● green     exp 2
● exp:LED3  exp 3
● beep      usb 0 (absent)

running: byname, bynumber, one, three"
# The lines of the one chip there are written; the absent chip's are not.
wait_until 2 'test "$(trace_lit_now)" = "27 65536 65537 65538"'
run 0 client list --json
grep -q '"name":"three","started_usec":[0-9]*,"lines":\[27,65538,65539\]' "$OUT" ||
	fail "list --json does not give the numbers: $(cat "$OUT")"

# The names the daemon resolves, the client resolves too: one line twice is refused before sending.
run 4 client start on --lines status,27 --name twice
expect_stderr_has "line 27 is named twice"
run 4 client start on --lines beep,usb:0 --name twice
expect_stderr_has "line 65539 is named twice"
run 4 client start on --lines nosuch --name none
expect_stderr_has 'no line is named "nosuch"'
program_running twice && fail "a refused program runs"
# No matrix, so no rows or columns.
run 4 client start on --row 0
expect_stderr_has "the layout has no matrix"
run 2 client start on --col green
expect_stderr_has "--lines"
run 0 client start on --all --name everything
run 0 client stop everything

# Chips come and go: watch --once says which are there.
# The returning chip's line is requested lit at once; the vanished chip's are not written.
n_trace=$(trace_count)
run 0 set_present usb true
run 0 set_present exp false
wait_until 2 'trace_since "$n_trace" | grep -q " 65539 1"'
trace_since "$n_trace" | grep -q " 6553[78] " && fail "lines of a vanished chip were written: $(trace_since "$n_trace")"
run 0 client watch --once
expect_stdout "● status    sim 27
● relay     sim 17
● green     exp 2 (absent)
● exp:LED3  exp 3 (absent)
● beep      usb 0

running: byname, bynumber, one, three"

# Not on a terminal, watch prints line numbers, as it always did.
run 0 set_present exp true
run 0 client off
watch_out=$TEST_DIR/watch.out
"$BLINKD_CLIENT" --user watch >"$watch_out" 2>"$TEST_DIR/watch.err" &
watch_pid=$!
wait_for_match Frame
run 0 client start on --lines green,beep --for 300ms --name flash
run 0 client wait flash
wait_until 2 'grep -q " -$" "$watch_out"'
grep -qx '[0-9]* 65537,65539' "$watch_out" || fail "no frame with 65537 and 65539: $(cat "$watch_out")"
kill -TERM "$watch_pid"
wait "$watch_pid" || fail "watch exited $? on SIGTERM"

# A matrix, and lines outside it, an LED class device among them: the
# matrix, then the lines by alias; the LED by its name alone.
stop_daemon
cat >"$CONFIG" <<'EOC'
{
  "matrix": [[11, 10], ["GPIO27", "exp:1"]],
  "lines": {"exp:0": {"alias": "beacon"}, "GPIO27": {"alias": "corner"}, "led:act": {"alias": "act"}},
  "sim_chips": [{"label": "exp", "lines": 2}]
}
EOC
start_daemon
run 0 client start on --lines corner,beacon --name two
run 0 client start half --program '{"dim": {"lines": ["act"], "level": 0.5}}'
run 0 client watch --once
expect_stdout "· ·
● ·

● beacon  exp 0
● act     led:act

running: half, two"
run 0 client start on --row 1 --name row
[ "$(list_lines row)" = corner,exp:1 ] || fail "list: $(client list)"
[ "$(list_lines half)" = act ] || fail "list: $(client list)"
run 0 set_present exp false
run 0 client watch --once
expect_stdout "· ·
● ●

● beacon  exp 0 (absent)
● act     led:act

absent: exp

running: half, row, two"
run 0 client watch --once --json
grep -qF '"rows":[[11,10],[65536,65537]],"lit":[65536,65537,65538,65539]' "$OUT" ||
	fail "watch --once --json: $(cat "$OUT")"
