/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "manager.h"
#include "program-duration.h"
#include "resume.h"
#include "startup.h"
#include "utf8.h"

/* Frames go out at most this often: 50 per second. */
#define FRAME_INTERVAL (20 * USEC_PER_MSEC)

static usec_t clock_usec(clockid_t id)
{
	struct timespec ts;

	(void)clock_gettime(id, &ts); /* cannot fail for these clocks */
	return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / NSEC_PER_USEC;
}

static usec_t clock_monotonic(void *userdata)
{
	return clock_usec(CLOCK_MONOTONIC);
}

static usec_t clock_realtime(void *userdata)
{
	return clock_usec(CLOCK_REALTIME);
}

usec_t manager_now(const Manager *m)
{
	return m->clock(m->clock_userdata);
}

usec_t manager_now_realtime(const Manager *m)
{
	return m->clock_realtime(m->clock_userdata);
}

bool running_is_scheduled(const Running *r)
{
	return r->run && engine_run_is_scheduled(r->run);
}

static void manager_notify_status(Manager *m)
{
	size_t n = m->registry.running.n;

	if (!getenv("NOTIFY_SOCKET"))
		return;
	size_t absent = m->chips ? chips_n_absent(m->chips) : 0;

	if (absent > 0)
		(void)sd_notifyf(false, "STATUS=%zu chip%s absent; %zu program%s running", absent,
				 absent == 1 ? "" : "s", n, n == 1 ? "" : "s");
	else
		(void)sd_notifyf(false, "STATUS=%zu program%s running", n, n == 1 ? "" : "s");
}

void manager_set_bus(Manager *m, const ManagerBusOps *ops, void *userdata)
{
	m->bus_ops = ops;
	m->bus_userdata = userdata;
}

/* ---------------------------------------------------------------- frames */

static void manager_frame(Manager *m, usec_t now)
{
	/* Frames report levels, not PWM edges: a dimmed line's edges are no news. */
	if (engine_take_levels_changed(m->engine))
		m->frame_dirty = true;
	if (!m->frame_dirty || !m->subscribed || !m->bus_ops || !m->bus_ops->frame)
		return;
	if (now < m->last_frame + FRAME_INTERVAL) {
		/* Rate limited: the timer sends the state as it is then, the last of a burst. */
		(void)sd_event_source_set_time(m->frame_timer, m->last_frame + FRAME_INTERVAL);
		(void)sd_event_source_set_enabled(m->frame_timer, SD_EVENT_ONESHOT);
		return;
	}
	m->frame_dirty = false;
	m->last_frame = now;
	m->bus_ops->frame(m->bus_userdata, now);
}

static int on_frame_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Manager *m = userdata;

	manager_frame(m, manager_now(m));
	return 0;
}

void manager_set_subscribed(Manager *m, bool subscribed)
{
	/*
	 * Frames report changes; a new subscriber reads Lit for the state now.
	 * Changes made while nobody listened are not news to anyone.
	 */
	m->subscribed = subscribed;
	m->frame_dirty = false;
}

size_t manager_get_lit(const Manager *m, unsigned *offsets, size_t max)
{
	return engine_get_lit(m->engine, offsets, max);
}

size_t manager_get_levels(const Manager *m, unsigned *numbers, uint16_t *levels, size_t max,
			  bool *ret_between)
{
	return engine_get_levels(m->engine, numbers, levels, max, ret_between);
}

/* ------------------------------------------------------------- programs */

void manager_pin_running(Manager *m)
{
	registry_pin(&m->registry);
}

void manager_unpin_running(Manager *m)
{
	registry_unpin(&m->registry);
}

/* ----------------------------------------------------------- persistence */

static void manager_begin(Manager *m);
static void manager_end(Manager *m);
static void running_stop(Manager *m, Running *r, RunResult result);

/* Undoing changes a write could not hold happens at one instant, as every call. */
static void persist_begin_cb(void *userdata)
{
	manager_begin(userdata);
}

static void persist_end_cb(void *userdata)
{
	manager_end(userdata);
}

static void persist_undo_start_cb(void *userdata, Running *r)
{
	running_stop(userdata, r, RUN_FAILED);
}

static const PersistOps persist_ops = {
	.begin = persist_begin_cb,
	.end = persist_end_cb,
	.undo_start = persist_undo_start_cb,
};

int manager_when_durable(Manager *m, ManagerDurableFn done, void *userdata)
{
	return persist_when_durable(m->persist, done, userdata);
}

int manager_store_flush(Manager *m, usec_t timeout)
{
	return persist_flush(m->persist, timeout);
}

/* The engine's finished(): only queue the end; manager_report_ended() reports it. */
static void engine_finished_cb(void *userdata, EngineRun *run, RunResult result)
{
	Manager *m = userdata;
	Running *r = engine_run_get_userdata(run);
	const char *failure = engine_run_failure(run);

	if (failure)
		log_warning("Program %s failed: %s.", r->name, failure);
	r->run = NULL;
	r->result = result;
	/* A predecessor that ended (replaced, stopped, or by itself) is no longer its successor's. */
	if (r->successor)
		r->successor->predecessor = NULL;
	if (r->predecessor)
		r->predecessor->successor = NULL;
	r->successor = r->predecessor = NULL;
	if (m->ended_last)
		m->ended_last->ended_next = r;
	else
		m->ended_first = r;
	m->ended_last = r;
}

void manager_report_ended(Manager *m)
{
	bool any = m->ended_first, persist = false;

	while (m->ended_first) {
		Running *r = m->ended_first;

		m->ended_first = r->ended_next;
		if (!m->ended_first)
			m->ended_last = NULL;
		/* Not listed: a start that failed half way, nothing was announced. */
		if (r->listed) {
			log_debug("Program %s ended: %s.", r->name, run_result_to_string(r->result));
			if (m->bus_ops && m->bus_ops->program_ended)
				m->bus_ops->program_ended(m->bus_userdata, r, r->result);
			registry_unlist_running(&m->registry, r);
			persist = persist || r->persistent;
		}
		/* A start still waiting for its write: nothing is left to undo. */
		persist_running_gone(r);
		running_free(r);
	}
	/* A persistent program that ended is gone from the store too (not when the daemon exits). */
	if (persist && !m->exiting)
		persist_mark_dirty(m->persist);
	if (any)
		manager_notify_status(m);
}

static int on_report(sd_event_source *s, void *userdata)
{
	manager_report_ended(userdata);
	return 0;
}

static int engine_commit_cb(void *userdata, usec_t now, size_t n, const unsigned *offsets,
			    const uint16_t *values)
{
	Manager *m = userdata;
	const unsigned *out_numbers;
	const uint16_t *out_values;
	size_t n_out;

	/*
	 * Exiting: the lines go to their exit state in manager_exit_lines(), not
	 * here; the engine keeps what was last written, to trace only changes.
	 */
	if (m->lines_exited || m->exiting)
		return -ESHUTDOWN;
	/* Lines on an absent chip are not written; their programs go on regardless. */
	chips_write(m->chips, n, offsets, values, &n_out, &out_numbers, &out_values);
	trace_batch(m->trace, n_out, out_numbers, out_values);
	return 0;
}

/*
 * Trace, as one batch, the lines of @numbers whose value differs from what
 * the engine has (@changed_only), or that are lit.
 */
static void trace_some(Manager *m, size_t n, const unsigned *numbers, const uint16_t *values,
		       bool changed_only)
{
	_cleanup_(freep) unsigned *nums = NULL;
	_cleanup_(freep) uint16_t *vals = NULL;
	size_t k = 0;

	if (!m->trace || n == 0)
		return;
	nums = malloc(n * sizeof(unsigned));
	vals = malloc(n * sizeof(uint16_t));
	if (!nums || !vals)
		return (void)log_oom();
	for (size_t i = 0; i < n; i++)
		if (changed_only ? engine_line_is_lit(m->engine, numbers[i]) != (values[i] > 0)
				 : values[i] != 0) {
			nums[k] = numbers[i];
			vals[k++] = values[i];
		}
	trace_batch(m->trace, k, nums, vals);
}

/* Each line to its exit state (off, on, or as it is), in one last batch per chip; released. */
static void manager_exit_lines(Manager *m)
{
	const unsigned *out_numbers;
	const uint16_t *out_values;
	size_t n_out;

	if (!m->chips || m->lines_exited)
		return;
	m->lines_exited = true;
	chips_exit(m->chips, &n_out, &out_numbers, &out_values);
	/* The trace says changes: lines already at their exit state are not news. */
	trace_some(m, n_out, out_numbers, out_values, true);
}

static int chips_line_state_cb(void *userdata, unsigned number)
{
	Manager *m = userdata;

	return m->engine ? engine_line_state(m->engine, number) : -1;
}

/* A chip came (its lines are at @values now) or went. */
static void chips_changed_cb(void *userdata, size_t chip, bool present, size_t n,
			     const unsigned *numbers, const uint16_t *values)
{
	Manager *m = userdata;

	/* At start only what starts lit is news; a chip that returns gets every line again. */
	if (m->chips_started)
		trace_batch(m->trace, n, numbers, values);
	else
		trace_some(m, n, numbers, values, false);
	for (size_t i = 0; m->engine && i < n; i++)
		engine_line_set_committed(m->engine, numbers[i], values[i]);
	m->frame_dirty = true;
	manager_notify_status(m);
	if (m->bus_ops && m->bus_ops->chips_changed)
		m->bus_ops->chips_changed(m->bus_userdata);
}

static const ChipsOps chips_ops = {
	.line_state = chips_line_state_cb,
	.changed = chips_changed_cb,
};

static const EngineOps engine_ops = {
	.commit = engine_commit_cb,
	.finished = engine_finished_cb,
};

/*
 * @r ends with @result at the engine's instant, and with it the program it
 * replaced at a later instant, if that still runs (its end was reported
 * when it was replaced).
 */
static void running_stop(Manager *m, Running *r, RunResult result)
{
	usec_t now = engine_now(m->engine);

	if (r->predecessor && r->predecessor->run)
		(void)engine_stop(m->engine, r->predecessor->run, result, now);
	if (r->run)
		(void)engine_stop(m->engine, r->run, result, now);
}

/* Every program still running ends with @result at the engine's instant. */
static void manager_stop_all(Manager *m, RunResult result)
{
	for (size_t i = 0; i < m->registry.running.n; i++)
		running_stop(m, m->registry.running.entries[i].value, result);
}

/* Bring the timeline to @now and write the batch. */
static void manager_advance(Manager *m, usec_t now)
{
	(void)engine_advance(m->engine, now);
}

static void manager_arm_timer(Manager *m, usec_t now)
{
	usec_t next = engine_next_deadline(m->engine);

	if (next == USEC_INFINITY) {
		(void)sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
		return;
	}
	m->timer_due = next;
	m->timer_fire = m->spin ? precision_fire(&m->precision, next) : next;
	(void)sd_event_source_set_time(m->timer, m->timer_fire);
	(void)sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
}

/*
 * Precision mode, at each wakeup: say how late the timer fired, so the
 * margin follows it, then wait out the rest of the way to the instant on
 * the clock. The wait is bounded, so a clock that does not move (tests)
 * cannot hold the loop.
 */
static void manager_spin(Manager *m)
{
	usec_t now = manager_now(m), limit;

	precision_woke(&m->precision, m->timer_fire, now);
	limit = now + m->precision.margin + USEC_PER_MSEC;
	while (now < m->timer_due && now < limit)
		now = manager_now(m);
}

usec_t manager_next_deadline(const Manager *m)
{
	return engine_next_deadline(m->engine);
}

void manager_tick(Manager *m)
{
	usec_t now = manager_now(m);

	manager_advance(m, now);
	manager_report_ended(m);
	manager_frame(m, now);
	manager_arm_timer(m, now);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Manager *m = userdata;

	if (m->spin)
		manager_spin(m);
	manager_tick(m);
	return 0;
}

/*
 * The start of every call: one reading of the clock, the timeline brought
 * to it, and what ended until then reported, so a program that just ended
 * frees its name.
 */
static void manager_begin(Manager *m)
{
	manager_advance(m, manager_now(m));
	manager_report_ended(m);
}

/*
 * The end of every call: the batch of its instant goes out, and what ended
 * inside the call is reported right after it, from the report event.
 */
static void manager_end(Manager *m)
{
	usec_t now = engine_now(m->engine);

	manager_advance(m, now);
	manager_frame(m, now);
	manager_arm_timer(m, now);
	if (m->ended_first)
		(void)sd_event_source_set_enabled(m->report_source, SD_EVENT_ONESHOT);
}

Running *manager_get_running(Manager *m, const char *name)
{
	return registry_get_running(&m->registry, name);
}

/* The program defined as @name: a ProgramLookup over the manager. */
static Program *lookup_definition(const char *name, void *userdata)
{
	Manager *m = userdata;

	return registry_lookup_program(name, &m->registry);
}

/* Check a name and parse a program sent over the bus; @what is "program" or "definition". */
static int parse_named_program(Manager *m, const char *what, const char *name, const char *text,
			       Program **ret, ManagerError *error)
{
	ProgramError perr = {};
	int k;

	if (!program_name_is_valid(name))
		return manager_error_set(error, MANAGER_ERROR_INVALID_NAME,
				    "\"%s\" is not a valid %s name: names are 1 to 64 of A-Z "
				    "a-z 0-9 _ . -",
				    QUOTE(name, QUOTE_CHARS_MAX), what);
	k = program_parse(text, m->config->layout, 0, ret, &perr);
	if (k == -EINVAL)
		return manager_error_set(error, MANAGER_ERROR_INVALID_PROGRAM, "%s: %s", perr.path,
				    perr.message);
	return k;
}

/* Where @at (CLOCK_REALTIME) falls from now, as an offset on the engine's timeline. */
static int64_t realtime_offset(usec_t at, usec_t now_realtime)
{
	return at >= now_realtime ? (int64_t)(at - now_realtime) : -(int64_t)(now_realtime - at);
}

/* Start @r's run of @p at @offset from the engine's instant; maps what the caller did wrong. */
static int running_start(Manager *m, Running *r, Program *p, int64_t offset, ManagerError *error)
{
	ProgramError perr = {};
	int k;

	k = engine_start_with(m->engine, p, lookup_definition, m, engine_now(m->engine),
			      &(EngineStartOptions){
				      .priority = r->priority,
				      .offset = offset,
				      .timeout = r->timeout,
			      },
			      r, &r->run, &perr);
	if (k == -ENOENT)
		return manager_error_set(error, MANAGER_ERROR_NOT_DEFINED, "%s", perr.message);
	if (k == -ELOOP)
		return manager_error_set(error, MANAGER_ERROR_INVALID_PROGRAM, "%s: %s", perr.path,
				    perr.message);
	return k;
}

/* Options the caller may not ask for: named in the error. */
static int check_start_options(Manager *m, const ManagerStartOptions *o, usec_t now_realtime,
			       ManagerError *error)
{
	if (o->start.priority < ENGINE_PRIORITY_MIN || o->start.priority > ENGINE_PRIORITY_MAX)
		return manager_error_set(error, MANAGER_ERROR_INVALID_OPTIONS,
				    "priority: %d is out of range (%d to %d)", o->start.priority,
				    ENGINE_PRIORITY_MIN, ENGINE_PRIORITY_MAX);
	if (o->start.timeout > 0 && o->start.timeout < MANAGER_TIMEOUT_MIN)
		return manager_error_set(error, MANAGER_ERROR_INVALID_OPTIONS,
				    "timeout: %llu us is shorter than %llu us",
				    (unsigned long long)o->start.timeout, (unsigned long long)MANAGER_TIMEOUT_MIN);
	if (o->start.timeout > (usec_t)ENGINE_OFFSET_MAX)
		return manager_error_set(error, MANAGER_ERROR_INVALID_OPTIONS,
				    "timeout: %llu us is too long", (unsigned long long)o->start.timeout);
	if (o->start.at > 0 && o->start.at > now_realtime + MANAGER_AT_AHEAD_MAX)
		return manager_error_set(error, MANAGER_ERROR_INVALID_OPTIONS,
				    "at: more than a day ahead (%llu us from now)",
				    (unsigned long long)(o->start.at - now_realtime));
	if (o->start.at > 0 && o->start.at + (usec_t)ENGINE_OFFSET_MAX < now_realtime)
		return manager_error_set(error, MANAGER_ERROR_INVALID_OPTIONS, "at: too long ago");
	if (o->start.bind && o->start.persist)
		return manager_error_set(error, MANAGER_ERROR_INVALID_OPTIONS,
				    "bind, persist: a program bound to its caller cannot outlive "
				    "the daemon");
	if (o->start.persist && !m->state_dir)
		return manager_error_set(error, MANAGER_ERROR_INVALID_OPTIONS,
				    "persist: the daemon has no state directory");
	return 0;
}

/* List @r by its name and announce it. */
static int running_list(Manager *m, Running *r)
{
	int k = registry_list_running(&m->registry, r);

	if (k < 0)
		return k;
	if (m->bus_ops && m->bus_ops->program_added)
		m->bus_ops->program_added(m->bus_userdata, r);
	return 0;
}

int manager_start_program(Manager *m, const char *name, const char *text, bool replace,
			  ManagerError *error)
{
	return manager_start_program_with(m, name, text, &(ManagerStartOptions){ .start.replace = replace },
					  error);
}

/*
 * @r, just started under the name of @old (listed, running or scheduled),
 * takes its place. Whatever the case, @old's object is gone from the bus,
 * with its Finished "replaced", before @r's is announced, as for any
 * Replace: clients that wait for the end of the name's program after the
 * reply must not take @old's end for @r's.
 *
 *  - @r starts now: @old goes at this instant, in the batch of @r's first
 *    edges (no dark gap), and so does the program @old was to replace.
 *  - @r starts later and @old is on the lines: @old runs on, unlisted, as
 *    @r's predecessor, until @r starts; the engine then ends it in that
 *    batch. Stop and StopAll in between end both.
 *  - @r starts later and @old had not started: @old goes now (it was
 *    never seen on the lines); the program it was to replace is @r's
 *    predecessor instead.
 *
 * Returns whether the store must be written for @old.
 */
static bool running_replace(Manager *m, Running *old, Running *r)
{
	Running *keep = NULL;
	bool persist = old->persistent;

	if (running_is_scheduled(r)) {
		keep = running_is_scheduled(old) ? old->predecessor : old;
		if (keep && keep->run && engine_run_hand_over(m->engine, keep->run, r->run) >= 0) {
			if (keep->successor)
				keep->successor->predecessor = NULL;
			keep->successor = r;
			r->predecessor = keep;
		} else
			keep = NULL;
	}

	if (keep == old) {
		/* Reported now, as if it had ended; it goes on, unlisted, until r starts. */
		log_debug("Program %s replaced; it runs on until its successor starts.", old->name);
		if (m->bus_ops && m->bus_ops->program_ended)
			m->bus_ops->program_ended(m->bus_userdata, old, RUN_REPLACED);
		registry_unlist_running(&m->registry, old);
		return persist;
	}
	/*
	 * The new one first, then the old one goes: one instant, one batch, no
	 * dark gap. The old object is gone from the bus before the new one of
	 * the same path is announced.
	 */
	running_stop(m, old, RUN_REPLACED); /* and its predecessor, unless r took it */
	manager_report_ended(m);
	return persist;
}

/*
 * A Running for @p as @name, its run started on the engine as @opts say
 * (at, or the store's start, become an offset on the timeline). Nothing is
 * listed or replaced yet: a start that fails here changes nothing.
 */
static int running_make(Manager *m, const char *name, Program *p, const ManagerStartOptions *opts,
			usec_t now_realtime, Running **ret, ManagerError *error)
{
	_cleanup_(running_freep) Running *r = NULL;
	usec_t start_realtime;
	int k;

	k = running_new(&m->registry, name, p, &r);
	if (k < 0)
		return k;
	r->manager = m;
	/* On the wall clock once, then on the engine's timeline: at, or the store's start. */
	start_realtime = opts->resume_from ? opts->resume_from : opts->start.at ? opts->start.at : now_realtime;
	r->started_realtime = start_realtime;
	r->priority = opts->start.priority;
	r->bound = opts->start.bind;
	r->persistent = opts->start.persist;
	r->timeout = opts->start.timeout;
	k = running_start(m, r, p, realtime_offset(start_realtime, now_realtime), error);
	if (k < 0)
		return k;
	*ret = TAKE_PTR(r);
	return 0;
}

/*
 * @r, started, is listed and announced, and the store hears of it (and,
 * with @persist, of the persistent program it replaced); the call's
 * instant ends. @r is the manager's from here, whatever happens.
 */
static int running_publish(Manager *m, Running *r, bool persist)
{
	int k;

	k = running_list(m, r);
	if (k < 0) {
		/* Out of memory: take it back; the engine reports it, unlisted, to nobody. */
		running_stop(m, r, RUN_FAILED); /* queued: the report frees it */
		manager_end(m);
		return k;
	}
	log_debug("Program %s started: %s", r->name, r->canonical);
	if (r->persistent)
		persist_start(m->persist, r);
	/* A persistent predecessor that runs on until r starts is out of the store now. */
	if (r->persistent || persist)
		persist_mark_dirty(m->persist);
	manager_end(m);
	manager_notify_status(m);
	return 0;
}

/* Start @p as @name, which no program has. */
static int start_new(Manager *m, const char *name, Program *p, const ManagerStartOptions *opts,
		     usec_t now_realtime, ManagerError *error)
{
	Running *r;
	int k;

	if (registry_is_full(&m->registry))
		return manager_error_set(error, MANAGER_ERROR_LIMIT_EXCEEDED,
				    "%u programs are running, the most there may be",
				    m->config->max_programs);
	k = running_make(m, name, p, opts, now_realtime, &r, error);
	if (k < 0)
		return k;
	return running_publish(m, r, false);
}

/*
 * Replace: start @p as @name, which @old has, in @old's place
 * (running_replace() says how at each instant). If the new one cannot
 * start, @old runs on untouched.
 */
static int replace_parsed(Manager *m, Running *old, const char *name, Program *p,
			  const ManagerStartOptions *opts, usec_t now_realtime, ManagerError *error)
{
	bool persist = false;
	Running *r;
	int k;

	k = running_make(m, name, p, opts, now_realtime, &r, error);
	if (k < 0)
		return k;
	if (old->run)
		persist = running_replace(m, old, r);
	return running_publish(m, r, persist);
}

/* Start @p, parsed already, as @name: manager_start_program_with() after the parse. */
static int start_parsed(Manager *m, const char *name, Program *p, const ManagerStartOptions *opts,
			ManagerError *error)
{
	usec_t now_realtime = manager_now_realtime(m);
	Running *old;
	int k;

	persist_call_begin(m->persist);
	k = check_start_options(m, opts, now_realtime, error);
	if (k < 0)
		return k;

	manager_begin(m);
	old = registry_get_running(&m->registry, name);
	if (!old)
		return start_new(m, name, p, opts, now_realtime, error);
	if (!opts->start.replace)
		return manager_error_set(error, MANAGER_ERROR_EXISTS,
				    "a program named \"%s\" is running; stop it or use Replace",
				    name);
	return replace_parsed(m, old, name, p, opts, now_realtime, error);
}

int manager_start_program_with(Manager *m, const char *name, const char *text,
			       const ManagerStartOptions *opts, ManagerError *error)
{
	_cleanup_(program_unrefp) Program *p = NULL;
	int k;

	k = parse_named_program(m, "program", name, text, &p, error);
	if (k < 0)
		return k;
	return start_parsed(m, name, p, opts, error);
}

int manager_stop_program(Manager *m, const char *name, ManagerError *error)
{
	Running *r;

	manager_begin(m);
	r = registry_get_running(&m->registry, name);
	if (!r || !r->run)
		return manager_error_set(error, MANAGER_ERROR_NOT_RUNNING,
				    "no program named \"%s\" is running", QUOTE(name, QUOTE_CHARS_MAX));
	running_stop(m, r, RUN_STOPPED);
	manager_end(m);
	return 0;
}

void manager_stop_all_programs(Manager *m)
{
	manager_begin(m);
	manager_stop_all(m, RUN_STOPPED);
	manager_end(m);
}

void manager_realtime_changed(Manager *m)
{
	usec_t now_realtime = manager_now_realtime(m);

	manager_begin(m);
	for (size_t i = 0; i < m->registry.running.n; i++) {
		Running *r = m->registry.running.entries[i].value;

		if (running_is_scheduled(r))
			(void)engine_run_reschedule(m->engine, r->run, engine_now(m->engine),
						    realtime_offset(r->started_realtime, now_realtime));
	}
	manager_end(m);
}

/* A timerfd on CLOCK_REALTIME, armed for the end of time, is cancelled when the clock is set. */
static int arm_clock_watch(int fd)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)INT32_MAX } };

	if (timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
		return -errno;
	return 0;
}

static int on_clock_set(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Manager *m = userdata;
	uint64_t expirations;

	/* ECANCELED: the clock was set. Anything else: nothing to do but re-arm. */
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno == ECANCELED) {
		log_info("The wall clock was set; programs started at a later instant move with it.");
		manager_realtime_changed(m);
	}
	(void)arm_clock_watch(fd);
	return 0;
}

/* ---------------------------------------------------------- definitions */

/* Define @name as @p; a call cycle it would close is the caller's INVALID_PROGRAM. */
static int definition_add(Manager *m, const char *name, Program *p, bool persistent,
			  ManagerError *error)
{
	ProgramError perr = {};
	int k;

	k = registry_define(&m->registry, name, p, persistent, true, &perr);
	if (k == -ELOOP)
		return manager_error_set(error, MANAGER_ERROR_INVALID_PROGRAM, "%s: %s", perr.path,
				    perr.message);
	return k;
}

int manager_define(Manager *m, const char *name, const char *text, ManagerError *error)
{
	_cleanup_(program_unrefp) Program *p = NULL;
	_cleanup_(definition_unrefp) Definition *previous = NULL; /* for persist_define() */
	int k;

	persist_call_begin(m->persist);
	k = parse_named_program(m, "definition", name, text, &p, error);
	if (k < 0)
		return k;
	/* Kept, to be put back if the store cannot hold the new one. */
	previous = registry_get_definition(&m->registry, name);
	if (previous)
		definition_ref(previous);
	k = definition_add(m, name, p, true, error);
	if (k < 0)
		return k;
	persist_define(m->persist, name, registry_get_definition(&m->registry, name), previous);
	persist_mark_dirty(m->persist);
	return 0;
}

int manager_undefine(Manager *m, const char *name, ManagerError *error)
{
	Definition *d;

	persist_call_begin(m->persist);
	d = registry_remove_definition(&m->registry, name);
	if (!d)
		return manager_error_set(error, MANAGER_ERROR_NOT_DEFINED, "no definition named \"%s\"",
				    QUOTE(name, QUOTE_CHARS_MAX));
	if (d->persistent) {
		persist_undefine(m->persist, d); /* to be put back if the store cannot lose it */
		persist_mark_dirty(m->persist);
	}
	definition_unref(d);
	return 0;
}

/* ------------------------------------------------------------ lifecycle */

static int load_config_programs(Manager *m)
{
	Config *c = m->config;
	int k;

	if (!c->definitions)
		return 0;
	json_object_object_foreach(c->definitions, name, val)
	{
		_cleanup_(program_unrefp) Program *p = NULL;
		ProgramError perr = {};
		ManagerError error = {};
		char path[128];

		snprintf(path, sizeof(path), "$.definitions.%s", name);
		k = program_parse_json(val, path, c->layout, 0, &p, &perr);
		if (k == -EINVAL)
			return log_error_errno(k, "%s: %s: %s", c->path, perr.path, perr.message);
		if (k < 0)
			return log_error_errno(k, "%s: %s: %m", c->path, path);
		k = definition_add(m, name, p, false, &error);
		if (k < 0 && error.kind != MANAGER_ERROR_NONE)
			return log_error_errno(k, "%s: %s: %s", c->path, path, error.message);
		if (k < 0)
			return log_error_errno(k, "%s: %s: %m", c->path, path);
	}
	return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	log_info("Received %s, turning every line off and exiting.", strsignal((int)si->ssi_signo));
	manager_exit(userdata, 0);
	return 0;
}

int manager_sim_set_chip_present(Manager *m, const char *chip, bool present)
{
	int r;

	manager_begin(m);
	r = chips_sim_set_present(m->chips, chip, present);
	manager_end(m);
	return r;
}

/* Simulation only: SIGUSR1 makes every chip vanish, SIGUSR2 brings them back (fault injection). */
static int on_sim_fault(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	Manager *m = userdata;

	if (chips_is_sim(m->chips))
		(void)manager_sim_set_chip_present(m, NULL, si->ssi_signo == SIGUSR2);
	return 0;
}

/*
 * What manager_new() builds, in this order, each step borrowing only what
 * the steps before it built (the numbers are startup_step()'s, startup.h):
 *
 *   1 the configuration   m->config, the layout in it (--chip put in)
 *   2 the engine          m->engine: borrows the layout; calls back into m
 *   3 the trace           m->trace: borrows the layout
 *   4 the event loop      m->event
 *   5 the chips           m->chips: borrow the loop, the layout and the
 *                         config; call back into m, which reads the engine
 *                         and the trace
 *   6 the lines           chips_start(): requested, at their initial state
 *   7 the definitions     the config's, in m->registry
 *   8 the signals         blocked; handlers the loop owns
 *   9 the timers          m->timer, m->frame_timer, m->report_source
 *  10 the state writer    m->persist (with a state directory): the writer's
 *                         thread and its sources; borrows the loop and
 *                         m->registry, calls back into m
 *  11 the wall clock      m->clock_set_source
 *
 * main() then builds the Bus (steps 12-15: bus_new()) and starts what runs
 * (16-18: manager_startup()). manager_free() undoes it all in the reverse
 * order, but for one thing: the state writer writes what changed and goes
 * first, so that the programs stopped below stay in the store.
 */
int manager_new(Manager **ret, const ManagerOptions *opts)
{
	_cleanup_(manager_freep) Manager *m = NULL;
	const char *chip;
	sigset_t mask;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return log_oom();
	m->clock = opts->clock ? opts->clock : clock_monotonic;
	m->clock_realtime = opts->clock_realtime ? opts->clock_realtime : clock_realtime;
	m->clock_userdata = opts->clock_userdata;
	if (opts->state_dir) {
		m->state_dir = strdup(opts->state_dir);
		if (!m->state_dir)
			return log_oom();
	}

	r = startup_step("the configuration");
	if (r < 0)
		return r;
	r = config_load(&m->config, opts->config_path, opts->config_must_exist);
	if (r < 0)
		return r;
	chip = opts->chip ? opts->chip : m->config->chip;
	if (streq(chip, "sim")) {
		/* Simulating: the default chip is a declared sim chip, or else the built-in one. */
		bool declared = false;

		for (size_t i = 0; i < m->config->n_sim_chips; i++)
			declared = declared ||
				   streq(m->config->sim_chips[i].label, m->config->layout->chips[0]);
		if (!declared && !streq(m->config->layout->chips[0], "sim")) {
			char *c = strdup("sim");
			if (!c)
				return log_oom();
			free(m->config->layout->chips[0]);
			m->config->layout->chips[0] = c;
		}
	} else if (!streq(chip, m->config->layout->chips[0])) {
		/* --chip names the default chip instead of the configuration. */
		char *c = strdup(chip);
		if (!c)
			return log_oom();
		free(m->config->layout->chips[0]);
		m->config->layout->chips[0] = c;
	}

	registry_init(&m->registry, m->config->max_programs);
	m->spin = m->config->precision_spin;
	precision_init(&m->precision);

	r = startup_step("the engine");
	if (r < 0)
		return r;
	r = engine_new(&m->engine, m->config->layout, &engine_ops, m);
	if (r < 0)
		return log_error_errno(r, "Failed to make the engine: %m");
	(void)engine_set_pwm_hz(m->engine, m->config->pwm_hz); /* checked by the config */

	r = startup_step("the trace");
	if (r < 0)
		return r;
	if (opts->trace_path) {
		r = trace_open(&m->trace, opts->trace_path, m->config->layout);
		if (r < 0)
			return r;
	}

	r = startup_step("the event loop");
	if (r < 0)
		return r;
	r = sd_event_new(&m->event);
	if (r < 0)
		return log_error_errno(r, "Failed to allocate the event loop: %m");

	r = startup_step("the chips");
	if (r < 0)
		return r;
	r = chips_new(&m->chips, m->event, m->config->layout, m->config, streq(chip, "sim"),
		      &chips_ops, m);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the chips: %m");

	r = startup_step("the lines");
	if (r < 0)
		return r;
	r = chips_start(m->chips);
	if (r < 0)
		return r; /* logged, naming the chip, the line and the cause */
	m->chips_started = true;

	/* After the chips: programs may name lines as the chips name them. */
	r = startup_step("the definitions");
	if (r < 0)
		return r;
	r = load_config_programs(m);
	if (r < 0)
		return r;

	r = startup_step("the signals");
	if (r < 0)
		return r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_error_errno(errno, "Failed to block signals: %m");
	if ((r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m)) < 0 ||
	    (r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m)) < 0 ||
	    (r = sd_event_add_signal(m->event, NULL, SIGUSR1, on_sim_fault, m)) < 0 ||
	    (r = sd_event_add_signal(m->event, NULL, SIGUSR2, on_sim_fault, m)) < 0)
		return log_error_errno(r, "Failed to add signal handlers: %m");

	r = startup_step("the timers");
	if (r < 0)
		return r;
	/* Accuracy 1us: sd-event would otherwise coalesce wakeups within 250ms, ruining every edge. */
	r = sd_event_add_time(m->event, &m->timer, CLOCK_MONOTONIC, 0,
			      opts->timer_accuracy ? opts->timer_accuracy : 1, on_timer, m);
	if (r < 0)
		return log_error_errno(r, "Failed to add the engine timer: %m");
	(void)sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
	(void)sd_event_source_set_description(m->timer, "engine");
	/* An edge that falls due goes before anything else the loop has to do. */
	(void)sd_event_source_set_priority(m->timer, SD_EVENT_PRIORITY_IMPORTANT);
	r = sd_event_add_time(m->event, &m->frame_timer, CLOCK_MONOTONIC, 0, 1, on_frame_timer, m);
	if (r < 0)
		return log_error_errno(r, "Failed to add the frame timer: %m");
	(void)sd_event_source_set_enabled(m->frame_timer, SD_EVENT_OFF);

	/* Before the next bus message: ends are reported right after the call they happened in. */
	r = sd_event_add_defer(m->event, &m->report_source, on_report, m);
	if (r < 0)
		return log_error_errno(r, "Failed to add the report event: %m");
	(void)sd_event_source_set_enabled(m->report_source, SD_EVENT_OFF);
	(void)sd_event_source_set_priority(m->report_source, SD_EVENT_PRIORITY_IMPORTANT / 2);

	r = startup_step("the state writer");
	if (r < 0)
		return r;
	if (m->state_dir) {
		r = persist_new(&m->persist, m->event, m->state_dir, &m->registry, &persist_ops, m);
		if (r < 0)
			return r; /* logged */
	}

	r = startup_step("the wall clock watch");
	if (r < 0)
		return r;
	{
		int fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);

		if (fd < 0 || arm_clock_watch(fd) < 0)
			(void)log_warning_errno(errno, "Failed to watch the wall clock: %m; a start "
						       "\"at\" an instant does not follow it when set");
		else {
			r = sd_event_add_io(m->event, &m->clock_set_source, fd, EPOLLIN, on_clock_set, m);
			if (r < 0)
				return log_error_errno(r, "Failed to watch the wall clock: %m");
			(void)sd_event_source_set_io_fd_own(m->clock_set_source, true);
			fd = -1;
		}
		if (fd >= 0)
			(void)close(fd);
	}

	r = sd_event_set_watchdog(m->event, true);
	if (r < 0)
		(void)log_warning_errno(r, "Failed to enable the watchdog: %m");

	*ret = TAKE_PTR(m);
	return 0;
}

static void program_left_out(const char *name, const char *fmt, ...) _printf_(2, 3);
static void program_left_out(const char *name, const char *fmt, ...)
{
	char why[1300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warning("Stored program \"%s\" left out: %s.", QUOTE(name, QUOTE_CHARS_MAX), why);
}

/*
 * Resume one stored program in the phase it has now. Returns 1 when it
 * runs, 0 when it is not to run (ended while the daemon was away, or left
 * out and logged: it does not parse, calls what is not defined, does not
 * fit the program limit, ...).
 */
static int resume_program(Manager *m, const StoredProgram *s, usec_t now_realtime)
{
	_cleanup_(program_unrefp) Program *p = NULL;
	ManagerError error = {};
	usec_t d, started = s->started ? s->started : now_realtime;
	int r;

	r = parse_named_program(m, "program", s->name, s->program, &p, &error);
	if (r < 0) {
		program_left_out(s->name, "%s", error.kind ? error.message : strerror(-r));
		return 0;
	}
	/*
	 * Later than a start "at" may be (a day ahead): the wall clock was set
	 * back since it was stored (a board without a real-time clock, not yet
	 * synchronised), or the file was written by hand. Its phase means
	 * nothing then: it is left out, as any entry that no longer fits.
	 */
	if (started > now_realtime + MANAGER_AT_AHEAD_MAX) {
		program_left_out(s->name,
				 "it was to start %llu s from now, more than a day ahead (the wall "
				 "clock was set back, or the file was written by hand)",
				 (unsigned long long)((started - now_realtime) / USEC_PER_SEC));
		return 0;
	}
	/* A finite program whose end has passed is dropped, not started to end at once. */
	d = program_duration_lookup(p, lookup_definition, m);
	if (s->timeout > 0 && s->timeout < d)
		d = s->timeout;
	if (d != USEC_INFINITY && started + d <= now_realtime) {
		log_debug("Stored program %s ended while the daemon was away.", s->name);
		return 0;
	}
	/* Later than now is a start "at" that has not come; resumed as scheduled. */
	r = start_parsed(m, s->name, p,
			 &(ManagerStartOptions){
				 .start.priority = s->priority,
				 .start.persist = true,
				 .start.timeout = s->timeout,
				 .resume_from = started,
			 },
			 &error);
	if (r < 0 && error.kind == MANAGER_ERROR_LIMIT_EXCEEDED)
		program_left_out(s->name, "no room under max_programs (%u) once the autostart "
					  "programs run",
				 m->config->max_programs);
	else if (r < 0)
		program_left_out(s->name, "%s", error.kind ? error.message : strerror(-r));
	return r < 0 ? 0 : 1;
}

typedef struct LeftOutCall {
	Manager *manager;
	const NameTable *left_out; /* names of stored definitions left out */
	NameTable seen;
	const char *name;	   /* the left-out name found */
} LeftOutCall;

static int find_left_out_call(const char *name, void *userdata)
{
	LeftOutCall *l = userdata;
	Definition *d = registry_get_definition(&l->manager->registry, name);

	if (!d) {
		if (!name_table_get(l->left_out, name))
			return 0;
		l->name = name;
		return -ENOENT;
	}
	if (name_table_get(&l->seen, name))
		return 0;
	if (name_table_put(&l->seen, d->name, d) < 0)
		return 0; /* out of memory: the start finds it, if anything */
	return program_for_each_call(d->program, find_left_out_call, l);
}

/*
 * Start the config's autostart programs whose names are free. The config's
 * own faults are fatal; but an autostart program that calls (itself or
 * through definitions) a stored definition that was left out is left out
 * too, with an error line: the daemon does not fail for what the store
 * held. @left_out names the stored definitions left out.
 */
static int start_autostart(Manager *m, const NameTable *left_out)
{
	int r;

	if (!m->config->autostart)
		return 0;
	json_object_object_foreach(m->config->autostart, name, val)
	{
		_cleanup_(program_unrefp) Program *p = NULL;
		ManagerError error = {};
		const char *text = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
		LeftOutCall l = { .manager = m, .left_out = left_out };

		/* A program of that name resumed from the store goes on as it was. */
		if (registry_get_running(&m->registry, name)) {
			log_info("Autostart program %s runs already, resumed.", name);
			continue;
		}
		r = parse_named_program(m, "program", name, text, &p, &error);
		if (r >= 0 && left_out->n > 0) {
			r = program_for_each_call(p, find_left_out_call, &l);
			name_table_done(&l.seen);
			if (r == -ENOENT) {
				log_error("%s: $.autostart.%s: calls \"%s\", a stored definition that "
					  "was left out; not started.",
					  m->config->path, name,
					  QUOTE(l.name, QUOTE_CHARS_MAX));
				continue;
			}
			r = 0;
		}
		if (r >= 0)
			r = start_parsed(m, name, p, &(ManagerStartOptions){}, &error);
		if (r < 0 && error.kind != MANAGER_ERROR_NONE)
			return log_error_errno(r, "%s: $.autostart.%s: %s", m->config->path, name,
					       error.message);
		if (r < 0)
			return log_error_errno(r, "%s: $.autostart.%s: %m", m->config->path, name);
	}
	return 0;
}

static bool is_autostart(Manager *m, const char *name)
{
	json_object *v;

	return m->config->autostart && json_object_object_get_ex(m->config->autostart, name, &v);
}

/*
 * What the store kept, and the config's autostart, in this order, so that
 * nothing the store holds can keep the daemon from starting:
 *  1. the store's definitions that still fit (resume_definitions());
 *  2. stored programs named as an autostart program: they go on in phase,
 *     in the autostart program's place;
 *  3. the autostart programs: the config's, so they win over the store
 *     for room under max_programs; a failure here is the config's own
 *     (its program, or more autostart programs than max_programs), and
 *     fatal as a config error is, except a call into a stored definition
 *     that was left out (start_autostart());
 *  4. the other stored programs, while there is room.
 * Whatever of the store does not fit is left out, logged, and the store
 * is written once at the end without it.
 */
int manager_startup(Manager *m)
{
	_cleanup_(name_table_done) NameTable left_out = {};
	StoreContent c = {};
	usec_t now_realtime = manager_now_realtime(m);
	size_t n_resumed = 0, n_dropped = 0, n_definitions_out = 0;
	int r;

	r = startup_step("the stored state");
	if (r < 0)
		return r;
	if (m->state_dir) {
		r = store_load(m->state_dir, &c);
		if (r < 0)
			return log_error_errno(r, "Failed to load the state in %s: %m", m->state_dir);
	}
	n_definitions_out = resume_definitions(&m->registry, m->config->layout, &c, &left_out);

	persist_set_resuming(m->persist, true); /* one write at the end, not one per program */
	for (size_t i = 0; i < c.n_programs; i++)
		if (is_autostart(m, c.programs[i].name)) {
			r = resume_program(m, &c.programs[i], now_realtime);
			n_resumed += r > 0;
			n_dropped += r == 0;
		}
	r = startup_step("the autostart programs");
	if (r >= 0)
		r = start_autostart(m, &left_out);
	if (r < 0) {
		persist_set_resuming(m->persist, false);
		name_table_done(&left_out);
		store_content_done(&c);
		return r;
	}
	for (size_t i = 0; i < c.n_programs; i++)
		if (!is_autostart(m, c.programs[i].name)) {
			r = resume_program(m, &c.programs[i], now_realtime);
			n_resumed += r > 0;
			n_dropped += r == 0;
		}
	persist_set_resuming(m->persist, false);
	name_table_done(&left_out); /* its names are in @c */
	store_content_done(&c);
	if (n_dropped + n_definitions_out > 0)
		persist_mark_dirty(m->persist);
	if (n_resumed + n_dropped > 0)
		log_info("Resumed %zu stored program%s in phase, dropped %zu.", n_resumed,
			 n_resumed == 1 ? "" : "s", n_dropped);

	r = startup_step("ready");
	if (r < 0)
		return r;
	(void)sd_notifyf(false, "READY=1\nSTATUS=%zu program%s running", m->registry.running.n,
			 m->registry.running.n == 1 ? "" : "s");
	log_info("Ready: %zu line%s on %zu chip%s (%zu absent), %zu definition%s.",
		 m->config->layout->n_lines, m->config->layout->n_lines == 1 ? "" : "s",
		 chips_count(m->chips), chips_count(m->chips) == 1 ? "" : "s",
		 chips_n_absent(m->chips), m->registry.definitions.n, m->registry.definitions.n == 1 ? "" : "s");
	return 0;
}

void manager_exit(Manager *m, int error)
{
	if (m->exit_error == 0)
		m->exit_error = error;
	(void)sd_event_exit(m->event, 0);
}

int manager_shutdown(Manager *m)
{
	int r = 0;

	if (m->exiting)
		return 0;
	m->exiting = true;

	/* Every program ends "stopped"; every line goes to its exit state, in one last batch. */
	manager_begin(m);
	manager_stop_all(m, RUN_STOPPED);
	r = engine_advance(m->engine, engine_now(m->engine));
	if (r == -ESHUTDOWN)
		r = 0;
	manager_exit_lines(m);
	manager_report_ended(m);
	return r;
}

int manager_run(Manager *m)
{
	int r, k;

	r = sd_event_loop(m->event);
	if (r < 0)
		(void)log_error_errno(r, "The event loop failed: %m");
	else
		r = m->exit_error;
	(void)sd_notify(false, "STOPPING=1\nSTATUS=Turning every line off");
	/*
	 * What was changed is on disk before the programs stop (they stay in
	 * the store): done by the exit event already, unless the loop failed.
	 */
	(void)manager_store_flush(m, PERSIST_EXIT_TIMEOUT);
	k = manager_shutdown(m);
	if (k < 0 && r == 0)
		r = k;
	return r;
}

/*
 * manager_new()'s steps undone, last first (the list is above it): each
 * object goes after everything that borrows it, and the lines go to their
 * exit state while the engine and the trace, which say what they were, are
 * still there.
 */
Manager *manager_free(Manager *m)
{
	if (!m)
		return NULL;

	/*
	 * 10: a daemon that never ran its loop (tests, a failed start) writes
	 * what changed too; then the writer and its sources go, and a change
	 * still waiting hears it was cancelled.
	 */
	if (m->engine)
		(void)manager_store_flush(m, PERSIST_EXIT_TIMEOUT);
	m->persist = persist_free(m->persist);

	/* 18-16, manager_startup(): what still runs ends; the bus has gone, nobody is told. */
	if (m->engine) {
		m->exiting = true;
		manager_set_bus(m, NULL, NULL);
		manager_stop_all(m, RUN_STOPPED);
		(void)engine_advance(m->engine, engine_now(m->engine));
		manager_report_ended(m);
	}

	/* 11, 9: the loop's sources. 8: the signal handlers are the loop's, and go with it. */
	m->clock_set_source = sd_event_source_disable_unref(m->clock_set_source);
	m->report_source = sd_event_source_disable_unref(m->report_source);
	m->frame_timer = sd_event_source_disable_unref(m->frame_timer);
	m->timer = sd_event_source_disable_unref(m->timer);

	/*
	 * 7: the definitions (runs hold their programs, not them; none is left
	 * anyway), and the registry with them: its graveyard too, pinned or not.
	 */
	registry_done(&m->registry);

	/* 6: each line to its exit state, traced against what the engine last wrote; released. */
	manager_exit_lines(m);
	/* 5, 4: the chips borrow the loop. */
	m->chips = chips_free(m->chips);
	m->event = sd_event_unref(m->event);
	/* 3, 2: the trace and the engine borrow the layout. */
	m->trace = trace_close(m->trace);
	m->engine = engine_free(m->engine);
	/* 1 */
	m->config = config_free(m->config);
	free(m->state_dir);
	free(m);
	return NULL;
}
