# SPDX-License-Identifier: MIT
"""The workloads: what blinks, how often, how many times; and the schedule they imply."""
import json

from .common import NS_PER_MS

# The talk's 5x5 matrix.
SEED_MATRIX = [
    [11, 10, 27, 4, 2],
    [0, 9, 22, 17, 3],
    [5, 20, 1, 25, 18],
    [6, 16, 7, 24, 15],
    [13, 12, 8, 23, 14],
]


# ---------------------------------------------------------------- workloads
def seed_workload(duration_s):
    """25 one-line blinks on the talk's matrix, intervals spread over the talk's 0.1-0.5s."""
    offsets = [o for row in SEED_MATRIX for o in row]
    blinks = []
    for i, offset in enumerate(offsets):
        interval_ms = 100 + round(400 * i / (len(offsets) - 1))
        times = max(1, round(duration_s * 1000 / (2 * interval_ms)))
        blinks.append(([offset], interval_ms, times))
    return {"matrix": SEED_MATRIX, "blinks": blinks}


def lines_workload(n_lines, interval_ms, duration_s, cols=25):
    """@n_lines lines blinking together every @interval_ms: one blink of all of them."""
    rows = n_lines // cols
    matrix = [[r * cols + c for c in range(cols)] for r in range(rows)]
    times = max(1, round(duration_s * 1000 / (2 * interval_ms)))
    offsets = [o for row in matrix for o in row]
    return {"matrix": matrix, "blinks": [(offsets, interval_ms, times)]}


def blink_json(lines, interval_ms, times=None):
    body = {"lines": lines, "interval": f"{interval_ms}ms"}
    if times:
        body["times"] = times
    return json.dumps({"blink": body}, separators=(",", ":"))


def workload_program(workload, all_lines=False):
    """The workload as one blinkd program: one blink, or all of the blinks (one start instant)."""
    blinks = workload["blinks"]
    if len(blinks) == 1:
        lines, interval_ms, times = blinks[0]
        return blink_json("all" if all_lines else lines, interval_ms, times)
    return '{"all":[' + ",".join(blink_json(l, i, t) for l, i, t in blinks) + "]}"


def workload_intervals(workload):
    intervals, ends = {}, {}
    for lines, interval_ms, times in workload["blinks"]:
        for offset in lines:
            intervals[offset] = interval_ms * NS_PER_MS
            if times:
                ends[offset] = 2 * times
    return intervals, ends


def workload_end_s(workload):
    return max(2 * times * interval_ms for _, interval_ms, times in workload["blinks"]) / 1000.0


def workload_expected_edges(workload):
    """offset -> how many edges the workload writes on it: a blink of TIMES
    pairs lights at its start and goes dark TIMES times."""
    expected = {}
    for lines, _, times in workload["blinks"]:
        for offset in lines:
            expected[offset] = expected.get(offset, 0) + 2 * times
    return expected


def floor_arguments(workload):
    """The workload as the floor's OFFSETS:INTERVAL_US:TIMES arguments."""
    args = []
    for lines, interval_ms, times in workload["blinks"]:
        args.append(f"{','.join(str(o) for o in lines)}:{interval_ms * 1000}:{times}")
    return args
