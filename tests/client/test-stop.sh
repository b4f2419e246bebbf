#!/bin/bash
# SPDX-License-Identifier: MIT
#
# stop NAME..., stop --all and off.
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
source "${BASH_SOURCE[0]%/*}/lib.sh"

start_daemon

start_three() {
	run 0 client start on --lines 11 --name a
	run 0 client start on --lines 10 --name b
	run 0 client start on --lines 11,27 --name c
	wait_until 2 'test "$(trace_lit_now)" = "10 11 27"'
}

names() {
	client list | awk 'NR > 1 { printf "%s ", $1 }'
}

# Two at once; a line another program holds stays lit.
start_three
run 0 client stop a b
expect_stdout ""
[ "$(names)" = "c " ] || fail "after stop a b: $(names)"
wait_until 2 'test "$(trace_lit_now)" = "11 27"'

# A name that does not run: 5, and the others are stopped all the same.
run 0 client start on --lines 4 --name d
run 5 client stop c nope d
expect_stderr_has 'nope'
[ -z "$(names)" ] || fail "after stop c nope d: $(names)"
wait_until 2 nothing_lit

# --all and off: nothing runs, every line is dark.
start_three
run 0 client stop --all
wait_until 2 nothing_running
wait_until 2 nothing_lit
start_three
run 0 client off
wait_until 2 nothing_running
wait_until 2 nothing_lit
# With nothing running they succeed all the same.
run 0 client off
run 0 client stop --all

run 2 client stop
run 2 client stop --all a
run 2 client off now
