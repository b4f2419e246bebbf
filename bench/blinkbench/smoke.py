# SPDX-License-Identifier: MIT
"""The smoke run's checks (`bench/run --smoke`, `meson test --suite bench`).

Each check is a property a broken daemon fails, never a speed: with sd-event's
default timer accuracy of 250ms (BLINKD_TIMER_ACCURACY_USEC=250000) the
lateness bound fails and most edges of the 10ms lines are lost; an engine that
skips or doubles an edge, or leaves a line dark, fails the schedule check.
"""
import math
import shutil

from .common import NS_PER_MS, NS_PER_S

SMOKE_LATENESS_BOUND_NS = 20 * NS_PER_MS  # two intervals of the 10ms lines
SMOKE_LOST_FRACTION = 0.01


def smoke_check(flat, phases, skipped=()):
    """Figures exist; every scheduled line edged as often as the schedule says
    (edges + lost == scheduled); few edges lost; lateness p99 under a bound that
    a coarse timer exceeds. Returns the problems, empty when all hold."""
    problems = []
    ran = {"seed.blinkd": "seed", "seed.floor": "seed-floor", "seed.asyncio": "seed-asyncio",
           "lines.blinkd": "lines", "lines.floor": "lines-floor", "lines.asyncio": "lines-asyncio",
           "programs.blinkd": "programs", "idle": "seed", "start_latency": "seed",
           "cyclictest": "cyclictest"}

    def need(key, cond, what):
        if ran.get(".".join(key.split(".")[:2]), ran.get(key.split(".")[0])) not in phases:
            return
        v = flat.get(key)
        if v is None or not cond(v):
            problems.append(f"{key} = {v}: {what}")
    for w in ("seed.blinkd", "seed.asyncio", "lines.blinkd", "lines.asyncio", "programs.blinkd",
              "seed.floor", "lines.floor"):
        need(f"{w}.edges", lambda v: v > 0, "no edges")
        need(f"{w}.lateness.p99", lambda v: math.isfinite(v) and abs(v) < NS_PER_S,
             "lateness not finite or over 1s")
        need(f"{w}.cpu_per_edge_ns", lambda v: v > 0, "no CPU time measured")
    for w in ("seed.blinkd", "lines.blinkd", "seed.floor", "lines.floor"):
        need(f"{w}.schedule_mismatches", lambda v: v == 0,
             "the trace does not hold the schedule's edges (a line never edged, or edges + lost "
             "!= scheduled)")
        need(f"{w}.lateness.p99", lambda v: v < SMOKE_LATENESS_BOUND_NS,
             f"lateness p99 over {SMOKE_LATENESS_BOUND_NS // NS_PER_MS} ms: a coarse or broken timer")
        edges = flat.get(f"{w}.edges") or 0
        need(f"{w}.lost_edges", lambda v: v <= SMOKE_LOST_FRACTION * (edges + v),
             f"over {SMOKE_LOST_FRACTION:.0%} of the edges lost: wakeups later than an interval")
    need("idle.wakeups_per_s", lambda v: v >= 0, "idle wakeups not measured")
    need("start_latency.call_to_edge.p50", lambda v: 0 < v < NS_PER_S, "Start -> first edge not measured")
    need("programs.blinkd.peak_rss", lambda v: v > 0, "RSS not measured")
    need("programs.blinkd.list_answer.p50", lambda v: 0 < v < 10 * NS_PER_S, "List() not measured")
    if shutil.which("cyclictest") and not any(s.startswith("cyclictest") for s in skipped):
        need("cyclictest.lateness.p99", lambda v: v >= 0, "cyclictest not measured")
    return problems
