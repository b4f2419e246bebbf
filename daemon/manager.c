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

int manager_error_set(ManagerError *error, ManagerErrorKind kind, const char *fmt, ...)
{
	va_list ap;

	error->kind = kind;
	va_start(ap, fmt);
	vsnprintf(error->message, sizeof(error->message), fmt, ap);
	va_end(ap);
	/* The message goes out in a D-Bus reply, which must be valid UTF-8 or is not sent. */
	utf8_drop_invalid(error->message);
	return -EINVAL;
}

static void manager_notify_status(Manager *m)
{
	size_t n = m->running.n;

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

static void running_destroy(Running *r)
{
	free(r->name);
	free(r->canonical);
	free(r->lines);
	free(r);
}

/* Frees @r; while the manager is pinned, it waits in the graveyard instead. */
static Running *running_free(Running *r)
{
	if (!r)
		return NULL;
	if (r->manager && r->manager->n_pins > 0) {
		r->grave_next = r->manager->graveyard;
		r->manager->graveyard = r;
		return NULL;
	}
	running_destroy(r);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Running *, running_free);

void manager_pin_running(Manager *m)
{
	m->n_pins++;
}

static void manager_bury(Manager *m)
{
	while (m->graveyard) {
		Running *r = m->graveyard;

		m->graveyard = r->grave_next;
		running_destroy(r);
	}
}

void manager_unpin_running(Manager *m)
{
	if (m->n_pins > 0 && --m->n_pins == 0)
		manager_bury(m);
}

/*
 * Write what must survive a restart: the persistent programs that run and
 * the definitions made over the bus. A failure is logged; the daemon runs
 * on, and the next change tries again.
 */
static void manager_persist(Manager *m)
{
	StoreContent c = {};
	size_t n = 0;

	if (!m->state_dir || m->resuming)
		return;
	c.programs = calloc(m->running.n + 1, sizeof(StoredProgram));
	c.definitions = calloc(m->definitions.n + 1, sizeof(StoredDefinition));
	if (!c.programs || !c.definitions)
		goto finish;
	for (size_t i = 0; i < m->running.n; i++) {
		const Running *r = m->running.entries[i].value;
		if (!r->persistent || !r->run)
			continue;
		/* Borrowed strings: the content is not freed with store_content_done(). */
		c.programs[n++] = (StoredProgram){
			.name = r->name,
			.program = r->canonical,
			.priority = r->priority,
			.timeout = r->timeout,
			.started = r->started_realtime,
		};
	}
	c.n_programs = n;
	n = 0;
	for (size_t i = 0; i < m->definitions.n; i++) {
		const Definition *d = m->definitions.entries[i].value;
		if (d->persistent)
			c.definitions[n++] = (StoredDefinition){ d->name, d->canonical };
	}
	c.n_definitions = n;
	(void)store_save(m->state_dir, &c);
finish:
	free(c.programs);
	free(c.definitions);
}

/* The engine's finished(): only queue the end; manager_report_ended() reports it. */
static void engine_finished_cb(void *userdata, EngineRun *run, RunResult result)
{
	Manager *m = userdata;
	Running *r = engine_run_get_userdata(run);

	r->run = NULL;
	r->result = result;
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
			(void)name_table_remove(&m->running, r->name);
			persist = persist || r->persistent;
		}
		running_free(r);
	}
	/* A persistent program that ended is gone from the store too (not when the daemon exits). */
	if (persist && !m->exiting)
		manager_persist(m);
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

/* Every program still running ends with @result at the engine's instant. */
static void manager_stop_all(Manager *m, RunResult result)
{
	usec_t now = engine_now(m->engine);

	for (size_t i = 0; i < m->running.n; i++) {
		Running *r = m->running.entries[i].value;
		if (r->run)
			(void)engine_stop(m->engine, r->run, result, now);
	}
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
	return name_table_get(&m->running, name);
}

static Program *lookup_definition(const char *name, void *userdata)
{
	Manager *m = userdata;
	Definition *d = name_table_get(&m->definitions, name);

	return d ? d->program : NULL;
}

typedef struct LineCollector {
	unsigned *offsets;
	size_t n, cap;
	NameTable seen_defs; /* each definition once */
	int error;
} LineCollector;

/* Gather every line @p may drive, following calls into the definitions. */
static void collect_lines(Manager *m, const Program *p, LineCollector *c)
{
	if (c->n + p->lines.n_offsets > c->cap) {
		size_t cap = (c->n + p->lines.n_offsets) * 2;
		unsigned *o = realloc(c->offsets, cap * sizeof(unsigned));
		if (!o) {
			c->error = -ENOMEM;
			return;
		}
		c->offsets = o;
		c->cap = cap;
	}
	if (p->lines.n_offsets > 0) {
		memcpy(c->offsets + c->n, p->lines.offsets, p->lines.n_offsets * sizeof(unsigned));
		c->n += p->lines.n_offsets;
	}

	if (p->kind == PROGRAM_CALL) {
		Definition *d = name_table_get(&m->definitions, p->call);
		if (d && name_table_put(&c->seen_defs, d->name, d) == 0)
			collect_lines(m, d->program, c);
	}
	for (size_t i = 0; i < p->n_children; i++)
		collect_lines(m, p->children[i], c);
}

static int running_new(Manager *m, const char *name, Program *p, Running **ret)
{
	_cleanup_(running_freep) Running *r = NULL;
	LineCollector c = {};

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->manager = m;
	r->name = strdup(name);
	r->canonical = program_format(p);
	if (!r->name || !r->canonical)
		return -ENOMEM;

	collect_lines(m, p, &c);
	name_table_done(&c.seen_defs);
	if (c.error < 0) {
		free(c.offsets);
		return c.error;
	}
	if (c.n > 0)
		qsort(c.offsets, c.n, sizeof(unsigned), offset_compare);
	for (size_t i = 0; i < c.n; i++)
		if (r->n_lines == 0 || c.offsets[r->n_lines - 1] != c.offsets[i])
			c.offsets[r->n_lines++] = c.offsets[i];
	r->lines = c.offsets;
	*ret = TAKE_PTR(r);
	return 0;
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
	if (o->priority < ENGINE_PRIORITY_MIN || o->priority > ENGINE_PRIORITY_MAX)
		return manager_error_set(error, MANAGER_ERROR_INVALID_OPTIONS,
				    "priority: %d is out of range (-1000 to 1000)", o->priority);
	if (o->timeout > 0 && o->timeout < MANAGER_TIMEOUT_MIN)
		return manager_error_set(error, MANAGER_ERROR_INVALID_OPTIONS,
				    "timeout: %llu us is shorter than 100 us",
				    (unsigned long long)o->timeout);
	if (o->timeout > (usec_t)ENGINE_OFFSET_MAX)
		return manager_error_set(error, MANAGER_ERROR_INVALID_OPTIONS,
				    "timeout: %llu us is too long", (unsigned long long)o->timeout);
	if (o->at > 0 && o->at > now_realtime + MANAGER_AT_AHEAD_MAX)
		return manager_error_set(error, MANAGER_ERROR_INVALID_OPTIONS,
				    "at: more than a day ahead (%llu us from now)",
				    (unsigned long long)(o->at - now_realtime));
	if (o->at > 0 && o->at + (usec_t)ENGINE_OFFSET_MAX < now_realtime)
		return manager_error_set(error, MANAGER_ERROR_INVALID_OPTIONS, "at: too long ago");
	if (o->bind && o->persist)
		return manager_error_set(error, MANAGER_ERROR_INVALID_OPTIONS,
				    "bind, persist: a program bound to its caller cannot outlive "
				    "the daemon");
	if (o->persist && !m->state_dir)
		return manager_error_set(error, MANAGER_ERROR_INVALID_OPTIONS,
				    "persist: the daemon has no state directory");
	return 0;
}

/* List @r by its name and announce it. */
static int running_list(Manager *m, Running *r)
{
	int k = name_table_put(&m->running, r->name, r);

	if (k < 0)
		return k;
	r->listed = true;
	if (m->bus_ops && m->bus_ops->program_added)
		m->bus_ops->program_added(m->bus_userdata, r);
	return 0;
}

int manager_start_program(Manager *m, const char *name, const char *text, bool replace,
			  ManagerError *error)
{
	return manager_start_program_with(m, name, text, &(ManagerStartOptions){ .replace = replace },
					  error);
}

/* Start @p, parsed already, as @name: manager_start_program_with() after the parse. */
static int start_parsed(Manager *m, const char *name, Program *p, const ManagerStartOptions *opts,
			ManagerError *error)
{
	_cleanup_(running_freep) Running *r = NULL;
	usec_t now_realtime = manager_now_realtime(m), start_realtime;
	Running *old;
	int64_t offset = 0;
	int k;

	k = check_start_options(m, opts, now_realtime, error);
	if (k < 0)
		return k;

	manager_begin(m);
	old = name_table_get(&m->running, name);
	if (old && !opts->replace)
		return manager_error_set(error, MANAGER_ERROR_EXISTS,
				    "a program named \"%s\" is running; stop it or use Replace",
				    name);
	if (!old && m->running.n >= m->config->max_programs)
		return manager_error_set(error, MANAGER_ERROR_LIMIT_EXCEEDED,
				    "%u programs are running, the most there may be",
				    m->config->max_programs);

	k = running_new(m, name, p, &r);
	if (k < 0)
		return k;
	/* On the wall clock once, then on the engine's timeline: at, or the store's start. */
	start_realtime = opts->resume_from ? opts->resume_from : opts->at ? opts->at : now_realtime;
	offset = realtime_offset(start_realtime, now_realtime);
	r->started_realtime = start_realtime;
	r->priority = opts->priority;
	r->bound = opts->bind;
	r->persistent = opts->persist;
	r->timeout = opts->timeout;
	/* Nothing has changed yet: a start that fails here leaves the old one running. */
	k = running_start(m, r, p, offset, error);
	if (k < 0)
		return k;
	if (old && old->run) {
		/*
		 * The new one first, then the old one goes: one instant, one
		 * batch, no dark gap. The old object is gone from the bus
		 * before the new one of the same path is announced.
		 */
		(void)engine_stop(m->engine, old->run, RUN_REPLACED, engine_now(m->engine));
		manager_report_ended(m);
	}
	k = running_list(m, r);
	if (k < 0) {
		/* Out of memory: take it back; the engine reports it, unlisted, to nobody. */
		(void)engine_stop(m->engine, r->run, RUN_FAILED, engine_now(m->engine));
		TAKE_PTR(r); /* queued: the report frees it */
		manager_end(m);
		return k;
	}
	log_debug("Program %s started: %s", r->name, r->canonical);
	if (r->persistent)
		manager_persist(m);
	TAKE_PTR(r);
	manager_end(m);
	manager_notify_status(m);
	return 0;
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
	r = name_table_get(&m->running, name);
	if (!r || !r->run)
		return manager_error_set(error, MANAGER_ERROR_NOT_RUNNING,
				    "no program named \"%s\" is running", QUOTE(name, QUOTE_CHARS_MAX));
	(void)engine_stop(m->engine, r->run, RUN_STOPPED, engine_now(m->engine));
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
	for (size_t i = 0; i < m->running.n; i++) {
		Running *r = m->running.entries[i].value;

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

Definition *definition_ref(Definition *d)
{
	d->n_ref++;
	return d;
}

Definition *definition_unref(Definition *d)
{
	if (!d || --d->n_ref > 0)
		return NULL;
	free(d->name);
	free(d->canonical);
	program_unref(d->program);
	free(d);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Definition *, definition_unref);

typedef struct CandidateLookup {
	Manager *manager;
	const Definition *candidate;
} CandidateLookup;

/* The definitions as they would be with the candidate in: to find a cycle it would close. */
static Program *lookup_with_candidate(const char *name, void *userdata)
{
	CandidateLookup *l = userdata;

	if (streq(name, l->candidate->name))
		return l->candidate->program;
	return lookup_definition(name, l->manager);
}

static int definition_add(Manager *m, const char *name, Program *p, bool persistent,
			  ManagerError *error)
{
	_cleanup_(definition_unrefp) Definition *d = NULL;
	ProgramError perr = {};
	CandidateLookup lookup;
	Definition *old;
	int k;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->n_ref = 1;
	d->name = strdup(name);
	d->canonical = program_format(p);
	d->program = program_ref(p);
	d->persistent = persistent;
	if (!d->name || !d->canonical)
		return -ENOMEM;

	lookup = (CandidateLookup){ m, d };
	k = engine_check_calls(p, lookup_with_candidate, &lookup, name, &perr);
	if (k == -ELOOP)
		return manager_error_set(error, MANAGER_ERROR_INVALID_PROGRAM, "%s: %s", perr.path,
				    perr.message);
	if (k < 0)
		return k;

	/* Runs bound what they call when they started: replacing it here changes none of them. */
	old = name_table_get(&m->definitions, name);
	if (old) {
		name_table_remove(&m->definitions, name);
		definition_unref(old);
	}
	k = name_table_put(&m->definitions, d->name, d);
	if (k < 0)
		return k;
	TAKE_PTR(d);
	return 0;
}

int manager_define(Manager *m, const char *name, const char *text, ManagerError *error)
{
	_cleanup_(program_unrefp) Program *p = NULL;
	int k;

	k = parse_named_program(m, "definition", name, text, &p, error);
	if (k < 0)
		return k;
	k = definition_add(m, name, p, true, error);
	if (k < 0)
		return k;
	manager_persist(m);
	return 0;
}

int manager_undefine(Manager *m, const char *name, ManagerError *error)
{
	Definition *d = name_table_remove(&m->definitions, name);

	if (!d)
		return manager_error_set(error, MANAGER_ERROR_NOT_DEFINED, "no definition named \"%s\"",
				    QUOTE(name, QUOTE_CHARS_MAX));
	if (d->persistent) {
		definition_unref(d);
		manager_persist(m);
	} else
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

	m->spin = m->config->precision_spin;
	precision_init(&m->precision);

	r = engine_new(&m->engine, m->config->layout, &engine_ops, m);
	if (r < 0)
		return log_oom();
	(void)engine_set_pwm_hz(m->engine, m->config->pwm_hz); /* checked by the config */

	if (opts->trace_path) {
		r = trace_open(&m->trace, opts->trace_path, m->config->layout);
		if (r < 0)
			return r;
	}

	r = sd_event_new(&m->event);
	if (r < 0)
		return log_error_errno(r, "Failed to allocate the event loop: %m");

	r = chips_new(&m->chips, m->event, m->config->layout, m->config, streq(chip, "sim"),
		      &chips_ops, m);
	if (r < 0)
		return log_oom();
	r = chips_start(m->chips);
	if (r < 0)
		return r; /* logged, naming the chip, the line and the cause */
	m->chips_started = true;

	/* After the chips: programs may name lines as the chips name them. */
	r = load_config_programs(m);
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

/* Definitions first (over the config's of the same name), then programs in the phase they have now. */
static int manager_resume(Manager *m)
{
	StoreContent c = {};
	usec_t now_realtime = manager_now_realtime(m);
	size_t n_resumed = 0, n_dropped = 0;
	int r;

	if (!m->state_dir)
		return 0;
	r = store_load(m->state_dir, &c);
	if (r < 0)
		return log_error_errno(r, "Failed to load the state in %s: %m", m->state_dir);

	for (size_t i = 0; i < c.n_definitions; i++) {
		_cleanup_(program_unrefp) Program *p = NULL;
		ManagerError error = {};
		ProgramError perr = {};

		r = program_name_is_valid(c.definitions[i].name)
			    ? program_parse(c.definitions[i].program, m->config->layout, 0, &p, &perr)
			    : -EINVAL;
		if (r >= 0)
			r = definition_add(m, c.definitions[i].name, p, true, &error);
		if (r < 0)
			log_warning("Stored definition \"%s\" no longer fits (%s), dropped.",
				    QUOTE(c.definitions[i].name, QUOTE_CHARS_MAX),
				    r == -EINVAL ? (error.kind ? error.message : perr.message)
						 : strerror(-r));
	}
	m->resuming = true; /* one write at the end, not one per program */
	for (size_t i = 0; i < c.n_programs; i++) {
		const StoredProgram *s = &c.programs[i];
		_cleanup_(program_unrefp) Program *p = NULL;
		ManagerError error = {};
		usec_t d;

		r = parse_named_program(m, "program", s->name, s->program, &p, &error);
		if (r < 0) {
			log_warning("Stored program \"%s\" cannot resume (%s), dropped.",
				    QUOTE(s->name, QUOTE_CHARS_MAX),
				    error.kind ? error.message : strerror(-r));
			n_dropped++;
			continue;
		}
		/* A finite program whose end has passed is dropped, not started to end at once. */
		d = engine_program_duration(p, lookup_definition, m);
		if (s->timeout > 0 && s->timeout < d)
			d = s->timeout;
		if (d != USEC_INFINITY && s->started + d <= now_realtime) {
			log_debug("Stored program %s ended while the daemon was away.", s->name);
			n_dropped++;
			continue;
		}
		/* Later than now is a start "at" that has not come; resumed as scheduled. */
		r = start_parsed(m, s->name, p,
				 &(ManagerStartOptions){
					 .priority = s->priority,
					 .persist = true,
					 .timeout = s->timeout,
					 .resume_from = s->started ? s->started : now_realtime,
				 },
				 &error);
		if (r < 0) {
			log_warning("Stored program \"%s\" cannot resume (%s), dropped.",
				    QUOTE(s->name, QUOTE_CHARS_MAX),
				    error.kind ? error.message : strerror(-r));
			n_dropped++;
			continue;
		}
		n_resumed++;
	}
	m->resuming = false;
	store_content_done(&c);
	if (n_dropped > 0)
		manager_persist(m);
	if (n_resumed + n_dropped > 0)
		log_info("Resumed %zu stored program%s in phase, dropped %zu.", n_resumed,
			 n_resumed == 1 ? "" : "s", n_dropped);
	return 0;
}

int manager_startup(Manager *m)
{
	int r;

	r = manager_resume(m);
	if (r < 0)
		return r;

	if (m->config->autostart) {
		json_object_object_foreach(m->config->autostart, name, val)
		{
			ManagerError error = {};
			const char *text = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);

			/* A program of that name resumed from the store goes on as it was. */
			if (name_table_get(&m->running, name)) {
				log_info("Autostart program %s runs already, resumed.", name);
				continue;
			}
			r = manager_start_program(m, name, text, false, &error);
			if (r < 0 && error.kind != MANAGER_ERROR_NONE)
				return log_error_errno(r, "%s: $.autostart.%s: %s", m->config->path,
						       name, error.message);
			if (r < 0)
				return log_error_errno(r, "%s: $.autostart.%s: %m", m->config->path,
						       name);
		}
	}

	(void)sd_notifyf(false, "READY=1\nSTATUS=%zu program%s running", m->running.n,
			 m->running.n == 1 ? "" : "s");
	log_info("Ready: %zu line%s on %zu chip%s (%zu absent), %zu definition%s.",
		 m->config->layout->n_lines, m->config->layout->n_lines == 1 ? "" : "s",
		 chips_count(m->chips), chips_count(m->chips) == 1 ? "" : "s",
		 chips_n_absent(m->chips), m->definitions.n, m->definitions.n == 1 ? "" : "s");
	return 0;
}

void manager_exit(Manager *m, int error)
{
	if (m->exit_error == 0)
		m->exit_error = error;
	(void)sd_event_exit(m->event, 0);
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
	m->exiting = true;

	/* Every program ends "stopped"; every line goes to its exit state, in one last batch. */
	manager_begin(m);
	manager_stop_all(m, RUN_STOPPED);
	k = engine_advance(m->engine, engine_now(m->engine));
	if (k < 0 && k != -ESHUTDOWN && r == 0)
		r = k;
	manager_exit_lines(m);
	manager_report_ended(m);
	return r;
}

Manager *manager_free(Manager *m)
{
	if (!m)
		return NULL;
	if (m->engine) {
		/* Without a bus by now: nobody is told, but nothing is left behind. */
		m->exiting = true;
		manager_set_bus(m, NULL, NULL);
		manager_stop_all(m, RUN_STOPPED);
		(void)engine_advance(m->engine, engine_now(m->engine));
		manager_report_ended(m);
	}
	engine_free(m->engine);
	for (size_t i = 0; i < m->definitions.n; i++)
		definition_unref(m->definitions.entries[i].value);
	name_table_done(&m->definitions);
	name_table_done(&m->running);
	m->n_pins = 0;
	manager_bury(m);
	sd_event_source_unref(m->timer);
	sd_event_source_unref(m->frame_timer);
	sd_event_source_unref(m->report_source);
	sd_event_source_unref(m->clock_set_source);
	sd_event_unref(m->event);
	manager_exit_lines(m); /* each line to its exit state, the lines released */
	chips_free(m->chips);
	trace_close(m->trace);
	config_free(m->config);
	free(m->state_dir);
	free(m);
	return NULL;
}
