#!/bin/bash
# SPDX-License-Identifier: MIT
#
# dbus-daemon accepts the installed system bus policy: a bus whose
# configuration includes it starts, answers, and has nothing to say about
# the policy. The activation file names the service and its systemd unit.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_program dbus-daemon busctl
need_env BLINKD_DBUS_POLICYDIR BLINKD_DBUS_SERVICEDIR

install_tree
policy=$DEST$BLINKD_DBUS_POLICYDIR/io.blinkd1.conf
activation=$DEST$BLINKD_DBUS_SERVICEDIR/io.blinkd1.service
[ -f "$policy" ] || fail "io.blinkd1.conf is not installed"
[ -f "$activation" ] || fail "io.blinkd1.service is not installed"

start_system_bus "$policy"
busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        GetId >/dev/null || fail "the bus with the policy does not answer"

# dbus-daemon warns about rules it cannot use, and keeps running. Where the
# bus cannot see the users blinkd and gpio (not root), those two warnings are
# expected; a container may refuse to raise the fd limit. Anything else is a
# complaint about the policy.
allowed='Failed to set fd limit'
if [ "$FAKE_USERS" = no ]; then
        allowed+='|Unknown username "blinkd"|Unknown group "gpio"'
        info "not root: the rules for user blinkd and group gpio were not resolved"
fi
if grep -Ev "$allowed" "$BUS_LOG" | grep -q .; then
        cat "$BUS_LOG" >&2
        fail "dbus-daemon complained about the policy"
fi

# The activation file: systemd starts the service, as the service user.
for line in '[D-BUS Service]' 'Name=io.blinkd1' 'SystemdService=blinkd.service' \
        'User=blinkd' 'Exec=/bin/false'; do
        grep -qxF "$line" "$activation" || fail "io.blinkd1.service lacks $line"
done

info "dbus-daemon accepts io.blinkd1.conf"
