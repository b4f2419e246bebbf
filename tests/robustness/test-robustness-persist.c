/* SPDX-License-Identifier: MIT */
/*
 * Persistence is honest: a persistent Start or Define is answered once
 * state.json holds it, and one whose state cannot be written (a read-only
 * state directory, a full filesystem) fails with
 * io.blinkd1.Error.StateNotWritable and changes nothing, so that after a
 * restart exactly what was acknowledged comes back. A symlink planted
 * where the temporary file goes does not redirect the write.
 *
 * The full filesystem is a 64 KiB tmpfs mounted on the state directory,
 * and the read-only directory a read-only bind mount of it: both need
 * root. Without it the directory is made read-only by its mode, and the
 * full filesystem is skipped: the test then exits 77 and says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "robustness.h"

static const char *skipped; /* why a scenario could not run */

static int start_persistent(Client *c, const char *name, const char *program, sd_bus_error *error)
{
	return client_call(c, "StartWithOptions", error, NULL, "ssa{sv}", name, program, 1,
			   "persist", "b", 1);
}

static char *state_text(void)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/state.json", harness_path("state"));
	return read_file(path);
}

/* Whether state.json names @name (as a quoted JSON string). */
static bool state_holds(const char *name)
{
	_cleanup_(freep) char *text = state_text();
	char quoted[128];

	snprintf(quoted, sizeof(quoted), "\"%s\"", name);
	return text && strstr(text, quoted);
}

static void make_state_dir(void)
{
	if (mkdir(harness_path("state"), 0700) < 0 && errno != EEXIST)
		harness_fatal("cannot make %s: %m", harness_path("state"));
}

/* ------------------------------------------------ answered when durable */

typedef struct Pending {
	char name[32];
	bool answered, ok, held; /* state.json held it when the answer came */
} Pending;

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
	Pending *p = userdata;

	p->answered = true;
	p->ok = !sd_bus_message_is_method_error(reply, NULL);
	/* Read at once: the daemon said the state is written, so the file holds it now. */
	p->held = state_holds(p->name);
	return 0;
}

/*
 * 40 persistent starts sent at once, so that most wait while a write is
 * in flight and collapse into the next: each answer comes when state.json
 * holds its program. Then SIGTERM right after the last answer: every one
 * comes back.
 */
static void test_answer_when_durable(void)
{
	enum { N = 40 };
	_cleanup_(client_freep) Client *c = NULL;
	_cleanup_(freep) char *list = NULL;
	Pending pending[N] = {};
	unsigned n_answered = 0, n_ok = 0, n_held = 0, n_back = 0;
	usec_t deadline;

	figure_mark();
	harness_start_daemon(NULL);
	c = client_new();
	for (unsigned i = 0; i < N; i++) {
		char program[64];
		int r;

		snprintf(pending[i].name, sizeof(pending[i].name), "durable%02u", i);
		snprintf(program, sizeof(program), "{\"on\":{\"lines\":[%u]}}", i % 8);
		r = sd_bus_call_method_async(c->bus, NULL, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					     BLINKD_MANAGER_INTERFACE, "StartWithOptions", on_reply,
					     &pending[i], "ssa{sv}", pending[i].name, program, 1,
					     "persist", "b", 1);
		if (r < 0)
			harness_fatal("cannot send StartWithOptions: %s", strerror(-r));
	}
	deadline = now_usec(CLOCK_MONOTONIC) + harness_timeout();
	for (;;) {
		n_answered = 0;
		for (unsigned i = 0; i < N; i++)
			n_answered += pending[i].answered;
		if (n_answered == N || now_usec(CLOCK_MONOTONIC) >= deadline)
			break;
		if (sd_bus_process(c->bus, NULL) == 0)
			(void)sd_bus_wait(c->bus, 100 * MS);
	}
	for (unsigned i = 0; i < N; i++) {
		n_ok += pending[i].ok;
		n_held += pending[i].held;
	}
	check_int(n_answered, N);
	check_int(n_ok, N);
	check_int(n_held, N);

	/* SIGTERM at once: what was acknowledged is durable. */
	check_int(harness_stop_daemon(SIGTERM), 0);
	harness_restart_daemon(NULL);
	list = client_list(c, false);
	for (unsigned i = 0; i < N; i++) {
		char entry[48];

		snprintf(entry, sizeof(entry), "%.31s ", pending[i].name);
		n_back += list && strstr(list, entry) != NULL;
	}
	check_int(n_back, N);
	check_int(harness_stop_daemon(SIGTERM), 0);
	figure("%u persistent starts sent at once, then SIGTERM right after the last answer | "
	       "%u of %u answered OK, each when state.json already held it (read in the reply's "
	       "callback: %u of %u); after the restart %u of %u are back",
	       N, n_ok, N, n_held, N, n_back, N);
}

/*
 * SIGTERM while persistent starts are in flight: the daemon answers what it
 * took, waits for the write that holds it, and exits. After a restart what
 * was acknowledged is back, and nothing else.
 */
static void test_sigterm_mid_writes(void)
{
	enum { N = 60 };
	_cleanup_(client_freep) Client *c = NULL;
	_cleanup_(freep) char *list = NULL;
	Pending pending[N] = {};
	unsigned n_answered = 0, n_ok = 0, n_back = 0, n_back_unacked = 0;
	usec_t deadline;
	int code;

	figure_mark();
	harness_start_daemon(NULL);
	c = client_new();
	for (unsigned i = 0; i < N; i++) {
		char program[64];
		int r;

		snprintf(pending[i].name, sizeof(pending[i].name), "term%02u", i);
		snprintf(program, sizeof(program), "{\"on\":{\"lines\":[%u]}}", i % 8);
		r = sd_bus_call_method_async(c->bus, NULL, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					     BLINKD_MANAGER_INTERFACE, "StartWithOptions", on_reply,
					     &pending[i], "ssa{sv}", pending[i].name, program, 1,
					     "persist", "b", 1);
		if (r < 0)
			harness_fatal("cannot send StartWithOptions: %s", strerror(-r));
	}
	(void)sd_bus_flush(c->bus);
	/* Some are being written, some wait for the next write, some are not read yet. */
	sleep_usec(2 * MS);
	(void)kill(harness_daemon_pid(), SIGTERM);
	deadline = now_usec(CLOCK_MONOTONIC) + harness_timeout();
	for (;;) {
		n_answered = 0;
		for (unsigned i = 0; i < N; i++)
			n_answered += pending[i].answered;
		if (n_answered == N || now_usec(CLOCK_MONOTONIC) >= deadline)
			break;
		if (sd_bus_process(c->bus, NULL) == 0)
			(void)sd_bus_wait(c->bus, 100 * MS);
	}
	code = harness_stop_daemon(0);
	check_int(code, 0);
	/* Every call is answered: OK, or an error once the daemon is gone (never silence). */
	check_int(n_answered, N);
	for (unsigned i = 0; i < N; i++)
		n_ok += pending[i].ok;

	harness_restart_daemon(NULL);
	list = client_list(c, false);
	for (unsigned i = 0; i < N; i++) {
		char entry[48];
		bool back;

		snprintf(entry, sizeof(entry), "%.31s ", pending[i].name);
		back = list && strstr(list, entry) != NULL;
		n_back += back;
		n_back_unacked += back && !pending[i].ok;
		/* Acknowledged, so durable: back after the restart. */
		if (pending[i].ok)
			check(back);
	}
	check_int(n_back_unacked, 0);
	check_int(harness_stop_daemon(SIGTERM), 0);
	figure("%u persistent starts sent at once, SIGTERM 2 ms later | the daemon exits 0; all "
	       "%u answered (%u OK, the others NoReply: not read before it went); after a restart "
	       "%u came back, every one acknowledged and none other",
	       N, n_answered, n_ok, n_back);
}

/* ----------------------------------------------------------- symlink plant */

/*
 * A symlink planted where the temporary file goes, pointing at a file of
 * someone else's: the daemon neither writes through it nor renames it over
 * state.json.
 */
static void test_symlink_plant(void)
{
	_cleanup_(client_freep) Client *c = NULL;
	_cleanup_(freep) char *victim_text = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	char temporary[512], state[512];
	const char *victim = harness_write_file("victim", "untouched\n");
	struct stat st;
	int r;

	figure_mark();
	harness_start_daemon(NULL);
	c = client_new();
	make_state_dir();
	snprintf(temporary, sizeof(temporary), "%s/.state.json.new", harness_path("state"));
	snprintf(state, sizeof(state), "%s/state.json", harness_path("state"));
	(void)unlink(temporary);
	if (symlink(victim, temporary) < 0)
		harness_fatal("cannot plant %s: %m", temporary);

	r = start_persistent(c, "planted", "{\"on\":{\"lines\":[3]}}", &error);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	victim_text = read_file(victim);
	check_str(victim_text, "untouched\n");
	check_int(lstat(state, &st), 0);
	check(S_ISREG(st.st_mode));
	check_int(st.st_mode & 07777, 0600);
	check(state_holds("planted"));
	check(lstat(temporary, &st) < 0 && errno == ENOENT);
	check_int(harness_stop_daemon(SIGTERM), 0);
	(void)unlink(temporary);
	(void)unlink(victim);
	figure("a symlink planted at the state directory's .state.json.new, to another file, "
	       "then a persistent start | the other file is untouched; state.json is a regular "
	       "file of mode 0600 holding the program; the symlink is gone");
}

/* ------------------------------------------------- read-only state directory */

static enum { READ_ONLY_NONE, READ_ONLY_MOUNT, READ_ONLY_MODE } read_only;

static void read_only_end(void)
{
	if (read_only == READ_ONLY_MOUNT)
		(void)umount2(harness_path("state"), MNT_DETACH);
	else if (read_only == READ_ONLY_MODE)
		(void)chmod(harness_path("state"), 0700);
	read_only = READ_ONLY_NONE;
}

/* As root the mode is no bar: a read-only bind mount of the directory on itself. */
static const char *read_only_begin(void)
{
	const char *dir = harness_path("state");

	if (geteuid() != 0) {
		if (chmod(dir, 0500) < 0)
			return "cannot change the state directory's mode";
		read_only = READ_ONLY_MODE;
		return "its mode 0500";
	}
	if (mount(dir, dir, NULL, MS_BIND, NULL) < 0)
		return NULL;
	read_only = READ_ONLY_MOUNT;
	if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
		read_only_end();
		return NULL;
	}
	return "a read-only bind mount";
}

static void test_read_only(void)
{
	_cleanup_(client_freep) Client *c = NULL;
	_cleanup_(freep) char *list = NULL, *defs = NULL, *after = NULL, *after_defs = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	const char *how;
	int r;

	figure_mark();
	harness_start_daemon(NULL);
	c = client_new();
	make_state_dir();
	r = client_call(c, "Define", &error, NULL, "ss", "keep", "{\"wait\":\"1s\"}");
	check_ok(r, &error);
	sd_bus_error_free(&error);
	r = start_persistent(c, "kept", "{\"on\":{\"lines\":[1]}}", &error);
	check_ok(r, &error);
	sd_bus_error_free(&error);

	how = read_only_begin();
	if (!how) {
		skipped = "cannot make the state directory read-only here";
		figure("a read-only state directory | skipped: %s (%m)", skipped);
		check_int(harness_stop_daemon(SIGTERM), 0);
		return;
	}

	/* Each fails by name, and changes nothing. */
	r = start_persistent(c, "refused", "{\"on\":{\"lines\":[2]}}", &error);
	check_error(r, &error, BLINKD_ERROR_STATE_NOT_WRITABLE);
	sd_bus_error_free(&error);
	r = client_call(c, "Define", &error, NULL, "ss", "new", "{\"wait\":\"2s\"}");
	check_error(r, &error, BLINKD_ERROR_STATE_NOT_WRITABLE);
	sd_bus_error_free(&error);
	r = client_call(c, "Define", &error, NULL, "ss", "keep", "{\"wait\":\"3s\"}");
	check_error(r, &error, BLINKD_ERROR_STATE_NOT_WRITABLE);
	sd_bus_error_free(&error);
	r = client_call(c, "Undefine", &error, NULL, "s", "keep");
	check_error(r, &error, BLINKD_ERROR_STATE_NOT_WRITABLE);
	sd_bus_error_free(&error);
	/* What needs no write goes on. */
	r = client_start(c, "plain", "{\"on\":{\"lines\":[4]}}", &error, NULL);
	check_ok(r, &error);
	sd_bus_error_free(&error);

	list = client_list(c, false);
	defs = client_list(c, true);
	check_str(list, "kept {\"on\":{\"lines\":[1]}}\nplain {\"on\":{\"lines\":[4]}}\n");
	check_str(defs, "keep {\"wait\":\"1s\"}\n");
	check(harness_daemon_alive());

	read_only_end();
	check_int(harness_stop_daemon(SIGTERM), 0);
	harness_restart_daemon(NULL);
	after = client_list(c, false);
	after_defs = client_list(c, true);
	check_str(after, "kept {\"on\":{\"lines\":[1]}}\n");
	check_str(after_defs, "keep {\"wait\":\"1s\"}\n");
	check_int(harness_stop_daemon(SIGTERM), 0);
	figure("a state directory made read-only (%s) under a daemon holding a persistent "
	       "program and a definition: a persistent start, a Define of a new name, a "
	       "redefinition and an Undefine | each fails with StateNotWritable and changes "
	       "nothing (List and ListDefinitions as before, a plain start still runs); after "
	       "a restart the same program and definition are back, nothing else",
	       how);
}

/* --------------------------------------------------------- full filesystem */

static bool full_mounted;

/* At exit too: the harness can only remove its directory once nothing is mounted in it. */
static void unmount_full(void)
{
	read_only_end();
	if (!full_mounted)
		return;
	(void)umount2(harness_path("state"), MNT_DETACH);
	full_mounted = false;
}

/*
 * 400 persistent starts and 40 Defines on a 64 KiB tmpfs: some fit, then
 * the filesystem is full. Every answer is OK or StateNotWritable; what
 * runs is what was acknowledged, and after a restart exactly that comes
 * back.
 */
static void test_full_filesystem(void)
{
	enum { N = 400, N_DEFS = 40 };
	_cleanup_(client_freep) Client *c = NULL;
	_cleanup_(freep) char *list = NULL, *defs = NULL, *after = NULL, *after_defs = NULL;
	static bool acked[N], acked_def[N_DEFS];
	unsigned n_acked = 0, n_refused = 0, n_other = 0, n_listed = 0, n_back = 0;
	unsigned n_defs_acked = 0, n_defs_back = 0;

	figure_mark();
	if (geteuid() != 0) {
		skipped = "a full filesystem needs a tmpfs of its own, and mounting one needs root";
		figure("400 persistent starts on a full 64 KiB tmpfs | skipped: %s", skipped);
		return;
	}
	make_state_dir();
	if (mount("tmpfs", harness_path("state"), "tmpfs", 0, "size=64k,mode=0700") < 0) {
		skipped = "cannot mount a tmpfs here";
		figure("400 persistent starts on a full 64 KiB tmpfs | skipped: %s (%m)", skipped);
		return;
	}
	full_mounted = true;

	harness_restart_daemon(NULL); /* the empty tmpfs is its store */
	c = client_new();
	for (unsigned i = 0; i < N; i++) {
		sd_bus_error error = SD_BUS_ERROR_NULL;
		char name[32], program[160];
		int r;

		snprintf(name, sizeof(name), "full%03u", i);
		/* Long enough that the state outgrows the tmpfs half way. */
		snprintf(program, sizeof(program),
			 "{\"blink\":{\"lines\":[%u],\"interval\":\"%ums\"}}", i % 16, 100 + i);
		r = start_persistent(c, name, program, &error);
		if (r >= 0) {
			acked[i] = true;
			n_acked++;
		} else if (sd_bus_error_has_name(&error, BLINKD_ERROR_STATE_NOT_WRITABLE))
			n_refused++;
		else {
			if (n_other++ == 0)
				fprintf(stderr, "Start(%s): %s: %s\n", name, error.name, error.message);
		}
		sd_bus_error_free(&error);
	}
	for (unsigned i = 0; i < N_DEFS; i++) {
		sd_bus_error error = SD_BUS_ERROR_NULL;
		char name[32];
		int r;

		snprintf(name, sizeof(name), "fulldef%02u", i);
		r = client_call(c, "Define", &error, NULL, "ss", name, "{\"wait\":\"1s\"}");
		if (r >= 0) {
			acked_def[i] = true;
			n_defs_acked++;
		} else if (!sd_bus_error_has_name(&error, BLINKD_ERROR_STATE_NOT_WRITABLE) &&
			   n_other++ == 0)
			fprintf(stderr, "Define(%s): %s: %s\n", name, error.name, error.message);
		sd_bus_error_free(&error);
	}
	check_int(n_other, 0);
	/* The filesystem did fill up, and not before anything fit. */
	check(n_acked > 0);
	check(n_refused > 0);

	/* What runs is what was acknowledged. */
	list = client_list(c, false);
	defs = client_list(c, true);
	n_listed = (unsigned)count_lines(list ? list : "");
	check_int(n_listed, n_acked);
	check_int(count_lines(defs ? defs : ""), n_defs_acked);
	check(harness_daemon_alive());

	/* After a restart, exactly that comes back. */
	check_int(harness_stop_daemon(SIGTERM), 0);
	harness_restart_daemon(NULL);
	after = client_list(c, false);
	after_defs = client_list(c, true);
	for (unsigned i = 0; i < N; i++) {
		char entry[32];

		snprintf(entry, sizeof(entry), "full%03u ", i);
		if (after && strstr(after, entry)) {
			n_back++;
			check(acked[i]);
		}
	}
	for (unsigned i = 0; i < N_DEFS; i++) {
		char entry[32];

		snprintf(entry, sizeof(entry), "fulldef%02u ", i);
		if (after_defs && strstr(after_defs, entry)) {
			n_defs_back++;
			check(acked_def[i]);
		}
	}
	check_int(n_back, n_acked);
	check_int(n_defs_back, n_defs_acked);
	check_int(harness_stop_daemon(SIGTERM), 0);
	unmount_full();
	figure("%u persistent starts, then %u Defines, on a 64 KiB tmpfs as the state directory | "
	       "%u starts acknowledged, %u refused with StateNotWritable, no other answer; %u "
	       "Defines acknowledged; List showed %u programs; after a restart %u of the %u "
	       "acknowledged programs and %u of the %u acknowledged definitions came back, "
	       "nothing else",
	       N, N_DEFS, n_acked, n_refused, n_defs_acked, n_listed, n_back, n_acked, n_defs_back,
	       n_defs_acked);
}

int main(void)
{
	harness_init();
	atexit(unmount_full);
	figures_begin("test-robustness-persist");

	test_answer_when_durable();
	test_sigterm_mid_writes();
	test_symlink_plant();
	test_read_only();
	test_full_filesystem();

	figures_end();
	if (test_failures == 0 && skipped) {
		printf("SKIP: %s\n", skipped);
		return 77;
	}
	return test_summary("test-robustness-persist");
}
