# SPDX-License-Identifier: MIT
"""bench/compare: two builds of blinkd, the same workloads, in one session.

A change that should cost nothing (a refactor) is measured against the
build before it: the seed's workload and 1000 lines at 10 ms, run for the
one build and then the other, pair after pair (A B A B ...), so that what
else loads the machine falls on both alike. Each pair gives a ratio (this
build ÷ the build before) of CPU per wakeup; the verdict is on the median
of those ratios, against the goals of issue 24 in goals.py.

When both builds have bench/engine-loop (the engine alone on its virtual
clock, the same two workloads), each pair also runs it for both builds:
the CPU an advance costs without the bus, the chips and most of what else
the machine does, which is what a change inside the engine moves. Its
ratios are judged by goals of their own.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

from .goals import GOAL, PASS, NO_FIGURE, verdict

WORKLOADS = ("seed", "lines")
FIGURE = "{w}.blinkd.cpu_per_wakeup_ns"
NAMES = {"seed": "the seed's workload", "lines": "1000 lines at 10 ms"}


def pair_ratios(before, after):
    """Per workload, the ratios after ÷ before of each pair (@before and
    @after: lists of flattened figures, one dict a run, in pair order);
    a pair that lacks either figure gives no ratio."""
    ratios = {}
    for w in WORKLOADS:
        key = FIGURE.format(w=w)
        ratios[w] = [a[key] / b[key] for b, a in zip(before, after)
                     if b.get(key) and a.get(key) is not None]
    return ratios


def summarise(before, after):
    """The figures of the comparison: per workload, the medians of each
    side (ns), the per-pair ratios and their median (None without a pair)."""
    ratios = pair_ratios(before, after)
    out = {}
    for w in WORKLOADS:
        key = FIGURE.format(w=w)
        b = [r[key] for r in before if r.get(key) is not None]
        a = [r[key] for r in after if r.get(key) is not None]
        out[w] = {
            "before_ns": statistics.median(b) if b else None,
            "after_ns": statistics.median(a) if a else None,
            "ratios": ratios[w],
            "ratio": statistics.median(ratios[w]) if ratios[w] else None,
        }
    return out


def render(summary, what="blinkd", goal_prefix="compare"):
    """Markdown: one row a workload, with the goal's verdict (@goal_prefix:
    "compare" for the daemon, "compare.engine" for the engine alone)."""
    lines = [f"| CPU per wakeup, {what} | before (median) | after (median) | after ÷ before, per pair | median "
             "| goal | verdict |",
             "|---|---|---|---|---|---|---|"]
    ok = True
    for w in WORKLOADS:
        s = summary[w]
        goal = GOAL[f"{goal_prefix}.{w}.cpu_per_wakeup"]
        v = verdict(goal, s["ratio"])
        ok = ok and v == PASS
        words = {PASS: "met", NO_FIGURE: "not measured"}.get(v, "**missed**")

        def us(ns):
            if ns is None:
                return "—"
            return f"{ns:.1f} ns" if ns < 1000 else f"{ns / 1000:.2f} µs"
        pairs = " ".join(f"{r:.3f}" for r in s["ratios"]) or "—"
        ratio = "—" if s["ratio"] is None else f"{s['ratio']:.3f}"
        lines.append(f"| {NAMES[w]} | {us(s['before_ns'])} | {us(s['after_ns'])} | {pairs} | {ratio} "
                     f"| {goal.text} | {words} |")
    return "\n".join(lines) + "\n", ok


def run_side(bench_run, build, out_prefix):
    subprocess.run([sys.executable, bench_run, "--build", build, "--only", ",".join(WORKLOADS),
                    "--drift-minutes", "0", "--json", out_prefix + ".json",
                    "--output", out_prefix + ".md"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(out_prefix + ".json") as f:
        return json.load(f)["runs"][0]


ENGINE_LINE = re.compile(r"^(\w+): .* ([0-9.]+) ns CPU per wakeup")


def parse_engine_loop(text):
    """bench/engine-loop's output as flattened figures, as bench/run's."""
    figures = {}
    for line in text.splitlines():
        m = ENGINE_LINE.match(line)
        if m and m.group(1) in WORKLOADS:
            figures[FIGURE.format(w=m.group(1))] = float(m.group(2))
    return figures


def run_engine_loop(build):
    out = subprocess.run([os.path.join(build, "bench", "engine-loop"), "--seconds", "200", "--rounds", "5"],
                         check=True, capture_output=True, text=True).stdout
    return parse_engine_loop(out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench/compare", description=__doc__.splitlines()[0])
    parser.add_argument("before", help="meson build dir of the build before")
    parser.add_argument("after", help="meson build dir of this build")
    parser.add_argument("--pairs", type=int, default=6, help="A B pairs to run (default 6)")
    parser.add_argument("--work", default=None, help="keep each run's JSON and Markdown here")
    parser.add_argument("--output", help="write the table here too")
    args = parser.parse_args(argv)
    bench_run = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run")
    work = args.work or os.path.join("/tmp", f"blinkd-compare.{os.getpid()}")
    os.makedirs(work, exist_ok=True)
    engine = all(os.access(os.path.join(b, "bench", "engine-loop"), os.X_OK) for b in (args.before, args.after))
    before, after, engine_before, engine_after = [], [], [], []
    for i in range(1, args.pairs + 1):
        before.append(run_side(bench_run, args.before, os.path.join(work, f"before-{i}")))
        after.append(run_side(bench_run, args.after, os.path.join(work, f"after-{i}")))
        if engine:
            engine_before.append(run_engine_loop(args.before))
            engine_after.append(run_engine_loop(args.after))
        print(f"pair {i} of {args.pairs} done", file=sys.stderr)
    table, ok = render(summarise(before, after))
    if engine:
        more, engine_ok = render(summarise(engine_before, engine_after), "the engine alone", "compare.engine")
        table += "\n" + more
        ok = ok and engine_ok
    else:
        table += "\nbench/engine-loop is missing from a build: the engine alone was not compared.\n"
    with open("/proc/loadavg") as f:
        table += f"\n{args.pairs} pairs; load average at the end: {' '.join(f.read().split()[:3])}\n"
    print(table, end="")
    if args.output:
        with open(args.output, "w") as f:
            f.write(table)
    return 0 if ok else 1
