# SPDX-License-Identifier: MIT
"""Persistence on a real filesystem: how long the daemon's loop is held while
persistent programs start and end and definitions come and go, with state.json
on a loop-mounted ext4 image (a real journal, real fsyncs), not a tmpfs.

A hold is what control.py calls one: from an epoll_wait's return to the next
one's call, seen through the kernel's syscall tracepoints with perf. Each call
type runs in a window of its own; its figure is the longest hold in the window.
The writer's result, which comes back to the loop after the call, falls in the
same window. Needs root (mount, perf on the tracepoints); without it, or
without perf, mkfs.ext4 or a loop device, it says why and exits 77.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import types

from .common import BenchError, log
from .control import PerfWaits, longest_hold, matrix_for
from .goals import GOAL, PASS, verdict
from .harness import Daemon, find_binaries, unit_realtime_priority
from .workloads import blink_json

SKIP = 77
CALL_TYPES = ["no call (timers only)", "persistent Start", "Define", "Undefine",
              "Stop of a persistent program (its end)"]


def skip(why):
    print(f"bench/persist-holds: skipped: {why}", file=sys.stderr)
    return SKIP


def persist_holds(ctx, population, repeats, gap_s):
    """Longest hold per call type with @population persistent programs in the
    store, each call type @repeats times, @gap_s apart."""
    config = {"matrix": matrix_for(100), "max_programs": 100000}
    # Each run begins with an empty store (Daemon keeps it beside its config).
    shutil.rmtree(os.path.join(ctx.workdir, "persist-state"), ignore_errors=True)
    daemon = Daemon(ctx, "persist", config, trace=False, realtime=True)
    perf = None
    windows = {}
    try:
        c = daemon.client
        for i in range(population):
            a = c.call("persist", f"kept{i:05d}", blink_json([i % 100], 5000 + i))
            if not a["ok"]:
                raise BenchError(f"persistent start failed: {a}; see {daemon.log_path}")
        perf = PerfWaits.start(daemon.pid, os.path.join(ctx.workdir, "persist.perf"))
        if perf is None:
            raise BenchError("perf could not record the daemon's epoll waits")
        answers = []
        actions = {
            "no call (timers only)": lambda i: time.sleep(0.01),
            "persistent Start": lambda i: answers.append(
                c.call("persist", f"new{i:04d}", blink_json([i % 100], 1000))),
            "Define": lambda i: answers.append(c.call("define", f"def{i:04d}", '{"wait":"1s"}')),
            "Undefine": lambda i: answers.append(c.call("undefine", f"def{i:04d}")),
            "Stop of a persistent program (its end)": lambda i: answers.append(
                c.call("stop", f"new{i:04d}")),
        }
        for call in CALL_TYPES:
            t_from = time.monotonic_ns()
            for i in range(repeats):
                actions[call](i)
                time.sleep(gap_s)
            time.sleep(0.1)  # the last write's result comes back inside the window
            windows[call] = (t_from, time.monotonic_ns())
        failed = [a for a in answers if not a["ok"]]
        if failed:
            raise BenchError(f"{len(failed)} calls failed, the first: {failed[0]}")
        replies = sorted(a["reply"] - a["sent"] for a in answers)
    finally:
        holds = perf.stop() if perf else None
        daemon.close()
    fig = {call: longest_hold(holds, *windows[call]) for call in CALL_TYPES}
    fig["answer_p50_ns"] = replies[len(replies) // 2]
    fig["answer_max_ns"] = replies[-1]
    return fig


def median(values):
    values = sorted(v for v in values if v is not None)
    return values[len(values) // 2] if values else None


def fmt_ms(ns):
    return "—" if ns is None else f"{ns / 1e6:.2f} ms"


def holds_verdict(worst):
    """The sentence that judges @worst, the longest hold by any call (ns)."""
    goal = GOAL["persist.hold_max"]
    met = "met" if verdict(goal, worst) == PASS else "not met"
    return f"Longest hold by any call: {fmt_ms(worst)} ({met}: {goal.text})."


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="bench/persist-holds", description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", help="the build directory (default: build), or $BLINKD")
    parser.add_argument("--label", default="", help="what blinkd this is, for the table")
    parser.add_argument("--population", type=int, default=500,
                        help="persistent programs in the store while measuring (default 500)")
    parser.add_argument("--repeats", type=int, default=40, help="calls of each type (default 40)")
    parser.add_argument("--gap-ms", type=float, default=20, help="time between calls (default 20)")
    parser.add_argument("--image-mb", type=int, default=256, help="size of the ext4 image (default 256)")
    parser.add_argument("--runs", type=int, default=3, help="runs; each figure is their median (default 3)")
    args = parser.parse_args(argv)

    if os.geteuid() != 0:
        return skip("needs root, to mount an ext4 image and record the syscall tracepoints")
    for tool in ("mkfs.ext4", "mount", "umount", "perf"):
        if not shutil.which(tool):
            return skip(f"{tool} is not installed")
    try:
        blinkd, client = find_binaries(argparse.Namespace(build=args.build))
    except BenchError as e:
        print(f"bench/persist-holds: {e}", file=sys.stderr)
        return 1

    top = tempfile.mkdtemp(prefix="blinkd-persist.")
    image, mnt = os.path.join(top, "ext4.img"), os.path.join(top, "mnt")
    os.mkdir(mnt)
    mounted = False
    try:
        with open(image, "wb") as f:
            f.truncate(args.image_mb << 20)
        subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True, capture_output=True)
        r = subprocess.run(["mount", "-o", "loop", image, mnt], capture_output=True, text=True)
        if r.returncode != 0:
            return skip(f"cannot loop-mount an ext4 image here: {r.stderr.strip()}")
        mounted = True
        # blinkd at blinkd.service's SCHED_FIFO, as the control plane's holds are
        # measured: on a shared machine a normal process's holds are mostly
        # other processes' time slices.
        ctx = types.SimpleNamespace(workdir=mnt, blinkd=blinkd, client=client,
                                    rt_priority=unit_realtime_priority(),
                                    watch=types.SimpleNamespace(own=set()))
        log(f"persistence holds: {args.population} persistent programs in the store on ext4, "
            f"{args.repeats} calls a type, {args.gap_ms} ms apart")
        figs = []
        for run in range(args.runs):
            log(f"run {run + 1} of {args.runs}")
            figs.append(persist_holds(ctx, args.population, args.repeats, args.gap_ms / 1000))
        fig = {k: median([f[k] for f in figs]) for k in figs[0]}
    except (BenchError, subprocess.CalledProcessError) as e:
        print(f"bench/persist-holds: {e}", file=sys.stderr)
        return 1
    finally:
        if mounted:
            subprocess.run(["umount", mnt], check=False)
        shutil.rmtree(top, ignore_errors=True)

    worst = max(v for k, v in fig.items() if k in CALL_TYPES and k != CALL_TYPES[0] and v is not None)
    policy = f"SCHED_FIFO {ctx.rt_priority}" if ctx.rt_priority else "SCHED_OTHER"
    print(f"Longest hold of the loop by call type, {args.population} persistent programs in "
          f"state.json on a loop-mounted ext4 image, blinkd at {policy}"
          f"{'; ' + args.label if args.label else ''}:")
    print()
    print(f"(medians of {args.runs} runs of {args.repeats} calls a type; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end)")
    print()
    print("| call | longest hold |")
    print("|---|---|")
    for call in CALL_TYPES:
        print(f"| {call} | {fmt_ms(fig[call])} |")
    print()
    print(f"{holds_verdict(worst)} "
          f"Answers: median {fmt_ms(fig['answer_p50_ns'])}, longest {fmt_ms(fig['answer_max_ns'])}.")
    return 0
