#!/bin/bash
# SPDX-License-Identifier: MIT
#
# start --priority: shown by list, and on the trace a higher priority covers
# a lower one on a shared line while a lower one stays unseen.
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
source "${BASH_SOURCE[0]%/*}/lib.sh"

start_daemon

# A steady priority-0 "heartbeat" on line 11: it holds the line lit.
run 0 client start steady --program '{"on": {"lines": [11]}}'
wait_until 2 'test "$(trace_lit_now)" = 11'
before=$(trace_count)

# A priority -10 blink on the same line is covered: not one change.
run 0 client start under --program '{"blink": {"lines": [11], "interval": "50ms", "times": 3}}' --priority -10
run 0 client list
expect_stdout_has ' PRIO  '
[ "$(awk '$1 == "under" { print $4 }' "$OUT")" = "-10" ] || fail "list: $(cat "$OUT")"
[ "$(awk '$1 == "steady" { print $4 }' "$OUT")" = "0" ] || fail "list: $(cat "$OUT")"
wait_until 5 '! program_running under'
[ -z "$(trace_since "$before")" ] || fail "a priority -10 blink showed through: $(trace_since "$before")"

# A priority 10 alarm covers it: its dark halves are seen, three of them, and
# the steady line is lit again when the alarm is over.
run 0 client start alarm --program '{"blink": {"lines": [11], "interval": "100ms", "times": 3}}' --priority 10
run 0 client list --json
expect_stdout_has '"name":"alarm","started_usec":'
expect_stdout_has '"priority":10,"bound":false'
wait_until 5 '! program_running alarm'
[ "$(trace_since "$before" | awk '{ printf "%s=%s ", $2, $3 }')" = "11=0 11=1 11=0 11=1 11=0 11=1 " ] ||
	fail "the alarm did not cover the steady line: $(trace_since "$before")"
# Each dark half lasts the alarm's interval: its falling edge may be late by
# a busy machine's wakeup (60 ms, not 80, still fails the 50 ms of "under"),
# its rising one too (400 ms).
trace_since "$before" | awk '{ t[NR] = $1 } END { for (i = 1; i < NR; i += 2) { d = (t[i + 1] - t[i]) / 1000000; if (d < 60 || d > 400) { print "dark for " d " ms"; exit 1 } } }' ||
	fail "the alarm's dark halves: $(trace_since "$before")"
[ "$(trace_lit_now)" = 11 ] || fail "the steady line is not lit after the alarm"

# Without options, list keeps its old columns.
run 0 client list
expect_stdout "NAME    AGE  LINES  PROGRAM
steady  $(awk '$1 == "steady" { print $2 }' "$OUT")   11     {\"on\":{\"lines\":[11]}}"
run 0 client off
