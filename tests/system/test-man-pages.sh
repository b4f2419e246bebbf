#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Every man page renders with man -l at 80 columns without a warning from
# man or groff, and no line is wider than the terminal.
#
# Arguments: the built man pages.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || skip "no man pages were built (scdoc missing, or -Dman=disabled)"
need_program man
export LC_ALL=C.UTF-8

for page in "$@"; do
        name=$(basename "$page")
        [ -s "$page" ] || fail "$name is empty"

        if ! MANWIDTH=80 man --warnings -l "$page" \
                >"$TMP/$name.txt" 2>"$TMP/$name.warnings"; then
                cat "$TMP/$name.warnings" >&2
                fail "man -l $name failed"
        fi
        if [ -s "$TMP/$name.warnings" ]; then
                cat "$TMP/$name.warnings" >&2
                fail "man -l $name warned"
        fi
        grep -q '^NAME' "$TMP/$name.txt" || fail "$name has no NAME section"

        # Characters, not bytes: groff writes UTF-8 hyphens and bullets.
        while IFS= read -r line; do
                [ "${#line}" -le 80 ] || fail "$name has a line wider than 80 columns: $line"
        done <"$TMP/$name.txt"
done

info "$# man pages render without warnings"
