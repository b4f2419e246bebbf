#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Exit codes and messages: bad usage 2, invalid program or name 4, not
# running or not defined 5, exists 6; --help for every verb; --version.
source "${BASH_SOURCE[0]%/*}/lib.sh"

start_daemon

verbs="start replace stop off list define undefine definitions wait watch validate"

# --help: the overview lists every verb and every exit code; each verb has its own.
run 0 client --help
for verb in $verbs; do
	grep -q "^  $verb " "$OUT" || fail "--help does not list $verb"
done
for code in 0 1 2 3 4 5 6 7 8 9 128+N; do
	grep -q "^  $code  " "$OUT" || fail "--help does not document exit code $code"
done
run 0 "$BLINKD_CLIENT" -h
for verb in $verbs; do
	run 0 client "$verb" --help
	grep -q "^Usage: blinkd-client $verb" "$OUT" || fail "$verb --help: $(cat "$OUT")"
	expect_stderr ''
done
run 0 client start --help
for option in --row --col --lines --all --interval --times --for --name --program --file \
	--priority --bind --persist --timeout --at; do
	expect_stdout_has "$option"
done
run 0 client --version
grep -qx 'blinkd-client [0-9][0-9.]*' "$OUT" || fail "--version: $(cat "$OUT")"

# 2: bad usage, with a hint, and nothing sent.
run 2 "$BLINKD_CLIENT"
run 2 client frobnicate
expect_stderr_has 'Unknown verb "frobnicate"'
run 2 client --frobnicate list
run 2 client list --frobnicate
expect_stderr_has "blinkd-client list: unrecognized option '--frobnicate'"
run 2 client start
run 2 client start blink
expect_stderr_has 'blink needs lines'
run 2 client start blink --row 1 --col 2
run 2 client start blink --row one
run 2 client start blink --all --times many
run 2 client start on --all --interval 1s
run 2 client start cycle --row 0 --for 1s
run 2 client start blink --lines 11,,10
run 2 client start corners --row 1
run 2 client start --program '{"wait": 1}'
run 2 client start p --program '{"wait": 1}' --row 1
run 2 client start p --program '{"wait": 1}' --file /dev/null
run 2 client start on --all extra
run 2 client replace
run 2 client watch --json
nothing_running || fail "a bad usage started something"
[ "$(trace_count)" -eq 0 ] || fail "a bad usage changed lines"

# 4: invalid program or name, from the local check or from the daemon.
run 4 client start blink --all --interval 10us
expect_stderr 'blinkd-client: interval: must be between 100us and 1d (at $.blink.interval)'
run 4 client start blink --all --times 0
expect_stderr_has '(at $.blink.times)'
run 4 client start cycle --row 7
expect_stderr_has '(at $.cycle.lines.row)'
run 4 client start on --lines 11,99
expect_stderr_has '(at $.on.lines[1])'
# Names are the daemon's to check: GPIO99 passes the local parser, not blinkd.
run 4 client start on --lines GPIO99
expect_stderr 'blinkd-client: lines[0]: no line is named "GPIO99" (at $.on.lines[0])'
run 4 client start p --program '{"on": {"lines": [2]}, "off": 1}'
run 4 client start on --all --name 'two words'
expect_stderr_has 'Invalid name "two words"'
run 4 client start 'no/such'
run 4 client start "$(printf 'x%.0s' $(seq 65))" --program '{"wait": 1}'
nothing_running || fail "an invalid program started"

# 5: not running, not defined.
run 5 client stop ghost
expect_stderr 'blinkd-client: no program named "ghost" is running'
run 5 client undefine ghost
expect_stderr 'blinkd-client: no definition named "ghost"'
run 5 client start ghost
run 5 client wait ghost

# 6: the name runs already.
run 0 client start on --lines 11 --name once
run 6 client start on --lines 10 --name once
expect_stderr_has '"once"'
run 0 client list
expect_stdout_has '{"on":{"lines":[11]}}'
run 0 client off
