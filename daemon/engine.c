/* SPDX-License-Identifier: MIT */
/*
 * Tasks are stackless state machines: a Task holds a state and everything
 * that must survive a wait, and task_step() moves it on when an event
 * arrives. Events are: START, TIMER (the task's deadline is due), CHILD_DONE
 * and CANCEL.
 *
 *  blink, cycle:  START -> LIT  -TIMER-> DARK -TIMER-> LIT ... DARK -TIMER-> DONE
 *                 edge k falls at start + k * interval; the task ends at
 *                 start + 2 * times * interval (cycle: times * lines rounds)
 *  on:            START -> HOLD [-TIMER-> DONE when "for" is given]
 *  wait:          START -> HOLD -TIMER-> DONE
 *  sequence:      START -> CHILDREN -CHILD_DONE-> next child at that instant ... DONE
 *  all:           START -> CHILDREN -CHILD_DONE (the last)-> DONE
 *  any:           START -> CHILDREN -CHILD_DONE-> DONE (the others cancelled at that instant)
 *  forever, repeat, call: START -> CHILDREN -CHILD_DONE-> a fresh child, or DONE
 *  any state      -CANCEL-> held lines dark, children cancelled, task freed
 *  sequence, all, any, forever, repeat, call, catching up, when their whole
 *  span has passed by now: START -> SKIPPED -TIMER (at their end)-> DONE
 *
 * Lines are claimed, not just lit: a blink, cycle or on task claims every
 * line it drives for as long as it runs, lit or dark, at its run's
 * priority. A line shows its highest-priority claim; among claims of equal
 * priority it is lit while any of them holds it lit. A covered run keeps
 * running on the timeline, unseen, and shows through again, in phase, the
 * instant the cover ends.
 *
 * A run may start in the past (a persisted program resuming, a start "at"
 * an instant gone by): its tasks catch up to the engine's instant without
 * replaying every edge. A blink jumps to its current edge, a forever or
 * repeat skips whole rounds of a child whose duration is known, and what
 * is left falls due at once, in timeline order, within the one batch, so
 * nothing of the past reaches the lines. A run may also start in the
 * future: its root waits in the heap until its instant.
 *
 * Within one instant, timer events run in the order they were scheduled.
 * When children of an "any" end at the same instant, the first one seen ends
 * it and the others are cancelled at that same instant; either way every
 * line they held is dark at that instant, so which of them "won" a tie
 * cannot be seen on the lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

typedef enum TaskState {
	TASK_NEW,
	TASK_LIT,
	TASK_DARK,
	TASK_HOLD,
	TASK_CHILDREN,
	TASK_SKIPPED,	/* caught up: its whole span has passed; it ends at its end */
	TASK_DONE,
} TaskState;

typedef enum TaskEvent {
	EVENT_START,
	EVENT_TIMER,
	EVENT_CHILD_DONE,
	EVENT_CANCEL,
} TaskEvent;

typedef struct Task Task;

/* A queued task and its key: the next timer event, FIFO among equal ones. */
typedef struct HeapEntry {
	usec_t deadline;
	uint64_t seq;
	Task *task;
} HeapEntry;

struct Task {
	const Program *program;
	Task *parent;
	EngineRun *run;
	unsigned index;		/* position among the parent's children */
	TaskState state;

	usec_t start;		/* the instant the task started */
	usec_t deadline;	/* next timer event, or USEC_INFINITY */
	size_t heap_index;

	uint64_t edge;		/* blink, cycle: the next edge number; tracks: the segment */
	uint64_t round;		/* repeat, forever: rounds started; sequence: child running;
				 * tracks: the round in progress */
	usec_t seg_start;	/* tracks: where segment "edge" starts in its round */

	Task **children;	/* all, any: one per listed child; others: children[0] */
	size_t n_children;
	size_t children_cap;
	size_t n_active;

	Task *next_free;
};

/* The claims on one line at one priority. */
typedef struct Claim {
	int32_t priority;
	uint32_t n;	/* tasks claiming the line */
	uint32_t lit;	/* of them, holding it lit */
} Claim;

/* A task holding a line at a level of its own (dim, fade, pattern, ...). */
typedef struct LevelHold {
	const Task *task;
	int32_t priority;
	uint16_t level;
} LevelHold;

/* A layout line's flags in Engine.line_flags. */
enum {
	LINE_DIRTY = 1 << 0,	/* its value may have changed since the last batch */
	LINE_ANALOG = 1 << 1,	/* takes levels as they are (an LED): no PWM */
};

/*
 * A line's claims, highest priority first, and the level holds among them;
 * the arrays keep their room (no allocation per edge).
 */
typedef struct LineClaims {
	Claim *claims;
	uint32_t n, cap;
	LevelHold *holds;
	uint32_t n_holds, cap_holds;
} LineClaims;

typedef struct Binding {
	const char *name;	/* owned by the program */
	Program *program;	/* a reference */
	/*
	 * Its duration once computed: a definition calling another twice, 40
	 * deep, makes 2^40 calls, and computing through each is no option.
	 */
	usec_t duration;
	bool has_duration;
} Binding;

struct EngineRun {
	Engine *engine;
	Program *program;
	Task *root;
	int32_t priority;
	/* With a timeout, the root runs any[program, wait(timeout)], made here. */
	const Program *root_program;
	Program timeout_any, timeout_wait;
	Program *timeout_children[2];
	void *userdata;
	Binding *bindings;
	size_t n_bindings;
	bool ended;
	RunResult result;	/* once ended */
	const char *failure;	/* why it failed (RUN_FAILED by the engine), or NULL */
	usec_t steps_instant;	/* the instant its steps are counted at */
	uint64_t steps;		/* steps taken at that instant, against the engine's budget */
	/* engine_run_hand_over(): the run this one ends when it starts, and back. */
	EngineRun *replaces, *replaced_by;
	EngineRun *prev, *next;	/* runs going */
	EngineRun *next_ended;	/* ended, awaiting their callback */
};

struct Engine {
	const Layout *layout;
	const EngineOps *ops;
	void *userdata;
	usec_t now;		/* internal time: the caller's plus ENGINE_EPOCH */
	usec_t step_time;	/* the instant of the step in progress (< now while catching up) */

	HeapEntry *heap;
	size_t n_heap, heap_cap;
	uint64_t heap_seq;	/* FIFO order among equal deadlines */

	LineClaims *lines;	/* per layout line: its claims */
	uint16_t *level;	/* per layout line: its level as last composed */
	uint16_t *committed;	/* per layout line: what the backend was last told */
	uint8_t *line_flags;	/* per layout line: LINE_DIRTY, LINE_ANALOG */
	uint16_t *composed;	/* per layout line: its level as composed for the batch being made */
	unsigned *dirty;	/* layout indexes whose value may have changed since the last batch */
	size_t n_dirty;
	unsigned *by_offset;	/* layout indexes in the order of their offsets */
	unsigned *batch_offsets;
	uint16_t *batch_values;

	/* Software PWM of GPIO lines between dark and lit, on the engine's timeline. */
	usec_t pwm_period;
	unsigned *pwm_lines;	/* layout indexes of lines at a level between 0 and LEVEL_MAX */
	int *pwm_pos;		/* per layout line: its place in pwm_lines, or -1 */
	size_t n_pwm;
	usec_t pwm_next;	/* the next instant a PWM line changes, or USEC_INFINITY */
	bool levels_changed;	/* since engine_take_levels_changed() */

	EngineRun *runs;
	size_t n_runs;
	EngineRun *ended_first, *ended_last;

	uint64_t step_budget;	/* steps a run may take at one instant */
	uint64_t n_steps;	/* steps taken, for statistics */

	Task *free_tasks;	/* recycled: steady state allocates nothing */
	Task *graveyard;	/* freed during this pass; recycled once it is over */
	size_t n_tasks;
};

static const char *const run_result_names[_RUN_RESULT_MAX] = {
	[RUN_DONE] = "done",
	[RUN_STOPPED] = "stopped",
	[RUN_REPLACED] = "replaced",
	[RUN_FAILED] = "failed",
};

const char *run_result_to_string(RunResult r)
{
	return r < _RUN_RESULT_MAX ? run_result_names[r] : NULL;
}

/* ---------------------------------------------------------------- lines */

static void line_mark_dirty(Engine *e, unsigned idx)
{
	if (!(e->line_flags[idx] & LINE_DIRTY)) {
		e->line_flags[idx] |= LINE_DIRTY;
		e->dirty[e->n_dirty++] = idx;
	}
}

/*
 * Internal time is the caller's plus ENGINE_EPOCH, so that a run can start
 * before the caller's time zero (a program that started before the boot,
 * resuming on the monotonic clock of the new one).
 */
#define ENGINE_EPOCH (1ULL << 62)

static usec_t to_internal(usec_t t)
{
	return t == USEC_INFINITY ? t : t + ENGINE_EPOCH;
}

static usec_t to_external(usec_t t)
{
	return t == USEC_INFINITY ? t : t - ENGINE_EPOCH;
}

/* The line's level: its top claim's, lit if a task there holds it lit, else the highest hold. */
static uint16_t line_value(const LineClaims *l)
{
	uint16_t v = 0;

	if (l->n == 0)
		return 0;
	if (l->claims[0].lit > 0)
		return LEVEL_MAX;
	for (uint32_t i = 0; i < l->n_holds; i++)
		if (l->holds[i].priority == l->claims[0].priority && l->holds[i].level > v)
			v = l->holds[i].level;
	return v;
}

/* Room for @t's level hold on line @idx, at level 0. Allocates only when the room grows. */
static int line_hold_add(Engine *e, unsigned idx, const Task *t, int32_t priority)
{
	LineClaims *l = &e->lines[idx];

	if (l->n_holds == l->cap_holds) {
		uint32_t cap = l->cap_holds ? l->cap_holds * 2 : 2;
		LevelHold *h = realloc(l->holds, cap * sizeof(LevelHold));
		if (!h)
			return -ENOMEM;
		l->holds = h;
		l->cap_holds = cap;
	}
	l->holds[l->n_holds++] = (LevelHold){ .task = t, .priority = priority };
	return 0;
}

static LevelHold *line_hold_find(LineClaims *l, const Task *t)
{
	for (uint32_t i = 0; i < l->n_holds; i++)
		if (l->holds[i].task == t)
			return &l->holds[i];
	return NULL;
}

static Claim *line_find_claim(LineClaims *l, int32_t priority)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (l->claims[i].priority == priority)
			return &l->claims[i];
	return NULL;
}

/* Add a claim at @priority on layout line @idx. Allocates only when the line's room grows. */
static int line_claim(Engine *e, unsigned idx, int32_t priority)
{
	LineClaims *l = &e->lines[idx];
	Claim *c = line_find_claim(l, priority);
	uint32_t i;

	if (c) {
		c->n++;
		return 0;
	}
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 2;
		Claim *a = realloc(l->claims, cap * sizeof(Claim));
		if (!a)
			return -ENOMEM;
		l->claims = a;
		l->cap = cap;
	}
	for (i = 0; i < l->n && l->claims[i].priority > priority; i++)
		;
	memmove(l->claims + i + 1, l->claims + i, (l->n - i) * sizeof(Claim));
	l->claims[i] = (Claim){ .priority = priority, .n = 1 };
	l->n++;
	/* A new top claim covers what showed (with nothing lit yet). */
	if (i == 0)
		line_mark_dirty(e, idx);
	return 0;
}

static void line_unclaim(Engine *e, unsigned idx, int32_t priority)
{
	LineClaims *l = &e->lines[idx];
	Claim *c = line_find_claim(l, priority);
	uint32_t i;

	if (!c || --c->n > 0)
		return;
	i = (uint32_t)(c - l->claims);
	memmove(l->claims + i, l->claims + i + 1, (l->n - i - 1) * sizeof(Claim));
	l->n--;
	if (i == 0)
		line_mark_dirty(e, idx); /* what was covered shows again */
}

static void line_set_lit(Engine *e, unsigned idx, int32_t priority, bool lit)
{
	LineClaims *l = &e->lines[idx];
	Claim *c = line_find_claim(l, priority);

	if (!c)
		return;
	if (lit)
		c->lit++;
	else
		c->lit--;
	/* Only the top priority shows; and only its first lit or last dark changes that. */
	if (c == l->claims && c->lit == (lit ? 1u : 0u))
		line_mark_dirty(e, idx);
}

static unsigned line_index(const Engine *e, unsigned offset)
{
	return (unsigned)e->layout->index_of[offset];
}

static void line_mark_dirty(Engine *e, unsigned idx);

/* @t's hold on line @idx now shows @level. */
static void line_set_level(Engine *e, unsigned idx, const Task *t, uint16_t level)
{
	LineClaims *l = &e->lines[idx];
	LevelHold *h = line_hold_find(l, t);

	if (!h || h->level == level)
		return;
	h->level = level;
	if (l->n > 0 && h->priority == l->claims[0].priority && l->claims[0].lit == 0)
		line_mark_dirty(e, idx);
}

static void line_hold_remove(Engine *e, unsigned idx, const Task *t)
{
	LineClaims *l = &e->lines[idx];
	LevelHold *h = line_hold_find(l, t);

	if (!h)
		return;
	if (h->level > 0)
		line_mark_dirty(e, idx);
	*h = l->holds[--l->n_holds];
}

static void line_hold(Engine *e, const Task *t, unsigned offset)
{
	line_set_lit(e, line_index(e, offset), t->run->priority, true);
}

static void line_release(Engine *e, const Task *t, unsigned offset)
{
	line_set_lit(e, line_index(e, offset), t->run->priority, false);
}

static void lines_hold(Engine *e, const Task *t, const Lines *l)
{
	for (size_t i = 0; i < l->n_offsets; i++)
		line_hold(e, t, l->offsets[i]);
}

static void lines_release(Engine *e, const Task *t, const Lines *l)
{
	for (size_t i = 0; i < l->n_offsets; i++)
		line_release(e, t, l->offsets[i]);
}

/* Claim every line of @l for @t's run; on failure, none stays claimed. */
static int lines_claim(Engine *e, const Task *t, const Lines *l)
{
	for (size_t i = 0; i < l->n_offsets; i++) {
		int r = line_claim(e, line_index(e, l->offsets[i]), t->run->priority);
		if (r < 0) {
			while (i-- > 0)
				line_unclaim(e, line_index(e, l->offsets[i]), t->run->priority);
			return r;
		}
	}
	return 0;
}

static void lines_unclaim(Engine *e, const Task *t, const Lines *l)
{
	for (size_t i = 0; i < l->n_offsets; i++)
		line_unclaim(e, line_index(e, l->offsets[i]), t->run->priority);
}

/* Claim every line of @l for @t with a level hold of its own (at 0); on failure, none. */
static int lines_claim_levels(Engine *e, const Task *t, const Lines *l)
{
	int r = lines_claim(e, t, l);

	if (r < 0)
		return r;
	for (size_t i = 0; i < l->n_offsets; i++) {
		r = line_hold_add(e, line_index(e, l->offsets[i]), t, t->run->priority);
		if (r < 0) {
			while (i-- > 0)
				line_hold_remove(e, line_index(e, l->offsets[i]), t);
			lines_unclaim(e, t, l);
			return r;
		}
	}
	return 0;
}

static void lines_set_level(Engine *e, const Task *t, const Lines *l, uint16_t level)
{
	for (size_t i = 0; i < l->n_offsets; i++)
		line_set_level(e, line_index(e, l->offsets[i]), t, level);
}

static void lines_unclaim_levels(Engine *e, const Task *t, const Lines *l)
{
	for (size_t i = 0; i < l->n_offsets; i++)
		line_hold_remove(e, line_index(e, l->offsets[i]), t);
	lines_unclaim(e, t, l);
}

/* ---------------------------------------------------------------- PWM */

/* How long in each period a line at @level is on. */
static usec_t pwm_on_time(const Engine *e, uint16_t level)
{
	return (e->pwm_period * level + LEVEL_MAX / 2) / LEVEL_MAX;
}

/* Whether line @idx is driven by PWM at @level: a GPIO line between dark and lit. */
static bool pwm_wants(const Engine *e, unsigned idx, uint16_t level)
{
	return level > 0 && level < LEVEL_MAX && !(e->line_flags[idx] & LINE_ANALOG);
}

static void pwm_track(Engine *e, unsigned idx, bool on)
{
	int pos = e->pwm_pos[idx];

	if (on && pos < 0) {
		e->pwm_pos[idx] = (int)e->n_pwm;
		e->pwm_lines[e->n_pwm++] = idx;
	} else if (!on && pos >= 0) {
		unsigned last = e->pwm_lines[--e->n_pwm];

		e->pwm_lines[pos] = last;
		e->pwm_pos[last] = pos;
		e->pwm_pos[idx] = -1;
	}
}

/*
 * What the backend is told for line @idx at instant @now: its level; on a
 * GPIO line between dark and lit, on for the first part of each period
 * (periods aligned on the engine's timeline, so lines at one level share
 * their edges) and off for the rest.
 */
static uint16_t line_output(const Engine *e, unsigned idx, uint16_t level, usec_t now)
{
	if (!pwm_wants(e, idx, level))
		return (e->line_flags[idx] & LINE_ANALOG) ? level : level ? LEVEL_MAX : 0;
	return (now - ENGINE_EPOCH) % e->pwm_period < pwm_on_time(e, level) ? LEVEL_MAX : 0;
}

/* The next instant after @now at which a PWM line changes. */
static usec_t pwm_next_change(const Engine *e, usec_t now)
{
	usec_t period_start = now - (now - ENGINE_EPOCH) % e->pwm_period, next = USEC_INFINITY;
	bool toggles = false;

	for (size_t i = 0; i < e->n_pwm; i++) {
		usec_t on = pwm_on_time(e, e->level[e->pwm_lines[i]]);

		if (on == 0 || on >= e->pwm_period)
			continue; /* rounds to dark or lit: no edge */
		toggles = true;
		if (period_start + on > now && period_start + on < next)
			next = period_start + on;
	}
	if (toggles && period_start + e->pwm_period < next)
		next = period_start + e->pwm_period;
	return next;
}

/* Adds layout line @idx to the batch if what it shows differs from what the backend has. */
static size_t batch_add(Engine *e, size_t n, unsigned idx)
{
	uint16_t level = line_value(&e->lines[idx]), v;

	e->composed[idx] = level; /* for after the write, without composing again */
	v = line_output(e, idx, level, e->now);
	if (v != e->committed[idx]) {
		e->batch_offsets[n] = e->layout->lines[idx];
		e->batch_values[n] = v;
		n++;
	}
	return n;
}

static int engine_commit(Engine *e)
{
	const Layout *l = e->layout;
	size_t n = 0;
	int r;

	if (e->n_dirty == 0)
		return 0;

	/*
	 * Offsets in order, so each batch reads the same whatever order tasks
	 * ran in. When many lines changed, walking every line in offset order
	 * is cheaper than sorting them (a tenth of the daemon's CPU with 1000
	 * lines a batch); a few are sorted.
	 */
	if (e->n_dirty * 8 >= l->n_lines) {
		for (size_t i = 0; i < l->n_lines; i++)
			if (e->line_flags[e->by_offset[i]] & LINE_DIRTY)
				n = batch_add(e, n, e->by_offset[i]);
	} else {
		for (size_t i = 0; i < e->n_dirty; i++)
			e->dirty[i] = l->lines[e->dirty[i]];
		qsort(e->dirty, e->n_dirty, sizeof(unsigned), offset_compare);
		for (size_t i = 0; i < e->n_dirty; i++) {
			e->dirty[i] = (unsigned)l->index_of[e->dirty[i]];
			n = batch_add(e, n, e->dirty[i]);
		}
	}

	if (n > 0) {
		r = e->ops->commit(e->userdata, to_external(e->now), n, e->batch_offsets,
				   e->batch_values);
		if (r < 0)
			return r; /* the lines stay dirty: the next batch tries again */
		for (size_t i = 0; i < n; i++)
			e->committed[l->index_of[e->batch_offsets[i]]] = e->batch_values[i];
	}
	/* Written: the levels are the lines' now, and the PWM lines are those between. */
	for (size_t i = 0; i < e->n_dirty; i++) {
		unsigned idx = e->dirty[i];
		uint16_t level = e->composed[idx];

		if (level != e->level[idx])
			e->levels_changed = true;
		e->level[idx] = level;
		pwm_track(e, idx, pwm_wants(e, idx, e->level[idx]));
		e->line_flags[idx] &= (uint8_t)~LINE_DIRTY;
	}
	e->n_dirty = 0;
	e->pwm_next = e->n_pwm > 0 ? pwm_next_change(e, e->now) : USEC_INFINITY;
	return 0;
}

int engine_line_state(const Engine *e, unsigned number)
{
	int idx = layout_index_of(e->layout, number);

	if (idx < 0 || e->lines[idx].n == 0)
		return -1;
	return line_output(e, (unsigned)idx, line_value(&e->lines[idx]), e->now);
}

void engine_line_set_committed(Engine *e, unsigned number, uint16_t value)
{
	int idx = layout_index_of(e->layout, number);

	if (idx >= 0) {
		e->committed[idx] = value;
		/* Unclaimed, it keeps what it was given (an initial state); claimed, its level. */
		if (e->lines[idx].n == 0 && e->level[idx] != value) {
			e->level[idx] = value;
			e->levels_changed = true;
		}
	}
}

void engine_resync(Engine *e)
{
	for (size_t i = 0; i < e->layout->n_lines; i++) {
		e->committed[i] = UINT16_MAX; /* differs from every level: rewritten next batch */
		line_mark_dirty(e, (unsigned)i);
	}
}

/* ----------------------------------------------------------------- heap */

/*
 * The heap holds each task's key beside its pointer, so that sifting
 * compares entries of one array and touches a task only to note where it
 * moved. With the keys in the tasks, each level of a sift read two tasks
 * scattered over the heap: with 10,000 programs, heap_down() was a seventh
 * of the daemon's CPU samples, most of it waiting for memory.
 */
static bool heap_less(const HeapEntry *a, const HeapEntry *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->seq < b->seq;
}

static void heap_set(Engine *e, size_t i, HeapEntry x)
{
	e->heap[i] = x;
	x.task->heap_index = i;
}

static void heap_up(Engine *e, size_t i)
{
	HeapEntry x = e->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!heap_less(&x, &e->heap[parent]))
			break;
		heap_set(e, i, e->heap[parent]);
		i = parent;
	}
	heap_set(e, i, x);
}

static void heap_down(Engine *e, size_t i)
{
	HeapEntry x = e->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= e->n_heap)
			break;
		if (c + 1 < e->n_heap && heap_less(&e->heap[c + 1], &e->heap[c]))
			c++;
		if (!heap_less(&e->heap[c], &x))
			break;
		heap_set(e, i, e->heap[c]);
		i = c;
	}
	heap_set(e, i, x);
}

static void heap_remove(Engine *e, Task *t)
{
	size_t i = t->heap_index;
	HeapEntry last;

	if (t->deadline == USEC_INFINITY)
		return;
	t->deadline = USEC_INFINITY;
	last = e->heap[--e->n_heap];
	if (i == e->n_heap)
		return;
	heap_set(e, i, last);
	heap_up(e, i);
	heap_down(e, last.task->heap_index);
}

static int heap_reserve(Engine *e, size_t n)
{
	HeapEntry *h;
	size_t cap;

	if (n <= e->heap_cap)
		return 0;
	cap = e->heap_cap ? e->heap_cap * 2 : 64;
	while (cap < n)
		cap *= 2;
	h = realloc(e->heap, cap * sizeof(HeapEntry));
	if (!h)
		return -ENOMEM;
	e->heap = h;
	e->heap_cap = cap;
	return 0;
}

/*
 * Every task has room reserved in the heap when it is made, so this cannot
 * fail. A task already queued (the one whose timer is being handled) moves
 * in place: one sift instead of a removal and an insertion.
 */
static void task_schedule(Engine *e, Task *t, usec_t deadline)
{
	usec_t old = t->deadline;
	HeapEntry x = { .deadline = deadline, .seq = e->heap_seq++, .task = t };

	t->deadline = deadline;
	if (old == USEC_INFINITY) {
		t->heap_index = e->n_heap++;
		e->heap[t->heap_index] = x;
		heap_up(e, t->heap_index);
	} else {
		e->heap[t->heap_index] = x;
		if (deadline >= old)
			heap_down(e, t->heap_index);
		else
			heap_up(e, t->heap_index);
	}
}

/* ---------------------------------------------------------------- tasks */

static int task_step(Task *t, TaskEvent event, Task *child);

static Binding *run_find_binding(const EngineRun *run, const char *name)
{
	for (size_t i = 0; i < run->n_bindings; i++)
		if (streq(run->bindings[i].name, name))
			return &run->bindings[i];
	return NULL;
}

static Program *run_lookup(const EngineRun *run, const char *name)
{
	Binding *b = run_find_binding(run, name);

	return b ? b->program : NULL;
}

static Task *task_new(Engine *e, EngineRun *run, const Program *p, Task *parent, unsigned index)
{
	size_t want = 1;
	Task *t;

	if (heap_reserve(e, e->n_tasks + 1) < 0)
		return NULL;

	if (p->kind == PROGRAM_ALL || p->kind == PROGRAM_ANY)
		want = p->n_children;

	if (e->free_tasks) {
		t = e->free_tasks;
		e->free_tasks = t->next_free;
	} else {
		t = calloc(1, sizeof(Task));
		if (!t)
			return NULL;
	}
	if (t->children_cap < want) {
		Task **c = realloc(t->children, want * sizeof(Task *));
		if (!c) {
			t->next_free = e->free_tasks;
			e->free_tasks = t;
			return NULL;
		}
		t->children = c;
		t->children_cap = want;
	}

	t->program = p;
	t->parent = parent;
	t->run = run;
	t->index = index;
	t->state = TASK_NEW;
	t->start = e->step_time;
	t->deadline = USEC_INFINITY;
	t->edge = t->round = 0;
	t->n_children = t->n_active = 0;
	t->next_free = NULL;
	e->n_tasks++;
	return t;
}

static void task_release(Engine *e, Task *t)
{
	heap_remove(e, t);
	t->state = TASK_DONE;
	t->next_free = e->graveyard;
	e->graveyard = t;
	e->n_tasks--;
}

/* Start a child task at this instant; it runs its START step before this returns. */
static int task_spawn(Task *t, const Program *p, unsigned index)
{
	Engine *e = t->run->engine;
	Task *c = task_new(e, t->run, p, t, index);

	if (!c)
		return -ENOMEM;
	t->children[index] = c;
	if (index + 1 > t->n_children)
		t->n_children = index + 1;
	t->n_active++;
	return task_step(c, EVENT_START, NULL);
}

static void task_cancel_children(Task *t)
{
	for (size_t i = 0; i < t->n_children; i++)
		if (t->children[i]) {
			Task *c = t->children[i];
			t->children[i] = NULL;
			(void)task_step(c, EVENT_CANCEL, NULL);
		}
	t->n_active = 0;
}

static void run_ended(EngineRun *run, RunResult result);

/* The task has ended at this instant: tell its parent, which frees it. */
static int task_finish(Task *t)
{
	Engine *e = t->run->engine;
	Task *parent = t->parent;

	task_release(e, t);
	if (!parent) {
		run_ended(t->run, RUN_DONE);
		return 0;
	}
	parent->children[t->index] = NULL;
	parent->n_active--;
	return task_step(parent, EVENT_CHILD_DONE, t);
}

/* The lines a cycle task drives at edge k. */
static unsigned cycle_line(const Task *t, uint64_t k)
{
	const Lines *l = &t->program->lines;
	return l->offsets[(k / 2) % l->n_offsets];
}

static int step_blink(Task *t, TaskEvent event)
{
	Engine *e = t->run->engine;
	const Program *p = t->program;
	bool cycle = p->kind == PROGRAM_CYCLE;
	uint64_t last_edge = 0; /* the edge that ends the task; 0: never */
	int r;

	if (p->times)
		last_edge = 2ULL * p->times * (cycle ? p->lines.n_offsets : 1);

	switch (event) {
	case EVENT_START:
		/* Claimed in both phases: a higher blink's dark half is dark. */
		r = lines_claim(e, t, &p->lines);
		if (r < 0)
			return r;
		t->edge = 0;
		if (e->step_time < e->now) {
			/* Catching up: the edge in force now, or the end if that has passed. */
			uint64_t k = (e->now - t->start) / p->duration;

			if (last_edge && k >= last_edge) {
				t->edge = last_edge;
				t->state = TASK_DARK;
				task_schedule(e, t, t->start + last_edge * p->duration);
				return 0;
			}
			t->edge = k;
		}
		break;
	case EVENT_TIMER:
		break;
	case EVENT_CANCEL:
		if (t->state == TASK_LIT) {
			if (cycle)
				line_release(e, t, cycle_line(t, t->edge - 1));
			else
				lines_release(e, t, &p->lines);
		}
		if (t->state != TASK_NEW)
			lines_unclaim(e, t, &p->lines);
		task_release(e, t);
		return 0;
	default:
		return -EINVAL;
	}

	/* Apply edge number t->edge, which falls due now. */
	if (last_edge && t->edge == last_edge) {
		lines_unclaim(e, t, &p->lines);
		return task_finish(t);
	}
	if (t->edge % 2 == 0) {
		if (cycle)
			line_hold(e, t, cycle_line(t, t->edge));
		else
			lines_hold(e, t, &p->lines);
		t->state = TASK_LIT;
	} else {
		/* A task that catches up to a dark edge holds nothing yet. */
		if (t->state == TASK_LIT) {
			if (cycle)
				line_release(e, t, cycle_line(t, t->edge));
			else
				lines_release(e, t, &p->lines);
		}
		t->state = TASK_DARK;
	}
	t->edge++;
	/* Absolute: computed from the start, never from the previous edge. */
	task_schedule(e, t, t->start + t->edge * p->duration);
	return 0;
}

/* on holds its lines lit, dim at its level, wait nothing; each for its duration, or for ever. */
static int step_hold(Task *t, TaskEvent event)
{
	Engine *e = t->run->engine;
	const Program *p = t->program;
	bool on = p->kind == PROGRAM_ON, dim = p->kind == PROGRAM_DIM;
	int r;

	switch (event) {
	case EVENT_START:
		if (on) {
			r = lines_claim(e, t, &p->lines);
			if (r < 0)
				return r;
			lines_hold(e, t, &p->lines);
		} else if (dim) {
			r = lines_claim_levels(e, t, &p->lines);
			if (r < 0)
				return r;
			lines_set_level(e, t, &p->lines, p->level);
		}
		t->state = TASK_HOLD;
		/* "on" without "for" is a future nobody completes: no deadline at all. */
		if (p->duration)
			task_schedule(e, t, t->start + p->duration);
		return 0;
	case EVENT_TIMER:
	case EVENT_CANCEL:
		if (on && t->state == TASK_HOLD) {
			lines_release(e, t, &p->lines);
			lines_unclaim(e, t, &p->lines);
		} else if (dim && t->state == TASK_HOLD)
			lines_unclaim_levels(e, t, &p->lines);
		if (event == EVENT_CANCEL) {
			task_release(e, t);
			return 0;
		}
		return task_finish(t);
	default:
		return -EINVAL;
	}
}

/* How many rounds of its track a task runs: 0 for ever. */
static uint64_t track_rounds(const Program *p)
{
	switch (p->kind) {
	case PROGRAM_PATTERN:
		return p->times;
	case PROGRAM_HEARTBEAT:
		return 0;
	default:
		return 1; /* fade, morse */
	}
}

/* The first PWM period boundary after @at: ramps take a new level there. */
static usec_t next_boundary(const Engine *e, usec_t at)
{
	return at - (at - ENGINE_EPOCH) % e->pwm_period + e->pwm_period;
}

/*
 * fade, pattern, heartbeat, morse: a track of segments, each from one level
 * to another over its duration; a round is the whole track. The level is
 * computed from the start at each step (a ramp steps at each PWM period
 * boundary, a held level only where its segment ends), never accumulated.
 */
static int step_track(Task *t, TaskEvent event)
{
	Engine *e = t->run->engine;
	const Program *p = t->program;
	uint64_t rounds = track_rounds(p), round;
	usec_t at, elapsed, pos, step_pos, next, seg_end;
	const Segment *seg;
	int r;

	switch (event) {
	case EVENT_START:
		r = lines_claim_levels(e, t, &p->lines);
		if (r < 0)
			return r;
		t->state = TASK_HOLD;
		t->edge = 0;
		t->round = 0;
		t->seg_start = 0;
		break;
	case EVENT_TIMER:
		break;
	case EVENT_CANCEL:
		if (t->state == TASK_HOLD)
			lines_unclaim_levels(e, t, &p->lines);
		task_release(e, t);
		return 0;
	default:
		return -EINVAL;
	}

	/* Catching up: straight to the level in force now. */
	at = e->step_time < e->now ? e->now : e->step_time;
	elapsed = at - t->start;
	round = elapsed / p->track_duration;
	if (rounds && round >= rounds) {
		usec_t end = t->start + rounds * p->track_duration;

		/*
		 * Ended before now: end then, in timeline order. Compared with the
		 * step's instant, not with now: the step at that instant is the end
		 * itself, and must not put it off again.
		 */
		if (end > e->step_time) {
			task_schedule(e, t, end);
			return 0;
		}
		lines_unclaim_levels(e, t, &p->lines);
		t->state = TASK_DONE;
		return task_finish(t);
	}
	pos = elapsed % p->track_duration;
	if (round != t->round || pos < t->seg_start) {
		t->round = round;
		t->edge = 0;
		t->seg_start = 0;
	}
	while (t->seg_start + p->segments[t->edge].duration <= pos) {
		t->seg_start += p->segments[t->edge].duration;
		t->edge++;
	}
	seg = &p->segments[t->edge];
	/*
	 * A ramp takes its level where its segment begins and at each PWM
	 * period boundary after. Catching up, "at" falls anywhere: the level is
	 * the one of the last of those steps, as if the track had run all along.
	 */
	step_pos = pos - t->seg_start;
	if (seg->from != seg->to) {
		usec_t since_boundary = (at - ENGINE_EPOCH) % e->pwm_period;

		step_pos = since_boundary < step_pos ? step_pos - since_boundary : 0;
	}
	lines_set_level(e, t, &p->lines,
			level_ramp(seg->from, seg->to, step_pos, seg->duration,
				   p->kind == PROGRAM_FADE && !p->linear));

	seg_end = t->start + round * p->track_duration + t->seg_start + seg->duration;
	next = seg_end;
	if (seg->from != seg->to) {
		usec_t b = next_boundary(e, at);
		if (b < next)
			next = b;
	}
	task_schedule(e, t, next);
	return 0;
}

/* Durations saturate here: anything longer runs, for all purposes, forever. */
#define DURATION_FOREVER (1ULL << 61)

static usec_t duration_add(usec_t a, usec_t b)
{
	return a >= DURATION_FOREVER || b >= DURATION_FOREVER || a + b >= DURATION_FOREVER
		       ? USEC_INFINITY
		       : a + b;
}

static usec_t duration_mul(usec_t a, uint64_t k)
{
	if (a >= DURATION_FOREVER || (k > 0 && a > DURATION_FOREVER / k))
		return USEC_INFINITY;
	return a * k;
}

/* How long @p runs in @run (its calls as bound), or USEC_INFINITY. */
static usec_t program_duration(const EngineRun *run, const Program *p)
{
	usec_t d = 0, c;

	switch (p->kind) {
	case PROGRAM_BLINK:
	case PROGRAM_CYCLE:
		if (!p->times)
			return USEC_INFINITY;
		d = duration_mul(p->duration, 2ULL * p->times);
		return p->kind == PROGRAM_CYCLE ? duration_mul(d, p->lines.n_offsets) : d;
	case PROGRAM_ON:
	case PROGRAM_DIM:
		return p->duration ? p->duration : USEC_INFINITY;
	case PROGRAM_WAIT:
		return p->duration;
	case PROGRAM_FADE:
	case PROGRAM_PATTERN:
	case PROGRAM_HEARTBEAT:
	case PROGRAM_MORSE:
		return track_rounds(p) ? duration_mul(p->track_duration, track_rounds(p))
				       : USEC_INFINITY;
	case PROGRAM_SEQUENCE:
		for (size_t i = 0; i < p->n_children; i++)
			d = duration_add(d, program_duration(run, p->children[i]));
		return d;
	case PROGRAM_ALL:
		for (size_t i = 0; i < p->n_children; i++) {
			c = program_duration(run, p->children[i]);
			d = c > d ? c : d;
		}
		return d;
	case PROGRAM_ANY:
		d = USEC_INFINITY;
		for (size_t i = 0; i < p->n_children; i++) {
			c = program_duration(run, p->children[i]);
			d = c < d ? c : d;
		}
		return d;
	case PROGRAM_REPEAT:
		return duration_mul(program_duration(run, p->children[0]), p->times);
	case PROGRAM_CALL: {
		Binding *b = run_find_binding(run, p->call);

		if (!b)
			return USEC_INFINITY;
		/* Once per definition and run: bindings never change, and never form a cycle. */
		if (!b->has_duration) {
			b->duration = program_duration(run, b->program);
			b->has_duration = true;
		}
		return b->duration;
	}
	case PROGRAM_FOREVER:
	default:
		return USEC_INFINITY;
	}
}

/*
 * Start the next round of a forever or repeat at the step's instant. While
 * catching up, whole rounds that fit before now are skipped by arithmetic:
 * a month-old forever of a 100us blink costs no more than a new one.
 */
static int spawn_round(Task *t)
{
	Engine *e = t->run->engine;
	const Program *p = t->program;
	usec_t at = e->step_time, saved, d;
	int r;

	if (at < e->now) {
		d = program_duration(t->run, p->children[0]);
		if (d != USEC_INFINITY && d > 0 && at + d <= e->now) {
			uint64_t k = (e->now - at) / d;

			if (p->kind == PROGRAM_REPEAT && k >= p->times - t->round) {
				/* Every round left ended in the past: end then, in timeline order. */
				k = p->times - t->round;
				t->round = p->times;
				task_schedule(e, t, at + k * d);
				return 0;
			}
			t->round += k;
			at += k * d;
		}
	}
	t->round++;
	saved = e->step_time;
	e->step_time = at;
	r = task_spawn(t, p->children[0], 0);
	e->step_time = saved;
	return r;
}

static int step_composite(Task *t, TaskEvent event, Task *child)
{
	Engine *e = t->run->engine;
	const Program *p = t->program;
	const Program *called;
	int r;

	if (event == EVENT_CANCEL) {
		task_cancel_children(t);
		task_release(e, t);
		return 0;
	}

	switch (p->kind) {
	case PROGRAM_SEQUENCE:
		if (event == EVENT_START)
			t->round = 0;
		else if (event == EVENT_CHILD_DONE && ++t->round == p->n_children)
			return task_finish(t);
		t->state = TASK_CHILDREN;
		return task_spawn(t, p->children[t->round], 0);

	case PROGRAM_ALL:
	case PROGRAM_ANY:
		if (event == EVENT_START) {
			t->state = TASK_CHILDREN;
			for (size_t i = 0; i < p->n_children; i++) {
				r = task_spawn(t, p->children[i], (unsigned)i);
				if (r < 0)
					return r;
			}
			return 0;
		}
		if (p->kind == PROGRAM_ALL) {
			if (event == EVENT_CHILD_DONE && t->n_active == 0)
				return task_finish(t);
			return 0;
		}
		/* The first to end wins; the others go dark at its instant. */
		task_cancel_children(t);
		return task_finish(t);

	case PROGRAM_FOREVER:
	case PROGRAM_REPEAT:
		/* A repeat whose last rounds were skipped while catching up ends at their end. */
		if (event == EVENT_TIMER)
			return task_finish(t);
		/* A fresh instance each round: a finished one is never run again. */
		if (event == EVENT_CHILD_DONE && p->kind == PROGRAM_REPEAT && t->round == p->times)
			return task_finish(t);
		t->state = TASK_CHILDREN;
		return spawn_round(t);

	case PROGRAM_CALL:
		if (event == EVENT_CHILD_DONE)
			return task_finish(t);
		called = run_lookup(t->run, p->call);
		if (!called)
			return -ENOENT; /* bound at start: cannot happen */
		t->state = TASK_CHILDREN;
		return task_spawn(t, called, 0);

	default:
		return -EINVAL;
	}
}

static const char step_budget_failure[] =
	"it took more steps at one instant than the engine allows, and could not catch up";

/*
 * Every step but a cancel counts against the run's budget for the instant.
 * Catching up happens within one instant, so however far back a run
 * started, a step that puts its work off to an instant gone by (and so runs
 * again) ends as a failed run instead of holding the loop for ever.
 */
static int task_count_step(Task *t)
{
	EngineRun *run = t->run;
	Engine *e = run->engine;

	e->n_steps++;
	if (run->steps_instant != e->now) {
		run->steps_instant = e->now;
		run->steps = 0;
	}
	if (++run->steps > e->step_budget) {
		run->failure = step_budget_failure;
		return -E2BIG;
	}
	return 0;
}

static usec_t program_duration(const EngineRun *run, const Program *p);

/*
 * Catching up, a composite task whose whole span has passed by now runs
 * nothing: it only ends at its end, in timeline order. Without this, a
 * sequence caught up walks every child that ended in the past, and one
 * that calls a definition calling another twice, 40 deep, has 2^40 of them.
 * Returns whether @t was skipped.
 */
static bool task_skip_past(Task *t)
{
	Engine *e = t->run->engine;
	usec_t d;

	if (e->step_time >= e->now)
		return false;
	d = program_duration(t->run, t->program);
	if (d == USEC_INFINITY || d > e->now - t->start)
		return false;
	t->state = TASK_SKIPPED;
	task_schedule(e, t, t->start + d);
	return true;
}
static void run_take_over(EngineRun *run);

static int task_step(Task *t, TaskEvent event, Task *child)
{
	if (event != EVENT_CANCEL) {
		int r = task_count_step(t);
		if (r < 0)
			return r;
	}
	/* A run that starts later waits in the heap as its root task, not yet started. */
	if (t->state == TASK_NEW && event == EVENT_TIMER) {
		heap_remove(t->run->engine, t);
		event = EVENT_START;
		if (t->run->replaces)
			run_take_over(t->run);
	}
	if (t->state == TASK_SKIPPED) {
		if (event == EVENT_TIMER)
			return task_finish(t);
		task_release(t->run->engine, t);
		return 0; /* cancelled: it holds nothing */
	}
	switch (t->program->kind) {
	case PROGRAM_BLINK:
	case PROGRAM_CYCLE:
		return step_blink(t, event);
	case PROGRAM_ON:
	case PROGRAM_WAIT:
	case PROGRAM_DIM:
		return step_hold(t, event);
	case PROGRAM_FADE:
	case PROGRAM_PATTERN:
	case PROGRAM_HEARTBEAT:
	case PROGRAM_MORSE:
		return step_track(t, event);
	default:
		if (event == EVENT_START && task_skip_past(t))
			return 0;
		return step_composite(t, event, child);
	}
}

/* ----------------------------------------------------------------- runs */

/* Drop the definitions @run bound. */
static void run_unbind(EngineRun *run)
{
	for (size_t i = 0; i < run->n_bindings; i++)
		program_unref(run->bindings[i].program);
	free(run->bindings);
	run->bindings = NULL;
	run->n_bindings = 0;
}

static void run_free(EngineRun *run)
{
	run_unbind(run);
	program_unref(run->program);
	free(run);
}

static void run_unlink(EngineRun *run)
{
	Engine *e = run->engine;

	if (run->prev)
		run->prev->next = run->next;
	else
		e->runs = run->next;
	if (run->next)
		run->next->prev = run->prev;
	run->prev = run->next = NULL;
	e->n_runs--;
}

/* @run ends: a hand-over it was part of is off; the other run goes on as it is. */
static void run_drop_hand_over(EngineRun *run)
{
	if (run->replaces)
		run->replaces->replaced_by = NULL;
	if (run->replaced_by)
		run->replaced_by->replaces = NULL;
	run->replaces = run->replaced_by = NULL;
}

static void run_ended(EngineRun *run, RunResult result)
{
	Engine *e = run->engine;

	run_drop_hand_over(run);

	run->root = NULL;
	run->ended = true;
	run->result = result;
	if (e->ended_last)
		e->ended_last->next_ended = run;
	else
		e->ended_first = run;
	e->ended_last = run;
}

/*
 * @run starts now: the run it takes over from is cancelled at this same
 * instant, before the batch, so the batch that carries @run's first edges
 * carries the other's last, and a line both light never goes dark.
 */
static void run_take_over(EngineRun *run)
{
	EngineRun *old = run->replaces;

	run_drop_hand_over(old);
	if (old->root)
		(void)task_step(old->root, EVENT_CANCEL, NULL);
	run_ended(old, RUN_REPLACED);
}

typedef struct BindContext {
	EngineRun *run;
	EngineLookup lookup;
	void *userdata;
	ProgramError *error;
	bool allow_undefined;
	const char *stack[PROGRAM_NODES_MAX];
	size_t n_stack;
} BindContext;

static int bind_program(BindContext *ctx, const Program *p);

static int bind_call(const char *name, void *userdata)
{
	BindContext *ctx = userdata;
	EngineRun *run = ctx->run;
	Binding *b;
	Program *def;
	int r;

	for (size_t i = 0; i < ctx->n_stack; i++)
		if (streq(ctx->stack[i], name)) {
			if (ctx->error) {
				size_t len = 0;
				snprintf(ctx->error->path, sizeof(ctx->error->path), "$");
				len += (size_t)snprintf(ctx->error->message, sizeof(ctx->error->message),
							"call cycle:");
				for (size_t j = i; j < ctx->n_stack && len < sizeof(ctx->error->message); j++)
					len += (size_t)snprintf(ctx->error->message + len,
								sizeof(ctx->error->message) - len,
								" %s ->", ctx->stack[j]);
				if (len < sizeof(ctx->error->message))
					snprintf(ctx->error->message + len,
						 sizeof(ctx->error->message) - len, " %s", name);
			}
			return -ELOOP;
		}
	if (run_lookup(run, name))
		return 0; /* bound already, and checked */

	def = ctx->lookup ? ctx->lookup(name, ctx->userdata) : NULL;
	if (!def && ctx->allow_undefined)
		return 0;
	if (!def) {
		if (ctx->error) {
			snprintf(ctx->error->path, sizeof(ctx->error->path), "$");
			snprintf(ctx->error->message, sizeof(ctx->error->message),
				 "no definition named \"%s\"", name);
		}
		return -ENOENT;
	}
	if (ctx->n_stack >= ELEMENTSOF(ctx->stack))
		return -ELOOP;

	ctx->stack[ctx->n_stack++] = name;
	r = bind_program(ctx, def);
	ctx->n_stack--;
	if (r < 0)
		return r;

	b = realloc(run->bindings, (run->n_bindings + 1) * sizeof(Binding));
	if (!b)
		return -ENOMEM;
	run->bindings = b;

	/* Bound after its own calls, so a cycle through it is still seen above. */
	run->bindings[run->n_bindings++] = (Binding){
		.name = name,
		.program = program_ref(def),
	};
	return 0;
}

static int bind_program(BindContext *ctx, const Program *p)
{
	return program_for_each_call(p, bind_call, ctx);
}

/*
 * Bind into @run every definition @program calls, through @lookup. @self
 * (or NULL) counts as already on the call stack; with @allow_undefined an
 * unknown name is passed over. The context is large: it lives on the heap.
 */
static int run_bind(EngineRun *run, const Program *program, EngineLookup lookup, void *userdata,
		    const char *self, bool allow_undefined, ProgramError *error)
{
	BindContext *ctx;
	int r;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	*ctx = (BindContext){
		.run = run,
		.lookup = lookup,
		.userdata = userdata,
		.error = error,
		.allow_undefined = allow_undefined,
	};
	if (self)
		ctx->stack[ctx->n_stack++] = self;
	r = bind_program(ctx, program);
	free(ctx);
	return r;
}

/* ---------------------------------------------------------------- engine */

static void engine_recycle(Engine *e)
{
	while (e->graveyard) {
		Task *t = e->graveyard;
		e->graveyard = t->next_free;
		t->next_free = e->free_tasks;
		e->free_tasks = t;
	}
}

/*
 * A step of @run failed (a task could not be made): the run cannot go on as
 * written, so it ends now as failed, its lines dark at this instant, rather
 * than linger with a part missing.
 */
static void run_fail(EngineRun *run)
{
	if (run->ended)
		return;
	if (!run->failure)
		run->failure = "a task could not be made (out of memory)";
	if (run->root)
		(void)task_step(run->root, EVENT_CANCEL, NULL);
	run_ended(run, RUN_FAILED);
}

/* Apply every event due up to @now, in timeline order; no batch is written. */
static void engine_process(Engine *e, usec_t now)
{
	for (;;) {
		Task *t = e->n_heap > 0 ? e->heap[0].task : NULL;

		usec_t next;

		if (t && t->deadline <= e->now) {
			EngineRun *run = t->run; /* the step may release t */

			/* Before now only while a run catches up. */
			e->step_time = t->deadline;
			/* Left in the heap: the step reschedules it in place, or releases it. */
			if (task_step(t, EVENT_TIMER, NULL) < 0)
				run_fail(run);
			continue;
		}
		if (e->pwm_next <= e->now) {
			/* A PWM edge, after the tasks of its instant: every PWM line is looked at. */
			for (size_t i = 0; i < e->n_pwm; i++)
				line_mark_dirty(e, e->pwm_lines[i]);
			e->pwm_next = USEC_INFINITY;
			continue;
		}
		next = t ? t->deadline : USEC_INFINITY;
		if (e->pwm_next < next)
			next = e->pwm_next;
		if (next <= now)
			e->now = next; /* the next instant */
		else
			break;
	}
	if (now > e->now)
		e->now = now;
	e->step_time = e->now;
}

int engine_new(Engine **ret, const Layout *layout, const EngineOps *ops, void *userdata)
{
	_cleanup_(engine_freep) Engine *e = NULL;
	size_t n = layout->n_lines;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->layout = layout;
	e->ops = ops;
	e->userdata = userdata;
	e->now = e->step_time = ENGINE_EPOCH;
	e->step_budget = ENGINE_STEP_BUDGET_DEFAULT;
	e->lines = calloc(n, sizeof(LineClaims));
	e->committed = calloc(n, sizeof(uint16_t));
	e->level = calloc(n, sizeof(uint16_t));
	e->pwm_lines = calloc(n, sizeof(unsigned));
	e->pwm_pos = malloc(n * sizeof(int));
	e->pwm_period = USEC_PER_SEC / ENGINE_PWM_HZ_DEFAULT;
	e->pwm_next = USEC_INFINITY;
	e->line_flags = calloc(n, 1);
	e->composed = calloc(n, sizeof(uint16_t));
	e->dirty = calloc(n, sizeof(unsigned));
	e->batch_offsets = calloc(n, sizeof(unsigned));
	e->batch_values = calloc(n, sizeof(uint16_t));
	e->by_offset = calloc(n, sizeof(unsigned));
	if (!e->lines || !e->committed || !e->line_flags || !e->composed || !e->dirty || !e->batch_offsets ||
	    !e->batch_values || !e->by_offset || !e->level || !e->pwm_lines || !e->pwm_pos)
		return -ENOMEM;
	for (size_t o = 0, i = 0; o <= layout->max_number; o++)
		if (layout->index_of[o] >= 0)
			e->by_offset[i++] = (unsigned)layout->index_of[o];
	for (size_t i = 0; i < n; i++) {
		e->pwm_pos[i] = -1;
		/* Beside the dirty bit, in the byte the commit reads anyway. */
		if (layout->info[i].analog)
			e->line_flags[i] |= LINE_ANALOG;
	}
	*ret = TAKE_PTR(e);
	return 0;
}

static void task_free_tree(Task *t)
{
	for (size_t i = 0; i < t->n_children; i++)
		if (t->children[i])
			task_free_tree(t->children[i]);
	free(t->children);
	free(t);
}

static void task_list_free(Task *t)
{
	while (t) {
		Task *next = t->next_free;
		free(t->children);
		free(t);
		t = next;
	}
}

Engine *engine_free(Engine *e)
{
	if (!e)
		return NULL;
	while (e->runs) {
		EngineRun *run = e->runs;
		run_unlink(run);
		if (run->ended)
			continue; /* freed from the list of ended runs below */
		if (run->root)
			task_free_tree(run->root);
		run_free(run);
	}
	while (e->ended_first) {
		EngineRun *run = e->ended_first;
		e->ended_first = run->next_ended;
		run_free(run);
	}
	task_list_free(e->graveyard);
	task_list_free(e->free_tasks);
	free(e->heap);
	for (size_t i = 0; e->lines && i < e->layout->n_lines; i++)
		free(e->lines[i].claims), free(e->lines[i].holds);
	free(e->lines);
	free(e->committed);
	free(e->level);
	free(e->pwm_lines);
	free(e->pwm_pos);
	free(e->line_flags);
	free(e->composed);
	free(e->dirty);
	free(e->by_offset);
	free(e->batch_offsets);
	free(e->batch_values);
	free(e);
	return NULL;
}

int engine_start(Engine *e, Program *program, EngineLookup lookup, void *lookup_userdata,
		 usec_t now, void *run_userdata, EngineRun **ret, ProgramError *error)
{
	return engine_start_with(e, program, lookup, lookup_userdata, now, &(EngineStartOptions){},
				 run_userdata, ret, error);
}

int engine_start_with(Engine *e, Program *program, EngineLookup lookup, void *lookup_userdata,
		      usec_t now, const EngineStartOptions *opts, void *run_userdata,
		      EngineRun **ret, ProgramError *error)
{
	EngineRun *run;
	usec_t start;
	int r;

	if (opts->priority < ENGINE_PRIORITY_MIN || opts->priority > ENGINE_PRIORITY_MAX ||
	    opts->offset < -ENGINE_OFFSET_MAX || opts->offset > ENGINE_OFFSET_MAX)
		return -ERANGE;
	engine_process(e, to_internal(now));
	start = opts->offset < 0 ? e->now - (usec_t)-opts->offset : e->now + (usec_t)opts->offset;

	run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	run->engine = e;
	run->program = program_ref(program);
	run->priority = opts->priority;
	run->userdata = run_userdata;

	r = run_bind(run, program, lookup, lookup_userdata, NULL, false, error);
	if (r < 0) {
		run_free(run);
		return r;
	}

	run->root_program = program;
	if (opts->timeout > 0) {
		run->timeout_wait = (Program){ .kind = PROGRAM_WAIT, .duration = opts->timeout };
		run->timeout_children[0] = program;
		run->timeout_children[1] = &run->timeout_wait;
		run->timeout_any = (Program){
			.kind = PROGRAM_ANY,
			.n_children = 2,
			.children = run->timeout_children,
		};
		run->root_program = &run->timeout_any;
	}

	e->step_time = start;
	run->root = task_new(e, run, run->root_program, NULL, 0);
	if (!run->root) {
		e->step_time = e->now;
		run_free(run);
		return -ENOMEM;
	}
	run->next = e->runs;
	if (e->runs)
		e->runs->prev = run;
	e->runs = run;
	e->n_runs++;

	if (start > e->now) {
		/* Later: the root waits in the heap for its instant. */
		task_schedule(e, run->root, start);
		r = 0;
	} else
		r = task_step(run->root, EVENT_START, NULL);
	e->step_time = e->now;
	if (r < 0 && run->failure)
		/* Over its budget: it ends failed with the next advance, saying why. */
		run_fail(run);
	else if (r < 0) {
		/* Out of memory half way: take back what started, as if nothing had. */
		if (run->root)
			(void)task_step(run->root, EVENT_CANCEL, NULL);
		run_unlink(run);
		run_free(run);
		engine_recycle(e);
		return r;
	}
	/* A run from the past catches up to now; nothing of its past reaches the lines. */
	if (start < e->now)
		engine_process(e, e->now);
	engine_recycle(e);
	if (ret)
		*ret = run;
	return 0;
}

int engine_check_calls(const Program *program, EngineLookup lookup, void *userdata,
		       const char *self, ProgramError *error)
{
	EngineRun run = {};
	int r = run_bind(&run, program, lookup, userdata, self, true, error);

	run_unbind(&run);
	return r;
}

usec_t engine_program_duration(const Program *program, EngineLookup lookup, void *userdata)
{
	EngineRun run = {};
	usec_t d = USEC_INFINITY;

	if (run_bind(&run, program, lookup, userdata, NULL, false, NULL) >= 0)
		d = program_duration(&run, program);
	run_unbind(&run);
	return d;
}

int engine_stop(Engine *e, EngineRun *run, RunResult result, usec_t now)
{
	engine_process(e, to_internal(now));
	if (run->ended)
		return -ESRCH;

	run_drop_hand_over(run);
	(void)task_step(run->root, EVENT_CANCEL, NULL);
	run->root = NULL;
	run_unlink(run);
	engine_recycle(e);
	e->ops->finished(e->userdata, run, result);
	run_free(run);
	return 0;
}

int engine_advance(Engine *e, usec_t now)
{
	int r;

	engine_process(e, to_internal(now));
	engine_recycle(e);
	r = engine_commit(e);

	while (e->ended_first) {
		EngineRun *run = e->ended_first;

		e->ended_first = run->next_ended;
		if (!e->ended_first)
			e->ended_last = NULL;
		run_unlink(run);
		e->ops->finished(e->userdata, run, run->result);
		run_free(run);
	}
	return r;
}

usec_t engine_next_deadline(const Engine *e)
{
	usec_t next = e->n_heap > 0 ? e->heap[0].deadline : USEC_INFINITY;

	return to_external(e->pwm_next < next ? e->pwm_next : next);
}

bool engine_take_levels_changed(Engine *e)
{
	bool c = e->levels_changed;

	e->levels_changed = false;
	return c;
}

uint16_t engine_line_level(const Engine *e, unsigned number)
{
	int idx = layout_index_of(e->layout, number);

	return idx >= 0 ? e->level[idx] : 0;
}

int engine_set_pwm_hz(Engine *e, unsigned hz)
{
	if (hz < ENGINE_PWM_HZ_MIN || hz > ENGINE_PWM_HZ_MAX)
		return -ERANGE;
	e->pwm_period = USEC_PER_SEC / hz;
	return 0;
}

usec_t engine_now(const Engine *e)
{
	return to_external(e->now);
}

bool engine_run_is_scheduled(const EngineRun *run)
{
	return run->root && run->root->state == TASK_NEW;
}

int engine_run_hand_over(Engine *e, EngineRun *old, EngineRun *new)
{
	if (old == new || old->ended || new->ended || !engine_run_is_scheduled(new))
		return -EBUSY;
	/* One each way: earlier hand-overs of either are off. */
	if (old->replaced_by)
		old->replaced_by->replaces = NULL;
	if (new->replaces)
		new->replaces->replaced_by = NULL;
	old->replaced_by = new;
	new->replaces = old;
	return 0;
}

int engine_run_reschedule(Engine *e, EngineRun *run, usec_t now, int64_t offset)
{
	Task *t = run->root;
	usec_t start;

	if (!engine_run_is_scheduled(run))
		return -EBUSY;
	if (offset < -ENGINE_OFFSET_MAX || offset > ENGINE_OFFSET_MAX)
		return -ERANGE;
	engine_process(e, to_internal(now));
	if (!engine_run_is_scheduled(run))
		return -EBUSY; /* it started meanwhile */
	start = offset < 0 ? e->now - (usec_t)-offset : e->now + (usec_t)offset;
	t->start = start;
	if (start > e->now) {
		task_schedule(e, t, start);
		return 0;
	}
	/* Its instant has come or gone by: it starts now, in the phase it has since. */
	heap_remove(e, t);
	if (run->replaces)
		run_take_over(run);
	e->step_time = start;
	if (task_step(t, EVENT_START, NULL) < 0)
		run_fail(run);
	e->step_time = e->now;
	engine_process(e, e->now);
	engine_recycle(e);
	return 0;
}

usec_t engine_run_duration(const EngineRun *run)
{
	return program_duration(run, run->root_program);
}

size_t engine_n_runs(const Engine *e)
{
	return e->n_runs;
}

size_t engine_n_tasks(const Engine *e)
{
	return e->n_tasks;
}

bool engine_line_is_lit(const Engine *e, unsigned offset)
{
	int idx = layout_index_of(e->layout, offset);
	return idx >= 0 && e->level[idx] > 0;
}

size_t engine_get_lit(const Engine *e, unsigned *offsets, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < e->layout->n_lines; i++) {
		unsigned idx = e->by_offset[i];

		if (e->level[idx] > 0) {
			if (n < max)
				offsets[n] = e->layout->lines[idx];
			n++;
		}
	}
	return n;
}

size_t engine_get_levels(const Engine *e, unsigned *numbers, uint16_t *levels, size_t max,
			 bool *ret_between)
{
	size_t n = 0;
	bool between = false;

	for (size_t i = 0; i < e->layout->n_lines; i++) {
		unsigned idx = e->by_offset[i];

		if (e->level[idx] == 0)
			continue;
		between = between || e->level[idx] < LEVEL_MAX;
		if (n < max) {
			numbers[n] = e->layout->lines[idx];
			levels[n] = e->level[idx];
		}
		n++;
	}
	if (ret_between)
		*ret_between = between;
	return n;
}

void *engine_run_get_userdata(const EngineRun *run)
{
	return run->userdata;
}

const char *engine_run_failure(const EngineRun *run)
{
	return run->failure;
}

int engine_set_step_budget(Engine *e, uint64_t steps)
{
	if (steps == 0)
		return -ERANGE;
	e->step_budget = steps;
	return 0;
}

uint64_t engine_n_steps(const Engine *e)
{
	return e->n_steps;
}

