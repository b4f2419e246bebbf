# SPDX-License-Identifier: MIT
"""The smoke run's checks (`bench/run --smoke`, `meson test --suite bench`).

Each check is a property a broken daemon fails, never a speed: with sd-event's
default timer accuracy of 250ms (BLINKD_TIMER_ACCURACY_USEC=250000) the
lateness bound fails and most edges of the 10ms lines are lost; an engine that
skips or doubles an edge, or leaves a line dark, fails the schedule check.

Levels: a dim at 0.3 on 5 lines at 200 Hz, over 1 s of the trace, must be lit
0.3 ± 0.02 of the time on every line, with 200 ± 10 rising edges per line per
second; the 25 fading lines must each edge. Faults tried: on-times 10%
short (pwm_on_time() * 9/10) read duty 0.268 and fail; a period twice what
"pwm_hz" asks for reads 100 rising edges a second and fails (its duty stays
0.3); with the 250 ms timer accuracy above, blinkd wakes 4 times a second,
the dimmed and fading lines show no edge at all in the window, and all
three checks fail. A line left lit or dark instead of switched would fail both.
"""
import math
import shutil

from .common import NS_PER_MS, NS_PER_S

SMOKE_LATENESS_BOUND_NS = 20 * NS_PER_MS  # two intervals of the 10ms lines
SMOKE_LOST_FRACTION = 0.01
SMOKE_DIM_LEVEL = 0.3
SMOKE_DUTY_TOLERANCE = 0.02
SMOKE_PWM_HZ = 200
SMOKE_RISING_TOLERANCE = 10  # rising edges per line per second


def smoke_check(flat, phases, skipped=()):
    """Figures exist; every scheduled line edged as often as the schedule says
    (edges + lost == scheduled); few edges lost; lateness p99 under a bound that
    a coarse timer exceeds. Returns the problems, empty when all hold."""
    problems = []
    ran = {"seed.blinkd": "seed", "seed.floor": "seed-floor", "seed.asyncio": "seed-asyncio",
           "lines.blinkd": "lines", "lines.floor": "lines-floor", "lines.asyncio": "lines-asyncio",
           "programs.blinkd": "programs", "idle": "seed", "start_latency": "seed",
           "cyclictest": "cyclictest", "levels.hz200": "levels"}

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
    p = "levels.hz200.dim5"
    need(f"{p}.duty_min", lambda v: v >= SMOKE_DIM_LEVEL - SMOKE_DUTY_TOLERANCE,
         f"a line dimmed to {SMOKE_DIM_LEVEL} was lit less than {SMOKE_DIM_LEVEL - SMOKE_DUTY_TOLERANCE} of the time")
    need(f"{p}.duty_max", lambda v: v <= SMOKE_DIM_LEVEL + SMOKE_DUTY_TOLERANCE,
         f"a line dimmed to {SMOKE_DIM_LEVEL} was lit more than {SMOKE_DIM_LEVEL + SMOKE_DUTY_TOLERANCE} of the time")
    need(f"{p}.rising_per_line_s_min", lambda v: v >= SMOKE_PWM_HZ - SMOKE_RISING_TOLERANCE,
         f"a dimmed line had fewer than {SMOKE_PWM_HZ - SMOKE_RISING_TOLERANCE} rising edges a second at "
         f"pwm_hz {SMOKE_PWM_HZ}: periods lost or a longer period")
    need(f"{p}.rising_per_line_s_max", lambda v: v <= SMOKE_PWM_HZ + SMOKE_RISING_TOLERANCE,
         f"a dimmed line had more than {SMOKE_PWM_HZ + SMOKE_RISING_TOLERANCE} rising edges a second at "
         f"pwm_hz {SMOKE_PWM_HZ}: a shorter period")
    need(f"{p}.cpu_ms_per_s_raw", lambda v: v > 0, "no CPU time measured")
    need("levels.hz200.fade25.lines_edged", lambda v: v == 25, "not every fading line edged")
    if shutil.which("cyclictest") and not any(s.startswith("cyclictest") for s in skipped):
        need("cyclictest.lateness.p99", lambda v: v >= 0, "cyclictest not measured")
    return problems
