# SPDX-License-Identifier: MIT
"""Startup: from exec to READY=1 and to the first autostart edge, on the sim chip.

The benchmark binds a datagram socket and hands it to blinkd as NOTIFY_SOCKET,
as systemd does; the clock starts in the forked child right before its
execve() (it writes the time to a pipe), so the fork of a large benchmark
process does not count; READY=1 is timed when its datagram arrives, and the
first edge is the first line of the trace. The measurement runs in a fresh,
small Python process: execve() from a copy of a benchmark holding hundreds of
MB spends milliseconds tearing that copy down, which is not blinkd's start-up.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import types

from .analysis import summary
from .common import BENCH_DIR, BenchError, log
from .harness import Bus, _set_fifo
from .workloads import SEED_MATRIX

STARTUP_CONFIG = {
    "matrix": SEED_MATRIX,
    "autostart": {"heartbeat": {"blink": {"lines": [11], "interval": "100ms", "times": 1}}},
}


def phase_startup(ctx, results, tries=None):
    tries = tries or (3 if ctx.smoke else 10)
    log(f"startup: exec -> READY=1 and -> the first autostart edge, {tries} times")
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); from blinkbench.startup import measure; "
            "print(json.dumps(measure(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))))")
    r = subprocess.run([sys.executable, "-c", code, BENCH_DIR, ctx.blinkd, ctx.workdir,
                        str(ctx.rt_priority or 0), str(tries)], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise BenchError(f"startup measurement failed: {r.stderr.strip()[-2000:]}")
    ready, edge = json.loads(r.stdout)
    results["startup"] = {"ready": summary(ready), "first_edge": summary(edge), "tries": tries}


def measure(blinkd, workdir, rt_priority, tries):
    """In the small process: ([exec -> READY=1 ns], [exec -> first edge ns])."""
    ctx = types.SimpleNamespace(blinkd=blinkd, workdir=workdir, rt_priority=rt_priority or None,
                                watch=types.SimpleNamespace(own=set()))
    ready, edge = [], []
    for i in range(tries):
        r, e = startup_once(ctx, i)
        ready.append(r)
        edge.append(e)
    return ready, edge


def startup_once(ctx, i):
    config_path = os.path.join(ctx.workdir, "startup.json")
    trace_path = os.path.join(ctx.workdir, f"startup-{i}.trace")
    notify_path = os.path.join(ctx.workdir, f"startup-{i}.notify")
    with open(config_path, "w") as f:
        json.dump(STARTUP_CONFIG, f)
    bus = sock = proc = None
    try:
        bus = Bus(ctx)
        for stale in (notify_path, trace_path):  # from an earlier run of the same work dir
            if os.path.exists(stale):
                os.unlink(stale)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(notify_path)
        sock.settimeout(10)
        env = dict(os.environ)
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.address
        env["NOTIFY_SOCKET"] = notify_path
        env.pop("WATCHDOG_USEC", None)
        argv = [ctx.blinkd, "--user", "--chip", "sim", "--config", config_path,
                "--state-dir", os.path.join(ctx.workdir, f"startup-{i}-state"),
                "--log-level", "warning", "--trace", trace_path]
        clock_r, clock_w = os.pipe()
        fifo = _set_fifo(ctx.rt_priority) if ctx.rt_priority else None

        def before_exec():
            if fifo:
                fifo()
            os.write(clock_w, str(time.monotonic_ns()).encode())
        try:
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    preexec_fn=before_exec)
        finally:
            os.close(clock_w)
        ctx.watch.own.add(proc.pid)
        with os.fdopen(clock_r) as f:
            t0 = int(f.read())
        t_ready = None
        deadline = time.monotonic() + 10
        while t_ready is None and time.monotonic() < deadline:
            data = sock.recv(4096)
            if b"READY=1" in data.split(b"\n") or data.startswith(b"READY=1"):
                t_ready = time.monotonic_ns()
        if t_ready is None:
            raise BenchError("blinkd sent no READY=1 within 10 s")
        with open(trace_path) as f:
            first = f.readline().split()
        if not first:
            time.sleep(0.05)
            with open(trace_path) as f:
                first = f.readline().split()
        if not first:
            raise BenchError("the autostart program wrote no edge")
        return t_ready - t0, int(first[0]) - t0
    except socket.timeout:
        raise BenchError("blinkd sent no READY=1 within 10 s")
    finally:
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if sock:
            sock.close()
        if bus:
            bus.close()
