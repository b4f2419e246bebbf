# SPDX-License-Identifier: MIT
# shellcheck shell=sh
#
# /vm-lib.sh in the guest: the gpio-sim chips and the helpers of the tests
# (lines, hotplug, udev events, sampling, the kernel's trace of GPIO writes),
# sourced by /init and by /guest-tests.sh (busybox sh). README.md lists them.
#
# A chip is named by a KEY, A or B. sim_create makes one in configfs; its
# facts are then in shell variables, which /init exports for the tests:
#   VM_CFG_<KEY>     its configfs folder, /sys/kernel/config/gpio-sim/<label>
#   VM_LABEL_<KEY>   its label (the bank's configfs attribute "label")
#   VM_LINES_<KEY>   its number of lines
#   VM_NAME_<KEY>    its kernel name, e.g. gpiochip1
#   VM_CHIP_<KEY>    its device node, /dev/<name>
#   VM_SYSFS_<KEY>   its sysfs folder, /sys/devices/platform/gpio-sim.N/<name>,
#                    which holds sim_gpioN/value and sim_gpioN/pull
# The name can change when the chip comes back (see chip_recreate), so the
# helpers read these variables each time and sim_refresh sets them anew.
#
# busybox ash has $EPOCHREALTIME; SIM_ERR is for the callers:
# shellcheck disable=SC3028,SC2034

SIM_CFG=/sys/kernel/config/gpio-sim

# sim_var NAME KEY: the value of the variable VM_<NAME>_<KEY>.
sim_var() { eval "echo \"\${VM_$1_$2}\""; }

# sim_wait_path PATH [TENTHS]: wait until PATH exists (default 5 s).
sim_wait_path() {
	_i=0
	while [ ! -e "$1" ] && [ $_i -lt "${2:-50}" ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -e "$1" ]
}

# sim_wait_gone PATH [TENTHS]: wait until PATH is gone (default 5 s).
sim_wait_gone() {
	_i=0
	while [ -e "$1" ] && [ $_i -lt "${2:-50}" ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ ! -e "$1" ]
}

# sim_refresh KEY: read the live chip's name from configfs into its variables
# and wait for its device node and sysfs files. Fails (1) with a message in
# SIM_ERR when they do not appear within 5 s.
sim_refresh() {
	_cfg=$(sim_var CFG "$1")
	read -r _name <"$_cfg/bank0/chip_name"
	read -r _dev <"$_cfg/dev_name"
	eval "VM_NAME_$1=\$_name VM_CHIP_$1=/dev/\$_name VM_SYSFS_$1=/sys/devices/platform/\$_dev/\$_name"
	sim_wait_path "/dev/$_name" || {
		SIM_ERR="/dev/$_name did not appear"
		return 1
	}
	# gpio-sim adds sim_gpioN after the chip itself: wait for the last line's.
	_n=$(($(sim_var LINES "$1") - 1))
	sim_wait_path "/sys/devices/platform/$_dev/$_name/sim_gpio$_n/value" || {
		SIM_ERR="/sys/devices/platform/$_dev/$_name/sim_gpio$_n/value did not appear"
		return 1
	}
}

# sim_create KEY LABEL NLINES "OFFSET:NAME ...": make a gpio-sim device with
# one bank of NLINES lines labelled LABEL, name the lines given, bring it live
# and set its variables.
sim_create() {
	_cfg=$SIM_CFG/$2
	mkdir "$_cfg" "$_cfg/bank0" || {
		SIM_ERR="cannot create $_cfg"
		return 1
	}
	echo "$2" >"$_cfg/bank0/label"
	echo "$3" >"$_cfg/bank0/num_lines"
	for _ln in $4; do
		mkdir "$_cfg/bank0/line${_ln%%:*}"
		echo "${_ln#*:}" >"$_cfg/bank0/line${_ln%%:*}/name"
	done
	eval "VM_CFG_$1=\$_cfg VM_LABEL_$1=\$2 VM_LINES_$1=\$3"
	echo 1 >"$_cfg/live" || {
		SIM_ERR="cannot bring $_cfg live"
		return 1
	}
	sim_refresh "$1"
}

# sim_export KEY: export the chip's variables (for /init).
sim_export() {
	for _v in CFG LABEL LINES NAME CHIP SYSFS; do
		export "VM_${_v}_$1"
	done
}

# ------------------------------------------------------------------ time

# now_ms: the time in milliseconds into NOW, without a fork.
now_ms() {
	_t=$EPOCHREALTIME
	NOW=$((${_t%.*} * 1000 + 1${_t#*.} / 1000 - 1000))
}

# since T0: seconds since the $EPOCHREALTIME value T0, one decimal.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# ------------------------------------------------------------- the lines

# phys KEY N: the physical value (0 or 1) of line N of chip KEY, as the chip
# sees it (sim_gpioN/value).
phys() {
	read -r _v <"$(sim_var SYSFS "$1")/sim_gpio$2/value"
	echo "$_v"
}

# set_pull KEY N up|down: the simulated pull of line N. An unrequested line
# reads it; a released output line goes back to it.
set_pull() { echo "pull-$3" >"$(sim_var SYSFS "$1")/sim_gpio$2/pull"; }

# pull_of KEY N: up or down.
pull_of() {
	read -r _v <"$(sim_var SYSFS "$1")/sim_gpio$2/pull"
	echo "${_v#pull-}"
}

# line_info KEY N: what gpioinfo says of line N after its name, e.g.
# "output active-low drive=open-drain consumer=blinkd" (unquoted, one space).
line_info() {
	gpioinfo -c "$(sim_var NAME "$1")" --unquoted "$2" |
		awk '{ $1 = $2 = $3 = ""; sub(/^ +/, ""); print }'
}

# label_of KEY: the label as sysfs shows it. The chip device (bus gpio,
# /dev/gpiochipN) has no label attribute in 6.1; the legacy sysfs class device
# beside it, <platform device>/gpio/gpiochip<base>/, has label, base, ngpio.
label_of() {
	_d=$(sim_var SYSFS "$1")
	cat "${_d%/*}"/gpio/gpiochip*/label
}

# base_of KEY: the chip's first global GPIO number (the numbers of the trace
# events are base + offset).
base_of() {
	_d=$(sim_var SYSFS "$1")
	cat "${_d%/*}"/gpio/gpiochip*/base
}

# ------------------------------------------------------ hotplug (configfs)

# chip_remove KEY: take the chip away (configfs live=0), as if unplugged;
# wait until its device node is gone and udev has handled the events.
chip_remove() {
	_dev=$(sim_var CHIP "$1")
	echo 0 >"$(sim_var CFG "$1")/live" || {
		SIM_ERR="live=0 failed"
		return 1
	}
	sim_wait_gone "$_dev" || {
		SIM_ERR="$_dev still there"
		return 1
	}
	udevadm settle --timeout=5
}

# chip_recreate KEY: bring the chip back (live=1) with its label, line count
# and line names; wait for its node and sysfs files and for udev, and set its
# variables anew. Its name is gpiochipN again unless the old chip device is
# still referenced: an open file of it, or (a 6.1 leak) a line that was
# requested when the chip went away and released later; then it gets a new
# number (and base) for good.
chip_recreate() {
	echo 1 >"$(sim_var CFG "$1")/live" || {
		SIM_ERR="live=1 failed"
		return 1
	}
	sim_refresh "$1" || return 1
	udevadm settle --timeout=5
	[ -z "$GTRACE_ON" ] || gtrace_map "$1"
}

# ----------------------------------------------------------- udev events

# umon_start FILE [SUBSYSTEM...]: record the udev events of the subsystems
# (default gpio) on udev's netlink group, after udevd, as sd_device_monitor
# sees them, with their properties.
umon_start() {
	_f=$1
	shift
	[ $# -gt 0 ] || set -- gpio
	_m=
	for _s in "$@"; do _m="$_m --subsystem-match=$_s"; done
	# shellcheck disable=SC2086 # one option per subsystem
	udevadm monitor --udev --property $_m >"$_f" 2>&1 &
	UMON_PID=$!
	sleep 0.2
}

# umon_stop: end the recording.
umon_stop() {
	[ -n "$UMON_PID" ] || return 0
	sleep 0.2
	kill "$UMON_PID" 2>/dev/null
	wait "$UMON_PID" 2>/dev/null
	UMON_PID=
}

# umon_events FILE: one line per event: ACTION DEVPATH DEVNAME ("-" if none).
umon_events() {
	awk '/^ACTION=/ { a = substr($0, 8) } /^DEVPATH=/ { p = substr($0, 9) }
		/^DEVNAME=/ { n = substr($0, 9) }
		/^$/ && a != "" { print a, p, (n == "" ? "-" : n); a = p = n = "" }
		END { if (a != "") print a, p, (n == "" ? "-" : n) }' "$1"
}

# -------------------------------------------------------------------- LED
# A userspace LED class device (uleds): /usr/bin/uleds-led makes it through
# /dev/uleds and logs every brightness the kernel gives it, one line
# "T B" (T in µs, CLOCK_MONOTONIC, B the brightness), into a file. The LED
# exists while that process runs; ending it removes the LED, as if unplugged.

LED_NAME=blinkd-test
LED_MAX=255
LED_DIR=/sys/class/leds/$LED_NAME

# led_create [LOG]: make the LED (default log /tmp/led.log) and wait for its
# sysfs folder, its first log line and udev. LED_PID is the helper.
led_create() {
	LED_LOG=${1:-/tmp/led.log}
	: >"$LED_LOG"
	uleds-led "$LED_NAME" "$LED_MAX" >"$LED_LOG" 2>/tmp/led.err &
	LED_PID=$!
	sim_wait_path "$LED_DIR/brightness" || {
		SIM_ERR="$LED_DIR did not appear: $(cat /tmp/led.err)"
		return 1
	}
	_i=0
	while [ ! -s "$LED_LOG" ] && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	udevadm settle --timeout=5
}

# led_remove: end the helper: the LED goes; wait for sysfs and udev.
led_remove() {
	[ -n "$LED_PID" ] || return 0
	kill "$LED_PID" 2>/dev/null
	wait "$LED_PID" 2>/dev/null
	LED_PID=
	sim_wait_gone "$LED_DIR" || {
		SIM_ERR="$LED_DIR still there"
		return 1
	}
	udevadm settle --timeout=5
}

# led_values [FROM]: the brightness values the helper read, from log line
# FROM on (default 1), space separated.
led_values() { awk -v f="${1:-1}" 'NR >= f { printf "%s%s", s, $2; s = " " } END { print "" }' "$LED_LOG"; }

# led_last: the last brightness the helper read.
led_last() { awk 'END { print $2 }' "$LED_LOG"; }

# led_lines: how many values the helper has read (for led_values FROM).
led_lines() { wc -l <"$LED_LOG"; }

# led_wait_last B [SECONDS]: wait until the last value read is B (default 5 s).
led_wait_last() {
	now_ms
	_end=$((NOW + ${2:-5} * 1000))
	while [ "$(led_last)" != "$1" ]; do
		now_ms
		[ "$NOW" -gt "$_end" ] && return 1
		sleep 0.05
	done
}

# led_trigger: the LED's trigger in force (the word in brackets).
led_trigger() { sed -n 's/.*\[\([^]]*\)\].*/\1/p' "$LED_DIR/trigger"; }

# -------------------------------------------------------------- sampling

# sample FILE MS SPEC...: read the physical values of the lines SPEC (KEY:N,
# e.g. A:9 B:1) in a tight loop for MS milliseconds; FILE gets a line
# "T v1 v2 ..." (T in ms from the start) first and at every change, and a last
# line "# N samples in T ms". Polling sees a change only if it lasts longer
# than one round (about 0.25 ms per line read under TCG): for short pulses use
# the gtrace helpers. Run it in the background (&) while something happens.
sample() {
	_f=$1
	_ms=$2
	shift 2
	: >"$_f"
	# the files to read, as the arguments (no fork in the loop)
	_specs=$*
	set --
	for _s in $_specs; do
		set -- "$@" "$(sim_var SYSFS "${_s%%:*}")/sim_gpio${_s#*:}/value"
	done
	_prev=
	_count=0
	now_ms
	_t0=$NOW
	while :; do
		_cur=
		for _s in "$@"; do
			read -r _v <"$_s"
			_cur="$_cur $_v"
		done
		now_ms
		_count=$((_count + 1))
		if [ "$_cur" != "$_prev" ]; then
			echo "$((NOW - _t0))$_cur" >>"$_f"
			_prev=$_cur
		fi
		[ $((NOW - _t0)) -ge "$_ms" ] && break
	done
	echo "# $_count samples in $((NOW - _t0)) ms" >>"$_f"
}

# ----------------------------------------------- kernel trace of GPIO writes
# gpiolib's trace events record every value the kernel writes to a line
# (gpio_value ... set V), reads from it (get V) and every direction change
# (gpio_direction ... in/out), with the writing process and a microsecond
# timestamp: nothing is missed, however short. A write to an open-drain line
# is "set 1" and "in" (released) or "set 0" and "out"; to an open-source line
# "set 1" and "out" or "set 0" and "in". A request as an output is "set V" and
# "out", but an open-drain request at 1 (open-source at 0) is "in" alone. gpio-sim's own revert
# of a released line to its pull is not an event.

GTRACE=/sys/kernel/tracing/instances/blinkd-vm
GTRACE_MAP=/tmp/gtrace.map

# gtrace_map KEY: note the chip's current base, so that events map to
# chip and offset (also after the chip came back under another base).
gtrace_map() { echo "$(base_of "$1") $1 $(sim_var LINES "$1")" >>"$GTRACE_MAP"; }

# gtrace_start: clear and start the trace of both chips. Its clock is "mono"
# (CLOCK_MONOTONIC), the clock of blinkd's --trace and of uleds-led's log,
# so that their times compare.
gtrace_start() {
	[ -d "$GTRACE" ] || mkdir "$GTRACE" || return 1
	echo 0 >"$GTRACE/tracing_on"
	echo mono >"$GTRACE/trace_clock" || return 1
	: >"$GTRACE/trace"
	: >"$GTRACE_MAP"
	gtrace_map A
	gtrace_map B
	echo 1 >"$GTRACE/events/gpio/enable"
	echo 1 >"$GTRACE/tracing_on"
	GTRACE_ON=1
}

# gtrace_mark TEXT: put a marker into the trace (e.g. "sigterm").
gtrace_mark() { echo "$*" >"$GTRACE/trace_marker"; }

# gtrace_stop FILE: stop the trace and write it decoded to FILE, one event a
# line, the time in microseconds of CLOCK_MONOTONIC. The order of the events
# is the order they happened in (the guest has one CPU), but about once a
# second this kernel stamps one event 18 to 43 ms early, with any trace
# clock, even before the event written just before it by the same thread
# (README.md): a time below the one before is raised to it, so the times in
# FILE never go back; an early one after a later event's time stays early.
# One event a line:
#   T KEY N set|get V COMM    a value written to / read from line N of KEY
#   T KEY N in|out COMM       line N made an input (released) / an output
#   T mark TEXT               a gtrace_mark
gtrace_stop() {
	echo 0 >"$GTRACE/tracing_on"
	echo 0 >"$GTRACE/events/gpio/enable"
	GTRACE_ON=
	awk -v map="$GTRACE_MAP" '
		BEGIN { while ((getline l < map) > 0) { split(l, m, " "); nb++; b[nb] = m[1]; k[nb] = m[2]; n[nb] = m[3] } }
		function line(g,   i) {
			for (i = nb; i >= 1; i--)
				if (g >= b[i] && g < b[i] + n[i]) return k[i] " " (g - b[i])
			return "? " g
		}
		/^#/ { next }
		{
			comm = $1; sub(/-[0-9]+$/, "", comm)
			for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) break
			split($i, ts, /[.:]/); t = ts[1] * 1000000 + ts[2]
			if (t < last) t = last
			last = t
			ev = $(i + 1)
			if (ev == "gpio_value:") print t, line($(i + 2)), $(i + 3), $(i + 4), comm
			else if (ev == "gpio_direction:") print t, line($(i + 2)), $(i + 3), comm
			else if (ev == "tracing_mark_write:") { $1 = ""; s = $0; sub(/.*tracing_mark_write: /, "", s); print t, "mark", s }
		}' "$GTRACE/trace" >"$1"
}

# gtrace_sets FILE KEY N [COMM]: the values written to line N of KEY, in
# order, space separated (by COMM only, when given).
gtrace_sets() {
	awk -v k="$2" -v n="$3" -v c="$4" '$2 == k && $3 == n && $4 == "set" && (c == "" || $6 == c) { printf "%s%s", sep, $5; sep = " " } END { print "" }' "$1"
}

# gtrace_events FILE KEY N [COMM]: the events of line N of KEY, in order,
# comma separated: "set 0, out, set 1, in" (by COMM only, when given).
gtrace_events() {
	awk -v k="$2" -v n="$3" -v c="$4" '$2 == k && $3 == n && (c == "" || $NF == c) { printf "%s%s", s, ($4 == "set" || $4 == "get" ? $4 " " $5 : $4); s = ", " } END { print "" }' "$1"
}

# gtrace_after FILE TEXT: the events after the mark TEXT.
gtrace_after() { awk -v m="$2" 'f { print } $2 == "mark" && $3 == m { f = 1 }' "$1"; }

# gtrace_phase FILE KEY1 N1 KEY2 N2 MARK: are the writes to line 2 after the
# mark MARK in phase with those to line 1 (e.g. a chip-B line that came back
# and a chip-A line of the same blink, written in one batch)? Prints
# "N MISMATCHES LAG MAXLAG": N writes to line 2 after MARK; MISMATCHES of
# them wrote another value than line 1 had then (its last write before, in
# the trace's order, which is the true one); LAG the median and MAXLAG the
# largest distance in ms from a write to line 2 (but the first, which
# restores the state) back to line 1's write before it. The median stands
# for the lines' phase: one event stamped early (see gtrace_stop) moves only
# MAXLAG.
gtrace_phase() {
	awk -v k1="$2" -v n1="$3" -v k2="$4" -v n2="$5" -v m="$6" '
		$2 == "mark" { if ($3 == m) after = 1; next }
		$4 != "set" { next }
		$2 == k1 && $3 == n1 { v1 = $5; t1 = $1; seen1 = 1; next }
		after && $2 == k2 && $3 == n2 {
			c2++
			if (!seen1 || $5 != v1) mis++
			else if (c2 > 1) { nl++; lag[nl] = $1 - t1 }
		}
		END {
			# sort the lags (few), take the middle one and the largest
			for (i = 2; i <= nl; i++)
				for (j = i; j > 1 && lag[j - 1] > lag[j]; j--) { x = lag[j]; lag[j] = lag[j - 1]; lag[j - 1] = x }
			printf "%d %d %d %d\n", c2, mis, nl ? lag[int((nl + 1) / 2)] / 1000 : 0, nl ? lag[nl] / 1000 : 0
		}' "$1"
}
