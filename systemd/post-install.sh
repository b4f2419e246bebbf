#!/bin/sh
# SPDX-License-Identifier: MIT
#
# meson install script: when blinkd is installed into the running system
# (no DESTDIR) by root, do what a distribution package does after
# installing, so that "systemctl enable --now blinkd" works next:
#   - create the user blinkd and the group gpio (systemd-sysusers),
#   - reload the udev rules and apply them to the gpiochips present,
#   - make systemd and the system bus read the new unit and policy.
# An install into a DESTDIR (packaging, tests) is left alone. A step whose
# service is not running here (no udevd, no systemd) is skipped.
#
# Usage: post-install.sh SYSUSERS_FILE

set -u

if [ $# -ne 1 ]; then
        echo "usage: $0 SYSUSERS_FILE" >&2
        exit 2
fi
sysusers_file=$1

if [ -n "${DESTDIR:-}" ]; then
        exit 0
fi
if [ -n "${MESON_INSTALL_DRY_RUN:-}" ]; then
        echo "Would create the user blinkd and the group gpio, and reload udev, systemd and D-Bus"
        exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
        echo "Not root: run 'systemd-sysusers $sysusers_file' as root to create the user blinkd"
        exit 0
fi

# step DESCRIPTION COMMAND...: run it; say so, and go on, if it fails.
step() {
        description=$1
        shift
        if "$@" >/dev/null 2>&1; then
                echo "$description"
        else
                echo "Skipped: $description (failed: $*)"
        fi
}

step "Created the user blinkd and the group gpio" systemd-sysusers "$sysusers_file"
step "Reloaded the udev rules" udevadm control --reload
step "Applied them to the gpiochips" udevadm trigger --action=change --subsystem-match=gpio
step "Reloaded systemd's units" systemctl daemon-reload
step "Reloaded the system bus configuration" busctl call org.freedesktop.DBus \
        /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
exit 0
