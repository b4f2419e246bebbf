# SPDX-License-Identifier: MIT
"""The phases of a run: each starts what it needs, runs one workload, returns figures."""
import bisect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from .analysis import analyse_edges, drift_figures, find_stalls, read_trace, schedule_check, summary
from .common import BENCH_DIR, SOURCE_ROOT, BenchError, NS_PER_MS, NS_PER_S, log
from .harness import (Daemon, LoadWatch, _set_fifo, count_allocations, counters_delta, cyclictest,
                      find_binaries, find_floor, run_floor, unit_realtime_priority)
from .workloads import (SEED_MATRIX, blink_json, floor_arguments, lines_workload, seed_workload,
                        workload_end_s, workload_expected_edges, workload_intervals, workload_program)

# An edge later than this is part of a stall (find_stalls): a tenth of the
# shortest interval the workloads use.
STALL_THRESHOLD_NS = 1 * NS_PER_MS

# ------------------------------------------------------------------ phases
class Context:
    def __init__(self, args):
        self.args = args
        self.smoke = args.smoke
        self.blinkd, self.client = find_binaries(args)
        self.floor = find_floor(args)
        self.workdir = tempfile.mkdtemp(prefix="blinkd-bench.",
                                        dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
        self.watch = LoadWatch()
        # blinkd runs at the scheduling policy of blinkd.service, cyclictest
        # (the floor) at the same; the asyncio seed as a normal process, as
        # in the talk. Without the privilege for it, everything runs normal.
        self.rt_priority = unit_realtime_priority()
        if self.rt_priority:
            try:
                subprocess.run(["true"], preexec_fn=_set_fifo(self.rt_priority), check=True)
            except (OSError, subprocess.SubprocessError):
                log(f"cannot run blinkd SCHED_FIFO {self.rt_priority} as blinkd.service does "
                    "(not root?); blinkd and cyclictest run as normal processes")
                self.rt_priority = None
        # cyclictest insists on the right to realtime scheduling even for a
        # SCHED_OTHER thread; without it that phase is skipped, and said so.
        self.skipped = []
        self.notes = []  # what a full run could not measure here, said in the report
        try:
            subprocess.run(["true"], preexec_fn=_set_fifo(1), check=True)
            self.realtime_allowed = True
        except (OSError, subprocess.SubprocessError):
            self.realtime_allowed = False
        # What blinkd was built from, as of the start (the tree may move meanwhile).
        if args.label:
            self.label = args.label
        else:
            try:
                commit = subprocess.run(["git", "-C", SOURCE_ROOT, "describe", "--always", "--dirty"],
                                        capture_output=True, text=True, timeout=10).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                commit = ""
            built = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.stat(self.blinkd).st_mtime))
            self.label = f"built {built}; source tree at {commit or '?'} when the benchmark started"

    def cleanup(self):
        if not self.args.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


def measure_idle(daemon, seconds):
    """Context switches of the daemon with nothing running: each one is a wakeup."""
    time.sleep(0.5)  # let the start-up settle (name requests, ready notification)
    a = daemon.counters()
    time.sleep(seconds)
    b = daemon.counters()
    d = counters_delta(a, b)
    return {
        "seconds": d["t_ns"] / NS_PER_S,
        "wakeups": d["voluntary"],
        "wakeups_per_s": d["voluntary"] / (d["t_ns"] / NS_PER_S),
        "cpu_ns": d["cpu_ns"],
        "threads": b["threads"],
    }


def run_blinkd_workload(daemon, workload, name, all_lines=False):
    """Start the workload as one program, wait until it ended, measure."""
    program = workload_program(workload, all_lines)
    a = daemon.counters()
    answer = daemon.client.call("start", name, program)
    if not answer["ok"]:
        raise BenchError(f"Start({name}) failed: {answer}")
    starts = program_starts(daemon)
    end = answer["reply"] + int((workload_end_s(workload) + 0.3) * NS_PER_S)
    while time.monotonic_ns() < end:
        time.sleep(min(0.5, (end - time.monotonic_ns()) / NS_PER_S + 0.001))
    b = daemon.counters()
    # Two of the daemon's wakeups are the bench's own calls: Start and GetManagedObjects.
    return {"start_sent": answer["sent"], "end": end, "delta": counters_delta(a, b), "after": b,
            "start_ns": starts[name], "bus_calls": 2}


def program_starts(daemon):
    """name -> the CLOCK_MONOTONIC ns at which each running program's timeline began."""
    path = os.path.join(daemon.ctx.workdir, f"{daemon.name}.started")
    answer = daemon.client.call("started", path)
    if not answer["ok"]:
        raise BenchError(f"GetManagedObjects failed: {answer}")
    starts = {}
    with open(path) as f:
        for line in f:
            name, ns = line.split()
            starts[name] = int(ns)
    return starts


def blinkd_figures(trace_lines, workload, run, t_to=None):
    intervals, ends = workload_intervals(workload)
    starts = {offset: run["start_ns"] for offset in intervals}
    fig = analyse_edges(trace_lines, intervals, applied=True, t_to=t_to, end_deadlines=ends,
                        starts=starts)
    by_first = analyse_edges(trace_lines, intervals, applied=True, t_to=t_to)
    fig["lateness_first_edge"] = by_first["lateness"]
    fig["drift_first_edge_ns"] = by_first["drift_ns"]
    schedule_figures(fig, trace_lines, workload)
    d = run["delta"]
    fig["cpu_ns"] = d["cpu_ns"]
    fig["cpu_per_edge_ns"] = d["cpu_ns"] / fig["edges"] if fig["edges"] else None
    fig["wakeups"] = d["voluntary"]
    fig["bus_calls"] = run["bus_calls"]
    fig["timer_wakeups"] = d["voluntary"] - run["bus_calls"]
    fig["cpu_per_wakeup_ns"] = d["cpu_ns"] / d["voluntary"] if d["voluntary"] else None
    fig["seconds"] = d["t_ns"] / NS_PER_S
    fig["cpu_per_s_ns"] = d["cpu_ns"] / fig["seconds"] if fig["seconds"] else None
    fig["peak_rss"] = run["after"].get("VmHWM")
    fig["wakeups_per_deadline"] = (fig["timer_wakeups"] / fig["distinct_deadlines"]
                                   if fig["distinct_deadlines"] else None)
    return fig


def schedule_figures(fig, trace_lines, workload):
    """Whether the trace holds the schedule's edges, and the stalls in it."""
    problems = schedule_check(trace_lines, workload_expected_edges(workload), fig["lost_edges"])
    fig["schedule_mismatches"] = len(problems)
    fig["_schedule_problems"] = problems
    fig["scheduled_edges"] = sum(workload_expected_edges(workload).values())
    fig["stalls"] = find_stalls(fig["_per_time"], STALL_THRESHOLD_NS)


def floor_figures(ctx, workload, name):
    """Run the floor on @workload and analyse its trace as blinkd's."""
    trace_path = os.path.join(ctx.workdir, f"{name}.trace")
    run = run_floor(ctx, floor_arguments(workload), trace_path)
    intervals, ends = workload_intervals(workload)
    lines = read_trace(trace_path)
    fig = analyse_edges(lines, intervals, applied=True, end_deadlines=ends,
                        starts={offset: run["start_ns"] for offset in intervals})
    schedule_figures(fig, lines, workload)
    fig["cpu_ns"] = run["cpu_ns"]
    fig["wakeups"] = run["wakeups"]
    fig["cpu_per_edge_ns"] = run["cpu_ns"] / fig["edges"] if fig["edges"] else None
    fig["cpu_per_wakeup_ns"] = run["cpu_ns"] / run["wakeups"] if run["wakeups"] else None
    return fig


def phase_seed_floor(ctx, results):
    duration = 2 if ctx.smoke else 10
    log(f"seed workload on the floor ({duration}s)")
    results["seed.floor"] = floor_figures(ctx, seed_workload(duration), "seed-floor")


def phase_lines_floor(ctx, results):
    workload = lines_setup(ctx)
    log(f"{len(workload['blinks'][0][0])} lines at 10ms on the floor")
    results["lines.floor"] = floor_figures(ctx, workload, "lines-floor")


def phase_precision(ctx, results):
    """The seed's workload with "precision": "spin" (armed early, the last stretch
    waited out on the clock); skipped, and said so, while the daemon refuses the key."""
    duration = 2 if ctx.smoke else 10
    workload = seed_workload(duration)
    log(f"seed workload on blinkd with \"precision\": \"spin\" ({duration}s)")
    try:
        daemon = Daemon(ctx, "precision", {"matrix": SEED_MATRIX, "precision": "spin"})
    except BenchError as e:
        if "precision" not in str(e):
            raise
        why = 'precision mode not measured: this blinkd refuses the configuration key "precision"'
        log(why)
        ctx.notes.append(why)
        return
    try:
        run = run_blinkd_workload(daemon, workload, "seed")
    finally:
        daemon.close()
    results["precision.spin"] = blinkd_figures(read_trace(daemon.trace_path), workload, run)


def phase_seed(ctx, results):
    """Idle wakeups, the seed's workload, and Start -> first edge, on the talk's matrix."""
    duration = 2 if ctx.smoke else 10
    workload = seed_workload(duration)
    daemon = Daemon(ctx, "seed", {"matrix": SEED_MATRIX})
    try:
        log("idle wakeups")
        results["idle"] = measure_idle(daemon, 1.5 if ctx.smoke else 5)
        log(f"seed workload on blinkd ({duration}s)")
        run = run_blinkd_workload(daemon, workload, "seed")
        t_seed_end = time.monotonic_ns()
        log("Start -> first edge")
        starts = start_latency(daemon, 50 if ctx.smoke else 1000)
    finally:
        daemon.close()
    lines = read_trace(daemon.trace_path, t_to=t_seed_end)
    results["seed.blinkd"] = blinkd_figures(lines, workload, run)
    results["start_latency"] = start_latency_figures(daemon.trace_path, t_seed_end, starts)


def start_latency(daemon, n):
    """n Start() calls, one after another, each lighting a dark line of the matrix for 1ms."""
    offsets = [o for row in SEED_MATRIX for o in row]
    calls, errors = [], []
    for i in range(n):
        offset = offsets[i % len(offsets)]
        program = json.dumps({"on": {"lines": [offset], "for": "1ms"}}, separators=(",", ":"))
        answer = daemon.client.call("start", f"s{i}", program)
        if answer["ok"]:
            calls.append((offset, answer["sent"], answer["reply"]))
        else:
            # A failed Start is a finding, not a reason to stop measuring: counted, shown.
            errors.append(f"s{i}: {' '.join(answer['extra'])}")
            log(f"Start(s{i}) failed: {' '.join(answer['extra'])}")
        time.sleep(0.002)
    time.sleep(0.05)
    return calls, errors


def start_latency_figures(trace_path, t_from, started):
    calls, errors = started
    lines = read_trace(trace_path, t_from=t_from)
    lit = {o: [t for t, v in edges if v == 1] for o, edges in lines.items()}
    to_edge, reply_after_edge, missing = [], [], 0
    for offset, sent, reply in calls:
        times = lit.get(offset, [])
        i = bisect.bisect_left(times, sent)
        if i == len(times):
            missing += 1
            continue
        to_edge.append(times[i] - sent)
        reply_after_edge.append(reply - times[i])
    return {
        "starts": len(calls),
        "failed_starts": len(errors),
        "_errors": errors[:5],
        "missing_edges": missing,
        "call_to_edge": summary(to_edge),
        "reply_after_edge": summary(reply_after_edge),
    }


def seed_python():
    """Debian's Python 3 runs the seed, as the talk's would; not a pyenv or venv one on PATH."""
    return "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable


def run_asyncio(ctx, workload, name):
    path = os.path.join(ctx.workdir, f"{name}.workload.json")
    out = os.path.join(ctx.workdir, f"{name}.result.json")
    blinks = [(lines, interval_ms / 1000.0, times) for lines, interval_ms, times in workload["blinks"]]
    with open(path, "w") as f:
        json.dump({"matrix": workload["matrix"], "blinks": blinks}, f)
    proc = subprocess.Popen([seed_python(), os.path.join(BENCH_DIR, "seed-blink.py"), path, out])
    ctx.watch.own.add(proc.pid)
    try:
        rc = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if rc != 0:
        raise BenchError("seed-blink.py failed")
    with open(out) as f:
        result = json.load(f)
    lines = {}
    for t, offset, value in result["edges"]:
        lines.setdefault(offset, []).append((t, value))
    intervals, _ = workload_intervals(workload)
    fig = analyse_edges(lines, intervals, applied=False)
    fig["cpu_ns"] = result["cpu_ns"]
    fig["cpu_per_edge_ns"] = result["cpu_ns"] / fig["edges"] if fig["edges"] else None
    fig["wakeups"] = result["voluntary_ctxt_switches"]
    fig["cpu_per_wakeup_ns"] = result["cpu_ns"] / fig["wakeups"] if fig["wakeups"] else None
    fig["seconds"] = result["wall_ns"] / NS_PER_S
    return fig


def phase_seed_asyncio(ctx, results):
    duration = 2 if ctx.smoke else 10
    log(f"seed workload on asyncio ({duration}s)")
    results["seed.asyncio"] = run_asyncio(ctx, seed_workload(duration), "seed-asyncio")


def lines_setup(ctx):
    if ctx.smoke:
        return lines_workload(100, 10, 1)
    return lines_workload(1000, 10, 10)


def phase_lines(ctx, results):
    workload = lines_setup(ctx)
    n = len(workload["blinks"][0][0])
    log(f"{n} lines at 10ms on blinkd")
    daemon = Daemon(ctx, "lines", {"matrix": workload["matrix"]})
    try:
        run = run_blinkd_workload(daemon, workload, "lines", all_lines=True)
    finally:
        daemon.close()
    results["lines.blinkd"] = blinkd_figures(read_trace(daemon.trace_path), workload, run)


def phase_lines_asyncio(ctx, results):
    workload = lines_setup(ctx)
    log(f"{len(workload['blinks'][0][0])} lines at 10ms on asyncio")
    results["lines.asyncio"] = run_asyncio(ctx, workload, "lines-asyncio")


def programs_setup(ctx):
    if ctx.smoke:
        return 500, 20      # programs, matrix columns
    return 10000, 100


def phase_programs(ctx, results):
    """10,000 running programs, one blink each at 100ms..1s, on a sim chip of 10,000 lines."""
    n, cols = programs_setup(ctx)
    window_s = 2 if ctx.smoke else 10
    matrix = [[r * cols + c for c in range(cols)] for r in range(n // cols)]
    intervals = {}
    feed = os.path.join(ctx.workdir, "programs.feed")
    programs = {}
    with open(feed, "w") as f:
        for i in range(n):
            interval_ms = 100 + (i * 900) // max(1, n - 1)
            intervals[i] = interval_ms * NS_PER_MS
            programs[i] = blink_json([i], interval_ms)
            f.write(f"p{i:05d}\t{programs[i]}\n")
    log(f"{n} programs on blinkd")
    daemon = Daemon(ctx, "programs", {"matrix": matrix, "max_programs": max(1024, 2 * n)})
    fig = {}
    try:
        before = daemon.counters()
        ramp_out = os.path.join(ctx.workdir, "programs.starts")
        answer = daemon.client.call("startmany", feed, 64, ramp_out)
        if not answer["ok"] or int(answer["extra"][1]) != 0:
            raise BenchError(f"starting {n} programs failed: {answer}; see {ramp_out}")
        fig["ramp_s"] = (answer["reply"] - answer["sent"]) / NS_PER_S
        fig["programs"] = n
        started = program_starts(daemon)
        starts = {i: started[f"p{i:05d}"] for i in range(n)}
        time.sleep(1.0)
        t_from = time.monotonic_ns()
        a = daemon.counters()
        time.sleep(window_s)
        b = daemon.counters()
        t_to = time.monotonic_ns()

        # Answer times with n programs running: Stop and Start again, List.
        stop_times, start_times, list_times = [], [], []
        n_api = 10 if ctx.smoke else 100
        for i in range(n_api):
            idx = (i * 97) % n
            r = daemon.client.call("stop", f"p{idx:05d}")
            if not r["ok"]:
                raise BenchError(f"Stop(p{idx:05d}) failed")
            stop_times.append(r["reply"] - r["sent"])
            time.sleep(0.003)
            r = daemon.client.call("start", f"p{idx:05d}", programs[idx])
            if not r["ok"]:
                raise BenchError(f"Start(p{idx:05d}) failed")
            start_times.append(r["reply"] - r["sent"])
            time.sleep(0.003)
        for i in range(5 if ctx.smoke else 20):
            r = daemon.client.call("list")
            if not r["ok"] or int(r["extra"][0]) != n:
                raise BenchError(f"List() failed or listed {r['extra']} instead of {n}")
            list_times.append(r["reply"] - r["sent"])
            time.sleep(0.01)
        if ctx.args.choices:
            fig["allocations"] = count_allocations(daemon.pid, 2 if ctx.smoke else 5)
        end = daemon.counters()
    finally:
        daemon.close()
    lines = read_trace(daemon.trace_path, t_to=t_to)
    fig.update(analyse_edges(lines, intervals, applied=True, t_from=t_from, t_to=t_to, starts=starts))
    by_first = analyse_edges(lines, intervals, applied=True, t_from=t_from, t_to=t_to)
    fig["lateness_first_edge"] = by_first["lateness"]
    d = counters_delta(a, b)
    fig["cpu_ns"] = d["cpu_ns"]
    fig["cpu_per_edge_ns"] = d["cpu_ns"] / fig["edges"] if fig["edges"] else None
    fig["wakeups"] = d["voluntary"]
    fig["cpu_per_wakeup_ns"] = d["cpu_ns"] / d["voluntary"] if d["voluntary"] else None
    fig["seconds"] = d["t_ns"] / NS_PER_S
    fig["wakeups_per_deadline"] = fig["wakeups"] / fig["distinct_deadlines"] if fig["distinct_deadlines"] else None
    fig["rss_before"] = before["VmRSS"]
    fig["rss_running"] = b["VmRSS"]
    fig["rss_growth_in_window"] = b["VmRSS"] - a["VmRSS"]
    fig["peak_rss"] = end["VmHWM"]
    fig["bytes_per_program"] = (b["VmRSS"] - before["VmRSS"]) / n
    fig["vmdata_per_program"] = (b["VmData"] - before["VmData"]) / n
    fig["stop_answer"] = summary(stop_times)
    fig["start_answer"] = summary(start_times)
    fig["list_answer"] = summary(list_times)
    results["programs.blinkd"] = fig



def phase_cyclictest(ctx, results):
    seconds = 1 if ctx.smoke else 10
    if not shutil.which("cyclictest"):
        log("cyclictest is missing: apt-get install rt-tests")
        return
    if not ctx.realtime_allowed:
        why = ("cyclictest not run: it needs the right to realtime scheduling "
               "(root, or an RLIMIT_RTPRIO above 0), which this user lacks")
        log(why)
        ctx.skipped.append(why)
        return
    log(f"cyclictest, 10ms, timer slack 1ns ({seconds}s)")
    results["cyclictest"] = cyclictest(ctx, 1, seconds)
    if not ctx.smoke:
        log(f"cyclictest, 10ms, default timer slack ({seconds}s)")
        results["cyclictest.default_slack"] = cyclictest(ctx, None, seconds)


def phase_drift(ctx, minutes):
    """The seed's 25 blinks, forever, for @minutes: does lateness grow?"""
    workload = seed_workload(1)
    forever = {"matrix": SEED_MATRIX,
               "blinks": [(l, i, None) for l, i, _ in workload["blinks"]]}
    log(f"drift: the seed's workload on blinkd for {minutes} minutes")
    daemon = Daemon(ctx, "drift", {"matrix": SEED_MATRIX})
    try:
        program = workload_program(forever)
        answer = daemon.client.call("start", "drift", program)
        if not answer["ok"]:
            raise BenchError("Start(drift) failed")
        start_ns = program_starts(daemon)["drift"]
        end = answer["reply"] + int(minutes * 60 * NS_PER_S)
        while time.monotonic_ns() < end:
            time.sleep(min(5.0, max(0.001, (end - time.monotonic_ns()) / NS_PER_S)))
        daemon.client.call("stopall")
    finally:
        daemon.close()
    return drift_figures(read_trace(daemon.trace_path, t_to=end), forever, minutes, start_ns)



# ----------------------------------------------------- what each choice bought
# (label, the daemon's environment, whether it runs at the unit's realtime policy)
CHOICES = [
    ("shipped: slack 1ns, accuracy 1us, the unit's SCHED_FIFO", {}, True),
    ("normal scheduling (SCHED_OTHER, nice 0) instead of SCHED_FIFO", {}, False),
    ("timer slack 50us (the kernel's default)", {"BLINKD_TIMER_SLACK_NSEC": "50000"}, True),
    ("sd-event accuracy 1ms", {"BLINKD_TIMER_ACCURACY_USEC": "1000"}, True),
    ("sd-event accuracy 250ms (its default)", {"BLINKD_TIMER_ACCURACY_USEC": "250000"}, True),
    ("both defaults: slack 50us, accuracy 250ms",
     {"BLINKD_TIMER_SLACK_NSEC": "50000", "BLINKD_TIMER_ACCURACY_USEC": "250000"}, True),
]


def phase_choices(ctx, results):
    duration = 2 if ctx.smoke else 10
    for i, (label, env, realtime) in enumerate(CHOICES):
        for kind, workload in (("seed", seed_workload(duration)), ("lines", lines_setup(ctx))):
            log(f"choice: {label}, {kind}")
            daemon = Daemon(ctx, f"choice{i}-{kind}", {"matrix": workload["matrix"]}, env,
                            realtime=realtime)
            try:
                run = run_blinkd_workload(daemon, workload, kind, all_lines=(kind == "lines"))
            finally:
                daemon.close()
            fig = blinkd_figures(read_trace(daemon.trace_path), workload, run)
            fig["label"] = label
            results[f"choice{i}.{kind}"] = fig
    # What --trace itself costs: the same workloads without it (CPU only; edges as scheduled).
    for kind, workload in (("seed", seed_workload(duration)), ("lines", lines_setup(ctx))):
        log(f"choice: without --trace, {kind}")
        daemon = Daemon(ctx, f"notrace-{kind}", {"matrix": workload["matrix"]}, trace=False)
        try:
            run = run_blinkd_workload(daemon, workload, kind, all_lines=(kind == "lines"))
        finally:
            daemon.close()
        edges = sum(2 * times * len(lines) for lines, _, times in workload["blinks"])
        d = run["delta"]
        results[f"notrace.{kind}"] = {
            "edges": edges,
            "cpu_per_edge_ns": d["cpu_ns"] / edges,
            "wakeups": d["voluntary"],
            "cpu_per_wakeup_ns": d["cpu_ns"] / d["voluntary"] if d["voluntary"] else None,
        }
