#!/bin/bash
# SPDX-License-Identifier: MIT
#
# start --timeout and --at: a program that ends "done" after its timeout,
# and one that is Scheduled until its time, then runs.
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
source "${BASH_SOURCE[0]%/*}/lib.sh"

start_daemon

now_usec() {
	echo $(($(date +%s%N) / 1000))
}

started_usec_of() {
	client list --json | sed -n "s/.*\"name\":\"$1\",\"started_usec\":\([0-9]*\).*/\1/p"
}

# The timeout is listed.
run 0 client start long --program '{"on": {"lines": [12]}}' --timeout 10s
run 0 client list
[ "$(awk '$1 == "long" { print $4 }' "$OUT")" = timeout=10s ] || fail "list: $(cat "$OUT")"
run 0 client list --json
expect_stdout_has '"timeout_usec":10000000'
run 0 client stop long
wait_until 2 nothing_lit

# --timeout 200ms: a program that would hold its line forever ends "done"
# (--bind exits 0 for nothing else) after 200 ms: never before (10 ms for
# the stamps), and late by no more than a busy machine's wakeup.
: >"$TRACE"
run 0 timeout 10 "$BLINKD_CLIENT" --user start short --program '{"on": {"lines": [12]}}' --timeout 200ms --bind
nothing_running || fail "the program runs after its timeout"
[ "$(awk '{ printf "%s=%s ", $2, $3 }' "$TRACE")" = "12=1 12=0 " ] || fail "trace: $(cat "$TRACE")"
lit_ms=$(awk '{ t[NR] = $1 } END { printf "%d", (t[2] - t[1]) / 1000000 }' "$TRACE")
if [ "$lit_ms" -lt 190 ] || [ "$lit_ms" -gt 700 ]; then
	fail "lit for $lit_ms ms, expected 200"
fi

# --at +2s: Scheduled and dark until then, with its start ahead. (Far enough
# ahead that the calls below come before it on a busy machine.)
: >"$TRACE"
before=$(now_usec)
run 0 client start later --program '{"on": {"lines": [13]}}' --at +2s
run 0 client list
[ "$(awk '$1 == "later" { print $4 }' "$OUT")" = scheduled ] || fail "list: $(cat "$OUT")"
[[ "$(awk '$1 == "later" { print $2 }' "$OUT")" == -* ]] || fail "AGE of a scheduled program: $(cat "$OUT")"
run 0 client list --json
expect_stdout_has '"scheduled":true'
started=$(started_usec_of later)
if [ $((started - before)) -lt 2000000 ] || [ $((started - before)) -ge 4000000 ]; then
	fail "StartedUSec $started is not 2 s after $before"
fi
# Dark while before its start (the trace read first, then the clock).
lit=$(trace_lit_now)
[ "$(now_usec)" -ge "$started" ] || [ -z "$lit" ] || fail "lit before its start: $(cat "$TRACE")"
wait_until 10 'test "$(trace_lit_now)" = 13'
run 0 client list
grep -q scheduled "$OUT" && fail "still scheduled after it started: $(cat "$OUT")"
run 0 client off

# --at an RFC 3339 time with an offset (+05:30), to the second.
at=$(($(date +%s) + 3))
text=$(TZ=UTC-05:30 date -d "@$at" +%Y-%m-%dT%H:%M:%S%:z)
[[ "$text" == *+05:30 ]] || fail "date gave $text"
run 0 client start at-offset --program '{"on": {"lines": [14]}}' --at "$text"
[ "$(started_usec_of at-offset)" = "${at}000000" ] || fail "--at $text: StartedUSec $(started_usec_of at-offset)"
run 0 client list --json
expect_stdout_has '"scheduled":true'
utc=$(date -u -d "@$at" +%Y-%m-%dT%H:%M:%SZ)
run 0 client replace at-offset --program '{"on": {"lines": [14]}}' --at "$utc"
[ "$(started_usec_of at-offset)" = "${at}000000" ] || fail "--at $utc: StartedUSec $(started_usec_of at-offset)"
run 0 client off
