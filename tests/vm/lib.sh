# SPDX-License-Identifier: MIT
# shellcheck shell=sh
#
# /vm-lib.sh in the guest: the gpio-sim chips, sourced by /init and by
# /guest-tests.sh (busybox sh).
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
# The name can change when the chip comes back (see sim_live), so the
# helpers read these variables each time and sim_live sets them anew.
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
}

# ----------------------------------------------------------- udev events

# umon_start FILE: record the udev events of subsystem gpio (udev's netlink
# group, after udevd, as sd_device_monitor sees them) with their properties.
umon_start() {
	udevadm monitor --udev --property --subsystem-match=gpio >"$1" 2>&1 &
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
