/* SPDX-License-Identifier: MIT */
/*
 * The persistent store: the programs started with "persist" and the
 * definitions made with Define(), kept in one file, state.json, in the
 * daemon's state directory, so that they survive a restart, a crash and a
 * reboot. Programs keep their start in CLOCK_REALTIME, since the monotonic
 * clock starts again at every boot.
 *
 * Every change rewrites the file whole and atomically: written to a
 * temporary file, fsync'ed, renamed over state.json, and the directory
 * fsync'ed; a crash at any moment leaves the old file or the new one. A
 * file that cannot be read as blinkd's state (broken, foreign, of a later
 * format) is set aside as state.json.broken with a log line, never fatal.
 */
#pragma once

#include <stddef.h>

#include "macro.h"

#define STORE_FILE "state.json"

typedef struct StoredProgram {
	char *name;
	char *program;	      /* canonical text */
	int priority;
	usec_t timeout;	      /* 0: none */
	usec_t started;	      /* CLOCK_REALTIME */
} StoredProgram;

typedef struct StoredDefinition {
	char *name;
	char *program;
} StoredDefinition;

typedef struct StoreContent {
	StoredProgram *programs;
	size_t n_programs;
	StoredDefinition *definitions;
	size_t n_definitions;
} StoreContent;

/*
 * store_load() - read @dir/state.json into @ret. A missing file or
 * directory is an empty store. A file that is not a store is renamed to
 * state.json.broken, logged, and read as empty. Returns 0 or -ENOMEM.
 */
int store_load(const char *dir, StoreContent *ret);

/*
 * store_save() - replace @dir/state.json with @c, atomically, making @dir
 * when it is missing. Logs and returns a negative errno on failure; the
 * old file is then untouched.
 */
int store_save(const char *dir, const StoreContent *c);

/*
 * The two halves of store_save(), apart for tests: write and fsync the
 * temporary file; then rename it over state.json and fsync the directory.
 */
int store_write_temporary(const char *dir, const StoreContent *c);
int store_commit_temporary(const char *dir);

void store_content_done(StoreContent *c);
