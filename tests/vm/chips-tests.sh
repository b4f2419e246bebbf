# SPDX-License-Identifier: MIT
# shellcheck shell=sh
#
# /chips-tests.sh in the guest: the vm tests of blinkd's multi-chip support
# (chips found by label through udev, per-line settings, hotplug). Sourced by
# guest-tests.sh, whose harness, daemon and chip helpers (and /vm-lib.sh's)
# they use; run_chips_tests runs them after the single-chip daemon tests.
#
# What they rely on of the daemon:
#   - the config's "chip" names a chip by label, and "lines" maps "OFFSET"
#     (on that chip) or "LABEL:OFFSET" / "LABEL:NAME" to settings: alias,
#     active_low, drive (push-pull, open-drain, open-source), bias, initial
#     and exit (off, on, keep);
#   - programs name lines by alias;
#   - the manager has the properties Lines a(sssa{sv}) and Chips a(ssb)
#     (label, path, present);
#   - a chip that goes away leaves its programs running, its lines skipped;
#     when it comes back (found by label, maybe under another gpiochipN) its
#     lines are requested again with their current state, in phase.
#
# busybox ash has $EPOCHREALTIME:
# shellcheck disable=SC3028

# chips_reset: no daemon, no trace, chip B there with every pull down;
# each test starts with it, so one that failed half way does not disturb the
# next.
chips_reset() {
	[ -z "$DPID" ] || stop_daemon
	[ -z "$GTRACE_ON" ] || gtrace_stop /tmp/gtrace.stale
	read -r _live <"$VM_CFG_B/live"
	[ "$_live" = 1 ] || chip_recreate B
	pulls_down B
	start_bus
}

# wait_phys "KEY:N=V ..." [SECONDS]: wait until each line reads its value.
wait_phys() {
	now_ms
	_end=$((NOW + ${2:-5} * 1000))
	while :; do
		_bad=
		for _s in $1; do
			_k=${_s%%:*}
			_n=${_s#*:}
			[ "$(phys "$_k" "${_n%=*}")" = "${_n#*=}" ] || _bad="$_bad $_s"
		done
		[ -z "$_bad" ] && return 0
		now_ms
		[ "$NOW" -gt "$_end" ] && break
		sleep 0.05
	done
	why "lines not at their values:$_bad"
	return 1
}

# has_info KEY N TEXT: gpioinfo's words for line N of KEY include TEXT.
has_info() {
	case " $(line_info "$1" "$2") " in
	*" $3 "*) return 0 ;;
	esac
	why "line $1:$2: gpioinfo says '$(line_info "$1" "$2")', not '$3'"
	return 1
}

# Two chips found by label in one layout: the lines of both are blinkd's,
# a program lights lines on both by alias, chip name and offset, and the
# manager lists both chips and the aliases.
test_chips_two_by_label() {
	chips_reset || return 1
	start_blinkd '{"chip": "blinkd-sim-a", "lines": {
		"5": {"alias": "status"},
		"blinkd-sim-b:3": {"alias": "relay"},
		"blinkd-sim-b:LEDB1": {}}}' || return 1
	has_info A 5 consumer=blinkd && has_info B 3 consumer=blinkd &&
		has_info B 1 consumer=blinkd || return 1
	chips=$(prop Chips)
	for c in "\"blinkd-sim-a\" \"$VM_CHIP_A\" true" "\"blinkd-sim-b\" \"$VM_CHIP_B\" true"; do
		case $chips in
		*"$c"*) ;;
		*) why "Chips is '$chips', without $c"; return 1 ;;
		esac
	done
	lines=$(prop Lines)
	case $lines in
	*'"status"'*'"relay"'* | *'"relay"'*'"status"'*) ;;
	*) why "Lines is '$lines'"; return 1 ;;
	esac
	start both '{"on":{"lines":["status","relay","blinkd-sim-b:LEDB1"]}}' || return 1
	wait_phys "A:5=1 B:3=1 B:1=1" || return 1
	stop both || return 1
	wait_phys "A:5=0 B:3=0 B:1=0" || return 1
	stop_daemon
	[ "$DSTATUS|$(used_lines A)$(used_lines B)" = "0|" ] || {
		why "after SIGTERM: status $DSTATUS, used lines A '$(used_lines A)' B '$(used_lines B)'"
		return 1
	}
}

# Active-low and open-drain, as the chip sees them. gpio-sim leaves an
# emulated open-drain line at 0 after a logical 1 that follows a 0 (see
# test_open_drain_and_source_stay_driven), so the relay's 1 is checked in the
# trace (the line made an input) rather than in sysfs.
test_chips_active_low_and_open_drain() {
	chips_reset || return 1
	set_pull B 3 up
	gtrace_start
	start_blinkd '{"chip": "blinkd-sim-a", "lines": {
		"5": {"alias": "status", "active_low": true},
		"blinkd-sim-b:3": {"alias": "relay", "drive": "open-drain"}}}' || return 1
	# off: the active-low line high, the open-drain one driven low
	wait_phys "A:5=1 B:3=0" || return 1
	has_info A 5 active-low && has_info A 5 consumer=blinkd &&
		has_info B 3 drive=open-drain && has_info B 3 consumer=blinkd || return 1
	gtrace_mark on
	start on '{"on":{"lines":["status","relay"]}}' || return 1
	wait_phys "A:5=0" || return 1
	sleep 0.2
	gtrace_mark off
	stop on || return 1
	wait_phys "A:5=1" || return 1
	sleep 0.2
	gtrace_stop /tmp/gtrace
	pulls_down B
	gtrace_after /tmp/gtrace on | awk '$2 == "mark" { exit } { print }' >/tmp/gtrace.on
	gtrace_after /tmp/gtrace off >/tmp/gtrace.off
	on=$(gtrace_events /tmp/gtrace.on B 3 blinkd)
	off=$(gtrace_events /tmp/gtrace.off B 3 blinkd)
	[ "$on / $off" = "set 1, in / set 0, out" ] || {
		why "open-drain relay: on wrote '$on', off '$off'; expected 'set 1, in' and 'set 0, out'"
		dump /tmp/gtrace
		return 1
	}
	# the active-low line: logical 1 is a physical 0
	[ "$(gtrace_sets /tmp/gtrace.on A 5 blinkd)" = 0 ] || {
		why "status on wrote '$(gtrace_sets /tmp/gtrace.on A 5 blinkd)' to A:5, expected 0"
		return 1
	}
	stop_daemon
}

# initial: keep. Both lines are pulled up, so they read 1 before blinkd;
# "keeper" keeps it, "plain" starts off. The trace must show no 0 written
# to the keeper (and the poller never reads one), while the plain line's 0
# shows that the trace sees blinkd's start at all.
test_chips_initial_keep_no_glitch() {
	chips_reset || return 1
	set_pull B 6 up
	set_pull B 7 up
	gtrace_start
	sample /tmp/keep.samples 3000 B:6 &
	sp=$!
	start_blinkd '{"chip": "blinkd-sim-a", "lines": {
		"blinkd-sim-b:6": {"alias": "keeper", "initial": "keep"},
		"blinkd-sim-b:7": {"alias": "plain"}}}' || { kill_wait $sp; return 1; }
	wait $sp
	gtrace_stop /tmp/gtrace
	keeper=$(gtrace_events /tmp/gtrace B 6 blinkd)
	plain=$(gtrace_sets /tmp/gtrace B 7 blinkd)
	echo "# initial keep: blinkd did to B:6 '$keeper'; to B:7 (initial off) wrote '$plain'"
	ok=0
	case " $(gtrace_sets /tmp/gtrace B 6 blinkd) " in
	*" 0 "*) why "blinkd wrote 0 to the kept line B:6: $keeper"; ok=1 ;;
	esac
	awk '$2 == 0 { f = 1 } END { exit !f }' /tmp/keep.samples && {
		why "the poller read 0 on B:6: $(tr '\n' ' ' </tmp/keep.samples)"
		ok=1
	}
	case " $plain " in
	*" 0 "*) ;;
	*) why "no 0 written to the plain line B:7 ('$plain'): the trace did not see the start"; ok=1 ;;
	esac
	if [ $ok = 0 ]; then
		has_info B 6 consumer=blinkd || ok=1
	fi
	if [ $ok = 0 ] && [ "$(phys B 6)" != 1 ]; then
		why "B:6 reads $(phys B 6) after the start"
		ok=1
	fi
	[ $ok = 0 ] || dump /tmp/gtrace
	stop_daemon
	pulls_down B
	return $ok
}

# Chip B goes away while a blink runs on a line of each chip, and comes back:
# blinkd keeps running and blinking chip A's line, Chips shows B absent, then
# present at its (maybe new) path; B's line is requested again, first written
# with the blink's current state, then toggles with chip A's line: each write
# the value A:9 has, within 10 ms of A:9's (the median: one batch).
test_chips_b_hotplug_in_phase() {
	chips_reset || return 1
	start_blinkd '{"chip": "blinkd-sim-a", "lines": {
		"9": {"alias": "a9"},
		"blinkd-sim-b:LEDB1": {"alias": "b1"}}}' || return 1
	start both '{"blink":{"lines":["a9","b1"],"interval":"200ms"}}' || return 1
	gtrace_start
	sleep 1
	gtrace_mark removed
	chip_remove B || { why "remove: $SIM_ERR"; return 1; }
	sleep 0.5
	kill -0 "$DPID" 2>/dev/null || { why "blinkd ended when chip B went away"; return 1; }
	case $(prop Chips) in
	*'"blinkd-sim-b" '*' false'*) ;;
	*) why "Chips with chip B away: $(prop Chips)"; return 1 ;;
	esac
	sleep 1
	gtrace_mark back
	chip_recreate B || { why "recreate: $SIM_ERR"; return 1; }
	i=0
	while ! has_info B 1 consumer=blinkd && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	has_info B 1 consumer=blinkd || return 1
	sleep 1.5
	gtrace_stop /tmp/gtrace
	# chip A blinked on while B was away
	away=$(gtrace_after /tmp/gtrace removed | awk '$2 == "mark" { exit } { print }' >/tmp/gtrace.away
		gtrace_sets /tmp/gtrace.away A 9 blinkd | wc -w)
	[ "$away" -ge 4 ] || {
		why "chip A's line 9 was written $away times while chip B was away"
		return 1
	}
	gtrace_phase /tmp/gtrace A 9 B 1 back >/tmp/phase
	read -r n mis lag maxlag </tmp/phase
	echo "# chip B back as $VM_NAME_B: $n writes to B:1, $mis out of phase, lag to A:9 $lag ms (median), $maxlag ms (largest)"
	if [ "$n" -lt 4 ] || [ "$mis" != 0 ] || [ "$lag" -gt 10 ]; then
		why "after the return: $n writes to B:1, $mis not matching A:9, lag $lag ms (median)"
		dump /tmp/gtrace
		return 1
	fi
	case $(prop Chips) in
	*"\"blinkd-sim-b\" \"$VM_CHIP_B\" true"*) ;;
	*) why "Chips after the return: $(prop Chips)"; return 1 ;;
	esac
	stop both || return 1
	wait_phys "A:9=0 B:1=0"
}

# exit: keep. blinkd writes nothing to the line when it ends; the control line
# (exit off) is written 0. After the release gpio-sim shows the pull, so
# only the trace tells the two apart.
test_chips_exit_keep() {
	chips_reset || return 1
	start_blinkd '{"chip": "blinkd-sim-a", "lines": {
		"11": {"alias": "ctl"},
		"blinkd-sim-b:2": {"alias": "hold", "exit": "keep"}}}' || return 1
	start both '{"on":{"lines":["hold","ctl"]}}' || return 1
	wait_phys "B:2=1 A:11=1" || return 1
	gtrace_start
	gtrace_mark sigterm
	stop_daemon
	gtrace_stop /tmp/gtrace
	gtrace_after /tmp/gtrace sigterm >/tmp/gtrace.exit
	hold=$(gtrace_events /tmp/gtrace.exit B 2 blinkd)
	ctl=$(gtrace_sets /tmp/gtrace.exit A 11 blinkd)
	echo "# at exit blinkd did to B:2 (exit keep) '$hold', wrote to A:11 (exit off) '$ctl'"
	[ "$DSTATUS|$hold|$ctl" = "0||0" ] || {
		why "exit status $DSTATUS; at exit B:2 got '$hold' (expected nothing), A:11 '$ctl' (expected 0)"
		dump /tmp/gtrace
		return 1
	}
	# released: gpio-sim shows the pull (down)
	[ "$(phys B 2)|$(used_lines B)" = "0|" ] || {
		why "after exit B:2 reads $(phys B 2), chip B has used lines '$(used_lines B)'"
		return 1
	}
}

run_chips_tests() {
	echo "# the multi-chip support"
	t chips_two_by_label
	t chips_active_low_and_open_drain
	t chips_initial_keep_no_glitch
	t chips_b_hotplug_in_phase
	t chips_exit_keep
	chips_reset
}
