# SPDX-License-Identifier: MIT
"""The control plane: how long each call type holds the daemon's loop, and what
clients hammering it do to the edges.

Holds are measured from outside: a hold is the time between one epoll_wait's
return and the next one's call, what the loop spent on one event. sd-event
dispatches one event source per iteration and sd-bus handles one message per
dispatch, so a call's hold covers reading it, acting and writing the reply.
Each call type runs a few times in a window of its own; its figure is the
longest hold in the window.

The waits are seen through the kernel's syscall tracepoints (`perf record -e
syscalls:sys_{enter,exit}_epoll_wait -k CLOCK_MONOTONIC -p PID`), which cost the
daemon about a microsecond an event. Without perf (or as non-root), blinkd runs
under `strace -f --seccomp-bpf -T -ttt`, whose two tracer stops per wait make
every hold an upper bound by some hundreds of microseconds on a VM (a property
read showed 0.3 ms); the block says which one measured.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time

from .analysis import read_trace
from .common import NS_PER_S, BenchError, log
from .harness import Client, Daemon
from .phases import blinkd_figures, run_blinkd_workload
from .workloads import blink_json, lines_workload

WAIT_SYSCALLS = ("epoll_wait", "epoll_pwait", "epoll_pwait2")
_STRACE_LINE = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+(\d+\.\d+)\s+(\w+)\(.*<(\d+\.\d+)>\s*$")


def parse_strace_holds(path):
    """[(end of the hold ns realtime, hold ns)] from an strace -T -ttt log of
    the daemon's loop: from each wait's return to the next wait's call."""
    holds = []
    last_return = None
    with open(path, errors="replace") as f:
        for line in f:
            m = _STRACE_LINE.match(line.strip())
            if not m or m.group(3) not in WAIT_SYSCALLS:
                continue
            start = int(round(float(m.group(2)) * NS_PER_S))
            duration = int(round(float(m.group(4)) * NS_PER_S))
            if last_return is not None and start >= last_return:
                holds.append((start, start - last_return))
            last_return = start + duration
    return holds


_PERF_LINE = re.compile(r"^\s*(\d+\.\d+):\s+syscalls:sys_(enter|exit)_(\w+):")
SEND_SYSCALLS = ("sendmsg", "writev")  # sd-bus writes the socket with these; the trace with write()


def parse_perf_holds(lines):
    """[(end of the hold ns, hold ns, ns of it in socket writes)] from `perf script
    -F time,event --ns` lines of the daemon's epoll waits and writes: a hold runs
    from a wait's exit to the next wait's enter; the writes inside it are the
    kernel copying replies into the bus socket."""
    holds = []
    last_exit = send_enter = None
    in_send = 0
    for line in lines:
        m = _PERF_LINE.match(line)
        if not m:
            continue
        t, edge, call = int(m.group(1).replace(".", "")), m.group(2), m.group(3)
        if call in SEND_SYSCALLS:
            if edge == "enter":
                send_enter = t
            elif send_enter is not None and last_exit is not None:
                in_send += t - send_enter
                send_enter = None
        elif call in WAIT_SYSCALLS:
            if edge == "exit":
                last_exit, in_send = t, 0
            elif last_exit is not None:
                holds.append((t, t - last_exit, in_send))
                last_exit = None
    return holds


class PerfWaits:
    """perf recording one process's epoll waits, on CLOCK_MONOTONIC; None from
    start() when perf cannot (not installed, not allowed, no tracepoints)."""

    def __init__(self, pid, path):
        self.path = path
        events = ",".join(f"syscalls:sys_{d}_{w}" for w in WAIT_SYSCALLS + SEND_SYSCALLS
                           for d in ("enter", "exit"))
        self.proc = subprocess.Popen(["perf", "record", "-q", "-k", "CLOCK_MONOTONIC", "-e", events,
                                      "-p", str(pid), "-o", path],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    @classmethod
    def start(cls, pid, path):
        if not shutil.which("perf"):
            return None
        rec = cls(pid, path)
        time.sleep(1.0)  # perf attaches to the tracepoints
        if rec.proc.poll() is not None:
            return None
        return rec

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        out = subprocess.run(["perf", "script", "-i", self.path, "-F", "time,event", "--ns"],
                             capture_output=True, text=True, check=False)
        return parse_perf_holds(out.stdout.splitlines())


def longest_hold(holds, t_from, t_to, own=False):
    """The longest hold ending in [t_from, t_to], or None; @own: less the time
    in socket writes (perf's holds only; strace's have none noted)."""
    inside = [h[1] - (h[2] if own and len(h) > 2 else 0) for h in holds if t_from <= h[0] <= t_to]
    return max(inside) if inside else None


def longest_send(holds, t_from, t_to):
    """The most time one hold in [t_from, t_to] spent in socket writes, or None."""
    inside = [h[2] for h in holds if len(h) > 2 and t_from <= h[0] <= t_to]
    return max(inside) if inside else None


def control_population(n):
    """Program i blinks line i slowly (every 5 to 50 s), so the loop's timer
    work stays small beside the calls being measured."""
    return {f"p{i:06d}": blink_json([i], 5000 + (45000 * i) // max(1, n - 1)) for i in range(n)}


def start_population(ctx, daemon, programs, name):
    feed = os.path.join(ctx.workdir, f"{name}.feed")
    with open(feed, "w") as f:
        for prog_name, program in programs.items():
            f.write(f"{prog_name}\t{program}\n")
    out = os.path.join(ctx.workdir, f"{name}.starts")
    answer = daemon.client.call("startmany", feed, 64, out)
    if not answer["ok"] or int(answer["extra"][1]) != 0:
        raise BenchError(f"starting {len(programs)} programs failed: {answer}; see {out}")
    return (answer["reply"] - answer["sent"]) / NS_PER_S


def matrix_for(n, max_cols=100):
    """A matrix holding lines 0..n-1, as wide as a divisor of n allows up to @max_cols."""
    cols = max(c for c in range(1, min(n, max_cols) + 1) if n % c == 0)
    return [[r * cols + c for c in range(cols)] for r in range(n // cols)]


CALL_TYPES = ["no call (timers only)", "List", "ListDefinitions", "GetManagedObjects", "Introspect", "property Lit",
              "Start/Stop", "Replace", "Subscribe (1 s of frames)"]


def phase_control(ctx, results, sizes=(1024, 10000)):
    if not shutil.which("strace") and not shutil.which("perf"):
        why = "control-plane holds not measured: neither perf nor strace is installed (apt-get install strace)"
        log(why)
        ctx.skipped.append(why)
        return
    for n in sizes:
        log(f"control plane: each call type's longest hold of the loop, {n} programs")
        results[f"control.{n}"] = control_holds(ctx, n)


def control_holds(ctx, n, repeats=5):
    strace_log = os.path.join(ctx.workdir, f"control-{n}.strace")
    perf_data = os.path.join(ctx.workdir, f"control-{n}.perf")
    config = {"matrix": matrix_for(n), "max_programs": 100000,
              "definitions": {"d0": json.loads(blink_json([0], 100))}}
    programs = control_population(n)
    perf = None
    daemon = Daemon(ctx, f"control-{n}", config)
    try:
        perf = PerfWaits.start(daemon.pid, perf_data)
    finally:
        if perf is None:
            daemon.close()
    if perf is None:
        wrapper = ["strace", "-f", "--seccomp-bpf", "-T", "-ttt", "-o", strace_log,
                   "-e", "trace=/^epoll_(wait|pwait|pwait2)$", "--"]  # a regex: arm64 has no epoll_wait
        daemon = Daemon(ctx, f"control-{n}", config, wrapper=wrapper)
    # Windows on the clock the holds are stamped with: CLOCK_MONOTONIC (perf), realtime (strace).
    rt_offset = 0 if perf else time.time_ns() - time.monotonic_ns()
    windows = {}
    try:
        ramp = start_population(ctx, daemon, programs, f"control-{n}")
        time.sleep(0.5)
        names = list(programs)
        c = daemon.client
        actions = {
            "no call (timers only)": lambda i: time.sleep(0.1),
            "List": lambda i: c.call("list"),
            "ListDefinitions": lambda i: c.call("call", "io.blinkd1.Manager", "ListDefinitions"),
            "GetManagedObjects": lambda i: c.call("call", "org.freedesktop.DBus.ObjectManager",
                                                  "GetManagedObjects"),
            "Introspect": lambda i: c.call("call", "org.freedesktop.DBus.Introspectable", "Introspect"),
            "property Lit": lambda i: c.call("getprop", "Lit"),
            "Start/Stop": lambda i: (c.call("stop", names[i + 1]),
                                     c.call("start", names[i + 1], programs[names[i + 1]])),
            "Replace": lambda i: c.call("replace", names[i + 2], programs[names[i + 2]]),
            "Subscribe (1 s of frames)": lambda i: c.call("subscribe", 1.0) if i == 0 else None,
        }
        for call in CALL_TYPES:
            t_from = time.monotonic_ns() + rt_offset
            for i in range(repeats):
                answers = actions[call](i)
                for a in answers if isinstance(answers, tuple) else (answers,):
                    if isinstance(a, dict) and not a["ok"]:
                        raise BenchError(f"{call} failed: {a}")
                time.sleep(0.03)
            windows[call] = (t_from, time.monotonic_ns() + rt_offset)
            time.sleep(0.05)
    finally:
        holds = perf.stop() if perf else None
        daemon.close()
    if not perf:
        holds = parse_strace_holds(strace_log)
    if not holds:
        raise BenchError(f"no epoll waits in {perf_data if perf else strace_log}: was blinkd traced?")
    fig = {"programs": n, "ramp_s": ramp, "waits": len(holds) + 1, "by_perf": 1 if perf else 0}
    fig["hold_ns"] = {call: longest_hold(holds, *windows[call]) for call in CALL_TYPES}
    if perf:
        fig["own_hold_ns"] = {call: longest_hold(holds, *windows[call], own=True) for call in CALL_TYPES}
        fig["send_ns"] = {call: longest_send(holds, *windows[call]) for call in CALL_TYPES}
    return fig


def phase_control_load(ctx, results, seconds=10, clients=4, population=1024):
    """1000 lines blinking at 10ms beside 1023 waiting programs, without and then
    with @clients clients calling GetManagedObjects and List in a loop."""
    workload = lines_workload(1000, 10, seconds)
    lines = workload["blinks"][0][0]
    daemon = Daemon(ctx, "control-load", {"matrix": workload["matrix"], "max_programs": 100000})
    try:
        waiting = {f"w{i:05d}": '{"wait":"1h"}' for i in range(population - 1)}
        start_population(ctx, daemon, waiting, "control-load")
        for label, hammer in (("quiet", 0), ("loaded", clients)):
            log(f"1000 lines at 10ms beside {population - 1} programs, {hammer} clients calling "
                "GetManagedObjects and List")
            env = dict(os.environ)
            env["DBUS_SESSION_BUS_ADDRESS"] = daemon.bus.address
            hammers = [Client(ctx, env) for _ in range(hammer)]
            try:
                for h in hammers:
                    h.proc.stdin.write(f"hammer\t{seconds + 1}\n")
                    h.proc.stdin.flush()
                t_from = time.monotonic_ns()
                run = run_blinkd_workload(daemon, workload, label, all_lines=False)
                calls, longest = 0, []
                for h in hammers:
                    answer = h.proc.stdout.readline().split()
                    if not answer or answer[0] != "ok":
                        raise BenchError(f"a hammering client failed: {answer}")
                    calls += int(answer[3])
                    longest.append(int(answer[4]))
            finally:
                for h in hammers:
                    h.close()
            trace = read_trace(daemon.trace_path, t_from=t_from, t_to=run["end"])
            fig = blinkd_figures({o: e for o, e in trace.items() if o in set(lines)}, workload, run)
            fig.pop("_per_time", None)
            fig["hammer_calls"] = calls
            fig["hammer_answer_max_ns"] = max(longest) if longest else None
            results[f"control_load.{label}"] = fig
        daemon.client.call("stopall")
    finally:
        daemon.close()
