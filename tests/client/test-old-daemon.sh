#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A daemon from before the Lines and Chips properties (old-daemon.py): the
# client takes its layout from the Layout property alone, checks programs
# against it, and draws it.
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
source "${BASH_SOURCE[0]%/*}/lib.sh"

/usr/bin/python3 -c 'import dbus_next' 2>/dev/null ||
	skip "python3-dbus-next is not installed (scripts/setup installs it)"
start_bus
/usr/bin/python3 "${BASH_SOURCE[0]%/*}/old-daemon.py" 2>"$TEST_DIR/blinkd.log" &
DAEMON_PID=$!
wait_until 5 'name_owned io.blinkd1 || ! kill -0 $DAEMON_PID'
kill -0 "$DAEMON_PID" 2>/dev/null || fail "old-daemon.py exited"
busctl --user get-property io.blinkd1 /io/blinkd1 io.blinkd1.Manager Lines >/dev/null 2>&1 &&
	fail "the stand-in has a Lines property"

export LC_ALL=C.UTF-8
run 0 client watch --once
expect_stdout "· ● ·
· ● ·

running: nothing"
run 0 client watch --once --json
expect_stdout_has '"rows":[[5,6,7],[8,9,10]],"lit":[6,9],"programs":[],"lines":[{"number":5,"ref":"5","alias":null,'

run 0 client start on --row 1 --name r
run 0 client start on --lines 10,7 --name l
run 0 busctl --user call io.blinkd1 /io/blinkd1 io.blinkd1.Manager List
expect_stdout 'a(ss) 2 "l" "{\"on\":{\"lines\":[10,7]}}" "r" "{\"on\":{\"lines\":{\"row\":1}}}"'
# Checked against the daemon's matrix before sending.
run 4 client start on --row 2 --name far
expect_stderr_has "row 2 is out of range (the layout has 2 rows)"
run 4 client start on --lines 11 --name absent
expect_stderr_has "line 11 is not in the layout"
run 0 client list
expect_stdout "NAME  AGE  LINES  PROGRAM"
