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

/*
 * A key written twice, at each level: refused as JSON is everywhere (json-c
 * kept the last one), so the file is set aside, not half read.
 */
static void test_duplicate_keys(void)
{
	check_set_aside("{\"format\":\"blinkd-state-1\",\"programs\":[],\"programs\":[],"
			"\"definitions\":[]}");
	check_set_aside("{\"format\":\"blinkd-state-1\",\"programs\":[{\"name\":\"x\",\"name\":"
			"\"y\",\"program\":\"{\\\"wait\\\":\\\"1s\\\"}\",\"priority\":0,\"timeout\":0,"
			"\"started\":1}],\"definitions\":[]}");
	check_set_aside("{\"format\":\"blinkd-state-1\",\"programs\":[],\"definitions\":[{"
			"\"name\":\"d\",\"program\":\"{}\",\"program\":\"{\\\"wait\\\":1}\"}]}");
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-store-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	test_round_trip();
	test_crash_before_rename();
	test_broken();
	test_duplicate_keys();
	(void)unlink(path_of("state.json"));
	(void)unlink(path_of("state.json.broken"));
	(void)unlink(path_of(".state.json.new"));
	(void)rmdir(dir);
	return test_summary("test-store");
}
