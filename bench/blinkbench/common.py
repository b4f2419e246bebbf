# SPDX-License-Identifier: MIT
"""What every part of the benchmark shares: units, the error, the log, where things are."""
import os
import sys

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_ROOT = os.path.dirname(BENCH_DIR)

NS_PER_US = 1000
NS_PER_MS = 1000 * 1000
NS_PER_S = 1000 * 1000 * 1000


class BenchError(Exception):
    pass


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)
