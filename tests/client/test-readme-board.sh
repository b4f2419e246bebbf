#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The README's worked example, "A board: ...", as written: its JSON is
# examples/board.json, and its commands run from a tree whose build/ is this
# build, on a private session bus, one line at a time. The daemon line
# starts blinkd in the background; each `watch --once` must print the text
# block that follows it in the README, in order; every other line must exit
# 0. Then the relay keeps its state across a restart of the daemon, as the
# README says it does on the board.
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

: "${BLINKD_SOURCE_ROOT:?BLINKD_SOURCE_ROOT must name the source tree}"
readme=$BLINKD_SOURCE_ROOT/README.md
build_root=$(dirname "$(dirname "$BLINKD")")

# The fenced blocks of the section whose info string is $1, one file each
# ($TEST_DIR/$1.1, .2, ...), as written.
section_blocks() {
	awk -v kind="$1" -v dir="$TEST_DIR" '
		/^## / { inside = ($0 ~ /^## A board: /) }
		inside && $0 == "```" kind { n++; code = 1; next }
		inside && code && /^```$/ { code = 0; next }
		inside && code { print > (dir "/" kind "." n) }' "$readme"
}
section_blocks json
section_blocks sh
section_blocks text
[ -f "$TEST_DIR/json.1" ] || fail "no JSON in the README's \"A board\" section"
diff -u "$BLINKD_SOURCE_ROOT/examples/board.json" "$TEST_DIR/json.1" ||
	fail "the README's board is not examples/board.json"

# The commands, continuation lines joined.
cat "$TEST_DIR"/sh.* | sed -e ':a' -e '/\\$/N; s/\\\n[ \t]*/ /; ta' >"$TEST_DIR/lines"
[ "$(wc -l <"$TEST_DIR/lines")" -ge 10 ] || fail "found few commands in the README's \"A board\""

mkdir "$TEST_DIR/tree"
ln -s "$build_root" "$TEST_DIR/tree/build"
ln -s "$BLINKD_SOURCE_ROOT/examples" "$TEST_DIR/tree/examples"
cd "$TEST_DIR/tree" || fail "cannot enter $TEST_DIR/tree"
start_bus
export XDG_STATE_HOME=$TEST_DIR/state
export LC_ALL=C.UTF-8

n=0
n_watch=0
while IFS= read -r line; do
	n=$((n + 1))
	case "$line" in
	PATH=*)
		eval "$line"
		;;
	*' &')
		eval "${line% &} --trace '$TRACE' 2>'$TEST_DIR/blinkd.log' &"
		DAEMON_PID=$!
		wait_until 5 'name_owned io.blinkd1 || ! kill -0 $DAEMON_PID'
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "'$line': blinkd exited"
		;;
	*' watch --once'*)
		n_watch=$((n_watch + 1))
		[ -f "$TEST_DIR/text.$n_watch" ] || fail "no text block for watch number $n_watch"
		# Chips come and go at once, but say so to watch a moment later.
		deadline=$(($(date +%s) + 10))
		until eval "$line" >"$OUT" 2>"$ERR" && cmp -s "$OUT" "$TEST_DIR/text.$n_watch"; do
			[ "$(date +%s)" -le "$deadline" ] ||
				fail "'$line' printed:
$(cat "$OUT" "$ERR")
where the README shows:
$(cat "$TEST_DIR/text.$n_watch")"
			sleep 0.05
		done
		;;
	*'get-property'*' Chips')
		run 0 eval "$line"
		expect_stdout 'a(ssb) 2 "sim" "sim" true "mcp2221_gpio" "sim/mcp2221_gpio" true'
		grep -q '^`busctl` shows both chips there (`a(ssb) 2 "sim" "sim" true "mcp2221_gpio"$' "$readme" ||
			fail "the README no longer quotes what busctl shows"
		;;
	*)
		run 0 eval "$line"
		;;
	esac
done <"$TEST_DIR/lines"
[ -n "$DAEMON_PID" ] || fail "no line of the README started the daemon"
[ "$n_watch" -ge 2 ] || fail "the README shows watch --once only $n_watch times"
[ ! -f "$TEST_DIR/text.$((n_watch + 1))" ] || fail "more text blocks than watch lines"
grep -q 'Chip mcp2221_gpio (sim/mcp2221_gpio) is gone; its lines are not written until it returns.' \
	"$TEST_DIR/blinkd.log" || fail "the log does not say what the README quotes"

# The relay, on and kept, stays on across a restart of the daemon; the
# simulated chip has its levels only while the daemon runs, so its last
# level before the stop is what the board's chip would keep.
n_trace=$(trace_count)
run 0 blinkd-client --user start on --lines relay --name pump
wait_until 2 'trace_since "$n_trace" | grep -q " 65536 1 0$"'
n_trace=$(trace_count)
stop_daemon
trace_since "$n_trace" | grep -q " 65536 " && fail "exit keep wrote the relay: $(trace_since "$n_trace")"
trace_since "$n_trace" | grep -q " 27 0 1$" || fail "the status LED did not go off at exit: $(trace_since "$n_trace")"
echo "$n lines of the README's board ran as written"
