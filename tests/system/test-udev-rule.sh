#!/bin/bash
# SPDX-License-Identifier: MIT
#
# udev reads the installed rule for /dev/gpiochip* without a complaint, on
# a machine that has the group gpio (udev resolves the group of a rule when
# it loads it, so sysusers must run first: see systemd/post-install.sh).
#
# udevadm test loads every rules file and runs them for one device; it runs
# in a mount namespace with a copy of /etc that has the group gpio and a
# private /run, where the rule is put, so that the machine is left alone.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_root "udevadm test and the mount namespace need root"
need_program udevadm unshare
unshare --mount true 2>/dev/null || skip "cannot make a mount namespace"
need_env BLINKD_UDEVRULESDIR
[ -e /sys/devices/virtual/mem/null ] || skip "no /sys/devices/virtual/mem/null to run the rules for"

install_tree
rule=$DEST$BLINKD_UDEVRULESDIR/60-blinkd-gpiochip.rules
[ -f "$rule" ] || fail "60-blinkd-gpiochip.rules is not installed"

cp -a /etc "$TMP/etc"
getent group gpio >/dev/null || echo "gpio:x:60999:" >>"$TMP/etc/group"

# shellcheck disable=SC2016 # expanded by the inner sh
unshare --mount sh -c 'mount --bind "$1" /etc && mount -t tmpfs tmpfs /run &&
        mkdir -p /run/udev/rules.d && cp "$2" /run/udev/rules.d/ &&
        exec udevadm test --action=add /sys/devices/virtual/mem/null' \
        sh "$TMP/etc" "$rule" >"$TMP/udev.log" 2>&1 ||
        { cat "$TMP/udev.log" >&2; fail "udevadm test failed"; }

grep -q 'Reading rules file: /run/udev/rules.d/60-blinkd-gpiochip.rules' "$TMP/udev.log" ||
        { cat "$TMP/udev.log" >&2; fail "udev did not read the rule"; }
if grep '60-blinkd-gpiochip.rules:' "$TMP/udev.log" >&2; then
        fail "udev complained about the rule"
fi

info "udev reads 60-blinkd-gpiochip.rules without a complaint"
