/* SPDX-License-Identifier: MIT */
/*
 * The tasks alone, without runs or an engine: a root task over a fake
 * TaskOps, stepped through the heap on a virtual clock, its lines read from
 * the compositor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"
#include "test.h"

#define MS USEC_PER_MSEC

static Layout *layout;

static struct {
	unsigned n_ended, n_starts;
	TaskGroup *last;
} ops_seen;

static void root_ended(void *userdata, TaskGroup *group)
{
	ops_seen.n_ended++;
	ops_seen.last = group;
}

static void root_starts(void *userdata, TaskGroup *group)
{
	ops_seen.n_starts++;
	ops_seen.last = group;
}

static const TaskOps ops = {
	.root_ended = root_ended,
	.root_starts = root_starts,
};

typedef struct World {
	Compositor compositor;
	Output output;
	Tasks tasks;
	TaskGroup group;
} World;

static void world_init(World *w, uint64_t budget)
{
	memset(&ops_seen, 0, sizeof(ops_seen));
	check_int(compositor_init(&w->compositor, layout), 0);
	check_int(output_init(&w->output, &w->compositor, 0, 200), 0);
	tasks_init(&w->tasks, &w->compositor, &w->output, 0, budget, &ops, NULL);
	w->group = (TaskGroup){ .tasks = &w->tasks };
}

static void world_done(World *w)
{
	program_bindings_clear(&w->group.bindings);
	tasks_done(&w->tasks);
	output_done(&w->output);
	compositor_done(&w->compositor);
}

/* Run every timer due up to @now, in timeline order, as the engine's loop does. */
static int advance(World *w, usec_t now)
{
	Tasks *ts = &w->tasks;
	int r = 0;

	for (;;) {
		usec_t due = heap_next_deadline(&ts->heap);
		TaskGroup *failed = NULL;

		if (due <= ts->now) {
			/* Before now only while catching up. */
			ts->step_time = due;
			if (tasks_run_due(ts, &failed) < 0) {
				check(failed == &w->group);
				r = -1;
				break;
			}
			continue;
		}
		if (due > now)
			break;
		ts->now = due;
	}
	if (now > ts->now)
		ts->now = now;
	ts->step_time = ts->now;
	tasks_recycle(ts);
	return r;
}

static uint16_t level(World *w, unsigned number)
{
	return compositor_line_level(&w->compositor, (unsigned)layout_index_of(layout, number));
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

static void test_blink(void)
{
	World w;
	Program *p = parse("{\"blink\":{\"lines\":[11],\"interval\":\"100ms\",\"times\":2}}");
	Task *root;

	world_init(&w, 1000);
	root = task_new_root(&w.tasks, &w.group, p);
	check(root);
	check(task_is_scheduled(root));
	check_int(task_start(root), 0);
	check(!task_is_scheduled(root));
	check_int(w.tasks.n_tasks, 1);
	check_int(level(&w, 11), LEVEL_MAX);
	/* Edges at start + k * interval, on the heap's deadlines. */
	check_int(heap_next_deadline(&w.tasks.heap), 100 * MS);
	check_int(advance(&w, 99 * MS), 0);
	check_int(level(&w, 11), LEVEL_MAX);
	check_int(advance(&w, 100 * MS), 0);
	check_int(level(&w, 11), 0);
	check_int(advance(&w, 200 * MS), 0);
	check_int(level(&w, 11), LEVEL_MAX);
	check_int(ops_seen.n_ended, 0);
	/* Its end: the root tells its run, through the ops, and holds nothing. */
	check_int(advance(&w, 400 * MS), 0);
	check_int(ops_seen.n_ended, 1);
	check(ops_seen.last == &w.group);
	check_int(level(&w, 11), 0);
	check(!compositor_line_claimed(&w.compositor, (unsigned)layout_index_of(layout, 11)));
	check_int(w.tasks.n_tasks, 0);
	check_int(heap_next_deadline(&w.tasks.heap), USEC_INFINITY);
	/* Recycled: the next task comes from the free list. */
	check(w.tasks.free_tasks);
	check(task_new_root(&w.tasks, &w.group, p) == root);
	task_cancel(root);
	tasks_recycle(&w.tasks);
	program_unref(p);
	world_done(&w);
}

static void test_later_and_cancel(void)
{
	World w;
	Program *p = parse("{\"all\":[{\"on\":{\"lines\":[11]}},{\"dim\":{\"lines\":[12],\"level\":0.5}}]}");
	Task *root;

	world_init(&w, 1000);
	root = task_new_root(&w.tasks, &w.group, p);
	/* Scheduled for later: nothing shows, and the ops hear of its start when it comes. */
	task_start_later(root, 50 * MS);
	check_int(advance(&w, 49 * MS), 0);
	check(task_is_scheduled(root));
	check_int(ops_seen.n_starts, 0);
	check_int(level(&w, 11), 0);
	check_int(advance(&w, 50 * MS), 0);
	check_int(ops_seen.n_starts, 1);
	check(!task_is_scheduled(root));
	check_int(level(&w, 11), LEVEL_MAX);
	check_int(level(&w, 12), 5000);
	check_int(w.tasks.n_tasks, 3);
	/* Cancelled: every line dark at once, every task gone, no end reported. */
	task_cancel(root);
	tasks_recycle(&w.tasks);
	check_int(level(&w, 11), 0);
	check_int(level(&w, 12), 0);
	check_int(w.tasks.n_tasks, 0);
	check_int(ops_seen.n_ended, 0);
	program_unref(p);
	world_done(&w);
}

static void test_budget(void)
{
	World w;
	/* Started 10 s ago, a forever of 2 ms rounds catches up to now. */
	Program *p = parse("{\"forever\":{\"sequence\":[{\"wait\":\"1ms\"},{\"on\":{\"lines\":[11],\"for\":\"1ms\"}}]}}");
	Task *root;

	world_init(&w, 50);
	w.tasks.now = 10001 * MS + 500;
	w.tasks.step_time = 0;
	root = task_new_root(&w.tasks, &w.group, p);
	check_int(task_start(root), 0);
	check_int(advance(&w, w.tasks.now), 0);
	/* Whole rounds skipped by arithmetic: a few steps, not 5000 rounds; in phase. */
	check(w.tasks.n_steps < 50);
	check_int(level(&w, 11), LEVEL_MAX);
	check_int(advance(&w, 10002 * MS), 0);
	check_int(level(&w, 11), 0);
	task_cancel(root);
	tasks_recycle(&w.tasks);

	/* Steps at one instant past the budget fail the group, saying why. */
	w.tasks.step_budget = 2;
	w.group.steps = 0;
	w.group.steps_instant = 0;
	w.tasks.step_time = w.tasks.now;
	root = task_new_root(&w.tasks, &w.group, p);
	check_int(task_start(root), -E2BIG);
	check(w.group.failure);
	task_cancel(root);
	tasks_recycle(&w.tasks);
	check_int(w.tasks.n_tasks, 0);
	program_unref(p);
	world_done(&w);
}

int main(void)
{
	check_int(layout_new_default(&layout), 0);
	test_blink();
	test_later_and_cancel();
	test_budget();
	layout_free(layout);
	return test_summary("test-task");
}
