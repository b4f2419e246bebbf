#!/bin/bash
# SPDX-License-Identifier: MIT
#
# meson install --destdir installs exactly the expected files, in the
# directories pkg-config names, and never overwrites a configuration that
# is already there.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_env BLINKD_PREFIX BLINKD_BINDIR BLINKD_SYSCONFDIR BLINKD_DATADIR BLINKD_MANDIR \
        BLINKD_UNITDIR BLINKD_SYSUSERSDIR BLINKD_UDEVRULESDIR \
        BLINKD_DBUS_POLICYDIR BLINKD_DBUS_SERVICEDIR
need_program pkg-config

# Where pkg-config sends things, unless an option said otherwise.
check_dir() {
        local what=$1 dir=$2 option=$3 package=$4 variable=$5 suffix=${6:-} want
        if [ -n "$option" ]; then
                [ "$dir" = "$option" ] || fail "$what: $dir, but the option says $option"
                return
        fi
        if ! want=$(pkg-config --variable="$variable" "$package" 2>/dev/null) || [ -z "$want" ]; then
                info "$what: $package.pc does not say; installed to the fallback $dir"
                return
        fi
        want=$want$suffix
        [ "$dir" = "$want" ] || fail "$what: installed to $dir, pkg-config $package says $want"
}
check_dir "units" "$BLINKD_UNITDIR" "$BLINKD_OPTION_SYSTEMDSYSTEMUNITDIR" \
        systemd systemdsystemunitdir
check_dir "sysusers.d" "$BLINKD_SYSUSERSDIR" "$BLINKD_OPTION_SYSUSERSDIR" \
        systemd sysusersdir
check_dir "udev rules" "$BLINKD_UDEVRULESDIR" "$BLINKD_OPTION_UDEVRULESDIR" \
        udev udevdir /rules.d
check_dir "D-Bus activation" "$BLINKD_DBUS_SERVICEDIR" "$BLINKD_OPTION_DBUSSYSTEMSERVICEDIR" \
        dbus-1 system_bus_services_dir
check_dir "D-Bus policy" "$BLINKD_DBUS_POLICYDIR" "$BLINKD_OPTION_DBUSPOLICYDIR" \
        dbus-1 datadir /dbus-1/system.d

# The expected list, one absolute path a line, without the destdir.
{
        echo "$BLINKD_BINDIR/blinkd"
        echo "$BLINKD_BINDIR/blinkd-client"
        echo "$BLINKD_UNITDIR/blinkd.service"
        echo "$BLINKD_SYSUSERSDIR/blinkd.conf"
        echo "$BLINKD_UDEVRULESDIR/60-blinkd-gpiochip.rules"
        echo "$BLINKD_DBUS_POLICYDIR/io.blinkd1.conf"
        echo "$BLINKD_DBUS_SERVICEDIR/io.blinkd1.service"
        echo "$BLINKD_DATADIR/blinkd/blinkd.json.example"
        echo "$BLINKD_SYSCONFDIR/blinkd/blinkd.json"
        if [ -n "${BLINKD_DBUS_INTERFACESDIR:-}" ]; then
                echo "$BLINKD_DBUS_INTERFACESDIR/io.blinkd1.Manager.xml"
        fi
        if [ -n "${BLINKD_BASH_COMPLETIONDIR:-}" ]; then
                echo "$BLINKD_BASH_COMPLETIONDIR/blinkd-client"
        fi
        if [ "${BLINKD_MAN:-no}" = yes ]; then
                echo "$BLINKD_MANDIR/man1/blinkd-client.1"
                echo "$BLINKD_MANDIR/man5/blinkd.json.5"
                echo "$BLINKD_MANDIR/man7/blinkd-programs.7"
                echo "$BLINKD_MANDIR/man8/blinkd.8"
                echo "$BLINKD_MANDIR/man8/blinkd-mqtt.8"
        fi
        if [ "${BLINKD_MQTT_BUILT:-no}" = yes ]; then
                echo "$BLINKD_BINDIR/blinkd-mqtt"
                echo "$BLINKD_UNITDIR/blinkd-mqtt.service"
        fi
} | sed 's|//*|/|g' | sort >"$TMP/expected"

install_tree
(cd "$DEST" && find . \( -type f -o -type l \) -printf '/%P\n') | sort >"$TMP/installed"

if ! diff -u "$TMP/expected" "$TMP/installed" >"$TMP/diff"; then
        cat "$TMP/diff" >&2
        fail "meson install put other files than expected (- missing, + unexpected)"
fi

# Modes: programs executable by all, everything else readable by all and
# writable by the owner only.
while read -r f; do
        mode=$(stat -c %a "$DEST$f")
        case $f in
        "$BLINKD_BINDIR"/*) want=755 ;;
        *) want=644 ;;
        esac
        [ "$mode" = "$want" ] || fail "$f has mode $mode, expected $want"
done <"$TMP/expected"

# The unit starts the installed daemon.
grep -qx "ExecStart=$BLINKD_BINDIR/blinkd" "$DEST$BLINKD_UNITDIR/blinkd.service" ||
        fail "blinkd.service does not start $BLINKD_BINDIR/blinkd"

# The configuration starts as a copy of the example ...
config=$DEST$BLINKD_SYSCONFDIR/blinkd/blinkd.json
cmp -s "$config" "$DEST$BLINKD_DATADIR/blinkd/blinkd.json.example" ||
        fail "$BLINKD_SYSCONFDIR/blinkd/blinkd.json is not the example"

# ... and one that someone edited survives another install.
echo '{"consumer": "edited"}' >"$config"
install_tree
grep -q edited "$config" || fail "a second install overwrote the configuration"
(cd "$DEST" && find . \( -type f -o -type l \) -printf '/%P\n') | sort >"$TMP/installed"
diff -u "$TMP/expected" "$TMP/installed" >&2 || fail "a second install changed the file list"

info "$(wc -l <"$TMP/expected") files installed as expected"
