#!/bin/bash
# SPDX-License-Identifier: MIT
#
# examples/asyncio_blinkd.py against a real blinkd on a private bus: every
# step reports what the daemon did, and nothing is left running.
. "$(dirname "$0")/../client/lib.sh"

/usr/bin/python3 -c 'import dbus_next' 2>/dev/null ||
	skip "python3-dbus-next is not installed (scripts/setup installs it)"
start_daemon
run 0 timeout 60 /usr/bin/python3 "$(dirname "$0")/../../examples/asyncio_blinkd.py" --user
expect_stdout 'heartbeat: done
column 0: done
column 1: done
column 2: done
rows 0 and 4: ['"'"'done'"'"', '"'"'done'"'"']
forever: cancelled, and stopped on the daemon
slow: timed out, and stopped on the daemon
bad: io.blinkd1.Error.InvalidProgram - $.wait: "5 parsecs" is not a duration (seconds as a number, or a number with a unit: us, ms, s, m, h, d)'
nothing_running || fail "the example left programs running"
[ "$(trace_rising | wc -w)" -gt 10 ] || fail "the example lit too little: $(trace_rising)"
