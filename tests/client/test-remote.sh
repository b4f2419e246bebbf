#!/bin/bash
# SPDX-License-Identifier: MIT
#
# -H/--host: the client reaches the system bus of HOST through
# "ssh -xT -- HOST systemd-stdio-bridge", like busctl -H. A stand-in ssh
# on PATH records how it was called and bridges to the test's bus instead.
source "${BASH_SOURCE[0]%/*}/lib.sh"

command -v systemd-stdio-bridge >/dev/null ||
	skip "systemd-stdio-bridge is not installed (package systemd)"

start_daemon

mkdir "$TEST_DIR/bin"
cat >"$TEST_DIR/bin/ssh" <<EOF2
#!/bin/bash
echo "\$*" >>"$TEST_DIR/ssh-calls"
exec systemd-stdio-bridge --bus-path="$DBUS_SESSION_BUS_ADDRESS"
EOF2
chmod +x "$TEST_DIR/bin/ssh"

remote() {
	PATH=$TEST_DIR/bin:$PATH "$BLINKD_CLIENT" "$@"
}

run 0 remote -H pi@raspberrypi start cycle --row 0 --interval 100ms
run 0 remote --host raspberrypi list
expect_stdout_has '{"cycle":{"lines":{"row":0},"interval":"100ms"}}'
run 0 remote list --host=pi@raspberrypi --no-ask-password --json
expect_stdout_has '"name":"cycle"'
run 5 remote -H pi@raspberrypi stop nope
run 0 remote -H pi@raspberrypi off
wait_until 2 nothing_running
[ "$(sort -u "$TEST_DIR/ssh-calls")" = "-xT -- pi@raspberrypi systemd-stdio-bridge
-xT -- raspberrypi systemd-stdio-bridge" ] || fail "ssh was called as: $(cat "$TEST_DIR/ssh-calls")"

# ssh fails: the daemon is not reachable (noticed while connecting or at the
# first call, depending on who is faster).
cat >"$TEST_DIR/bin/ssh" <<'EOF2'
#!/bin/bash
echo "ssh: Could not resolve hostname $3" >&2
exit 255
EOF2
run 3 remote -H nowhere list
expect_stderr_has 'the system bus of nowhere'
