# SPDX-License-Identifier: MIT
"""The scale curve: lateness p99, CPU per edge and RSS per program from 1 to
100,000 programs.

Program i blinks line i of its own (a sim chip with one line per program), so
every program's edges are its own and the trace says which program was late.
The edge rate is held near constant: program i's interval is base * (1 + i/N)
with base = max(100 ms, N * 5 ms), so from 20 programs up the daemon writes
about 140 edges a second whatever N is. What grows with N is then the
population the loop keeps (heap depth, memory touched per wakeup), not the
work asked of it, and CPU per edge shows what the population costs; with a
fixed interval 100,000 programs would ask for 100,000s of wakeups a second,
which measures the machine's saturation, not the daemon's scaling.

blinkd drives at most 65,536 lines, so at 100,000 programs the first 50,000
blink a line each and the other 50,000 wait an hour: the heap and the memory
hold 100,000 tasks, and the edges stay attributable to one program each
(programs sharing a line would OR their edges together).
"""
import importlib.util
import json
import os
import subprocess
import sys
import time

from .analysis import analyse_edges, read_trace
from .common import BENCH_DIR, NS_PER_MS, BenchError, log
from .control import matrix_for, start_population
from .harness import Daemon, counters_delta
from .workloads import blink_json

SCALE_SIZES = (1, 10, 100, 1000, 10000, 100000)
SCALE_MAX_LINES = 50000


def scale_interval_ms(i, n):
    base = max(100, 5 * n)
    return base + (base * i) // n


def scale_phase_ms(i, interval_ms):
    """A fixed spread of program i's phase over its interval: all start within a
    few seconds, and without it no edge of an interval of minutes would fall
    in the window."""
    return 1 + (i * 7919) % 1000 * interval_ms // 1000  # a wait of 0 is no duration


def scale_programs(n):
    """(name -> program, offset -> interval ns, offset -> phase ns): the first
    min(n, SCALE_MAX_LINES) wait their phase, then blink a line each; the rest wait."""
    blinking = min(n, SCALE_MAX_LINES)
    programs, intervals, phases = {}, {}, {}
    for i in range(n):
        if i < blinking:
            interval = scale_interval_ms(i, blinking)
            phase = scale_phase_ms(i, interval)
            programs[f"p{i:06d}"] = (f'{{"sequence":[{{"wait":"{phase}ms"}},'
                                     f'{blink_json([i], interval)}]}}')
            intervals[i] = interval * NS_PER_MS
            phases[i] = phase * NS_PER_MS
        else:
            programs[f"p{i:06d}"] = '{"wait":"1h"}'
    return programs, intervals, phases


def phase_scale(ctx, results, sizes=SCALE_SIZES, window_s=10):
    for n in sizes:
        log(f"scale: {n} programs, one line each, about 140 edges a second in all")
        results[f"scale.{n}"] = scale_point(ctx, n, window_s)


def scale_point(ctx, n, window_s):
    programs, intervals, phases = scale_programs(n)
    daemon = Daemon(ctx, f"scale-{n}", {"matrix": matrix_for(len(intervals)), "max_programs": 100000})
    fig = {"programs": n}
    try:
        before = daemon.counters()
        fig["ramp_s"] = start_population(ctx, daemon, programs, f"scale-{n}")
        from .phases import program_starts
        try:
            started = program_starts(daemon)
            # Each blink's timeline begins its phase after the program's start.
            starts = {i: started[f"p{i:06d}"] + phases[i] for i in intervals}
        except (BenchError, KeyError, OSError) as e:
            # Without the start instants each line's first edge is its reference.
            log(f"scale: no start instants for {n} programs ({e}); lateness against first edges")
            starts = None
        time.sleep(1.0)
        t_from = time.monotonic_ns()
        a = daemon.counters()
        time.sleep(window_s)
        b = daemon.counters()
        t_to = time.monotonic_ns()
    finally:
        daemon.close()
    lines = read_trace(daemon.trace_path, t_to=t_to)
    fig.update(analyse_edges(lines, intervals, applied=True, t_from=t_from, t_to=t_to, starts=starts))
    fig.pop("_per_time", None)
    fig["reference"] = 1 if starts else 0
    d = counters_delta(a, b)
    fig["cpu_ns"] = d["cpu_ns"]
    fig["cpu_per_edge_ns"] = d["cpu_ns"] / fig["edges"] if fig["edges"] else None
    fig["wakeups"] = d["voluntary"]
    fig["cpu_per_wakeup_ns"] = d["cpu_ns"] / d["voluntary"] if d["voluntary"] else None
    fig["rss_before"] = before["VmRSS"]
    fig["rss_running"] = b["VmRSS"]
    fig["rss_per_program"] = (b["VmRSS"] - before["VmRSS"]) / n
    fig["peak_rss"] = b.get("VmHWM")
    return fig


def scale_plot(med, path):
    """Write the scale curve as a PNG with matplotlib, in this Python or else in
    Debian's (/usr/bin/python3, where python3-matplotlib installs). Returns
    whether a plot was written."""
    points = {}
    for n in SCALE_SIZES:
        if med.get(f"scale.{n}.cpu_per_edge_ns") is None:
            continue
        points[n] = [med.get(f"scale.{n}.lateness.p99"), med.get(f"scale.{n}.cpu_per_edge_ns"),
                     med.get(f"scale.{n}.rss_per_program")]
    if not points:
        return False
    if importlib.util.find_spec("matplotlib") is None:
        debian = "/usr/bin/python3"
        if not os.access(debian, os.X_OK) or os.path.realpath(sys.executable) == os.path.realpath(debian):
            return False
        code = ("import json, sys; sys.path.insert(0, sys.argv[1]); from blinkbench.scale import draw_plot; "
                "draw_plot({int(k): v for k, v in json.loads(sys.argv[2]).items()}, sys.argv[3])")
        r = subprocess.run([debian, "-c", code, BENCH_DIR, json.dumps(points), path], capture_output=True)
        return r.returncode == 0
    draw_plot(points, path)
    return True


def draw_plot(points, path):
    """@points: programs -> [lateness p99 ns, CPU per edge ns, RSS per program bytes]."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ns = sorted(points)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    series = [("lateness p99 (µs)", 0, 1e-3), ("CPU per edge (µs)", 1, 1e-3), ("RSS per program (bytes)", 2, 1)]
    for ax, (title, index, scale) in zip(axes, series):
        ys = [points[n][index] for n in ns]
        ax.plot(ns, [y * scale if y is not None else float("nan") for y in ys], marker="o")
        ax.set_xscale("log")
        ax.set_xlabel("programs")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_ylim(bottom=0)
    fig.suptitle("blinkd: scale curve (about 140 edges/s from 20 programs up)")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
