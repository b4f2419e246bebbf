#!/bin/bash
# SPDX-License-Identifier: MIT
#
# LimitExceeded: with 1024 programs running the next start exits 6.
source "${BASH_SOURCE[0]%/*}/lib.sh"

start_daemon

# Fill the daemon quickly, straight over the bus, 16 calls at a time.
seq 1024 | xargs -P 16 -I{} busctl --user call io.blinkd1 /io/blinkd1 io.blinkd1.Manager \
	Start ss "idle{}" '{"wait": "1d"}' >/dev/null || fail "could not start 1024 programs"

run 6 client start on --all --name one-too-many
expect_stderr_has '1024'
run 0 client stop idle1
run 0 client start on --all --name one-too-many
run 0 client off
wait_until 5 nothing_running
