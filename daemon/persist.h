/* SPDX-License-Identifier: MIT */
/*
 * Persistence: what of the registry must survive a restart, when it is
 * written, and what happens when it cannot be. store.c reads and writes
 * the format; store-writer.c writes it in a thread of its own; this
 * module decides.
 *
 * What is written: the persistent Runnings still running (a Start with
 * "persist") and the persistent Definitions (made with Define()), as one
 * snapshot of the registry. When: a change marks the store dirty
 * (persist_mark_dirty()) and enables a defer source that, after the bus
 * call in progress, hands one snapshot to the writer when no write is in
 * flight; the changes made while one is collapse into the next. While
 * resuming what the store kept, nothing is marked: the startup writes once
 * at its end.
 *
 * A persistent Start, Define or Undefine also makes a PersistChange, which
 * waits for the write that will hold it; its caller hears the result
 * through persist_when_durable(). A write that fails undoes each change it
 * held (StateNotWritable): the program stops "failed" (through the
 * owner's ops, inside one instant), the definition is put back as it was.
 *
 * Owners, each object one:
 *  - Persist: the Manager's; it borrows the event loop, the registry and
 *    the ops' userdata, which must outlive it.
 *  - StoreWriter (store-writer.h) and the loop's sources: the Persist's.
 *  - PersistChange: the Persist's, in its waiting list, then its in-flight
 *    list, until the write that holds it reports; it holds a reference on
 *    the Definitions it names. A start's change and its Running point at
 *    each other, borrowed: whichever goes first clears the other's pointer.
 * It calls only the registry, the store writer and its ops: never the
 * manager.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "manager-error.h"
#include "registry.h"

/* How long the exit waits for the state to be written. */
#define PERSIST_EXIT_TIMEOUT (5 * USEC_PER_SEC)

typedef struct Persist Persist;
typedef struct PersistChange PersistChange;

/*
 * What the caller of a persistent change hears once the write that holds
 * it is done: @error 0, the state is durable; or a negative errno, @e says
 * why (STATE_NOT_WRITABLE), and the change was undone.
 */
typedef void (*PersistDurableFn)(void *userdata, int error, const ManagerError *e);

/* What undoing a change needs of the owner. */
typedef struct PersistOps {
	/* Undoing a start stops a run: the undos happen at one instant, between these two. */
	void (*begin)(void *userdata);
	void (*end)(void *userdata);
	/* @r, still running and no longer persistent, ends "failed" (with what it replaces later). */
	void (*undo_start)(void *userdata, Running *r);
} PersistOps;

/*
 * persist_new() - persistence of @registry in @state_dir: the writer's
 * thread, the defer source that hands it a snapshot after the call, and
 * an exit source that writes what changed while the bus can still answer
 * (at a priority above sd-bus's own exit). Logs and returns a negative
 * errno on failure.
 */
int persist_new(Persist **ret, sd_event *event, const char *state_dir, Registry *registry,
		const PersistOps *ops, void *userdata);

/*
 * persist_free() - end the writer (not waiting for a write in flight: call
 * persist_flush() first), tell every change still waiting that it was
 * cancelled (-ECANCELED, STATE_NOT_WRITABLE), drop the sources. NULL-safe.
 */
Persist *persist_free(Persist *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Persist *, persist_free);

/* While resuming, changes are neither marked nor waited for. */
void persist_set_resuming(Persist *p, bool resuming);

/*
 * What must survive a restart changed (a persistent program started or
 * ended, a definition made over the bus changed): the next write takes it.
 * NULL-safe; nothing while resuming.
 */
void persist_mark_dirty(Persist *p);

/*
 * A call that may change the store begins: the change of the call before
 * is no longer what persist_when_durable() answers for.
 */
void persist_call_begin(Persist *p);

/*
 * The change of a persistent start of @r, to wait for: a write failure
 * stops @r (ops->undo_start). Does not mark the store dirty. Out of memory,
 * there is no change: the write still happens, nobody waits for it.
 */
void persist_start(Persist *p, Running *r);

/*
 * The change of a Define of @name: @added is the new definition, @previous
 * the one it replaced (NULL: none). Each gets a reference; a write failure
 * puts @previous back while @added is still the definition of @name.
 */
void persist_define(Persist *p, const char *name, Definition *added, Definition *previous);

/* The change of an Undefine of @removed (a reference is taken): a write failure puts it back. */
void persist_undefine(Persist *p, Definition *removed);

/* @r is going: a start still waiting for its write has nothing left to undo. */
void persist_running_gone(Running *r);

/*
 * persist_when_durable() - right after a call that changed the store:
 * call @done once the write that holds its change is done, or failed (the
 * change is then undone). Returns 1 when @done will be called, 0 when the
 * call made no change to wait for (answer now).
 */
int persist_when_durable(Persist *p, PersistDurableFn done, void *userdata);

/*
 * persist_flush() - wait, at most @timeout, for the write in flight and
 * write what changed since, from here (the loop is over). Every change
 * waiting for its write hears its result. Returns 0 or -ETIMEDOUT.
 * NULL-safe.
 */
int persist_flush(Persist *p, usec_t timeout);
