/* SPDX-License-Identifier: MIT */
/*
 * The engine's catch-up, differentially: a run that started in the past and
 * is first seen now (run B, "caught up") must show what the same run shows
 * when it was simulated from its start, edge by edge, by a punctual event
 * loop (run A).
 *
 * Each case is one to three runs of random programs of every kind and
 * nesting (blink, cycle, on with and without "for", wait, dim, fade on both
 * curves, pattern, heartbeat, morse, sequence, all, any, forever, repeat,
 * call through definitions), each with a priority and sometimes a timeout
 * (the engine makes it any[program, wait(timeout)], as the manager asks),
 * durations down to 100us, on lines that overlap, one of them analog. All
 * runs of a case start at one instant S. A first simulation from S gives the
 * instants where something happens; the offsets now - S tried are 0, each of
 * some of those instants (a segment's end exactly), one microsecond before
 * and half way between (inside a segment), the end of the case and after it,
 * and far past (an hour, a day, a month, each plus a random part). One
 * caught-up start in four is first scheduled a day ahead and then moved to
 * its offset (engine_run_reschedule(), the wall clock set), which catches
 * up the same way.
 *
 * Equality, precisely: from now on, at every instant either engine has an
 * event (a task's deadline or a PWM edge) and at random instants between,
 * for the next SAMPLES of them, both engines show for every line the same
 * level (engine_line_level(): what the line's claims compose to, 0 when
 * unclaimed), the same output (engine_line_state(): lit or dark after PWM,
 * or unclaimed), the same number of runs going, and for each run the same
 * end and result; a run that ends at or after now ends at the same instant.
 * Not compared, because they legitimately differ: what happened before now
 * (the caught-up run replays no edge of its past, and reports a run that
 * ended in the past at now, not at its end), the number of tasks alive and
 * the engine's own deadlines (a caught-up repeat ends by one timer where
 * the simulated one saw its last child end; a ramp caught up steps at the
 * next PWM boundary either way). PWM periods are aligned on the timeline
 * from time 0 in both engines, so outputs are comparable instant by instant.
 *
 * The far past cannot be simulated edge by edge. Every case is, after a
 * prefix T0, periodic with a period P, computed here from the programs
 * (not by the engine): a forever of a round of known length repeats with
 * it, blink and heartbeat with theirs, and P is a multiple of the PWM period
 * so the PWM phase repeats too. A run from an offset F > T0 + P is compared
 * with one simulated from T0 + (F - T0) mod P + P. When P is too long to
 * simulate, the offset is still caught up (it must end, within its budget)
 * but not compared; the count of those is printed.
 *
 * Work: catching up from any offset takes at most STEPS_PER_NODE steps
 * (engine_n_steps()) per node of the programs, calls expanded, however far
 * back the start.
 *
 * CATCHUP_SEED=N reproduces a run (CATCHUP_CASE=K only its case K);
 * CATCHUP_SECONDS=N runs for N seconds instead of a fixed number of cases. A failure prints the seed, the case,
 * the programs in text form and the offset.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "program-text.h"
#include "test.h"

#define MS USEC_PER_MSEC
#define SEC USEC_PER_SEC
#define PWM_PERIOD (USEC_PER_SEC / ENGINE_PWM_HZ_DEFAULT)

#define CASES_UNIT 2000
#define SAMPLES 40
#define MAX_RUNS 3
#define MAX_DEFS 4
#define MAX_OFFSETS 32
#define MAX_EVENTS 4096
/* How far a reference may be simulated edge by edge, in events and in time. */
#define SIM_EVENTS_MAX 400000
#define SIM_SPAN_MAX (20 * SEC)
#define STEPS_PER_NODE 4

static const unsigned test_lines[] = { 11, 10, 27, 4 };
#define ANALOG_LINE 4
static Layout *layout;

/* ------------------------------------------------------------ random */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* A case's first state from the seed and its number: every bit of both counts. */
static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	x ^= x >> 31;
	return x ? x : 1;
}

static unsigned rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* ------------------------------------------------------------ programs */

typedef struct Buf {
	char s[PROGRAM_TEXT_MAX];
	size_t n;
	unsigned nodes;
} Buf;

static void put(Buf *b, const char *fmt, ...) _printf_(2, 3);
static void put(Buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	b->n += (size_t)vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	if (b->n >= sizeof(b->s))
		abort();
}

static const char *const short_durations[] = { "100us", "200us", "300us", "500us", "1ms",
					       "2ms",   "2500us", "5ms",  "10ms" };
static const char *const ramp_durations[] = { "100us", "1ms", "5ms", "10ms", "20ms", "50ms" };

static const char *duration(void)
{
	return short_durations[rnd_below(ELEMENTSOF(short_durations))];
}

static void put_lines(Buf *b)
{
	unsigned first = rnd_below(ELEMENTSOF(test_lines));

	if (rnd_below(3) == 0)
		put(b, "[%u,%u]", test_lines[first],
		    test_lines[(first + 1 + rnd_below(ELEMENTSOF(test_lines) - 1)) %
			       ELEMENTSOF(test_lines)]);
	else
		put(b, "[%u]", test_lines[first]);
}

static void put_level(Buf *b)
{
	static const char *const levels[] = { "0", "1", "0.5", "0.25", "0.0001", "0.9999", "0.73" };
	put(b, "%s", levels[rnd_below(ELEMENTSOF(levels))]);
}

/* A random program in JSON; @n_defs definitions d0.. may be called. */
static void gen(Buf *b, unsigned depth, unsigned n_defs)
{
	unsigned kind = rnd_below(depth >= 3 || b->nodes > 40 ? 11 : 18);

	b->nodes++;
	switch (kind) {
	case 0:
	case 1:
		put(b, "{\"%s\":{\"lines\":", kind ? "cycle" : "blink");
		put_lines(b);
		put(b, ",\"interval\":\"%s\"", duration());
		if (rnd_below(4))
			put(b, ",\"times\":%u", 1 + rnd_below(3));
		put(b, "}}");
		break;
	case 2:
		put(b, "{\"on\":{\"lines\":");
		put_lines(b);
		if (rnd_below(4))
			put(b, ",\"for\":\"%s\"", duration());
		put(b, "}}");
		break;
	case 3:
		put(b, "{\"wait\":\"%s\"}", duration());
		break;
	case 4:
		put(b, "{\"dim\":{\"lines\":");
		put_lines(b);
		put(b, ",\"level\":");
		put_level(b);
		if (rnd_below(4))
			put(b, ",\"for\":\"%s\"", duration());
		put(b, "}}");
		break;
	case 5:
		put(b, "{\"fade\":{\"lines\":");
		put_lines(b);
		put(b, ",\"from\":");
		put_level(b);
		put(b, ",\"to\":");
		put_level(b);
		put(b, ",\"over\":\"%s\"%s}}", ramp_durations[rnd_below(ELEMENTSOF(ramp_durations))],
		    rnd_below(2) ? ",\"curve\":\"linear\"" : "");
		break;
	case 6: {
		unsigned n = 1 + rnd_below(4);

		put(b, "{\"pattern\":{\"lines\":");
		put_lines(b);
		put(b, ",\"steps\":[");
		for (unsigned i = 0; i < n; i++) {
			put(b, "%s[", i ? "," : "");
			put_level(b);
			if (rnd_below(3) == 0 && i + 1 < n)
				put(b, ",0]");
			else
				put(b, ",\"%s\"]",
				    ramp_durations[rnd_below(ELEMENTSOF(ramp_durations))]);
		}
		put(b, "]");
		if (rnd_below(4))
			put(b, ",\"times\":%u", 1 + rnd_below(3));
		put(b, "}}");
		break;
	}
	case 7:
		put(b, "{\"heartbeat\":{\"lines\":");
		put_lines(b);
		/* The language wants at least 560ms. */
		if (rnd_below(4))
			put(b, ",\"period\":\"%s\"", rnd_below(2) ? "560ms" : "600ms");
		put(b, "}}");
		break;
	case 8: {
		static const char *const texts[] = { "E", "T", "ET", "SOS", "E E", "A" };

		put(b, "{\"morse\":{\"lines\":");
		put_lines(b);
		put(b, ",\"text\":\"%s\",\"unit\":\"%s\"}}", texts[rnd_below(ELEMENTSOF(texts))],
		    rnd_below(2) ? "100us" : duration());
		break;
	}
	case 9:
	case 10:
		if (n_defs > 0) {
			put(b, "{\"call\":\"d%u\"}", rnd_below(n_defs));
			break;
		}
		put(b, "{\"wait\":\"%s\"}", duration());
		break;
	case 11:
	case 12:
	case 13: {
		static const char *const lists[] = { "sequence", "all", "any" };
		unsigned n = 1 + rnd_below(3);

		put(b, "{\"%s\":[", lists[kind - 11]);
		for (unsigned i = 0; i < n; i++) {
			if (i)
				put(b, ",");
			gen(b, depth + 1, n_defs);
		}
		put(b, "]}");
		break;
	}
	case 14:
	case 15:
		put(b, "{\"forever\":");
		gen(b, depth + 1, n_defs);
		put(b, "}");
		break;
	default:
		put(b, "{\"repeat\":{\"times\":%u,\"program\":", 1 + rnd_below(3));
		gen(b, depth + 1, n_defs);
		put(b, "}}");
		break;
	}
}

static Program *parse_or_die(const char *json)
{
	Program *p = NULL;
	ProgramError err;

	if (program_parse(json, layout, 0, &p, &err) < 0) {
		fprintf(stderr, "generated an invalid program %s: %s: %s\n", json, err.path,
			err.message);
		abort();
	}
	return p;
}

/* ------------------------------------------------------------ a case */

typedef struct Case {
	Program *defs[MAX_DEFS];
	size_t n_defs;
	Program *programs[MAX_RUNS];
	int priority[MAX_RUNS];
	usec_t timeout[MAX_RUNS];
	size_t n_runs;
} Case;

static Case *current;

static Program *lookup(const char *name, void *userdata)
{
	Case *c = userdata;
	unsigned i;

	if (sscanf(name, "d%u", &i) == 1 && i < c->n_defs)
		return c->defs[i];
	return NULL;
}

static void case_free(Case *c)
{
	for (size_t i = 0; i < c->n_defs; i++)
		program_unref(c->defs[i]);
	for (size_t i = 0; i < c->n_runs; i++)
		program_unref(c->programs[i]);
	*c = (Case){};
}

static void case_make(Case *c)
{
	static Buf b;

	*c = (Case){};
	c->n_defs = rnd_below(MAX_DEFS + 1);
	for (size_t i = 0; i < c->n_defs; i++) {
		b.n = 0;
		b.nodes = 0;
		/* d<i> calls only d0..d<i-1>: no cycle. */
		gen(&b, 1, (unsigned)i);
		c->defs[i] = parse_or_die(b.s);
	}
	c->n_runs = 1 + (rnd_below(3) == 0 ? 1 + rnd_below(MAX_RUNS - 1) : 0);
	for (size_t i = 0; i < c->n_runs; i++) {
		b.n = 0;
		b.nodes = 0;
		gen(&b, 0, (unsigned)c->n_defs);
		c->programs[i] = parse_or_die(b.s);
		c->priority[i] = rnd_below(3) == 0 ? (int)rnd_below(3) - 1 : 0;
		c->timeout[i] = rnd_below(4) == 0 ? 100 + rnd_below(30000) : 0;
	}
}

static void case_print(const Case *c, uint64_t seed, unsigned n, usec_t start, usec_t offset)
{
	fprintf(stderr, "CATCHUP_SEED=%llu CATCHUP_CASE=%u: runs started at %llu us, caught up %llu us "
			"after\n",
		(unsigned long long)seed, n, (unsigned long long)start,
		(unsigned long long)offset);
	for (size_t i = 0; i < c->n_defs; i++) {
		_cleanup_(freep) char *t = program_format_text(c->defs[i]);
		fprintf(stderr, "  define d%zu = %s\n", i, t);
	}
	for (size_t i = 0; i < c->n_runs; i++) {
		_cleanup_(freep) char *t = program_format_text(c->programs[i]);
		fprintf(stderr, "  run %zu (priority %d, timeout %llu us) = %s\n", i,
			c->priority[i], (unsigned long long)c->timeout[i], t);
	}
}

/* ------------------------------------------------------------ the model's periods */

/*
 * How a program behaves in the long run: it ends at @d, or (@finite false)
 * it repeats with period @p from @t0 on. @big when a figure is too large to
 * simulate: the far past is then not compared.
 */
typedef struct Shape {
	bool finite, big;
	usec_t d, t0, p;
} Shape;

#define SHAPE_BIG (1ULL << 40)

static usec_t gcd(usec_t a, usec_t b)
{
	while (b) {
		usec_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static usec_t lcm(usec_t a, usec_t b, bool *big)
{
	usec_t g = gcd(a, b);

	if (a / g > SHAPE_BIG / b) {
		*big = true;
		return SHAPE_BIG;
	}
	return a / g * b;
}

static usec_t sat(usec_t x, bool *big)
{
	if (x >= SHAPE_BIG) {
		*big = true;
		return SHAPE_BIG;
	}
	return x;
}

static Shape shape_finite(usec_t d)
{
	return (Shape){ .finite = true, .d = d, .p = 1 };
}

static Shape shape_periodic(usec_t t0, usec_t p)
{
	return (Shape){ .t0 = t0, .p = p };
}

static Shape shape_of(const Program *p, const Case *c)
{
	Shape s = {}, x;
	usec_t k;

	switch (p->kind) {
	case PROGRAM_BLINK:
	case PROGRAM_CYCLE:
		k = 2 * p->duration * (p->kind == PROGRAM_CYCLE ? p->lines.n_numbers : 1);
		return p->times ? shape_finite(k * p->times) : shape_periodic(0, k);
	case PROGRAM_ON:
	case PROGRAM_DIM:
		return p->duration ? shape_finite(p->duration) : shape_periodic(0, 1);
	case PROGRAM_WAIT:
		return shape_finite(p->duration);
	case PROGRAM_FADE:
	case PROGRAM_MORSE:
		return shape_finite(p->track_duration);
	case PROGRAM_PATTERN:
		return p->times ? shape_finite(p->track_duration * p->times)
				: shape_periodic(0, p->track_duration);
	case PROGRAM_HEARTBEAT:
		return shape_periodic(0, p->track_duration);
	case PROGRAM_SEQUENCE:
		k = 0;
		for (size_t i = 0; i < p->n_children; i++) {
			x = shape_of(p->children[i], c);
			s.big = s.big || x.big;
			if (!x.finite) {
				x.t0 = sat(x.t0 + k, &x.big);
				x.big = x.big || s.big;
				return x;
			}
			k = sat(k + x.d, &s.big);
		}
		s.finite = true;
		s.d = k;
		s.p = 1;
		return s;
	case PROGRAM_ALL:
	case PROGRAM_ANY: {
		bool any = p->kind == PROGRAM_ANY, all_finite = true, some_finite = false;
		usec_t dmax = 0, dmin = USEC_INFINITY, t0 = 0, per = 1;

		for (size_t i = 0; i < p->n_children; i++) {
			x = shape_of(p->children[i], c);
			s.big = s.big || x.big;
			if (x.finite) {
				some_finite = true;
				dmax = x.d > dmax ? x.d : dmax;
				dmin = x.d < dmin ? x.d : dmin;
			} else {
				all_finite = false;
				t0 = x.t0 > t0 ? x.t0 : t0;
				per = lcm(per, x.p, &s.big);
			}
		}
		if (any && some_finite) {
			x = shape_finite(dmin);
			x.big = s.big;
			return x;
		}
		if (!any && all_finite) {
			x = shape_finite(dmax);
			x.big = s.big;
			return x;
		}
		/* all: the finite children are over by dmax. */
		x = shape_periodic(t0 > dmax ? t0 : dmax, per);
		x.big = s.big;
		return x;
	}
	case PROGRAM_FOREVER:
		x = shape_of(p->children[0], c);
		if (!x.finite)
			return x;
		s = shape_periodic(0, x.d);
		s.big = x.big;
		return s;
	case PROGRAM_REPEAT:
		x = shape_of(p->children[0], c);
		if (x.finite)
			x.d = sat(x.d * p->times, &x.big);
		return x;
	case PROGRAM_CALL:
		return shape_of(lookup(p->call, (void *)c), c);
	default:
		abort();
	}
}

/* The whole case: every run, each with its timeout; periods a multiple of the PWM period. */
static Shape case_shape(const Case *c)
{
	Shape s = { .finite = true, .p = PWM_PERIOD };

	for (size_t i = 0; i < c->n_runs; i++) {
		Shape x = shape_of(c->programs[i], c);

		if (c->timeout[i] && (!x.finite || x.d > c->timeout[i]))
			x = shape_finite(c->timeout[i]);
		s.big = s.big || x.big;
		if (x.finite)
			s.t0 = x.d > s.t0 ? x.d : s.t0;
		else {
			s.finite = false;
			s.t0 = x.t0 > s.t0 ? x.t0 : s.t0;
			s.p = lcm(s.p, x.p, &s.big);
		}
	}
	return s;
}

/* Nodes the runs make, calls expanded: what a catch-up may cost. */
static usec_t expanded_nodes(const Program *p, const Case *c)
{
	usec_t n = 1;

	if (p->kind == PROGRAM_CALL)
		return 1 + expanded_nodes(lookup(p->call, (void *)c), c);
	for (size_t i = 0; i < p->n_children; i++)
		n += expanded_nodes(p->children[i], c);
	return n;
}

/* ------------------------------------------------------------ the engines */

typedef struct Side {
	Engine *engine;
	bool ended[MAX_RUNS];
	RunResult result[MAX_RUNS];
	usec_t end[MAX_RUNS];
	size_t n_ended;
} Side;

static int side_commit(void *userdata, usec_t now, size_t n, const unsigned *offsets,
		       const uint16_t *values)
{
	return 0;
}

static void side_finished(void *userdata, EngineRun *run, RunResult result)
{
	Side *s = userdata;
	size_t i = (size_t)(uintptr_t)engine_run_get_userdata(run);

	check(!s->ended[i]);
	s->ended[i] = true;
	s->result[i] = result;
	s->end[i] = engine_now(s->engine);
	s->n_ended++;
}

static const EngineOps side_ops = {
	.commit = side_commit,
	.finished = side_finished,
};

/*
 * Start the case's runs at @offset from @now. @rescheduled: as runs first
 * scheduled a day later, then moved to @offset (the wall clock was set).
 */
static void side_start(Side *s, const Case *c, usec_t now, int64_t offset, bool rescheduled)
{
	EngineRun *runs[MAX_RUNS];

	*s = (Side){};
	check_int(engine_new(&s->engine, layout, &side_ops, s), 0);
	for (size_t i = 0; i < c->n_runs; i++) {
		ProgramError err;
		int r = engine_start_with(s->engine, c->programs[i], lookup, (void *)c, now,
					  &(EngineStartOptions){
						  .priority = c->priority[i],
						  .offset = rescheduled ? 24 * 3600 * (int64_t)SEC
									: offset,
						  .timeout = c->timeout[i] },
					  (void *)(uintptr_t)i, &runs[i], &err);
		if (r < 0)
			fprintf(stderr, "start: %d %s\n", r, err.message);
		check_int(r, 0);
	}
	for (size_t i = 0; rescheduled && i < c->n_runs; i++)
		check_int(engine_run_reschedule(s->engine, runs[i], now, offset), 0);
	check_int(engine_advance(s->engine, now), 0);
}

/* Drive @s as a punctual event loop up to @until; false when it took more than @max events. */
static bool side_run_until(Side *s, usec_t until, size_t max, usec_t *events, size_t *n_events)
{
	size_t n = 0;

	for (;;) {
		usec_t d = engine_next_deadline(s->engine);

		if (d > until)
			break;
		if (++n > max)
			return false;
		if (events && *n_events < MAX_EVENTS && (*n_events == 0 || events[*n_events - 1] != d))
			events[(*n_events)++] = d;
		check_int(engine_advance(s->engine, d), 0);
	}
	check_int(engine_advance(s->engine, until), 0);
	return true;
}

static void side_free(Side *s)
{
	s->engine = engine_free(s->engine);
}

/* ------------------------------------------------------------ comparing */

static uint64_t seed;
static unsigned case_number;
static unsigned long long n_cases, n_offsets, n_compared, n_samples, n_uncompared;
static usec_t max_steps_per_node_x100;

static bool same_at(const Side *a, const Side *b, usec_t now, usec_t t, const char **what,
		    unsigned *line)
{
	for (size_t i = 0; i < ELEMENTSOF(test_lines); i++) {
		*line = test_lines[i];
		if (engine_line_level(a->engine, test_lines[i]) !=
		    engine_line_level(b->engine, test_lines[i])) {
			*what = "level";
			return false;
		}
		if (engine_line_state(a->engine, test_lines[i]) !=
		    engine_line_state(b->engine, test_lines[i])) {
			*what = "output";
			return false;
		}
	}
	*line = 0;
	if (engine_n_runs(a->engine) != engine_n_runs(b->engine)) {
		*what = "runs going";
		return false;
	}
	for (size_t i = 0; i < current->n_runs; i++) {
		*line = (unsigned)i;
		if (a->ended[i] != b->ended[i] || (a->ended[i] && a->result[i] != b->result[i])) {
			*what = "end of run";
			return false;
		}
		if (a->ended[i] && a->end[i] >= now && a->end[i] != b->end[i]) {
			*what = "instant a run ended";
			return false;
		}
	}
	return true;
}

static void report(const Side *a, const Side *b, usec_t start, usec_t now, usec_t t,
		   const char *what, unsigned line)
{
	case_print(current, seed, case_number, start, now - start);
	fprintf(stderr, "  differs at %llu us (%llu after now) in %s (line/run %u):\n",
		(unsigned long long)t, (unsigned long long)(t - now), what, line);
	for (size_t i = 0; i < ELEMENTSOF(test_lines); i++)
		fprintf(stderr, "    line %u: simulated level %u output %d, caught up level %u output %d\n",
			test_lines[i], engine_line_level(a->engine, test_lines[i]),
			engine_line_state(a->engine, test_lines[i]),
			engine_line_level(b->engine, test_lines[i]),
			engine_line_state(b->engine, test_lines[i]));
	for (size_t i = 0; i < current->n_runs; i++)
		fprintf(stderr, "    run %zu: simulated %s at %llu, caught up %s at %llu\n", i,
			a->ended[i] ? run_result_to_string(a->result[i]) : "going",
			(unsigned long long)a->end[i],
			b->ended[i] ? run_result_to_string(b->result[i]) : "going",
			(unsigned long long)b->end[i]);
}

/*
 * Runs started at @start, caught up at @start + @offset, against the same
 * simulated from @start + @offset - @sim_offset (the same phase, @sim_offset
 * <= @offset), or against nothing when @sim_offset is USEC_INFINITY.
 */
static void check_offset(const Case *c, usec_t start, usec_t offset, usec_t sim_offset,
			 usec_t nodes)
{
	usec_t now = start + offset, t;
	uint64_t steps;
	Side a = {}, b;
	bool ok = true;

	n_offsets++;
	side_start(&b, c, now, -(int64_t)offset, rnd_below(4) == 0);
	steps = engine_n_steps(b.engine);
	/* Bounded work, whatever the offset. */
	if (steps > STEPS_PER_NODE * nodes) {
		case_print(c, seed, case_number, start, offset);
		fprintf(stderr, "  catching up took %llu steps for %llu nodes\n",
			(unsigned long long)steps, (unsigned long long)nodes);
	}
	check(steps <= STEPS_PER_NODE * nodes);
	if (steps * 100 / nodes > max_steps_per_node_x100)
		max_steps_per_node_x100 = steps * 100 / nodes;
	/* The guard never fires on a program of the language. */
	for (size_t i = 0; i < c->n_runs; i++)
		check(!b.ended[i] || b.result[i] == RUN_DONE);

	if (sim_offset != USEC_INFINITY) {
		side_start(&a, c, now - sim_offset, 0, false);
		if (!side_run_until(&a, now, SIM_EVENTS_MAX, NULL, NULL)) {
			side_free(&a);
			sim_offset = USEC_INFINITY;
		}
	}
	if (sim_offset == USEC_INFINITY) {
		n_uncompared++;
		side_free(&b);
		return;
	}
	n_compared++;

	t = now;
	for (unsigned k = 0; k < SAMPLES && ok; k++) {
		const char *what;
		unsigned line;

		n_samples++;
		if (!same_at(&a, &b, now, t, &what, &line)) {
			report(&a, &b, start, now, t, what, line);
			check(false);
			ok = false;
			break;
		}
		/* The next instant either has an event at, or one between at random. */
		usec_t next = engine_next_deadline(a.engine), nb = engine_next_deadline(b.engine);

		next = nb < next ? nb : next;
		if (next == USEC_INFINITY || rnd_below(4) == 0)
			next = t + 1 + rnd_below(next == USEC_INFINITY || next - t > 3 * MS
							 ? 3 * MS
							 : (unsigned)(next - t));
		t = next;
		check_int(engine_advance(a.engine, t), 0);
		check_int(engine_advance(b.engine, t), 0);
	}
	side_free(&a);
	side_free(&b);
}

static void run_case(void)
{
	static usec_t events[MAX_EVENTS];
	usec_t offsets[MAX_OFFSETS], start = rnd_below(SEC), nodes = 0, end = 0;
	size_t n_events = 0, n = 0;
	Case c;
	Shape shape;
	Side sim;

	case_make(&c);
	current = &c;
	shape = case_shape(&c);
	for (size_t i = 0; i < c.n_runs; i++)
		nodes += expanded_nodes(c.programs[i], &c) + (c.timeout[i] ? 2 : 0);

	/* The instants where something happens, from a simulation from the start. */
	side_start(&sim, &c, start, 0, false);
	(void)side_run_until(&sim, start + (shape.finite || shape.big ? 0 : shape.t0 + shape.p) +
					   (shape.finite ? shape.t0 + 1 : 0) + 50 * MS,
			     20000, events, &n_events);
	for (size_t i = 0; i < c.n_runs; i++)
		if (sim.ended[i] && sim.end[i] > end)
			end = sim.end[i];
	side_free(&sim);

	offsets[n++] = 0;
	for (unsigned k = 0; k < 6 && n_events > 0; k++) {
		size_t i = rnd_below((unsigned)n_events);
		usec_t e = events[i] - start;

		offsets[n++] = e;				/* a segment's end, exactly */
		if (e > 0)
			offsets[n++] = e - 1;			/* just inside it */
		if (i + 1 < n_events)
			offsets[n++] = e + (events[i + 1] - events[i]) / 2; /* half way */
	}
	if (shape.finite) {
		offsets[n++] = shape.t0;
		offsets[n++] = shape.t0 + 1 + rnd_below(10 * MS);
	}
	if (end > start)
		offsets[n++] = end - start;
	offsets[n++] = 3600 * SEC + rnd();
	offsets[n - 1] = 3600 * SEC + offsets[n - 1] % (3600 * SEC);
	offsets[n++] = 24 * 3600 * SEC + rnd() % (3600 * SEC);
	offsets[n++] = 30 * 24 * 3600 * SEC + rnd() % (24 * 3600 * SEC);

	for (size_t i = 0; i < n; i++) {
		usec_t off = offsets[i], sim_off = off;

		if (off > SIM_SPAN_MAX / 4) {
			/* Too far to simulate: from the same phase, by the model's period. */
			if (shape.big || shape.t0 + 2 * shape.p > SIM_SPAN_MAX)
				sim_off = USEC_INFINITY;
			else if (off > shape.t0 + shape.p)
				sim_off = shape.t0 + (off - shape.t0) % shape.p + shape.p;
		}
		check_offset(&c, start, off, sim_off, nodes);
		if (test_failures)
			break;
	}
	case_free(&c);
	current = NULL;
	n_cases++;
}

int main(void)
{
	const char *e = getenv("CATCHUP_SEED"), *secs = getenv("CATCHUP_SECONDS"),
		   *only = getenv("CATCHUP_CASE");
	time_t until = 0;

	seed = e ? strtoull(e, NULL, 0) : (uint64_t)time(NULL);
	printf("CATCHUP_SEED=%llu\n", (unsigned long long)seed);
	fflush(stdout);
	if (secs)
		until = time(NULL) + atol(secs);

	check_int(layout_new_default(&layout), 0);
	for (size_t i = 0; i < layout->n_lines; i++)
		if (layout->lines[i] == ANALOG_LINE)
			layout->info[i].analog = true;

	for (case_number = 0; !test_failures; case_number++) {
		if (until ? time(NULL) >= until : case_number >= CASES_UNIT)
			break;
		if (only && case_number != strtoul(only, NULL, 0))
			continue;
		/* Each case from its own seed: one can be run again alone. */
		rng_state = mix(seed * 0x100000001B3ULL + case_number);
		run_case();
	}
	printf("%llu cases, %llu offsets (%llu compared, %llu samples; %llu too far to "
	       "simulate), at most %llu.%02llu steps per node caught up\n",
	       n_cases, n_offsets, n_compared, n_samples, n_uncompared,
	       (unsigned long long)max_steps_per_node_x100 / 100,
	       (unsigned long long)max_steps_per_node_x100 % 100);
	layout_free(layout);
	return test_summary("test-catchup");
}
