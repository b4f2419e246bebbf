#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The boot tier's tests, run by blinkd-boot-tests.service in the booted guest
# as root, once the boot has finished. blinkd's package was installed into
# the image before the boot (dpkg in a chroot, as an image builder does), and
# /etc/blinkd/blinkd.json was then edited to autostart "boot-blink", which
# blinks row 0. The chip is a gpio-sim chip of 28 lines labelled
# blinkd-boot-chip ($LABEL), made by blinkd-boot-chip.service in the configfs
# folder $CHIP_CFG; the value of line N as the chip sees it is
# $SYSFS/sim_gpioN/value. Users: "member" is in group gpio, "outsider" is not.
#
# Output goes to the second serial port, which the host reads: "ok - NAME",
# "not ok - NAME: reason", "# ..." for information, then
# "BLINKD-BOOT-RESULT: N passed, M failed" and "BLINKD-BOOT-DONE rc=N".
# Then the guest powers off.

if [[ -c /dev/ttyS1 ]]; then
	exec >/dev/ttyS1 2>&1
fi
export LANG=C.UTF-8 SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 PAGER=cat TERM=dumb
export DEBIAN_FRONTEND=noninteractive

# shellcheck source=/dev/null
. /run/blinkd-boot/chip 2>/dev/null
CHIP=${CHIP:-/dev/gpiochip0}
SYSFS=${SYSFS:-/sys/devices/platform/gpio-sim.0/gpiochip0}
CHIP_CFG=${CHIP_CFG:-/sys/kernel/config/gpio-sim/chip0}
LABEL=${LABEL:-blinkd-boot-chip}
NLINES=28
ROW0="2 4 10 11 27"
ROW2="1 5 18 20 25"
LAYOUT="11 10 27 4 2 0 9 22 17 3 5 20 1 25 18 6 16 7 24 15 13 12 8 23 14"
SRC=/srv/blinkd        # README.md and the package, as a user has them after scripts/build-deb

passed=0
failed=0
REASON=

# ---------------------------------------------------------------- harness
why() { REASON="$*"; }
info() { printf '# %s\n' "$*"; }

t() {
	REASON=
	local t0=$EPOCHREALTIME
	if "test_$1"; then
		passed=$((passed + 1))
		echo "ok - $1 ($(since "$t0") s)"
	else
		failed=$((failed + 1))
		echo "not ok - $1: ${REASON:-failed}"
		diagnose
	fi
}

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

now_ms() {
	local t=$EPOCHREALTIME
	NOW=$((${t%.*} * 1000 + 10#${t#*.} / 1000))
}

diagnose() {
	info "--- systemctl status blinkd"
	systemctl status --no-pager -n 15 blinkd 2>&1 | sed 's/^/#   /' | tail -n 25
}

# --------------------------------------------------------------- the chip
lit_now() {
	LIT=
	local n=0 v
	while [[ $n -lt $NLINES ]]; do
		read -r v <"$SYSFS/sim_gpio$n/value"
		[[ $v == 1 ]] && LIT="$LIT $n"
		n=$((n + 1))
	done
	LIT=${LIT# }
}

sorted() { tr -s ' ' '\n' <<<"$1" | grep . | sort -n | tr '\n' ' ' | sed 's/ *$//'; }

# wait_lit "LIST" [SECONDS]: wait until exactly LIST is lit.
wait_lit() {
	local want deadline
	want=$(sorted "$1")
	now_ms
	deadline=$((NOW + ${2:-5} * 1000))
	while :; do
		lit_now
		[[ $LIT == "$want" ]] && return 0
		now_ms
		[[ $NOW -gt $deadline ]] && break
		sleep 0.05
	done
	why "lit lines are '$LIT', expected '$want'"
	return 1
}

# wait_value N VALUE SECONDS: until line N reads VALUE.
wait_value() {
	local i=0 v
	while [[ $i -lt $(($3 * 20)) ]]; do
		read -r v <"$SYSFS/sim_gpio$1/value"
		[[ $v == "$2" ]] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# used_lines: "OFFSET CONSUMER" of every line that someone holds.
used_lines() {
	gpioinfo -c "${CHIP#/dev/}" --unquoted 2>&1 |
		sed -n 's/^[[:space:]]*line[[:space:]]*\([0-9]*\):.*consumer=\([^[:space:]]*\).*/\1 \2/p'
}

# blinks "LINES" SECONDS: sample LINES for SECONDS; they must go on and off
# together, several times, and no other line may be lit.
blinks() {
	local want on=0 off=0 mixed=0 run=0 longest=0 changes=0 prev='' state others='' deadline
	want=$(sorted "$1")
	now_ms
	deadline=$((NOW + $2 * 1000))
	while :; do
		lit_now
		local sel='' n
		for n in $LIT; do
			case " $want " in
			*" $n "*) sel="$sel $n" ;;
			*) others="$others $n" ;;
			esac
		done
		sel=${sel# }
		if [[ $sel == "$want" ]]; then state=on; on=$((on + 1))
		elif [[ -z $sel ]]; then state=off; off=$((off + 1))
		else state=mixed; mixed=$((mixed + 1)); fi
		if [[ $state == mixed ]]; then
			run=$((run + 1))
			[[ $run -gt $longest ]] && longest=$run
		else
			run=0
		fi
		[[ -n $prev && $state != mixed && $prev != "$state" ]] && changes=$((changes + 1))
		[[ $state != mixed ]] && prev=$state
		now_ms
		[[ $NOW -gt $deadline ]] && break
		sleep 0.04
	done
	info "lines $want: $on samples on, $off off, $mixed between, $changes changes in $2 s"
	if [[ -n $others ]]; then
		why "lines outside '$want' were lit: $(sorted "$others" | tr ' ' '\n' | sort -un | tr '\n' ' ')"
		return 1
	fi
	if [[ $changes -lt 4 || $on -lt 2 || $off -lt 2 ]]; then
		why "lines $want did not blink: $on on, $off off, $changes changes"
		return 1
	fi
	# A sample reads the lines one after the other: one that straddles an
	# edge reads some before it and some after, and a slow guest makes that
	# common. Lines that do not switch together stay mixed over samples.
	if [[ $longest -ge 3 ]]; then
		why "lines $want did not switch together: $longest samples in a row were mixed ($mixed of $((on + off + mixed)) in all)"
		return 1
	fi
}

# ------------------------------------------------------------- the service
prop() { systemctl show -P "$1" blinkd.service; }

# wait_active [SECONDS]: until blinkd.service is active with a main PID.
wait_active() {
	local i=0
	while [[ $i -lt $((${1:-10} * 10)) ]]; do
		[[ $(prop ActiveState) == active && $(prop MainPID) != 0 ]] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	why "blinkd.service is $(prop ActiveState) ($(prop SubState)) after ${1:-10} s"
	return 1
}

blinkd_pids() {
	local d
	for d in /proc/[0-9]*; do
		[[ $(cat "$d/comm" 2>/dev/null) == blinkd ]] && echo "${d#/proc/}"
	done
}

# activations: how many times the bus has asked systemd to start io.blinkd1.
activations() {
	journalctl -b -q --no-pager -u dbus.service | grep -c "Activating via systemd: service name='io.blinkd1'"
}

call_as() { # USER METHOD SIGNATURE ARGS...: busctl call on the system bus as USER
	local user=$1
	shift
	runuser -u "$user" -- busctl call io.blinkd1 /io/blinkd1 io.blinkd1.Manager "$@"
}

# =================================================================== tests

test_service_active_after_boot() {
	[[ $(systemctl is-active blinkd.service) == active ]] || {
		why "blinkd.service is $(systemctl is-active blinkd.service) after the boot"
		return 1
	}
	[[ $(systemctl is-enabled blinkd.service) == enabled ]] || {
		why "blinkd.service is $(systemctl is-enabled blinkd.service), not enabled"
		return 1
	}
	[[ $(prop NRestarts) == 0 ]] || {
		why "blinkd.service restarted $(prop NRestarts) times during the boot"
		return 1
	}
	local errors
	errors=$(journalctl -b -q --no-pager -u blinkd.service -p err)
	[[ -z $errors ]] || {
		why "errors in blinkd.service's journal: $(head -n 5 <<<"$errors" | tr '\n' ' ')"
		return 1
	}
	local warnings
	warnings=$(journalctl -b -q --no-pager -u blinkd.service -p warning)
	[[ -z $warnings ]] || info "warnings in its journal: $(tr '\n' ' ' <<<"$warnings")"
	# its chip came first
	[[ $(systemctl is-active blinkd-boot-chip.service) == active ]] || {
		why "blinkd-boot-chip.service is $(systemctl is-active blinkd-boot-chip.service)"
		return 1
	}
}

test_autostart_blinks_row0() {
	local out
	out=$(busctl call io.blinkd1 /io/blinkd1 io.blinkd1.Manager List 2>&1)
	[[ $out == *'"boot-blink"'* ]] || {
		why "List does not show the autostart program boot-blink: $out"
		return 1
	}
	blinks "$ROW0" 3 || return 1
	used_lines >/tmp/used
	local n
	for n in $LAYOUT; do
		grep -qx "$n blinkd" /tmp/used || {
			why "line $n is not held by blinkd: $(tr '\n' ' ' </tmp/used)"
			return 1
		}
	done
}

test_runs_as_blinkd_fifo_sandboxed() {
	local pid uid gid gpio status stat
	pid=$(prop MainPID)
	[[ $pid != 0 && -r /proc/$pid/status ]] || {
		why "no main PID"
		return 1
	}
	uid=$(id -u blinkd) gid=$(id -g blinkd) gpio=$(getent group gpio | cut -d: -f3)
	status=$(cat "/proc/$pid/status")
	grep -Pq "^Uid:\t$uid\t$uid\t$uid\t$uid$" <<<"$status" || {
		why "not user blinkd ($uid): $(grep ^Uid: <<<"$status")"
		return 1
	}
	grep -Pq "^Gid:\t$gid\t$gid\t$gid\t$gid$" <<<"$status" || {
		why "not group blinkd ($gid): $(grep ^Gid: <<<"$status")"
		return 1
	}
	grep -Eq "^Groups:.*(\s|^)$gpio(\s|$)" <<<"$(grep ^Groups: <<<"$status" | tr '\t' ' ') " || {
		why "not in group gpio ($gpio): $(grep ^Groups: <<<"$status")"
		return 1
	}
	# /proc/PID/stat after the command name: field 40 is rt_priority, 41 policy (1 = SCHED_FIFO)
	stat=$(sed 's/^.*) //' "/proc/$pid/stat")
	local prio policy
	prio=$(awk '{ print $(40 - 2) }' <<<"$stat")
	policy=$(awk '{ print $(41 - 2) }' <<<"$stat")
	[[ $policy == 1 && $prio == 1 ]] || {
		why "scheduling policy $policy priority $prio, expected SCHED_FIFO (1) priority 1"
		return 1
	}
	local field want
	for field in "NoNewPrivs:1" "Seccomp:2" "CapInh:0000000000000000" "CapPrm:0000000000000000" \
		"CapEff:0000000000000000" "CapBnd:0000000000000000" "CapAmb:0000000000000000"; do
		want=${field#*:}
		grep -Pq "^${field%%:*}:\t$want$" <<<"$status" || {
			why "$(grep "^${field%%:*}:" <<<"$status" | tr '\t' ' '), expected $want"
			return 1
		}
	done
	# TimerSlackNSec=1ns; the kernel reports 0 for a realtime task, whose
	# timers it never delays. The default, 50000, would mean neither applies.
	local slack
	slack=$(cat "/proc/$pid/timerslack_ns")
	[[ $slack -le 1 ]] || {
		why "timer slack $slack ns, expected 1 (or 0, realtime)"
		return 1
	}
	local ns families
	for ns in mnt ipc; do
		[[ $(readlink "/proc/$pid/ns/$ns") != "$(readlink "/proc/1/ns/$ns")" ]] || {
			why "blinkd shares PID 1's $ns namespace"
			return 1
		}
	done
	# The host's network namespace, where udev's netlink messages are (no
	# PrivateNetwork=), but no sockets other than AF_UNIX and AF_NETLINK.
	[[ $(readlink "/proc/$pid/ns/net") == "$(readlink /proc/1/ns/net)" ]] || {
		why "blinkd has a network namespace of its own: udev's messages of chips that come and go do not reach it"
		return 1
	}
	families=$(prop RestrictAddressFamilies | tr ' ' '\n' | sort | tr '\n' ' ')
	[[ $families == "AF_NETLINK AF_UNIX " ]] || {
		why "RestrictAddressFamilies is '$families', not AF_UNIX AF_NETLINK"
		return 1
	}
	# its view of the file system: / read-only, /home hidden, a /tmp of its own
	local mounts
	mounts=$(cat "/proc/$pid/mountinfo")
	awk '$5 == "/" { print $6 }' <<<"$mounts" | tail -n1 | grep -Eq '(^|,)ro(,|$)' || {
		why "/ is not read-only for blinkd: $(awk '$5 == "/"' <<<"$mounts" | tail -n1)"
		return 1
	}
	awk '$5 == "/home"' <<<"$mounts" | grep -q . || {
		why "/home is not covered for blinkd (ProtectHome)"
		return 1
	}
	awk '$5 == "/tmp"' <<<"$mounts" | grep -q . || {
		why "blinkd has no private /tmp"
		return 1
	}
	info "pid $pid: uid $uid, groups $(grep ^Groups: <<<"$status" | cut -f2), SCHED_FIFO $prio, seccomp, no capabilities, own mnt/ipc namespaces, the host's network namespace with AF_UNIX and AF_NETLINK only"
}

test_security_exposure() {
	local out level
	out=$(systemd-analyze security blinkd.service 2>&1)
	level=$(sed -n 's/.*Overall exposure level for blinkd.service: \([0-9.]*\).*/\1/p' <<<"$out")
	[[ -n $level ]] || {
		why "systemd-analyze security printed no level: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
		return 1
	}
	info "systemd-analyze security blinkd.service: $level"
	awk -v l="$level" 'BEGIN { exit !(l <= 1.0) }' || {
		why "exposure level $level is above 1.0"
		return 1
	}
}

test_gpio_member_starts_and_stops() {
	local out
	out=$(call_as member Start ss memberon '{"on":{"lines":[5]}}' 2>&1) || {
		why "busctl Start as member failed: $out"
		return 1
	}
	[[ $out == 'o "/io/blinkd1/program/memberon"' ]] || {
		why "Start as member answered: $out"
		return 1
	}
	wait_value 5 1 3 || { why "line 5 is not lit after Start"; return 1; }
	out=$(call_as member Stop s memberon 2>&1) || {
		why "busctl Stop as member failed: $out"
		return 1
	}
	wait_value 5 0 3 || { why "line 5 still lit after Stop"; return 1; }
	local i
	# the same with the client: row 2, one line at a time
	out=$(runuser -u member -- blinkd-client start cycle --row 2 --interval 100ms 2>&1) || {
		why "blinkd-client start as member failed ($?): $out"
		return 1
	}
	local seen='' nseen=0 n v
	i=0
	while [[ $i -lt 60 && $nseen -lt 5 ]]; do
		for n in $ROW2; do
			read -r v <"$SYSFS/sim_gpio$n/value"
			if [[ $v == 1 && " $seen " != *" $n "* ]]; then
				seen="$seen $n"
				nseen=$((nseen + 1))
			fi
		done
		sleep 0.03
		i=$((i + 1))
	done
	[[ $nseen -eq 5 ]] || {
		why "blinkd-client's cycle lit only '$seen' of row 2 ($ROW2)"
		return 1
	}
	out=$(runuser -u member -- blinkd-client stop cycle 2>&1) || {
		why "blinkd-client stop as member failed: $out"
		return 1
	}
	sleep 0.2
	for n in $ROW2; do
		[[ $(cat "$SYSFS/sim_gpio$n/value") == 0 ]] || {
			why "line $n of row 2 still lit after blinkd-client stop"
			return 1
		}
	done
}

test_outsider_reads_but_cannot_start() {
	local out
	out=$(call_as outsider List 2>&1) || {
		why "List as outsider failed: $out"
		return 1
	}
	[[ $out == *'"boot-blink"'* ]] || {
		why "List as outsider: $out"
		return 1
	}
	out=$(runuser -u outsider -- busctl get-property io.blinkd1 /io/blinkd1 io.blinkd1.Manager Version 2>&1) || {
		why "reading Version as outsider failed: $out"
		return 1
	}
	[[ $out == 's "'* ]] || { why "Version as outsider: $out"; return 1; }
	out=$(runuser -u outsider -- busctl get-property io.blinkd1 /io/blinkd1 io.blinkd1.Manager Layout 2>&1) || {
		why "reading Layout as outsider failed: $out"
		return 1
	}
	out=$(runuser -u outsider -- blinkd-client list 2>&1) || {
		why "blinkd-client list as outsider failed: $out"
		return 1
	}
	# Start: refused by the bus, with AccessDenied, and nothing lights
	if out=$(call_as outsider Start ss intruder '{"on":{"lines":[5]}}' 2>&1); then
		why "busctl Start as outsider succeeded: $out"
		return 1
	fi
	[[ $out == *"Access denied"* || $out == *"Rejected send message"* ]] || {
		why "busctl Start as outsider failed otherwise: $out"
		return 1
	}
	out=$(runuser -u outsider -- dbus-send --system --print-reply --dest=io.blinkd1 /io/blinkd1 \
		io.blinkd1.Manager.Start string:intruder 'string:{"on":{"lines":[5]}}' 2>&1)
	[[ $out == *"org.freedesktop.DBus.Error.AccessDenied"* ]] || {
		why "Start as outsider did not get AccessDenied: $out"
		return 1
	}
	if out=$(runuser -u outsider -- blinkd-client start intruder --program '{"on":{"lines":[5]}}' 2>&1); then
		why "blinkd-client start as outsider succeeded: $out"
		return 1
	fi
	sleep 0.2
	[[ $(cat "$SYSFS/sim_gpio5/value") == 0 ]] || {
		why "line 5 lit after a refused Start"
		return 1
	}
	out=$(busctl call io.blinkd1 /io/blinkd1 io.blinkd1.Manager List 2>&1)
	[[ $out != *intruder* ]] || { why "intruder runs: $out"; return 1; }
}

test_stop_leaves_lines_off_and_released() {
	wait_active 5 || return 1
	local t0=$EPOCHREALTIME
	systemctl stop blinkd.service || { why "systemctl stop failed"; return 1; }
	info "systemctl stop took $(since "$t0") s"
	[[ $(systemctl is-active blinkd.service) == inactive ]] || {
		why "blinkd.service is $(systemctl is-active blinkd.service) after stop"
		return 1
	}
	[[ -z $(blinkd_pids) ]] || { why "blinkd processes left: $(blinkd_pids)"; return 1; }
	lit_now
	[[ -z $LIT ]] || { why "lines lit after stop: $LIT"; return 1; }
	local used
	used=$(used_lines)
	[[ -z $used ]] || { why "lines still held after stop: $(tr '\n' ' ' <<<"$used")"; return 1; }
	[[ $(prop Result) == success ]] || { why "stop result: $(prop Result)"; return 1; }
}

test_sigkill_is_followed_by_restart() {
	systemctl start blinkd.service || { why "systemctl start failed"; return 1; }
	wait_active 10 || return 1
	local old restarts
	old=$(prop MainPID)
	restarts=$(prop NRestarts)
	systemctl kill -s KILL blinkd.service
	local i=0 pid
	while [[ $i -lt 150 ]]; do
		pid=$(prop MainPID)
		[[ $pid != 0 && $pid != "$old" && $(prop ActiveState) == active ]] && break
		sleep 0.1
		i=$((i + 1))
	done
	[[ $pid != 0 && $pid != "$old" && $(prop ActiveState) == active ]] || {
		why "no restart after SIGKILL: $(prop ActiveState)/$(prop SubState), MainPID $pid (was $old)"
		return 1
	}
	[[ $(prop NRestarts) -gt $restarts ]] || {
		why "NRestarts did not grow ($(prop NRestarts))"
		return 1
	}
	info "restarted as pid $pid after SIGKILL of $old in $(awk -v i="$i" 'BEGIN { printf "%.1f", i / 10 }') s"
	used_lines >/tmp/used
	local n
	for n in $LAYOUT; do
		grep -qx "$n blinkd" /tmp/used || {
			why "line $n not taken again: $(tr '\n' ' ' </tmp/used)"
			return 1
		}
	done
	blinks "$ROW0" 2
}

# A program started with persist survives a restart of the service, kept in
# its StateDirectory (/var/lib/blinkd) through the sandbox: ProtectSystem=
# strict leaves that one folder writable.
test_persist_survives_restart() {
	local out
	systemctl start blinkd.service || { why "systemctl start failed"; return 1; }
	wait_active 10 || return 1
	out=$(busctl call io.blinkd1 /io/blinkd1 io.blinkd1.Manager StartWithOptions 'ssa{sv}' kept \
		'{"on":{"lines":[13]}}' 1 persist b true 2>&1) || {
		why "StartWithOptions persist failed: $out"
		return 1
	}
	wait_value 13 1 5 || { why "line 13 did not go on"; return 1; }
	[[ -s /var/lib/blinkd/state.json ]] || { why "no /var/lib/blinkd/state.json"; return 1; }
	systemctl restart blinkd.service || { why "systemctl restart failed"; return 1; }
	wait_active 10 || return 1
	out=$(busctl call io.blinkd1 /io/blinkd1 io.blinkd1.Manager List 2>&1)
	[[ $out == *'"kept" "{\"on\":{\"lines\":[13]}}"'* ]] || {
		why "the persistent program is not back after the restart: $out"
		return 1
	}
	wait_value 13 1 5 || { why "line 13 is not lit again after the restart"; return 1; }
	busctl call io.blinkd1 /io/blinkd1 io.blinkd1.Manager Stop s kept >/dev/null
	wait_value 13 0 5 || { why "line 13 stayed lit after Stop"; return 1; }
}

test_dbus_call_activates_service() {
	systemctl stop blinkd.service
	# a unit that failed before (a test above) starts afresh
	systemctl reset-failed blinkd.service 2>/dev/null
	[[ $(systemctl is-active blinkd.service) == inactive ]] || {
		why "blinkd.service did not stop"
		return 1
	}
	local out before
	before=$(activations)
	out=$(call_as outsider List 2>&1) || {
		why "List as outsider with the service stopped failed: $out"
		return 1
	}
	wait_active 5 || return 1
	[[ $(activations) -gt $before ]] || {
		why "dbus-daemon did not log an activation of io.blinkd1"
		return 1
	}
}

# Installing the same package again is an upgrade to dpkg: the postinst
# restarts the service, and the configuration the administrator edited stays.
test_upgrade_restarts_and_keeps_config() {
	wait_active 5 || return 1
	local old out
	old=$(prop MainPID)
	out=$(dpkg -i /srv/blinkd/blinkd_*.deb 2>&1) || {
		why "dpkg -i over the installed package failed: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
		return 1
	}
	wait_active 5 || return 1
	[[ $(prop MainPID) != "$old" ]] || {
		why "blinkd was not restarted by the upgrade (still pid $old)"
		return 1
	}
	grep -q boot-blink /etc/blinkd/blinkd.json || {
		why "the edited /etc/blinkd/blinkd.json was replaced"
		return 1
	}
	info "pid $old before, $(prop MainPID) after"
	blinks "$ROW0" 2
}

test_purge_removes_the_service() {
	local since out
	since=$(date '+%Y-%m-%d %H:%M:%S')
	local t0=$EPOCHREALTIME
	out=$(apt-get purge -y blinkd 2>&1 | while IFS= read -r l; do printf '%s %s\n' "$(since "$t0")" "$l"; done; exit "${PIPESTATUS[0]}") || {
		why "apt-get purge failed: $(tail -n 5 <<<"$out" | tr '\n' ' ')"
		return 1
	}
	info "apt-get purge took $(since "$t0") s"
	printf '#   %s\n' "${out//$'\n'/$'\n'#   }"
	grep -Eiq '(^E:|error|warning|failed)' <<<"$out" && {
		why "apt-get purge complained: $(grep -Ei '(^E:|error|warning|failed)' <<<"$out" | tr '\n' ' ')"
		return 1
	}
	! dpkg-query -W -f '${db:Status-Status}' blinkd 2>/dev/null | grep -qv not-installed || {
		why "dpkg still knows blinkd: $(dpkg-query -W -f '${db:Status-Status}' blinkd)"
		return 1
	}
	[[ -z $(blinkd_pids) ]] || { why "blinkd still runs: $(blinkd_pids)"; return 1; }
	[[ $(prop LoadState) == not-found ]] || {
		why "blinkd.service is still known: $(prop LoadState)/$(prop ActiveState)"
		return 1
	}
	local f
	for f in /etc/blinkd /lib/systemd/system/blinkd.service /usr/lib/systemd/system/blinkd.service \
		/etc/systemd/system/multi-user.target.wants/blinkd.service \
		/var/lib/systemd/deb-systemd-helper-enabled/blinkd.service.dsh-also \
		/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/blinkd.service \
		/usr/share/dbus-1/system.d/io.blinkd1.conf /usr/share/dbus-1/system-services/io.blinkd1.service \
		/usr/bin/blinkd /usr/bin/blinkd-client /var/lib/blinkd; do
		[[ ! -e $f && ! -L $f ]] || { why "$f is left after purge"; return 1; }
	done
	out=$(busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ListActivatableNames 2>&1)
	[[ $out != *'"io.blinkd1"'* ]] || { why "io.blinkd1 is still activatable"; return 1; }
	lit_now
	[[ -z $LIT ]] || { why "lines lit after purge: $LIT"; return 1; }
	[[ -z $(used_lines) ]] || { why "lines held after purge: $(used_lines | tr '\n' ' ')"; return 1; }
	out=$(journalctl -q --no-pager --since "$since" -u blinkd.service -p err)
	[[ -z $out ]] || { why "errors while purging: $(tr '\n' ' ' <<<"$out")"; return 1; }
	# udev leaves a node as it is when no rule names it: give the chip back to
	# root as devtmpfs makes it on a machine that never had blinkd's rule, so
	# that the reinstall below must give it to gpio again, while running.
	chown root:root "$CHIP"
	chmod 0600 "$CHIP"
}

# The README's "Installing on a Raspberry Pi" lines, verbatim, but for
# scripts/build-deb, which ran on the host and left the package in $SRC.
test_readme_install_lines_reinstall() {
	local block
	block=$(awk '
		/^## Installing on a Raspberry Pi/ { sect = 1; next }
		/^## / { sect = 0 }
		sect && /^```sh/ { inblock = 1; next }
		sect && inblock && /^```/ { exit }
		inblock { print }' "$SRC/README.md")
	[[ -n $block ]] || { why "no sh block in README.md's \"Installing on a Raspberry Pi\""; return 1; }
	grep -q '^scripts/build-deb' <<<"$block" || { why "the README's block does not build with scripts/build-deb"; return 1; }
	grep -q 'apt install \./blinkd_\*\.deb' <<<"$block" || { why "the README's block does not install ./blinkd_*.deb"; return 1; }
	local script=/tmp/readme-install.sh activations_before activations_after
	{
		echo 'set -ex'
		grep -v '^scripts/build-deb' <<<"$block"
	} >"$script"
	info "README lines run here: $(grep -v '^set -ex' "$script" | tr -s ' \n' ' ')"
	activations_before=$(activations)
	local out
	out=$(cd "$SRC" && bash "$script" </dev/null 2>&1) || {
		why "the README's lines failed: $(tail -n 6 <<<"$out" | tr '\n' ' ')"
		return 1
	}
	[[ $(stat -c %G:%a "$CHIP") == gpio:660 ]] || {
		why "$CHIP is $(stat -c %G:%a "$CHIP") after the install, not gpio:660"
		return 1
	}
	wait_active 5 || return 1
	# apt started it; the bus did not have to (the busctl line would have)
	activations_after=$(activations)
	[[ $activations_after == "$activations_before" ]] || {
		why "the package did not start blinkd.service: the README's busctl call activated it"
		return 1
	}
	[[ $(systemctl is-enabled blinkd.service) == enabled ]] || {
		why "blinkd.service is $(systemctl is-enabled blinkd.service) after reinstall"
		return 1
	}
	cmp -s /etc/blinkd/blinkd.json /usr/share/blinkd/blinkd.json.example || {
		why "/etc/blinkd/blinkd.json is not the shipped example after purge and reinstall"
		return 1
	}
	out=$(busctl call io.blinkd1 /io/blinkd1 io.blinkd1.Manager List 2>&1)
	[[ $out == *'"heartbeat"'* && $out != *boot-blink* ]] || {
		why "List after the README's lines: $out"
		return 1
	}
	blinks 11 3
}

# ------------------------------------------------- hotplug and exit states
# These two come last: the chip goes away while blinkd holds its lines, and
# then (6.1 keeps the old chip device referenced, see tests/vm/README.md) it
# comes back as another gpiochipN for the rest of the boot. So the
# configuration names the chip by its label, and the lines that follow have
# their own settings.
LINES_CFG='{"chip": "blinkd-boot-chip", "lines": {
	"5": {"alias": "status"},
	"11": {"alias": "keepon", "exit": "on"}}}'
GTRACE=/sys/kernel/tracing/instances/blinkd-boot

# use_config JSON: make JSON blinkd's configuration and (re)start the service.
use_config() {
	printf '%s\n' "$1" >/etc/blinkd/blinkd.json
	systemctl restart blinkd.service || { why "systemctl restart failed"; return 1; }
	wait_active 10
}

# chips_prop: the manager's Chips property, as busctl prints it.
chips_prop() { busctl get-property io.blinkd1 /io/blinkd1 io.blinkd1.Manager Chips 2>&1; }

# wait_chips PATTERN [SECONDS]: until the Chips property matches the glob PATTERN.
wait_chips() {
	local i=0
	while [[ $i -lt $((${2:-5} * 10)) ]]; do
		# shellcheck disable=SC2053 # a glob on purpose
		[[ $(chips_prop) == $1 ]] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	why "Chips is '$(chips_prop)', not like '$1'"
	return 1
}

# gtrace_start / gtrace_stop FILE: the kernel's trace of GPIO writes (as the
# vm tier's lib.sh records it, simpler): FILE gets "N set|get V COMM" and
# "N in|out COMM" for each event, N the chip's offset, and "mark TEXT" for
# gtrace_mark TEXT; in the order the events happened.
gtrace_start() {
	mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing || return 1
	[[ -d $GTRACE ]] || mkdir "$GTRACE" || return 1
	echo 0 >"$GTRACE/tracing_on"
	: >"$GTRACE/trace"
	echo 1 >"$GTRACE/events/gpio/enable"
	echo 1 >"$GTRACE/tracing_on"
}
gtrace_mark() { echo "$*" >"$GTRACE/trace_marker"; }
gtrace_stop() {
	local base
	echo 0 >"$GTRACE/tracing_on"
	echo 0 >"$GTRACE/events/gpio/enable"
	base=$(cat "${SYSFS%/*}"/gpio/gpiochip*/base)
	awk -v base="$base" '
		/^#/ { next }
		{
			comm = $1; sub(/-[0-9]+$/, "", comm)
			for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) break
			ev = $(i + 1)
			if (ev == "gpio_value:") print $(i + 2) - base, $(i + 3), $(i + 4), comm
			else if (ev == "gpio_direction:") print $(i + 2) - base, $(i + 3), comm
			else if (ev == "tracing_mark_write:") { s = $0; sub(/.*tracing_mark_write: /, "", s); print "mark", s }
		}' "$GTRACE/trace" >"$1"
}

# gtrace_events FILE N: what blinkd did to line N after the first mark,
# comma separated: "set 1", "set 0, out", ...
gtrace_events() {
	awk -v n="$2" '$1 == "mark" { m = 1; next }
		m && $1 == n && $NF == "blinkd" { printf "%s%s", s, ($2 == "set" || $2 == "get" ? $2 " " $3 : $2); s = ", " }
		END { print "" }' "$1"
}

# An LED class device as a line, under the unit's sandbox: udev's rule gives
# the LED's brightness and trigger to group gpio, and ReadWritePaths= gives
# the service a writable /sys/devices. The LED is made from user space with
# the kernel's uleds (uleds-led, the vm tier's helper, logs each brightness
# it is given); its trigger is timer before blinkd, none while blinkd drives
# it, timer again after systemctl stop.
LED_DIR=/sys/class/leds/blinkd-test
LED_CFG='{"lines": {"led:blinkd-test": {"alias": "act"}}}'

led_last() { awk 'END { print $2 }' /tmp/led.log; }
led_trigger() { sed -n 's/.*\[\([^]]*\)\].*/\1/p' "$LED_DIR/trigger"; }

led_as_a_line() {
	local i out perms since
	modprobe -a uleds ledtrig-timer || { why "cannot load uleds and ledtrig-timer"; return 1; }
	/usr/lib/blinkd-boot/uleds-led blinkd-test 255 >/tmp/led.log 2>/tmp/led.err &
	LED_PID=$!
	i=0
	while [[ ! -e $LED_DIR/brightness && $i -lt 50 ]]; do sleep 0.1; i=$((i + 1)); done
	[[ -e $LED_DIR/brightness ]] || { why "no LED: $(cat /tmp/led.err)"; return 1; }
	udevadm settle --timeout=10
	perms="$(stat -c '%G %A' "$LED_DIR/brightness"), $(stat -c '%G %A' "$LED_DIR/trigger")"
	[[ $perms =~ ^gpio\ -...rw....,\ gpio\ -...rw....$ ]] || {
		why "udev's rule did not give the LED to group gpio: brightness, trigger: $perms"
		return 1
	}
	echo timer >"$LED_DIR/trigger"
	since=$(date '+%Y-%m-%d %H:%M:%S')
	use_config "$LED_CFG" || return 1
	wait_chips '*"led:blinkd-test" true*' || return 1
	[[ $(led_trigger) == none ]] || { why "the trigger is '$(led_trigger)' while blinkd drives the LED"; return 1; }
	out=$(busctl call io.blinkd1 /io/blinkd1 io.blinkd1.Manager Start ss half '{"dim":{"lines":["act"],"level":0.5}}' 2>&1) || {
		why "Start failed: $out"
		return 1
	}
	i=0
	while [[ $(led_last) != 128 && $i -lt 50 ]]; do sleep 0.1; i=$((i + 1)); done
	[[ $(led_last) == 128 ]] || {
		why "dim 0.5: the LED read '$(awk '{ printf "%s ", $2 }' /tmp/led.log)', not 128 at last"
		return 1
	}
	systemctl stop blinkd.service || { why "systemctl stop failed"; return 1; }
	info "the LED's brightness and trigger: $perms; it read $(awk '{ printf "%s ", $2 }' /tmp/led.log)(from its start, a timer blink, blinkd's dim 0.5 and stop); trigger after the stop: $(led_trigger)"
	[[ $(led_trigger) == timer && $(prop Result) == success ]] || {
		why "after systemctl stop: trigger '$(led_trigger)', result $(prop Result)"
		return 1
	}
	out=$(journalctl -q --no-pager --since "$since" -u blinkd.service -p warning)
	[[ -z $out ]] || { why "warnings in the journal: $(tr '\n' ' ' <<<"$out")"; return 1; }
}

test_led_under_sandbox() {
	local rc=0
	LED_PID=
	led_as_a_line || rc=1
	[[ -z $LED_PID ]] || { kill "$LED_PID"; wait "$LED_PID" 2>/dev/null; }
	return $rc
}

# systemctl stop with line 11 configured "exit": "on" (and off, lit line 5
# with the default exit off): the last batch writes 11 high and 5 low, then
# the lines are released. gpio-sim turns a released line back to its pull
# (down here), so sysfs cannot show what blinkd left; the kernel's trace of
# GPIO writes can.
test_stop_exit_on_leaves_line_high() {
	use_config "$LINES_CFG" || return 1
	local out
	out=$(busctl call io.blinkd1 /io/blinkd1 io.blinkd1.Manager Start ss lit '{"on":{"lines":["status"]}}' 2>&1) || {
		why "Start failed: $out"
		return 1
	}
	wait_value 5 1 5 || { why "line 5 did not go on"; return 1; }
	[[ $(cat "$SYSFS/sim_gpio11/value") == 0 ]] || { why "line 11 is lit before the stop"; return 1; }
	gtrace_start || { why "no tracefs"; return 1; }
	gtrace_mark stop
	systemctl stop blinkd.service || { why "systemctl stop failed"; return 1; }
	gtrace_stop /tmp/gtrace
	local ev5 ev11 after5 after11
	ev5=$(gtrace_events /tmp/gtrace 5)
	ev11=$(gtrace_events /tmp/gtrace 11)
	after5=$(cat "$SYSFS/sim_gpio5/value")
	after11=$(cat "$SYSFS/sim_gpio11/value")
	info "at systemctl stop blinkd did to line 11 (exit on) '$ev11', to line 5 (exit off) '$ev5'; released, they read $after11 and $after5 (their pull)"
	[[ $ev11 == "set 1" && $ev5 == "set 0" ]] || {
		why "at the stop line 11 (exit on) got '$ev11', line 5 (exit off) '$ev5'"
		sed 's/^/#   /' /tmp/gtrace | tail -n 20
		return 1
	}
	[[ $(prop ActiveState)/$(prop Result) == inactive/success ]] || {
		why "after the stop: $(prop ActiveState)/$(prop Result)"
		return 1
	}
	[[ -z $(used_lines) ]] || { why "lines held after the stop: $(used_lines | tr '\n' ' ')"; return 1; }
}

# The sandboxed service follows its chip: removed through configfs while a
# program lights line 5, it stays up (same main PID, no restart), Chips says
# the chip is absent; back (under another gpiochipN), its lines are blinkd's
# again and line 5 lit. udevd's netlink messages reach the service
# (RestrictAddressFamilies=AF_UNIX AF_NETLINK, no PrivateNetwork=).
test_chip_hotplug_under_sandbox() {
	use_config "$LINES_CFG" || return 1
	local out pid restarts since old=$CHIP name dev
	since=$(date '+%Y-%m-%d %H:%M:%S')
	pid=$(prop MainPID)
	restarts=$(prop NRestarts)
	out=$(busctl call io.blinkd1 /io/blinkd1 io.blinkd1.Manager Start ss lit '{"on":{"lines":["status"]}}' 2>&1) || {
		why "Start failed: $out"
		return 1
	}
	wait_value 5 1 5 || { why "line 5 did not go on"; return 1; }
	wait_chips "*\"$LABEL\" \"$CHIP\" true*" || return 1

	echo 0 >"$CHIP_CFG/live" || { why "live=0 failed"; return 1; }
	local i=0
	while [[ -e $old && $i -lt 50 ]]; do sleep 0.1; i=$((i + 1)); done
	[[ ! -e $old ]] || { why "$old is still there after live=0"; return 1; }
	udevadm settle --timeout=10
	wait_chips "*\"$LABEL\" \"*\" false*" || return 1
	[[ $(prop MainPID) == "$pid" && $(prop ActiveState) == active && $(prop NRestarts) == "$restarts" ]] || {
		why "with the chip gone: MainPID $(prop MainPID) (was $pid), $(prop ActiveState), NRestarts $(prop NRestarts) (was $restarts)"
		return 1
	}
	sleep 1

	echo 1 >"$CHIP_CFG/live" || { why "live=1 failed"; return 1; }
	name=$(cat "$CHIP_CFG/bank0/chip_name")
	dev=$(cat "$CHIP_CFG/dev_name")
	CHIP=/dev/$name
	SYSFS=/sys/devices/platform/$dev/$name
	i=0
	while [[ ! -e $SYSFS/sim_gpio27/value && $i -lt 50 ]]; do sleep 0.1; i=$((i + 1)); done
	udevadm settle --timeout=10
	wait_chips "*\"$LABEL\" \"$CHIP\" true*" || return 1
	i=0
	while [[ $(used_lines | tr '\n' ' ') != "5 blinkd 11 blinkd " && $i -lt 50 ]]; do sleep 0.1; i=$((i + 1)); done
	[[ $(used_lines | tr '\n' ' ') == "5 blinkd 11 blinkd " ]] || {
		why "the chip back as $name: its used lines are '$(used_lines | tr '\n' ' ')', not 5 and 11 by blinkd"
		return 1
	}
	wait_value 5 1 5 || { why "line 5 is not lit again on $name"; return 1; }
	[[ $(prop MainPID) == "$pid" && $(prop NRestarts) == "$restarts" ]] || {
		why "after the return: MainPID $(prop MainPID) (was $pid), NRestarts $(prop NRestarts) (was $restarts)"
		return 1
	}
	info "the chip came back as $CHIP; blinkd (pid $pid, not restarted) logged:"
	journalctl -q --no-pager --since "$since" -u blinkd.service | sed 's/^/#   /'
	out=$(journalctl -q --no-pager --since "$since" -u blinkd.service -p err)
	[[ -z $out ]] || { why "errors in the journal: $(tr '\n' ' ' <<<"$out")"; return 1; }
	busctl call io.blinkd1 /io/blinkd1 io.blinkd1.Manager Stop s lit >/dev/null
	wait_value 5 0 5 || { why "line 5 stayed lit after Stop"; return 1; }
}

# ==================================================================== main
info "waiting for the boot to finish"
state=$(timeout 120 systemctl is-system-running --wait 2>&1)
info "system state: $state"
if [[ $state != running ]]; then
	systemctl --failed --no-pager --plain --no-legend | sed 's/^/#   failed: /'
fi
info "$(systemd-analyze 2>&1 | head -n1)"
info "slowest units: $(systemd-analyze blame --no-pager 2>/dev/null | head -n 5 | tr -s ' ' | tr '\n' ',')"
userspace=$(systemctl show -P UserspaceTimestampMonotonic)
ready=$(prop ActiveEnterTimestampMonotonic)
exec_start=$(prop ExecMainStartTimestampMonotonic)
if [[ $ready -gt 0 && $userspace -gt 0 ]]; then
	info "$(awk -v u="$userspace" -v r="$ready" -v e="$exec_start" 'BEGIN {
		printf "blinkd READY=1 %.2f s after systemd started (%.0f ms after its exec)", (r - u) / 1e6, (r - e) / 1e3 }')"
fi
info "kernel $(uname -r), systemd $(systemctl --version | head -n1 | cut -d' ' -f2), blinkd $(dpkg-query -W -f '${Version}' blinkd)"
info "$(tr '\n' ' ' </run/blinkd-boot/chip 2>/dev/null)"

t service_active_after_boot
t autostart_blinks_row0
t runs_as_blinkd_fifo_sandboxed
t security_exposure
t gpio_member_starts_and_stops
t outsider_reads_but_cannot_start
t stop_leaves_lines_off_and_released
t sigkill_is_followed_by_restart
t persist_survives_restart
t dbus_call_activates_service
t upgrade_restarts_and_keeps_config
t purge_removes_the_service
t readme_install_lines_reinstall
t led_under_sandbox
t stop_exit_on_leaves_line_high
t chip_hotplug_under_sandbox

echo "BLINKD-BOOT-RESULT: $passed passed, $failed failed"
rc=0
[[ $failed -eq 0 ]] || rc=1
echo "BLINKD-BOOT-DONE rc=$rc"
sync
systemctl poweroff --no-block
