# SPDX-License-Identifier: MIT
"""The levels phase: what software PWM costs and whether it holds its duty cycle.

GPIO lines at a level strictly between 0 and 1 are switched by the engine at
the config's "pwm_hz": on for the first on-time of each period, periods
aligned on the engine's timeline, so lines at one level share their edges
and every PWM edge of an instant is one batch. For each of 200 Hz (the
default) and 2 kHz (the most "pwm_hz" takes), one blinkd, first idle, then:

- dims at 0.3: 1, 25 and 100 lines as one program each ({"dim": {"lines":
  [...], "level": 0.3}}), and 100 lines as 100 one-line programs; 25 lines
  at 25 distinct levels (0.02 to 0.98, one "all" of 25 one-line dims),
  which share no edges. Over a fixed window after a warm-up: the daemon's
  CPU (schedstat, user and kernel, as the rest of the benchmark) less its
  own idle CPU over as long, per second and per dimmed line; wakeups; and
  from the trace each line's duty cycle (time lit / window), its rising
  edges per second against pwm_hz, trace lines (edges) and distinct trace
  times (batches) per second.
- 25 lines fading at once: one program, forever(fade 0 -> 1 over 1 s, fade
  1 -> 0 over 1 s), the default "perceived" curve, over a window of two whole
  rounds: edges, batches, CPU and wakeups per second.
- allocations in steady state: perf uprobes on libc's malloc, calloc and
  realloc, counted for blinkd alone (perf stat -p) over a window of 25
  fading lines and one of 100 dimmed lines, each after a warm-up; a
  positive control counts the same probes over three List() calls, so that
  a 0 is known to be a count and not a probe that never fires. When the
  count is not 0, a second window records where (perf record, DWARF stacks).

The smoke run keeps the 200 Hz daemon, a dim at 0.3 on 5 lines and the fade,
with 1-2 s windows, and counts no allocations.
"""
import json
import os
import shutil
import time

from .analysis import duty_figures, pwm_window
from .common import NS_PER_MS, NS_PER_S, BenchError, log
from .harness import Daemon, allocation_stacks, count_allocations, counters_delta
from .phases import measure_idle

PWM_HZ = (200, 2000)
DIM_LEVEL = 0.3
# 25 levels that share no PWM edge: 0.02, 0.06, ..., 0.98.
DISTINCT_LEVELS = [round(0.02 + 0.04 * i, 4) for i in range(25)]
# A 100-line matrix: 4 rows of 25.
MATRIX = [[r * 25 + c for c in range(25)] for r in range(4)]
LINES = [o for row in MATRIX for o in row]
FADE_ROUND_S = 2  # fade up over 1 s, down over 1 s

# How each workload is started: (key, lines, how many programs, description).
DIMS = [
    ("dim1", 1, "one"),
    ("dim25", 25, "one"),
    ("dim100", 100, "one"),
    ("dim100p", 100, "each"),
    ("levels25", 25, "levels"),
]
SMOKE_DIMS = [("dim5", 5, "one")]


def dim_json(lines, level):
    return json.dumps({"dim": {"lines": lines, "level": level}}, separators=(",", ":"))


def fade_json(lines):
    up = {"fade": {"lines": lines, "from": 0, "to": 1, "over": "1s"}}
    down = {"fade": {"lines": lines, "from": 1, "to": 0, "over": "1s"}}
    return json.dumps({"forever": {"sequence": [up, down]}}, separators=(",", ":"))


def dim_programs(n, how):
    """(name, program) pairs to start, and line -> the level each line is set to."""
    lines = LINES[:n]
    if how == "one":
        return [("dim", dim_json(lines, DIM_LEVEL))], {o: DIM_LEVEL for o in lines}
    if how == "each":
        return ([(f"dim{o}", dim_json([o], DIM_LEVEL)) for o in lines],
                {o: DIM_LEVEL for o in lines})
    levels = dict(zip(lines, DISTINCT_LEVELS))
    body = ",".join(dim_json([o], lv) for o, lv in levels.items())
    return [("levels", '{"all":[' + body + "]}")], levels


def start_all(daemon, programs):
    for name, program in programs:
        answer = daemon.client.call("start", name, program)
        if not answer["ok"]:
            raise BenchError(f"Start({name}) failed: {' '.join(answer['extra'])}; program {program[:200]}")


def stop_all(daemon):
    answer = daemon.client.call("stopall")
    if not answer["ok"]:
        raise BenchError(f"StopAll failed: {answer}")
    time.sleep(0.1)  # the last dark edges written


def measure_window(daemon, warmup_s, window_s):
    """Counters over @window_s after @warmup_s: (delta, t_from, t_to)."""
    time.sleep(warmup_s)
    a = daemon.counters()
    time.sleep(window_s)
    b = daemon.counters()
    return counters_delta(a, b), a["t_ns"], b["t_ns"]


def take_trace(ctx, daemon, label, t_from, t_to):
    """The trace's figures in [t_from, t_to); then the trace is emptied (blinkd
    opens it O_APPEND), so that 2 kHz on 100 lines does not pile up in /dev/shm."""
    with open(daemon.trace_path) as f:
        window = pwm_window(f, t_from, t_to)
    if ctx.args.keep:
        shutil.copy(daemon.trace_path, os.path.join(ctx.workdir, f"{daemon.name}-{label}.trace"))
    os.truncate(daemon.trace_path, 0)
    return window


def cpu_figures(fig, delta, idle, n_lines):
    seconds = delta["t_ns"] / NS_PER_S
    idle_ns = idle["cpu_ns"] / idle["seconds"] * seconds if idle["seconds"] else 0
    cpu_ns = delta["cpu_ns"] - idle_ns
    fig["seconds"] = seconds
    fig["cpu_ms_per_s_raw"] = delta["cpu_ns"] / seconds / NS_PER_MS
    fig["cpu_ms_per_s"] = cpu_ns / seconds / NS_PER_MS
    fig["cpu_ms_per_s_per_line"] = fig["cpu_ms_per_s"] / n_lines
    fig["wakeups_per_s"] = delta["voluntary"] / seconds - idle["wakeups_per_s"]
    fig["cpu_per_wakeup_us"] = (delta["cpu_ns"] / delta["voluntary"] / 1000) if delta["voluntary"] else None
    fig["involuntary_switches"] = delta["nonvoluntary"]
    return fig


def run_dim(ctx, daemon, hz, idle, key, n, how, warmup_s, window_s):
    programs, levels = dim_programs(n, how)
    log(f"levels: {key} at {hz} Hz ({n} lines, {len(programs)} program{'s' if len(programs) > 1 else ''}, "
        f"{window_s}s)")
    start_all(daemon, programs)
    delta, t_from, t_to = measure_window(daemon, warmup_s, window_s)
    stop_all(daemon)
    window = take_trace(ctx, daemon, f"{key}", t_from, t_to)
    fig = duty_figures(window, levels, hz)
    fig["programs"] = len(programs)
    fig["level"] = DIM_LEVEL if how != "levels" else None
    fig["pwm_hz"] = hz
    return cpu_figures(fig, delta, idle, n)


def run_fade(ctx, daemon, hz, idle, warmup_s, window_s):
    lines = LINES[:25]
    log(f"levels: 25 lines fading at {hz} Hz ({window_s}s)")
    start_all(daemon, [("fade", fade_json(lines))])
    delta, t_from, t_to = measure_window(daemon, warmup_s, window_s)
    stop_all(daemon)
    window = take_trace(ctx, daemon, "fade25", t_from, t_to)
    seconds = window["window_ns"] / NS_PER_S
    fig = {
        "lines": len(lines),
        "pwm_hz": hz,
        "edges": window["edges"],
        "edges_per_s": window["edges"] / seconds,
        "batches_per_s": window["batches"] / seconds,
        "lines_edged": sum(1 for o in lines if window["lines"].get(o, {}).get("edges")),
    }
    return cpu_figures(fig, delta, idle, len(lines))


def run_allocations(ctx, daemon, hz, results_hz):
    """Steady-state allocation counts of 25 fading and 100 dimmed lines, after a warm-up."""
    seconds = 4
    for key, programs in (("fade25", [("fade", fade_json(LINES[:25]))]),
                          ("dim100", dim_programs(100, "one")[0])):
        log(f"levels: allocations, {key} at {hz} Hz ({seconds}s, perf uprobes)")
        start_all(daemon, programs)
        time.sleep(1.0)
        counts = count_allocations(daemon.pid, seconds)
        if counts is None:
            stop_all(daemon)
            why = ("allocations in steady state not counted: perf uprobes on libc's malloc are not "
                   "available here (needs perf, root and tracefs)")
            log(why)
            if why not in ctx.notes:
                ctx.notes.append(why)
            return
        counts["total"] = sum(counts.get(fn) or 0 for fn in ("malloc", "calloc", "realloc"))
        if counts["total"] > 0:
            log(f"levels: {counts['total']} allocations in steady state; recording where")
            stacks = allocation_stacks(daemon.pid, 2, ctx.workdir)
            if stacks:
                ctx.alloc_stacks[f"{key} at {hz} Hz"] = stacks
        stop_all(daemon)
        os.truncate(daemon.trace_path, 0)
        results_hz[f"alloc_{key}"] = counts


def allocation_control(daemon):
    """The probes' positive control: three List() calls, which allocate in sd-bus."""
    def calls():
        for _ in range(3):
            daemon.client.call("list")
    return count_allocations(daemon.pid, 2, during=calls)


def phase_levels(ctx, results):
    smoke = ctx.smoke
    if not hasattr(ctx, "alloc_stacks"):
        ctx.alloc_stacks = {}
    idle_s = 1 if smoke else 5
    window_s = 1 if smoke else 5
    warmup_s = 0.3 if smoke else 0.5
    fade_window_s = FADE_ROUND_S if smoke else 2 * FADE_ROUND_S
    out = results.setdefault("levels", {})
    for hz in (PWM_HZ[:1] if smoke else PWM_HZ):
        daemon = Daemon(ctx, f"levels-{hz}", {"pwm_hz": hz, "matrix": MATRIX})
        r = out[f"hz{hz}"] = {}
        try:
            log(f"levels: blinkd at {hz} Hz idle ({idle_s}s)")
            idle = measure_idle(daemon, idle_s)
            r["idle"] = idle
            for key, n, how in (SMOKE_DIMS if smoke else DIMS):
                r[key] = run_dim(ctx, daemon, hz, idle, key, n, how, warmup_s, window_s)
            r["fade25"] = run_fade(ctx, daemon, hz, idle, 1.0 if not smoke else 0.3, fade_window_s)
            if not smoke:
                run_allocations(ctx, daemon, hz, r)
                if hz == PWM_HZ[0] and "alloc_fade25" in r:
                    control = allocation_control(daemon)
                    if control:
                        control["total"] = sum(control.get(fn) or 0 for fn in ("malloc", "calloc", "realloc"))
                        out["alloc_control"] = control
        finally:
            daemon.close()
        if not ctx.args.keep:
            try:
                os.unlink(daemon.trace_path)
            except OSError:
                pass
