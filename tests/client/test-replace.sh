#!/bin/bash
# SPDX-License-Identifier: MIT
#
# replace: the new program starts at the instant the old one ends, in one
# batch, so a line lit by both is never dark.
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
source "${BASH_SOURCE[0]%/*}/lib.sh"

start_daemon

run 0 client start on --lines 11,10 --name r
wait_until 2 'test "$(trace_lit_now)" = "10 11"'
mark=$(trace_count)
run 0 client replace on --lines 10,27 --name r
wait_until 2 'test "$(trace_lit_now)" = "10 27"'
# 11 off and 27 on in one batch; 10, lit by both, untouched.
changes=$(trace_since "$mark")
[ "$(echo "$changes" | wc -l)" -eq 2 ] || fail "replace made these changes: $changes"
[ "$(echo "$changes" | awk '{ print $1 }' | sort -u | wc -l)" -eq 1 ] ||
	fail "replace took more than one batch: $changes"
echo "$changes" | grep -q ' 10 ' && fail "line 10 changed during replace: $changes"
echo "$changes" | grep -qx '[0-9]* 11 0' || fail "line 11 did not go off: $changes"
echo "$changes" | grep -qx '[0-9]* 27 1' || fail "line 27 did not go on: $changes"
run 0 client list
expect_stdout_has '{"on":{"lines":[10,27]}}'
[ "$(wc -l <"$OUT")" -eq 2 ] || fail "replace left two programs: $(cat "$OUT")"

# Replacing what does not run is starting it; start on a running name is refused (6).
run 0 client replace cycle --row 0 --interval 100ms
run 6 client start cycle --row 0
expect_stderr_has 'cycle'
run 0 client replace cycle --row 1 --interval 50ms
run 0 client list
expect_stdout_has '{"cycle":{"lines":{"row":1},"interval":"50ms"}}'

# replace takes every program option start takes.
run 0 client replace r --program '{"blink": {"lines": "all", "interval": "1s"}}'
run 0 client list
expect_stdout_has '{"blink":{"lines":"all","interval":"1s"}}'
run 4 client replace r --program '{"blink": {"lines": "all"}}'
run 0 client list
expect_stdout_has '{"blink":{"lines":"all","interval":"1s"}}'
run 0 client off
