#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The README's "Driving it by hand" lines work as written: run from a tree
# whose build/ is this build, on a private session bus, one line at a time.
# Only the trace file moves from /tmp into the test's directory. The daemon
# line starts blinkd in the background; `watch` is live, so it runs for 2 s
# under timeout and must have shown a lit line; `validate` of the
# "5 parsecs" example must fail with 4 (invalid program); every other line
# must exit 0.
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

: "${BLINKD_SOURCE_ROOT:?BLINKD_SOURCE_ROOT must name the source tree}"
readme=$BLINKD_SOURCE_ROOT/README.md
build_root=$(dirname "$(dirname "$BLINKD")")

# The shell blocks of the section, continuation lines joined, comments and
# blank lines dropped.
awk '/^## / { inside = ($0 == "## Driving it by hand") }
	inside && /^```sh$/ { code = 1; next }
	inside && /^```$/ { code = 0; next }
	inside && code' "$readme" |
	sed -e ':a' -e '/\\$/N; s/\\\n[ \t]*/ /; ta' >"$TEST_DIR/lines"
[ "$(wc -l <"$TEST_DIR/lines")" -ge 10 ] || fail "found no commands in the README's \"Driving it by hand\""

# A tree as the README assumes one: the sources, and the build in build/.
mkdir "$TEST_DIR/tree"
ln -s "$build_root" "$TEST_DIR/tree/build"
ln -s "$BLINKD_SOURCE_ROOT/daemon" "$TEST_DIR/tree/daemon"
cd "$TEST_DIR/tree" || fail "cannot enter $TEST_DIR/tree"
start_bus
# The daemon line keeps its store where --user puts it: here, not in $HOME.
export XDG_STATE_HOME=$TEST_DIR/state

n=0
while IFS= read -r line; do
	line=${line//\/tmp\/blinkd.trace/$TEST_DIR/blinkd.trace}
	n=$((n + 1))
	case "$line" in
	PATH=*)
		eval "$line"
		[ "$(command -v blinkd)" = "$PWD/build/daemon/blinkd" ] || fail "'$line' does not find blinkd"
		[ "$(command -v blinkd-client)" = "$PWD/build/client/blinkd-client" ] ||
			fail "'$line' does not find blinkd-client"
		;;
	*' &')
		eval "${line% &} 2>'$TEST_DIR/blinkd.log' &"
		DAEMON_PID=$!
		wait_until 5 'name_owned io.blinkd1 || ! kill -0 $DAEMON_PID'
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "'$line': blinkd exited"
		;;
	*' watch'*)
		rc=0
		eval "timeout 2 ${line%%#*}" >"$OUT" 2>"$ERR" || rc=$?
		[ "$rc" -eq 124 ] || fail "'$line' exited $rc; expected it to run until stopped: $(cat "$ERR")"
		# Not on a terminal, watch prints one line a frame: time, lit lines.
		grep -Eq '^[0-9]+ [0-9,]+$' "$OUT" || fail "'$line' showed no frame with a lit line: $(cat "$OUT")"
		;;
	*'5 parsecs'*)
		run 4 eval "$line"
		expect_stderr_has "parsecs"
		;;
	*)
		run 0 eval "$line"
		;;
	esac
done <"$TEST_DIR/lines"
[ -n "$DAEMON_PID" ] || fail "no line of the README started the daemon"
program_running smiley && fail "off left smiley running"
[ -s "$TEST_DIR/blinkd.trace" ] || fail "the daemon wrote no trace"
echo "$n lines of the README ran as written"
