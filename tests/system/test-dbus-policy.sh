#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The installed system bus policy, enforced by a private system-like bus with
# the daemon on the simulated chip behind it:
#   - a user outside group gpio may look (List, ListDefinitions, Subscribe,
#     Unsubscribe, introspection, properties, the ObjectManager) and is
#     refused everything that changes what runs, and owning io.blinkd1;
#   - a member of gpio may change what runs;
#   - the user blinkd may own io.blinkd1;
#   - root may do all of it.
# A refusal counts only when it comes from the bus itself
# (org.freedesktop.DBus.Error.AccessDenied sent by org.freedesktop.DBus),
# and every refused call is also made by root or gpio, to show that the
# daemon would have accepted it.
#
# The daemon runs as root: the policy lets only root and blinkd own the name.
# The other users are made with setpriv, uid and groups only.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

need_root "the daemon must own io.blinkd1 and the test switches users"
need_program dbus-daemon busctl setpriv unshare
if [ -z "${BLINKD_EXE:-}" ] || [ ! -x "$BLINKD_EXE" ]; then
        skip "the daemon has not been built"
fi
unshare --mount true 2>/dev/null || skip "cannot make a mount namespace for the bus's users"
need_env BLINKD_DBUS_POLICYDIR

install_tree
start_system_bus "$DEST$BLINKD_DBUS_POLICYDIR/io.blinkd1.conf"
[ "$FAKE_USERS" = yes ] || fail "the bus does not see the users blinkd and gpio"

echo '{}' >"$TMP/blinkd.json"
"$BLINKD_EXE" --chip sim --config "$TMP/blinkd.json" --log-level debug \
        --state-dir "$TMP/state" >"$TMP/blinkd.log" 2>&1 &
daemon_pid=$!
track_pid "$daemon_pid"

has_owner() {
        busctl --system call org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus NameHasOwner s io.blinkd1 | grep -qx 'b true'
}
for (( i = 0; i < 100; i++ )); do
        has_owner && break
        if ! kill -0 "$daemon_pid" 2>/dev/null; then
                cat "$TMP/blinkd.log" >&2
                fail "the daemon exited before it took io.blinkd1"
        fi
        sleep 0.1
done
if ! has_owner; then
        cat "$TMP/blinkd.log" >&2
        fail "the daemon did not take io.blinkd1 on the private bus within 10s"
fi

nobody=65534
as() {
        local who=$1
        shift
        case $who in
        root) "$@" ;;
        nobody) setpriv --reuid=$nobody --regid=$nobody --clear-groups "$@" ;;
        gpio) setpriv --reuid=$nobody --regid=$nobody --groups="$GPIO_GID" "$@" ;;
        blinkd) setpriv --reuid="$BLINKD_UID" --regid="$BLINKD_GID" --clear-groups "$@" ;;
        *) fail "unknown user $who" ;;
        esac
}

n_checks=0
# allowed WHO BUSCTL-ARGS...: the call succeeds.
allowed() {
        local who=$1
        shift
        n_checks=$(( n_checks + 1 ))
        if ! as "$who" busctl --system --timeout=10 "$@" >"$TMP/out" 2>&1; then
                cat "$TMP/out" >&2
                fail "$who was refused: busctl $*"
        fi
}
# denied WHO BUSCTL-ARGS...: the bus refuses the call.
denied() {
        local who=$1
        shift
        n_checks=$(( n_checks + 1 ))
        if as "$who" env SYSTEMD_LOG_LEVEL=debug busctl --system --timeout=10 "$@" \
                >"$TMP/out" 2>&1; then
                fail "$who was allowed: busctl $*"
        fi
        if ! grep -q 'type=error sender=org.freedesktop.DBus .*error-name=org.freedesktop.DBus.Error.AccessDenied' \
                "$TMP/out"; then
                grep -i 'error' "$TMP/out" >&2 || cat "$TMP/out" >&2
                fail "$who: busctl $* failed, but not because the bus refused it"
        fi
}

manager=(io.blinkd1 /io/blinkd1 io.blinkd1.Manager)
program='{"on":{"lines":[11]}}'

# Root starts a program, so that there is one to look at and to stop.
root_path=$(busctl --system call "${manager[@]}" Start ss byroot "$program" |
        sed -n 's/^o "\(.*\)"$/\1/p')
[ -n "$root_path" ] || fail "root could not start a program"

# --- Looking: everyone.
for who in nobody gpio; do
        allowed "$who" call "${manager[@]}" List
        allowed "$who" call "${manager[@]}" ListDefinitions
        allowed "$who" call "${manager[@]}" Subscribe
        allowed "$who" call "${manager[@]}" Unsubscribe
        allowed "$who" introspect io.blinkd1 /io/blinkd1
        allowed "$who" introspect io.blinkd1 "$root_path"
        allowed "$who" get-property io.blinkd1 /io/blinkd1 io.blinkd1.Manager Version
        allowed "$who" call io.blinkd1 /io/blinkd1 org.freedesktop.DBus.Properties \
                GetAll s io.blinkd1.Manager
        allowed "$who" call io.blinkd1 "$root_path" org.freedesktop.DBus.Properties \
                GetAll s io.blinkd1.Program
        allowed "$who" call io.blinkd1 /io/blinkd1 org.freedesktop.DBus.ObjectManager \
                GetManagedObjects
        allowed "$who" call io.blinkd1 /io/blinkd1 org.freedesktop.DBus.Peer Ping
done

# --- Changing: refused outside gpio.
denied nobody call "${manager[@]}" Start ss bynobody "$program"
denied nobody call "${manager[@]}" Replace ss byroot "$program"
denied nobody call "${manager[@]}" Stop s byroot
denied nobody call "${manager[@]}" StopAll
denied nobody call "${manager[@]}" Define ss mine "$program"
denied nobody call "${manager[@]}" Undefine s mine
denied nobody call io.blinkd1 "$root_path" io.blinkd1.Program Stop
denied nobody call io.blinkd1 /io/blinkd1 org.freedesktop.DBus.Properties \
        Set ssv io.blinkd1.Manager Version s 0
busctl --system call "${manager[@]}" List | grep -q '"byroot"' ||
        fail "a refused call changed what runs"
if busctl --system call "${manager[@]}" List | grep -q '"bynobody"'; then
        fail "a refused Start started a program"
fi

# --- ... and allowed in gpio: the same calls, in an order that makes each
# one meaningful.
allowed gpio call "${manager[@]}" Start ss bygpio "$program"
allowed gpio call "${manager[@]}" Replace ss byroot "$program"
allowed gpio call "${manager[@]}" Define ss mine "$program"
allowed gpio call "${manager[@]}" Undefine s mine
allowed gpio call "${manager[@]}" Stop s bygpio
gpio_path=$(busctl --system call "${manager[@]}" Start ss again "$program" |
        sed -n 's/^o "\(.*\)"$/\1/p')
allowed gpio call io.blinkd1 "$gpio_path" io.blinkd1.Program Stop
allowed gpio call "${manager[@]}" StopAll
[ "$(busctl --system call "${manager[@]}" List)" = 'a(ss) 0' ] ||
        fail "StopAll by gpio left programs running"

# --- Root, too.
allowed root call "${manager[@]}" Start ss byroot "$program"
allowed root call "${manager[@]}" Stop s byroot

# --- Owning the name: root (the daemon does) and blinkd only. blinkd asks
# without queueing: the answer is 3 (exists), which is a permission granted.
denied nobody call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        RequestName su io.blinkd1 4
denied gpio call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        RequestName su io.blinkd1 4
allowed blinkd call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        RequestName su io.blinkd1 4
grep -qx 'u 3' "$TMP/out" || fail "blinkd's RequestName answered $(cat "$TMP/out")"

kill -0 "$daemon_pid" 2>/dev/null || { cat "$TMP/blinkd.log" >&2; fail "the daemon died"; }
info "$n_checks policy checks passed"
