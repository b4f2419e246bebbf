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
 * fsync'ed; a crash at any moment leaves the old file or the new one. The
 * daemon does this off its loop, in the store writer's thread
 * (store-writer.h); the functions here that take a directory fd are the
 * ones that thread calls.
 *
 * Reading it never fails the daemon's start. An entry that does not fit
 * (a key or a type blinkd does not know, a number out of range, a name
 * that is not one, or given twice) is left out, with a log line naming it
 * and why; the rest is read. Only a file that cannot be read as blinkd's
 * state at all (not a regular file, too large, not JSON, of another
 * format) is set aside, as state.json.broken.N, N one more than the
 * highest there, so no earlier one is overwritten; the newest 16 are kept.
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

/*
 * What the store holds. Owners: a StoreContent filled by store_load() is
 * its caller's, usually a local, and every string and array in it is
 * malloc'ed on its own, freed with store_content_done(). One that the
 * loop hands to the writer (persist.c's snapshot) is a single allocation,
 * the arrays and the strings after the struct, freed with free() by
 * whoever has it: persistence until store_writer_submit() takes it, the
 * writer's thread from then on. StoredPrograms and StoredDefinitions are
 * their StoreContent's. Tests build one on the stack, borrowing strings.
 */
typedef struct StoreContent {
	StoredProgram *programs;
	size_t n_programs;
	StoredDefinition *definitions;
	size_t n_definitions;
} StoreContent;

/*
 * store_load() - read @dir/state.json into @ret. A missing file or
 * directory is an empty store. @dir is made mode 0700 and the daemon's
 * user's when it is not (logged). The file is opened without following a
 * symbolic link and without waiting on a FIFO; what is not a regular file
 * of at most 64 MiB, or not blinkd's state, is set aside (see above),
 * logged, and read as empty. Entries that do not fit are left out one by
 * one, each logged. Returns 0 or -ENOMEM.
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

/*
 * store_format() - @c as the bytes of state.json, in *@ret_text (malloc'ed,
 * NUL-terminated, *@ret_len bytes without the NUL). Returns 0 or -ENOMEM.
 */
int store_format(const StoreContent *c, char **ret_text, size_t *ret_len);

/* store_open_directory() - make @dir when it is missing and open it; an fd or a negative errno. */
int store_open_directory(const char *dir);

/*
 * store_write_at() - replace state.json in the directory @dir_fd with
 * @len bytes of @text: the temporary file is unlinked if it is there (a
 * stale one, or a symlink planted in its place), made anew with O_EXCL,
 * O_NOFOLLOW and mode 0600, written, fsync'ed, renamed over state.json, and
 * the directory fsync'ed. It neither logs nor touches anything but the
 * files, so the store writer's thread calls it. On failure *@ret_step names
 * what failed ("create", "write", "sync", "rename", "sync the directory"),
 * the temporary file is gone and the old state.json is untouched, unless
 * only the directory's fsync failed.
 */
int store_write_at(int dir_fd, const char *text, size_t len, const char **ret_step);
/* Its two halves, as store_write_temporary() and store_commit_temporary(). */
int store_write_temporary_at(int dir_fd, const char *text, size_t len, const char **ret_step);
int store_commit_temporary_at(int dir_fd, const char **ret_step);

/* Free what store_load() put in @c, and empty it; not for a snapshot in one allocation. */
void store_content_done(StoreContent *c);
