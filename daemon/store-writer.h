/* SPDX-License-Identifier: MIT */
/*
 * The store writer: state.json is written, fsync'ed and renamed in a
 * thread of its own, so a slow disk never holds the event loop (a write
 * and two fsyncs take milliseconds on a real one).
 *
 * The thread owns only what one write needs: a copy of what the store
 * holds (a StoreContent and its strings in one allocation, copied on the
 * loop), which it
 * formats as JSON (for 500 programs that alone takes milliseconds), and the
 * state directory's fd, which it opens for each write (making the directory
 * when it is missing). No daemon object crosses to it. Its result comes back through an eventfd watched by the loop, at a
 * priority below the engine's timer, and the loop calls @done there.
 *
 * One write at a time: store_writer_submit() refuses a second while one
 * is in flight, and the caller (the manager) collapses the changes made
 * meanwhile into one next write.
 *
 * The loop and the thread share no memory and no lock (the thread runs at
 * the lowest priority, and a lock it held while preempted would hold the
 * loop): a pipe carries each snapshot to it, ownership and all, and
 * another one the result back.
 *
 * Owners: the StoreWriter is the Manager's; the thread owns its ends of
 * the pipes and its copy of the directory's name, and frees them when it
 * ends. It ends once the StoreWriter closes its pipe: at once when idle,
 * or after the write it has, which store_writer_free() waits for, bounded,
 * and otherwise leaves to finish alone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "store.h"

typedef struct StoreWriter StoreWriter;

/*
 * The result of a write: @error 0 (state.json holds the bytes, durably) or
 * a negative errno, with @step naming what failed (store_write_at()).
 */
typedef void (*StoreWriterDone)(void *userdata, int error, const char *step);

/*
 * store_writer_new() - a writer for the state directory @dir that reports
 * through @done on @event. Starts its thread. Returns 0 or a negative errno.
 */
int store_writer_new(StoreWriter **ret, sd_event *event, const char *dir, StoreWriterDone done,
		     void *userdata);

/*
 * store_writer_free() - wait for the write in flight (at most @timeout;
 * its result is then not reported), end the thread and free the writer.
 * A write that still hangs after @timeout is left to finish alone.
 */
StoreWriter *store_writer_free(StoreWriter *w, usec_t timeout);

/*
 * store_writer_submit() - hand @content to the thread to become
 * state.json. @content is taken: one allocation holding its arrays and
 * strings, freed with free(). -EBUSY (and @content is freed) while a write
 * is in flight.
 */
int store_writer_submit(StoreWriter *w, StoreContent *content);

/* Whether a write is in flight: submitted, its result not yet reported. */
bool store_writer_busy(const StoreWriter *w);

/*
 * store_writer_wait() - block until the write in flight is done, at most
 * @timeout, and report its result through done (from here, not from the
 * loop). 0 when it was reported (done may have submitted the next write),
 * or nothing was in flight; -ETIMEDOUT otherwise. For the daemon's exit,
 * and tests.
 */
int store_writer_wait(StoreWriter *w, usec_t timeout);
