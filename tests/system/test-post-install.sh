#!/bin/bash
# SPDX-License-Identifier: MIT
#
# systemd/post-install.sh, which meson install runs: into the running system
# as root it creates the user blinkd in group gpio and then reloads udev,
# systemd and the bus, in that order (udev resolves the group of a rule when
# it loads it); with a DESTDIR it does nothing.
#
# The machine is left alone: the script runs in a mount namespace whose /etc
# is a copy, with udevadm, systemctl and busctl replaced by stand-ins that
# record their arguments.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_root "the script creates users only as root"
need_program systemd-sysusers unshare
unshare --mount true 2>/dev/null || skip "cannot make a mount namespace"
need_env BLINKD_SOURCE_ROOT BLINKD_SYSUSERSDIR

install_tree
script=$BLINKD_SOURCE_ROOT/systemd/post-install.sh
sysusers_file=$BLINKD_SYSUSERSDIR/blinkd.conf
[ -f "$DEST$sysusers_file" ] || fail "blinkd.conf is not installed in sysusers.d"

mkdir "$TMP/bin"
for tool in udevadm systemctl busctl; do
        printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$tool" "$TMP/calls" >"$TMP/bin/$tool"
        chmod +x "$TMP/bin/$tool"
done
cp -a /etc "$TMP/etc"

# in_copy COMMAND...: run COMMAND with the copy of /etc and the stand-ins.
in_copy() {
        # shellcheck disable=SC2016 # expanded by the inner sh
        unshare --mount sh -c 'mount --bind "$1" /etc && shift && exec "$@"' \
                sh "$TMP/etc" env PATH="$TMP/bin:$PATH" "$@"
}

# With a DESTDIR: nothing at all.
cp "$TMP/etc/passwd" "$TMP/passwd.before"
in_copy env DESTDIR="$DEST" sh "$script" "$sysusers_file" >"$TMP/out"
[ ! -e "$TMP/calls" ] || fail "with DESTDIR, it ran: $(cat "$TMP/calls")"
cmp -s "$TMP/etc/passwd" "$TMP/passwd.before" || fail "with DESTDIR, it changed the users"

# Into the running system (without DESTDIR), given the installed file.
cat /etc/passwd /etc/group >"$TMP/machine.before"
in_copy env -u DESTDIR sh "$script" "$DEST$sysusers_file" >"$TMP/out" ||
        { cat "$TMP/out" >&2; fail "post-install.sh failed"; }

grep -q '^blinkd:' "$TMP/etc/passwd" || fail "no user blinkd"
grep -Eq '^gpio:x:[0-9]+:(.*,)?blinkd(,.*)?$' "$TMP/etc/group" || fail "blinkd is not in group gpio"
cat /etc/passwd /etc/group | cmp -s - "$TMP/machine.before" || fail "the machine's users changed"

expected="udevadm control --reload
udevadm trigger --action=change --subsystem-match=gpio
systemctl daemon-reload
busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig"
[ "$(cat "$TMP/calls")" = "$expected" ] ||
        fail "it ran, in this order:"$'\n'"$(cat "$TMP/calls")"$'\n'"expected:"$'\n'"$expected"

info "user blinkd in gpio, then udev, systemd and the bus reloaded; nothing with DESTDIR"
