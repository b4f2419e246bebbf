/* SPDX-License-Identifier: MIT */
/*
 * The trace: one line per line change, "<CLOCK_MONOTONIC ns> <number> <0|1>",
 * the value logical (1 = lit; a PWM line's edges are 0 and 1; a line that
 * takes levels as they are shows "0.2500"), followed by " <physical level>"
 * on active-low lines, where the two differ;
 * appended to a file for tests and benchmarks. The time is the moment the
 * batch went to the backend, the same for every line of a batch. A write
 * that fails (a full disk) drops its batch whole and is said once in the
 * log; the file stays whole lines.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "macro.h"

/*
 * Who owns a Trace: trace_open() makes it for the caller, who closes it with
 * trace_close(); it owns its file descriptor and its buffer, and borrows
 * the Layout, which must outlive it. In the daemon the Manager owns it
 * (m->trace, opened in manager_new() when --trace names a file, closed in
 * manager_free() before the engine and the Config) and alone writes to it,
 * from the chips' callbacks and at exit. bench/floor owns one of its own.
 */
typedef struct Trace Trace;

/*
 * trace_open() - open @path for appending, for batches of the lines of
 * @layout (which must outlive the trace). Logs and returns a negative errno
 * when it cannot be opened.
 */
int trace_open(Trace **ret, const char *path, const Layout *layout);

/* Append one batch of @n changes. */
void trace_batch(Trace *t, size_t n, const unsigned *numbers, const uint16_t *values);

Trace *trace_close(Trace *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Trace *, trace_close);
