#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The daemon makes no system call that the unit's SystemCallFilter= takes
# away. Without a running systemd the filter cannot be applied for real, so
# the test records what the daemon calls (strace), from startup through
# Start, Replace, Define, a refused program, Subscribe, StopAll and SIGTERM,
# and checks every call against the filter as systemd-analyze expands it.
# The simulated chip stands in for a real one; the real backend adds only
# openat, read and ioctl, which the filter allows.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_program systemd-analyze strace dbus-daemon busctl
if [ -z "${BLINKD_EXE:-}" ] || [ ! -x "$BLINKD_EXE" ]; then
        skip "the daemon has not been built"
fi
need_env BLINKD_UNITDIR
case ${BLINKD_SANITIZE:-none} in
none | '') ;;
*) skip "built with -Db_sanitize=$BLINKD_SANITIZE, whose runtime makes system calls the daemon does not" ;;
esac

install_tree
unit=$DEST$BLINKD_UNITDIR/blinkd.service
[ -f "$unit" ] || fail "blinkd.service is not installed"

# syscalls SET...: the system calls of SET (@group or name), groups expanded.
syscalls() {
        local item
        for item in "$@"; do
                case $item in
                @*)
                        # shellcheck disable=SC2046
                        syscalls $(systemd-analyze syscall-filter "$item" |
                                sed -n '2,$ { s/^ *//; /^#/d; /^$/d; p }')
                        ;;
                *) echo "$item" ;;
                esac
        done
}

# What the unit allows: SystemCallFilter= lines in order, "~" taking away.
: >"$TMP/allowed"
while IFS= read -r value; do
        if [ "${value#\~}" != "$value" ]; then
                # shellcheck disable=SC2086
                syscalls ${value#\~} | sort -u >"$TMP/deny"
                grep -vxF -f "$TMP/deny" "$TMP/allowed" >"$TMP/allowed.new" || true
                mv "$TMP/allowed.new" "$TMP/allowed"
        else
                # shellcheck disable=SC2086
                syscalls $value >>"$TMP/allowed"
                sort -u -o "$TMP/allowed" "$TMP/allowed"
        fi
done < <(sed -n 's/^SystemCallFilter=//p' "$unit")
[ -s "$TMP/allowed" ] || fail "blinkd.service has no SystemCallFilter="
# systemd always lets the service exec itself.
echo execve >>"$TMP/allowed"

# A private session bus, and the daemon under strace.
dbus-daemon --session --nofork --nopidfile --address="unix:path=$TMP/bus" \
        >/dev/null 2>"$TMP/bus.log" &
track_pid $!
wait_for 10 test -S "$TMP/bus" || fail "the session bus did not start"
export DBUS_SESSION_BUS_ADDRESS=unix:path=$TMP/bus

echo '{}' >"$TMP/blinkd.json"
# -I1: strace ends on SIGTERM (it would block it, given -o), so that the
# cleanup can end it; the daemon is ended by its own pid.
WATCHDOG_USEC=200000 strace -I1 -f -qq -o "$TMP/strace" \
        "$BLINKD_EXE" --user --chip sim --config "$TMP/blinkd.json" --trace "$TMP/trace" \
        --state-dir "$TMP/state" >"$TMP/blinkd.log" 2>&1 &
strace_pid=$!
track_pid "$strace_pid"

has_owner() {
        busctl --user call org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus NameHasOwner s io.blinkd1 | grep -qx 'b true'
}
wait_for 10 has_owner || { cat "$TMP/blinkd.log" >&2; fail "the daemon did not start"; }
daemon_pid=$(busctl --user call org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus GetConnectionUnixProcessID s io.blinkd1 | cut -d' ' -f2)
[ -n "$daemon_pid" ] || fail "no pid for io.blinkd1"
track_pid "$daemon_pid"

manager=(io.blinkd1 /io/blinkd1 io.blinkd1.Manager)
busctl --user call "${manager[@]}" Subscribe
busctl --user call "${manager[@]}" Start ss a '{"blink":{"lines":[11],"interval":"10ms","times":5}}' >/dev/null
busctl --user call "${manager[@]}" Define ss d '{"on":{"lines":[9]}}'
busctl --user call "${manager[@]}" Start ss b '{"call":"d"}' >/dev/null
busctl --user call "${manager[@]}" Replace ss b '{"cycle":{"lines":{"row":0},"interval":"5ms"}}' >/dev/null
busctl --user call "${manager[@]}" List >/dev/null
busctl --user get-property "${manager[@]}" Lit >/dev/null
if busctl --user call "${manager[@]}" Start ss c '{"nonsense":1}' 2>/dev/null; then
        fail "the daemon accepted a program that is not valid"
fi
sleep 0.5
busctl --user call "${manager[@]}" StopAll
kill -TERM "$daemon_pid"
wait "$strace_pid" || { cat "$TMP/blinkd.log" >&2; fail "the daemon did not exit cleanly"; }

sed -n 's/^[0-9]\+ \+\([a-z_0-9]\+\)(.*/\1/p' "$TMP/strace" | sort -u >"$TMP/used"
[ -s "$TMP/used" ] || fail "strace recorded no system calls"
if grep -vxF -f "$TMP/allowed" "$TMP/used" >"$TMP/refused"; then
        fail "the daemon calls what SystemCallFilter= refuses: $(tr '\n' ' ' <"$TMP/refused")"
fi

info "$(wc -l <"$TMP/used") distinct system calls, all allowed by the unit's filter"
