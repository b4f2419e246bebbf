#!/bin/bash
# SPDX-License-Identifier: MIT
#
# A daemon that is not running, and a bus that is not there: every verb
# that talks to blinkd exits 3 with one line saying so; validate still works.
source "${BASH_SOURCE[0]%/*}/lib.sh"

talkers=(
	"start cycle --row 0"
	"replace on --all"
	"stop x"
	"stop --all"
	"off"
	"list"
	"define d --program {\"wait\":1}"
	"undefine d"
	"definitions"
	"wait x"
	"watch"
	"watch --once"
	"watch --once --json"
)

# A bus, but nobody owns io.blinkd1 on it.
start_bus
for args in "${talkers[@]}"; do
	# shellcheck disable=SC2086 # the words are meant to split
	run 3 client $args
	expect_stdout ''
	expect_stderr 'blinkd-client: blinkd is not running: nothing owns io.blinkd1 on the session bus.'
done
run 0 client validate --program '{"wait": 1}'

# No bus at all.
export DBUS_SESSION_BUS_ADDRESS=unix:path=$TEST_DIR/no-bus
for args in "${talkers[@]}"; do
	# shellcheck disable=SC2086
	run 3 client $args
	expect_stderr_has 'Failed to connect to the session bus'
done
run 0 client validate --program '{"wait": 1}'

# The daemon came and went: 3 again.
DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$TEST_DIR/bus-address")
start_daemon
run 0 client list
stop_daemon
run 3 client list
