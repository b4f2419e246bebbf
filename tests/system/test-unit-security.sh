#!/bin/bash
# SPDX-License-Identifier: MIT
#
# systemd-analyze security rates the installed unit's exposure 1.5 or lower
# (0 is the safest, 10 the most exposed). --offline=true reads the unit file
# itself, so no running systemd is needed.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

max_exposure=1.5

need_program systemd-analyze
need_env BLINKD_UNITDIR
systemd-analyze --help | grep -q -- '--offline' ||
        skip "systemd-analyze has no --offline (systemd older than 250)"

install_tree
unit=$DEST$BLINKD_UNITDIR/blinkd.service
[ -f "$unit" ] || fail "blinkd.service is not installed"

if ! LC_ALL=C systemd-analyze security --offline=true --no-pager "$unit" \
        >"$TMP/security.log" 2>&1; then
        cat "$TMP/security.log" >&2
        fail "systemd-analyze security failed"
fi

exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' \
        "$TMP/security.log")
[ -n "$exposure" ] || { cat "$TMP/security.log" >&2; fail "no exposure level in the output"; }

if ! awk -v e="$exposure" -v max="$max_exposure" 'BEGIN { exit !(e <= max) }'; then
        grep -E '^ *✗|^ *x ' "$TMP/security.log" >&2 || cat "$TMP/security.log" >&2
        fail "exposure $exposure, more than $max_exposure"
fi

info "exposure $exposure (at most $max_exposure)"
