# SPDX-License-Identifier: MIT
"""bench/run: the timing and scale benchmark of blinkd (issue 7).

    bench/run [--runs 3] [--output FILE] [--choices] [--drift-minutes N]
    bench/run --full --results bench/RESULTS.md
    bench/run --smoke

It builds nothing and installs nothing: it runs the blinkd and bench-client of
a meson build dir (--build DIR, default ./build; or $BLINKD and $BENCH_CLIENT),
each blinkd with --chip sim --trace on a private dbus-daemon of its own, the
talk's asyncio blink() (bench/seed-blink.py) on the same workloads, and
cyclictest (Debian's rt-tests) at the same 10ms period, and prints one
Markdown table (also written to --output). See bench/README.md for what each
figure means and bench/RESULTS.md for a current run.
"""
import argparse
import json
import os
import signal
import sys

from .analysis import median_or_none
from .common import BenchError, log
from .phases import (Context, phase_choices, phase_cyclictest, phase_drift, phase_lines,
                     phase_lines_asyncio, phase_lines_floor, phase_programs, phase_seed,
                     phase_precision, phase_seed_asyncio, phase_seed_floor)
from .control import phase_control, phase_control_load
from .scale import phase_scale, scale_plot
from .startup import phase_startup
from .levels import phase_levels
from .report import (LEVELS_BEGIN, LEVELS_END, add_ratios, flatten, machine_info, render, render_choices,
                     render_header, render_issue17, render_levels, write_results)
from .smoke import smoke_check

PHASES = ["seed", "seed-floor", "seed-asyncio", "lines", "lines-floor", "lines-asyncio", "programs",
          "cyclictest", "startup", "precision", "levels", "control", "control-load", "scale"]
# Too long for the smoke run (meson test keeps it near 20 s): the full run only.
FULL_ONLY = ["control", "control-load", "scale"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few seconds: check that it runs and its figures are sane")
    parser.add_argument("--full", action="store_true",
                        help="what RESULTS.md holds: every phase, medians of 3 runs (--runs overrides)")
    parser.add_argument("--runs", type=int, default=None, help="repeat the workloads, report medians (RESULTS.md: 3)")
    parser.add_argument("--output", help="write the Markdown table here too")
    parser.add_argument("--results", help="replace the generated part of this Markdown file "
                        "(between the bench/run markers), keeping the prose around it")
    parser.add_argument("--json", help="write every figure of every run here")
    parser.add_argument("--choices", action="store_true",
                        help="also measure what each choice bought (timer slack, sd-event accuracy, allocations)")
    parser.add_argument("--drift-minutes", type=float, default=None,
                        help="run the seed's workload this long to look for drift (default 1; 0: skip; smoke: skip)")
    parser.add_argument("--only", help="comma-separated phases: " + ",".join(PHASES))
    parser.add_argument("--build", help="meson build dir with daemon/blinkd and bench/bench-client (default ./build)")
    parser.add_argument("--label", help="say what blinkd was built from (default: its build time and "
                        "the source tree's git describe)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (traces, logs)")
    args = parser.parse_args()

    drift_minutes = args.drift_minutes
    if drift_minutes is None:
        drift_minutes = 0 if args.smoke else 1
    if args.runs is None:
        args.runs = 3 if args.full else 1
    phases = args.only.split(",") if args.only else PHASES
    if args.smoke and not args.only:
        phases = [p for p in phases if p not in FULL_ONLY]
    unknown = set(phases) - set(PHASES) - {"drift", "choices"}
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")

    # Stopped from outside (SIGTERM, or SIGINT in a background job): clean up as on an error.
    def interrupted(signo, frame):
        raise BenchError(f"interrupted by signal {signo}")
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)

    try:
        ctx = Context(args)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    funcs = {
        "seed": phase_seed, "seed-floor": phase_seed_floor, "seed-asyncio": phase_seed_asyncio,
        "lines": phase_lines, "lines-floor": phase_lines_floor,
        "startup": phase_startup, "precision": phase_precision, "control": phase_control,
        "control-load": phase_control_load, "scale": phase_scale,
        "lines-asyncio": phase_lines_asyncio, "programs": phase_programs,
        "cyclictest": phase_cyclictest, "levels": phase_levels,
    }
    all_runs = []
    drift = None
    try:
        for run in range(args.runs):
            if args.runs > 1:
                log(f"run {run + 1} of {args.runs}")
            results = {}
            for phase in phases:
                if phase in funcs:
                    funcs[phase](ctx, results)
            if args.choices or "choices" in phases:
                phase_choices(ctx, results)
            all_runs.append(results)
        if drift_minutes > 0 and (not args.only or "drift" in phases):
            drift = phase_drift(ctx, drift_minutes)
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        # A full run's traces and logs are worth keeping; a smoke run's
        # leave nothing behind unless asked to.
        if args.smoke and not args.keep:
            ctx.cleanup()
            print("bench: run with --keep to keep the work dir", file=sys.stderr)
        else:
            print(f"bench: work dir kept: {ctx.workdir}", file=sys.stderr)
        return 1
    load = ctx.watch.finish()

    flats = [add_ratios(flatten(r)) for r in all_runs]
    keys = sorted(set().union(*flats)) if flats else []
    med = {k: median_or_none([f.get(k) for f in flats]) for k in keys}
    machine = machine_info()
    args.blinkd_path = ctx.blinkd
    args.blinkd_label = ctx.label
    args.policy_label = (f"SCHED_FIFO {ctx.rt_priority}, as blinkd.service runs it" if ctx.rt_priority
                         else "SCHED_OTHER, nice 0 (no privilege for the unit's SCHED_FIFO)")
    # The levels phase alone (--only levels) leaves the main tables out, and
    # --results then rewrites only the levels block of the file.
    only_levels = set(phases) <= {"levels"} and not args.choices and not drift
    levels_text = render_levels(med, getattr(ctx, "alloc_stacks", {}), ctx.notes)
    text = ""
    if not only_levels:
        text = render(med, len(all_runs), machine, load, drift, args)
        plot_dir = os.path.dirname(os.path.abspath(args.results or args.output or ctx.workdir + "/x"))
        plotted = scale_plot(med, os.path.join(plot_dir, "scale.png"))
        text += render_issue17(med, [n for n in ctx.notes if "allocations" not in n],
                               "scale.png" if plotted else None)
        if any(k.startswith("choice") for k in med) or args.choices:
            text += "\n### What each choice bought\n" + render_choices(med, args)
    # The levels block of --results carries the header of its own run.
    levels_block = ("\n".join(render_header(len(all_runs), machine, load, args)) + "\n" + levels_text
                    if levels_text else "")
    shown = text + (levels_block if only_levels else levels_text)
    print(shown)
    if args.output:
        with open(args.output, "w") as f:
            f.write(shown)
    if args.results:
        if text:
            write_results(args.results, text)
        if levels_block:
            write_results(args.results, levels_block, LEVELS_BEGIN, LEVELS_END)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "load": load, "runs": flats, "medians": med, "drift": drift}, f,
                      indent=1, default=str)
    ctx.cleanup()
    if args.smoke:
        problems = smoke_check(med, phases, ctx.skipped)
        for p in problems:
            print(f"bench: smoke: {p}", file=sys.stderr)
        if problems:
            return 1
        if ctx.skipped:
            # Not all of it could run here: meson's skip, with why.
            print("bench: smoke: every figure measured is sane, but SKIP: " + "; ".join(ctx.skipped))
            return 77
        print("bench: smoke: every figure measured and sane")
    return 0
