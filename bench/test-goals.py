#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Unit tests of the benchmark's goals (bench/blinkbench/goals.py): the
verdict at, below and above each kind of threshold; the table's integrity
(names, comparisons, units, issues, ratios naming what they are against, the
printed text saying what the row says); and that the reports judge every goal
of the table and no other, through verdict(). `meson test --suite unit` runs
it; it ends with "N passed, N failed" and exits non-zero on any failure."""
import os
import re
import string
import sys
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from blinkbench import compare, goals, persist, report  # noqa: E402
from blinkbench.goals import FAIL, GOAL, GOALS, NO_FIGURE, PASS, Goal, verdict  # noqa: E402
from blinkbench.levels import DIMS, PWM_HZ, SMOKE_DIMS  # noqa: E402

MS = 1000 * 1000


def goal(comparison, threshold):
    return Goal("test", "test.figure", comparison, threshold, "ns", 7, None, "")


class Verdict(unittest.TestCase):
    def test_at_most(self):
        g = goal("<=", 1.5)
        self.assertEqual(verdict(g, 1.5), PASS)
        self.assertEqual(verdict(g, 1.4999), PASS)
        self.assertEqual(verdict(g, 1.5001), FAIL)
        self.assertEqual(verdict(g, -3), PASS)

    def test_under(self):
        g = goal("<", 10 * MS)
        self.assertEqual(verdict(g, 10 * MS), FAIL)
        self.assertEqual(verdict(g, 10 * MS - 1), PASS)

    def test_equal(self):
        g = goal("==", 0)
        self.assertEqual(verdict(g, 0), PASS)
        self.assertEqual(verdict(g, 0.0), PASS)
        self.assertEqual(verdict(g, 1), FAIL)
        self.assertEqual(verdict(g, -0.001), FAIL)

    def test_no_figure(self):
        # Not measured is neither met nor missed; 0 is a figure.
        for c in goals.COMPARISONS:
            self.assertEqual(verdict(goal(c, 0), None), NO_FIGURE)
            self.assertNotEqual(verdict(goal(c, 0), 0), NO_FIGURE)

    def test_nan_never_meets_a_goal(self):
        for c in goals.COMPARISONS:
            self.assertEqual(verdict(goal(c, 1.0), float("nan")), FAIL)


# How the reports write a threshold: the number times this is the figure's unit.
SCALE = {"": 1, "x": 1, "ms": MS, "µs": 1000, "MiB": 1024 * 1024}
SCALE_UNITS = {"ms": "ns", "µs": "ns", "MiB": "bytes", "x": "x"}


def read_text(text):
    """(comparison, threshold) as a goal's printed text says them."""
    m = re.search(r"≥ (\d+)x less than", text)
    if m:
        return "<=", 1 / int(m.group(1)), "x"
    m = re.search(r"(≤|<|at most) (\d+(?:\.\d+)?) ?(x|ms|µs|MiB)?", text)
    if m:
        comparison = "<" if m.group(1) == "<" else "<="
        return comparison, float(m.group(2)) * SCALE[m.group(3) or ""], m.group(3)
    m = re.match(r"(\d+)( |$)", text)
    if m:
        return "==", float(m.group(1)), None
    if "no larger than" in text:
        return "<=", 0, None
    raise ValueError(f"cannot read the goal {text!r}")


class Table(unittest.TestCase):
    def test_names_unique(self):
        names = [g.name for g in GOALS]
        self.assertEqual(len(names), len(set(names)))
        self.assertEqual(set(GOAL), set(names))

    def test_rows_well_formed(self):
        for g in GOALS:
            with self.subTest(goal=g.name):
                self.assertIn(g.comparison, goals.COMPARISONS)
                self.assertIn(g.unit, goals.UNITS)
                self.assertIn(g.issue, (7, 17, 23, 24, None))
                self.assertIsInstance(g.threshold, (int, float))
                self.assertFalse(isinstance(g.threshold, bool))
                self.assertTrue(g.text)
                fields = {f for _, f, _, _ in string.Formatter().parse(g.figure) if f is not None}
                self.assertLessEqual(fields, {"hz", "workload"})

    def test_ratios_say_what_they_are_against(self):
        for g in GOALS:
            with self.subTest(goal=g.name):
                if g.unit == "x":
                    self.assertTrue(g.against)
                    self.assertTrue(g.figure.startswith("ratio."))
                if g.against:
                    self.assertNotEqual(g.against, g.figure)

    def test_text_says_what_the_row_says(self):
        # "< 20 ms" must be "<" 20,000,000 ns: the printed goal and the
        # judged one are the same goal.
        for g in GOALS:
            with self.subTest(goal=g.name, text=g.text):
                comparison, threshold, shown_unit = read_text(g.text)
                self.assertEqual(comparison, g.comparison)
                self.assertAlmostEqual(threshold, g.threshold)
                if shown_unit:
                    self.assertEqual(SCALE_UNITS[shown_unit], g.unit)

    def test_figure_key(self):
        self.assertEqual(GOAL["levels.duty_error"].figure_key(hz=200, workload="dim5"),
                         "levels.hz200.dim5.duty_error_max")
        self.assertEqual(GOAL["seed.floor.lateness_p99"].figure_key(), "ratio.seed.floor.lateness_timed.p99")


def every_figure():
    """Medians that hold every figure the reports judge, and what they need
    to print those rows: each goal's figure is 1, so some pass and some fail."""
    med = {}
    for g in GOALS:
        for hz in PWM_HZ:
            med[f"levels.hz{hz}.idle.seconds"] = 5
            for key, _, _ in DIMS + SMOKE_DIMS + [("fade25", 0, "")]:
                med[f"levels.hz{hz}.{key}.lines"] = 1
                med[g.figure_key(hz=hz, workload=key)] = 1
    med["start_latency.failed_starts"] = 1
    return med


DRIFT = {"minutes": 10, "span_s": 60.0, "edges": 100, "lost_edges": 0,
         "first_span": {"p50": 5, "p99": 6}, "last_span": {"p50": 5, "p99": 6},
         "first_edges": {"p50": 5, "max": 6}, "last_edges": {"p50": 5, "max": 6}, "slope_ns_per_min": 0.0}
ARGS = types.SimpleNamespace(blinkd_path="blinkd", blinkd_label="", policy_label="", smoke=False)
MACHINE = {"nproc": 2, "cpu": "", "kernel": "", "python": "", "clocksource": ""}
LOAD = {"top_others": [], "wall_s": 60, "loadavg_start": (0,), "loadavg_end": (0,), "machine_cpu_s": 0,
        "own_cpu_s": 0, "others_total_cpu_s": 0}


def render_all(med, drift=DRIFT):
    return (report.render(med, 1, MACHINE, LOAD, drift, ARGS) + report.render_issue17(med, [], None)
            + report.render_levels(med, {}, []))


class Reports(unittest.TestCase):
    def setUp(self):
        self.judged = []
        real = goals.verdict

        def recording(goal, figure):
            self.judged.append((goal.name, figure))
            return real(goal, figure)
        self.saved = report.verdict, persist.verdict, compare.verdict
        report.verdict = persist.verdict = compare.verdict = recording

    def tearDown(self):
        report.verdict, persist.verdict, compare.verdict = self.saved

    def test_every_goal_judged(self):
        # Each row of the table is judged by a report, through verdict(), and
        # no report judges a goal of its own.
        render_all(every_figure())
        persist.holds_verdict(400_000)
        compare.render(compare.summarise([SEED_LINES(100, 100)], [SEED_LINES(101, 101)]))
        compare.render(compare.summarise([SEED_LINES(100, 100)], [SEED_LINES(101, 101)]), "the engine alone",
                       "compare.engine")
        self.assertEqual({name for name, _ in self.judged}, set(GOAL))

    def test_verdict_printed(self):
        # The startup goal of issue 17: under 20 ms, so 20 ms is missed.
        med = {"startup.ready.p50": 20 * MS, "startup.first_edge.p50": 20 * MS - 1}
        text = render_all(med)
        ready = next(line for line in text.splitlines() if line.startswith("| exec → READY=1, p50"))
        edge = next(line for line in text.splitlines() if line.startswith("| exec → first autostart edge"))
        self.assertIn("| 20.00 ms | **missed** |", ready)
        self.assertIn("| 20.00 ms | met |", edge)
        scale = next(line for line in text.splitlines() if line.startswith("| CPU per edge, 10 to 100,000"))
        self.assertIn("| — | not measured |", scale)

    def test_drift_verdicts(self):
        # The last span's median 1 ns above the first's is missed; the trend
        # of 1 µs a minute over 10 minutes is 10 µs, the most the goal allows.
        drift = dict(DRIFT, last_span={"p50": 6, "p99": 6}, slope_ns_per_min=1000.0)
        rows = [line for line in render_all({}, drift).splitlines() if line.startswith("| drift over")]
        self.assertTrue(rows[0].endswith("| last median no larger than first | **missed** |"), rows[0])
        self.assertTrue(rows[2].endswith("| no growth (≤ 10 µs over the run) | met |"), rows[2])

    def test_persist_sentence(self):
        self.assertIn("(met: at most 0.5 ms)", persist.holds_verdict(500_000))
        self.assertIn("(not met: at most 0.5 ms)", persist.holds_verdict(500_001))


def SEED_LINES(seed_ns, lines_ns):
    """One run's flattened figures as bench/compare reads them."""
    return {"seed.blinkd.cpu_per_wakeup_ns": seed_ns, "lines.blinkd.cpu_per_wakeup_ns": lines_ns}


class Compare(unittest.TestCase):
    def test_median_of_the_pairs_ratios(self):
        # Pair by pair, not the ratio of the medians: 200 -> 230 in the
        # middle pair makes the medians 15 % apart while two pairs in three
        # are within 1 %.
        before = [SEED_LINES(100, 100), SEED_LINES(200, 100), SEED_LINES(400, 100)]
        after = [SEED_LINES(101, 100), SEED_LINES(230, 100), SEED_LINES(390, 100)]
        s = compare.summarise(before, after)
        self.assertAlmostEqual(s["seed"]["ratio"], 1.01)
        self.assertEqual(len(s["seed"]["ratios"]), 3)
        self.assertEqual(s["seed"]["before_ns"], 200)
        self.assertEqual(s["seed"]["after_ns"], 230)
        self.assertAlmostEqual(s["lines"]["ratio"], 1.0)

    def test_a_pair_without_a_figure_gives_no_ratio(self):
        before = [SEED_LINES(100, None), SEED_LINES(100, 100)]
        after = [SEED_LINES(100, 100), SEED_LINES(100, 110)]
        s = compare.summarise(before, after)
        self.assertEqual(s["lines"]["ratios"], [1.1])
        s = compare.summarise([SEED_LINES(None, None)], [SEED_LINES(None, None)])
        self.assertIsNone(s["seed"]["ratio"])

    def test_verdict(self):
        table, ok = compare.render(compare.summarise([SEED_LINES(1000, 1000)], [SEED_LINES(1030, 1000)]))
        self.assertTrue(ok, table)
        self.assertIn("| 1.030 | ≤ 1.03x | met |", table)
        table, ok = compare.render(compare.summarise([SEED_LINES(1000, 1000)], [SEED_LINES(1000, 1031)]))
        self.assertFalse(ok)
        self.assertIn("| 1.031 | ≤ 1.03x | **missed** |", table)
        table, ok = compare.render(compare.summarise([SEED_LINES(None, 1000)], [SEED_LINES(None, 1000)]))
        self.assertFalse(ok)
        self.assertIn("| — | ≤ 1.03x | not measured |", table)

    def test_engine_loop_output(self):
        out = ("seed: 15148 wakeups, 20552 values a round, 66.4 ns CPU per wakeup (least of 5 rounds of 200 s)\n"
               "lines: 20000 wakeups, 20001000 values a round, 8310.9 ns CPU per wakeup (least of 5 rounds of 200 s)\n")
        self.assertEqual(compare.parse_engine_loop(out), SEED_LINES(66.4, 8310.9))
        table, ok = compare.render(compare.summarise([compare.parse_engine_loop(out)], [SEED_LINES(68.5, 8000)]),
                                   "the engine alone", "compare.engine")
        self.assertFalse(ok)
        self.assertIn("| the seed's workload | 66.4 ns | 68.5 ns | 1.032 | 1.032 | ≤ 1.03x | **missed** |", table)


def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors)
    print(f"{result.testsRun - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
