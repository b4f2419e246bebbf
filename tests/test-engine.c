/* SPDX-License-Identifier: MIT */
/*
 * The engine on a virtual clock: every edge at its exact microsecond, no
 * sleeping. A recording backend keeps each batch the engine writes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "program-duration.h"
#include "test.h"

#define MS USEC_PER_MSEC
#define S USEC_PER_SEC

typedef struct Edge {
	usec_t t;
	unsigned offset;
	uint8_t value;	/* lit or not */
	uint16_t level;	/* as told to the backend */
} Edge;

typedef struct Recorder {
	Edge edges[4096];
	size_t n_edges;
	usec_t batch_times[4096];
	size_t batch_sizes[4096];
	size_t n_batches;
	int fail_next; /* make the next commit fail with this */

	struct {
		char name[32];
		RunResult result;
		usec_t t;
		const char *failure;
	} ended[64];
	size_t n_ended;
	Engine *engine;
} Recorder;

static Recorder rec;
static Layout *layout;

static int rec_commit(void *userdata, usec_t now, size_t n, const unsigned *offsets,
		      const uint16_t *values)
{
	Recorder *r = userdata;

	if (r->fail_next) {
		int e = r->fail_next;
		r->fail_next = 0;
		return e;
	}
	r->batch_times[r->n_batches] = now;
	r->batch_sizes[r->n_batches++] = n;
	/* Every batch, few lines or many, in offset order, each line once. */
	for (size_t i = 1; i < n; i++)
		check(offsets[i - 1] < offsets[i]);
	for (size_t i = 0; i < n; i++)
		r->edges[r->n_edges++] = (Edge){ now, offsets[i], values[i] > 0, values[i] };
	return 0;
}

static void rec_finished(void *userdata, EngineRun *run, RunResult result)
{
	Recorder *r = userdata;
	const char *name = engine_run_get_userdata(run);

	snprintf(r->ended[r->n_ended].name, sizeof(r->ended[0].name), "%s", name ? name : "");
	r->ended[r->n_ended].result = result;
	r->ended[r->n_ended].t = engine_now(r->engine);
	r->ended[r->n_ended].failure = engine_run_failure(run);
	r->n_ended++;
}

static const EngineOps rec_ops = {
	.commit = rec_commit,
	.finished = rec_finished,
};

static Engine *setup(void)
{
	Engine *e = NULL;

	memset(&rec, 0, sizeof(rec));
	check_int(engine_new(&e, layout, &rec_ops, &rec), 0);
	rec.engine = e;
	return e;
}

static Program *parse(const char *text)
{
	Program *p = NULL;
	ProgramError err;

	if (program_parse(text, layout, 0, &p, &err) < 0) {
		fprintf(stderr, "bad test program %s: %s: %s\n", text, err.path, err.message);
		abort();
	}
	return p;
}

/* Definitions for "call", as a daemon would keep them. */
static struct {
	const char *name;
	Program *program;
} defs[64];

static Program *lookup(const char *name, void *userdata)
{
	for (size_t i = 0; i < ELEMENTSOF(defs); i++)
		if (defs[i].name && streq(defs[i].name, name))
			return defs[i].program;
	return NULL;
}

static EngineRun *start(Engine *e, const char *name, const char *text, usec_t t)
{
	_cleanup_(program_unrefp) Program *p = parse(text);
	EngineRun *run = NULL;
	ProgramError err;
	int r = engine_start(e, p, lookup, NULL, t, (void *)name, &run, &err);

	if (r < 0)
		fprintf(stderr, "start %s failed: %d %s\n", name, r, err.message);
	check_int(r, 0);
	return run;
}

static EngineRun *start_with(Engine *e, const char *name, const char *text, usec_t t, int priority,
			     int64_t offset)
{
	_cleanup_(program_unrefp) Program *p = parse(text);
	EngineRun *run = NULL;
	ProgramError err;
	int r = engine_start_with(e, p, lookup, NULL, t,
				  &(EngineStartOptions){ .priority = priority, .offset = offset },
				  (void *)name, &run, &err);

	if (r < 0)
		fprintf(stderr, "start %s failed: %d %s\n", name, r, err.message);
	check_int(r, 0);
	return run;
}

/* Drive the engine as a perfectly punctual event loop would, up to @until. */
static void run_until(Engine *e, usec_t until)
{
	check_int(engine_advance(e, engine_now(e)), 0);
	for (;;) {
		usec_t d = engine_next_deadline(e);
		if (d > until)
			break;
		check_int(engine_advance(e, d), 0);
	}
	check_int(engine_advance(e, until), 0);
}

/* Check that the recorded edges on @offset are exactly @expected (time, value) pairs. */
static void check_edges(unsigned offset, const usec_t *times, const uint8_t *values, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < rec.n_edges; i++) {
		if (rec.edges[i].offset != offset)
			continue;
		if (k < n) {
			if (rec.edges[i].t != times[k] || rec.edges[i].value != values[k])
				fprintf(stderr, "line %u edge %zu: %llu=%u, expected %llu=%u\n",
					offset, k, (unsigned long long)rec.edges[i].t,
					rec.edges[i].value, (unsigned long long)times[k], values[k]);
			check_int(rec.edges[i].t, times[k]);
			check_int(rec.edges[i].value, values[k]);
		}
		k++;
	}
	if (k != n)
		fprintf(stderr, "line %u: %zu edges, expected %zu\n", offset, k, n);
	check_int(k, n);
}

#define EDGES(offset, ...)                                                                         \
	do {                                                                                       \
		const struct {                                                                     \
			usec_t t;                                                                  \
			uint8_t v;                                                                 \
		} _e[] = { __VA_ARGS__ };                                                          \
		usec_t _t[ELEMENTSOF(_e)];                                                         \
		uint8_t _v[ELEMENTSOF(_e)];                                                        \
		for (size_t _i = 0; _i < ELEMENTSOF(_e); _i++) {                                   \
			_t[_i] = _e[_i].t;                                                         \
			_v[_i] = _e[_i].v;                                                         \
		}                                                                                  \
		check_edges((offset), _t, _v, ELEMENTSOF(_e));                                     \
	} while (0)

static size_t count_edges(unsigned offset)
{
	size_t n = 0;
	for (size_t i = 0; i < rec.n_edges; i++)
		n += rec.edges[i].offset == offset;
	return n;
}

static void check_all_dark(Engine *e)
{
	unsigned lit[32];
	check_int(engine_get_lit(e, lit, ELEMENTSOF(lit)), 0);
}

/* ------------------------------------------------------------ combinators */

static void test_blink(void)
{
	Engine *e = setup();

	start(e, "b", "{\"blink\":{\"lines\":[11],\"interval\":\"500ms\",\"times\":2}}", 1000);
	run_until(e, 10 * S);
	EDGES(11, { 1000, 1 }, { 1000 + 500 * MS, 0 }, { 1000 + 1000 * MS, 1 },
	      { 1000 + 1500 * MS, 0 });
	/* It ends after the last off phase, not at the last edge. */
	check_int(rec.n_ended, 1);
	check_str(rec.ended[0].name, "b");
	check_int(rec.ended[0].result, RUN_DONE);
	check_int(rec.ended[0].t, 1000 + 2000 * MS);
	check_int(engine_n_runs(e), 0);
	check_int(engine_n_tasks(e), 0);
	check_int(engine_next_deadline(e), USEC_INFINITY);
	engine_free(e);
}

static void test_cycle(void)
{
	Engine *e = setup();
	const unsigned row0[] = { 11, 10, 27, 4, 2 };

	start(e, "cycle", "{\"cycle\":{\"lines\":{\"row\":0},\"interval\":\"100ms\",\"times\":2}}", 0);
	run_until(e, 5 * S);
	/* One line at a time, in order, on for an interval then off for one; two rounds. */
	for (size_t i = 0; i < 5; i++) {
		usec_t on1 = (usec_t)(2 * i) * 100 * MS, on2 = on1 + 1000 * MS;
		EDGES(row0[i], { on1, 1 }, { on1 + 100 * MS, 0 }, { on2, 1 }, { on2 + 100 * MS, 0 });
	}
	check_int(rec.n_ended, 1);
	check_int(rec.ended[0].t, 2000 * MS);
	/* Never two lines lit at once: every batch holds one change. */
	for (size_t i = 0; i < rec.n_batches; i++)
		check_int(rec.batch_sizes[i], 1);
	engine_free(e);
}

static void test_on_wait_sequence(void)
{
	Engine *e = setup();

	start(e, "s",
	      "{\"sequence\":[{\"wait\":\"1s\"},{\"on\":{\"lines\":[2],\"for\":\"250ms\"}},"
	      "{\"on\":{\"lines\":[3]}}]}",
	      0);
	run_until(e, 100 * S);
	EDGES(2, { 1 * S, 1 }, { 1250 * MS, 0 });
	/* The next child starts at the very instant the previous one ended. */
	EDGES(3, { 1250 * MS, 1 });
	/* "on" without "for" never ends and needs no timer. */
	check_int(rec.n_ended, 0);
	check_int(engine_next_deadline(e), USEC_INFINITY);
	check_int(engine_n_runs(e), 1);
	engine_free(e);
}

static void test_all(void)
{
	Engine *e = setup();

	start(e, "a",
	      "{\"sequence\":[{\"all\":[{\"on\":{\"lines\":[0],\"for\":\"1s\"}},"
	      "{\"on\":{\"lines\":[9],\"for\":\"3s\"}}]},{\"on\":{\"lines\":[22],\"for\":1}}]}",
	      0);
	run_until(e, 10 * S);
	EDGES(0, { 0, 1 }, { 1 * S, 0 });
	EDGES(9, { 0, 1 }, { 3 * S, 0 });
	/* "all" ends when the last of its children ends. */
	EDGES(22, { 3 * S, 1 }, { 4 * S, 0 });
	check_int(rec.ended[0].t, 4 * S);
	engine_free(e);
}

static void test_any(void)
{
	Engine *e = setup();

	/* The seed's any with on: blink until a timer wins, the on is cancelled. */
	start(e, "any",
	      "{\"sequence\":[{\"any\":[{\"blink\":{\"lines\":[11],\"interval\":\"500ms\"}},"
	      "{\"on\":{\"lines\":[10]}},{\"wait\":\"1250ms\"}]},"
	      "{\"on\":{\"lines\":[27],\"for\":\"1s\"}}]}",
	      0);
	run_until(e, 10 * S);
	/* The losers go dark at the winner's instant, 1.25s, mid-phase. */
	EDGES(11, { 0, 1 }, { 500 * MS, 0 }, { 1000 * MS, 1 }, { 1250 * MS, 0 });
	EDGES(10, { 0, 1 }, { 1250 * MS, 0 });
	EDGES(27, { 1250 * MS, 1 }, { 2250 * MS, 0 });
	check_int(rec.ended[0].t, 2250 * MS);
	check_int(engine_n_tasks(e), 0);
	engine_free(e);

	/* Ties: two children ending at one instant end the any once, at that instant. */
	e = setup();
	start(e, "tie",
	      "{\"sequence\":[{\"any\":[{\"sequence\":[{\"wait\":\"500ms\"},{\"on\":{\"lines\":[4],"
	      "\"for\":\"500ms\"}}]},{\"on\":{\"lines\":[2],\"for\":\"1s\"}},"
	      "{\"on\":{\"lines\":[3],\"for\":\"2s\"}}]},{\"on\":{\"lines\":[17],\"for\":1}}]}",
	      0);
	run_until(e, 10 * S);
	EDGES(4, { 500 * MS, 1 }, { 1 * S, 0 });
	EDGES(2, { 0, 1 }, { 1 * S, 0 });
	EDGES(3, { 0, 1 }, { 1 * S, 0 });
	EDGES(17, { 1 * S, 1 }, { 2 * S, 0 });
	engine_free(e);
}

static void test_forever_repeat(void)
{
	Engine *e = setup();

	/* The seed's factory lesson: each round is a fresh instance of the child. */
	start(e, "f", "{\"forever\":{\"blink\":{\"lines\":[11],\"interval\":\"300ms\",\"times\":1}}}",
	      0);
	run_until(e, 1900 * MS);
	EDGES(11, { 0, 1 }, { 300 * MS, 0 }, { 600 * MS, 1 }, { 900 * MS, 0 }, { 1200 * MS, 1 },
	      { 1500 * MS, 0 }, { 1800 * MS, 1 });
	check_int(rec.n_ended, 0);
	/* Rounds recycle their tasks: no growth. */
	check_int(engine_n_tasks(e), 2);
	engine_free(e);

	e = setup();
	start(e, "r",
	      "{\"repeat\":{\"times\":3,\"program\":{\"sequence\":[{\"on\":{\"lines\":[5],\"for\":"
	      "\"100ms\"}},{\"wait\":\"100ms\"}]}}}",
	      0);
	run_until(e, 10 * S);
	EDGES(5, { 0, 1 }, { 100 * MS, 0 }, { 200 * MS, 1 }, { 300 * MS, 0 }, { 400 * MS, 1 },
	      { 500 * MS, 0 });
	check_int(rec.n_ended, 1);
	check_int(rec.ended[0].t, 600 * MS);
	engine_free(e);
}

static void test_call(void)
{
	Engine *e = setup();
	_cleanup_(program_unrefp) Program *cyc = NULL;
	EngineRun *run = NULL;
	ProgramError err;

	defs[0].name = "flash";
	defs[0].program = parse("{\"on\":{\"lines\":[20],\"for\":\"200ms\"}}");
	defs[1].name = "twice";
	defs[1].program = parse("{\"sequence\":[{\"call\":\"flash\"},{\"wait\":\"200ms\"},"
				"{\"call\":\"flash\"}]}");

	start(e, "c", "{\"sequence\":[{\"call\":\"twice\"},{\"call\":\"flash\"}]}", 0);
	/* Bound at start: undefining now changes nothing for the run. */
	program_unref(defs[0].program);
	defs[0].program = NULL;
	defs[0].name = NULL;
	run_until(e, 10 * S);
	/* At 600ms one flash ends and the next begins: one instant, so no edge at all. */
	EDGES(20, { 0, 1 }, { 200 * MS, 0 }, { 400 * MS, 1 }, { 800 * MS, 0 });
	check_int(rec.n_ended, 1);
	check_int(rec.ended[0].result, RUN_DONE);

	/* Undefined names and cycles are refused and start nothing. */
	cyc = parse("{\"call\":\"flash\"}");
	check_int(engine_start(e, cyc, lookup, NULL, 10 * S, NULL, &run, &err), -ENOENT);
	check_str(err.message, "no definition named \"flash\"");
	cyc = program_unref(cyc);

	defs[2].name = "ping";
	defs[2].program = parse("{\"sequence\":[{\"wait\":1},{\"call\":\"pong\"}]}");
	defs[3].name = "pong";
	defs[3].program = parse("{\"all\":[{\"wait\":1},{\"call\":\"ping\"}]}");
	defs[4].name = "self";
	defs[4].program = parse("{\"forever\":{\"call\":\"self\"}}");
	cyc = parse("{\"sequence\":[{\"call\":\"twice\"},{\"call\":\"ping\"}]}");
	check_int(engine_start(e, cyc, lookup, NULL, 10 * S, NULL, &run, &err), -ENOENT);
	cyc = program_unref(cyc);
	defs[0].name = "flash";
	defs[0].program = parse("{\"on\":{\"lines\":[20],\"for\":\"200ms\"}}");
	cyc = parse("{\"sequence\":[{\"call\":\"twice\"},{\"call\":\"ping\"}]}");
	check_int(engine_start(e, cyc, lookup, NULL, 10 * S, NULL, &run, &err), -ELOOP);
	check_str(err.message, "call cycle: ping -> pong -> ping");
	cyc = program_unref(cyc);
	cyc = parse("{\"call\":\"self\"}");
	check_int(engine_start(e, cyc, lookup, NULL, 10 * S, NULL, &run, &err), -ELOOP);
	check_str(err.message, "call cycle: self -> self");
	check_int(engine_n_runs(e), 0);
	check_int(engine_n_tasks(e), 0);

	for (size_t i = 0; i < ELEMENTSOF(defs); i++) {
		program_unref(defs[i].program);
		defs[i].program = NULL;
		defs[i].name = NULL;
	}
	engine_free(e);
}

/* ------------------------------------------------------ lines and batches */

static void test_composition(void)
{
	Engine *e = setup();
	EngineRun *a;

	/* Two programs on one line: lit while at least one holds it. */
	a = start(e, "a", "{\"on\":{\"lines\":[11],\"for\":\"1s\"}}", 0);
	start(e, "b", "{\"blink\":{\"lines\":[11],\"interval\":\"400ms\"}}", 0);
	run_until(e, 2 * S);
	/* b's off at 0.4s and on at 0.8s are hidden by a; a's end at 1s is hidden by b (lit 0.8-1.2). */
	EDGES(11, { 0, 1 }, { 1200 * MS, 0 }, { 1600 * MS, 1 }, { 2000 * MS, 0 });
	(void)a;
	engine_free(e);
}

static void test_batching(void)
{
	Engine *e = setup();

	start(e, "rows", "{\"blink\":{\"lines\":{\"row\":1},\"interval\":\"100ms\",\"times\":1}}", 0);
	start(e, "col", "{\"on\":{\"lines\":{\"col\":4},\"for\":\"100ms\"}}", 0);
	run_until(e, 1 * S);
	/* Row 1 and column 4 share line 3: nine lines change at 0 and at 100ms, one call each. */
	check_int(rec.n_batches, 2);
	check_int(rec.batch_times[0], 0);
	check_int(rec.batch_sizes[0], 9);
	check_int(rec.batch_times[1], 100 * MS);
	check_int(rec.batch_sizes[1], 9);
	/* Sorted by offset within a batch. */
	for (size_t i = 1; i < 9; i++)
		check(rec.edges[i - 1].offset < rec.edges[i].offset);
	engine_free(e);
}

/* A batch of a few lines comes sorted too, whatever order tasks touched them in. */
static void test_small_batch_order(void)
{
	Engine *e = setup();

	start(e, "high", "{\"on\":{\"lines\":[27]}}", 0);
	start(e, "low", "{\"on\":{\"lines\":[4]}}", 0);
	start(e, "mid", "{\"on\":{\"lines\":[10]}}", 0);
	run_until(e, 1 * MS);
	check_int(rec.n_batches, 1);
	check_int(rec.batch_sizes[0], 3);
	check_int(rec.edges[0].offset, 4);
	check_int(rec.edges[1].offset, 10);
	check_int(rec.edges[2].offset, 27);
	engine_free(e);
}

static void test_late_wakeup(void)
{
	Engine *e = setup();

	start(e, "b", "{\"blink\":{\"lines\":[11],\"interval\":\"100ms\"}}", 0);
	check_int(engine_advance(e, 0), 0);
	check_int(engine_next_deadline(e), 100 * MS);

	/* Woken 10 intervals late: edges 1..10 fell due; edge 10 lights the line, as it was. */
	check_int(engine_advance(e, 1050 * MS), 0);
	check_int(rec.n_batches, 1); /* nothing written: no stale flash */
	/* The timeline did not move: the next edge is still at an exact multiple. */
	check_int(engine_next_deadline(e), 1100 * MS);
	run_until(e, 1300 * MS);
	EDGES(11, { 0, 1 }, { 1100 * MS, 0 }, { 1200 * MS, 1 }, { 1300 * MS, 0 });

	/* Woken 10.5 intervals late into an off phase: one write, the end result. */
	check_int(engine_advance(e, 2350 * MS), 0);
	check_int(rec.n_batches, 4);
	check_int(engine_line_is_lit(e, 11), false);
	check_int(engine_next_deadline(e), 2400 * MS);
	engine_free(e);
}

static void test_stop_replace(void)
{
	Engine *e = setup();
	EngineRun *a, *b;

	a = start(e, "a", "{\"sequence\":[{\"wait\":\"1s\"},{\"all\":[{\"on\":{\"lines\":[0]}},"
			  "{\"cycle\":{\"lines\":{\"row\":4},\"interval\":\"300ms\"}}]}]}",
		  0);
	run_until(e, 1700 * MS);
	check(engine_line_is_lit(e, 0));
	check(engine_line_is_lit(e, 12));
	/* Cancelling turns off, at that instant, every line held anywhere below. */
	check_int(engine_stop(e, a, RUN_STOPPED, 1700 * MS + 7), 0);
	check_int(engine_advance(e, 1700 * MS + 7), 0);
	check_all_dark(e);
	check_int(rec.n_ended, 1);
	check_int(rec.ended[0].result, RUN_STOPPED);
	check_int(engine_n_tasks(e), 0);
	check_int(engine_next_deadline(e), USEC_INFINITY);

	/* Replace: stop and start at one instant, one batch: a line lit by both never goes dark. */
	a = start(e, "x", "{\"on\":{\"lines\":[11,10]}}", 2 * S);
	check_int(engine_advance(e, 2 * S), 0);
	size_t batches = rec.n_batches;
	check_int(engine_stop(e, a, RUN_REPLACED, 3 * S), 0);
	b = start(e, "x", "{\"on\":{\"lines\":[11,27]}}", 3 * S);
	check_int(engine_advance(e, 3 * S), 0);
	check_int(rec.n_batches, batches + 1);
	check_int(rec.batch_sizes[batches], 2); /* 10 off, 27 on; 11 untouched */
	EDGES(11, { 2 * S, 1 });
	check_int(rec.ended[1].result, RUN_REPLACED);

	/* A run that ended by itself cannot be stopped again. */
	b = start(e, "y", "{\"wait\":\"1s\"}", 4 * S);
	check_int(engine_stop(e, b, RUN_STOPPED, 5 * S), -ESRCH);
	check_int(engine_advance(e, 5 * S), 0);
	check_str(rec.ended[2].name, "y");
	check_int(rec.ended[2].result, RUN_DONE);
	engine_free(e);
}

static void test_backend_failure(void)
{
	Engine *e = setup();

	start(e, "b", "{\"on\":{\"lines\":[11]}}", 0);
	rec.fail_next = -ENODEV;
	check_int(engine_advance(e, 0), -ENODEV);
	check(!engine_line_is_lit(e, 11));
	/* The change was kept and goes out with the next batch. */
	check_int(engine_advance(e, 1), 0);
	check(engine_line_is_lit(e, 11));
	EDGES(11, { 1, 1 });
	/* A resync writes the whole state again. */
	engine_resync(e);
	check_int(engine_advance(e, 2), 0);
	check_int(rec.batch_sizes[rec.n_batches - 1], 25);
	engine_free(e);
}

/* ------------------------------------------------------ the seed's programs */

static void test_seed(void)
{
	/* The talk's 5x5 matrix: rows blinking at 0.5, 0.4, 0.3, 0.2, 0.1s. */
	static const char rows[] =
		"{\"all\":[{\"blink\":{\"lines\":{\"row\":0},\"interval\":0.5}},"
		"{\"blink\":{\"lines\":{\"row\":1},\"interval\":0.4}},"
		"{\"blink\":{\"lines\":{\"row\":2},\"interval\":0.3}},"
		"{\"blink\":{\"lines\":{\"row\":3},\"interval\":0.2}},"
		"{\"blink\":{\"lines\":{\"row\":4},\"interval\":0.1}}]}";
	/* Transposed: columns, and then in sequence, two blinks each, forever. */
	static const char columns_forever[] =
		"{\"forever\":{\"sequence\":[{\"blink\":{\"lines\":{\"col\":0},\"interval\":0.3,\"times\":2}},"
		"{\"blink\":{\"lines\":{\"col\":1},\"interval\":0.2,\"times\":2}},"
		"{\"blink\":{\"lines\":{\"col\":2},\"interval\":0.1,\"times\":2}},"
		"{\"blink\":{\"lines\":{\"col\":3},\"interval\":0.01,\"times\":2}},"
		"{\"blink\":{\"lines\":{\"col\":4},\"interval\":0.05,\"times\":2}}]}}";
	Engine *e = setup();

	start(e, "rows", rows, 0);
	run_until(e, 10 * S);
	/* Line 13 (row 4) toggles every 100ms; line 11 (row 0) every 500ms, for 10s. */
	check_int(count_edges(13), 101);
	check_int(count_edges(11), 21);
	for (size_t i = 0; i < rec.n_edges; i++)
		if (rec.edges[i].offset == 0) /* row 1: 0.4s, odd edges off */
			check_int(rec.edges[i].t % (400 * MS), 0);
	engine_free(e);

	/* Transposed: the same intervals on the columns (the seed's numpy.transpose()). */
	e = setup();
	start(e, "columns",
	      "{\"all\":[{\"blink\":{\"lines\":{\"col\":0},\"interval\":0.5}},"
	      "{\"blink\":{\"lines\":{\"col\":1},\"interval\":0.4}},"
	      "{\"blink\":{\"lines\":{\"col\":2},\"interval\":0.3}},"
	      "{\"blink\":{\"lines\":{\"col\":3},\"interval\":0.2}},"
	      "{\"blink\":{\"lines\":{\"col\":4},\"interval\":0.1}}]}",
	      0);
	run_until(e, 10 * S);
	/* Column 0 (11, 0, 5, 6, 13) at 0.5s, column 4 (2, 3, 18, 15, 14) at 0.1s. */
	check_int(count_edges(13), 21);
	check_int(count_edges(5), 21);
	check_int(count_edges(14), 101);
	check_int(count_edges(18), 101);
	engine_free(e);

	/* The seed's sequence(): one column after the other, two blinks each, then done. */
	e = setup();
	start(e, "sequence",
	      "{\"sequence\":[{\"blink\":{\"lines\":{\"col\":0},\"interval\":0.5,\"times\":2}},"
	      "{\"blink\":{\"lines\":{\"col\":1},\"interval\":0.4,\"times\":2}},"
	      "{\"blink\":{\"lines\":{\"col\":2},\"interval\":0.3,\"times\":2}},"
	      "{\"blink\":{\"lines\":{\"col\":3},\"interval\":0.2,\"times\":2}},"
	      "{\"blink\":{\"lines\":{\"col\":4},\"interval\":0.1,\"times\":2}}]}",
	      0);
	run_until(e, 10 * S);
	EDGES(0, { 0, 1 }, { 500 * MS, 0 }, { 1000 * MS, 1 }, { 1500 * MS, 0 });
	EDGES(9, { 2000 * MS, 1 }, { 2400 * MS, 0 }, { 2800 * MS, 1 }, { 3200 * MS, 0 });
	EDGES(3, { 5600 * MS, 1 }, { 5700 * MS, 0 }, { 5800 * MS, 1 }, { 5900 * MS, 0 });
	check_int(rec.n_ended, 1);
	check_int(rec.ended[0].t, 6000 * MS);
	engine_free(e);

	e = setup();
	start(e, "columns", columns_forever, 0);
	/* One round: 2*2*(0.3+0.2+0.1+0.01+0.05) = 2.64s; run three rounds. */
	run_until(e, 3 * 2640 * MS);
	EDGES(11, { 0, 1 }, { 300 * MS, 0 }, { 600 * MS, 1 }, { 900 * MS, 0 }, { 2640 * MS, 1 },
	      { 2940 * MS, 0 }, { 3240 * MS, 1 }, { 3540 * MS, 0 }, { 5280 * MS, 1 },
	      { 5580 * MS, 0 }, { 5880 * MS, 1 }, { 6180 * MS, 0 }, { 7920 * MS, 1 });
	/* Column 4 starts when column 3 ended: 1.2 + 0.8 + 0.4 + 0.04 = 2.44s. */
	EDGES(2, { 2440 * MS, 1 }, { 2490 * MS, 0 }, { 2540 * MS, 1 }, { 2590 * MS, 0 },
	      { 5080 * MS, 1 }, { 5130 * MS, 0 }, { 5180 * MS, 1 }, { 5230 * MS, 0 },
	      { 7720 * MS, 1 }, { 7770 * MS, 0 }, { 7820 * MS, 1 }, { 7870 * MS, 0 });
	engine_free(e);
}

/* ----------------------------------------------------------------- layers */

/*
 * A priority-10 blink over a priority-0 heartbeat on the same line: its dark
 * half is dark, and when it ends the heartbeat shows again at that instant,
 * in the phase it kept all along.
 */
static void test_priority_layers(void)
{
	Engine *e = setup();

	start_with(e, "heart", "{\"blink\":{\"lines\":[11],\"interval\":\"100ms\"}}", 0, 0, 0);
	run_until(e, 250 * MS);
	start_with(e, "alarm",
		   "{\"blink\":{\"lines\":[11],\"interval\":\"30ms\",\"times\":3}}",
		   250 * MS, 10, 0);
	run_until(e, 650 * MS);
	EDGES(11, { 0, 1 }, { 100 * MS, 0 }, { 200 * MS, 1 },
	      /* 250: the alarm lights it, lit already; its dark halves are dark */
	      { 280 * MS, 0 }, { 310 * MS, 1 }, { 340 * MS, 0 }, { 370 * MS, 1 }, { 400 * MS, 0 },
	      /* 430: the alarm ends inside the heartbeat's lit half (400-500) */
	      { 430 * MS, 1 }, { 500 * MS, 0 }, { 600 * MS, 1 });
	check_int(rec.n_ended, 1);
	check_str(rec.ended[0].name, "alarm");
	engine_free(e);
}

/* Equal priorities OR'd; a lower one is covered by them, whatever it does; a wait claims nothing. */
static void test_priority_equal_and_lower(void)
{
	Engine *e = setup();
	EngineRun *low;

	low = start_with(e, "low", "{\"on\":{\"lines\":[10,11]}}", 0, -5, 0);
	run_until(e, 100 * MS);
	start_with(e, "a", "{\"blink\":{\"lines\":[11],\"interval\":\"10ms\",\"times\":1}}", 100 * MS, 5, 0);
	start_with(e, "b", "{\"on\":{\"lines\":[11],\"for\":\"15ms\"}}", 100 * MS, 5, 0);
	start_with(e, "w", "{\"all\":[{\"wait\":\"1s\"}]}", 100 * MS, 100, 0);
	run_until(e, 200 * MS);
	/* 10: the low "on" alone. 11: lit by low, then by a OR b (a dark at 110, b still on), dark
	 * at 115 when b ends while a is dark; low shows again at 120 when a ends. */
	EDGES(10, { 0, 1 });
	EDGES(11, { 0, 1 }, { 115 * MS, 0 }, { 120 * MS, 1 });
	check_int(engine_stop(e, low, RUN_STOPPED, 200 * MS), 0);
	run_until(e, 300 * MS);
	EDGES(11, { 0, 1 }, { 115 * MS, 0 }, { 120 * MS, 1 }, { 200 * MS, 0 });
	engine_free(e);
}

/* A blink that started 1.234 s ago shows the edge in force now, then keeps its phase. */
static void test_resume_in_phase(void)
{
	Engine *e = setup();

	start_with(e, "old", "{\"blink\":{\"lines\":[11],\"interval\":\"100ms\"}}", 10 * S, 0,
		   -1234 * (int64_t)MS);
	run_until(e, 10 * S + 250 * MS);
	/* Edge 12 (lit) is in force; 13 falls at start + 1.3 s. No edge of the past goes out. */
	EDGES(11, { 10 * S, 1 }, { 10 * S + 66 * MS, 0 }, { 10 * S + 166 * MS, 1 });
	check_int(rec.n_batches, 3);

	/* A repeat whose every round ended in the past: done, and not one edge. */
	rec.n_edges = 0;
	start_with(e, "gone",
		   "{\"repeat\":{\"times\":3,\"program\":{\"blink\":{\"lines\":[10],"
		   "\"interval\":\"10ms\",\"times\":1}}}}",
		   11 * S, 0, -(int64_t)S);
	run_until(e, 11 * S);
	check_int(count_edges(10), 0);
	check_int(rec.n_ended, 1);
	check_str(rec.ended[0].name, "gone");
	check_int(rec.ended[0].result, RUN_DONE);
	engine_free(e);
}

/*
 * The state a run has after catching up is the state it would have had: a
 * run started long ago (by arithmetic) and one run from its start (edge by
 * edge) agree at every instant after, edge for edge.
 */
static void check_catch_up_agrees(const char *text, usec_t period, usec_t ago)
{
	Engine *a = setup(), *b;
	usec_t x = ago % period + 50 * period, t;
	unsigned lit_a[32], lit_b[32];
	size_t n_a, n_b, n_instants = 0;

	check_int(engine_new(&b, layout, &rec_ops, &rec), 0);
	start_with(a, "ref", text, 0, 0, 0);
	run_until(a, x);
	start_with(b, "old", text, x, 0, -(int64_t)ago);
	check_int(engine_advance(b, x), 0);
	check(engine_n_tasks(b) < 16);
	for (t = x; n_instants < 60; n_instants++) {
		n_a = engine_get_lit(a, lit_a, 32);
		n_b = engine_get_lit(b, lit_b, 32);
		check_int(n_b, n_a);
		check(memcmp(lit_a, lit_b, n_a * sizeof(unsigned)) == 0);
		check_int(engine_next_deadline(b), engine_next_deadline(a));
		t = engine_next_deadline(a);
		check_int(engine_advance(a, t), 0);
		check_int(engine_advance(b, t), 0);
	}
	check(t > x + period);
	engine_free(a);
	engine_free(b);
	rec.n_edges = rec.n_batches = rec.n_ended = 0;
}

static void test_catch_up(void)
{
	const char *forever =
		"{\"forever\":{\"sequence\":[{\"blink\":{\"lines\":[11],\"interval\":\"3ms\",\"times\":2}},"
		"{\"wait\":\"1ms\"},{\"cycle\":{\"lines\":[10,27,4],\"interval\":\"700us\",\"times\":1}},"
		"{\"any\":[{\"on\":{\"lines\":[2]}},{\"wait\":\"2500us\"}]},"
		"{\"all\":[{\"on\":{\"lines\":[3],\"for\":\"1ms\"}},{\"wait\":\"1500us\"}]}]}}";
	/* 12 + 1 + 4.2 + 2.5 + 1.5 ms a round. */
	usec_t period = 21200;

	check_catch_up_agrees(forever, period, 10 * S + 777);
	/* A month ago: the rounds are skipped, not replayed. */
	check_catch_up_agrees(forever, period, 30ULL * 24 * 3600 * S + 12345);
	check_catch_up_agrees("{\"blink\":{\"lines\":[11],\"interval\":\"100us\"}}", 200,
			      30ULL * 24 * 3600 * S + 150);
}

/*
 * Issue 23: a track (fade, pattern, morse) that had ended before now when
 * it caught up put its end off to that same past instant again and again,
 * and the start never returned. Each ends now, done, at the instant its
 * end fell, and the lines show what runs beside it.
 */
static void test_catch_up_tracks_ended(void)
{
	static const struct {
		const char *text;
		int64_t ago;
		int line, level; /* a line still held after the catch-up, or -1 */
	} cases[] = {
		{ "fade(11, 0, 1, 100us)", 10 * MS, -1, 0 },
		{ "all(fade(11, 0, 1, 100us), on(2))", 10 * MS, 2, LEVEL_MAX },
		{ "sequence(pattern(11, [[1, 100us]], 1), wait(100us))", 10 * MS, -1, 0 },
		{ "sequence(morse(11, \"E\", 100us), wait(100us))", 10 * MS, -1, 0 },
		{ "sequence(heartbeat(11), wait(100us))", 10 * MS, 11, -1 },
		{ "repeat(3, sequence(fade(11, 0, 1, 1ms), wait(1ms)))", 3 * S, -1, 0 },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		Engine *e = setup();

		start_with(e, "old", cases[i].text, 10 * S, 0, -cases[i].ago);
		check_int(engine_advance(e, 10 * S), 0);
		if (cases[i].line < 0) {
			check_int(rec.n_ended, 1);
			check_int(rec.ended[0].result, RUN_DONE);
			check_all_dark(e);
		} else {
			check_int(rec.n_ended, 0);
			if (cases[i].level >= 0)
				check_int(engine_line_level(e, (unsigned)cases[i].line),
					  cases[i].level);
		}
		/* Nothing of the past went out. */
		for (size_t k = 0; k < rec.n_edges; k++)
			check_int(rec.edges[k].t, 10 * S);
		engine_free(e);
	}
}

/*
 * The breathing LED of issue 23, resumed 3 s after it started and a day
 * after: in phase with the one that ran from its start, level for level.
 */
static void test_catch_up_breathing(void)
{
	const char *text = "forever(sequence(fade(11, 0, 1, 1s), fade(11, 1, 0, 1s)))";
	static const usec_t agos[] = { 3 * S, 2 * S, 1 * S + 2500, 24ULL * 3600 * S + 777 };

	for (size_t i = 0; i < ELEMENTSOF(agos); i++) {
		Engine *a = setup(), *b;
		usec_t x = agos[i] % (2 * S) + 4 * S;

		check_int(engine_new(&b, layout, &rec_ops, &rec), 0);
		start_with(a, "ref", text, 0, 0, 0);
		run_until(a, x);
		start_with(b, "old", text, x, 0, -(int64_t)agos[i]);
		check_int(engine_advance(b, x), 0);
		check_int(engine_n_runs(b), 1);
		for (usec_t t = x; t < x + 3 * S; t += 1700) {
			run_until(a, t);
			check_int(engine_advance(b, t), 0);
			check_int(engine_line_level(b, 11), engine_line_level(a, 11));
			check_int(engine_line_state(b, 11), engine_line_state(a, 11));
		}
		engine_free(a);
		engine_free(b);
	}
}

/*
 * The step budget: a run that takes more steps at one instant than the
 * engine allows ends failed, saying why, its lines dark, and the engine goes
 * on; one within the budget runs as ever.
 */
static void test_step_budget(void)
{
	/*
	 * 40 waits in a row, ended 1 s ago, in a sequence that goes on: some
	 * 120 steps to catch up through (a sequence wholly past would be
	 * skipped in one).
	 */
	char text[1024] = "sequence(on(11, 100us)";
	Engine *e = setup();
	uint64_t before;

	for (int i = 0; i < 40; i++)
		strcat(text, ", wait(100us)");
	strcat(text, ", on(12, 10s))");
	check_int(engine_set_step_budget(e, 0), -ERANGE);
	check_int(engine_set_step_budget(e, 60), 0);

	start_with(e, "keeps", "blink(2, 1ms)", 10 * S, 0, 0);
	start_with(e, "old", text, 10 * S, 0, -(int64_t)S);
	/* Over budget while catching up: not an error of the start, a failed run. */
	check_int(engine_n_runs(e), 2);
	check_int(engine_advance(e, 10 * S), 0);
	check_int(rec.n_ended, 1);
	check_str(rec.ended[0].name, "old");
	check_int(rec.ended[0].result, RUN_FAILED);
	check(rec.ended[0].failure && strstr(rec.ended[0].failure, "steps"));
	check_int(engine_line_level(e, 11), 0);
	check_int(engine_line_level(e, 2), LEVEL_MAX);

	/* Over budget at the instant it starts (all of them start at once). */
	start_with(e, "wide",
		   "all(on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), "
		   "on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), "
		   "on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), "
		   "on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), "
		   "on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), "
		   "on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3), on(3))",
		   10 * S + MS, 0, 0);
	check_int(engine_advance(e, 10 * S + MS), 0);
	check_int(rec.n_ended, 2);
	check_str(rec.ended[1].name, "wide");
	check_int(rec.ended[1].result, RUN_FAILED);
	check_int(engine_line_level(e, 3), 0);
	check_int(engine_n_tasks(e), 1);

	/* The budget is per instant: the blink beside them takes hundreds of steps by then. */
	before = engine_n_steps(e);
	run_until(e, 10 * S + 200 * MS);
	check(engine_n_steps(e) - before > 150);
	check_int(rec.n_ended, 2);

	/* Within the budget, the same program catches up, runs on and ends done. */
	check_int(engine_set_step_budget(e, ENGINE_STEP_BUDGET_DEFAULT), 0);
	start_with(e, "fits", text, 11 * S, 0, -(int64_t)S);
	check_int(engine_advance(e, 11 * S), 0);
	check_int(rec.n_ended, 2);
	check_int(engine_line_level(e, 12), LEVEL_MAX);
	check_int(engine_advance(e, 21 * S), 0);
	check_int(rec.n_ended, 3);
	check_int(rec.ended[2].result, RUN_DONE);
	check(rec.ended[2].failure == NULL);
	engine_free(e);
}

/*
 * Definitions that call the one below twice, 40 deep: a program of 2^40
 * rounds of 200us, some 2.5 days, written in 41 short definitions. Its
 * duration and its catch-up cost work in the size of what is written, not
 * in the 2^40 calls it makes: started a day ago, it shows the phase of its
 * start within a few hundred steps; its duration is known at once.
 */
#define CHAIN_BASE 16
#define CHAIN_DEPTH 40
static void test_catch_up_call_chain(void)
{
	static char names[CHAIN_DEPTH + 1][8];
	Engine *e;
	uint64_t steps;
	usec_t ago = 24ULL * 3600 * S + 12345, d;

	for (unsigned i = 0; i <= CHAIN_DEPTH; i++) {
		char text[64];

		snprintf(names[i], sizeof(names[i]), "a%u", i);
		if (i == 0)
			snprintf(text, sizeof(text), "sequence(on(11, 100us), wait(100us))");
		else
			snprintf(text, sizeof(text), "sequence(call(a%u), call(a%u))", i - 1, i - 1);
		defs[CHAIN_BASE + i].name = names[i];
		defs[CHAIN_BASE + i].program = parse(text);
	}
	{
		_cleanup_(program_unrefp) Program *p = parse("call(a40)");
		_cleanup_(program_unrefp) Program *f = parse("forever(call(a40))");

		d = program_duration_lookup(p, lookup, NULL);
		check_int(d, (1ULL << CHAIN_DEPTH) * 200);
		check_int(program_duration_lookup(f, lookup, NULL), USEC_INFINITY);
	}

	e = setup();
	start_with(e, "chain", "forever(call(a40))", ago + 5 * S, 0, -(int64_t)ago);
	check_int(engine_advance(e, ago + 5 * S), 0);
	steps = engine_n_steps(e);
	check(steps < 1000);
	check_int(engine_n_runs(e), 1);
	check(engine_n_tasks(e) < 100);
	/* Lit for the first 100us of every 200us since its start. */
	for (usec_t t = ago + 5 * S; t < ago + 5 * S + 1000; t += 50) {
		run_until(e, t);
		check_int(engine_line_level(e, 11), (t - 5 * S) % 200 < 100 ? LEVEL_MAX : 0);
	}
	engine_free(e);

	/* Over the budget it would be, had catching up walked the calls. */
	e = setup();
	check_int(engine_set_step_budget(e, 1000), 0);
	start_with(e, "chain", "repeat(3, call(a40))", ago + 5 * S, 0, -(int64_t)ago);
	check_int(engine_advance(e, ago + 5 * S), 0);
	check_int(rec.n_ended, 0);
	check_int(engine_line_level(e, 11), ago % 200 < 100 ? LEVEL_MAX : 0);
	engine_free(e);

	for (unsigned i = 0; i <= CHAIN_DEPTH; i++) {
		defs[CHAIN_BASE + i].program = program_unref(defs[CHAIN_BASE + i].program);
		defs[CHAIN_BASE + i].name = NULL;
	}
}

/* A run that starts later waits unseen; stopped before its instant, it leaves nothing. */
static void test_start_later(void)
{
	Engine *e = setup();
	EngineRun *later, *never;

	later = start_with(e, "later", "{\"on\":{\"lines\":[11],\"for\":\"100ms\"}}", 0, 0,
			   500 * (int64_t)MS);
	never = start_with(e, "never", "{\"blink\":{\"lines\":[10],\"interval\":\"1ms\"}}", 0, 3,
			   200 * (int64_t)MS);
	check(engine_run_is_scheduled(later));
	check_int(engine_next_deadline(e), 200 * MS);
	run_until(e, 100 * MS);
	check_int(engine_stop(e, never, RUN_STOPPED, 100 * MS), 0);
	run_until(e, 499 * MS);
	check(engine_run_is_scheduled(later));
	check_int(rec.n_edges, 0);
	run_until(e, 550 * MS);
	check(!engine_run_is_scheduled(later)); /* started, still running */
	run_until(e, 1 * S);
	EDGES(11, { 500 * MS, 1 }, { 600 * MS, 0 });
	/* Nothing of the stopped one stayed claimed: line 10 works as ever. */
	start(e, "after", "{\"on\":{\"lines\":[10],\"for\":\"1ms\"}}", 1 * S);
	run_until(e, 2 * S);
	EDGES(10, { 1 * S, 1 }, { 1 * S + 1 * MS, 0 });

	/* Out of range. */
	{
		_cleanup_(program_unrefp) Program *p = parse("{\"wait\":1}");
		check_int(engine_start_with(e, p, lookup, NULL, 2 * S,
					    &(EngineStartOptions){ .priority = 1001 }, NULL, NULL, NULL),
			  -ERANGE);
		check_int(engine_start_with(e, p, lookup, NULL, 2 * S,
					    &(EngineStartOptions){ .offset = INT64_MIN }, NULL, NULL,
					    NULL),
			  -ERANGE);
	}
	engine_free(e);
}


/* The batch at @t: how many lines it had, 0 if there was none. */
static size_t batch_size_at(usec_t t)
{
	for (size_t i = 0; i < rec.n_batches; i++)
		if (rec.batch_times[i] == t)
			return rec.batch_sizes[i];
	return 0;
}

/*
 * engine_run_hand_over(): the old run drives its lines until the new one's
 * start instant, and goes in the batch of its first edges; a line both
 * light never goes dark. The hand-over follows a rescheduled start, and is
 * off when either ends first.
 */
static void test_hand_over(void)
{
	Engine *e = setup();
	EngineRun *old, *new, *other;

	old = start(e, "old", "all(on([11, 10]), blink(4, 10ms))", 0);
	run_until(e, 20 * MS);
	new = start_with(e, "new", "on([11, 12])", 20 * MS, 0, 85 * (int64_t)MS);
	check_int(engine_run_hand_over(e, old, new), 0);
	check_int(engine_run_hand_over(e, new, old), -EBUSY); /* old is not scheduled */
	run_until(e, 200 * MS);
	EDGES(11, { 0, 1 });
	EDGES(10, { 0, 1 }, { 105 * MS, 0 });
	EDGES(12, { 105 * MS, 1 });
	/* 4 blinks on to the end: lit at 100 ms, dark at the hand-over. */
	check_int(count_edges(4), 12);
	check_int(batch_size_at(105 * MS), 3); /* 4, 10 and 12 in one batch */
	check_int(rec.n_ended, 1);
	check_str(rec.ended[0].name, "old");
	check_int(rec.ended[0].result, RUN_REPLACED);
	check_int(rec.ended[0].t, 105 * MS);
	check_int(engine_stop(e, new, RUN_STOPPED, 200 * MS), 0);
	run_until(e, 300 * MS);

	/* Moved earlier (the wall clock was set): the hand-over moves with it. */
	memset(rec.edges, 0, sizeof(rec.edges));
	rec.n_edges = rec.n_batches = rec.n_ended = 0;
	old = start(e, "old", "on(27)", 300 * MS);
	new = start_with(e, "new", "on(2)", 300 * MS, 0, 500 * (int64_t)MS);
	check_int(engine_run_hand_over(e, old, new), 0);
	run_until(e, 400 * MS);
	check_int(engine_run_reschedule(e, new, 400 * MS, 0), 0);
	run_until(e, 500 * MS);
	EDGES(27, { 300 * MS, 1 }, { 400 * MS, 0 });
	EDGES(2, { 400 * MS, 1 });
	check_int(rec.n_ended, 1);
	check_int(rec.ended[0].result, RUN_REPLACED);
	check_int(engine_stop(e, new, RUN_STOPPED, 500 * MS), 0);

	/* The new one stopped before its start: the old one runs on, and is not ended later. */
	rec.n_ended = 0;
	old = start(e, "old", "on(3)", 500 * MS);
	new = start_with(e, "new", "on(9)", 500 * MS, 0, 100 * (int64_t)MS);
	check_int(engine_run_hand_over(e, old, new), 0);
	check_int(engine_stop(e, new, RUN_STOPPED, 550 * MS), 0);
	run_until(e, 700 * MS);
	check_int(rec.n_ended, 1);
	check_str(rec.ended[0].name, "new");
	check_int(count_edges(9), 0);

	/* The old one ends first: the new one starts as if alone. */
	other = start_with(e, "other", "on(9)", 700 * MS, 0, 100 * (int64_t)MS);
	check_int(engine_run_hand_over(e, old, other), 0);
	check_int(engine_stop(e, old, RUN_STOPPED, 750 * MS), 0);
	run_until(e, 900 * MS);
	EDGES(9, { 800 * MS, 1 });
	check_int(engine_n_runs(e), 1);
	engine_free(e);
}

/* ---------------------------------------------------------------- levels */

#define P 5000 /* the PWM period at the default 200 Hz, in us */

/* Edges of @offset from index 0 on, as "t=v" words: for messages. */
static void dump_edges(unsigned offset, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < rec.n_edges && k < max; i++)
		if (rec.edges[i].offset == offset) {
			fprintf(stderr, " %llu=%u", (unsigned long long)rec.edges[i].t,
				rec.edges[i].value);
			k++;
		}
	fprintf(stderr, "\n");
}

/*
 * The edges a line at @level(t) shows over [@from, @to): on at each period
 * start where its on-time is above 0, off that on-time later; checked one by
 * one against what was recorded. @level gives the level for the period that
 * starts at t.
 */
static void check_pwm(unsigned offset, usec_t from, usec_t to, uint16_t (*level)(usec_t t))
{
	usec_t want_t[2048];
	uint8_t want_v[2048];
	size_t n = 0;
	uint8_t shown = 0;

	for (usec_t t = from; t < to; t += P) {
		uint16_t l = level(t);
		usec_t on = ((usec_t)P * l + LEVEL_MAX / 2) / LEVEL_MAX;

		if (on > 0 && !shown) {
			want_t[n] = t;
			want_v[n++] = shown = 1;
		}
		if (on == 0 && shown) {
			want_t[n] = t;
			want_v[n++] = shown = 0;
		}
		if (on > 0 && on < P) {
			want_t[n] = t + on;
			want_v[n++] = shown = 0;
		}
	}
	if (shown) {
		want_t[n] = to;
		want_v[n++] = 0;
	}
	check_edges(offset, want_t, want_v, n);
	if (count_edges(offset) != n)
		dump_edges(offset, 20);
}

static uint16_t quarter(usec_t t)
{
	return LEVEL_MAX / 4;
}

static uint16_t linear_fade(usec_t t)
{
	/* 0 to 1 over 1 s from 0: the level at the period's start, rounded. */
	return (uint16_t)((t * LEVEL_MAX + S / 2) / S);
}

/* dim: on for a quarter of each 5 ms period, every edge to the microsecond. */
static void test_dim(void)
{
	Engine *e = setup();

	start(e, "d", "{\"dim\":{\"lines\":[11,10],\"level\":0.25,\"for\":\"1s\"}}", 0);
	run_until(e, 2 * S);
	check_pwm(11, 0, 1 * S, quarter);
	/* Both lines at one level share every edge: one batch each time. */
	check_int(count_edges(10), count_edges(11));
	check_int(rec.n_batches, count_edges(11));
	check_int(engine_next_deadline(e), USEC_INFINITY);
	engine_free(e);

	/* Levels 0 and 1 make no PWM edges at all. */
	e = setup();
	start(e, "d", "{\"all\":[{\"dim\":{\"lines\":[11],\"level\":1,\"for\":\"1s\"}},"
		      "{\"dim\":{\"lines\":[10],\"level\":0,\"for\":\"1s\"}}]}",
	      0);
	run_until(e, 2 * S);
	EDGES(11, { 0, 1 }, { 1 * S, 0 });
	check_int(count_edges(10), 0);
	engine_free(e);

	/* 2 kHz: the period is 500 us. */
	e = setup();
	check_int(engine_set_pwm_hz(e, 2000), 0);
	check_int(engine_set_pwm_hz(e, 2001), -ERANGE);
	start(e, "d", "{\"dim\":{\"lines\":[11],\"level\":0.5,\"for\":\"1ms\"}}", 0);
	run_until(e, 2 * S);
	EDGES(11, { 0, 1 }, { 250, 0 }, { 500, 1 }, { 750, 0 });
	engine_free(e);
}

/* A linear fade: every PWM edge of a 1 s fade, at the level of its period. */
static void test_fade(void)
{
	Engine *e = setup();
	EngineRun *run;

	start(e, "f", "{\"fade\":{\"lines\":[11],\"from\":0,\"to\":1,\"over\":\"1s\",\"curve\":\"linear\"}}",
	      0);
	run_until(e, 2 * S);
	check_pwm(11, 0, 1 * S, linear_fade);
	check_int(rec.n_ended, 1);
	check_int(rec.ended[0].t, 1 * S);
	engine_free(e);

	/* Perceived: darker early than linear, the same at the ends, and it rises throughout. */
	e = setup();
	run = start(e, "f", "{\"fade\":{\"lines\":[11],\"from\":0,\"to\":1,\"over\":\"1s\"}}", 0);
	(void)run;
	run_until(e, 500 * MS);
	check(engine_line_level(e, 11) < linear_fade(500 * MS) / 2);
	check(engine_line_level(e, 11) > 0);
	{
		uint16_t last = 0;
		bool rising = true;

		for (usec_t t = 500 * MS; t < 1 * S; t += P) {
			run_until(e, t);
			rising = rising && engine_line_level(e, 11) >= last;
			last = engine_line_level(e, 11);
		}
		check(rising);
		check(last > LEVEL_MAX * 98 / 100);
	}
	engine_free(e);
}

/* pattern, heartbeat, morse: their edges on the virtual clock. */
static void test_tracks(void)
{
	Engine *e = setup();

	start(e, "p", "{\"pattern\":{\"lines\":[11],\"steps\":[[1,0],[1,\"100ms\"],[0,0],"
		      "[0,\"50ms\"]],\"times\":2}}",
	      0);
	run_until(e, 1 * S);
	EDGES(11, { 0, 1 }, { 100 * MS, 0 }, { 150 * MS, 1 }, { 250 * MS, 0 });
	check_int(rec.ended[0].t, 300 * MS);
	engine_free(e);

	/* A ramp step: from the last step's level (0) up to 1 over 10 ms, then down at once. */
	e = setup();
	start(e, "p", "{\"pattern\":{\"lines\":[11],\"steps\":[[1,\"10ms\"],[0,0]],\"times\":1}}", 0);
	run_until(e, 1 * S);
	EDGES(11, { 5000, 1 }, { 5000 + 2500, 0 });
	engine_free(e);

	e = setup();
	start(e, "h", "{\"heartbeat\":{\"lines\":[11]}}", 0);
	run_until(e, 2400 * MS);
	EDGES(11, { 0, 1 }, { 70 * MS, 0 }, { 300 * MS, 1 }, { 370 * MS, 0 }, { 1200 * MS, 1 },
	      { 1270 * MS, 0 }, { 1500 * MS, 1 }, { 1570 * MS, 0 }, { 2400 * MS, 1 });
	engine_free(e);

	/* SOS: dot 1, dash 3, gaps 1 within a letter and 3 between letters, in units of 100 ms. */
	e = setup();
	start(e, "m", "{\"morse\":{\"lines\":[11],\"text\":\"SOS\"}}", 0);
	run_until(e, 5 * S);
	EDGES(11, { 0, 1 }, { 100 * MS, 0 }, { 200 * MS, 1 }, { 300 * MS, 0 }, { 400 * MS, 1 },
	      { 500 * MS, 0 }, { 800 * MS, 1 }, { 1100 * MS, 0 }, { 1200 * MS, 1 },
	      { 1500 * MS, 0 }, { 1600 * MS, 1 }, { 1900 * MS, 0 }, { 2200 * MS, 1 },
	      { 2300 * MS, 0 }, { 2400 * MS, 1 }, { 2500 * MS, 0 }, { 2600 * MS, 1 },
	      { 2700 * MS, 0 });
	check_int(rec.ended[0].t, 2700 * MS);
	engine_free(e);

	/* A word gap is 7 units. */
	e = setup();
	start(e, "m", "{\"morse\":{\"lines\":[11],\"text\":\"E E\",\"unit\":\"10ms\"}}", 0);
	run_until(e, 5 * S);
	EDGES(11, { 0, 1 }, { 10 * MS, 0 }, { 80 * MS, 1 }, { 90 * MS, 0 });
	engine_free(e);
}

/* Levels compose: equal priorities take the highest; a higher one covers, dim or not. */
static void test_level_composition(void)
{
	Engine *e = setup();

	start(e, "d", "{\"dim\":{\"lines\":[11],\"level\":0.5}}", 0);
	start(e, "b", "{\"blink\":{\"lines\":[11],\"interval\":\"20ms\",\"times\":1}}", 0);
	run_until(e, 40 * MS);
	/* Lit while the blink is lit, then the dim's PWM. */
	check_int(engine_line_level(e, 11), LEVEL_MAX / 2);
	EDGES(11, { 0, 1 }, { 22500, 0 }, { 25000, 1 }, { 27500, 0 }, { 30000, 1 },
	      { 32500, 0 }, { 35000, 1 }, { 37500, 0 }, { 40000, 1 });
	engine_free(e);

	e = setup();
	start_with(e, "low", "{\"on\":{\"lines\":[11]}}", 0, 0, 0);
	start_with(e, "high", "{\"dim\":{\"lines\":[11],\"level\":0.2,\"for\":\"10ms\"}}", 0, 5, 0);
	run_until(e, 20 * MS);
	EDGES(11, { 0, 1 }, { 1000, 0 }, { 5000, 1 }, { 6000, 0 }, { 10000, 1 });
	engine_free(e);
}

int main(void)
{
	check_int(layout_new_default(&layout), 0);
	check_int(layout_name_unnamed_lines(layout), 0);

	test_blink();
	test_cycle();
	test_on_wait_sequence();
	test_all();
	test_any();
	test_forever_repeat();
	test_call();
	test_composition();
	test_batching();
	test_small_batch_order();
	test_late_wakeup();
	test_stop_replace();
	test_backend_failure();
	test_seed();
	test_priority_layers();
	test_priority_equal_and_lower();
	test_resume_in_phase();
	test_catch_up();
	test_catch_up_tracks_ended();
	test_catch_up_breathing();
	test_step_budget();
	test_catch_up_call_chain();
	test_start_later();
	test_hand_over();
	test_dim();
	test_fade();
	test_tracks();
	test_level_composition();

	layout_free(layout);
	return test_summary("test-engine");
}
