/* SPDX-License-Identifier: MIT */
/*
 * Persistence on its own, over a registry filled by hand and a fake owner:
 * what is written (the persistent programs still running and the
 * persistent definitions, nothing else), when (after the call, once
 * marked; not while resuming), who hears it (the call that made a change,
 * not one that made none), and the undo when the write fails: a Define's
 * previous definition put back, an Undefine's definition put back, a
 * Start stopped through the owner's ops inside one instant, unless its
 * program is gone already. Changes never written are cancelled at the end.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "persist.h"
#include "store.h"
#include "test.h"

static Layout *layout;
static char dir[64];

/* The fake owner: counts the instants and the starts undone. */
typedef struct Owner {
	unsigned n_begin, n_end, n_undo, depth;
	Running *undone;
} Owner;

static void owner_begin(void *userdata)
{
	Owner *o = userdata;

	o->n_begin++;
	o->depth++;
}

static void owner_end(void *userdata)
{
	Owner *o = userdata;

	o->n_end++;
	o->depth--;
}

static void owner_undo_start(void *userdata, Running *r)
{
	Owner *o = userdata;

	check_int(o->depth, 1); /* inside one instant */
	check(!r->persistent); /* already out of the store */
	o->n_undo++;
	o->undone = r;
	r->run = NULL; /* the engine would end it */
}

static const PersistOps owner_ops = {
	.begin = owner_begin,
	.end = owner_end,
	.undo_start = owner_undo_start,
};

/* What a caller waiting for its change heard. */
typedef struct Heard {
	unsigned n;
	int error;
	ManagerErrorKind kind;
} Heard;

static void on_durable(void *userdata, int error, const ManagerError *e)
{
	Heard *h = userdata;

	h->n++;
	h->error = error;
	h->kind = e ? e->kind : MANAGER_ERROR_NONE;
}

/* A stand-in for the engine's run: persistence only asks whether there is one. */
static int fake_run;

static Program *parse(const char *text)
{
	ProgramError err = {};
	Program *p = NULL;

	if (program_parse(text, layout, 0, &p, &err) < 0) {
		fprintf(stderr, "cannot parse %s: %s: %s\n", text, err.path, err.message);
		abort();
	}
	return p;
}

static Running *add_running(Registry *reg, const char *name, bool persistent, bool running)
{
	_cleanup_(program_unrefp) Program *p = parse("{\"on\":{\"lines\":[1]}}");
	Running *r = NULL;

	check_int(running_new(reg, name, p, &r), 0);
	r->persistent = persistent;
	r->priority = 5;
	r->started_realtime = 1000;
	r->run = running ? (EngineRun *)&fake_run : NULL;
	check_int(registry_list_running(reg, r), 0);
	return r;
}

static void define(Registry *reg, const char *name, const char *text, bool persistent)
{
	_cleanup_(program_unrefp) Program *p = parse(text);
	ProgramError err = {};

	check_int(registry_define(reg, name, p, persistent, true, &err), 0);
}

static void remove_running(Registry *reg, Running *r)
{
	persist_running_gone(r);
	registry_unlist_running(reg, r);
	running_free(r);
}

static void clear_registry(Registry *reg)
{
	while (reg->running.n > 0)
		remove_running(reg, reg->running.entries[0].value);
	registry_done(reg);
}

static char *path_of(const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static bool exists(const char *name)
{
	struct stat st;

	return lstat(path_of(name), &st) == 0;
}

/* Turn the loop until @h heard, bounded (the write is a thread's, it takes milliseconds). */
static void wait_heard(sd_event *event, const Heard *h, unsigned n)
{
	for (int i = 0; i < 1000 && h->n < n; i++)
		(void)sd_event_run(event, 10 * USEC_PER_MSEC);
	check_int(h->n, n);
}

static const StoredDefinition *stored_definition(const StoreContent *c, const char *name)
{
	for (size_t i = 0; i < c->n_definitions; i++)
		if (streq(c->definitions[i].name, name))
			return &c->definitions[i];
	return NULL;
}

/* What is written, and when. */
static void test_written_when(void)
{
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	Registry reg;
	Owner owner = {};
	Persist *p = NULL;
	Heard heard = {};
	StoreContent c = {};
	Running *kept;

	(void)unlink(path_of("state.json"));
	check_int(sd_event_new(&event), 0);
	registry_init(&reg, 100);
	check_int(persist_new(&p, event, dir, &reg, &owner_ops, &owner), 0);

	define(&reg, "d", "{\"wait\":\"1s\"}", true);
	define(&reg, "config", "{\"wait\":\"2s\"}", false);
	kept = add_running(&reg, "kept", true, true);
	(void)add_running(&reg, "plain", false, true);
	(void)add_running(&reg, "ended", true, false);

	/* Nothing marked, nothing written, however the loop turns. */
	for (int i = 0; i < 5; i++)
		(void)sd_event_run(event, 0);
	check(!exists("state.json"));

	/* A persistent start: written after the call, and its caller hears it. */
	persist_call_begin(p);
	persist_start(p, kept);
	check(kept->persist_change != NULL);
	persist_mark_dirty(p);
	check(!exists("state.json")); /* not inside the call */
	check_int(persist_when_durable(p, on_durable, &heard), 1);
	wait_heard(event, &heard, 1);
	check_int(heard.error, 0);
	check(kept->persist_change == NULL); /* the change is done with */
	check_int(store_load(dir, &c), 0);
	check_int(c.n_programs, 1);
	if (c.n_programs == 1) {
		check_str(c.programs[0].name, "kept");
		check_int(c.programs[0].priority, 5);
		check_int(c.programs[0].started, 1000);
	}
	check_int(c.n_definitions, 1);
	check(stored_definition(&c, "d") != NULL);
	store_content_done(&c);

	/* A call that changed nothing stored has nothing to wait for. */
	persist_call_begin(p);
	check_int(persist_when_durable(p, on_durable, &heard), 0);
	/* Nor has a second look after the first took the change. */
	persist_call_begin(p);
	persist_start(p, kept);
	check_int(persist_when_durable(p, on_durable, &heard), 1);
	check_int(persist_when_durable(p, on_durable, &heard), 0);
	wait_heard(event, &heard, 1); /* marked by nobody: that change waits for the next write */

	/* Resuming: no change is made, nothing is marked; the write comes once, after. */
	persist_set_resuming(p, true);
	define(&reg, "e", "{\"wait\":\"3s\"}", true);
	persist_call_begin(p);
	persist_define(p, "e", registry_get_definition(&reg, "e"), NULL);
	persist_mark_dirty(p);
	check_int(persist_when_durable(p, on_durable, &heard), 0);
	for (int i = 0; i < 20; i++)
		(void)sd_event_run(event, USEC_PER_MSEC);
	check_int(store_load(dir, &c), 0);
	check(stored_definition(&c, "e") == NULL);
	store_content_done(&c);
	persist_set_resuming(p, false);
	persist_mark_dirty(p);
	check_int(persist_flush(p, 10 * USEC_PER_SEC), 0);
	check_int(heard.n, 2); /* the start above rode on this write */
	check_int(heard.error, 0);
	check_int(store_load(dir, &c), 0);
	check(stored_definition(&c, "e") != NULL);
	store_content_done(&c);

	/* A persistent program that ended is gone from the store once marked. */
	remove_running(&reg, kept);
	persist_mark_dirty(p);
	check_int(persist_flush(p, 10 * USEC_PER_SEC), 0);
	check_int(store_load(dir, &c), 0);
	check_int(c.n_programs, 0);
	store_content_done(&c);

	check_int(owner.n_begin + owner.n_undo, 0); /* nothing failed, nothing undone */
	p = persist_free(p);
	clear_registry(&reg);
}

/* A write that fails undoes what it held, and says so to each caller. */
static void test_undo(void)
{
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	Registry reg;
	Owner owner = {};
	Persist *p = NULL;
	Heard h_define = {}, h_undefine = {}, h_start = {}, h_gone = {};
	Definition *first, *removed, *second;
	Running *started, *gone;
	FILE *f;

	(void)unlink(path_of("state.json"));
	check_int(sd_event_new(&event), 0);
	registry_init(&reg, 100);
	check_int(persist_new(&p, event, dir, &reg, &owner_ops, &owner), 0);
	define(&reg, "d", "{\"wait\":\"1s\"}", true);
	define(&reg, "u", "{\"wait\":\"2s\"}", true);
	first = registry_get_definition(&reg, "d");

	/* state.json a directory: the rename over it fails. */
	check_int(mkdir(path_of("state.json"), 0700), 0);
	f = fopen(path_of("state.json/keep"), "we");
	check(f && fclose(f) == 0);

	/* Define "d" again, keeping the first to put back. */
	persist_call_begin(p);
	definition_ref(first);
	define(&reg, "d", "{\"wait\":\"5s\"}", true);
	second = registry_get_definition(&reg, "d");
	persist_define(p, "d", second, first);
	definition_unref(first); /* the change holds its own reference */
	persist_mark_dirty(p);
	check_int(persist_when_durable(p, on_durable, &h_define), 1);

	/* Undefine "u". */
	persist_call_begin(p);
	removed = registry_remove_definition(&reg, "u");
	persist_undefine(p, removed);
	definition_unref(removed);
	persist_mark_dirty(p);
	check_int(persist_when_durable(p, on_durable, &h_undefine), 1);

	/* Start "started", persistent. */
	persist_call_begin(p);
	started = add_running(&reg, "started", true, true);
	persist_start(p, started);
	persist_mark_dirty(p);
	check_int(persist_when_durable(p, on_durable, &h_start), 1);

	/* Start "gone", which ends before the write: nothing of it is left to undo. */
	persist_call_begin(p);
	gone = add_running(&reg, "gone", true, true);
	persist_start(p, gone);
	persist_mark_dirty(p);
	check_int(persist_when_durable(p, on_durable, &h_gone), 1);
	remove_running(&reg, gone);

	wait_heard(event, &h_start, 1);
	check_int(h_define.n, 1);
	check_int(h_undefine.n, 1);
	check_int(h_gone.n, 1);
	check(h_define.error < 0 && h_undefine.error < 0 && h_start.error < 0 && h_gone.error < 0);
	check_int(h_define.kind, MANAGER_ERROR_STATE_NOT_WRITABLE);
	check_int(h_start.kind, MANAGER_ERROR_STATE_NOT_WRITABLE);

	/* Each undone: the first "d" back, "u" back, "started" stopped, in one instant. */
	check(registry_get_definition(&reg, "d") == first);
	if (registry_get_definition(&reg, "d") == first) /* else it was freed */
		check_int(first->n_ref, 1);
	check(registry_get_definition(&reg, "u") == removed);
	check_int(owner.n_undo, 1);
	check(owner.undone == started);
	check(!started->persistent);
	check_int(owner.n_begin, 1);
	check_int(owner.n_end, 1);
	check(exists("state.json/keep"));

	(void)unlink(path_of("state.json/keep"));
	(void)rmdir(path_of("state.json"));
	p = persist_free(p);
	clear_registry(&reg);
}

/* Changes no write ever held hear that they were cancelled. */
static void test_cancel(void)
{
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	Registry reg;
	Owner owner = {};
	Persist *p = NULL;
	Heard heard = {};

	check_int(sd_event_new(&event), 0);
	registry_init(&reg, 100);
	check_int(persist_new(&p, event, dir, &reg, &owner_ops, &owner), 0);
	define(&reg, "d", "{\"wait\":\"1s\"}", true);
	persist_call_begin(p);
	persist_define(p, "d", registry_get_definition(&reg, "d"), NULL);
	persist_mark_dirty(p);
	check_int(persist_when_durable(p, on_durable, &heard), 1);
	p = persist_free(p);
	check_int(heard.n, 1);
	check_int(heard.error, -ECANCELED);
	check_int(heard.kind, MANAGER_ERROR_STATE_NOT_WRITABLE);
	check_int(owner.n_undo, 0);
	clear_registry(&reg);

	/* Without a Persist (no state directory), every call is a no-op. */
	persist_mark_dirty(NULL);
	persist_call_begin(NULL);
	check_int(persist_when_durable(NULL, on_durable, &heard), 0);
	check_int(persist_flush(NULL, 0), 0);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-persist-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	check_int(layout_new_default(&layout), 0);
	test_written_when();
	test_undo();
	test_cancel();
	layout_free(layout);
	(void)unlink(path_of("state.json"));
	(void)rmdir(dir);
	return test_summary("test-persist");
}
