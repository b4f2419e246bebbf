#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The talk's asyncio blink(), run unchanged, for bench/run to compare with.

Usage: seed-blink.py WORKLOAD.json RESULT.json

The talk ("Pointless Blinking With Python, asyncio, and libgpiod", in
shared/seed/) drives a 5x5 LED matrix through gpiod. Here gpiod is replaced
by a recorder whose set_values() timestamps every call with
time.monotonic_ns() (CLOCK_MONOTONIC, the clock of blinkd's trace); the
talk's stuff.py below it (ALL_IOS, REQUEST, SET_VALUES and the blink()
coroutine) is the talk's text, unchanged. Only MATRIX and main() come from
the workload: main() creates one task per blink and awaits them, as the
talk's main() does.

WORKLOAD.json: {"matrix": [[offset, ...], ...],
                "blinks": [[[offset, ...], interval_seconds, ntimes], ...]}
RESULT.json:   {"cpu_ns": ..., "edges": [[ns, offset, value], ...], ...}
"""
import enum
import json
import sys
import time
import types


# ---------------------------------------------------------------------------
# The recorder standing in for the gpiod module (libgpiod's Python binding v2).
class _Value(enum.Enum):
    INACTIVE = 0
    ACTIVE = 1


class _Direction(enum.Enum):
    AS_IS = 1
    INPUT = 2
    OUTPUT = 3


class _LineSettings:
    def __init__(self, direction=_Direction.AS_IS, **kwargs):
        self.direction = direction


class _LineRequest:
    """What gpiod.request_lines() returns: set_values() is timestamped and kept."""

    def __init__(self, lines):
        self.lines = frozenset(lines)
        self.record = []

    def set_values(self, values):
        self.record.append((time.monotonic_ns(), values))


def _request_lines(path, consumer=None, config=None):
    lines = []
    for key in config or {}:
        lines.extend(key if isinstance(key, tuple) else (key,))
    global _REQUEST
    _REQUEST = _LineRequest(lines)
    return _REQUEST


gpiod = types.SimpleNamespace(
    request_lines=_request_lines,
    LineSettings=_LineSettings,
    line=types.SimpleNamespace(Value=_Value, Direction=_Direction),
)

with open(sys.argv[1]) as f:
    WORKLOAD = json.load(f)
MATRIX = tuple(tuple(row) for row in WORKLOAD["matrix"])


# ---------------------------------------------------------------------------
# The talk's stuff.py from here on, unchanged (MATRIX above is the workload's).
import asyncio
import itertools

ALL_IOS = sum(MATRIX, start=())
REQUEST = gpiod.request_lines(
    '/dev/gpiochip0',
    consumer='blink',
    config={ALL_IOS: gpiod.LineSettings(direction=gpiod.line.Direction.OUTPUT)})

def SET_VALUES(ios, b):
    REQUEST.set_values({i: gpiod.line.Value(b) for i in ios})

async def blink(ios, interval, ntimes=None):
    loop = (ntimes is None) and itertools.count() or range(ntimes)
    for _ in loop:
        SET_VALUES(ios, 1)
        await asyncio.sleep(interval)
        SET_VALUES(ios, 0)
        await asyncio.sleep(interval)


# ---------------------------------------------------------------------------
# main(), as the talk writes it: create the tasks, await each.
async def main():
    tasks = [
        asyncio.create_task(blink(tuple(ios), interval, ntimes))
        for ios, interval, ntimes in WORKLOAD["blinks"]
    ]
    for t in tasks:
        await t


def _context_switches():
    counts = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.endswith("ctxt_switches"):
                counts[key] = int(value)
    return counts


if __name__ == "__main__":
    switches_before = _context_switches()
    cpu_before = time.process_time_ns()
    wall_before = time.monotonic_ns()
    asyncio.run(main())
    cpu_ns = time.process_time_ns() - cpu_before
    wall_ns = time.monotonic_ns() - wall_before
    switches_after = _context_switches()

    edges = []
    for ns, values in REQUEST.record:
        for offset, value in values.items():
            edges.append((ns, offset, value.value))
    with open(sys.argv[2], "w") as f:
        json.dump({
            "cpu_ns": cpu_ns,
            "wall_ns": wall_ns,
            "set_values_calls": len(REQUEST.record),
            "voluntary_ctxt_switches": switches_after["voluntary_ctxt_switches"]
            - switches_before["voluntary_ctxt_switches"],
            "edges": edges,
        }, f)
