# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Shared by the tests of suite "system"; sourced, never run.
#
# Every test gets a private directory $TMP, removed on exit whatever the
# outcome, together with every process registered with track_pid. Exit codes
# follow meson: 0 pass, 1 fail, 77 skip. Any command that fails unexpectedly
# fails the test, naming the line.
#
# meson passes the build's facts in the environment (see meson.build here):
#   BLINKD_BUILD_ROOT, MESON               to install the build
#   BLINKD_PREFIX, BLINKD_BINDIR, ...      where things are installed
#   BLINKD_EXE, BLINKD_CLIENT_EXE          the built programs, if any

set -o errexit -o nounset -o pipefail -o errtrace

TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/blinkd-$TEST_NAME.XXXXXX")
tracked_pids=()
DEST=  # set by install_tree; never taken from the environment

cleanup() {
        local pid
        for pid in "${tracked_pids[@]}"; do
                kill "$pid" 2>/dev/null || true
        done
        for pid in "${tracked_pids[@]}"; do
                wait "$pid" 2>/dev/null || true
        done
        rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "FAIL: $TEST_NAME: line $LINENO: $BASH_COMMAND" >&2; exit 1' ERR

# Remember a background process, to be ended (by its pid) on exit.
track_pid() {
        tracked_pids+=("$1")
}

fail() {
        echo "FAIL: $TEST_NAME: $*" >&2
        exit 1
}

skip() {
        echo "SKIP: $TEST_NAME: $*"
        exit 77
}

info() {
        echo "$TEST_NAME: $*"
}

need_program() {
        local p
        for p in "$@"; do
                command -v "$p" >/dev/null || skip "$p is not installed"
        done
}

need_root() {
        [ "$(id -u)" -eq 0 ] || skip "needs root: $*"
}

# need_env VAR...: the variables meson sets; running a test by hand without
# them is a usage error, not a skip.
need_env() {
        local v
        for v in "$@"; do
                [ -n "${!v:-}" ] || fail "$v is not set (run the test with meson test)"
        done
}

# Install the build into $DEST ($TMP/dest unless set), as
# "meson install --destdir" does.
install_tree() {
        need_env MESON BLINKD_BUILD_ROOT
        DEST=${DEST:-$TMP/dest}
        if ! "$MESON" install --no-rebuild -C "$BLINKD_BUILD_ROOT" --destdir "$DEST" \
                >"$TMP/install.log" 2>&1; then
                cat "$TMP/install.log" >&2
                fail "meson install --destdir $DEST failed"
        fi
}

# wait_for SECONDS COMMAND...: run COMMAND every 0.1s until it succeeds.
wait_for() {
        local tries=$(( $1 * 10 ))
        shift
        while ! "$@" >/dev/null 2>&1; do
                tries=$(( tries - 1 ))
                [ "$tries" -gt 0 ] || return 1
                sleep 0.1
        done
}

# A system-like bus: a dbus-daemon with the default policy of the system bus
# and the policy file $1, listening on a socket in $TMP, readable by every
# user (the tests call it as other users). Sets DBUS_SYSTEM_BUS_ADDRESS, and
# BUS_LOG to the daemon's messages.
#
# As root, the bus runs in a mount namespace of its own in which
# /etc/passwd and /etc/group also have the user blinkd and the group gpio
# (unless the machine has them already), so that the policy's rules for both
# take effect without touching the machine's users: BLINKD_UID, BLINKD_GID
# and GPIO_GID say which ids they have. FAKE_USERS is "yes" then.
start_system_bus() {
        local policy=$1 config=$TMP/bus/bus.conf socket=$TMP/bus/socket
        local bus_pid prefix=()
        need_program dbus-daemon

        mkdir -p "$TMP/bus"
        chmod 0755 "$TMP" "$TMP/bus"
        sed -e "s|@SOCKET@|$socket|" -e "s|@POLICY@|$policy|" \
                "$(dirname "$0")/system-bus.conf.in" >"$config"

        # shellcheck disable=SC2034 # read by the tests
        FAKE_USERS=no
        if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null &&
                unshare --mount true 2>/dev/null; then
                make_fake_users
                # shellcheck disable=SC2034 # read by the tests
                FAKE_USERS=yes
                # shellcheck disable=SC2016 # expanded by the inner sh
                prefix=(unshare --mount --propagation private sh -c
                        'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group &&
                         shift 2 && exec "$@"' sh "$TMP/bus/passwd" "$TMP/bus/group")
        fi

        BUS_LOG=$TMP/bus/log
        "${prefix[@]}" dbus-daemon --config-file="$config" --nofork --nopidfile \
                --print-address=1 >"$TMP/bus/address" 2>"$BUS_LOG" &
        bus_pid=$!
        track_pid "$bus_pid"
        if ! wait_for 10 test -s "$TMP/bus/address"; then
                cat "$BUS_LOG" >&2
                fail "dbus-daemon did not start with $policy"
        fi
        export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$socket
}

# The machine's users and groups, plus blinkd and gpio where missing.
make_fake_users() {
        local id
        cp /etc/passwd "$TMP/bus/passwd"
        cp /etc/group "$TMP/bus/group"
        if ! GPIO_GID=$(getent group gpio | cut -d: -f3); then
                GPIO_GID=$(free_id)
                echo "gpio:x:$GPIO_GID:" >>"$TMP/bus/group"
        fi
        if ! BLINKD_UID=$(getent passwd blinkd | cut -d: -f3); then
                id=$(free_id)
                echo "blinkd:x:$id:$id::/:/usr/sbin/nologin" >>"$TMP/bus/passwd"
                echo "blinkd:x:$id:" >>"$TMP/bus/group"
                BLINKD_UID=$id
        fi
        # shellcheck disable=SC2034 # read by the tests
        BLINKD_GID=$(getent passwd blinkd | cut -d: -f4 || echo "$BLINKD_UID")
}

# An id that no user and no group of this machine has.
free_id() {
        local id=60999
        while getent passwd "$id" >/dev/null || getent group "$id" >/dev/null ||
                grep -q ":$id:" "$TMP/bus/passwd" "$TMP/bus/group"; do
                id=$(( id - 1 ))
        done
        echo "$id"
}
