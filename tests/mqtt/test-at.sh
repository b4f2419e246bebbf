#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The fleet in step: one group request with the option "at" (CLOCK_REALTIME
# microseconds, 1.5 s ahead) starts the program on three boards, and their
# first edges, read from the three traces, are none before "at" (a program
# that ignored "at" would start 1.5 s early) and lie within 500 ms of each
# other and of "at" (a board a second off fails). How close they are is the
# machine's: three daemons' wakeups on a busy machine can each be late, and
# the figure (20 ms on a quiet one) is printed, not judged.
# Needs blinkd's StartWithOptions; skipped, saying so, while blinkd lacks it.
. "$(dirname "$0")/lib.sh"

TOLERANCE_NS=500000000

start_broker
start_bus b1
start_blinkd b1
# Read whole before matching: grep -q stopping early would fail busctl's write (pipefail).
members=$(DBUS_SESSION_BUS_ADDRESS=${BUS_ADDRESS[b1]} busctl --user introspect io.blinkd1 \
	/io/blinkd1 io.blinkd1.Manager)
grep -q '^\.StartWithOptions ' <<<"$members" || skip "the daemon has no StartWithOptions yet"
start_bridge b1
wait_until 10 "state_is b1 online"
for b in b2 b3; do start_board "$b"; done
subscribe r 'blinkd/+/result'

at=$(python3 -c 'import time; print(int(time.time() * 1e6) + 1500000)')
pub blinkd/all/start/sync "{\"program\": {\"on\": {\"lines\": [11], \"for\": \"100ms\"}}, \"id\": \"at1\", \"options\": {\"at\": $at}}"
for b in b1 b2 b3; do
	res=$(wait_result r '"at1"' "blinkd/$b/result")
	[ "$(json_get "$res" 'j["ok"]')" = True ] || fail "$b: $res"
done
for b in b1 b2 b3; do wait_until 5 "[ -n \"\$(trace_first_rising $b 11)\" ]"; done

t1=$(trace_first_rising b1 11)
t2=$(trace_first_rising b2 11)
t3=$(trace_first_rising b3 11)
spread=$(printf '%s\n' "$t1" "$t2" "$t3" | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print hi - lo }')
echo "first edges of the three boards lie within $((spread / 1000)) us"
[ "$spread" -le "$TOLERANCE_NS" ] || fail "the edges are $spread ns apart, more than $TOLERANCE_NS"

# Not before its time: the edge is no earlier than "at" (realtime, from the trace's monotonic ns).
now_rt=$(python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_REALTIME) - time.clock_gettime_ns(time.CLOCK_MONOTONIC))')
first_rt_us=$(((t1 + now_rt) / 1000))
[ "$first_rt_us" -ge $((at - 2000)) ] || fail "b1 started $((at - first_rt_us)) us before at"
[ "$first_rt_us" -le $((at + TOLERANCE_NS / 1000)) ] || fail "b1 started $((first_rt_us - at)) us after at"
