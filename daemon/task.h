/* SPDX-License-Identifier: MIT */
/*
 * Tasks: the stackless state machines that run a program's nodes on the
 * timeline, one Task per running node (task.c draws their states).
 *
 * Tasks know nothing of runs but a TaskGroup, the part of a run its tasks
 * share: its priority, its bindings, its step budget. What a run does when
 * its root task ends, or when a root scheduled for later starts, is the
 * engine's, reached through TaskOps: tasks never call the engine.
 *
 * Tasks claim, light and level lines through the compositor, ask the output
 * stage where PWM periods begin (a ramp steps there), and wait for their
 * timers in the deadline heap. Time is the timeline's: the engine sets
 * Tasks.now (the instant being applied) and Tasks.step_time (the instant of
 * the step in progress, before now while a run catches up).
 *
 * Owners: the Tasks is embedded in the engine (tasks_init() / tasks_done())
 * and owns the heap and every Task: the live ones through their groups'
 * roots (task_free_tree() frees a tree whose run is dropped), the ended ones
 * in a graveyard until tasks_recycle(), and the recycled ones in a free list
 * (steady state allocates nothing). A TaskGroup belongs to its run.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compositor.h"
#include "heap.h"
#include "output.h"
#include "program-bind.h"
#include "program.h"

typedef struct Task Task;
typedef struct Tasks Tasks;

/* What a run's tasks share. */
typedef struct TaskGroup {
	Tasks *tasks;
	int32_t priority;
	ProgramBindings bindings;	/* the definitions its calls run */
	usec_t steps_instant;	/* the instant its steps are counted at */
	uint64_t steps;		/* steps taken at that instant, against the budget */
	const char *failure;	/* why it failed, or NULL */
} TaskGroup;

typedef struct TaskOps {
	/* @group's root task has ended by itself at the step's instant. */
	void (*root_ended)(void *userdata, TaskGroup *group);
	/* @group's root, scheduled for later, starts now (before its START step). */
	void (*root_starts)(void *userdata, TaskGroup *group);
} TaskOps;

struct Tasks {
	Heap heap;
	Compositor *compositor;
	const Output *output;
	const TaskOps *ops;
	void *userdata;

	usec_t now;		/* the instant being applied */
	usec_t step_time;	/* the instant of the step in progress (< now while catching up) */

	uint64_t step_budget;	/* steps a group may take at one instant */
	uint64_t n_steps;	/* steps taken, for statistics */

	Task *free_tasks;	/* recycled: steady state allocates nothing */
	Task *graveyard;	/* freed during this pass; recycled once it is over */
	size_t n_tasks;
};

void tasks_init(Tasks *ts, Compositor *compositor, const Output *output, usec_t now,
		uint64_t step_budget, const TaskOps *ops, void *userdata);
/* Frees the heap and the tasks not in a tree (the trees are freed with task_free_tree()). */
void tasks_done(Tasks *ts);

/* Ended tasks become reusable: call once a pass is over, when no step is running. */
void tasks_recycle(Tasks *ts);

/* task_new_root() - the root task of @group running @program, starting at ts->step_time. */
Task *task_new_root(Tasks *ts, TaskGroup *group, const Program *program);

/* Runs the root's START step at ts->step_time. Returns 0 or a negative errno (see below). */
int task_start(Task *root);

/*
 * task_start_later() - the root, not started, starts at @start (> ts->now):
 * it waits in the heap until then, when root_starts() is called and it
 * starts. Called again, it moves.
 */
void task_start_later(Task *root, usec_t start);

/*
 * task_start_scheduled() - a root waiting for its start starts at @start
 * (<= ts->now, from ts->step_time = @start): root_starts() is called, then its
 * START step runs.
 */
int task_start_scheduled(Task *root, usec_t start);

/* Whether the root has not started yet. */
bool task_is_scheduled(const Task *root);

/*
 * tasks_run_due() - run the timer of the task due first (at or before
 * ts->now; ts->step_time set to its deadline by the caller). On failure
 * returns a negative errno and the group whose step failed (out of memory:
 * a task could not be made; -E2BIG: over the step budget, with
 * group->failure saying so).
 */
int tasks_run_due(Tasks *ts, TaskGroup **ret_group);

/* Cancel a task and its children at ts->step_time: every line they hold goes dark. */
void task_cancel(Task *t);

/* Free a task tree without steps or line changes (its engine is being freed). */
void task_free_tree(Task *t);
