/* SPDX-License-Identifier: MIT */
/*
 * The persistent store: what is saved is loaded back; a crash between
 * writing the new file and renaming it over the old one leaves the old one
 * loadable; a broken or foreign file is set aside, never fatal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "store-writer.h"
#include "test.h"

static char dir[64];

static char *path_of(const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static void write_text(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "we");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

static bool exists(const char *name)
{
	return access(path_of(name), F_OK) == 0;
}

/* A store of one program and one definition, kept in @p and @d. */
static StoreContent one(StoredProgram *p, StoredDefinition *d, const char *name,
			const char *program, usec_t started)
{
	*p = (StoredProgram){ (char *)name, (char *)program, -7, 5000, started };
	*d = (StoredDefinition){ (char *)"d", (char *)"{\"wait\":\"1s\"}" };
	return (StoreContent){ p, 1, d, 1 };
}

static void test_round_trip(void)
{
	StoredProgram p;
	StoredDefinition d;
	StoreContent c = one(&p, &d, "heart", "{\"blink\":{\"lines\":[11],\"interval\":\"1s\"}}",
			     1700000000123456ULL), back = {};

	check_int(store_save(dir, &c), 0);
	check_int(store_load(dir, &back), 0);
	check_int(back.n_programs, 1);
	check_int(back.n_definitions, 1);
	if (back.n_programs == 1) {
		check_str(back.programs[0].name, "heart");
		check_str(back.programs[0].program, c.programs[0].program);
		check_int(back.programs[0].priority, -7);
		check_int(back.programs[0].timeout, 5000);
		check_int(back.programs[0].started, 1700000000123456ULL);
	}
	if (back.n_definitions == 1) {
		check_str(back.definitions[0].name, "d");
		check_str(back.definitions[0].program, "{\"wait\":\"1s\"}");
	}
	store_content_done(&back);
}

/* A crash after the new file is written, before the rename: the old state loads. */
static void test_crash_before_rename(void)
{
	StoredProgram p1, p2;
	StoredDefinition d1, d2;
	StoreContent old = one(&p1, &d1, "old", "{\"wait\":1}", 1),
		     new = one(&p2, &d2, "new", "{\"wait\":2}", 2), back = {};

	check_int(store_save(dir, &old), 0);
	check_int(store_write_temporary(dir, &new), 0);
	/* ... the daemon dies here ... */
	check_int(store_load(dir, &back), 0);
	check_int(back.n_programs, 1);
	if (back.n_programs == 1)
		check_str(back.programs[0].name, "old");
	store_content_done(&back);

	/* And a temporary file cut short by the crash is no trouble either. */
	write_text(".state.json.new", "{\"format\":\"blinkd-sta");
	check_int(store_load(dir, &back), 0);
	check_int(back.n_programs, 1);
	store_content_done(&back);
	/* The next save replaces it. */
	check_int(store_save(dir, &new), 0);
	check_int(store_load(dir, &back), 0);
	if (back.n_programs == 1)
		check_str(back.programs[0].name, "new");
	store_content_done(&back);
	check(!exists(".state.json.new"));
}

static void check_set_aside(const char *text)
{
	StoreContent back = {};

	(void)unlink(path_of("state.json.broken"));
	write_text("state.json", text);
	check_int(store_load(dir, &back), 0);
	check_int(back.n_programs + back.n_definitions, 0);
	check(!exists("state.json"));
	check(exists("state.json.broken"));
	store_content_done(&back);
}

static void test_broken(void)
{
	StoreContent back = {};

	check_set_aside("");
	check_set_aside("{\"format\":\"blinkd-state-1\",\"programs\":[");
	check_set_aside("{\"format\":\"blinkd-state-9\",\"programs\":[],\"definitions\":[]}");
	check_set_aside("[1,2,3]");
	check_set_aside("{\"format\":\"blinkd-state-1\",\"programs\":[{\"name\":\"x\"}],"
			"\"definitions\":[]}");
	check_set_aside("{\"format\":\"blinkd-state-1\",\"programs\":[{\"name\":\"x\",\"program\":"
			"\"{}\",\"priority\":0,\"timeout\":-1,\"started\":1}],\"definitions\":[]}");
	/* No file, no directory: an empty store. */
	(void)unlink(path_of("state.json.broken"));
	check_int(store_load("/nonexistent/blinkd-state", &back), 0);
	check_int(back.n_programs, 0);
}

/* ------------------------------------------------------------ the write side */

/*
 * A symlink planted where the temporary file goes is neither written
 * through nor renamed over state.json. The landed open() without
 * O_NOFOLLOW wrote the symlink's target and renamed the symlink in place.
 */
static void test_planted_symlink(void)
{
	char victim[128];
	const char *step = NULL;
	struct stat st;
	int dir_fd;
	FILE *f;
	char buf[32] = {};

	snprintf(victim, sizeof(victim), "%s.victim", dir);
	f = fopen(victim, "we");
	if (!f || fputs("untouched", f) < 0 || fclose(f) != 0)
		abort();
	(void)unlink(path_of(".state.json.new"));
	if (symlink(victim, path_of(".state.json.new")) < 0)
		abort();
	dir_fd = store_open_directory(dir);
	check(dir_fd >= 0);
	check_int(store_write_at(dir_fd, "{}\n", 3, &step), 0);
	f = fopen(victim, "re");
	check(f && fread(buf, 1, sizeof(buf) - 1, f) == 9);
	if (f)
		fclose(f);
	check_str(buf, "untouched");
	check_int(lstat(path_of("state.json"), &st), 0);
	check(S_ISREG(st.st_mode));
	check_int(st.st_mode & 07777, 0600);
	check_int(st.st_size, 3);
	check(!exists(".state.json.new"));
	close(dir_fd);
	(void)unlink(victim);
}

/* A write that cannot be renamed into place leaves the old file, and no temporary file. */
static void test_failed_write(void)
{
	const char *step = NULL;
	int dir_fd = store_open_directory(dir);

	check(dir_fd >= 0);
	(void)unlink(path_of("state.json"));
	if (mkdir(path_of("state.json"), 0700) < 0)
		abort();
	write_text("state.json/keep", "x");
	check(store_write_at(dir_fd, "{}\n", 3, &step) < 0);
	check_str(step, "rename");
	check(!exists(".state.json.new"));
	check(exists("state.json/keep"));
	(void)unlink(path_of("state.json/keep"));
	(void)rmdir(path_of("state.json"));
	close(dir_fd);
}

typedef struct WriterRun {
	unsigned n_done;
	int error;
	const char *step;
} WriterRun;

static void on_written(void *userdata, int error, const char *step)
{
	WriterRun *w = userdata;

	w->n_done++;
	w->error = error;
	w->step = step;
}

/* One allocation, as the manager makes it: a content of one program and no definition. */
static StoreContent *packed_content(const char *name)
{
	StoreContent *c = calloc(1, sizeof(StoreContent) + sizeof(StoredProgram));

	if (!c)
		abort();
	c->programs = (StoredProgram *)(c + 1);
	c->programs[0] = (StoredProgram){ (char *)name, (char *)"{\"wait\":1}", 0, 0, 1 };
	c->n_programs = 1;
	return c;
}

/*
 * The writer's thread: a write's result comes back through the loop; a
 * second write while one is in flight is refused (the manager coalesces);
 * a directory that cannot be made reports its step.
 */
static void test_writer(void)
{
	_cleanup_(sd_event_unrefp) sd_event *event = NULL;
	StoreWriter *w = NULL;
	WriterRun run = {};
	StoreContent back = {};
	char bad[128];

	check_int(sd_event_new(&event), 0);
	check_int(store_writer_new(&w, event, dir, on_written, &run), 0);
	check(!store_writer_busy(w));
	check_int(store_writer_submit(w, packed_content("first")), 0);
	check(store_writer_busy(w));
	check_int(store_writer_submit(w, packed_content("second")), -EBUSY);
	/* The result arrives through the loop, not before. */
	for (int i = 0; i < 1000 && run.n_done == 0; i++)
		(void)sd_event_run(event, 10 * USEC_PER_MSEC);
	check_int(run.n_done, 1);
	check_int(run.error, 0);
	check(!store_writer_busy(w));
	check_int(store_load(dir, &back), 0);
	check_int(back.n_programs, 1);
	if (back.n_programs == 1)
		check_str(back.programs[0].name, "first");
	store_content_done(&back);
	/* store_writer_wait() reports from where it is called. */
	check_int(store_writer_submit(w, packed_content("third")), 0);
	check_int(store_writer_wait(w, 10 * USEC_PER_SEC), 0);
	check_int(run.n_done, 2);
	check_int(run.error, 0);
	w = store_writer_free(w, USEC_PER_SEC);

	/* A directory under a regular file cannot be made: the error and its step come back. */
	snprintf(bad, sizeof(bad), "%s/state.json/sub", dir);
	check_int(store_writer_new(&w, event, bad, on_written, &run), 0);
	check_int(store_writer_submit(w, packed_content("lost")), 0);
	check_int(store_writer_wait(w, 10 * USEC_PER_SEC), 0);
	check_int(run.n_done, 3);
	check_int(run.error, -ENOTDIR);
	check_str(run.step, "open the directory");
	w = store_writer_free(w, USEC_PER_SEC);
}

static void test_write_side(void)
{
	test_planted_symlink();
	test_failed_write();
	test_writer();
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-store-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	test_round_trip();
	test_crash_before_rename();
	test_broken();
	test_write_side();
	(void)unlink(path_of("state.json"));
	(void)unlink(path_of("state.json.broken"));
	(void)unlink(path_of(".state.json.new"));
	(void)rmdir(dir);
	return test_summary("test-store");
}
