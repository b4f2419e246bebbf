#!/bin/bash
# SPDX-License-Identifier: MIT
#
# validate: the daemon's parser, locally, without a bus; the canonical form
# on success, the place and the rule on failure.
source "${BASH_SOURCE[0]%/*}/lib.sh"

# No bus at all: validate does not need one.
export DBUS_SESSION_BUS_ADDRESS=unix:path=$TEST_DIR/no-bus

run 0 client validate --program '{"blink": {"lines": {"row": 2}, "interval": 0.2}}'
expect_stdout '{"blink":{"lines":{"row":2},"interval":"200ms"}}'
expect_stderr ''

cat >"$TEST_DIR/seq.json" <<'EOC'
{"sequence": [
  {"cycle": {"lines": [11, "GPIO10", 27], "interval": "0.1s", "times": 3}},
  {"wait": 2},
  {"forever": {"any": [{"on": {"lines": "all", "for": "1500ms"}}, {"call": "smiley"}]}}
]}
EOC
canonical='{"sequence":[{"cycle":{"lines":[11,"GPIO10",27],"interval":"100ms","times":3}},{"wait":"2s"},{"forever":{"any":[{"on":{"lines":"all","for":"1500ms"}},{"call":"smiley"}]}}]}'
run 0 client validate --file "$TEST_DIR/seq.json"
expect_stdout "$canonical"
run 0 client validate --file - <"$TEST_DIR/seq.json"
expect_stdout "$canonical"
# The canonical form is valid and canonical.
run 0 client validate --program "$canonical"
expect_stdout "$canonical"
# Line names are not checked without a chip.
run 0 client validate --program '{"on": {"lines": ["GPIO99", "LED_A"]}}'

# Invalid: exit 4, one line: the key, the rule, the path.
run 4 client validate --program '{"blink": {"lines": {"row": 0}, "interval": "50us"}}'
expect_stdout ''
expect_stderr 'blinkd-client: interval: must be between 100us and 1d (at $.blink.interval)'
run 4 client validate --program '{"sequence": [{"wait": 1}, {"on": {"lines": {"col": 5}}}]}'
expect_stderr 'blinkd-client: col: col 5 is out of range (the layout has 5 columns) (at $.sequence[1].on.lines.col)'
run 4 client validate --program '{"on": {"lines": [99]}}'
expect_stderr_has '(at $.on.lines[0])'
run 4 client validate --program '{"blink": {"lines": "all", "interval": 1, "colour": "red"}}'
expect_stderr_has '(at $.blink'
run 4 client validate --program '{"sequence": []}'
expect_stderr_has '(at $.sequence)'
run 4 client validate --program '{"blink": '
expect_stderr 'blinkd-client: invalid JSON: unexpected end of text (at $)'
run 4 client validate --program '{"on": {"lines": [2]}} trailing'
run 4 client validate --file /dev/null
printf '{"wait": 1}\0' >"$TEST_DIR/nul.json"
run 4 client validate --file "$TEST_DIR/nul.json"
head -c 70000 /dev/zero | tr '\0' ' ' >"$TEST_DIR/big.json"
run 4 client validate --file "$TEST_DIR/big.json"
expect_stderr_has 'longer than'

run 1 client validate --file "$TEST_DIR/missing.json"
expect_stderr_has 'missing.json'
run 2 client validate
run 2 client validate --program '{"wait": 1}' --file "$TEST_DIR/seq.json"
run 2 client validate '{"wait": 1}'
