/* SPDX-License-Identifier: MIT */
/*
 * The engine core: runs, and the advance loop that applies the timeline.
 *
 * The parts, each in a file of its own, and who calls whom (never back):
 *
 *   engine.c      runs (start, stop, hand-over, reschedule, end), the advance
 *                 loop, the batch at the end of each advance
 *     -> task.c        the stackless tasks that run a program's nodes
 *          -> heap.c        the deadline heap the tasks wait in
 *          -> compositor.c  claims, holds and levels per line; the dirty set
 *          -> output.c      (read only) where PWM periods begin
 *          -> program-bind.c, program-duration.c (common/)
 *     -> output.c      PWM on the timeline, the batch written to the backend
 *          -> compositor.c  (reads levels and the dirty set, marks PWM lines)
 *
 * Tasks reach back to runs only through TaskOps (a root's end, a scheduled
 * root's start). Runs and the advance loop stay together here: a run is a
 * root task plus what the caller sees of it (its userdata, its result, the
 * hand-over), and the loop is what orders its tasks' steps against the PWM
 * edges and the batch.
 */
#include <errno.h>
#include <stdlib.h>

#include "compositor.h"
#include "engine.h"
#include "heap.h"
#include "output.h"
#include "program-bind.h"
#include "program-duration.h"
#include "task.h"

struct EngineRun {
	TaskGroup group;	/* what its tasks share: priority, bindings, step budget */
	Engine *engine;
	Program *program;
	Task *root;
	/* With a timeout, the root runs any[program, wait(timeout)], made here. */
	const Program *root_program;
	Program timeout_any, timeout_wait;
	Program *timeout_children[2];
	void *userdata;
	bool ended;
	RunResult result;	/* once ended */
	/* engine_run_hand_over(): the run this one ends when it starts, and back. */
	EngineRun *replaces, *replaced_by;
	EngineRun *prev, *next;	/* runs going */
	EngineRun *next_ended;	/* ended, awaiting their callback */
};

struct Engine {
	const Layout *layout;
	const EngineOps *ops;
	void *userdata;

	/* Time is internal: the caller's plus ENGINE_EPOCH; tasks.now is the engine's instant. */
	Tasks tasks;
	Compositor compositor;
	Output output;

	EngineRun *runs;
	size_t n_runs;
	EngineRun *ended_first, *ended_last;
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

static EngineRun *run_of(TaskGroup *group)
{
	return (EngineRun *)((char *)group - offsetof(EngineRun, group));
}

/* ----------------------------------------------------------------- runs */

static void run_free(EngineRun *run)
{
	program_bindings_clear(&run->group.bindings);
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
		task_cancel(old->root);
	run_ended(old, RUN_REPLACED);
}

static void root_ended_cb(void *userdata, TaskGroup *group)
{
	run_ended(run_of(group), RUN_DONE);
}

static void root_starts_cb(void *userdata, TaskGroup *group)
{
	EngineRun *run = run_of(group);

	if (run->replaces)
		run_take_over(run);
}

static const TaskOps task_ops = {
	.root_ended = root_ended_cb,
	.root_starts = root_starts_cb,
};

/* ---------------------------------------------------------------- engine */

/*
 * A step of @run failed (a task could not be made): the run cannot go on as
 * written, so it ends now as failed, its lines dark at this instant, rather
 * than linger with a part missing.
 */
static void run_fail(EngineRun *run)
{
	if (run->ended)
		return;
	if (!run->group.failure)
		run->group.failure = "a task could not be made (out of memory)";
	if (run->root)
		task_cancel(run->root);
	run_ended(run, RUN_FAILED);
}

/* Apply every event due up to @now, in timeline order; no batch is written. */
static void engine_process(Engine *e, usec_t now)
{
	Tasks *ts = &e->tasks;

	for (;;) {
		usec_t due = heap_next_deadline(&ts->heap), next;

		if (due <= ts->now && due != USEC_INFINITY) {
			TaskGroup *failed;

			/* Before now only while a run catches up. */
			ts->step_time = due;
			if (tasks_run_due(ts, &failed) < 0)
				run_fail(run_of(failed));
			continue;
		}
		if (output_pwm_next(&e->output) <= ts->now) {
			/* A PWM edge, after the tasks of its instant: every PWM line is looked at. */
			output_pwm_edge(&e->output);
			continue;
		}
		next = due;
		if (output_pwm_next(&e->output) < next)
			next = output_pwm_next(&e->output);
		if (next <= now)
			ts->now = next; /* the next instant */
		else
			break;
	}
	if (now > ts->now)
		ts->now = now;
	ts->step_time = ts->now;
}

int engine_new(Engine **ret, const Layout *layout, const EngineOps *ops, void *userdata)
{
	_cleanup_(engine_freep) Engine *e = NULL;
	int r;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->layout = layout;
	e->ops = ops;
	e->userdata = userdata;
	tasks_init(&e->tasks, &e->compositor, &e->output, ENGINE_EPOCH, ENGINE_STEP_BUDGET_DEFAULT,
		   &task_ops, e);
	r = compositor_init(&e->compositor, layout);
	if (r < 0)
		return r;
	r = output_init(&e->output, &e->compositor, ENGINE_EPOCH, ENGINE_PWM_HZ_DEFAULT);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(e);
	return 0;
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
	tasks_done(&e->tasks);
	output_done(&e->output);
	compositor_done(&e->compositor);
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
	now = e->tasks.now;
	start = opts->offset < 0 ? now - (usec_t)-opts->offset : now + (usec_t)opts->offset;

	run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	run->engine = e;
	run->group.tasks = &e->tasks;
	run->group.priority = opts->priority;
	run->program = program_ref(program);
	run->userdata = run_userdata;

	r = program_bind(&run->group.bindings, program, lookup, lookup_userdata, NULL, false, error);
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

	e->tasks.step_time = start;
	run->root = task_new_root(&e->tasks, &run->group, run->root_program);
	if (!run->root) {
		e->tasks.step_time = e->tasks.now;
		run_free(run);
		return -ENOMEM;
	}
	run->next = e->runs;
	if (e->runs)
		e->runs->prev = run;
	e->runs = run;
	e->n_runs++;

	if (start > now) {
		/* Later: the root waits in the heap for its instant. */
		task_start_later(run->root, start);
		r = 0;
	} else
		r = task_start(run->root);
	e->tasks.step_time = e->tasks.now;
	if (r < 0 && run->group.failure)
		/* Over its budget: it ends failed with the next advance, saying why. */
		run_fail(run);
	else if (r < 0) {
		/* Out of memory half way: take back what started, as if nothing had. */
		if (run->root)
			task_cancel(run->root);
		run_unlink(run);
		run_free(run);
		tasks_recycle(&e->tasks);
		return r;
	}
	/* A run from the past catches up to now; nothing of its past reaches the lines. */
	if (start < now)
		engine_process(e, e->tasks.now);
	tasks_recycle(&e->tasks);
	if (ret)
		*ret = run;
	return 0;
}

int engine_stop(Engine *e, EngineRun *run, RunResult result, usec_t now)
{
	engine_process(e, to_internal(now));
	if (run->ended)
		return -ESRCH;

	run_drop_hand_over(run);
	task_cancel(run->root);
	run->root = NULL;
	run_unlink(run);
	tasks_recycle(&e->tasks);
	e->ops->finished(e->userdata, run, result);
	run_free(run);
	return 0;
}

int engine_advance(Engine *e, usec_t now)
{
	int r;

	engine_process(e, to_internal(now));
	tasks_recycle(&e->tasks);
	r = output_commit(&e->output, e->tasks.now, e->ops->commit, e->userdata);

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
	usec_t next = heap_next_deadline(&e->tasks.heap), pwm = output_pwm_next(&e->output);

	return to_external(pwm < next ? pwm : next);
}

bool engine_take_levels_changed(Engine *e)
{
	return output_take_levels_changed(&e->output);
}

uint16_t engine_line_level(const Engine *e, unsigned number)
{
	int idx = layout_index_of(e->layout, number);

	return idx >= 0 ? output_line_level(&e->output, (unsigned)idx) : 0;
}

int engine_set_pwm_hz(Engine *e, unsigned hz)
{
	if (hz < ENGINE_PWM_HZ_MIN || hz > ENGINE_PWM_HZ_MAX)
		return -ERANGE;
	output_set_pwm_hz(&e->output, hz);
	return 0;
}

usec_t engine_now(const Engine *e)
{
	return to_external(e->tasks.now);
}

bool engine_run_is_scheduled(const EngineRun *run)
{
	return run->root && task_is_scheduled(run->root);
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
	usec_t start;

	if (!engine_run_is_scheduled(run))
		return -EBUSY;
	if (offset < -ENGINE_OFFSET_MAX || offset > ENGINE_OFFSET_MAX)
		return -ERANGE;
	engine_process(e, to_internal(now));
	if (!engine_run_is_scheduled(run))
		return -EBUSY; /* it started meanwhile */
	start = offset < 0 ? e->tasks.now - (usec_t)-offset : e->tasks.now + (usec_t)offset;
	if (start > e->tasks.now) {
		task_start_later(run->root, start);
		return 0;
	}
	/* Its instant has come or gone by: it starts now, in the phase it has since. */
	if (task_start_scheduled(run->root, start) < 0)
		run_fail(run);
	e->tasks.step_time = e->tasks.now;
	engine_process(e, e->tasks.now);
	tasks_recycle(&e->tasks);
	return 0;
}

size_t engine_n_runs(const Engine *e)
{
	return e->n_runs;
}

size_t engine_n_tasks(const Engine *e)
{
	return e->tasks.n_tasks;
}

int engine_line_state(const Engine *e, unsigned number)
{
	int idx = layout_index_of(e->layout, number);

	if (idx < 0 || !compositor_line_claimed(&e->compositor, (unsigned)idx))
		return -1;
	return output_line_value(&e->output, (unsigned)idx, e->tasks.now);
}

void engine_line_set_committed(Engine *e, unsigned number, uint16_t value)
{
	int idx = layout_index_of(e->layout, number);

	if (idx >= 0)
		output_set_committed(&e->output, (unsigned)idx, value);
}

void engine_resync(Engine *e)
{
	output_resync(&e->output);
}

bool engine_line_is_lit(const Engine *e, unsigned number)
{
	int idx = layout_index_of(e->layout, number);

	return idx >= 0 && output_line_is_on(&e->output, (unsigned)idx);
}

size_t engine_get_lit(const Engine *e, unsigned *numbers, size_t max)
{
	return output_get_lit(&e->output, numbers, max);
}

size_t engine_get_levels(const Engine *e, unsigned *numbers, uint16_t *levels, size_t max,
			 bool *ret_between)
{
	return output_get_levels(&e->output, numbers, levels, max, ret_between);
}

void *engine_run_get_userdata(const EngineRun *run)
{
	return run->userdata;
}

const char *engine_run_failure(const EngineRun *run)
{
	return run->group.failure;
}

int engine_set_step_budget(Engine *e, uint64_t steps)
{
	if (steps == 0)
		return -ERANGE;
	e->tasks.step_budget = steps;
	return 0;
}

uint64_t engine_n_steps(const Engine *e)
{
	return e->tasks.n_steps;
}
