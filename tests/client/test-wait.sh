#!/bin/bash
# SPDX-License-Identifier: MIT
#
# wait: 0 when every program ended "done", 1 when one was stopped or
# replaced, 5 when one was not running, 3 when the daemon went away.
source "${BASH_SOURCE[0]%/*}/lib.sh"

start_daemon

# Runs COMMAND... in the background; its exit status ends up in $TEST_DIR/NAME.rc.
background() {
	local name=$1
	shift
	rm -f "$TEST_DIR/$name.rc"
	( rc=0; "$@" >"$TEST_DIR/$name.out" 2>"$TEST_DIR/$name.err" || rc=$?; echo "$rc" >"$TEST_DIR/$name.rc" ) &
}

background_status() {
	wait_until 5 "test -s '$TEST_DIR/$1.rc'"
	cat "$TEST_DIR/$1.rc"
}

waiting() {
	wait_for_match Finished
}

# Two programs that end by themselves, at different times.
run 0 client start on --lines 11 --for 2s --name short
run 0 client start blink --lines 10 --interval 400ms --times 3 --name longer
run 0 client wait short longer
nothing_running || fail "wait returned while programs ran"
nothing_lit || fail "wait returned while lines were lit"

# Stopped while waited for: 1.
run 0 client start on --lines 4 --name forever
background stopped client wait forever
waiting
run 0 client stop forever
[ "$(background_status stopped)" = 1 ] || fail "wait on a stopped program: $(cat "$TEST_DIR/stopped.rc")"
grep -qF 'forever ended "stopped"' "$TEST_DIR/stopped.err" || fail "$(cat "$TEST_DIR/stopped.err")"

# Replaced while waited for: 1. A wait on the new program sees it end "done".
run 0 client start on --lines 4 --name r
background replaced client wait r
waiting
run 0 client replace on --lines 2 --for 2s --name r
[ "$(background_status replaced)" = 1 ] || fail "wait on a replaced program: $(cat "$TEST_DIR/replaced.rc")"
run 0 client wait r

# One "done", one stopped: 1, after both ended.
run 0 client start on --lines 11 --for 2s --name done-one
run 0 client start on --lines 10 --name stopped-one
background mixed client wait done-one stopped-one
waiting
run 0 client stop stopped-one
[ ! -e "$TEST_DIR/mixed.rc" ] || fail "wait returned before done-one ended"
[ "$(background_status mixed)" = 1 ] || fail "wait on done + stopped: $(cat "$TEST_DIR/mixed.rc")"
nothing_running || fail "wait returned while done-one ran"

# Not running at the start: 5, at once, even when the others run.
run 5 client wait nope
expect_stderr 'blinkd-client: nope is not running.'
run 0 client start on --lines 11 --name here
run 5 client wait here nope
run 0 client off

# The daemon goes away: 3.
run 0 client start on --lines 11 --name orphan
background gone client wait orphan
waiting
stop_daemon
[ "$(background_status gone)" = 3 ] || fail "wait when the daemon left: $(cat "$TEST_DIR/gone.rc")"

run 2 client wait
