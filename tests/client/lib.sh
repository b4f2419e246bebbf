# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# What every client test shares: a private session bus, blinkd on the
# simulated chip with a trace file, the client pointed at them, and a few
# assertions. Sourced by the test-*.sh scripts; everything it starts is
# killed on exit, whether the test passed or not.
#
# Environment (from tests/client/meson.build): BLINKD, BLINKD_CLIENT.

set -euo pipefail

: "${BLINKD:?BLINKD must name the blinkd binary}"
: "${BLINKD_CLIENT:?BLINKD_CLIENT must name the blinkd-client binary}"

TEST_NAME=$(basename "$0" .sh)
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/blinkd-$TEST_NAME.XXXXXX")
TRACE=$TEST_DIR/trace
CONFIG=$TEST_DIR/blinkd.json
OUT=$TEST_DIR/stdout
ERR=$TEST_DIR/stderr
BUS_PID=
DAEMON_PID=
TMUX_SOCKET=

# Exit 77, meson's code for a skipped test, saying why.
skip() {
	echo "SKIP: $*" >&2
	exit 77
}

fail() {
	echo "FAIL: $*" >&2
	if [ -s "$TEST_DIR/blinkd.log" ]; then
		echo "--- blinkd's log:" >&2
		cat "$TEST_DIR/blinkd.log" >&2
	fi
	exit 1
}

cleanup() {
	local rc=$?

	if [ -n "$TMUX_SOCKET" ]; then
		tmux -S "$TMUX_SOCKET" kill-server 2>/dev/null || true
	fi
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	if [ -n "$BUS_PID" ]; then
		kill "$BUS_PID" 2>/dev/null || true
	fi
	rm -rf "$TEST_DIR"
	if [ "$rc" -eq 0 ]; then
		echo "PASS: $TEST_NAME"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A bus of our own: nothing else on the machine sees the test, nor it them.
start_bus() {
	command -v dbus-daemon >/dev/null || skip "dbus-daemon is not installed (package dbus-daemon)"
	dbus-daemon --session --address="unix:path=$TEST_DIR/bus" --nofork --nopidfile \
		--print-address=3 3>"$TEST_DIR/bus-address" 2>"$TEST_DIR/dbus.log" &
	BUS_PID=$!
	# 20 s, as the dbus suite's harness: a bound for a hang, not a figure.
	for _ in $(seq 200); do
		[ -s "$TEST_DIR/bus-address" ] && break
		sleep 0.1
	done
	[ -s "$TEST_DIR/bus-address" ] || fail "dbus-daemon did not start"
	DBUS_SESSION_BUS_ADDRESS=$(head -n1 "$TEST_DIR/bus-address")
	export DBUS_SESSION_BUS_ADDRESS
}

# The default 5x5 matrix and two definitions.
write_config() {
	cat >"$CONFIG" <<-'EOC'
	{
	  "definitions": {
	    "flash": {"on": {"lines": {"row": 4}, "for": "1s"}},
	    "corners": {"on": {"lines": [11, 2, 13, 14]}}
	  }
	}
	EOC
}

# blinkd on the simulated chip, on our bus, tracing every line change.
start_daemon() {
	[ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || start_bus
	[ -f "$CONFIG" ] || write_config
	: >"$TRACE"
	"$BLINKD" --user --chip sim --config "$CONFIG" --trace "$TRACE" \
		--state-dir "$TEST_DIR/state" 2>"$TEST_DIR/blinkd.log" &
	DAEMON_PID=$!
	for _ in $(seq 200); do
		name_owned io.blinkd1 && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "blinkd exited before it took io.blinkd1"
		sleep 0.1
	done
	fail "blinkd did not take io.blinkd1 within 20 s"
}

# True once NAME has an owner on our bus. The bus is asked, not busctl
# status, which needs a mounted cgroup filesystem (chroots, some containers
# lack one) and would make a working daemon look absent.
name_owned() {
	[ "$(busctl --user call org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus NameHasOwner s "$1" 2>/dev/null)" = "b true" ]
}

stop_daemon() {
	kill "$DAEMON_PID"
	wait "$DAEMON_PID" || true
	DAEMON_PID=
}

client() {
	"$BLINKD_CLIENT" --user "$@"
}

# run STATUS COMMAND...: run it with stdout in $OUT and stderr in $ERR, and
# insist on its exit status.
run() {
	local expected=$1 rc=0
	shift
	"$@" >"$OUT" 2>"$ERR" || rc=$?
	if [ "$rc" -ne "$expected" ]; then
		echo "--- stdout:" >&2
		cat "$OUT" >&2
		echo "--- stderr:" >&2
		cat "$ERR" >&2
		fail "'$*' exited $rc, expected $expected"
	fi
}

# The whole of stdout, or of stderr, must be TEXT.
expect_stdout() {
	local want=$1
	[ "$(cat "$OUT")" = "$want" ] ||
		fail "stdout is:
$(cat "$OUT")
expected:
$want"
}

expect_stderr() {
	local want=$1
	[ "$(cat "$ERR")" = "$want" ] ||
		fail "stderr is:
$(cat "$ERR")
expected:
$want"
}

# stdout or stderr must contain TEXT (fixed string).
expect_stdout_has() {
	grep -qF -- "$1" "$OUT" || fail "stdout lacks '$1':
$(cat "$OUT")"
}

expect_stderr_has() {
	grep -qF -- "$1" "$ERR" || fail "stderr lacks '$1':
$(cat "$ERR")"
}

# wait_until SECONDS 'SHELL CODE': poll every 50 ms until the code succeeds;
# it is evaluated anew each time, so quote it. SECONDS only bounds a hang:
# the wait is three times as long, for a machine busy with other work.
wait_until() {
	local deadline=$(($(date +%s%N) + $1 * 3 * 1000000000))
	until eval "$2"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || fail "timed out after $(($1 * 3)) s waiting for: $2"
		sleep 0.05
	done
}

# The offsets that went on, in the order they did, space-separated.
trace_rising() {
	awk '$3 == 1 { printf "%s%s", sep, $2; sep = " " } END { print "" }' "$TRACE"
}

# The changes after the first N lines of the trace.
trace_since() {
	tail -n +"$(($1 + 1))" "$TRACE"
}

trace_count() {
	wc -l <"$TRACE"
}

# The offsets lit at the end of the trace, sorted, space-separated.
trace_lit_now() {
	awk '{ v[$2] = $3 } END { for (o in v) if (v[o] == 1) print o }' "$TRACE" |
		sort -n | tr '\n' ' ' | sed 's/ $//'
}

# True once a connection on the bus has a match rule for MEMBER. Without
# the bus's Debug.Stats interface, a pause has to do.
match_installed() {
	local rules
	if ! rules=$(busctl --user call org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.Debug.Stats GetAllMatchRules 2>/dev/null); then
		sleep 0.5
		return 0
	fi
	grep -q "member=[^,]*'$1" <<<"$rules"
}

# Wait until a client listens for MEMBER signals; the calls that follow
# its AddMatch (List(), Subscribe()) come right after it.
wait_for_match() {
	wait_until 5 "match_installed $1"
	sleep 0.2
}

program_running() {
	client list | awk 'NR > 1 { print $1 }' | grep -qx -- "$1"
}

nothing_running() {
	[ "$(client list | wc -l)" -eq 1 ]
}

nothing_lit() {
	[ -z "$(trace_lit_now)" ]
}
