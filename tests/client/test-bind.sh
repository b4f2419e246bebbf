#!/bin/bash
# SPDX-License-Identifier: MIT
#
# start --bind: in the foreground until the program ends, with its result
# as the exit status (0 done, 7 stopped, 8 replaced); a client that is
# interrupted, terminated or killed takes its program with it.
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
source "${BASH_SOURCE[0]%/*}/lib.sh"

start_daemon

# bound NAME COMMAND...: run a bound client in the background; its pid in
# $BOUND_PID, its exit status in $TEST_DIR/NAME.rc when it is over.
bound() {
	local name=$1
	shift
	rm -f "$TEST_DIR/$name.rc"
	( rc=0; "$@" >"$TEST_DIR/$name.out" 2>"$TEST_DIR/$name.err" || rc=$?; echo "$rc" >"$TEST_DIR/$name.rc" ) &
	# The client's own pid, not the subshell's: signals go to it.
	wait_until 5 "pgrep -P $! >/dev/null"
	BOUND_PID=$(pgrep -P $!)
}

# True once N connections listen for Finished (the bound client is one).
# Without the bus's Debug.Stats interface, a pause has to do.
finished_matches_at_least() {
	local rules
	if ! rules=$(busctl --user call org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.Debug.Stats GetAllMatchRules 2>/dev/null); then
		sleep 0.5
		return 0
	fi
	[ "$(grep -o "member=[^,]*'Finished" <<<"$rules" | wc -l)" -ge "$1" ]
}

bound_status() {
	wait_until 5 "test -s '$TEST_DIR/$1.rc'"
	cat "$TEST_DIR/$1.rc"
}

# Ends "done": exit 0, after the program, which is gone.
started=$(date +%s%N)
run 0 timeout 10 "$BLINKD_CLIENT" --user start on --lines 12 --for 500ms --name done-one --bind
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
[ "$elapsed_ms" -ge 450 ] || fail "start --bind returned after $elapsed_ms ms, before the program ended"
expect_stderr ''
nothing_running || fail "the program runs after start --bind returned"
[ "$(trace_rising)" = "12" ] || fail "the bound program lit $(trace_rising)"
nothing_lit || fail "the bound program's line is still lit"

# A program that ends at once is not missed: the match is in place before the call.
for _ in $(seq 20); do
	run 0 timeout 5 "$BLINKD_CLIENT" --user start quick --program '{"wait": "100us"}' --bind
done

# replace --bind: the program it replaces ending "replaced" is not its own end.
run 0 client start on --lines 4 --name again
run 0 timeout 10 "$BLINKD_CLIENT" --user replace on --lines 4 --for 200ms --name again --bind
nothing_running || fail "replace --bind returned while the program ran"

# Stopped by somebody else: 7; replaced: 8.
bound stopped client start on --lines 10 --name victim --bind
wait_until 5 'program_running victim'
run 0 client stop victim
[ "$(bound_status stopped)" = 7 ] || fail "stopped: exit $(cat "$TEST_DIR/stopped.rc")"
grep -qF 'victim ended "stopped", not "done".' "$TEST_DIR/stopped.err" || fail "$(cat "$TEST_DIR/stopped.err")"

bound replaced client start on --lines 10 --name victim --bind
wait_until 5 'program_running victim'
run 0 client replace on --lines 2 --name victim
[ "$(bound_status replaced)" = 8 ] || fail "replaced: exit $(cat "$TEST_DIR/replaced.rc")"
run 0 client off

# signal_kills_program SIGNAL STATUS: the bound client gets SIGNAL and exits
# STATUS; its program ends "stopped" (as a wait on it sees) and is gone.
signal_kills_program() {
	local signal=$1 status=$2 name=killed-by-$1 pid
	: >"$TRACE"
	# A script's background jobs ignore SIGINT: give the client the default back.
	bound "$name" env --default-signal=INT "$BLINKD_CLIENT" --user start on --lines 11 --name "$name" --bind
	wait_until 5 "program_running $name"
	wait_until 2 'test "$(trace_lit_now)" = 11'
	pid=$BOUND_PID
	bound "$name-wait" client wait "$name"
	wait_until 5 'finished_matches_at_least 2'
	sleep 0.2 # for wait's List(), right after its AddMatch
	kill "-$signal" "$pid"
	[ "$(bound_status "$name")" = "$status" ] || fail "$signal: exit $(cat "$TEST_DIR/$name.rc")"
	# Its connection went with it: the program is stopped at once.
	wait_until 1 "! program_running $name"
	[ "$(bound_status "$name-wait")" = 1 ] || fail "wait after $signal: $(cat "$TEST_DIR/$name-wait.rc")"
	grep -qF "$name ended \"stopped\"" "$TEST_DIR/$name-wait.err" || fail "$(cat "$TEST_DIR/$name-wait.err")"
	nothing_running || fail "the program runs after its client got $signal"
	wait_until 2 nothing_lit
}
signal_kills_program TERM 143
signal_kills_program INT 130
signal_kills_program KILL 137

# The daemon goes away: 3.
bound gone client start on --lines 11 --name orphan --bind
wait_until 5 'program_running orphan'
stop_daemon
[ "$(bound_status gone)" = 3 ] || fail "daemon gone: exit $(cat "$TEST_DIR/gone.rc")"
grep -qF 'blinkd left the bus.' "$TEST_DIR/gone.err" || fail "$(cat "$TEST_DIR/gone.err")"
