#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Start options that are wrong: a bad value is bad usage (2) before
# anything is sent; options the daemon refuses (InvalidOptions) are 4.
# Nothing starts either way.
source "${BASH_SOURCE[0]%/*}/lib.sh"

start_daemon

for verb in start replace; do
	run 0 client "$verb" --help
	for option in --priority --bind --persist --timeout --at; do
		expect_stdout_has "$option"
	done
done

# bad OPTION VALUE MESSAGE: exit 2, saying MESSAGE, for start and replace.
bad() {
	local verb
	for verb in start replace; do
		run 2 client "$verb" on --lines 11 "$1" "$2"
		expect_stderr_has "$3"
	done
}

bad --priority 1001 '--priority: "1001" is not an integer from -1000 to 1000.'
bad --priority -1001 '--priority: "-1001" is not an integer from -1000 to 1000.'
bad --priority ten '--priority: "ten" is not an integer'
bad --priority 1.5 '--priority: "1.5" is not an integer'
bad --priority '' '--priority: "" is not an integer'
bad --priority 99999999999999999999 'is not an integer'
bad --timeout 5parsecs '--timeout: "5parsecs" is not a duration'
bad --timeout -1s '--timeout: "-1s" is not a duration'
bad --timeout '' '--timeout: "" is not a duration'
bad --timeout 50us '--timeout: "50us" is shorter than 100us.'
bad --timeout 0 '--timeout: "0" is shorter than 100us.'
bad --at tomorrow '--at: "tomorrow" is not a time'
bad --at 2026-11-30T17:00:00 '--at: "2026-11-30T17:00:00" is not a time'
bad --at 2026-02-30T17:00:00Z '--at: "2026-02-30T17:00:00Z" is not a time'
bad --at +5parsecs '--at: "+5parsecs" is not a time'
bad --at 1969-12-31T23:59:59Z '--at: "1969-12-31T23:59:59Z" is out of range.'
run 2 client start on --lines 11 --priority
run 2 client start on --lines 11 --bind=yes

# Refused by the daemon: InvalidOptions, 4, with its message.
run 4 client start on --lines 11 --bind --persist
expect_stderr 'blinkd-client: bind, persist: a program bound to its caller cannot outlive the daemon'
run 4 client start on --lines 11 --at +2d
expect_stderr_has 'at: more than a day ahead'
run 4 client replace on --lines 11 --at +25h --priority 3
expect_stderr_has 'at: more than a day ahead'

nothing_running || fail "a bad option started something: $(client list)"
[ "$(trace_count)" -eq 0 ] || fail "a bad option changed lines"
