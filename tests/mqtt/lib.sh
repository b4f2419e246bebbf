# SPDX-License-Identifier: MIT
#
# What every test of the MQTT bridge shares: a real Mosquitto broker on
# 127.0.0.1 at a free port with a config of its own, and boards: each a
# private dbus-daemon, blinkd on the simulated chip with a trace, and
# blinkd-mqtt with a board name, all children of the test. Everything is
# killed and the temporary directory removed on exit, passed or not.
#
# Environment (from tests/mqtt/meson.build): BLINKD, BLINKD_MQTT.

set -euo pipefail

TEST_NAME=$(basename "$0" .sh)

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

[ -n "${BLINKD:-}" ] || skip "BLINKD is not set"
[ -n "${BLINKD_MQTT:-}" ] && [ -x "$BLINKD_MQTT" ] ||
	skip "blinkd-mqtt was not built (libmosquitto-dev is missing; scripts/setup installs it)"
for tool in mosquitto mosquitto_pub mosquitto_sub; do
	command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
		skip "$tool is not installed (packages mosquitto, mosquitto-clients)"
done
command -v dbus-daemon >/dev/null || skip "dbus-daemon is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/blinkd-$TEST_NAME.XXXXXX")
BROKER_PID=
BROKER_PORT=
declare -A BUS_PID=() BUS_ADDRESS=() DAEMON_PID=() BRIDGE_PID=()
SUB_PIDS=()

fail() {
	echo "FAIL: $*" >&2
	for f in "$TEST_DIR"/*.log; do
		[ -s "$f" ] || continue
		echo "--- $(basename "$f"):" >&2
		tail -n 30 "$f" >&2
	done
	exit 1
}

cleanup() {
	local rc=$? pid

	for pid in "${SUB_PIDS[@]}" "${BRIDGE_PID[@]}" "${DAEMON_PID[@]}" "${BUS_PID[@]}" $BROKER_PID; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	done
	for pid in "${SUB_PIDS[@]}" "${BRIDGE_PID[@]}" "${DAEMON_PID[@]}" "${BUS_PID[@]}" $BROKER_PID; do
		[ -n "$pid" ] && wait "$pid" 2>/dev/null || true
	done
	# Under ASan and UBSan, a report in any child's log fails the test.
	if grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$TEST_DIR"/*.log 2>/dev/null; then
		grep -h -A20 -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$TEST_DIR"/*.log >&2
		echo "FAIL: a sanitizer reported an error (logs above)" >&2
		rc=1
	fi
	rm -rf "$TEST_DIR"
	[ "$rc" -eq 0 ] && echo "PASS: $TEST_NAME"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# wait_until SECONDS 'SHELL CODE': poll every 50 ms until it succeeds.
# SECONDS only bounds a hang: the wait is three times as long, for a
# machine busy with other work.
wait_until() {
	local deadline=$(($(date +%s%N) + $1 * 3 * 1000000000))
	until eval "$2"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || fail "timed out after $(($1 * 3)) s waiting for: $2"
		sleep 0.05
	done
}

# ------------------------------------------------------------- broker

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

broker_up() {
	mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -t probe/up -n 2>/dev/null
}

# The broker, loopback only, nothing kept on disk; again on the same port after stop_broker.
start_broker() {
	[ -n "$BROKER_PORT" ] || BROKER_PORT=$(free_port)
	cat >"$TEST_DIR/mosquitto.conf" <<-EOC
	listener $BROKER_PORT 127.0.0.1
	allow_anonymous true
	max_packet_size 1048576
	EOC
	if [ -n "${BROKER_PERSIST:-}" ]; then
		# Run as root, mosquitto drops to its own user: the directory must let it write.
		mkdir -p "$TEST_DIR/broker-db"
		chmod 0711 "$TEST_DIR"
		chmod 0777 "$TEST_DIR/broker-db"
		printf 'persistence true\npersistence_location %s/\n' "$TEST_DIR/broker-db" >>"$TEST_DIR/mosquitto.conf"
	else
		echo "persistence false" >>"$TEST_DIR/mosquitto.conf"
	fi
	"$MOSQUITTO" -c "$TEST_DIR/mosquitto.conf" >>"$TEST_DIR/broker.log" 2>&1 &
	BROKER_PID=$!
	wait_until 10 broker_up
}

stop_broker() {
	kill "$BROKER_PID"
	wait "$BROKER_PID" 2>/dev/null || true
	BROKER_PID=
}

pub() {
	mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -q 1 -t "$1" "${@:3}" -m "$2"
}

# retained TOPIC: the retained message of TOPIC, or nothing after 2 s.
retained() {
	mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -t "$1" -C 1 -W 2 2>/dev/null || true
}

# subscribe NAME TOPIC...: record "topic payload" lines in $TEST_DIR/NAME.sub,
# returning once the subscription is in place.
subscribe() {
	local name=$1 file="$TEST_DIR/$1.sub" args=()
	shift
	for t in "$@" "probe/$name"; do args+=(-t "$t"); done
	: >"$file"
	mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -q 1 -v "${args[@]}" >>"$file" 2>/dev/null &
	SUB_PIDS+=($!)
	local i
	for i in $(seq 100); do
		pub "probe/$name" ready
		grep -q "^probe/$name ready" "$file" && return 0
		sleep 0.05
	done
	fail "mosquitto_sub on $* did not start"
}

# subscribe_session NAME TOPIC: like subscribe, as a persistent session
# (client id NAME, clean session off) that the broker keeps while it is away.
subscribe_session() {
	local name=$1 file="$TEST_DIR/$1.sub"
	mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -q 1 -c -i "$name-$$" -v -t "$2" \
		-t "probe/$name" >>"$file" 2>/dev/null &
	SUB_PIDS+=($!)
	local i
	for i in $(seq 100); do
		pub "probe/$name" ready
		grep -q "^probe/$name ready" "$file" && return 0
		sleep 0.05
	done
	fail "mosquitto_sub on $2 did not start"
}

# The lines of NAME's recording on TOPIC, payloads only.
received() {
	awk -v t="$2" '$1 == t { sub(/^[^ ]+ /, ""); print }' "$TEST_DIR/$1.sub"
}

# wait_result NAME ID: the result with that id, waiting up to 10 s.
wait_result() {
	local name=$1 id=$2 topic=$3
	wait_until 10 "received $name $topic | grep -qF '\"id\":$id'"
	received "$name" "$topic" | grep -F "\"id\":$id" | tail -n 1
}

# json_get JSON EXPR: evaluate a python expression over the parsed value j.
json_get() {
	python3 -c 'import json, sys; j = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

# ------------------------------------------------------------- boards

board_env() {
	DBUS_SESSION_BUS_ADDRESS=${BUS_ADDRESS[$1]}
	export DBUS_SESSION_BUS_ADDRESS
}

# start_bus BOARD: a private session bus for the board.
start_bus() {
	local b=$1
	dbus-daemon --session --address="unix:path=$TEST_DIR/$b.bus" --nofork --nopidfile \
		--print-address=3 3>"$TEST_DIR/$b.bus-address" 2>"$TEST_DIR/$b-dbus.log" &
	BUS_PID[$b]=$!
	wait_until 5 "[ -s '$TEST_DIR/$b.bus-address' ]"
	BUS_ADDRESS[$b]=$(head -n1 "$TEST_DIR/$b.bus-address")
}

blinkd_up() {
	DBUS_SESSION_BUS_ADDRESS=${BUS_ADDRESS[$1]} busctl --user status io.blinkd1 >/dev/null 2>&1
}

# start_blinkd BOARD: blinkd on the simulated chip, tracing to $TEST_DIR/BOARD.trace.
start_blinkd() {
	local b=$1
	[ -f "$TEST_DIR/$b.json" ] || cat >"$TEST_DIR/$b.json" <<-'EOC'
	{"definitions": {"flash": {"on": {"lines": {"row": 4}, "for": "1s"}},
	                 "corners": {"on": {"lines": [11, 2, 13, 14]}}}}
	EOC
	DBUS_SESSION_BUS_ADDRESS=${BUS_ADDRESS[$b]} "$BLINKD" --user --chip sim \
		--config "$TEST_DIR/$b.json" --trace "$TEST_DIR/$b.trace" \
		--state-dir "$TEST_DIR/$b-state" 2>>"$TEST_DIR/$b-blinkd.log" &
	DAEMON_PID[$b]=$!
	wait_until 10 "blinkd_up $b"
}

stop_blinkd() {
	kill "${DAEMON_PID[$1]}"
	wait "${DAEMON_PID[$1]}" 2>/dev/null || true
	DAEMON_PID[$1]=
}

# start_bridge BOARD [EXTRA JSON KEYS]: blinkd-mqtt for the board, waiting until it is online.
start_bridge() {
	local b=$1 extra=${2:-}
	cat >"$TEST_DIR/$b-mqtt.json" <<-EOC
	{"broker": "mqtt://127.0.0.1:$BROKER_PORT", "board": "$b", "client_id": "test-$b-$$"$extra}
	EOC
	DBUS_SESSION_BUS_ADDRESS=${BUS_ADDRESS[$b]} "$BLINKD_MQTT" --user \
		--config "$TEST_DIR/$b-mqtt.json" --log-level debug 2>>"$TEST_DIR/$b-bridge.log" &
	BRIDGE_PID[$b]=$!
}

stop_bridge() {
	kill "${BRIDGE_PID[$1]}"
	wait "${BRIDGE_PID[$1]}" 2>/dev/null || true
	BRIDGE_PID[$1]=
}

state_is() {
	[ "$(retained "blinkd/$1/state")" = "$2" ]
}

# start_board BOARD [EXTRA]: bus, blinkd and bridge, online.
start_board() {
	start_bus "$1"
	start_blinkd "$1"
	start_bridge "$1" "${2:-}"
	wait_until 10 "state_is $1 online"
}

# The running programs of BOARD, from blinkd itself: "name program" per line.
blinkd_list() {
	DBUS_SESSION_BUS_ADDRESS=${BUS_ADDRESS[$1]} busctl --user --json=short call io.blinkd1 \
		/io/blinkd1 io.blinkd1.Manager List |
		python3 -c 'import json, sys; [print(n, p) for n, p in json.load(sys.stdin)["data"][0]]'
}

# The offsets that went on in BOARD's trace, in order.
trace_rising() {
	awk '$3 == 1 { printf "%s%s", sep, $2; sep = " " } END { print "" }' "$TEST_DIR/$1.trace"
}

# CLOCK_MONOTONIC ns of the first rising edge of OFFSET in BOARD's trace.
trace_first_rising() {
	awk -v o="$2" '$2 == o && $3 == 1 { print $1; exit }' "$TEST_DIR/$1.trace"
}
