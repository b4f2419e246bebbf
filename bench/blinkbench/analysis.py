# SPDX-License-Identifier: MIT
"""The analysis of traces: edge matching, lateness, lost edges, stalls, drift.

Pure functions of their arguments, so that tests can feed them synthetic traces.
"""
import math
import statistics

from .common import BenchError, NS_PER_S
from .workloads import workload_intervals


# --------------------------------------------------------------- statistics
def percentile(values, p):
    """Nearest-rank percentile of @values (any order); None when empty."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


def summary(values):
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None, "min": None}
    s = sorted(values)
    return {
        "n": len(s),
        "p50": percentile(s, 50),
        "p99": percentile(s, 99),
        "max": s[-1],
        "min": s[0],
    }


def median_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# -------------------------------------------------------------------- trace
def read_trace(path, t_from=None, t_to=None):
    """offset -> [(ns, value)], in file order (which is time order)."""
    lines = {}
    with open(path) as f:
        for row in f:
            t, offset, value = row.split()
            t = int(t)
            if (t_from is not None and t < t_from) or (t_to is not None and t > t_to):
                continue
            lines.setdefault(int(offset), []).append((t, int(value)))
    return lines


def edge_lateness(edges, interval_ns, applied=True, ref=None):
    """Lateness of each edge against its ideal time, reference + k * interval.

    @edges: [(ns, value)] of one line, the first one lit.
    @ref: the instant the program's timeline began (its Start); the first
    edge is then edge 0 and counts too. Without it, the first edge is the
    reference, as the issue words it, and only the edges after it count.
    applied=True (blinkd): the engine writes the end result of what fell due,
    so an edge is the latest ideal edge of its value not after it (a lost
    on/off pair, as sd-event's 250ms coalescing makes, then still attributes
    right); up to half an interval early is allowed for, since a reference
    edge may itself be late. applied=False (asyncio): every edge is written,
    the k-th edge is edge k.
    Returns [(ns, lateness_ns)] and the number of ideal edges that never came.
    """
    if not edges:
        return [], 0
    if ref is None:
        t0, first, skip = edges[0][0], 1, 1
    else:
        t0, first, skip = ref, 0, 0
    out = []
    for index, (t, value) in enumerate(edges[skip:], start=first):
        if applied:
            k = (t - t0 + interval_ns // 2) // interval_ns
            if (k % 2 == 0) != (value == 1):
                k -= 1
        else:
            k = index
        out.append((t, t - (t0 + k * interval_ns)))
    lost = 0
    if applied and out:
        last_k = (out[-1][0] - out[-1][1] - t0) // interval_ns
        lost = max(0, int(last_k) + 1 - first - len(out))
    return out, lost


def analyse_edges(lines, intervals, applied, t_from=None, t_to=None, end_deadlines=None, starts=None):
    """Lateness figures of a workload: @intervals maps offset -> interval ns.

    Edges count when they fall in [t_from, t_to] (None: all); each line's
    reference is its program's start instant (@starts: offset -> ns), else its
    first edge, wherever that falls. "lateness" counts every edge;
    "lateness_timed" leaves out each line's edge 0 when it is measured from
    the start instant, since that one goes out with the Start call's reply
    and its delay is the call's (reported as "first_edge_delay"). Distinct deadlines are the
    distinct ideal instants (first edge + k * interval, per line) in the
    window, plus each finite blink's end (@end_deadlines: offset -> k_end).
    """
    lateness = []
    timed = []  # every edge but edge 0: what the timer, not the Start call, decided
    first_edge_delays = []  # edge 0 against the start instant: the Start call's own delay
    per_time = []
    n_edges = 0
    lost = 0
    deadlines = set()
    batches = {}
    for offset, edges in lines.items():
        interval = intervals.get(offset)
        if interval is None or not edges:
            continue
        late, line_lost = edge_lateness(edges, interval, applied,
                                        starts.get(offset) if starts else None)
        lost += line_lost
        t0 = starts[offset] if starts and offset in starts else edges[0][0]
        edge0 = starts is not None and offset in starts and late and late[0][0] == edges[0][0]
        if edge0:
            first_edge_delays.append(late[0][1])
        for i, (t, x) in enumerate(late):
            if (t_from is None or t >= t_from) and (t_to is None or t <= t_to):
                lateness.append(x)
                per_time.append((t, x))
                if i > 0 or not edge0:
                    timed.append(x)
        for t, _ in edges:
            if (t_from is None or t >= t_from) and (t_to is None or t <= t_to):
                n_edges += 1
                batches[t] = batches.get(t, 0) + 1
        lo = t_from if t_from is not None else t0
        hi = t_to if t_to is not None else edges[-1][0] + interval
        k = max(1, (lo - t0) // interval)
        k_end = end_deadlines.get(offset) if end_deadlines else None
        while True:
            ideal = t0 + k * interval
            if ideal > hi or (k_end is not None and k > k_end):
                break
            if ideal >= lo:
                deadlines.add(ideal)
            k += 1
    s = summary(lateness)
    batch_sizes = list(batches.values())
    per_time.sort()
    drift = None
    if per_time:
        # How much later the edges of the last second are than those of the first.
        first = [x for t, x in per_time if t <= per_time[0][0] + NS_PER_S]
        last = [x for t, x in per_time if t >= per_time[-1][0] - NS_PER_S]
        drift = percentile(last, 50) - percentile(first, 50)
    return {
        "edges": n_edges,
        "lost_edges": lost,
        "lateness": s,
        "lateness_timed": summary(timed),
        "first_edge_delay": summary(first_edge_delays),
        "drift_ns": drift,
        "batches": len(batches),
        "edges_per_batch_mean": (sum(batch_sizes) / len(batch_sizes)) if batch_sizes else None,
        "edges_per_batch_max": max(batch_sizes) if batch_sizes else None,
        "distinct_deadlines": len(deadlines),
        "_per_time": per_time,
    }



def drift_figures(lines, workload, minutes, start_ns=None):
    intervals, _ = workload_intervals(workload)
    starts = {offset: start_ns for offset in intervals} if start_ns else None
    fig = analyse_edges(lines, intervals, applied=True, starts=starts)
    per_time = fig.pop("_per_time")
    if not per_time:
        raise BenchError("drift: no edges")
    span = min(60 * NS_PER_S, (per_time[-1][0] - per_time[0][0]) // 4)
    first = [x for t, x in per_time if t <= per_time[0][0] + span]
    last = [x for t, x in per_time if t >= per_time[-1][0] - span]
    # The first edge after the reference, and the last edge, of each line.
    first_edges, last_edges = [], []
    for offset, edges in lines.items():
        late, _ = edge_lateness(edges, intervals[offset], ref=start_ns)
        if len(late) > 1:
            late = late[1:]  # edge 0 is written by the Start call, not by a timer
        if late:
            first_edges.append(late[0][1])
            last_edges.append(late[-1][1])
    # The trend: least squares over the medians of ten equal windows, so that a
    # few spikes of the machine do not pass for drift.
    t_first, t_last = per_time[0][0], per_time[-1][0]
    width = max(1, (t_last - t_first) // 10 + 1)
    windows = {}
    for t, x in per_time:
        windows.setdefault((t - t_first) // width, []).append(x)
    points = [(t_first + (i + 0.5) * width, percentile(xs, 50)) for i, xs in sorted(windows.items())]
    mt = sum(t for t, _ in points) / len(points)
    mx = sum(x for _, x in points) / len(points)
    var = sum((t - mt) ** 2 for t, _ in points)
    slope = sum((t - mt) * (x - mx) for t, x in points) / var if var else 0.0
    return {
        "minutes": minutes,
        "edges": fig["edges"],
        "lost_edges": fig["lost_edges"],
        "lateness": fig["lateness"],
        "span_s": span / NS_PER_S,
        "first_span": summary(first),
        "last_span": summary(last),
        "first_edges": summary(first_edges),
        "last_edges": summary(last_edges),
        "slope_ns_per_min": slope * 60 * NS_PER_S,
    }


def find_stalls(per_time, threshold_ns):
    """Stretches where the loop fell behind: runs of consecutive edges (in time
    order) each later than @threshold_ns. @per_time: [(ns, lateness_ns)].
    Returns {"count", "longest_ns" (the latest edge of any stall), "edges"}."""
    count = edges = 0
    longest = None
    inside = False
    for _, late in sorted(per_time):
        if late > threshold_ns:
            edges += 1
            if not inside:
                count += 1
                inside = True
            longest = late if longest is None else max(longest, late)
        else:
            inside = False
    return {"count": count, "longest_ns": longest, "edges": edges}


def schedule_check(lines, expected, lost):
    """Whether a trace holds the schedule's edges: @expected maps offset ->
    the number of edges the schedule writes on it, @lost is the analysis's
    count of edges that never reached the wire. Returns a list of problems
    (empty when every scheduled line edged and edges + lost == scheduled)."""
    problems = []
    silent = sorted(o for o in expected if not lines.get(o))
    if silent:
        problems.append(f"{len(silent)} of {len(expected)} lines never edged (first: {silent[:5]})")
    stray = sorted(o for o in lines if o not in expected)
    if stray:
        problems.append(f"edges on {len(stray)} lines outside the schedule (first: {stray[:5]})")
    got = sum(len(lines.get(o, ())) for o in expected)
    want = sum(expected.values())
    if got + lost != want:
        problems.append(f"{got} edges and {lost} lost, the schedule has {want}")
    return problems


# -------------------------------------------------------------- levels (PWM)
def pwm_window(rows, t_from, t_to):
    """What a trace says about lines driven by software PWM in [t_from, t_to).

    @rows: trace lines "<ns> <number> <value> [physical]" in time order (a
    file object will do). A value of 1 (or a level of 1) is lit, anything
    else dark. Each line's time lit within the window counts from its state
    at t_from (its last value before it), so a line lit across the window's
    start is lit from t_from. Returns {"lines": {number: {"on_ns", "rising",
    "edges"}}, "edges" (trace lines in the window), "batches" (distinct
    times in the window), "window_ns"}.
    """
    state = {}    # number -> [lit, lit since (ns), on_ns, rising, edges]
    times = set()
    n_edges = 0
    for row in rows:
        fields = row.split()
        if len(fields) < 3:
            continue
        t = int(fields[0])
        if t >= t_to:
            break
        number = int(fields[1])
        lit = float(fields[2]) >= 1.0
        s = state.get(number)
        if s is None:
            s = state[number] = [False, t_from, 0, 0, 0]
        if t < t_from:
            s[0] = lit
            continue
        times.add(t)
        n_edges += 1
        s[4] += 1
        if lit and not s[0]:
            s[1] = t
            s[3] += 1
        elif s[0] and not lit:
            s[2] += t - max(s[1], t_from)
        s[0] = lit
    out = {}
    for number, (lit, since, on_ns, rising, edges) in state.items():
        if lit:
            on_ns += t_to - max(since, t_from)
        out[number] = {"on_ns": on_ns, "rising": rising, "edges": edges}
    return {"lines": out, "edges": n_edges, "batches": len(times), "window_ns": t_to - t_from}


def duty_figures(window, levels, pwm_hz):
    """Duty cycles of a pwm_window() against what each line was set to.

    @levels: number -> the level (0..1) the line was dimmed to; a line of
    @levels absent from the trace counts as dark all along. Duty: time lit /
    window. Rising edges per line per second against @pwm_hz: a period whose
    pulse never reached the trace (a wakeup later than its on-time, or a
    pulse merged with the next) is missing from them.
    """
    seconds = window["window_ns"] / NS_PER_S
    duties, errors, rising = [], [], []
    worst = None
    for number, level in levels.items():
        line = window["lines"].get(number, {"on_ns": 0, "rising": 0})
        duty = line["on_ns"] / window["window_ns"]
        duties.append(duty)
        err = duty - level
        errors.append(err)
        if worst is None or abs(err) > abs(worst[0]):
            worst = (err, level)
        rising.append(line["rising"] / seconds)
    return {
        "lines": len(levels),
        "duty_p50": percentile(duties, 50),
        "duty_min": min(duties) if duties else None,
        "duty_max": max(duties) if duties else None,
        "duty_error_max": abs(worst[0]) if worst else None,  # largest |duty - level| of any line
        "duty_error_worst": worst[0] if worst else None,      # its sign: + lit too long
        "duty_error_worst_level": worst[1] if worst else None,
        "rising_per_line_s_min": min(rising) if rising else None,
        "rising_per_line_s_max": max(rising) if rising else None,
        "rising_per_line_s_p50": percentile(rising, 50),
        # Periods without a pulse, over all lines: 0 when every period had its rising edge.
        "missing_periods_fraction": (max(0.0, 1 - sum(rising) / (len(rising) * pwm_hz))
                                     if rising and pwm_hz else None),
        "edges_per_s": window["edges"] / seconds,
        "batches_per_s": window["batches"] / seconds,
    }
