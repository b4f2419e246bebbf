/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-daemon.h>

#include "bus-names.h"
#include "log.h"
#include "manager.h"

/* Frames go out at most this often: 50 per second. */
#define FRAME_INTERVAL (20 * USEC_PER_MSEC)
/* While the chip is lost, try it again this often. */
#define CHIP_RETRY_INTERVAL USEC_PER_SEC

static usec_t clock_usec(clockid_t id)
{
	struct timespec ts;

	(void)clock_gettime(id, &ts); /* cannot fail for these clocks */
	return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / NSEC_PER_USEC;
}

usec_t manager_now(void)
{
	return clock_usec(CLOCK_MONOTONIC);
}

static void manager_notify_status(Manager *m)
{
	size_t n = m->running.n;

	if (!getenv("NOTIFY_SOCKET"))
		return;
	(void)sd_notifyf(false, "STATUS=%s%zu program%s running", m->chip_lost ? "GPIO chip lost; " : "",
			 n, n == 1 ? "" : "s");
}

/* ----------------------------------------------------------------- trace */

/* Writes @v in decimal at @p; returns the end. */
static char *format_decimal(char *p, uint64_t v)
{
	char digits[20];
	size_t n = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n > 0)
		*p++ = digits[--n];
	return p;
}

/*
 * One line per change, "<CLOCK_MONOTONIC ns> <offset> <0|1>", the time the
 * same for the whole batch. Formatted by hand, the time once per batch:
 * with 1000 lines a batch, sprintf() was 40% of the daemon's CPU.
 */
static void trace_batch(Manager *m, size_t n, const unsigned *offsets, const uint8_t *values)
{
	struct timespec ts;
	char stamp[24], *end_stamp, *p;
	size_t len, n_stamp;
	ssize_t k;

	if (m->trace_fd < 0)
		return;
	/* The moment the batch went to the backend, the same for every line in it. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	end_stamp = format_decimal(stamp, (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
	*end_stamp++ = ' ';
	n_stamp = (size_t)(end_stamp - stamp);
	p = m->trace_buf;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, stamp, n_stamp);
		p = format_decimal(p + n_stamp, offsets[i]);
		*p++ = ' ';
		*p++ = values[i] ? '1' : '0';
		*p++ = '\n';
	}
	len = (size_t)(p - m->trace_buf);

	k = write(m->trace_fd, m->trace_buf, len);
	if (k > 0 && (size_t)k < len) {
		struct stat st;

		/*
		 * A full disk took part of the batch: cut the fragment off
		 * again (the file is O_APPEND and ours alone, so it is the last
		 * k bytes), so the trace stays whole lines when writing works
		 * again.
		 */
		if (fstat(m->trace_fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= k)
			(void)ftruncate(m->trace_fd, st.st_size - k);
	}
	if (k < 0 || (size_t)k != len) {
		if (!m->trace_broken)
			(void)log_warning_errno(k < 0 ? errno : ENOSPC,
						"Failed to write the trace: %m; trace lines are "
						"dropped until writing works again");
		m->trace_broken = true;
	} else if (m->trace_broken) {
		log_notice("Writing the trace works again.");
		m->trace_broken = false;
	}
}

/* ---------------------------------------------------------------- frames */

static void manager_frame(Manager *m, usec_t now)
{
	if (!m->frame_dirty || !m->subscribers || sd_bus_track_count(m->subscribers) == 0)
		return;
	if (now < m->last_frame + FRAME_INTERVAL) {
		/* Rate limited: the timer sends the state as it is then, the last of a burst. */
		(void)sd_event_source_set_time(m->frame_timer, m->last_frame + FRAME_INTERVAL);
		(void)sd_event_source_set_enabled(m->frame_timer, SD_EVENT_ONESHOT);
		return;
	}
	m->frame_dirty = false;
	m->last_frame = now;
	(void)bus_emit_frame(m, now);
}

static int on_frame_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Manager *m = userdata;

	manager_frame(m, manager_now());
	return 0;
}

void manager_subscribers_changed(Manager *m)
{
	/*
	 * Frames report changes; a new subscriber reads Lit for the state now.
	 * Changes made while nobody listened are not news to anyone.
	 */
	m->frame_dirty = false;
}

/* ---------------------------------------------------------- engine glue */

static int engine_commit_cb(void *userdata, usec_t now, size_t n, const unsigned *offsets,
			    const uint8_t *values)
{
	Manager *m = userdata;
	int r;

	r = gpio_set(m->gpio, n, offsets, values);
	if (r < 0)
		return r;
	trace_batch(m, n, offsets, values);
	m->n_batches++;
	m->n_line_changes += n;
	m->frame_dirty = true;
	return 0;
}

static void running_free(Running *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->path);
	free(r->canonical);
	free(r->lines);
	free(r);
}

static void engine_finished_cb(void *userdata, EngineRun *run, RunResult result)
{
	Manager *m = userdata;
	Running *r = engine_run_get_userdata(run);

	/* Not yet listed (a Replace that failed half way): nothing was announced. */
	if (name_table_get(&m->running, r->name) != r) {
		running_free(r);
		return;
	}
	log_debug("Program %s ended: %s.", r->name, run_result_to_string(result));
	(void)bus_emit_program_removed(m, r);
	name_table_remove(&m->running, r->name);
	(void)bus_emit_finished(m, r->name, result);
	running_free(r);
	manager_notify_status(m);
}

static void manager_stop_all(Manager *m, RunResult result);

static const EngineOps engine_ops = {
	.commit = engine_commit_cb,
	.finished = engine_finished_cb,
};

static void manager_arm_timer(Manager *m)
{
	usec_t next = engine_next_deadline(m->engine);

	if (m->chip_lost) {
		usec_t retry = manager_now() + CHIP_RETRY_INTERVAL;
		if (retry < next)
			next = retry;
	}
	if (next == USEC_INFINITY) {
		(void)sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
		return;
	}
	(void)sd_event_source_set_time(m->timer, next);
	(void)sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
}

/* Bring the timeline to now, write the batch, and arm the timer for what comes next. */
static void manager_advance(Manager *m)
{
	usec_t now = manager_now();
	int r;

	r = engine_advance(m->engine, now);
	if (r < 0 && !m->chip_lost) {
		m->chip_lost = true;
		(void)log_error_errno(r, "Failed to set lines on GPIO chip %s: %m; every program "
					 "ends as failed, retrying the chip every second",
				      m->gpio->chip);
		manager_stop_all(m, RUN_FAILED);
		manager_notify_status(m);
	} else if (r >= 0 && m->chip_lost) {
		m->chip_lost = false;
		log_notice("GPIO chip %s works again.", m->gpio->chip);
		manager_notify_status(m);
	}
	manager_frame(m, now);
	manager_arm_timer(m);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Manager *m = userdata;

	m->n_wakeups++;
	if (m->chip_lost)
		engine_resync(m->engine);
	manager_advance(m);
	return 0;
}

/* ------------------------------------------------------------- programs */

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

static int compare_offsets(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

static int running_new(Manager *m, const char *name, Program *p, Running **ret)
{
	LineCollector c = {};
	Running *r;
	int k;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->manager = m;
	r->name = strdup(name);
	r->canonical = program_format(p);
	k = sd_bus_path_encode(BLINKD_PROGRAM_PATH_PREFIX, name, &r->path);
	if (!r->name || !r->canonical || k < 0) {
		running_free(r);
		return -ENOMEM;
	}

	collect_lines(m, p, &c);
	name_table_done(&c.seen_defs);
	if (c.error < 0) {
		free(c.offsets);
		running_free(r);
		return c.error;
	}
	if (c.n > 0)
		qsort(c.offsets, c.n, sizeof(unsigned), compare_offsets);
	for (size_t i = 0; i < c.n; i++)
		if (r->n_lines == 0 || c.offsets[r->n_lines - 1] != c.offsets[i])
			c.offsets[r->n_lines++] = c.offsets[i];
	r->lines = c.offsets;
	r->started_realtime = clock_usec(CLOCK_REALTIME);
	*ret = r;
	return 0;
}

/* Check a name and parse a program sent over the bus; @what is "program" or "definition". */
static int parse_named_program(Manager *m, const char *what, const char *name, const char *text,
			       Program **ret, char *detail, size_t detail_size)
{
	ProgramError error = {};
	int k;

	if (!program_name_is_valid(name)) {
		snprintf(detail, detail_size, "\"%.80s\" is not a valid %s name: names are 1 to 64 "
					      "of A-Z a-z 0-9 _ . -",
			 name, what);
		return -EBADR;
	}
	k = program_parse(text, m->config->layout, 0, ret, &error);
	if (k == -EINVAL)
		program_error_format(&error, detail, detail_size);
	return k;
}

int manager_start_program(Manager *m, const char *name, const char *text, bool replace,
			  Running **ret, char *detail, size_t detail_size)
{
	_cleanup_(program_unrefp) Program *p = NULL;
	ProgramError error = {};
	Running *old, *r = NULL;
	int k;

	k = parse_named_program(m, "program", name, text, &p, detail, detail_size);
	if (k < 0)
		return k;

	/* Apply what fell due first: a program that just ended frees its name. */
	(void)engine_advance(m->engine, manager_now());

	old = name_table_get(&m->running, name);
	if (old && !replace) {
		snprintf(detail, detail_size, "a program named \"%s\" is running; stop it or use "
					      "Replace",
			 name);
		return -EEXIST;
	}
	if (!old && m->running.n >= m->config->max_programs) {
		snprintf(detail, detail_size, "%u programs are running, the most there may be",
			 m->config->max_programs);
		return -E2BIG;
	}

	k = running_new(m, name, p, &r);
	if (k < 0)
		return k;
	/* The new one first, then the old one goes: one instant, one batch, no dark gap. */
	k = engine_start(m->engine, p, lookup_definition, m, manager_now(), r, &r->run, &error);
	if (k < 0) {
		running_free(r);
		if (k == -ENOENT)
			snprintf(detail, detail_size, "%s", error.message);
		else if (k == -ELOOP)
			program_error_format(&error, detail, detail_size);
		return k == -ELOOP ? -EINVAL : k;
	}
	if (old)
		(void)engine_stop(m->engine, old->run, RUN_REPLACED, engine_now(m->engine));

	k = name_table_put(&m->running, r->name, r);
	if (k < 0) {
		/* Out of memory: take the new one back; the engine frees it through the callback. */
		(void)engine_stop(m->engine, r->run, RUN_FAILED, engine_now(m->engine));
		manager_advance(m);
		return k;
	}
	/* The first edge goes out first; announcing the object can wait that long. */
	manager_advance(m);
	(void)bus_emit_program_added(m, r);
	manager_notify_status(m);
	log_debug("Program %s started: %s", r->name, r->canonical);
	if (ret)
		*ret = r;
	return 0;
}

int manager_stop_program(Manager *m, const char *name)
{
	Running *r;

	(void)engine_advance(m->engine, manager_now());
	r = name_table_get(&m->running, name);
	if (!r)
		return -ESRCH;
	(void)engine_stop(m->engine, r->run, RUN_STOPPED, manager_now());
	manager_advance(m);
	return 0;
}

static void manager_stop_all(Manager *m, RunResult result)
{
	usec_t now = engine_now(m->engine);

	/*
	 * From the end: each stop removes its own entry, which moves only the
	 * entries behind it. A run that ended by itself and awaits its "done"
	 * report refuses the stop and keeps its entry until then.
	 */
	for (size_t i = m->running.n; i > 0; i--) {
		Running *r = m->running.entries[i - 1].value;
		(void)engine_stop(m->engine, r->run, result, now);
	}
}

void manager_stop_all_programs(Manager *m)
{
	(void)engine_advance(m->engine, manager_now());
	manager_stop_all(m, RUN_STOPPED);
	manager_advance(m);
}

/* ---------------------------------------------------------- definitions */

static void definition_free(Definition *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->canonical);
	program_unref(d->program);
	free(d);
}

/* Refuses a definition that would close a call cycle; undefined names are fine here. */
static Program *lookup_with(const char *name, void *userdata)
{
	void **ctx = userdata;
	Manager *m = ctx[0];
	Definition *candidate = ctx[1];

	if (streq(name, candidate->name))
		return candidate->program;
	return lookup_definition(name, m);
}

static int definition_add(Manager *m, const char *name, Program *p, bool from_config,
			  char *detail, size_t detail_size)
{
	Definition *d, *old;
	ProgramError error = {};
	void *ctx[2];
	int k;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->name = strdup(name);
	d->canonical = program_format(p);
	d->program = program_ref(p);
	d->from_config = from_config;
	if (!d->name || !d->canonical) {
		definition_free(d);
		return -ENOMEM;
	}

	ctx[0] = m;
	ctx[1] = d;
	k = engine_check_calls(p, lookup_with, ctx, name, &error);
	if (k == -ELOOP) {
		program_error_format(&error, detail, detail_size);
		definition_free(d);
		return -EINVAL;
	}

	old = name_table_remove(&m->definitions, name);
	definition_free(old);
	k = name_table_put(&m->definitions, d->name, d);
	if (k < 0) {
		definition_free(d);
		return k;
	}
	return 0;
}

int manager_define(Manager *m, const char *name, const char *text, char *detail,
		   size_t detail_size)
{
	_cleanup_(program_unrefp) Program *p = NULL;
	int k;

	k = parse_named_program(m, "definition", name, text, &p, detail, detail_size);
	if (k < 0)
		return k;
	return definition_add(m, name, p, false, detail, detail_size);
}

int manager_undefine(Manager *m, const char *name)
{
	Definition *d = name_table_remove(&m->definitions, name);

	if (!d)
		return -ENOENT;
	definition_free(d);
	return 0;
}

/* ------------------------------------------------------------ lifecycle */

static int load_config_programs(Manager *m)
{
	Config *c = m->config;
	char detail[1200];
	int k;

	if (!c->definitions)
		return 0;
	json_object_object_foreach(c->definitions, name, val)
	{
		_cleanup_(program_unrefp) Program *p = NULL;
		ProgramError error = {};
		char path[128];

		snprintf(path, sizeof(path), "$.definitions.%s", name);
		k = program_parse_json(val, path, c->layout, 0, &p, &error);
		if (k == -EINVAL)
			return log_error_errno(k, "%s: %s: %s", c->path, error.path, error.message);
		if (k < 0)
			return log_oom();
		k = definition_add(m, name, p, true, detail, sizeof(detail));
		if (k == -EINVAL)
			return log_error_errno(k, "%s: %s: %s", c->path, path, detail);
		if (k < 0)
			return log_oom();
	}
	return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	Manager *m = userdata;

	log_info("Received %s, turning every line off and exiting.", strsignal((int)si->ssi_signo));
	m->exiting = true;
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* Sim chip only: SIGUSR1 makes the chip vanish, SIGUSR2 brings it back (fault injection). */
static int on_sim_fault(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	Manager *m = userdata;
	bool present = si->ssi_signo == SIGUSR2;

	if (!gpio_is_sim(m->gpio))
		return 0;
	log_notice("Simulated chip %s.", present ? "returns" : "vanishes");
	(void)gpio_sim_set_present(m->gpio, present);
	/* Write the whole state now, so a lost chip is noticed even when no edge is due. */
	engine_resync(m->engine);
	manager_advance(m);
	return 0;
}

int manager_new(Manager **ret, const ManagerOptions *opts)
{
	_cleanup_(manager_freep) Manager *m = NULL;
	const char *chip, *accuracy;
	sigset_t mask;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return log_oom();
	m->trace_fd = -1;

	r = config_load(&m->config, opts->config_path, opts->config_must_exist);
	if (r < 0)
		return r;
	chip = opts->chip ? opts->chip : m->config->chip;

	if (streq(chip, "sim"))
		r = gpio_open_sim(&m->gpio, m->config->layout);
	else
		r = gpio_open_gpiod(&m->gpio, chip, m->config->consumer, m->config->layout);
	if (r < 0)
		return r; /* logged, naming the chip, the lines and the cause */

	r = load_config_programs(m);
	if (r < 0)
		return r;

	r = engine_new(&m->engine, m->config->layout, &engine_ops, m);
	if (r < 0)
		return log_oom();

	if (opts->trace_path) {
		m->trace_fd = open(opts->trace_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (m->trace_fd < 0)
			return log_error_errno(errno, "Failed to open trace file %s: %m",
					       opts->trace_path);
		m->trace_buf = malloc(m->config->layout->n_lines * 48 + 64);
		if (!m->trace_buf)
			return log_oom();
	}

	r = sd_event_default(&m->event);
	if (r < 0)
		return log_error_errno(r, "Failed to allocate the event loop: %m");

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

	/*
	 * Accuracy 1us: sd-event would otherwise coalesce wakeups within 250ms,
	 * which would ruin every edge. BLINKD_TIMER_ACCURACY_USEC exists for the
	 * benchmark to measure that choice.
	 */
	accuracy = getenv("BLINKD_TIMER_ACCURACY_USEC");
	r = sd_event_add_time(m->event, &m->timer, CLOCK_MONOTONIC, 0,
			      accuracy ? strtoull(accuracy, NULL, 10) : 1, on_timer, m);
	if (r < 0)
		return log_error_errno(r, "Failed to add the engine timer: %m");
	(void)sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
	(void)sd_event_source_set_description(m->timer, "engine");
	r = sd_event_add_time(m->event, &m->frame_timer, CLOCK_MONOTONIC, 0, 1, on_frame_timer, m);
	if (r < 0)
		return log_error_errno(r, "Failed to add the frame timer: %m");
	(void)sd_event_source_set_enabled(m->frame_timer, SD_EVENT_OFF);

	r = sd_event_set_watchdog(m->event, true);
	if (r < 0)
		(void)log_warning_errno(r, "Failed to enable the watchdog: %m");

	*ret = TAKE_PTR(m);
	return 0;
}

int manager_startup(Manager *m, bool user_bus)
{
	int r;

	r = user_bus ? sd_bus_open_user(&m->bus) : sd_bus_open_system(&m->bus);
	if (r < 0)
		return log_error_errno(r, "Failed to connect to the %s bus: %m",
				       user_bus ? "session" : "system");
	r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
	if (r < 0)
		return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

	r = bus_manager_register(m);
	if (r < 0)
		return r;
	r = bus_program_register(m);
	if (r < 0)
		return r;

	r = sd_bus_request_name(m->bus, BLINKD_BUS_NAME, 0);
	if (r < 0)
		return log_error_errno(r, "Failed to take the bus name %s: %m", BLINKD_BUS_NAME);

	if (m->config->autostart) {
		json_object_object_foreach(m->config->autostart, name, val)
		{
			char detail[1200];
			const char *text = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);

			r = manager_start_program(m, name, text, false, NULL, detail, sizeof(detail));
			if (r < 0)
				return log_error_errno(r, "%s: $.autostart.%s: %s", m->config->path,
						       name, r == -ENOMEM ? "out of memory" : detail);
		}
	}

	(void)sd_notifyf(false, "READY=1\nSTATUS=%zu program%s running", m->running.n,
			 m->running.n == 1 ? "" : "s");
	log_info("Ready: %zu lines on %s, %zu definitions.", m->config->layout->n_lines,
		 m->gpio->chip, m->definitions.n);
	return 0;
}

int manager_run(Manager *m)
{
	int r;

	r = sd_event_loop(m->event);
	(void)sd_notify(false, "STOPPING=1\nSTATUS=Turning every line off");
	/* Every lit line goes dark, in one last batch. */
	manager_stop_all(m, RUN_STOPPED);
	r = engine_advance(m->engine, manager_now());
	if (r < 0)
		(void)log_error_errno(r, "Failed to turn the lines off: %m");
	if (m->bus)
		(void)sd_bus_flush(m->bus);
	return r;
}

Manager *manager_free(Manager *m)
{
	if (!m)
		return NULL;
	if (m->engine)
		manager_stop_all(m, RUN_STOPPED);
	engine_free(m->engine);
	for (size_t i = 0; i < m->definitions.n; i++)
		definition_free(m->definitions.entries[i].value);
	name_table_done(&m->definitions);
	name_table_done(&m->running);
	sd_bus_track_unref(m->subscribers);
	sd_bus_slot_unref(m->manager_slot);
	sd_bus_slot_unref(m->program_slot);
	sd_bus_slot_unref(m->enumerator_slot);
	sd_bus_slot_unref(m->object_manager_slot);
	sd_bus_flush_close_unref(m->bus);
	sd_event_source_unref(m->timer);
	sd_event_source_unref(m->frame_timer);
	sd_event_unref(m->event);
	gpio_close(m->gpio); /* every line to 0, the request released */
	if (m->trace_fd >= 0)
		close(m->trace_fd);
	free(m->trace_buf);
	config_free(m->config);
	free(m);
	return NULL;
}
