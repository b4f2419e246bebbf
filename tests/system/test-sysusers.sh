#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The installed sysusers.d file creates the system user blinkd in the group
# gpio, and the group gpio itself when it is missing; where gpio exists
# already (as on Raspberry Pi OS), it is kept. systemd-sysusers works on a
# root of its own in the test's directory, never on this machine's users.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_root "systemd-sysusers gives the files it writes root's ownership, even below --root"
need_program systemd-sysusers
need_env BLINKD_SYSUSERSDIR

install_tree
conf=$DEST$BLINKD_SYSUSERSDIR/blinkd.conf
[ -f "$conf" ] || fail "blinkd.conf is not installed in sysusers.d"

# sysusers ROOT: apply the file to the users and groups below ROOT.
sysusers() {
        systemd-sysusers --root="$1" - <"$conf" >"$TMP/sysusers.log" 2>&1 ||
                { cat "$TMP/sysusers.log" >&2; fail "systemd-sysusers refused blinkd.conf"; }
}

# A machine without either.
root=$TMP/root-empty
mkdir -p "$root/etc"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
sysusers "$root"

IFS=: read -r _ _ uid gid _ home shell < <(grep '^blinkd:' "$root/etc/passwd") ||
        fail "no user blinkd"
[ "$uid" -lt 1000 ] || fail "blinkd is not a system user (uid $uid)"
[ "$home" = / ] || fail "blinkd's home is $home, expected /"
case $shell in */nologin) ;; *) fail "blinkd has the login shell $shell" ;; esac
grep -q "^blinkd:x:$gid:" "$root/etc/group" || fail "blinkd's primary group is not blinkd"
grep -Eq '^gpio:x:[0-9]+:(.*,)?blinkd(,.*)?$' "$root/etc/group" ||
        fail "blinkd is not in group gpio"

# A machine that has gpio already: the group is kept, blinkd joins it.
root=$TMP/root-gpio
mkdir -p "$root/etc"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\ngpio:x:997:pi\n' >"$root/etc/group"
sysusers "$root"
grep -Eq '^gpio:x:997:(pi,blinkd|blinkd,pi)$' "$root/etc/group" ||
        fail "the existing group gpio was not kept with blinkd added: $(grep ^gpio: "$root/etc/group")"
[ "$(grep -c '^gpio:' "$root/etc/group")" -eq 1 ] || fail "a second group gpio"

# Applying it again changes nothing.
cp "$root/etc/passwd" "$TMP/passwd.before"
cp "$root/etc/group" "$TMP/group.before"
sysusers "$root"
cmp -s "$root/etc/passwd" "$TMP/passwd.before" || fail "a second run changed passwd"
cmp -s "$root/etc/group" "$TMP/group.before" || fail "a second run changed group"

info "user blinkd in group gpio, with and without an existing gpio"
