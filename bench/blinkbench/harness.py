# SPDX-License-Identifier: MIT
"""The processes the benchmark runs and how it measures them: private buses,
blinkd, bench-client, the floor, cyclictest, CPU accounting from /proc."""
import ctypes
import json
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import time

from .common import BenchError, NS_PER_S, NS_PER_US, SOURCE_ROOT


# -------------------------------------------------------------------- /proc
def proc_counters(pid):
    """CPU time (ns, schedstat), context switches and memory of a process, summed over threads."""
    c = {"cpu_ns": 0, "voluntary": 0, "nonvoluntary": 0, "threads": 0, "t_ns": time.monotonic_ns()}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                c["cpu_ns"] += int(f.read().split()[0])
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key == "voluntary_ctxt_switches":
                        c["voluntary"] += int(value)
                    elif key == "nonvoluntary_ctxt_switches":
                        c["nonvoluntary"] += int(value)
            c["threads"] += 1
        except FileNotFoundError:
            pass
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "VmData"):
                c[key] = int(value.split()[0]) * 1024
    return c


def thread_counters(pid, tid):
    """(CPU ns, voluntary context switches) of one thread."""
    with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
        cpu = int(f.read().split()[0])
    with open(f"/proc/{pid}/task/{tid}/status") as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return cpu, int(line.split(":")[1])
    return cpu, 0


def counters_delta(a, b):
    return {k: b[k] - a[k] for k in ("cpu_ns", "voluntary", "nonvoluntary", "t_ns")}


def machine_busy():
    """(busy jiffies, total jiffies) of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def process_cpu_table():
    """pid -> (cpu jiffies, command) for every process."""
    table = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2:].split()
        table[int(pid)] = (int(rest[11]) + int(rest[12]), cmd or stat[stat.index("(") + 1:stat.rindex(")")])
    return table


class LoadWatch:
    """What else ran on the machine meanwhile: benchmarks on a shared machine must say so."""

    def __init__(self):
        self.start_table = process_cpu_table()
        self.start_busy = machine_busy()
        self.start_own = self.own_cpu_s()
        self.start_ns = time.monotonic_ns()
        self.loadavg_start = os.getloadavg()
        self.own = set()

    @staticmethod
    def own_cpu_s():
        """CPU seconds of bench/run and every child it reaped (daemons, buses, asyncio, cyclictest)."""
        total = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            u = resource.getrusage(who)
            total += u.ru_utime + u.ru_stime
        return total

    def finish(self):
        hz = os.sysconf("SC_CLK_TCK")
        end_table = process_cpu_table()
        busy = machine_busy()
        others = []
        for pid, (cpu, cmd) in end_table.items():
            if pid in self.own or pid == os.getpid():
                continue
            before = self.start_table.get(pid, (0, cmd))[0]
            if cpu - before > 0:
                others.append(((cpu - before) / hz, pid, cmd))
        others.sort(reverse=True)
        wall = (busy[1] - self.start_busy[1]) or 1
        # Processes that came and went meanwhile are in no snapshot: the machine's
        # busy time less our own is what everybody else used.
        machine_cpu_s = (busy[0] - self.start_busy[0]) / hz
        own_cpu_s = self.own_cpu_s() - self.start_own
        return {
            "machine_cpu_s": machine_cpu_s,
            "own_cpu_s": own_cpu_s,
            "others_total_cpu_s": max(0.0, machine_cpu_s - own_cpu_s),
            "wall_s": (time.monotonic_ns() - self.start_ns) / NS_PER_S,
            "loadavg_start": self.loadavg_start,
            "loadavg_end": os.getloadavg(),
            "machine_busy_fraction": (busy[0] - self.start_busy[0]) / wall,
            "others_cpu_s": sum(o[0] for o in others),
            "top_others": [(round(s, 1), pid, cmd[:80]) for s, pid, cmd in others[:5]],
        }


# ------------------------------------------------------------ the processes
_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_TIMERSLACK = 29


def _set_timer_slack(ns):
    def preexec():
        _libc.prctl(PR_SET_TIMERSLACK, ctypes.c_ulong(ns), 0, 0, 0)
    return preexec


def unit_realtime_priority():
    """CPUSchedulingPriority= of blinkd.service if it sets CPUSchedulingPolicy=fifo, else None."""
    policy = priority = None
    with open(os.path.join(SOURCE_ROOT, "systemd", "blinkd.service.in")) as f:
        for line in f:
            if line.startswith("CPUSchedulingPolicy="):
                policy = line.split("=", 1)[1].strip()
            elif line.startswith("CPUSchedulingPriority="):
                priority = int(line.split("=", 1)[1])
    return priority if policy == "fifo" and priority else None


def _set_fifo(priority):
    """preexec_fn: SCHED_FIFO at @priority, as blinkd.service runs the daemon (needs root)."""
    def preexec():
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    return preexec


class Bus:
    """A private dbus-daemon: each daemon instance gets a fresh one, so no name lingers."""

    def __init__(self, ctx):
        with open(os.path.join(ctx.workdir, "dbus-daemon.log"), "a") as log_file:
            self.proc = subprocess.Popen(
                ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
                stdout=subprocess.PIPE, stderr=log_file, text=True)
        ctx.watch.own.add(self.proc.pid)
        self.address = self.proc.stdout.readline().strip()
        if not self.address:
            raise BenchError("dbus-daemon did not print its address")

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Client:
    """bench-client, driven one command a line; answers carry CLOCK_MONOTONIC ns."""

    def __init__(self, ctx, env):
        self.proc = subprocess.Popen([ctx.client], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env, bufsize=1)
        ctx.watch.own.add(self.proc.pid)

    def call(self, *fields):
        self.proc.stdin.write("\t".join(str(f) for f in fields) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise BenchError(f"bench-client died during {fields[0]}")
        parts = line.split()
        return {
            "ok": parts[0] == "ok",
            "sent": int(parts[1]),
            "reply": int(parts[2]),
            "extra": parts[3:],
        }

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.proc.wait(timeout=10)


class Daemon:
    """blinkd --user --chip sim --trace on its own bus, with a client connected."""

    def __init__(self, ctx, name, config, env_extra=None, trace=True, realtime=True, wrapper=None):
        self.ctx = ctx
        self.name = name
        self.config_path = os.path.join(ctx.workdir, f"{name}.json")
        self.trace_path = os.path.join(ctx.workdir, f"{name}.trace")
        self.log_path = os.path.join(ctx.workdir, f"{name}.log")
        with open(self.config_path, "w") as f:
            json.dump(config, f)
        for path in (self.trace_path,):
            if os.path.exists(path):
                os.unlink(path)
        self.bus = Bus(ctx)
        env = dict(os.environ)
        env["DBUS_SESSION_BUS_ADDRESS"] = self.bus.address
        env.pop("NOTIFY_SOCKET", None)
        env.pop("WATCHDOG_USEC", None)
        env.update(env_extra or {})
        with open(self.log_path, "w") as log_file:
            self.proc = subprocess.Popen(
                (wrapper or []) + [ctx.blinkd, "--user", "--chip", "sim", "--config", self.config_path,
                 "--state-dir", self.config_path[:-len(".json")] + "-state",
                 "--log-level", "warning"] + (["--trace", self.trace_path] if trace else []),
                stderr=log_file, stdout=subprocess.DEVNULL, env=env,
                preexec_fn=_set_fifo(ctx.rt_priority) if realtime and ctx.rt_priority else None)
        ctx.watch.own.add(self.proc.pid)
        self.pid = self.proc.pid
        client_env = dict(os.environ)
        client_env["DBUS_SESSION_BUS_ADDRESS"] = self.bus.address
        self.client = Client(ctx, client_env)
        answer = self.client.call("wait", 10000)
        if not answer["ok"] or self.proc.poll() is not None:
            self.close(quiet=True)
            raise BenchError(f"blinkd did not come up; see {self.log_path}:\n" + self.log())
        if wrapper:
            # The wrapper (strace) runs blinkd as its child: signals and /proc go to blinkd.
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                self.pid = int(f.read().split()[0])

    def counters(self):
        return proc_counters(self.pid)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def close(self, quiet=False):
        """SIGTERM: every lit line goes dark, exit 0."""
        rc = None
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                rc = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        else:
            rc = self.proc.returncode
        self.client.close()
        self.bus.close()
        if rc != 0 and not quiet:
            raise BenchError(f"blinkd ({self.name}) exited with {rc}; log:\n{self.log()}")



ALLOCATORS = ("malloc", "calloc", "realloc")


def _libc_of(pid):
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            if "libc.so" in line or "libc-" in line:
                return line.split()[-1]
    return None


class _LibcProbes:
    """perf uprobes on the libc of @pid's malloc, calloc and realloc, named
    after this process so that two benchmarks on one machine do not clash;
    removed again on exit. .events is empty when perf or the probes are not
    available (no perf, not root, no tracefs)."""

    def __init__(self, pid):
        self.perf = shutil.which("perf")
        self.pid = pid
        self.prefix = f"blinkd_bench{os.getpid()}_"
        self.added = []

    def __enter__(self):
        libc = _libc_of(self.pid) if self.perf else None
        if libc:
            for fn in ALLOCATORS:
                r = subprocess.run([self.perf, "probe", "-q", "-x", libc, f"{self.prefix}{fn}={fn}"],
                                   capture_output=True, text=True)
                if r.returncode == 0:
                    self.added.append(fn)
        return self

    @property
    def events(self):
        return ",".join(f"probe_libc:{self.prefix}{fn}" for fn in self.added)

    def __exit__(self, *exc):
        for fn in self.added:
            subprocess.run([self.perf, "probe", "-q", "-d", f"probe_libc:{self.prefix}{fn}"],
                           capture_output=True)


def count_allocations(pid, seconds, during=None):
    """malloc/calloc/realloc calls of the daemon in steady state, through perf uprobes
    (perf stat -p PID over @seconds). @during, if given, is called once the
    count runs (a positive control: calls known to allocate). None when perf
    or its uprobes are not available."""
    with _LibcProbes(pid) as probes:
        if not probes.added:
            return None
        proc = subprocess.Popen([probes.perf, "stat", "-x", ",", "-e", probes.events, "-p", str(pid),
                                 "--", "sleep", str(seconds)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            if during:
                time.sleep(min(0.5, seconds / 4))  # perf attached
                during()
            _, err = proc.communicate(timeout=seconds + 60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        counts = {}
        for line in err.splitlines():
            parts = line.split(",")
            if len(parts) > 2 and parts[2].startswith(f"probe_libc:{probes.prefix}"):
                counts[parts[2].split(probes.prefix)[1]] = int(parts[0]) if parts[0].isdigit() else None
        if not counts:
            return None
        counts["seconds"] = seconds
        return counts


def allocation_stacks(pid, seconds, workdir, top=3, depth=8):
    """Where the daemon allocates: perf record of the same uprobes with DWARF
    call graphs over @seconds; the @top most frequent stacks (innermost
    first, @depth named frames, the allocator's own frame left out) as
    (count, "fn < caller < ...") pairs. None when perf cannot do it."""
    with _LibcProbes(pid) as probes:
        if not probes.added:
            return None
        data = os.path.join(workdir, f"alloc-{pid}.perf")
        r = subprocess.run([probes.perf, "record", "-q", "-o", data, "-e", probes.events,
                            "--call-graph", "dwarf,16384", "-p", str(pid), "--", "sleep", str(seconds)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return None
    r = subprocess.run([probes.perf, "script", "-i", data, "-F", "event,ip,sym"],
                       capture_output=True, text=True)
    try:
        os.unlink(data)
    except OSError:
        pass
    stacks = {}
    frames = None
    for line in r.stdout.splitlines() + [""]:
        if "probe_libc:" in line:
            frames = [line.split("probe_libc:")[1].split(":")[0].replace(probes.prefix, "")]
        elif line.strip() and frames is not None:
            sym = line.split(None, 1)[1].strip() if len(line.split(None, 1)) > 1 else "?"
            sym = sym.replace(" (inlined)", "")
            if sym != "[unknown]" and "libc_malloc" not in sym and "libc_calloc" not in sym \
                    and "libc_realloc" not in sym and len(frames) <= depth:
                frames.append(sym)
        elif frames is not None:
            key = frames[0] + ": " + " < ".join(frames[1:])
            stacks[key] = stacks.get(key, 0) + 1
            frames = None
    return sorted(((n, k) for k, n in stacks.items()), reverse=True)[:top]


def cyclictest(ctx, slack_ns, seconds, interval_us=10000):
    exe = shutil.which("cyclictest")
    if not exe:
        return None
    # The daemon's policy: SCHED_FIFO at the unit's priority, or normal. For
    # a normal thread no --priority: an explicit one, even 0, makes it FIFO.
    # --laptop: leave /dev/cpu_dma_latency alone, as blinkd does.
    policy = ["--policy=fifo", f"--priority={ctx.rt_priority}"] if ctx.rt_priority else ["--policy=other"]
    cmd = [exe, "--threads=1"] + policy + [f"--interval={interval_us}",
           f"--duration={seconds}", "--histogram=100000", "--quiet", "--laptop"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_set_timer_slack(slack_ns) if slack_ns else None)
    ctx.watch.own.add(proc.pid)
    try:
        return cyclictest_result(proc, seconds, slack_ns, interval_us,
                                 os.SCHED_FIFO if ctx.rt_priority else os.SCHED_OTHER)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def cyclictest_result(proc, seconds, slack_ns, interval_us, policy):
    cpu_ns = wakeups = None
    try:
        time.sleep(min(1.0, seconds / 4))
        tid = max(int(t) for t in os.listdir(f"/proc/{proc.pid}/task"))
        if os.sched_getscheduler(tid) != policy:
            proc.kill()
            raise BenchError("cyclictest's measuring thread does not run at blinkd's policy")
        a = thread_counters(proc.pid, tid)
        time.sleep(max(0.2, seconds / 2))
        b = thread_counters(proc.pid, tid)
        cpu_ns, wakeups = b[0] - a[0], b[1] - a[1]
    except (OSError, ValueError):
        pass
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise BenchError(f"cyclictest failed: {err}")
    hist = []
    maximum = None
    overflows = 0
    for line in out.splitlines():
        m = re.match(r"^(\d+)\s+(\d+)", line)
        if m:
            hist.append((int(m.group(1)), int(m.group(2))))
        elif line.startswith("# Max Latencies:"):
            maximum = int(line.split(":")[1].split()[0])
        elif line.startswith("# Histogram Overflows:"):
            overflows = int(line.split(":")[1].split()[0])
    total = sum(c for _, c in hist) + overflows

    def hist_percentile(p):
        rank = math.ceil(p / 100.0 * total)
        seen = 0
        for us, c in hist:
            seen += c
            if seen >= rank:
                return us * NS_PER_US
        return maximum * NS_PER_US if maximum is not None else None

    return {
        "slack_ns": slack_ns,
        "interval_us": interval_us,
        "samples": total,
        "cpu_per_wakeup_ns": cpu_ns / wakeups if wakeups else None,
        "lateness": {"n": total, "p50": hist_percentile(50), "p99": hist_percentile(99),
                     "max": maximum * NS_PER_US if maximum is not None else None},
    }



# ---------------------------------------------------------------------- main
def find_binaries(args):
    build = args.build or os.path.join(SOURCE_ROOT, "build")
    blinkd = os.environ.get("BLINKD") or os.path.join(build, "daemon", "blinkd")
    client = os.environ.get("BENCH_CLIENT") or os.path.join(build, "bench", "bench-client")
    for path, what in ((blinkd, "blinkd"), (client, "bench-client")):
        if not os.access(path, os.X_OK):
            raise BenchError(f"{what} not found at {path}: build first (meson setup build && ninja -C build), "
                             "or pass --build DIR, or set BLINKD / BENCH_CLIENT")
    for tool in ("dbus-daemon",):
        if not shutil.which(tool):
            raise BenchError(f"{tool} is missing (Debian package dbus-daemon)")
    return blinkd, client


def find_floor(args):
    """The floor program of the build (bench/floor), or $FLOOR."""
    build = args.build or os.path.join(SOURCE_ROOT, "build")
    path = os.environ.get("FLOOR") or os.path.join(build, "bench", "floor")
    if not os.access(path, os.X_OK):
        raise BenchError(f"floor not found at {path}: build first, or set FLOOR")
    return path


def run_floor(ctx, blink_args, trace_path):
    """Run bench/floor on @blink_args (OFFSETS:INTERVAL_US:TIMES each) at blinkd's
    scheduling policy until it ends. Returns its start instant, CPU ns and wakeups."""
    if os.path.exists(trace_path):
        os.unlink(trace_path)
    proc = subprocess.Popen([ctx.floor, "--trace", trace_path] + blink_args,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_set_fifo(ctx.rt_priority) if ctx.rt_priority else None)
    ctx.watch.own.add(proc.pid)
    try:
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise BenchError(f"floor failed ({proc.returncode}): {err}")
    start_ns, cpu_ns, wakeups = (int(x) for x in out.split())
    return {"start_ns": start_ns, "cpu_ns": cpu_ns, "wakeups": wakeups}
