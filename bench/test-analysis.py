#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Unit tests of the benchmark's analysis, on synthetic traces whose right
answers are known: exact edges, late edges, merged on/off pairs, lost edges,
stalls, the schedule check, percentiles, PWM duty cycles, drift. `meson test --suite unit` runs it;
it ends with "N passed, N failed" and exits non-zero on any failure."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from blinkbench.analysis import (analyse_edges, drift_figures, duty_figures, edge_lateness,  # noqa: E402
                                 find_stalls, percentile, pwm_window, schedule_check, summary)
from blinkbench.common import BenchError, NS_PER_S  # noqa: E402
from blinkbench.control import longest_hold, longest_send, parse_perf_holds  # noqa: E402
from blinkbench.workloads import (floor_arguments, lines_workload, seed_workload,  # noqa: E402
                                  workload_expected_edges)

MS = 1000 * 1000
T0 = 5_000_000_000  # an arbitrary CLOCK_MONOTONIC start instant


def blink(t0, interval, n, late=0, drop=()):
    """Edges of one line blinking from @t0: edge k at t0 + k*interval + late(k), lit when k is even."""
    edges = []
    for k in range(n):
        if k in drop:
            continue
        d = late(k) if callable(late) else late
        edges.append((t0 + k * interval + d, 1 if k % 2 == 0 else 0))
    return edges


class Percentiles(unittest.TestCase):
    def test_nearest_rank(self):
        values = list(range(1, 101))
        self.assertEqual(percentile(values, 50), 50)
        self.assertEqual(percentile(values, 99), 99)
        self.assertEqual(percentile(values, 100), 100)
        self.assertEqual(percentile([7], 99), 7)
        self.assertIsNone(percentile([], 50))

    def test_summary_any_order(self):
        s = summary([3, 1, 2])
        self.assertEqual((s["n"], s["p50"], s["max"], s["min"]), (3, 2, 3, 1))


class Lateness(unittest.TestCase):
    def test_exact_edges(self):
        edges = blink(T0, 10 * MS, 20)
        late, lost = edge_lateness(edges, 10 * MS, ref=T0)
        self.assertEqual(len(late), 20)
        self.assertTrue(all(x == 0 for _, x in late))
        self.assertEqual(lost, 0)

    def test_late_edges(self):
        edges = blink(T0, 10 * MS, 20, late=150_000)
        late, lost = edge_lateness(edges, 10 * MS, ref=T0)
        self.assertTrue(all(x == 150_000 for _, x in late))
        self.assertEqual(lost, 0)

    def test_first_edge_reference_skips_it(self):
        # Without the start instant the first edge is the reference and does not count.
        edges = blink(T0, 10 * MS, 10, late=lambda k: 40_000 if k == 0 else 100_000)
        late, _ = edge_lateness(edges, 10 * MS)
        self.assertEqual(len(late), 9)
        self.assertTrue(all(x == 60_000 for _, x in late))

    def test_merged_pair_is_lost_not_late(self):
        # A wakeup late past edges 4 and 5 writes their end result, which changes
        # nothing: the pair never reaches the wire.
        edges = blink(T0, 10 * MS, 12, drop=(4, 5))
        late, lost = edge_lateness(edges, 10 * MS, ref=T0)
        self.assertEqual(lost, 2)
        self.assertEqual(len(late), 10)
        self.assertTrue(all(x == 0 for _, x in late))

    def test_late_edge_after_a_merged_pair(self):
        # Edges 4 and 5 merged, edge 6 (lit) 3ms late: attributed to ideal edge 6.
        edges = blink(T0, 10 * MS, 8, drop=(4, 5), late=lambda k: 3 * MS if k == 6 else 0)
        late, lost = edge_lateness(edges, 10 * MS, ref=T0)
        self.assertEqual(lost, 2)
        self.assertEqual(dict(late)[T0 + 60 * MS + 3 * MS], 3 * MS)

    def test_later_than_half_an_interval_keeps_its_value(self):
        # A lit edge 6ms late at 10ms, nearer ideal edge 3 (dark) than edge 2:
        # its value says it is edge 2, 6ms late.
        edges = [(T0, 1), (T0 + 10 * MS, 0), (T0 + 26 * MS, 1)]
        late, lost = edge_lateness(edges, 10 * MS, ref=T0)
        self.assertEqual(late[-1][1], 6 * MS)
        self.assertEqual(lost, 0)

    def test_unapplied_counts_every_call(self):
        # asyncio writes every edge: the k-th write is edge k, however late.
        edges = blink(T0, 10 * MS, 6, late=lambda k: k * 7 * MS)
        late, lost = edge_lateness(edges, 10 * MS, applied=False)
        self.assertEqual([x for _, x in late], [7 * MS * k for k in range(1, 6)])
        self.assertEqual(lost, 0)


class ControlHolds(unittest.TestCase):
    # perf script -F time,event --ns of a loop: a timer's hold of 20 µs, then a
    # call's of 700 µs of which 600 µs in one sendmsg(), then 100 µs more.
    PERF = """
     100.000000000:  syscalls:sys_exit_epoll_wait:
     100.000020000: syscalls:sys_enter_epoll_wait:
     100.001000000:  syscalls:sys_exit_epoll_wait:
     100.001050000: syscalls:sys_enter_sendmsg:
     100.001650000:  syscalls:sys_exit_sendmsg:
     100.001700000: syscalls:sys_enter_epoll_wait:
     100.002000000:  syscalls:sys_exit_epoll_wait:
     100.002010000: syscalls:sys_enter_write:
     100.002090000:  syscalls:sys_exit_write:
     100.002100000: syscalls:sys_enter_epoll_wait:
    """.splitlines()

    def test_holds_and_their_writes(self):
        holds = parse_perf_holds(self.PERF)
        self.assertEqual(holds, [(100_000_020_000, 20_000, 0),
                                 (100_001_700_000, 700_000, 600_000),
                                 (100_002_100_000, 100_000, 0)])  # a trace write() is blinkd's own

    def test_longest_in_a_window(self):
        holds = parse_perf_holds(self.PERF)
        everything = (0, 200 * 10**9)
        self.assertEqual(longest_hold(holds, *everything), 700_000)
        self.assertEqual(longest_hold(holds, *everything, own=True), 100_000)
        self.assertEqual(longest_send(holds, *everything), 600_000)
        # A window that ends before the call's hold does not see it.
        self.assertEqual(longest_hold(holds, 0, 100_001_000_000), 20_000)
        self.assertIsNone(longest_hold(holds, 0, 1))


class Workloads(unittest.TestCase):
    def test_analyse_many_lines(self):
        lines = {o: blink(T0, (o + 1) * MS, 10, late=20_000) for o in range(5)}
        intervals = {o: (o + 1) * MS for o in range(5)}
        fig = analyse_edges(lines, intervals, applied=True, starts={o: T0 for o in range(5)})
        self.assertEqual(fig["edges"], 50)
        self.assertEqual(fig["lost_edges"], 0)
        self.assertEqual(fig["lateness"]["p99"], 20_000)
        self.assertEqual(fig["batches"], len({t for e in lines.values() for t, _ in e}))

    def test_timed_lateness_leaves_out_edge_0(self):
        # Edge 0 goes out 90 µs after the start instant (the Start call's own
        # time), every timed edge 3 µs late: the timed figures see only the 3.
        late = lambda k: 90_000 if k == 0 else 3_000  # noqa: E731
        lines = {o: blink(T0, 100 * MS, 10, late=late) for o in range(4)}
        intervals = {o: 100 * MS for o in range(4)}
        fig = analyse_edges(lines, intervals, applied=True, starts={o: T0 for o in range(4)})
        self.assertEqual(fig["lateness"]["n"], 40)
        self.assertEqual(fig["lateness"]["max"], 90_000)
        self.assertEqual(fig["lateness_timed"]["n"], 36)
        self.assertEqual(fig["lateness_timed"]["max"], 3_000)
        self.assertEqual(fig["first_edge_delay"]["p50"], 90_000)
        # Without start instants edge 0 is the reference and is not counted at all.
        fig = analyse_edges(lines, intervals, applied=True)
        self.assertEqual(fig["lateness_timed"]["n"], 36)
        self.assertEqual(fig["lateness"]["n"], 36)

    def test_schedule_of_the_seed(self):
        w = seed_workload(10)
        expected = workload_expected_edges(w)
        self.assertEqual(len(expected), 25)
        self.assertEqual(expected[11], 2 * 50)  # 100ms, 10s: 50 pairs
        lines = lines_workload(1000, 10, 10)
        self.assertEqual(sum(workload_expected_edges(lines).values()), 1000 * 1000)
        self.assertEqual(floor_arguments(seed_workload(10))[0], "11:100000:50")

    def test_schedule_check_exact(self):
        expected = {1: 6, 2: 6}
        lines = {1: blink(T0, MS, 6), 2: blink(T0, MS, 6)}
        self.assertEqual(schedule_check(lines, expected, 0), [])

    def test_schedule_check_lost_accounted(self):
        lines = {1: blink(T0, MS, 6, drop=(2, 3))}
        self.assertEqual(schedule_check(lines, {1: 6}, 2), [])
        self.assertNotEqual(schedule_check(lines, {1: 6}, 0), [])

    def test_schedule_check_silent_line(self):
        problems = schedule_check({1: blink(T0, MS, 6)}, {1: 6, 2: 6}, 0)
        self.assertTrue(any("never edged" in p for p in problems))

    def test_schedule_check_missing_tail(self):
        # The last pair never came: no lost edge before the last one, yet short.
        lines = {1: blink(T0, MS, 4)}
        late, lost = edge_lateness(lines[1], MS, ref=T0)
        self.assertEqual(lost, 0)
        self.assertNotEqual(schedule_check(lines, {1: 6}, lost), [])

    def test_schedule_check_stray_line(self):
        problems = schedule_check({1: blink(T0, MS, 6), 9: [(T0, 1)]}, {1: 6}, 0)
        self.assertTrue(any("outside" in p for p in problems))


class Stalls(unittest.TestCase):
    def test_two_stalls(self):
        per_time = [(1, 0), (2, 5 * MS), (3, 7 * MS), (4, 6 * MS), (5, 10), (6, 2 * MS), (7, 0)]
        s = find_stalls(per_time, MS)
        self.assertEqual(s, {"count": 2, "longest_ns": 7 * MS, "edges": 4})

    def test_none(self):
        self.assertEqual(find_stalls([(1, 0), (2, 999)], 1000)["count"], 0)
        self.assertIsNone(find_stalls([], 1000)["longest_ns"])

    def test_from_a_trace(self):
        # One line at 1ms, held 5ms once: edges 10..14 merged into one late write.
        edges = blink(T0, MS, 30, drop=(10, 11, 12, 13), late=lambda k: 400_000 if k == 14 else 0)
        fig = analyse_edges({3: edges}, {3: MS}, applied=True, starts={3: T0})
        self.assertEqual(fig["lost_edges"], 4)
        s = find_stalls(fig["_per_time"], 100_000)
        self.assertEqual((s["count"], s["longest_ns"]), (1, 400_000))


class Drift(unittest.TestCase):
    # Two lines blinking for ever from one start instant, as the drift phase
    # runs the seed's workload: line 1 every 100 ms, line 2 every 250 ms.
    WORKLOAD = {"matrix": [[1, 2]], "blinks": [([1], 100, None), ([2], 250, None)]}
    INTERVALS = {1: 100 * MS, 2: 250 * MS}
    START_CALL = 90_000  # edge 0 leaves with the Start call, this long after the start instant

    def trace(self, seconds, late):
        """Each line's edges over @seconds; edge k of a line @late(t) late
        (t its ideal time after T0), edge 0 START_CALL late."""
        return {o: blink(T0, i, seconds * NS_PER_S // i,
                         late=lambda k, i=i: self.START_CALL if k == 0 else late(k * i))
                for o, i in self.INTERVALS.items()}

    def test_no_drift(self):
        # Every timed edge 5 µs late over 40 s: no growth anywhere.
        fig = drift_figures(self.trace(40, lambda t: 5_000), self.WORKLOAD, 40 / 60, start_ns=T0)
        self.assertEqual(fig["edges"], 400 + 160)
        self.assertEqual(fig["lost_edges"], 0)
        self.assertEqual(fig["minutes"], 40 / 60)
        # A quarter of the run (first edge to last), since it is shorter than 4 minutes.
        self.assertEqual(fig["span_s"], ((399 * 100 * MS + 5_000) - self.START_CALL) // 4 / NS_PER_S)
        self.assertEqual(fig["first_span"]["p50"], 5_000)
        self.assertEqual(fig["last_span"]["p50"], 5_000)
        self.assertEqual(fig["slope_ns_per_min"], 0.0)
        # Each line's first timed edge, not edge 0, which the Start call wrote.
        self.assertEqual(fig["first_edges"], {"n": 2, "p50": 5_000, "p99": 5_000, "max": 5_000, "min": 5_000})
        self.assertEqual(fig["last_edges"]["max"], 5_000)
        # Edge 0 is in the lateness of every edge, as in the workloads' tables.
        self.assertEqual(fig["lateness"]["max"], self.START_CALL)

    def test_linear_drift(self):
        # Lateness growing 1 µs a second: a trend of 60 µs a minute, found
        # by the least squares over the windows' medians.
        fig = drift_figures(self.trace(120, lambda t: 5_000 + t // 1_000_000), self.WORKLOAD, 2, start_ns=T0)
        self.assertAlmostEqual(fig["slope_ns_per_min"], 60_000, delta=600)
        self.assertAlmostEqual(fig["span_s"], 30.0, delta=0.1)
        # The last 30 s against the first 30 s: medians 90 s apart.
        growth = fig["last_span"]["p50"] - fig["first_span"]["p50"]
        self.assertAlmostEqual(growth, 90_000, delta=1_000)
        # The lines' first timed edges at 100 and 250 ms, their last at 119.9 and 119.75 s.
        self.assertEqual((fig["first_edges"]["min"], fig["first_edges"]["max"]), (5_100, 5_250))
        self.assertEqual((fig["last_edges"]["min"], fig["last_edges"]["max"]), (124_750, 124_900))

    def test_spikes_are_no_trend(self):
        # Constant lateness but for a burst of 20 edges 5 ms late near the
        # end: the windows' medians do not move, so neither does the trend
        # (a mean would make it a slope).
        burst = range(110 * NS_PER_S, 112 * NS_PER_S)
        fig = drift_figures(self.trace(120, lambda t: 5 * MS if t in burst else 5_000), self.WORKLOAD, 2,
                            start_ns=T0)
        self.assertEqual(fig["lateness"]["max"], 5 * MS)
        self.assertEqual(fig["slope_ns_per_min"], 0.0)
        self.assertEqual(fig["last_span"]["p50"], 5_000)

    def test_span_is_at_most_a_minute(self):
        fig = drift_figures(self.trace(600, lambda t: 5_000), self.WORKLOAD, 10, start_ns=T0)
        self.assertEqual(fig["span_s"], 60.0)
        self.assertEqual(fig["first_span"]["n"], 601 + 241)  # edges 0 to 600 and 0 to 240

    def test_lost_edges_are_counted(self):
        # Line 1's edges 100 and 101 merged (a wakeup past both).
        lines = self.trace(40, lambda t: 5_000)
        lines[1] = [e for k, e in enumerate(lines[1]) if k not in (100, 101)]
        fig = drift_figures(lines, self.WORKLOAD, 40 / 60, start_ns=T0)
        self.assertEqual(fig["lost_edges"], 2)
        self.assertEqual(fig["edges"], 400 + 160 - 2)

    def test_no_edges(self):
        with self.assertRaises(BenchError):
            drift_figures({1: [], 2: []}, self.WORKLOAD, 1, start_ns=T0)


def pwm_rows(numbers, period, on, periods, t0=T0, skip=()):
    """Trace lines of @numbers switched together: on at each period's start for
    @on ns, for @periods periods; the periods in @skip have no pulse."""
    rows = []
    for k in range(periods):
        if k in skip:
            continue
        for value, t in ((1, t0 + k * period), (0, t0 + k * period + on)):
            rows += [f"{t} {n} {value}\n" for n in numbers]
    return rows


class Duty(unittest.TestCase):
    PERIOD = 5 * MS  # 200 Hz

    def test_exact(self):
        rows = pwm_rows([1, 2], self.PERIOD, 1_500_000, 200)
        w = pwm_window(rows, T0, T0 + 200 * self.PERIOD)
        self.assertEqual((w["edges"], w["batches"]), (800, 400))
        self.assertEqual(w["lines"][1], {"on_ns": 200 * 1_500_000, "rising": 200, "edges": 400})
        d = duty_figures(w, {1: 0.3, 2: 0.3}, 200)
        self.assertAlmostEqual(d["duty_p50"], 0.3)
        self.assertAlmostEqual(d["duty_error_max"], 0.0)
        self.assertAlmostEqual(d["rising_per_line_s_min"], 200.0)
        self.assertAlmostEqual(d["missing_periods_fraction"], 0.0)
        self.assertAlmostEqual(d["edges_per_s"], 800.0)

    def test_window_cuts_a_pulse(self):
        # Lit across the window's start: lit from t_from; lit at its end: until t_to.
        rows = pwm_rows([4], self.PERIOD, 2_500_000, 20)
        t_from, t_to = T0 + 1_000_000, T0 + 10 * self.PERIOD + 1_000_000
        w = pwm_window(rows, t_from, t_to)
        self.assertEqual(w["lines"][4]["on_ns"], 1_500_000 + 9 * 2_500_000 + 1_000_000)
        self.assertEqual(w["lines"][4]["rising"], 10)

    def test_short_on_time_fails(self):
        # On-times 10% short: 0.27 instead of 0.3, an error of 0.03.
        w = pwm_window(pwm_rows([1], self.PERIOD, 1_350_000, 100), T0, T0 + 100 * self.PERIOD)
        d = duty_figures(w, {1: 0.3}, 200)
        self.assertAlmostEqual(d["duty_error_worst"], -0.03)
        self.assertGreater(d["duty_error_max"], 0.02)

    def test_missing_periods_and_dark_line(self):
        rows = pwm_rows([1], self.PERIOD, 1_500_000, 100, skip=range(0, 100, 4))
        w = pwm_window(rows, T0, T0 + 100 * self.PERIOD)
        d = duty_figures(w, {1: 0.3, 9: 0.3}, 200)  # line 9 never edged: dark all along
        self.assertEqual(d["duty_min"], 0.0)
        self.assertAlmostEqual(d["duty_max"], 0.225)
        self.assertAlmostEqual(d["rising_per_line_s_max"], 150.0)
        self.assertAlmostEqual(d["missing_periods_fraction"], 0.625)

    def test_levels_and_physical_field(self):
        # A level written as 0.dddd is not lit; an active-low line's fourth field is ignored.
        rows = [f"{T0} 1 0.5000\n", f"{T0 + MS} 2 1 0\n", f"{T0 + 3 * MS} 2 0 1\n"]
        w = pwm_window(rows, T0, T0 + 4 * MS)
        self.assertEqual(w["lines"][1]["on_ns"], 0)
        self.assertEqual(w["lines"][2]["on_ns"], 2 * MS)


def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
