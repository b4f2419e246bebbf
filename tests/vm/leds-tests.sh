# SPDX-License-Identifier: MIT
# shellcheck shell=sh
#
# /leds-tests.sh in the guest: LED class devices, with the kernel's uleds
# (userspace LEDs). /usr/bin/uleds-led (tests/vm/uleds-led.c) makes the LED
# /sys/class/leds/blinkd-test (max_brightness 255) and logs every brightness
# the kernel gives it; /vm-lib.sh's led_* helpers drive it. Sourced by
# guest-tests.sh, whose harness and daemon helpers they use:
#   - uleds_led_comes_and_goes (no blinkd, also with --tools-only): what
#     the kernel and udev show of such an LED;
#   - run_led_tests: blinkd with the line "led:blinkd-test" (alias "act"):
#     levels as brightness, a fade as levels, the trigger taken and given
#     back, the LED gone and back (at its level).
#
# What they rely on of the daemon: a line "led:NAME" is the LED class device
# NAME, found and followed through udev (subsystem leds) like a chip, listed
# in Chips with the path "led:NAME"; a level is written as brightness =
# level * max_brightness, rounded, with no PWM; the trigger is "none" while
# blinkd drives the LED and is put back at exit, after the exit state.
#
# busybox ash has $EPOCHREALTIME:
# shellcheck disable=SC3028

LED_CFG='{"lines": {"led:blinkd-test": {"alias": "act"}}}'

# chips_entry SPEC: the entry of the Chips property whose label or path is
# SPEC, as "LABEL PATH PRESENT" (quotes removed), or nothing.
chips_entry() {
	prop Chips | awk -v s="$1" '{
		for (i = 3; i + 2 <= NF; i += 3) {
			l = $i; p = $(i + 1); gsub(/"/, "", l); gsub(/"/, "", p)
			if (l == s || p == s) { print l, p, $(i + 2); exit }
		}
	}'
}

# led_wait_chip true|false [SECONDS]: until Chips says the LED is (not) there.
led_wait_chip() {
	now_ms
	_end=$((NOW + ${2:-5} * 1000))
	while :; do
		_e=$(chips_entry "led:$LED_NAME")
		[ "${_e##* }" = "$1" ] && return 0
		now_ms
		[ "$NOW" -gt "$_end" ] && break
		sleep 0.05
	done
	why "Chips does not show led:$LED_NAME present=$1: $(prop Chips)"
	return 1
}

# brightness LEVEL: the brightness blinkd must give a level, rounded.
brightness() { awk -v l="$1" -v m="$LED_MAX" 'BEGIN { printf "%d", l * m + 0.5 }'; }

# on_and_off "VALUES": the values read show a blink: three or more, among
# them 0 and the maximum.
on_and_off() {
	[ "$(echo "$1" | wc -w)" -ge 3 ] || return 1
	case " $1 " in *" 0 "*) ;; *) return 1 ;; esac
	case " $1 " in *" $LED_MAX "*) ;; *) return 1 ;; esac
}

# led_reset: no daemon; the LED there, without a trigger, dark.
led_reset() {
	[ -z "$DPID" ] || stop_daemon
	start_bus
	if [ -z "$LED_PID" ] || ! kill -0 "$LED_PID" 2>/dev/null; then
		led_create || {
			why "cannot make the LED: $SIM_ERR"
			return 1
		}
	fi
	echo none >"$LED_DIR/trigger"
	echo 0 >"$LED_DIR/brightness"
	led_wait_last 0
}

# Without blinkd: the LED appears with its max_brightness, reads 0, has the
# triggers "none", "timer" and "heartbeat", passes brightness writes to the
# helper, blinks with the timer trigger, which a brightness of 0 written to
# sysfs ends (and one above 0 does not); udevd passes "add" and "remove" of
# subsystem leds to udev's netlink group (where sd_device_monitor listens).
test_uleds_led_comes_and_goes() {
	umon_start /tmp/umon.leds leds
	led_create || {
		umon_stop
		why "$SIM_ERR"
		return 1
	}
	max=$(cat "$LED_DIR/max_brightness")
	b=$(cat "$LED_DIR/brightness")
	triggers=$(cat "$LED_DIR/trigger")
	first=$(led_values)
	db=no
	[ -e "/run/udev/data/+leds:$LED_NAME" ] && db=yes
	echo 100 >"$LED_DIR/brightness"
	led_wait_last 100
	written=$(led_values 2)
	echo 0 >"$LED_DIR/brightness"
	led_wait_last 0
	# the timer trigger blinks it, 500 ms on and 500 ms off
	from=$(($(led_lines) + 1))
	echo timer >"$LED_DIR/trigger"
	sleep 1.3
	blinked=$(led_values "$from")
	# a brightness above 0 written meanwhile leaves the trigger, a 0 ends it
	echo 100 >"$LED_DIR/brightness"
	after100=$(led_trigger)
	echo 0 >"$LED_DIR/brightness"
	after0=$(led_trigger)
	echo none >"$LED_DIR/trigger"
	led_remove || {
		umon_stop
		why "remove: $SIM_ERR"
		return 1
	}
	umon_stop
	umon_events /tmp/umon.leds >/tmp/umon.leds.events
	sed 's/^/# udev: /' /tmp/umon.leds.events
	echo "# $LED_NAME: max_brightness $max, brightness $b, triggers '$triggers'; udev database entry: $db"
	echo "# with the timer trigger for 1.3 s the helper read: $blinked; the trigger after writing 100: $after100, after writing 0: $after0"
	[ "$max|$b|$first|$written" = "$LED_MAX|0|0|100" ] || {
		why "max_brightness $max, brightness $b, first read '$first', after writing 100 read '$written'"
		return 1
	}
	case " $triggers " in
	*" [none] "*" timer "* | *" timer "*" [none] "*) ;;
	*) why "triggers '$triggers': not [none] with timer"; return 1 ;;
	esac
	case " $triggers " in
	*" heartbeat "*) ;;
	*) why "no heartbeat trigger: '$triggers'"; return 1 ;;
	esac
	on_and_off "$blinked" || {
		why "the timer trigger did not blink the LED: '$blinked'"
		return 1
	}
	[ "$after100 $after0" = "timer none" ] || {
		why "the trigger after writing 100 to the brightness is '$after100', after 0 '$after0'"
		return 1
	}
	for a in add remove; do
		grep -q "^$a /devices/.*/$LED_NAME -\$" /tmp/umon.leds.events || {
			why "no udev '$a' event of the LED"
			dump /tmp/umon.leds
			return 1
		}
	done
}

# (a) blinkd finds the LED by name and a dim writes half its brightness, once.
test_led_dim_half() {
	led_reset || return 1
	start_blinkd "$LED_CFG" || return 1
	e=$(chips_entry "led:$LED_NAME")
	[ "${e##* }" = true ] || {
		why "Chips does not show the LED present: $(prop Chips)"
		return 1
	}
	case $(prop Lines) in
	*'"led:blinkd-test" "act" '*'"kind" s "led"'*) ;;
	*) why "Lines: $(prop Lines)"; return 1 ;;
	esac
	[ "$(led_trigger)" = none ] || {
		why "the trigger is '$(led_trigger)' while blinkd drives the LED"
		return 1
	}
	from=$(($(led_lines) + 1))
	start half '{"dim":{"lines":["act"],"level":0.5}}' || return 1
	want=$(brightness 0.5)
	led_wait_last "$want" || {
		why "after dim 0.5 the LED read '$(led_values "$from")', expected $want"
		return 1
	}
	sleep 0.3
	got=$(led_values "$from")
	levels=$(prop Levels)
	echo "# dim 0.5: the LED read '$got'; Levels: $levels; Chips entry: $e"
	[ "$got|$(cat "$LED_DIR/brightness")" = "$want|$want" ] || {
		why "dim 0.5: the LED read '$got' (one value, $want, expected), sysfs brightness $(cat "$LED_DIR/brightness")"
		return 1
	}
	case "$levels " in
	*" 0.5 "*) ;;
	*) why "Levels: $levels"; return 1 ;;
	esac
	stop half || return 1
	led_wait_last 0 || {
		why "after Stop the LED read '$(led_values "$from")'"
		return 1
	}
}

# (b) A linear fade from 0 to 1 over 500 ms is levels: a rising series of
# brightness values ending near the top, then dark when the fade is done; at
# most one value per 5 ms PWM period (pwm_hz 200), and no PWM edges (which
# would read 255 and 0 by turns).
test_led_fade_is_levels() {
	led_reset || return 1
	start_blinkd "$LED_CFG" || return 1
	from=$(($(led_lines) + 1))
	tfrom=$(($(wc -l <"$TRACE") + 1))
	start fade '{"fade":{"lines":["act"],"from":0,"to":1,"over":"500ms","curve":"linear"}}' || return 1
	# until it is done: a value above 0, then 0 (at most 5 s)
	i=0
	while ! awk -v f="$from" 'NR >= f && $2 > 0 { up = 1 } END { exit !(up && $2 == 0) }' "$LED_LOG" &&
		[ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	sleep 0.2
	tail -n +"$from" "$LED_LOG" >/tmp/led.fade
	tail -n +"$tfrom" "$TRACE" >/tmp/trace.fade
	# the values read: how many above 0, whether they rise, the last one
	# above 0, where a 0 comes (only last), and the span and gaps in ms
	read -r n rising top zeros span mingap <<EOF
$(awk -v max="$LED_MAX" '
	$2 > 0 { n++; if (n > 1 && $2 <= prev) bad++; prev = $2; top = $2
		if (n == 1) t0 = $1; else if (!mg || $1 - tl < mg) mg = $1 - tl; tl = $1; next }
	{ if (n > 0) z++ }
	END { printf "%d %s %d %d %.1f %.1f\n", n, (bad ? "no" : "yes"), top, z, (tl - t0) / 1000, mg / 1000 }' /tmp/led.fade)
EOF
	# the trace: blinkd's writes of levels above 0, and the time they took
	read -r tn tspan <<EOF
$(awk '$3 != "0" { n++; if (n == 1) t0 = $1; t = $1 } END { printf "%d %.1f\n", n, (t - t0) / 1e6 }' /tmp/trace.fade)
EOF
	echo "# fade 0 to 1 over 500 ms: the LED read $n values above 0 over $span ms (closest $mingap ms apart), rising: $rising, the last $top; blinkd's trace has $tn levels over $tspan ms"
	echo "# the values: $(awk '{ printf "%s ", $2 }' /tmp/led.fade)"
	ok=0
	if [ "$rising" != yes ] || [ "$zeros" != 1 ]; then
		why "the values read do not rise to a single 0 at the end (rising $rising, $zeros values 0 after the first)"
		ok=1
	elif [ "$n" -lt 10 ] || [ "$top" -lt $((LED_MAX * 9 / 10)) ]; then
		why "$n values above 0, the last $top: not a series of levels ending near $LED_MAX"
		ok=1
	elif [ "$n" -gt 101 ] || [ "$tn" -gt 101 ]; then
		why "$n values read, $tn levels traced in 500 ms: more than one per 5 ms period"
		ok=1
	fi
	[ $ok = 0 ] || {
		dump /tmp/led.fade
		dump /tmp/trace.fade
	}
	return $ok
}

# (c) A trigger the LED had before blinkd ("timer", which blinks it) is
# "none" while blinkd drives it, so that only blinkd's values reach it, and is
# back after SIGTERM. The exit state (off) comes first: a 0 written to the
# brightness after the trigger would have ended the trigger again.
test_led_trigger_none_then_back() {
	led_reset || return 1
	echo timer >"$LED_DIR/trigger"
	[ "$(led_trigger)" = timer ] || {
		why "the LED's trigger is '$(led_trigger)' after writing timer"
		return 1
	}
	start_blinkd "$LED_CFG" || return 1
	[ "$(led_trigger)" = none ] || {
		why "the trigger is '$(led_trigger)' while blinkd drives the LED"
		return 1
	}
	start on '{"on":{"lines":["act"]}}' || return 1
	led_wait_last "$LED_MAX" || {
		why "the LED is not at $LED_MAX after on: $(led_values)"
		return 1
	}
	from=$(($(led_lines) + 1))
	sleep 1.2
	meanwhile=$(led_values "$from")
	[ -z "$meanwhile" ] || {
		why "with blinkd's on, the LED read '$meanwhile' in 1.2 s: something else drives it"
		return 1
	}
	from=$(($(led_lines) + 1))
	stop_daemon
	after=$(led_trigger)
	sleep 1.3
	blinked=$(led_values "$from")
	echo "# trigger timer before blinkd, none while it ran, '$after' after SIGTERM (exit $DSTATUS); then the LED read: $blinked"
	echo none >"$LED_DIR/trigger"
	[ "$DSTATUS|$after" = "0|timer" ] || {
		why "after SIGTERM: exit status $DSTATUS, trigger '$after' (expected timer)"
		dump "$ERR"
		return 1
	}
	on_and_off "$blinked" || {
		why "the timer trigger did not blink the LED after blinkd's exit: '$blinked'"
		return 1
	}
}

# (d) The LED goes (its uleds file closed) while a dim drives it, and comes
# back: blinkd keeps running, Chips shows it absent, then present, the new
# LED is blinkd's again (trigger none, brightness above 0); udevd passes both
# events on. What the LED read from its return on is kept in LED_BACK for
# led_back_at_its_level.
test_led_gone_and_back() {
	LED_BACK=
	led_reset || return 1
	start_blinkd "$LED_CFG" || return 1
	want=$(brightness 0.5)
	start half '{"dim":{"lines":["act"],"level":0.5}}' || return 1
	led_wait_last "$want" || {
		why "dim 0.5: the LED read '$(led_values)'"
		return 1
	}
	umon_start /tmp/umon.leds leds
	led_remove || {
		umon_stop
		why "remove: $SIM_ERR"
		return 1
	}
	led_wait_chip false || {
		umon_stop
		return 1
	}
	kill -0 "$DPID" 2>/dev/null || {
		umon_stop
		why "blinkd ended when the LED went away"
		return 1
	}
	sleep 0.5
	led_create /tmp/led2.log || {
		umon_stop
		why "recreate: $SIM_ERR"
		return 1
	}
	led_wait_chip true || {
		umon_stop
		return 1
	}
	# its level, or at least something above 0 after a while
	led_wait_last "$want" 2
	sleep 0.3
	umon_stop
	LED_BACK=$(led_values)
	umon_events /tmp/umon.leds >/tmp/umon.leds.events
	sed 's/^/# udev: /' /tmp/umon.leds.events
	echo "# the LED back: it read '$LED_BACK' (from its registration on); trigger '$(led_trigger)'; Chips entry: $(chips_entry "led:$LED_NAME"); Levels: $(prop Levels)"
	grep 'LED\|led:' "$ERR" | sed 's/^/# blinkd: /'
	for a in remove add; do
		grep -q "^$a /devices/.*/$LED_NAME -\$" /tmp/umon.leds.events || {
			why "no udev '$a' event of the LED"
			return 1
		}
	done
	if [ "$(led_trigger)" != none ] || [ "$(led_last)" -eq 0 ]; then
		why "the LED back: trigger '$(led_trigger)', it read '$LED_BACK'"
		return 1
	fi
	stop half || return 1
	led_wait_last 0 || {
		why "the LED back: after Stop it read '$(led_values)'"
		return 1
	}
	stop_daemon
}

# (d, continued) The LED that came back got the dim's level (0.5, brightness
# 128) and nothing else after its registration's 0 (which the helper may read
# or not).
test_led_back_at_its_level() {
	want=$(brightness 0.5)
	case $LED_BACK in
	"0 $want" | "$want") ;;
	*)
		why "the LED came back and read '$LED_BACK', not $want"
		return 1
		;;
	esac
}

run_led_tests() {
	echo "# LED class devices (uleds)"
	t led_dim_half
	t led_fade_is_levels
	t led_trigger_none_then_back
	t led_gone_and_back
	t led_back_at_its_level
	[ -z "$DPID" ] || stop_daemon
	led_remove
}
