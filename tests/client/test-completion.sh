#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The bash completion: verbs, options, and names from the daemon.
source "${BASH_SOURCE[0]%/*}/lib.sh"

: "${BLINKD_COMPLETION:?BLINKD_COMPLETION must name client/blinkd-client.bash-completion}"
# shellcheck source=/dev/null
source "$BLINKD_COMPLETION"

# complete WORD...: what the completion offers for the last word, sorted, on one line.
complete_words() {
	COMP_WORDS=("$BLINKD_CLIENT" "$@")
	COMP_CWORD=$#
	COMPREPLY=()
	_blinkd_client
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

expect_completion() {
	local want=$1 got
	shift
	got=$(complete_words "$@")
	[ "$got" = "$want" ] || fail "completing '$*': '$got', expected '$want'"
}

start_daemon

expect_completion "define definitions" --user def
expect_completion "start stop" --user st
expect_completion "--help --host" --user --h
expect_completion "--row" --user start blink --ro
expect_completion "--interval" --user replace cycle --row 0 --int
expect_completion "--once" --user watch --on
expect_completion "--text" --user validate --program "wait(1s)" --te
expect_completion "" --user start cycle --row ""
expect_completion "--persist --priority --program" --user start blink --all --p
expect_completion "--bind" --user replace on --all --b
expect_completion "--timeout --times" --user start on --all --ti
expect_completion "--all --at" --user start on --lines 11 --priority 5 --a
expect_completion "" --user start on --all --at ""
expect_completion "" --user start on --all --timeout ""
expect_completion "" --user start on --all --priority ""

# Names, from the daemon on the bus the command line names.
expect_completion "blink corners cycle flash on" --user start ""
run 0 client start on --lines 11 --name alpha
run 0 client start on --lines 10 --name beta
expect_completion "alpha beta" --user stop ""
expect_completion "alpha" --user wait al
expect_completion "--all" --user stop --a
run 0 client define mine --program '{"wait": 1}'
expect_completion "mine" --user undefine m
# Not for a remote daemon: ssh would ask for a password.
expect_completion "" -H nowhere.invalid stop ""
run 0 client off
