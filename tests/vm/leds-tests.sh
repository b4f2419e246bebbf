# SPDX-License-Identifier: MIT
# shellcheck shell=sh
#
# /leds-tests.sh in the guest: LED class devices, with the kernel's uleds
# (userspace LEDs). /usr/bin/uleds-led (tests/vm/uleds-led.c) makes the LED
# /sys/class/leds/blinkd-test (max_brightness 255) and logs every brightness
# the kernel gives it; /vm-lib.sh's led_* helpers drive it. Sourced by
# guest-tests.sh, whose harness helpers they use:
#   - uleds_led_comes_and_goes (no blinkd, also with --tools-only): what
#     the kernel and udev show of such an LED.
#
# busybox ash has $EPOCHREALTIME:
# shellcheck disable=SC3028

# on_and_off "VALUES": the values read show a blink: three or more, among
# them 0 and the maximum.
on_and_off() {
	[ "$(echo "$1" | wc -w)" -ge 3 ] || return 1
	case " $1 " in *" 0 "*) ;; *) return 1 ;; esac
	case " $1 " in *" $LED_MAX "*) ;; *) return 1 ;; esac
}

# Without blinkd: the LED appears with its max_brightness, reads 0, has the
# triggers "none", "timer" and "heartbeat", passes brightness writes to the
# helper, blinks with the timer trigger; udevd passes "add" and "remove" of
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
	echo "# with the timer trigger for 1.3 s the helper read: $blinked"
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
	for a in add remove; do
		grep -q "^$a /devices/.*/$LED_NAME -\$" /tmp/umon.leds.events || {
			why "no udev '$a' event of the LED"
			dump /tmp/umon.leds
			return 1
		}
	done
}
