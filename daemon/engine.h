/* SPDX-License-Identifier: MIT */
/*
 * The engine runs blink programs as stackless tasks on one timeline.
 *
 * It knows no event loop and no clock: the owner hands it the time. Every
 * deadline is absolute, derived from the instant its task started, so a late
 * wakeup never shifts what comes after it. engine_advance(now) applies every
 * event due up to @now in timeline order, then writes the end result of all
 * line changes to the backend in one batch.
 *
 * Lines are composed across programs by priority (compositor.h): a line
 * shows its highest-priority claim; among claims of equal priority it is
 * lit while at least one task holds it lit, else at the highest level a
 * task holds it at (dim, fade, pattern, heartbeat, morse), else dark. A
 * GPIO line between dark and lit is switched by software PWM on the
 * timeline; an analog line is told its level (output.h).
 *
 * Owners: the engine owns its runs (EngineRun), their tasks (task.h: Task,
 * recycled through a free list), the deadline heap, the compositor and the
 * output stage, all freed with it. A run lives from
 * engine_start() until the engine has reported its end through
 * ops->finished() and that call has returned; the engine frees it then, and
 * nobody else does. Programs are immutable and shared by reference count:
 * a run holds a reference on its program and on every definition it bound.
 * The run's userdata belongs to the caller; the engine never frees it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "macro.h"
#include "program-bind.h"
#include "program.h"
#include "start-limits.h"

typedef struct Engine Engine;
typedef struct EngineRun EngineRun;

typedef enum RunResult {
	RUN_DONE,
	RUN_STOPPED,
	RUN_REPLACED,
	RUN_FAILED,
	_RUN_RESULT_MAX,
} RunResult;

typedef struct EngineOps {
	/*
	 * commit() - write one batch of line changes.
	 * @now: the engine time of the batch
	 * @n: number of changed lines; @numbers and @values hold them, sorted by number
	 * @values: what each line is told: on a GPIO line 0 or LEVEL_MAX (a line
	 *          between is switched by PWM), on an analog line its level
	 * Returns 0, or a negative errno: the engine then keeps the lines dirty
	 * and retries them with the next batch.
	 */
	int (*commit)(void *userdata, usec_t now, size_t n, const unsigned *numbers,
		      const uint16_t *values);
	/*
	 * finished() - a run has ended. Called from engine_advance() after the
	 * batch, for runs that ended by themselves (RUN_DONE) or failed
	 * (RUN_FAILED: a task could not be made, out of memory, or the run went
	 * over its step budget; engine_run_failure() says which), and from
	 * engine_stop() for runs stopped from outside. Never from
	 * engine_start(). The run is freed when this returns.
	 */
	void (*finished)(void *userdata, EngineRun *run, RunResult result);
} EngineOps;

/* Resolves the name of a "call" to a definition, or NULL if there is none. */
typedef ProgramLookup EngineLookup;

const char *run_result_to_string(RunResult r);

/*
 * engine_new() - create an engine driving the lines of @layout.
 * The layout must outlive the engine.
 */
int engine_new(Engine **ret, const Layout *layout, const EngineOps *ops, void *userdata);

/* Frees the engine; runs still going are dropped without callbacks or line changes. */
Engine *engine_free(Engine *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(Engine *, engine_free);

/*
 * engine_start() - start a run of @program at @now.
 * @lookup: resolves "call" names; every definition reachable from @program is
 *          bound now, so later changes to definitions do not affect the run
 * @run_userdata: returned by engine_run_get_userdata()
 * @error: filled on failure
 *
 * Returns 0, -ENOENT when a called name is not defined, -ELOOP for a call
 * cycle, -ENOMEM; on failure nothing started. Line changes reach the backend
 * with the next engine_advance(), and so does the end of a run that ended at
 * the instant it started.
 */
int engine_start(Engine *e, Program *program, EngineLookup lookup, void *lookup_userdata,
		 usec_t now, void *run_userdata, EngineRun **ret, ProgramError *error);

#define ENGINE_PRIORITY_MIN START_PRIORITY_MIN
#define ENGINE_PRIORITY_MAX START_PRIORITY_MAX
/* How far from now a run may start: some 73 years either way. */
#define ENGINE_OFFSET_MAX START_SPAN_MAX

typedef struct EngineStartOptions {
	/*
	 * Higher covers lower on the lines both claim; at equal ones a line is
	 * lit if either holds it lit, else at the higher level either holds.
	 */
	int priority;
	/*
	 * When the run starts, relative to now: negative, it started that long
	 * ago and resumes in the phase it has now (nothing of its past reaches
	 * the lines); positive, it starts that much later.
	 */
	int64_t offset;
	/* The run ends done this long after its start, whatever it does then; 0: never. */
	usec_t timeout;
} EngineStartOptions;

/*
 * engine_start_with() - engine_start() with @opts. Returns -ERANGE when a
 * priority or offset is out of range, else as engine_start(). A run that
 * started in the past and whose end has passed ends as done with the next
 * engine_advance().
 */
int engine_start_with(Engine *e, Program *program, EngineLookup lookup, void *lookup_userdata,
		      usec_t now, const EngineStartOptions *opts, void *run_userdata,
		      EngineRun **ret, ProgramError *error);

/* A run that starts later and has not yet started. */
bool engine_run_is_scheduled(const EngineRun *run);

/*
 * engine_run_hand_over() - @old ends when @new, which is scheduled, starts:
 * at the instant @new's root starts (its own, or where
 * engine_run_reschedule() moves it), @old is cancelled as RUN_REPLACED in
 * the same pass, so the batch with @new's first edges has @old's last, and
 * a line both light is never dark. Until then @old runs on. If either ends
 * first, the hand-over is off and the other goes on as it is (stopping @new
 * does not stop @old). A later hand-over of either takes the place of this
 * one. Returns -EBUSY when @new is not scheduled or either has ended.
 */
int engine_run_hand_over(Engine *e, EngineRun *old, EngineRun *new);

/*
 * engine_run_reschedule() - a run not yet started starts at @offset from
 * @now instead (the wall clock was set, and its instant moved on the
 * monotonic one). An offset now or in the past starts it at once, in
 * phase. Returns -EBUSY when it has started already.
 */
int engine_run_reschedule(Engine *e, EngineRun *run, usec_t now, int64_t offset);

/*
 * engine_stop() - cancel @run at @now: its claims end at that instant, and
 * each line it showed shows what it covered, or goes dark. Calls
 * ops->finished() with @result, then frees the run. Returns -ESRCH when the
 * run already ended by itself at or before @now (its RUN_DONE callback comes
 * with the next engine_advance()).
 */
int engine_stop(Engine *e, EngineRun *run, RunResult result, usec_t now);

/*
 * engine_advance() - apply every event due up to @now, write the batch,
 * report runs that ended. A run whose task cannot be made (out of memory)
 * ends as RUN_FAILED; that is not an error of the advance. Returns 0, or the
 * backend's negative errno when the batch could not be written (the lines
 * stay dirty and go out with the next batch).
 */
int engine_advance(Engine *e, usec_t now);

/* The earliest pending deadline, or USEC_INFINITY when nothing is scheduled. */
usec_t engine_next_deadline(const Engine *e);

/* The engine's current instant: the time of the last event applied. */
usec_t engine_now(const Engine *e);

/* Number of runs going (not yet reported as ended). */
size_t engine_n_runs(const Engine *e);

/* Number of tasks alive, for statistics. */
size_t engine_n_tasks(const Engine *e);

/*
 * Whether the backend was last told that line @number is on (above 0). A
 * line dimmed by PWM is on in the first part of each period and off in the
 * rest, whatever its level; engine_line_level() says its level.
 */
bool engine_line_is_lit(const Engine *e, unsigned number);

/*
 * Store the numbers of the lines at a level above 0 as of the last batch
 * (dimmed ones too, in either part of their PWM period) in @numbers in
 * ascending order, at most @max; returns how many there are.
 */
size_t engine_get_lit(const Engine *e, unsigned *numbers, size_t max);

/* What the backend is told for line @number now while a run claims it, or -1 while none does. */
int engine_line_state(const Engine *e, unsigned number);

/*
 * The backend says line @number is at @value now (its initial state, or its
 * chip just came back): the next batch writes it only when that differs.
 */
void engine_line_set_committed(Engine *e, unsigned number, uint16_t value);

/*
 * Software PWM: a GPIO line between dark and lit is on for the first part of
 * each period, periods aligned on the timeline (multiples of the period
 * from time 0), so lines at one level edge together.
 */
#define ENGINE_PWM_HZ_DEFAULT 200
#define ENGINE_PWM_HZ_MIN 1
#define ENGINE_PWM_HZ_MAX 2000
int engine_set_pwm_hz(Engine *e, unsigned hz);

/* Whether any line's level changed since the last call. */
bool engine_take_levels_changed(Engine *e);

/*
 * The level line @number shows (0..LEVEL_MAX) as of the last batch written;
 * an unclaimed line shows what the backend said it has.
 */
uint16_t engine_line_level(const Engine *e, unsigned number);

/*
 * Store the lines above 0 and their levels (as of the last batch written) in
 * ascending order of number, at most @max; returns how many there are.
 * *@ret_between says whether any is between dark and lit.
 */
size_t engine_get_levels(const Engine *e, unsigned *numbers, uint16_t *levels, size_t max,
			 bool *ret_between);

/* Mark every line dirty, so the next batch writes the whole state again. */
void engine_resync(Engine *e);

void *engine_run_get_userdata(const EngineRun *run);

/*
 * engine_run_failure() - why the engine ended @run as RUN_FAILED (out of
 * memory, over its step budget), for the log; NULL when it did not. Valid
 * in ops->finished().
 */
const char *engine_run_failure(const EngineRun *run);

/*
 * How many steps (a task starting, its timer, a child's end reaching its
 * parent) one run may take at one engine instant. A run catches up to now
 * within one instant, in a number of steps bounded by the size of its
 * program (calls expanded), not by how long ago it started; a run over the
 * budget ends as RUN_FAILED (engine_run_failure() says why) instead of
 * holding the loop.
 */
#define ENGINE_STEP_BUDGET_DEFAULT (1ULL << 20)

/* engine_set_step_budget() - set the budget above (> 0, else -ERANGE). */
int engine_set_step_budget(Engine *e, uint64_t steps);

/* Steps taken by every run since the engine was made, for statistics and tests. */
uint64_t engine_n_steps(const Engine *e);
