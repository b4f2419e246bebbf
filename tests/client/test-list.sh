#!/bin/bash
# SPDX-License-Identifier: MIT
#
# list, define, undefine and definitions, as text and as --json.
# shellcheck disable=SC2016 # wait_until evaluates its single-quoted code itself
source "${BASH_SOURCE[0]%/*}/lib.sh"

start_daemon

run 0 client list
expect_stdout "NAME  AGE  LINES  PROGRAM"
run 0 client list --json
expect_stdout "[]"

run 0 client start on --lines 11,10 --name alpha
run 0 client start blink --row 1 --interval 1s --name beta-program
run 0 client list
expect_stdout "NAME          AGE  LINES        PROGRAM
alpha         0s   10,11        {\"on\":{\"lines\":[11,10]}}
beta-program  0s   0,3,9,17,22  {\"blink\":{\"lines\":{\"row\":1},\"interval\":\"1s\"}}"

# AGE counts from StartedUSec, in whole seconds (2s when a busy machine
# took a second to run the client).
sleep 1.1
run 0 client list
case $(awk '$1 == "alpha" { print $2 }' "$OUT") in
1s|2s) ;;
*) fail "alpha's age: $(cat "$OUT")" ;;
esac

# --json before or after the verb; started_usec is CLOCK_REALTIME.
run 0 client --json list
sed 's/"started_usec":[0-9]*/"started_usec":N/g' "$OUT" >"$TEST_DIR/list.json"
[ "$(cat "$TEST_DIR/list.json")" = '[{"name":"alpha","started_usec":N,"lines":[10,11],"program":{"on":{"lines":[11,10]}},"priority":0,"bound":false,"persistent":false,"timeout_usec":0,"scheduled":false},{"name":"beta-program","started_usec":N,"lines":[0,3,9,17,22],"program":{"blink":{"lines":{"row":1},"interval":"1s"}},"priority":0,"bound":false,"persistent":false,"timeout_usec":0,"scheduled":false}]' ] ||
	fail "list --json: $(cat "$OUT")"
started=$(grep -o '"started_usec":[0-9]*' "$OUT" | head -n1 | cut -d: -f2)
now=$(($(date +%s%N) / 1000))
if [ $((now - started)) -lt 1000000 ] || [ $((now - started)) -ge 30000000 ]; then
	fail "started_usec $started is not about 1 s before $now"
fi
run 0 "$BLINKD_CLIENT" list --json --user
expect_stdout_has '"name":"alpha"'
run 0 client off

# Definitions: the config's, then ours.
run 0 client definitions
expect_stdout 'NAME     PROGRAM
corners  {"on":{"lines":[11,2,13,14]}}
flash    {"on":{"lines":{"row":4},"for":"1s"}}'

run 0 client define face --program '{"all": [{"on": {"lines": [6, 15]}}, {"call": "corners"}]}'
echo '{"blink": {"lines": {"col": 2}, "interval": 0.25}}' | run 0 client define middle --file -
run 0 client definitions
expect_stdout 'NAME     PROGRAM
corners  {"on":{"lines":[11,2,13,14]}}
face     {"all":[{"on":{"lines":[6,15]}},{"call":"corners"}]}
flash    {"on":{"lines":{"row":4},"for":"1s"}}
middle   {"blink":{"lines":{"col":2},"interval":"250ms"}}'
run 0 client definitions --json
expect_stdout '[{"name":"corners","program":{"on":{"lines":[11,2,13,14]}}},{"name":"face","program":{"all":[{"on":{"lines":[6,15]}},{"call":"corners"}]}},{"name":"flash","program":{"on":{"lines":{"row":4},"for":"1s"}}},{"name":"middle","program":{"blink":{"lines":{"col":2},"interval":"250ms"}}}]'

# A definition starts by name, and calls resolve.
run 0 client start face
wait_until 2 'test "$(trace_lit_now)" = "2 6 11 13 14 15"'
run 0 client off

# Defining a name again replaces the definition.
run 0 client define middle --program '{"on": {"lines": {"col": 2}}}'
run 0 client definitions
expect_stdout_has 'middle   {"on":{"lines":{"col":2}}}'

run 0 client undefine middle
run 0 client undefine face
run 0 client definitions
expect_stdout_has 'corners'
grep -q '^middle\|^face' "$OUT" && fail "undefine left: $(cat "$OUT")"
run 5 client undefine middle
expect_stderr_has 'middle'
run 5 client start middle

run 4 client define bad --program '{"on": {"lines": {"row": 5}}}'
expect_stderr 'blinkd-client: row: row 5 is out of range (the layout has 5 rows) (at $.on.lines.row)'
run 4 client define 'no/slash' --program '{"on": {"lines": [2]}}'
run 4 client define loop --program '{"call": "loop"}'
run 2 client define nothing
run 2 client define both --program '{"on": {"lines": [2]}}' --file /dev/null
run 2 client undefine
run 2 client definitions extra
run 2 client list extra
