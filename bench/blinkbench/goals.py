# SPDX-License-Identifier: MIT
"""The benchmark's goals: one table, and the one verdict every report prints.

A goal is a row of GOALS: the figure it judges (a key of the flattened
medians that report.flatten() and report.add_ratios() make, or one a report
computes and names here), how the figure must compare with the threshold,
the threshold in the figure's own unit, that unit, the issue that set the
goal, and what the figure is measured against, else None: the figure in
the denominator of a ratio (the floor, cyclictest, asyncio, the distinct
deadlines), or the level a duty cycle's error is taken from.

A figure with {placeholders} is a family of figures the same goal judges,
one for each value of the placeholders: figure_key() fills them in.

`text` is the goal as the reports print it in their "goal" column; the
tests check that it says what the comparison and the threshold say.

verdict() is the only place a figure meets its goal: it answers PASS, FAIL
or NO_FIGURE (the figure was not measured), and the reports only choose the
words for these three.
"""
import operator
from dataclasses import dataclass
from typing import Optional

from .common import NS_PER_MS, NS_PER_US

PASS = "pass"
FAIL = "fail"
NO_FIGURE = "no-figure"

COMPARISONS = {
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
}

# The units thresholds are written in: the figure's own, never a display unit.
UNITS = {
    "x": "a ratio: the figure ÷ what it is measured against",
    "ns": "nanoseconds",
    "bytes": "bytes",
    "wakeups/deadline": "voluntary context switches ÷ distinct deadlines",
    "wakeups/s": "voluntary context switches a second",
    "calls": "D-Bus calls",
    "level": "a fraction of the time, 0 to 1",
    "allocations": "malloc, calloc and realloc calls",
}

MIB = 1024 * 1024


@dataclass(frozen=True)
class Goal:
    name: str
    figure: str
    comparison: str
    threshold: float
    unit: str
    issue: Optional[int]      # None: set by the levels phase, which had no numbered issue
    against: Optional[str]    # what the figure is measured against (a ratio's denominator), or None
    text: str

    def figure_key(self, **params):
        """The figure's key, its {placeholders} filled in from @params."""
        return self.figure.format(**params)


def verdict(goal, figure):
    """PASS when @figure meets @goal, FAIL when it does not (NaN never
    meets one: every comparison with it is false), NO_FIGURE when there is
    no figure (None)."""
    if figure is None:
        return NO_FIGURE
    return PASS if COMPARISONS[goal.comparison](figure, goal.threshold) else FAIL


def _workloads(w):
    """The goals of issue 7 that the seed's workload (@w "seed") and the
    lines workload ("lines") share."""
    return [
        Goal(f"{w}.lateness_p99.cyclictest", f"ratio.{w}.cyclictest.p99", "<=", 1.5, "x", 7,
             "cyclictest.lateness.p99", "≤ 1.5x cyclictest p99"),
        Goal(f"{w}.cpu_per_edge.asyncio", f"ratio.{w}.asyncio.cpu_per_edge_ns", "<=", 1 / 20, "x", 7,
             f"{w}.asyncio.cpu_per_edge_ns", "≥ 20x less than asyncio"),
        Goal(f"{w}.wakeups_per_deadline", f"{w}.blinkd.wakeups_per_deadline", "<=", 1.0,
             "wakeups/deadline", 7, f"{w}.blinkd.distinct_deadlines", "≤ 1 wakeup per deadline"),
    ]


GOALS = [
    # Issue 7: blinkd beside cyclictest and the talk's asyncio seed.
    *_workloads("seed"),
    *_workloads("lines"),
    Goal("programs.lateness_p99", "programs.blinkd.lateness.p99", "<", 2 * NS_PER_MS, "ns", 7, None, "< 2 ms"),
    Goal("programs.wakeups_per_deadline", "programs.blinkd.wakeups_per_deadline", "<=", 1.0,
         "wakeups/deadline", 7, "programs.blinkd.distinct_deadlines", "≤ 1 wakeup per deadline"),
    Goal("programs.peak_rss", "programs.blinkd.peak_rss", "<", 64 * MIB, "bytes", 7, None, "< 64 MiB"),
    Goal("programs.start_answer_max", "programs.blinkd.start_answer.max", "<", 10 * NS_PER_MS, "ns", 7, None,
         "< 10 ms"),
    Goal("programs.stop_answer_max", "programs.blinkd.stop_answer.max", "<", 10 * NS_PER_MS, "ns", 7, None,
         "< 10 ms"),
    Goal("programs.list_answer_max", "programs.blinkd.list_answer.max", "<", 10 * NS_PER_MS, "ns", 7, None,
         "< 10 ms"),
    Goal("idle.wakeups", "idle.wakeups_per_s", "==", 0, "wakeups/s", 7, None, "0"),
    Goal("start.failed_starts", "start_latency.failed_starts", "==", 0, "calls", 7, None, "0"),
    # The drift run's figures are the report's own, from drift_figures():
    # the last span's median lateness less the first span's, and the
    # least-squares trend × the run's duration.
    Goal("drift.last_span", "drift.last_span_p50_growth_ns", "<=", 0, "ns", 7, None,
         "last median no larger than first"),
    Goal("drift.trend", "drift.trend_growth_ns", "<=", 10 * NS_PER_US, "ns", 7, None,
         "no growth (≤ 10 µs over the run)"),

    # Issue 17: blinkd beside its floor, measured in the same run.
    Goal("seed.floor.lateness_p99", "ratio.seed.floor.lateness_timed.p99", "<=", 1.1, "x", 17,
         "seed.floor.lateness_timed.p99", "≤ 1.1x"),
    Goal("lines.floor.lateness_p99", "ratio.lines.floor.lateness_timed.p99", "<=", 1.1, "x", 17,
         "lines.floor.lateness_timed.p99", "≤ 1.1x"),
    Goal("seed.floor.cpu_per_wakeup", "ratio.seed.floor.cpu_per_wakeup_ns", "<=", 1.2, "x", 17,
         "seed.floor.cpu_per_wakeup_ns", "≤ 1.2x"),
    Goal("lines.floor.cpu_per_wakeup", "ratio.lines.floor.cpu_per_wakeup_ns", "<=", 1.2, "x", 17,
         "lines.floor.cpu_per_wakeup_ns", "≤ 1.2x"),
    Goal("control_load.lateness_p99", "ratio.control_load.p99", "<=", 1.5, "x", 17,
         "control_load.quiet.lateness.p99", "≤ 1.5x"),
    Goal("control.1024.hold_max", "control.1024.hold_max_ns", "<=", 0.5 * NS_PER_MS, "ns", 17, None,
         "≤ 0.5 ms"),
    Goal("control.10000.hold_max", "control.10000.hold_max_ns", "<=", 0.5 * NS_PER_MS, "ns", 17, None,
         "≤ 0.5 ms"),
    Goal("precision.spin.lateness_p99", "precision.spin.lateness_timed.p99", "<=", 20 * NS_PER_US, "ns", 17,
         None, "≤ 0.02 ms"),
    Goal("scale.cpu_per_edge_spread", "ratio.scale.cpu_per_edge_spread", "<=", 2.0, "x", 17,
         "the smallest scale.N.cpu_per_edge_ns", "≤ 2x"),
    Goal("startup.ready_p50", "startup.ready.p50", "<", 20 * NS_PER_MS, "ns", 17, None, "< 20 ms"),
    Goal("startup.first_edge_p50", "startup.first_edge.p50", "<", 20 * NS_PER_MS, "ns", 17, None, "< 20 ms"),

    # The levels phase: software PWM, for each pwm_hz and workload.
    Goal("levels.duty_error", "levels.hz{hz}.{workload}.duty_error_max", "<=", 0.02, "level", None,
         "the level each line was dimmed to", "≤ 0.02"),
    Goal("levels.allocations", "levels.hz{hz}.alloc_{workload}.total", "==", 0, "allocations", None, None,
         "0 allocations"),

    # Issue 23: bench/persist-holds, persistence on a real filesystem.
    Goal("persist.hold_max", "persist.hold_max_ns", "<=", 0.5 * NS_PER_MS, "ns", 23, None, "at most 0.5 ms"),

    # Issue 24: bench/compare, a refactor against the build before it, pair by pair.
    Goal("compare.seed.cpu_per_wakeup", "ratio.compare.seed.cpu_per_wakeup_ns", "<=", 1.03, "x", 24,
         "the build before, same session", "≤ 1.03x"),
    Goal("compare.lines.cpu_per_wakeup", "ratio.compare.lines.cpu_per_wakeup_ns", "<=", 1.03, "x", 24,
         "the build before, same session", "≤ 1.03x"),
    Goal("compare.engine.seed.cpu_per_wakeup", "ratio.compare.engine.seed.cpu_per_wakeup_ns", "<=", 1.03,
         "x", 24, "the build before's engine, same session", "≤ 1.03x"),
    Goal("compare.engine.lines.cpu_per_wakeup", "ratio.compare.engine.lines.cpu_per_wakeup_ns", "<=", 1.03,
         "x", 24, "the build before's engine, same session", "≤ 1.03x"),
]

GOAL = {g.name: g for g in GOALS}
