#!/bin/bash
# SPDX-License-Identifier: MIT
#
# watch in a real terminal (tmux) on lines without a matrix: a row per line,
# the chip column in faint type, redrawn in place when a line changes and
# when a chip comes or goes (PropertiesChanged of Chips and Lines).
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
source "${BASH_SOURCE[0]%/*}/lib.sh"

command -v tmux >/dev/null || skip "tmux is not installed (package tmux)"

cat >"$CONFIG" <<'EOC'
{
  "lines": {
    "27": {"alias": "status", "active_low": true},
    "exp:2": {"alias": "green"},
    "exp:LED3": {}
  },
  "sim_chips": [{"label": "exp", "lines": 4, "names": ["", "", "", "LED3"], "present": false}]
}
EOC
start_daemon

export LC_ALL=C.UTF-8
unset TMUX # a tmux of our own, even when the tests run inside one
TMUX_SOCKET=$TEST_DIR/tmux

# As in test-watch-tty.sh: no tmux.conf of the user's, and bash in the pane.
tmux_() {
	SHELL=$BASH tmux -f /dev/null -S "$TMUX_SOCKET" "$@"
}

screen() {
	tmux_ capture-pane -p -t blinkd
}

screen_has() {
	screen | grep -qF -- "$1"
}

set_present() {
	busctl --user call io.blinkd1 /io/blinkd1 io.blinkd1.Simulation SetChipPresent sb "$1" "$2"
}

tmux_ -u new-session -d -s blinkd -x 80 -y 24 "'$BLINKD_CLIENT' --user watch; sleep 600"

wait_until 5 'screen_has "running: nothing"'
# exp was never seen: its line by name has no offset yet, only the name it is looked up by.
[ "$(screen | sed -n 1,7p)" = "blinkd: 3 lines on 2 chips, 1 absent (Ctrl-C quits)

  · status    sim 27
  · green     exp 2 (absent)
  · exp:LED3  exp LED3 (absent)

running: nothing" ] || fail "not the list expected: $(screen)"
# The chip column is faint; the rest is not.
tmux_ capture-pane -p -e -t blinkd | grep -qF "$(printf '· status    \033[2msim 27')" ||
	fail "the chip column is not faint: $(tmux_ capture-pane -p -e -t blinkd | cat -v)"

# A program lights its lines in place, the absent chip's too.
run 0 client start on --lines status,exp:LED3 --name two
wait_until 5 'screen_has "running: two"'
wait_until 5 'test "$(screen | sed -n 3,5p)" = "  ● status    sim 27
  · green     exp 2 (absent)
  ● exp:LED3  exp LED3 (absent)"'

# The chip appears: the title and the rows follow, the line by name gets its offset.
run 0 set_present exp true
wait_until 5 'screen_has "blinkd: 3 lines on 2 chips (Ctrl-C quits)"'
wait_until 5 'test "$(screen | sed -n 3,5p)" = "  ● status    sim 27
  · green     exp 2
  ● exp:LED3  exp 3"'
run 0 set_present exp false
wait_until 5 'screen_has "blinkd: 3 lines on 2 chips, 1 absent (Ctrl-C quits)"'
wait_until 5 'screen_has "exp:LED3  exp 3 (absent)"'
[ "$(screen | grep -c 'blinkd: ')" -eq 1 ] || fail "redrawn below, not in place: $(screen)"
