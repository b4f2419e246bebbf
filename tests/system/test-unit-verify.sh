#!/bin/bash
# SPDX-License-Identifier: MIT
#
# systemd-analyze verify accepts the installed unit: its syntax, its
# settings, the daemon it starts and the man pages it names.
#
# The installed unit starts $BLINKD_BINDIR/blinkd, which exists only below
# the destdir, so the test checks that ExecStart= says exactly that and then
# verifies a copy whose ExecStart= points to the same binary in the destdir.
# Documentation= is checked with man, against the man pages in the destdir.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_program systemd-analyze
need_env BLINKD_BINDIR BLINKD_UNITDIR BLINKD_MANDIR

install_tree
unit=$DEST$BLINKD_UNITDIR/blinkd.service
daemon=$DEST$BLINKD_BINDIR/blinkd
[ -f "$unit" ] || fail "blinkd.service is not installed"
[ -x "$daemon" ] || fail "blinkd is not installed"

grep -qx "ExecStart=$BLINKD_BINDIR/blinkd" "$unit" ||
        fail "ExecStart= is not $BLINKD_BINDIR/blinkd"

mkdir "$TMP/unit"
sed "s|^ExecStart=$BLINKD_BINDIR/blinkd\$|ExecStart=$daemon|" "$unit" >"$TMP/unit/blinkd.service"

man=--man=no
if [ "${BLINKD_MAN:-no}" = yes ] && command -v man >/dev/null; then
        man=--man=yes
        export MANPATH=$DEST$BLINKD_MANDIR
fi

if ! systemd-analyze verify "$man" --generators=no "$TMP/unit/blinkd.service" \
        >"$TMP/verify.log" 2>&1; then
        cat "$TMP/verify.log" >&2
        fail "systemd-analyze verify refused blinkd.service"
fi
if [ -s "$TMP/verify.log" ]; then
        cat "$TMP/verify.log" >&2
        fail "systemd-analyze verify warned about blinkd.service"
fi

[ "$man" = --man=yes ] || info "man pages not built: Documentation= not checked"
info "systemd-analyze verify: no complaints"
