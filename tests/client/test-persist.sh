#!/bin/bash
# SPDX-License-Identifier: MIT
#
# start --persist: the program is listed again, with the same StartedUSec,
# after the daemon restarts on the same state directory; others are not.
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
source "${BASH_SOURCE[0]%/*}/lib.sh"

start_daemon

started_usec_of() {
	client list --json | sed -n "s/.*\"name\":\"$1\",\"started_usec\":\([0-9]*\).*/\1/p"
}

run 0 client start keep --program '{"blink": {"lines": [11], "interval": "1s"}}' --persist
run 0 client start on --lines 10 --name plain
run 0 client list
[ "$(awk '$1 == "keep" { print $4 }' "$OUT")" = persistent ] || fail "list: $(cat "$OUT")"
[ "$(awk '$1 == "plain" { print $4 }' "$OUT")" = - ] || fail "list: $(cat "$OUT")"
run 0 client list --json
expect_stdout_has '"persistent":true'
started=$(started_usec_of keep)
[ -n "$started" ] || fail "no started_usec for keep"

stop_daemon
start_daemon
run 0 client list
[ "$(awk 'NR > 1 { print $1 }' "$OUT")" = keep ] || fail "after a restart: $(cat "$OUT")"
[ "$(awk '$1 == "keep" { print $4 }' "$OUT")" = persistent ] || fail "list: $(cat "$OUT")"
[ "$(started_usec_of keep)" = "$started" ] || fail "StartedUSec $(started_usec_of keep), was $started"
# And it runs: line 11 blinks again.
wait_until 3 'test "$(trace_rising | wc -w)" -ge 1'

# Stopped, it stays stopped.
run 0 client stop keep
stop_daemon
start_daemon
nothing_running || fail "a stopped persistent program came back: $(client list)"
