/* SPDX-License-Identifier: MIT */
/*
 * The registry: what runs and what is defined, by name. It knows no event
 * loop, no bus and no store; the manager acts on it and tells the others.
 *
 * Owners, each object one:
 *  - Registry: embedded in its owner (the Manager), registry_init() and
 *    registry_done().
 *  - Running: its maker's, from running_new() until it is freed with
 *    running_free() (the manager frees it once its end has been reported).
 *    While listed it is in @running by name, borrowed: the table does not
 *    free it. A Running freed while the registry is pinned waits in the
 *    graveyard until the last unpin, so a reply built in slices that lists
 *    Runnings by pointer can read them until it is sent, and no longer.
 *  - Definition: reference counted; @definitions holds one reference on
 *    each, a reply listing it or a persistent change another. Its Program
 *    is shared by reference count with the runs that bound it, so
 *    redefining a name under a running "call" changes nothing for that run.
 *  - Program: immutable, reference counted (program.h).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "name-table.h"
#include "program.h"

typedef struct Registry Registry;

/* A named program that runs. */
typedef struct Running {
	Registry *registry;	/* where it waits when freed while pinned */
	struct Manager *manager; /* borrowed: the bus's handlers act on it */
	char *name;
	char *canonical;
	EngineRun *run;		/* borrowed from the engine; NULL once ended */
	usec_t started_realtime; /* when it started or starts (CLOCK_REALTIME) */
	unsigned *lines;	/* every line it may drive, sorted */
	size_t n_lines;
	int priority;
	bool bound;		/* ends when its caller leaves the bus (the bus watches) */
	bool persistent;	/* in the store: survives a restart */
	usec_t timeout;		/* ends "done" this long after its start; 0: never */
	void *bus_data;		/* the bus's own (the caller's track): the bus frees it in program_ended() */
	struct PersistChange *persist_change; /* its start, until the store holds it or cannot (persist.h) */

	/*
	 * Replace at a later instant: the program this one replaced, which
	 * runs on, unlisted and already reported "replaced", until this one
	 * starts (the engine then ends it in the same batch); this one owns
	 * it. NULL once it has ended. @successor is the link back.
	 */
	struct Running *predecessor, *successor;

	bool listed;		/* in the registry's @running */
	RunResult result;	/* once ended */
	struct Running *ended_next; /* queued for manager_report_ended() */
	struct Running *grave_next; /* freed while pinned: the graveyard */
} Running;

/* A named program that others call. */
typedef struct Definition {
	unsigned n_ref;
	char *name;
	Program *program;
	char *canonical;
	bool persistent;	/* made with Define(), kept in the store; not the config's */
} Definition;

struct Registry {
	NameTable running;	/* name -> Running, listed ones */
	NameTable definitions;	/* name -> Definition, a reference each */
	unsigned max_programs;	/* how many may be listed at once */
	unsigned n_pins;	/* registry_pin() without its unpin */
	Running *graveyard;	/* Runnings freed while pinned */
};

/* An empty registry that lists at most @max_programs programs. */
void registry_init(Registry *reg, unsigned max_programs);

/*
 * registry_done() - drop every definition, free the graveyard (pins or
 * not) and the tables. Listed Runnings are their owner's, to be freed
 * before: the table only forgets them.
 */
void registry_done(Registry *reg);

/*
 * running_new() - a Running named @name for @p, not yet listed, with every
 * line @p may drive (following its calls into the definitions now), sorted
 * and each once. Returns 0 or -ENOMEM.
 */
int running_new(Registry *reg, const char *name, Program *p, Running **ret);

/* Free @r; while the registry is pinned, it waits in the graveyard instead. Returns NULL. */
Running *running_free(Running *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Running *, running_free);

Running *registry_get_running(const Registry *reg, const char *name);

/* List @r by its name. -EEXIST when the name is taken, -ENOMEM. */
int registry_list_running(Registry *reg, Running *r);

/* Take @r out of the list (it is not freed). */
void registry_unlist_running(Registry *reg, Running *r);

/* Whether max_programs are listed: a new name may not start. */
bool registry_is_full(const Registry *reg);

/*
 * While pinned, a Running freed is kept until the last unpin: a sliced
 * reply pins once and lists the programs by pointer, instead of a
 * reference on each of 10,000 (a cache line each, about 200us at the
 * call's arrival).
 */
void registry_pin(Registry *reg);
void registry_unpin(Registry *reg);

/* References, for replies and changes that hold Definitions. */
Definition *definition_ref(Definition *d);
Definition *definition_unref(Definition *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Definition *, definition_unref);

Definition *registry_get_definition(const Registry *reg, const char *name);

/* The program defined as @name, or NULL; a ProgramLookup over @userdata, a Registry. */
Program *registry_lookup_program(const char *name, void *userdata);

/*
 * registry_define() - define @name as @p (a reference is taken), in place
 * of what it was. @check: first look for a call cycle the new definition
 * would close (-ELOOP, @error naming it, and nothing changed); false only
 * where the caller proved there is none. Runs bound what they call when
 * they started: replacing a definition changes none of them. Returns 0,
 * -ELOOP or -ENOMEM.
 */
int registry_define(Registry *reg, const char *name, Program *p, bool persistent, bool check,
		    ProgramError *error);

/* Put @d back under its name, taking the caller's reference. -EEXIST when the name is taken. */
int registry_put_definition(Registry *reg, Definition *d);

/* Take @name's definition out: the caller has its reference. NULL when there was none. */
Definition *registry_remove_definition(Registry *reg, const char *name);
