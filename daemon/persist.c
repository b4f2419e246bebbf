/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "persist.h"
#include "store-writer.h"

struct Persist {
	sd_event *event;	/* borrowed */
	Registry *registry;	/* borrowed */
	char *state_dir;
	const PersistOps *ops;
	void *userdata;

	StoreWriter *store_writer;
	sd_event_source *persist_source;
	sd_event_source *persist_exit_source; /* the last writes, while the bus can still answer */
	bool resuming;			/* starting what the store kept: it is written once, after */
	bool store_dirty;		/* the store lags what runs and is defined */
	PersistChange *persist_waiting, *persist_in_flight;
	PersistChange *persist_call;	/* made by the call in progress: persist_when_durable() */
};

typedef enum PersistChangeKind {
	PERSIST_START,
	PERSIST_DEFINE,
	PERSIST_UNDEFINE,
} PersistChangeKind;

/*
 * A persistent change and how to undo it. Owned by the list it is in
 * (p->persist_waiting, then p->persist_in_flight); it holds a reference
 * on each Definition it names.
 */
struct PersistChange {
	PersistChangeKind kind;
	Running *running;	/* PERSIST_START: the program, while it is listed */
	char *name;
	Definition *added;	/* PERSIST_DEFINE: the new definition */
	Definition *previous;	/* PERSIST_DEFINE: the one it replaced; PERSIST_UNDEFINE: the one removed */
	PersistDurableFn done;
	void *userdata;
	PersistChange *next;
};

/* The flush is bounded on the real clock: the loop is over, nothing else moves a virtual one. */
static usec_t clock_monotonic(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail for this clock */
	return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / NSEC_PER_USEC;
}

static void persist_change_free(PersistChange *c)
{
	if (c->running)
		c->running->persist_change = NULL;
	definition_unref(c->added);
	definition_unref(c->previous);
	free(c->name);
	free(c);
}

/* Take back a change its write could not hold, so what runs is what the store has. */
static void persist_change_undo(Persist *p, PersistChange *c)
{
	Definition *now = registry_get_definition(p->registry, c->name);

	switch (c->kind) {
	case PERSIST_START:
		if (c->running && c->running->run) {
			/* Out of the store already: its end is not a change to write. */
			c->running->persistent = false;
			/* And a program it replaces at a later instant, which runs on until then. */
			p->ops->undo_start(p->userdata, c->running);
		}
		break;
	case PERSIST_DEFINE:
		/* Only while it is still the definition of that name: a later change stands. */
		if (now != c->added)
			break;
		registry_remove_definition(p->registry, c->name);
		definition_unref(now);
		if (c->previous && registry_put_definition(p->registry, c->previous) >= 0)
			c->previous = NULL;
		break;
	case PERSIST_UNDEFINE:
		if (!now && registry_put_definition(p->registry, c->previous) >= 0)
			c->previous = NULL;
		break;
	}
}

/*
 * A change the store must hold from now on: the next write takes it. The
 * new PersistChange (NULL when none is needed, or out of memory: the change
 * is then written, but nobody waits for it) is the call's, for
 * persist_when_durable().
 */
static PersistChange *persist_change(Persist *p, PersistChangeKind kind, const char *name)
{
	PersistChange *c, **tail;

	if (!p || p->resuming)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->name = strdup(name))) {
		free(c);
		(void)log_oom();
		return NULL;
	}
	c->kind = kind;
	for (tail = &p->persist_waiting; *tail; tail = &(*tail)->next)
		;
	*tail = c;
	p->persist_call = c;
	return c;
}

void persist_start(Persist *p, Running *r)
{
	PersistChange *c = persist_change(p, PERSIST_START, r->name);

	if (c) {
		c->running = r;
		r->persist_change = c;
	}
}

void persist_define(Persist *p, const char *name, Definition *added, Definition *previous)
{
	PersistChange *c = persist_change(p, PERSIST_DEFINE, name);

	if (c) {
		c->added = definition_ref(added);
		c->previous = previous ? definition_ref(previous) : NULL;
	}
}

void persist_undefine(Persist *p, Definition *removed)
{
	PersistChange *c = persist_change(p, PERSIST_UNDEFINE, removed->name);

	if (c)
		c->previous = definition_ref(removed); /* to be put back if the store cannot lose it */
}

void persist_running_gone(Running *r)
{
	if (r->persist_change)
		r->persist_change->running = NULL;
}

void persist_call_begin(Persist *p)
{
	if (p)
		p->persist_call = NULL;
}

void persist_set_resuming(Persist *p, bool resuming)
{
	if (p)
		p->resuming = resuming;
}

/*
 * What must survive a restart changed: the persistent programs that run,
 * or the definitions made over the bus. The write happens off the loop,
 * after the call (persist_source).
 */
void persist_mark_dirty(Persist *p)
{
	if (!p || p->resuming)
		return;
	p->store_dirty = true;
	if (p->persist_source)
		(void)sd_event_source_set_enabled(p->persist_source, SD_EVENT_ONESHOT);
}

/* Copy @text to *@pool, moving it on; returns the copy. */
static char *pool_copy(char **pool, const char *text, size_t len)
{
	char *copy = memcpy(*pool, text, len + 1);

	*pool += len + 1;
	return copy;
}

/*
 * A snapshot of what the store must hold, a copy of every string: the
 * writer's thread formats it while the loop goes on. One allocation holds
 * it all (the arrays, then the strings), freed with free(): at 500
 * programs a malloc() per string was most of what the loop spent here.
 */
static int persist_snapshot(const Registry *reg, StoreContent **ret)
{
	size_t n_programs = 0, n_definitions = 0, size = sizeof(StoreContent);
	StoreContent *c;
	char *pool;

	for (size_t i = 0; i < reg->running.n; i++) {
		const Running *r = reg->running.entries[i].value;

		if (r->persistent && r->run) {
			n_programs++;
			size += strlen(r->name) + strlen(r->canonical) + 2;
		}
	}
	for (size_t i = 0; i < reg->definitions.n; i++) {
		const Definition *d = reg->definitions.entries[i].value;

		if (d->persistent) {
			n_definitions++;
			size += strlen(d->name) + strlen(d->canonical) + 2;
		}
	}
	size += n_programs * sizeof(StoredProgram) + n_definitions * sizeof(StoredDefinition);
	c = malloc(size);
	if (!c)
		return -ENOMEM;
	*c = (StoreContent){
		.programs = (StoredProgram *)(c + 1),
		.definitions = (StoredDefinition *)((StoredProgram *)(c + 1) + n_programs),
	};
	pool = (char *)(c->definitions + n_definitions);
	for (size_t i = 0; i < reg->running.n; i++) {
		const Running *r = reg->running.entries[i].value;

		if (!r->persistent || !r->run)
			continue;
		c->programs[c->n_programs++] = (StoredProgram){
			.name = pool_copy(&pool, r->name, strlen(r->name)),
			.program = pool_copy(&pool, r->canonical, strlen(r->canonical)),
			.priority = r->priority,
			.timeout = r->timeout,
			.started = r->started_realtime,
		};
	}
	for (size_t i = 0; i < reg->definitions.n; i++) {
		const Definition *d = reg->definitions.entries[i].value;

		if (!d->persistent)
			continue;
		c->definitions[c->n_definitions].name = pool_copy(&pool, d->name, strlen(d->name));
		c->definitions[c->n_definitions++].program =
			pool_copy(&pool, d->canonical, strlen(d->canonical));
	}
	*ret = c;
	return 0;
}

static void on_store_written(void *userdata, int error, const char *step);

/* Hand the writer what changed, unless a write is in flight: its result brings us back. */
static void persist_kick(Persist *p)
{
	StoreContent *content = NULL;
	int r;

	if (!p->store_writer || !p->store_dirty || store_writer_busy(p->store_writer))
		return;
	r = persist_snapshot(p->registry, &content);
	if (r >= 0)
		r = store_writer_submit(p->store_writer, content);
	p->store_dirty = false;
	/* The changes made until now are in these bytes: they wait for this write. */
	p->persist_in_flight = p->persist_waiting;
	p->persist_waiting = NULL;
	/* Nothing went to the writer: whoever waits hears it now, as a failed write. */
	if (r < 0)
		on_store_written(p, r, "prepare");
}

/*
 * The loop is ending: what changed is written, and the calls waiting for it
 * answered, before sd-bus's own exit source (at the bus's priority, after
 * this one) flushes and closes the connection.
 */
static int on_exit_persist(sd_event_source *s, void *userdata)
{
	(void)persist_flush(userdata, PERSIST_EXIT_TIMEOUT);
	return 0;
}

static int on_persist(sd_event_source *s, void *userdata)
{
	persist_kick(userdata);
	return 0;
}

/* The writer's result for the changes in flight: answer each; undo each it could not hold. */
static void on_store_written(void *userdata, int error, const char *step)
{
	Persist *p = userdata;
	PersistChange *changes = p->persist_in_flight;
	ManagerError e = {};
	bool undo;

	p->persist_in_flight = NULL;
	if (error < 0) {
		(void)log_error_errno(error, "Failed to write the state in %s (%s): %m", p->state_dir,
				      step);
		(void)manager_error_set(&e, MANAGER_ERROR_STATE_NOT_WRITABLE,
				   "the state cannot be written in %s (%s: %s); nothing changed",
				   p->state_dir, step, strerror(-error));
	}
	/* Undoing a start stops a run: at one instant, as every call. */
	undo = changes && error < 0;
	if (undo)
		p->ops->begin(p->userdata);
	while (changes) {
		PersistChange *c = changes;

		changes = c->next;
		if (error < 0)
			persist_change_undo(p, c);
		if (c->done)
			c->done(c->userdata, error, &e);
		persist_change_free(c);
	}
	if (undo)
		p->ops->end(p->userdata);
	persist_kick(p);
}

int persist_when_durable(Persist *p, PersistDurableFn done, void *userdata)
{
	PersistChange *c = p ? p->persist_call : NULL;

	if (!c)
		return 0;
	p->persist_call = NULL;
	c->done = done;
	c->userdata = userdata;
	return 1;
}

int persist_flush(Persist *p, usec_t timeout)
{
	usec_t deadline = clock_monotonic() + timeout, now;

	if (!p || !p->store_writer)
		return 0;
	persist_kick(p);
	while (store_writer_busy(p->store_writer)) {
		now = clock_monotonic();
		if (now >= deadline || store_writer_wait(p->store_writer, deadline - now) < 0) {
			log_warning("The state in %s was not written within %llu ms; exiting "
				    "without it.",
				    p->state_dir, (unsigned long long)(timeout / USEC_PER_MSEC));
			return -ETIMEDOUT;
		}
		/* Its result handed what changed meanwhile to the writer: wait for that too. */
	}
	return 0;
}

/* The changes that never heard from a write: the exit could not wait for it. */
static void persist_changes_cancel(PersistChange **list, const ManagerError *e)
{
	while (*list) {
		PersistChange *c = *list;

		*list = c->next;
		if (c->done)
			c->done(c->userdata, -ECANCELED, e);
		persist_change_free(c);
	}
}

int persist_new(Persist **ret, sd_event *event, const char *state_dir, Registry *registry,
		const PersistOps *ops, void *userdata)
{
	_cleanup_(persist_freep) Persist *p = NULL;
	int r;

	p = calloc(1, sizeof(*p));
	if (!p)
		return log_oom();
	p->event = event;
	p->registry = registry;
	p->ops = ops;
	p->userdata = userdata;
	p->state_dir = strdup(state_dir);
	if (!p->state_dir)
		return log_oom();

	r = store_writer_new(&p->store_writer, event, state_dir, on_store_written, p);
	if (r < 0)
		return log_error_errno(r, "Failed to start the state writer: %m");
	/*
	 * After the call that changed the state, at the bus's priority:
	 * the calls queued meanwhile change the same one write.
	 */
	r = sd_event_add_defer(event, &p->persist_source, on_persist, p);
	if (r < 0)
		return log_error_errno(r, "Failed to add the persist event: %m");
	(void)sd_event_source_set_enabled(p->persist_source, SD_EVENT_OFF);
	(void)sd_event_source_set_description(p->persist_source, "persist");
	r = sd_event_add_exit(event, &p->persist_exit_source, on_exit_persist, p);
	if (r < 0)
		return log_error_errno(r, "Failed to add the persist exit event: %m");
	(void)sd_event_source_set_priority(p->persist_exit_source, SD_EVENT_PRIORITY_IMPORTANT);
	*ret = TAKE_PTR(p);
	return 0;
}

Persist *persist_free(Persist *p)
{
	ManagerError e = {};

	if (!p)
		return NULL;
	p->store_writer = store_writer_free(p->store_writer, 0);
	(void)manager_error_set(&e, MANAGER_ERROR_STATE_NOT_WRITABLE,
			   "the daemon exited before the state was written in %s",
			   p->state_dir ? p->state_dir : "the state directory");
	persist_changes_cancel(&p->persist_in_flight, &e);
	persist_changes_cancel(&p->persist_waiting, &e);
	p->persist_exit_source = sd_event_source_disable_unref(p->persist_exit_source);
	p->persist_source = sd_event_source_disable_unref(p->persist_source);
	free(p->state_dir);
	free(p);
	return NULL;
}
