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
 * priority; a dim or a track (fade, pattern, heartbeat, morse) claims its
 * lines with a level hold of its own. The compositor (compositor.h) makes
 * of the claims what each line shows. A covered run keeps running on the
 * timeline, unseen, and shows through again, in phase, the instant the
 * cover ends.
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
#include <stdlib.h>

#include "program-duration.h"
#include "task.h"

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

struct Task {
	HeapNode node;		/* its next timer event: node.deadline, or USEC_INFINITY */
	const Program *program;
	Task *parent;
	TaskGroup *group;
	unsigned index;		/* position among the parent's children */
	TaskState state;

	usec_t start;		/* the instant the task started */

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

static Task *task_of(HeapNode *node)
{
	return (Task *)((char *)node - offsetof(Task, node));
}

/* ---------------------------------------------------------------- lines */

/* Claimed in both phases, lit or dark, at the run's priority. */
static int lines_claim(Tasks *e, const Task *t, const Lines *l)
{
	return compositor_claim_lines(e->compositor, l, t->group->priority);
}

static void lines_unclaim(Tasks *e, const Task *t, const Lines *l)
{
	compositor_unclaim_lines(e->compositor, l, t->group->priority);
}

static void lines_hold(Tasks *e, const Task *t, const Lines *l)
{
	compositor_light_lines(e->compositor, l, t->group->priority, true);
}

static void lines_release(Tasks *e, const Task *t, const Lines *l)
{
	compositor_light_lines(e->compositor, l, t->group->priority, false);
}

static void line_hold(Tasks *e, const Task *t, unsigned number)
{
	compositor_light_line(e->compositor, number, t->group->priority, true);
}

static void line_release(Tasks *e, const Task *t, unsigned number)
{
	compositor_light_line(e->compositor, number, t->group->priority, false);
}

static int lines_claim_levels(Tasks *e, const Task *t, const Lines *l)
{
	return compositor_hold_lines(e->compositor, l, t, t->group->priority);
}

static void lines_set_level(Tasks *e, const Task *t, const Lines *l, uint16_t level)
{
	compositor_set_level(e->compositor, l, t, level);
}

static void lines_unclaim_levels(Tasks *e, const Task *t, const Lines *l)
{
	compositor_unhold_lines(e->compositor, l, t, t->group->priority);
}

/* ---------------------------------------------------------------- steps */

static int task_step(Task *t, TaskEvent event, Task *child);

static Task *task_new(Tasks *e, TaskGroup *group, const Program *p, Task *parent, unsigned index)
{
	size_t want = 1;
	Task *t;

	if (heap_reserve(&e->heap, e->n_tasks + 1) < 0)
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
	t->group = group;
	t->index = index;
	t->state = TASK_NEW;
	t->start = e->step_time;
	t->node = HEAP_NODE_INIT;
	t->edge = t->round = 0;
	t->n_children = t->n_active = 0;
	t->next_free = NULL;
	e->n_tasks++;
	return t;
}

static void task_release(Tasks *e, Task *t)
{
	heap_remove(&e->heap, &t->node);
	t->state = TASK_DONE;
	t->next_free = e->graveyard;
	e->graveyard = t;
	e->n_tasks--;
}

/* Start a child task at this instant; it runs its START step before this returns. */
static int task_spawn(Task *t, const Program *p, unsigned index)
{
	Tasks *e = t->group->tasks;
	Task *c = task_new(e, t->group, p, t, index);

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

/* The task has ended at this instant: tell its parent, which frees it. */
static int task_finish(Task *t)
{
	Tasks *e = t->group->tasks;
	Task *parent = t->parent;

	task_release(e, t);
	if (!parent) {
		e->ops->root_ended(e->userdata, t->group);
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
	return l->numbers[(k / 2) % l->n_numbers];
}

static int step_blink(Task *t, TaskEvent event)
{
	Tasks *e = t->group->tasks;
	const Program *p = t->program;
	bool cycle = p->kind == PROGRAM_CYCLE;
	uint64_t last_edge = 0; /* the edge that ends the task; 0: never */
	int r;

	if (p->times)
		last_edge = 2ULL * p->times * (cycle ? p->lines.n_numbers : 1);

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
				heap_schedule(&e->heap, &t->node, t->start + last_edge * p->duration);
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
	heap_schedule(&e->heap, &t->node, t->start + t->edge * p->duration);
	return 0;
}

/* on holds its lines lit, dim at its level, wait nothing; each for its duration, or for ever. */
static int step_hold(Task *t, TaskEvent event)
{
	Tasks *e = t->group->tasks;
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
			heap_schedule(&e->heap, &t->node, t->start + p->duration);
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

/*
 * fade, pattern, heartbeat, morse: a track of segments, each from one level
 * to another over its duration; a round is the whole track. The level is
 * computed from the start at each step (a ramp steps at each PWM period
 * boundary, a held level only where its segment ends), never accumulated.
 */
static int step_track(Task *t, TaskEvent event)
{
	Tasks *e = t->group->tasks;
	const Program *p = t->program;
	uint64_t rounds = program_track_rounds(p), round;
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
			heap_schedule(&e->heap, &t->node, end);
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
		usec_t since_boundary = output_since_boundary(e->output, at);

		step_pos = since_boundary < step_pos ? step_pos - since_boundary : 0;
	}
	lines_set_level(e, t, &p->lines,
			level_ramp(seg->from, seg->to, step_pos, seg->duration,
				   p->kind == PROGRAM_FADE && !p->linear));

	seg_end = t->start + round * p->track_duration + t->seg_start + seg->duration;
	next = seg_end;
	if (seg->from != seg->to) {
		usec_t b = output_next_boundary(e->output, at);
		if (b < next)
			next = b;
	}
	heap_schedule(&e->heap, &t->node, next);
	return 0;
}

/*
 * Start the next round of a forever or repeat at the step's instant. While
 * catching up, whole rounds that fit before now are skipped by arithmetic:
 * a month-old forever of a 100us blink costs no more than a new one.
 */
static int spawn_round(Task *t)
{
	Tasks *e = t->group->tasks;
	const Program *p = t->program;
	usec_t at = e->step_time, saved, d;
	int r;

	if (at < e->now) {
		d = program_duration(p->children[0], &t->group->bindings);
		if (d != USEC_INFINITY && d > 0 && at + d <= e->now) {
			uint64_t k = (e->now - at) / d;

			if (p->kind == PROGRAM_REPEAT && k >= p->times - t->round) {
				/* Every round left ended in the past: end then, in timeline order. */
				k = p->times - t->round;
				t->round = p->times;
				heap_schedule(&e->heap, &t->node, at + k * d);
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
	Tasks *e = t->group->tasks;
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
		called = program_bindings_lookup(&t->group->bindings, p->call);
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
	TaskGroup *run = t->group;
	Tasks *e = run->tasks;

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

/*
 * Catching up, a composite task whose whole span has passed by now runs
 * nothing: it only ends at its end, in timeline order. Without this, a
 * sequence caught up walks every child that ended in the past, and one
 * that calls a definition calling another twice, 40 deep, has 2^40 of them.
 * Returns whether @t was skipped.
 */
static bool task_skip_past(Task *t)
{
	Tasks *e = t->group->tasks;
	usec_t d;

	if (e->step_time >= e->now)
		return false;
	d = program_duration(t->program, &t->group->bindings);
	if (d == USEC_INFINITY || d > e->now - t->start)
		return false;
	t->state = TASK_SKIPPED;
	heap_schedule(&e->heap, &t->node, t->start + d);
	return true;
}

static int task_step(Task *t, TaskEvent event, Task *child)
{
	if (event != EVENT_CANCEL) {
		int r = task_count_step(t);
		if (r < 0)
			return r;
	}
	/* A run that starts later waits in the heap as its root task, not yet started. */
	if (t->state == TASK_NEW && event == EVENT_TIMER) {
		heap_remove(&t->group->tasks->heap, &t->node);
		event = EVENT_START;
		t->group->tasks->ops->root_starts(t->group->tasks->userdata, t->group);
	}
	if (t->state == TASK_SKIPPED) {
		if (event == EVENT_TIMER)
			return task_finish(t);
		task_release(t->group->tasks, t);
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


/* ---------------------------------------------------------------- the interface */

void tasks_init(Tasks *ts, Compositor *compositor, const Output *output, usec_t now,
		uint64_t step_budget, const TaskOps *ops, void *userdata)
{
	*ts = (Tasks){
		.compositor = compositor,
		.output = output,
		.ops = ops,
		.userdata = userdata,
		.now = now,
		.step_time = now,
		.step_budget = step_budget,
	};
	heap_init(&ts->heap);
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

void tasks_done(Tasks *ts)
{
	task_list_free(ts->graveyard);
	task_list_free(ts->free_tasks);
	ts->graveyard = ts->free_tasks = NULL;
	heap_done(&ts->heap);
}

void tasks_recycle(Tasks *ts)
{
	while (ts->graveyard) {
		Task *t = ts->graveyard;
		ts->graveyard = t->next_free;
		t->next_free = ts->free_tasks;
		ts->free_tasks = t;
	}
}

Task *task_new_root(Tasks *ts, TaskGroup *group, const Program *program)
{
	return task_new(ts, group, program, NULL, 0);
}

int task_start(Task *root)
{
	return task_step(root, EVENT_START, NULL);
}

void task_start_later(Task *root, usec_t start)
{
	root->start = start;
	heap_schedule(&root->group->tasks->heap, &root->node, start);
}

int task_start_scheduled(Task *root, usec_t start)
{
	Tasks *ts = root->group->tasks;

	root->start = start;
	heap_remove(&ts->heap, &root->node);
	ts->ops->root_starts(ts->userdata, root->group);
	ts->step_time = start;
	return task_step(root, EVENT_START, NULL);
}

bool task_is_scheduled(const Task *root)
{
	return root->state == TASK_NEW;
}

int tasks_run_due(Tasks *ts, TaskGroup **ret_group)
{
	Task *t = task_of(heap_peek(&ts->heap));
	TaskGroup *group = t->group; /* the step may release t */
	int r;

	/* Left in the heap: the step reschedules it in place, or releases it. */
	r = task_step(t, EVENT_TIMER, NULL);
	if (r < 0)
		*ret_group = group;
	return r;
}

void task_cancel(Task *t)
{
	(void)task_step(t, EVENT_CANCEL, NULL);
}

void task_free_tree(Task *t)
{
	for (size_t i = 0; i < t->n_children; i++)
		if (t->children[i])
			task_free_tree(t->children[i]);
	free(t->children);
	free(t);
}
