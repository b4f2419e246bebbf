# SPDX-License-Identifier: MIT
"""The report: figures flattened and combined over runs, tables, verdicts, RESULTS.md."""
import os
import platform
import shlex
import subprocess
import sys
import time

from .common import NS_PER_MS, NS_PER_US
from .goals import FAIL, GOAL, NO_FIGURE, PASS, verdict
from .phases import CHOICES, seed_python

# ------------------------------------------------------------------- report
def flatten(results):
    """Scalar figures only, keyed "phase.figure", for medians over runs."""
    flat = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for k, v in value.items():
                if not k.startswith("_"):
                    walk(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[prefix] = value
    walk("", results)
    return flat


def add_ratios(flat):
    """Per run: each blinkd figure against asyncio's and cyclictest's."""
    for w in ("seed", "lines"):
        for p in ("p50", "p99", "max"):
            b = flat.get(f"{w}.blinkd.lateness.{p}")
            a = flat.get(f"{w}.asyncio.lateness.{p}")
            c = flat.get(f"cyclictest.lateness.{p}")
            c50 = flat.get(f"cyclictest.default_slack.lateness.{p}")
            if b is not None and a:
                flat[f"ratio.{w}.asyncio.{p}"] = b / a
            if b is not None and c:
                flat[f"ratio.{w}.cyclictest.{p}"] = b / c
            if b is not None and c50:
                flat[f"ratio.{w}.cyclictest50.{p}"] = b / c50
        b = flat.get(f"{w}.blinkd.cpu_per_edge_ns")
        a = flat.get(f"{w}.asyncio.cpu_per_edge_ns")
        if b and a:
            flat[f"ratio.{w}.asyncio.cpu_per_edge_ns"] = b / a
    b = flat.get("programs.blinkd.lateness.p99")
    c = flat.get("cyclictest.lateness.p99")
    if b is not None and c:
        flat["ratio.programs.cyclictest.p99"] = b / c
    # Issue 17: against the floor measured in the same run.
    for w in ("seed", "lines"):
        for key in ("lateness.p50", "lateness.p99", "lateness_timed.p50", "lateness_timed.p99",
                    "cpu_per_wakeup_ns", "cpu_per_edge_ns"):
            b, f = flat.get(f"{w}.blinkd.{key}"), flat.get(f"{w}.floor.{key}")
            if b is not None and f:
                flat[f"ratio.{w}.floor.{key}"] = b / f
    q, l = flat.get("control_load.quiet.lateness.p99"), flat.get("control_load.loaded.lateness.p99")
    if q and l is not None:
        flat["ratio.control_load.p99"] = l / q
    per_edge = [flat.get(f"scale.{n}.cpu_per_edge_ns") for n in (10, 100, 1000, 10000, 100000)]
    per_edge = [x for x in per_edge if x]
    if len(per_edge) >= 2:
        flat["ratio.scale.cpu_per_edge_spread"] = max(per_edge) / min(per_edge)
    for mode in ("p50", "p99"):
        s, d = flat.get(f"precision.spin.lateness_timed.{mode}"), flat.get(f"seed.blinkd.lateness_timed.{mode}")
        if s is not None and d:
            flat[f"ratio.precision.{mode}"] = s / d
    for n in (1024, 10000):
        for key in ("hold", "own_hold", "send"):
            values = [v for k, v in flat.items() if k.startswith(f"control.{n}.{key}_ns.") and v is not None]
            if values:
                flat[f"control.{n}.{key}_max_ns"] = max(values)
    s, d = flat.get("precision.spin.cpu_per_s_ns"), flat.get("seed.blinkd.cpu_per_s_ns")
    if s is not None and d:
        flat["ratio.precision.cpu_per_s"] = s / d
    return flat


def fmt_us(ns, digits=1):
    if ns is None:
        return "—"
    return f"{ns / NS_PER_US:.{digits}f} µs"


def fmt_ms(ns):
    if ns is None:
        return "—"
    return f"{ns / NS_PER_MS:.2f} ms"


def fmt_ratio(x):
    if x is None:
        return "—"
    if x == 0:
        return "0"
    if 0 < x < 0.01:
        return f"1/{1 / x:.0f}"
    return f"{x:.2f}x"


def fmt_pct(lost, got):
    if lost is None or not (got or lost):
        return "—"
    return f"{100.0 * lost / (lost + (got or 0)):.0f}%"


def fmt_num(x, digits=0):
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


VERDICT_WORDS = {PASS: "met", FAIL: "**missed**", NO_FIGURE: "not measured"}


def judged(goal, figure):
    """verdict() of @figure against @goal, in the report's words."""
    return VERDICT_WORDS[verdict(goal, figure)]


def machine_info():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "python": subprocess.run([seed_python(), "-c", "import platform; print(platform.python_version())"],
                                 capture_output=True, text=True).stdout.strip() + f" ({seed_python()})",
        "clocksource": open("/sys/devices/system/clocksource/clocksource0/current_clocksource").read().strip()
        if os.path.exists("/sys/devices/system/clocksource/clocksource0/current_clocksource") else "?",
    }


def render_header(runs, machine, load, args):
    """Where and how the figures were taken: the machine, the build, the policy, the load."""
    out = []
    out.append(f"Machine: {machine['nproc']} CPUs, {machine['cpu']}, kernel {machine['kernel']}, "
               f"clocksource {machine['clocksource']}; the seed on Python {machine['python']}.  ")
    out.append(f"blinkd: `{args.blinkd_path}`, {args.blinkd_label}.  ")
    out.append(f"Scheduling: blinkd and cyclictest {args.policy_label}; the asyncio seed SCHED_OTHER, "
               "nice 0, as in the talk.  ")
    out.append(f"Runs: {runs}{' (medians of the runs)' if runs > 1 else ''}; "
               f"{'smoke mode: short, figures only checked for sanity' if args.smoke else 'full workloads'}.  ")
    # The program's name only: a command line can carry anything.
    busy = ", ".join(f"{s}s {os.path.basename(cmd.split()[0]) if cmd.split() else '?'}"
                     for s, _, cmd in load["top_others"][:3]) or "nothing"
    out.append(f"Other load during the benchmark ({load['wall_s'] / 60:.0f} min): load average "
               f"{load['loadavg_start'][0]:.2f} -> {load['loadavg_end'][0]:.2f}; the machine was busy "
               f"{load['machine_cpu_s']:.0f} CPU-s, {load['own_cpu_s']:.0f} of them the benchmark's, "
               f"{load['others_total_cpu_s']:.0f} everybody else's (of the processes alive at both ends, "
               f"most: {busy}).")
    return out


def render(med, runs, machine, load, drift, args):
    g = med.get
    n_prog = int(g("programs.blinkd.programs") or 0)
    out = render_header(runs, machine, load, args)
    out.append("")
    out.append("| figure | blinkd | asyncio seed | cyclictest (slack 1ns / 50us) | blinkd ÷ asyncio | "
               "blinkd ÷ cyclictest (1ns / 50us) | goal | |")
    out.append("|---|---|---|---|---|---|---|---|")

    def row(label, b, a="—", c="—", ra="—", rc="—", goal=None, figure=None):
        out.append(f"| {label} | {b} | {a} | {c} | {ra} | {rc} | {goal.text if goal else ''} | "
                   f"{judged(goal, figure) if goal else ''} |")

    ct = lambda p: f"{fmt_us(g(f'cyclictest.lateness.{p}'))} / {fmt_us(g(f'cyclictest.default_slack.lateness.{p}'))}"
    for w, title in (("seed", "seed's workload (25 lines, 100-500ms)"),
                     ("lines", f"{int(g('lines.blinkd.edges_per_batch_max') or 0)} lines at 10ms")):
        for p in ("p50", "p99", "max"):
            goal = GOAL[f"{w}.lateness_p99.cyclictest"] if p == "p99" else None
            row(f"{title}: lateness {p}", fmt_us(g(f"{w}.blinkd.lateness.{p}")),
                fmt_us(g(f"{w}.asyncio.lateness.{p}")), ct(p),
                fmt_ratio(g(f"ratio.{w}.asyncio.{p}")),
                f"{fmt_ratio(g(f'ratio.{w}.cyclictest.{p}'))} / {fmt_ratio(g(f'ratio.{w}.cyclictest50.{p}'))}",
                goal, goal and g(goal.figure))
        row(f"{title}: lateness against the first edge + k·interval, p50 / p99 / max",
            " / ".join(fmt_us(g(f"{w}.blinkd.lateness_first_edge.{p}")) for p in ("p50", "p99", "max")),
            " / ".join(fmt_us(g(f"{w}.asyncio.lateness.{p}")) for p in ("p50", "p99", "max")))
        row(f"{title}: drift (last 1s p50 − first 1s p50)", fmt_us(g(f"{w}.blinkd.drift_ns")),
            fmt_us(g(f"{w}.asyncio.drift_ns")))
        goal = GOAL[f"{w}.cpu_per_edge.asyncio"]
        r = g(goal.figure)
        row(f"{title}: CPU per edge", fmt_us(g(f"{w}.blinkd.cpu_per_edge_ns"), 2),
            fmt_us(g(f"{w}.asyncio.cpu_per_edge_ns"), 2), "—", fmt_ratio(r), "—", goal, r)
        row(f"{title}: CPU per wakeup (cyclictest: its whole loop, the kernel's floor)",
            fmt_us(g(f"{w}.blinkd.cpu_per_wakeup_ns"), 2), fmt_us(g(f"{w}.asyncio.cpu_per_wakeup_ns"), 2),
            f"{fmt_us(g('cyclictest.cpu_per_wakeup_ns'), 2)} / {fmt_us(g('cyclictest.default_slack.cpu_per_wakeup_ns'), 2)}")
        row(f"{title}: edges (lost)", f"{fmt_num(g(f'{w}.blinkd.edges'))} ({fmt_num(g(f'{w}.blinkd.lost_edges'))})",
            fmt_num(g(f"{w}.asyncio.edges")))
        goal = GOAL[f"{w}.wakeups_per_deadline"]
        row(f"{title}: wakeups (of them the bench's D-Bus calls) / distinct deadlines / batches",
            f"{fmt_num(g(f'{w}.blinkd.wakeups'))} ({fmt_num(g(f'{w}.blinkd.bus_calls'))}) / "
            f"{fmt_num(g(f'{w}.blinkd.distinct_deadlines'))} / {fmt_num(g(f'{w}.blinkd.batches'))}",
            f"{fmt_num(g(f'{w}.asyncio.wakeups'))} / — / —", "—", "—", "—", goal, g(goal.figure))
        row(f"{title}: peak RSS", fmt_num((g(f"{w}.blinkd.peak_rss") or 0) / 1024) + " KiB")

    p = "programs.blinkd"
    title = f"{n_prog:,} programs (100ms-1s)"
    for q in ("p50", "p99", "max"):
        goal = GOAL["programs.lateness_p99"] if q == "p99" else None
        row(f"{title}: lateness {q}", fmt_us(g(f"{p}.lateness.{q}")), "—",
            ct(q) if q != "max" else ct(q), "—",
            fmt_ratio(g("ratio.programs.cyclictest.p99")) if q == "p99" else "—", goal, goal and g(goal.figure))
    row(f"{title}: lateness against the first edge + k·interval, p50 / p99 / max",
        " / ".join(fmt_us(g(f"{p}.lateness_first_edge.{q}")) for q in ("p50", "p99", "max")))
    row(f"{title}: first edge after its program's start instant, p50 / p99",
        f"{fmt_us(g(f'{p}.first_edge_delay.p50'))} / {fmt_us(g(f'{p}.first_edge_delay.p99'))}")
    row(f"{title}: CPU per edge", fmt_us(g(f"{p}.cpu_per_edge_ns"), 2))
    row(f"{title}: CPU per wakeup", fmt_us(g(f"{p}.cpu_per_wakeup_ns"), 2), "—",
        f"{fmt_us(g('cyclictest.cpu_per_wakeup_ns'), 2)} / {fmt_us(g('cyclictest.default_slack.cpu_per_wakeup_ns'), 2)}")
    row(f"{title}: edges in {fmt_num(g(f'{p}.seconds'))}s window (lost)",
        f"{fmt_num(g(f'{p}.edges'))} ({fmt_num(g(f'{p}.lost_edges'))})")
    goal = GOAL["programs.wakeups_per_deadline"]
    row(f"{title}: wakeups / distinct deadlines / batches",
        f"{fmt_num(g(f'{p}.wakeups'))} / {fmt_num(g(f'{p}.distinct_deadlines'))} / {fmt_num(g(f'{p}.batches'))}",
        goal=goal, figure=g(goal.figure))
    goal = GOAL["programs.peak_rss"]
    rss = g(goal.figure)
    row(f"{title}: daemon peak RSS (VmHWM)", f"{(rss or 0) / 1024 / 1024:.1f} MiB", goal=goal, figure=rss)
    row(f"{title}: per running program: RSS / address space (VmData)",
        f"{fmt_num(g(f'{p}.bytes_per_program'))} B / {fmt_num(g(f'{p}.vmdata_per_program'))} B")
    row(f"{title}: RSS growth during the window", f"{fmt_num((g(f'{p}.rss_growth_in_window') or 0) / 1024)} KiB")
    row(f"{title}: starting them (pipelined, 64 in flight)", f"{g(f'{p}.ramp_s') or 0:.2f} s")
    for call in ("start", "stop", "list"):
        goal = GOAL[f"programs.{call}_answer_max"]
        mx = g(goal.figure)
        row(f"{title}: {call.capitalize()}() answer p50 / p99 / max",
            f"{fmt_ms(g(f'{p}.{call}_answer.p50'))} / {fmt_ms(g(f'{p}.{call}_answer.p99'))} / {fmt_ms(mx)}",
            goal=goal, figure=mx)

    goal = GOAL["idle.wakeups"]
    idle = g(goal.figure)
    row("idle (no program): wakeups per second", fmt_num(idle, 2), goal=goal, figure=idle)
    s = "start_latency"
    row(f"Start() call → first edge p50 / p99 ({fmt_num(g(f'{s}.starts'))} starts)",
        f"{fmt_us(g(f'{s}.call_to_edge.p50'))} / {fmt_us(g(f'{s}.call_to_edge.p99'))}")
    row("first edge after the program's start instant (seed's workload; lines workload)",
        f"{fmt_us(g('seed.blinkd.first_edge_delay.p50'))}; {fmt_us(g('lines.blinkd.first_edge_delay.p50'))}")
    goal = GOAL["start.failed_starts"]
    if g(goal.figure):
        row("Start() calls that failed (see the log)", fmt_num(g(goal.figure)), goal=goal, figure=g(goal.figure))
    row("Start() reply arrives after the first edge, p50 / p99",
        f"{fmt_us(g(f'{s}.reply_after_edge.p50'))} / {fmt_us(g(f'{s}.reply_after_edge.p99'))}")
    if drift:
        # Zero drift: the lateness at the end is no larger than at the start. Single
        # edges carry the machine's noise, so medians are compared, 10us allowed.
        # Two readings: the literal one (the last minute's median against the first's,
        # which carries the machine's minute-to-minute noise), and the trend.
        row(f"drift over {drift['minutes']:g} min: lateness p50 / p99 of the first {drift['span_s']:.0f}s "
            f"→ of the last {drift['span_s']:.0f}s",
            f"{fmt_us(drift['first_span']['p50'])} / {fmt_us(drift['first_span']['p99'])} → "
            f"{fmt_us(drift['last_span']['p50'])} / {fmt_us(drift['last_span']['p99'])}",
            goal=GOAL["drift.last_span"], figure=drift["last_span"]["p50"] - drift["first_span"]["p50"])
        row(f"drift over {drift['minutes']:g} min: each line's first timed edge → its last edge, p50 / max",
            f"{fmt_us(drift['first_edges']['p50'])} / {fmt_us(drift['first_edges']['max'])} → "
            f"{fmt_us(drift['last_edges']['p50'])} / {fmt_us(drift['last_edges']['max'])}")
        growth = drift["slope_ns_per_min"] * drift["minutes"]
        row(f"drift over {drift['minutes']:g} min: trend of the lateness (least squares over the medians of "
            f"10 windows) × duration; edges (lost)",
            f"{drift['slope_ns_per_min'] / NS_PER_US:+.3f} µs/min × {drift['minutes']:g} = {fmt_us(growth)}; "
            f"{fmt_num(drift['edges'])} ({fmt_num(drift['lost_edges'])})",
            goal=GOAL["drift.trend"], figure=growth)
    return "\n".join(out) + "\n"


def render_choices(med, args):
    g = med.get
    out = ["", "| choice | seed: lateness p50 / p99 / max | seed: timer wakeups / deadlines | "
           "lines: lateness p50 / p99 / max | lines: timer wakeups / deadlines / lost edges |", "|---|---|---|---|---|"]
    for i, (label, _, _) in enumerate(CHOICES):
        s, l = f"choice{i}.seed", f"choice{i}.lines"
        if g(f"{s}.edges") is None:
            continue
        out.append(
            f"| {label} | {fmt_us(g(f'{s}.lateness.p50'))} / {fmt_us(g(f'{s}.lateness.p99'))} / "
            f"{fmt_us(g(f'{s}.lateness.max'))} | {fmt_num(g(f'{s}.timer_wakeups'))} / "
            f"{fmt_num(g(f'{s}.distinct_deadlines'))} | {fmt_us(g(f'{l}.lateness.p50'))} / "
            f"{fmt_us(g(f'{l}.lateness.p99'))} / {fmt_us(g(f'{l}.lateness.max'))} | "
            f"{fmt_num(g(f'{l}.timer_wakeups'))} / {fmt_num(g(f'{l}.distinct_deadlines'))} / "
            f"{fmt_num(g(f'{l}.lost_edges'))} ({fmt_pct(g(f'{l}.lost_edges'), g(f'{l}.edges'))}) |")
    out.append("")
    out.append("| CPU per edge (per wakeup) | seed's workload | lines workload |")
    out.append("|---|---|---|")
    for key, label in (("choice0", "blinkd with --trace (shipped settings)"), ("notrace", "blinkd without --trace"),
                       ("asyncio", "asyncio seed (recorder, no ioctl)")):
        cells = []
        for kind in ("seed", "lines"):
            k = f"{kind}.asyncio" if key == "asyncio" else f"{key}.{kind}"
            cells.append(f"{fmt_us(g(f'{k}.cpu_per_edge_ns'), 2)} ({fmt_us(g(f'{k}.cpu_per_wakeup_ns'), 1)})")
        out.append(f"| {label} | {cells[0]} | {cells[1]} |")
    out.append("")
    out.append(f"Batching: the lines workload wrote {fmt_num(g('lines.blinkd.edges'))} edges in "
               f"{fmt_num(g('lines.blinkd.batches'))} backend calls (mean "
               f"{fmt_num(g('lines.blinkd.edges_per_batch_mean'), 1)} edges a call); the seed's workload "
               f"{fmt_num(g('seed.blinkd.edges'))} edges in {fmt_num(g('seed.blinkd.batches'))} calls; "
               f"{fmt_num(g('programs.blinkd.programs'))} programs {fmt_num(g('programs.blinkd.edges'))} "
               f"edges in {fmt_num(g('programs.blinkd.batches'))} calls.")
    alloc = [k for k in med if k.startswith("programs.blinkd.allocations.")]
    if alloc:
        counts = ", ".join(f"{k.rsplit('.', 1)[1]} {fmt_num(med[k])}" for k in sorted(alloc)
                           if not k.endswith("seconds"))
        out.append(f"Allocation in steady state ({fmt_num(g('programs.blinkd.programs'))} programs, "
                   f"{fmt_num(g('programs.blinkd.allocations.seconds'))}s, perf uprobes on libc): {counts}.")
    return "\n".join(out) + "\n"


RESULTS_BEGIN = "<!-- bench/run output begins: generated, do not edit -->"
RESULTS_END = "<!-- bench/run output ends -->"
# The levels phase has a block of its own, so that `--only levels` can
# regenerate it and leave the rest of the file as it is.
LEVELS_BEGIN = "<!-- bench/run levels output begins: generated, do not edit -->"
LEVELS_END = "<!-- bench/run levels output ends -->"


def write_results(path, text, begin=RESULTS_BEGIN, end=RESULTS_END):
    """Put @text between the markers @begin and @end of @path (appended when it has none)."""
    old = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    stamp = time.strftime("%Y-%m-%d %H:%M %Z")
    block = f"{begin}\nGenerated by `bench/run {shlex.join(sys.argv[1:])}` on {stamp}.\n\n{text}{end}"
    if begin in old and end in old:
        head = old[:old.index(begin)]
        tail = old[old.index(end) + len(end):]
        new = head + block + tail
    else:
        new = old + ("\n" if old and not old.endswith("\n") else "") + block + "\n"
    with open(path, "w") as f:
        f.write(new)


def hold_why(g, n):
    """What the control plane's verdict rests on: blinkd's own part and the socket's."""
    own, send = g(f"control.{n}.own_hold_max_ns"), g(f"control.{n}.send_max_ns")
    if own is None:
        return "the control plane table says which call"
    return (f"less sendmsg(): {fmt_ms(own)}; the longest time in sendmsg() in one hold {fmt_ms(send)} "
            "(the kernel's copy into the bus socket)")


def render_issue17(med, notes, plot):
    """The figures of issue 17: blinkd beside its floor, the control plane, the
    precision mode, the scale curve, startup, and the verdicts against the goals."""
    g = med.get
    out = ["", "### blinkd beside its floor (issue 17)", "",
           "The floor is `bench/floor`: one sd-event timer (accuracy 1 µs, slack 1 ns, blinkd's "
           "scheduling policy) writing the same lines at the same instants to the same simulated "
           "chip and the same trace, no engine and no bus, run in the same run as blinkd. Lateness here is "
           "of the timed edges: each line's edge 0 leaves with the Start call (blinkd) or at the floor's "
           "first instant, so it measures the call, not the timer; the table above counts every edge.", "",
           "| workload | blinkd lateness p50 / p99 | floor p50 / p99 | p99 ratio | blinkd CPU per wakeup | "
           "floor CPU per wakeup | ratio | cyclictest p99 | asyncio p99 |",
           "|---|---|---|---|---|---|---|---|---|"]
    for w, title in (("seed", "the seed's (25 lines, 100-500 ms)"), ("lines", "1000 lines at 10 ms")):
        out.append(
            f"| {title} | {fmt_us(g(f'{w}.blinkd.lateness_timed.p50'))} / "
            f"{fmt_us(g(f'{w}.blinkd.lateness_timed.p99'))} | "
            f"{fmt_us(g(f'{w}.floor.lateness_timed.p50'))} / {fmt_us(g(f'{w}.floor.lateness_timed.p99'))} | "
            f"{fmt_ratio(g(f'ratio.{w}.floor.lateness_timed.p99'))} | {fmt_us(g(f'{w}.blinkd.cpu_per_wakeup_ns'), 2)} | "
            f"{fmt_us(g(f'{w}.floor.cpu_per_wakeup_ns'), 2)} | {fmt_ratio(g(f'ratio.{w}.floor.cpu_per_wakeup_ns'))} | "
            f"{fmt_us(g('cyclictest.lateness.p99'))} | {fmt_us(g(f'{w}.asyncio.lateness.p99'))} |")
    out.append("")
    out.append(f"Stalls (edges over 1 ms late, runs of them): blinkd {fmt_num(g('seed.blinkd.stalls.count'))} / "
               f"{fmt_num(g('lines.blinkd.stalls.count'))}, the floor {fmt_num(g('seed.floor.stalls.count'))} / "
               f"{fmt_num(g('lines.floor.stalls.count'))} (seed's / lines); lost edges blinkd "
               f"{fmt_num(g('seed.blinkd.lost_edges'))} / {fmt_num(g('lines.blinkd.lost_edges'))}, the floor "
               f"{fmt_num(g('seed.floor.lost_edges'))} / {fmt_num(g('lines.floor.lost_edges'))}.")

    from .control import CALL_TYPES
    from .scale import SCALE_SIZES
    has_control = any(k.startswith(("control.", "control_load.")) for k in med)
    has_scale = any(k.startswith("scale.") for k in med)
    if has_control:
        by_perf = g("control.10000.by_perf") or g("control.1024.by_perf")
        how = ("the kernel's syscall tracepoints through `perf record -p`, about a microsecond an event"
               if by_perf else "blinkd under `strace --seccomp-bpf`, whose stops make each hold an upper bound "
               "by some hundreds of microseconds")
        out += ["", "### The control plane", "",
                "Longest hold of the daemon's loop by one call type (from an epoll_wait's return to the next "
                f"epoll_wait, seen by {how}; 5 calls a type; \"no call\": the programs' own timers only, — "
                "when none fired)" + (", and beside it the longest of the same holds less the time inside "
                "sendmsg(), the kernel copying the reply into the bus socket while dbus-daemon reads it on the "
                "other CPU:" if by_perf else ":"), ""]
        if by_perf:
            out += ["| call | 1024 programs | less sendmsg() | 10,000 programs | less sendmsg() | longest sendmsg() "
                    "(10,000) |", "|---|---|---|---|---|---|"]
            for call in CALL_TYPES:
                out.append(f"| {call} | {fmt_ms(g(f'control.1024.hold_ns.{call}'))} | "
                           f"{fmt_ms(g(f'control.1024.own_hold_ns.{call}'))} | "
                           f"{fmt_ms(g(f'control.10000.hold_ns.{call}'))} | "
                           f"{fmt_ms(g(f'control.10000.own_hold_ns.{call}'))} | "
                           f"{fmt_ms(g(f'control.10000.send_ns.{call}'))} |")
        else:
            out += ["| call | 1024 programs | 10,000 programs |", "|---|---|---|"]
            for call in CALL_TYPES:
                out.append(f"| {call} | {fmt_ms(g(f'control.1024.hold_ns.{call}'))} | "
                           f"{fmt_ms(g(f'control.10000.hold_ns.{call}'))} |")
        out.append("")
        out.append(f"1000 lines at 10 ms beside 1023 waiting programs: lateness p99 "
                   f"{fmt_us(g('control_load.quiet.lateness.p99'))} alone, "
                   f"{fmt_us(g('control_load.loaded.lateness.p99'))} while 4 clients called GetManagedObjects "
                   f"and List in a loop ({fmt_num(g('control_load.loaded.hammer_calls'))} calls, longest answer "
                   f"{fmt_ms(g('control_load.loaded.hammer_answer_max_ns'))}): "
                   f"{fmt_ratio(g('ratio.control_load.p99'))}; max {fmt_us(g('control_load.quiet.lateness.max'))}"
                   f" → {fmt_us(g('control_load.loaded.lateness.max'))}; lost edges "
                   f"{fmt_num(g('control_load.quiet.lost_edges'))} → "
                   f"{fmt_num(g('control_load.loaded.lost_edges'))}.")

    out += ["", "### Precision mode", ""]
    if g("precision.spin.edges") is not None:
        out += ["The seed's workload; lateness of the timed edges (each line's edge 0, which leaves with "
                f"the Start call, is {fmt_us(g('precision.spin.first_edge_delay.p50'))} after the start instant "
                "in this mode, the call's own time, which no timer can spin away).", "",
                "| seed's workload | lateness p50 | p99 | max | CPU per second |", "|---|---|---|---|---|",
                f"| default | {fmt_us(g('seed.blinkd.lateness_timed.p50'))} | "
                f"{fmt_us(g('seed.blinkd.lateness_timed.p99'))} | {fmt_us(g('seed.blinkd.lateness_timed.max'))} | "
                f"{fmt_ms(g('seed.blinkd.cpu_per_s_ns'))} |",
                f"| \"precision\": \"spin\" | {fmt_us(g('precision.spin.lateness_timed.p50'))} | "
                f"{fmt_us(g('precision.spin.lateness_timed.p99'))} | {fmt_us(g('precision.spin.lateness_timed.max'))} | "
                f"{fmt_ms(g('precision.spin.cpu_per_s_ns'))} |",
                f"| spin ÷ default | {fmt_ratio(g('ratio.precision.p50'))} | {fmt_ratio(g('ratio.precision.p99'))} | | "
                f"{fmt_ratio(g('ratio.precision.cpu_per_s'))} |"]
    else:
        out.append("Not measured: " + ("; ".join(n for n in notes if "precision" in n) or "phase not run") + ".")

    if has_scale:
        out += ["", "### Scale curve", "",
                "Program i blinks line i of its own, every base·(1 + i/N), base = max(100 ms, N·5 ms): about "
                "140 edges a second from 20 programs up, so the curve shows what the population costs per edge "
                "(at 100,000, 50,000 blink and 50,000 wait: blinkd drives at most 65,536 lines; "
                "bench/blinkbench/scale.py says why).", "",
                "| programs | lateness p99 | CPU per edge | CPU per wakeup | RSS per program | edges in 10 s | "
                "starting them |", "|---|---|---|---|---|---|---|"]
        for n in SCALE_SIZES:
            k = f"scale.{n}"
            if g(f"{k}.edges") is None:
                continue
            out.append(f"| {n:,} | {fmt_us(g(f'{k}.lateness.p99'))} | {fmt_us(g(f'{k}.cpu_per_edge_ns'), 2)} | "
                       f"{fmt_us(g(f'{k}.cpu_per_wakeup_ns'), 2)} | {fmt_num(g(f'{k}.rss_per_program'))} B | "
                       f"{fmt_num(g(f'{k}.edges'))} | {g(f'{k}.ramp_s') or 0:.2f} s |")
        if plot:
            out += ["", f"![scale curve]({plot})"]

    out += ["", "### Startup", "",
            f"exec → READY=1: p50 {fmt_ms(g('startup.ready.p50'))}, max {fmt_ms(g('startup.ready.max'))}; "
            f"exec → first autostart edge: p50 {fmt_ms(g('startup.first_edge.p50'))}, max "
            f"{fmt_ms(g('startup.first_edge.max'))} ({fmt_num(g('startup.tries'))} starts, sim chip, timed from the "
            "forked child's execve())."]

    # The floor's figure beside each ratio, or what else the verdict rests on.
    rows = [
        ("seed's workload: lateness p99 ÷ the floor's (timed edges)", "seed.floor.lateness_p99",
         f"floor p99 {fmt_us(g('seed.floor.lateness_timed.p99'))}"),
        ("1000 lines at 10 ms: lateness p99 ÷ the floor's (timed edges)", "lines.floor.lateness_p99",
         f"floor p99 {fmt_us(g('lines.floor.lateness_timed.p99'))}"),
        ("seed's workload: CPU per wakeup ÷ the floor's", "seed.floor.cpu_per_wakeup",
         f"floor {fmt_us(g('seed.floor.cpu_per_wakeup_ns'), 1)} a wakeup"),
        ("1000 lines at 10 ms: CPU per wakeup ÷ the floor's", "lines.floor.cpu_per_wakeup",
         f"floor {fmt_us(g('lines.floor.cpu_per_wakeup_ns'), 1)} a wakeup"),
        ("lateness p99 with 4 clients calling GetManagedObjects and List ÷ without", "control_load.lateness_p99",
         f"{fmt_us(g('control_load.quiet.lateness.p99'))} → {fmt_us(g('control_load.loaded.lateness.p99'))}"),
        ("longest hold of the loop by any call, 1024 programs", "control.1024.hold_max", hold_why(g, 1024)),
        ("longest hold of the loop by any call, 10,000 programs", "control.10000.hold_max", hold_why(g, 10000)),
        ("precision spin: lateness p99 of the timed edges, seed's workload", "precision.spin.lateness_p99",
         f"{fmt_ms(g('precision.spin.cpu_per_s_ns'))} of CPU a second, default "
         f"{fmt_ms(g('seed.blinkd.cpu_per_s_ns'))}"),
        ("CPU per edge, 10 to 100,000 programs: largest ÷ smallest", "scale.cpu_per_edge_spread", ""),
        ("exec → READY=1, p50", "startup.ready_p50", ""),
        ("exec → first autostart edge, p50", "startup.first_edge_p50", ""),
    ]
    out += ["", "### Verdicts (issue 17)", "", "| figure | goal | measured | | the floor, or why |",
            "|---|---|---|---|---|"]
    for label, name, why in rows:
        goal = GOAL[name]
        x = g(goal.figure)
        shown = fmt_ms(x) if goal.unit == "ns" else fmt_ratio(x)
        out.append(f"| {label} | {goal.text} | {shown} | {judged(goal, x)} | {why} |")
    for n in notes:
        out.append(f"| {n} | | | not measured | |")
    return "\n".join(out) + "\n"


def render_levels(med, stacks=None, notes=()):
    """The levels phase: CPU per dimmed line at 200 Hz and 2 kHz, duty cycles,
    25 lines fading, allocations in steady state, and their verdicts."""
    from .levels import DIMS, DISTINCT_LEVELS, PWM_HZ, SMOKE_DIMS
    g = med.get
    if not any(k.startswith("levels.") for k in med):
        return ""
    hzs = [hz for hz in PWM_HZ if g(f"levels.hz{hz}.idle.seconds") is not None]
    names = {"dim1": "1 line at 0.3, one program", "dim5": "5 lines at 0.3, one program",
             "dim25": "25 lines at 0.3, one program", "dim100": "100 lines at 0.3, one program",
             "dim100p": "100 lines at 0.3, 100 one-line programs",
             "levels25": f"25 lines at 25 levels ({DISTINCT_LEVELS[0]:g} to {DISTINCT_LEVELS[-1]:g}), "
                         "one program"}
    out = ["", "### Levels: software PWM (dim, fade)", "",
           "blinkd `--chip sim` with `{\"pwm_hz\": H, \"matrix\": 4 rows of 25}`, one daemon per H, idle first "
           f"({fmt_num(g(f'levels.hz{hzs[0]}.idle.seconds') if hzs else None, 1)} s), then each workload "
           "in turn over a fixed window after a warm-up, stopped before the next. CPU: the daemon's "
           "(schedstat, user and kernel) less its own idle CPU over as long; wakeups: voluntary context "
           "switches less idle ones. Duty: each line's time lit in the trace ÷ the window; rising edges per "
           "line per second against H. Edges: trace lines; batches: distinct trace times.", "",
           "| workload | H | CPU ms/s | CPU ms/s per line | wakeups/s | CPU per wakeup | edges/s | "
           "batches/s | duty p50 (min – max) | largest \\|duty − level\\| | rising edges per line per s "
           "(min – max) |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    keys = [k for k, _, _ in DIMS + SMOKE_DIMS]
    for key in keys:
        for hz in hzs:
            p = f"levels.hz{hz}.{key}"
            if g(f"{p}.lines") is None:
                continue
            out.append(
                f"| {names.get(key, key)} | {hz} | {fmt_num(g(f'{p}.cpu_ms_per_s'), 2)} | "
                f"{fmt_num(g(f'{p}.cpu_ms_per_s_per_line'), 3)} | {fmt_num(g(f'{p}.wakeups_per_s'))} | "
                f"{fmt_num(g(f'{p}.cpu_per_wakeup_us'), 1)} µs | {fmt_num(g(f'{p}.edges_per_s'))} | "
                f"{fmt_num(g(f'{p}.batches_per_s'))} | {fmt_num(g(f'{p}.duty_p50'), 4)} "
                f"({fmt_num(g(f'{p}.duty_min'), 4)} – {fmt_num(g(f'{p}.duty_max'), 4)}) | "
                f"{fmt_num(g(f'{p}.duty_error_max'), 4)} (at level {fmt_num(g(f'{p}.duty_error_worst_level'), 2)}) | "
                f"{fmt_num(g(f'{p}.rising_per_line_s_min'), 1)} – {fmt_num(g(f'{p}.rising_per_line_s_max'), 1)} |")
    shared = []
    for hz in hzs:
        one, many = g(f"levels.hz{hz}.dim25.cpu_ms_per_s"), g(f"levels.hz{hz}.levels25.cpu_ms_per_s")
        w1, wn = g(f"levels.hz{hz}.dim25.wakeups_per_s"), g(f"levels.hz{hz}.levels25.wakeups_per_s")
        if one and many is not None and w1:
            shared.append(f"at {hz} Hz, 25 lines at 25 levels cost {fmt_ratio(many / one)} the CPU and "
                          f"{fmt_ratio(wn / w1)} the wakeups of 25 lines at one level")
    if shared:
        out += ["", "What sharing edges saves: " + "; ".join(shared) + "."]

    rounds = (g(f"levels.hz{hzs[0]}.fade25.seconds") or 0) / 2 if hzs else 0
    out += ["", "25 lines fading at once: one program, `{\"forever\":{\"sequence\":[fade 0 → 1 over 1s, "
            f"fade 1 → 0 over 1s]}}}}` (curve \"perceived\"), over {rounds:.0f} whole round"
            f"{'s' if round(rounds) != 1 else ''} of 2 s:", "",
            "| H | edges/s | batches/s | CPU ms/s | wakeups/s | CPU per wakeup | lines that edged |",
            "|---|---|---|---|---|---|---|"]
    for hz in hzs:
        p = f"levels.hz{hz}.fade25"
        if g(f"{p}.lines") is None:
            continue
        out.append(f"| {hz} | {fmt_num(g(f'{p}.edges_per_s'))} | {fmt_num(g(f'{p}.batches_per_s'))} | "
                   f"{fmt_num(g(f'{p}.cpu_ms_per_s'), 2)} | {fmt_num(g(f'{p}.wakeups_per_s'))} | "
                   f"{fmt_num(g(f'{p}.cpu_per_wakeup_us'), 1)} µs | {fmt_num(g(f'{p}.lines_edged'))} of 25 |")

    alloc_rows = []
    for hz in hzs:
        for key, label in (("fade25", "25 lines fading"), ("dim100", "100 lines dimmed at 0.3")):
            p = f"levels.hz{hz}.alloc_{key}"
            if g(f"{p}.seconds") is None:
                continue
            alloc_rows.append(f"| {label} | {hz} | {fmt_num(g(f'{p}.malloc'))} | {fmt_num(g(f'{p}.calloc'))} | "
                              f"{fmt_num(g(f'{p}.realloc'))} | {fmt_num(g(f'{p}.seconds'))} s |")
    if alloc_rows:
        c = "levels.alloc_control"
        out += ["", "Allocations in steady state: perf uprobes on libc's `malloc`, `calloc` and `realloc`, "
                "counted for blinkd alone (`perf stat -p`), after 1 s of warm-up:", "",
                "| workload | H | malloc | calloc | realloc | window |", "|---|---|---|---|---|---|"] + alloc_rows
        if g(f"{c}.seconds") is not None:
            out += ["", f"Positive control: the same probes counted {fmt_num(g(f'{c}.malloc'))} malloc, "
                    f"{fmt_num(g(f'{c}.calloc'))} calloc and {fmt_num(g(f'{c}.realloc'))} realloc over three "
                    "List() calls to the idle daemon, so a 0 above is a count, not a probe that never fires."]
        for where, top in (stacks or {}).items():
            out += ["", f"Where {where} allocated (perf record, DWARF stacks, innermost first):", ""]
            out += [f"- {n}× {stack}" for n, stack in top]

    duty = GOAL["levels.duty_error"]
    alloc = GOAL["levels.allocations"]
    rows = []  # (figure, goal or a text, shown, verdict or "", beside it)
    for hz in hzs:
        for key in keys:
            p = f"levels.hz{hz}.{key}"
            if g(f"{p}.lines") is None:
                continue
            x = g(duty.figure_key(hz=hz, workload=key))
            rows.append((f"{names.get(key, key)} at {hz} Hz: duty cycle within 0.02 of the level, every line",
                         duty.text, f"{fmt_num(x, 4)}", judged(duty, x),
                         f"duty p50 {fmt_num(g(f'{p}.duty_p50'), 4)}"))
        for key in ("dim1", "dim25", "dim100", "dim100p"):
            p = f"levels.hz{hz}.{key}"
            if g(f"{p}.lines") is None:
                continue
            rows.append((f"{names[key]} at {hz} Hz: CPU per dimmed line", "(reported)",
                         f"{fmt_num(g(f'{p}.cpu_ms_per_s_per_line'), 3)} ms/s", "",
                         f"{fmt_num(g(f'{p}.cpu_ms_per_s'), 2)} ms/s in all, "
                         f"{fmt_num(g(f'{p}.wakeups_per_s'))} wakeups/s"))
        p = f"levels.hz{hz}.fade25"
        if g(f"{p}.lines") is not None:
            rows.append((f"25 lines fading at {hz} Hz: edges per second", "(reported)",
                         fmt_num(g(f"{p}.edges_per_s")), "",
                         f"{fmt_num(g(f'{p}.batches_per_s'))} batches/s, {fmt_num(g(f'{p}.cpu_ms_per_s'), 2)} "
                         "CPU ms/s"))
        for key, label in (("fade25", "25 lines fading"), ("dim100", "100 lines dimmed")):
            p = f"levels.hz{hz}.alloc_{key}"
            total = g(alloc.figure_key(hz=hz, workload=key))
            if total is None:
                continue
            rows.append((f"{label} at {hz} Hz: allocation-free in steady state", alloc.text,
                         f"{fmt_num(total)} in {fmt_num(g(f'{p}.seconds'))} s", judged(alloc, total),
                         "perf uprobes on libc malloc/calloc/realloc"))
    if hzs and not alloc_rows:
        why = next((n for n in notes if "allocations" in n), "not counted in this run")
        rows.append(("allocation-free in steady state", alloc.text, "—", judged(alloc, None), why))
    out += ["", "### Verdicts (levels)", "", "| figure | goal | measured | | beside it |",
            "|---|---|---|---|---|"]
    for label, goal, shown, judgement, why in rows:
        out.append(f"| {label} | {goal} | {shown} | {judgement} | {why} |")
    return "\n".join(out) + "\n"
