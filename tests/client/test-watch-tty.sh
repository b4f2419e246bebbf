#!/bin/bash
# SPDX-License-Identifier: MIT
#
# watch in a real terminal (tmux): the matrix is drawn and redrawn in place,
# the running programs below it, and Ctrl-C or q leave the terminal as it
# was: normal screen, cursor shown, echo on.
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
source "${BASH_SOURCE[0]%/*}/lib.sh"

command -v tmux >/dev/null || skip "tmux is not installed (package tmux)"

start_daemon

export LC_ALL=C.UTF-8
unset TMUX # a tmux of our own, even when the tests run inside one
TMUX_SOCKET=$TEST_DIR/tmux
# What runs in the pane: watch three times, ended by Ctrl-C, by q and by the
# daemon leaving, saying how each ended and whether echo is back on. Enter
# starts the next, once the test has looked at what the last left behind.
cat >"$TEST_DIR/pane.sh" <<EOF2
printf 'BEFORE\n'
"$BLINKD_CLIENT" --user watch
echo "EXITED \$?"
stty -a | tr ' ;' '\n\n' | grep -x -- '-\?echo'
read -r _
"$BLINKD_CLIENT" --user watch
echo "QUIT \$?"
read -r _
"$BLINKD_CLIENT" --user watch
echo "GONE \$?"
sleep 600
EOF2

# No tmux.conf of the user's. The pane's command runs through tmux's
# default shell, which is $SHELL or else the login shell, and that may be
# nologin (user nobody, a clean environment): bash it is.
tmux_() {
	SHELL=$BASH tmux -f /dev/null -S "$TMUX_SOCKET" "$@"
}

screen() {
	tmux_ capture-pane -p -t blinkd
}

screen_has() {
	screen | grep -qF -- "$1"
}

pane() {
	tmux_ display-message -p -t blinkd "#{$1}"
}

tmux_ -u new-session -d -s blinkd -x 80 -y 24 "bash $TEST_DIR/pane.sh"

wait_until 5 'screen_has "running: nothing"'
screen_has "blinkd: sim, 5x5 lines" || fail "no title line: $(screen)"
[ "$(screen | grep -c '^  · · · · ·$')" -eq 5 ] || fail "not five dark rows: $(screen)"
[ "$(pane alternate_on)" = 1 ] || fail "watch is not on the alternate screen"
[ "$(pane cursor_flag)" = 0 ] || fail "watch left the cursor visible"

# A program starts: its row lights up in place, its name appears.
run 0 client start on --row 2 --name middle
wait_until 5 'screen_has "running: middle"'
wait_until 5 'test "$(screen | sed -n 5p)" = "  ● ● ● ● ●"'
[ "$(screen | sed -n 3,7p)" = "  · · · · ·
  · · · · ·
  ● ● ● ● ●
  · · · · ·
  · · · · ·" ] || fail "the matrix is not as expected: $(screen)"
[ "$(screen | grep -c 'blinkd: sim')" -eq 1 ] || fail "redrawn below, not in place: $(screen)"

# A blinking program: the cells follow it, the list shows both, sorted.
run 0 client start blink --lines 13 --interval 200ms --name corner
wait_until 5 'screen_has "running: corner, middle"'
wait_until 5 'test "$(screen | sed -n 7p)" = "  ● · · · ·"'
wait_until 5 'test "$(screen | sed -n 7p)" = "  · · · · ·"'
run 0 client stop corner
wait_until 5 'screen_has "running: middle"'

# Ctrl-C: watch ends with 0 and the terminal is as it was.
tmux_ send-keys -t blinkd C-c
wait_until 5 'screen_has "EXITED 0"'
[ "$(pane alternate_on)" = 0 ] || fail "the alternate screen is still on"
[ "$(pane cursor_flag)" = 1 ] || fail "the cursor is still hidden"
screen_has "BEFORE" || fail "the screen was not restored: $(screen)"
screen | grep -q '●\|running:' && fail "the matrix stayed on the screen: $(screen)"
wait_until 5 'screen | grep -qx echo'

# The second watch: q quits, just as cleanly.
tmux_ send-keys -t blinkd Enter
wait_until 5 'screen_has "running: middle"'
tmux_ send-keys -t blinkd q
wait_until 5 'screen_has "QUIT 0"'
[ "$(pane alternate_on)" = 0 ] || fail "the alternate screen is still on after q"
[ "$(pane cursor_flag)" = 1 ] || fail "the cursor is still hidden after q"

# The third: the daemon goes away; watch says so on the normal screen and exits 3.
tmux_ send-keys -t blinkd Enter
wait_until 5 'screen_has "running: middle"'
stop_daemon
wait_until 5 'screen_has "GONE 3"'
screen_has "blinkd-client: blinkd left the bus." || fail "no word of the daemon leaving: $(screen)"
[ "$(pane alternate_on)" = 0 ] || fail "the alternate screen is still on after the daemon left"
[ "$(pane cursor_flag)" = 1 ] || fail "the cursor is still hidden after the daemon left"
