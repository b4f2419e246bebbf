/* SPDX-License-Identifier: MIT */
/*
 * The persistent store: what is saved is loaded back; a crash between
 * writing the new file and renaming it over the old one leaves the old one
 * loadable; a broken or foreign file is set aside, never fatal.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json-util.h"
#include "manager.h"
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

/* Whether @name is there, whatever it is (a symbolic link is not followed). */
static bool exists(const char *name)
{
	struct stat st;

	return lstat(path_of(name), &st) == 0;
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

/* How many set-aside files "state.json.broken.N" there are. */
static unsigned count_broken(void)
{
	unsigned n = 0;

	for (unsigned i = 1; i <= 64; i++) {
		char name[64];

		snprintf(name, sizeof(name), "state.json.broken.%u", i);
		n += exists(name);
	}
	return n;
}

static void remove_broken(void)
{
	for (unsigned i = 1; i <= 64; i++) {
		char name[64];

		snprintf(name, sizeof(name), "state.json.broken.%u", i);
		(void)unlink(path_of(name));
		(void)rmdir(path_of(name));
	}
}

/* @text in state.json is set aside whole, as the next state.json.broken.N. */
static void check_set_aside(const char *text)
{
	StoreContent back = {};
	unsigned before = count_broken();

	write_text("state.json", text);
	check_int(store_load(dir, &back), 0);
	check_int(back.n_programs + back.n_definitions, 0);
	check(!exists("state.json"));
	check_int(count_broken(), before + 1);
	store_content_done(&back);
}

/* Only what cannot be read as blinkd's state at all is set aside whole. */
static void test_broken(void)
{
	StoreContent back = {};

	remove_broken();
	check_set_aside("");
	check_set_aside("{\"format\":\"blinkd-state-1\",\"programs\":[");
	check_set_aside("{\"format\":\"blinkd-state-9\",\"programs\":[],\"definitions\":[]}");
	check_set_aside("{\"programs\":[],\"definitions\":[]}");
	check_set_aside("[1,2,3]");
	check_set_aside("\x01\x02garbage\xff");
	/* No file, no directory: an empty store. */
	check_int(store_load("/nonexistent/blinkd-state", &back), 0);
	check_int(back.n_programs, 0);
	remove_broken();
}

/*
 * Every set-aside is kept: the second does not overwrite the first. (The
 * landed tree renamed each to the one name state.json.broken.)
 */
static void test_set_aside_keeps_earlier(void)
{
	_cleanup_(freep) char *first = NULL;
	StoreContent back = {};
	FILE *f;

	remove_broken();
	write_text("state.json", "first broken");
	check_int(store_load(dir, &back), 0);
	write_text("state.json", "second broken");
	check_int(store_load(dir, &back), 0);
	check(exists("state.json.broken.1"));
	check(exists("state.json.broken.2"));
	f = fopen(path_of("state.json.broken.1"), "re");
	if (f) {
		char buf[64] = {};
		check(fgets(buf, sizeof(buf), f) != NULL);
		check_str(buf, "first broken");
		fclose(f);
	}

	/* Numbers go on from the highest, past gaps; the newest 16 are kept. */
	remove_broken();
	for (unsigned i = 3; i <= 20; i++) {
		char name[64];

		snprintf(name, sizeof(name), "state.json.broken.%u", i);
		write_text(name, "old");
	}
	write_text("state.json", "third broken");
	check_int(store_load(dir, &back), 0);
	check(exists("state.json.broken.21"));
	check(!exists("state.json.broken.5"));
	check(exists("state.json.broken.6"));
	check_int(count_broken(), 16);
	remove_broken();
}

static const char *const mixed_state =
	"{\"format\":\"blinkd-state-1\",\"later\":true,\"programs\":["
	/* fits */
	"{\"name\":\"good\",\"program\":\"{\\\"wait\\\":1}\",\"priority\":2,\"timeout\":0,"
	"\"started\":5},"
	/* 2^32 + 5: read as 5 by the landed tree */
	"{\"name\":\"wide\",\"program\":\"{}\",\"priority\":4294967301,\"timeout\":0,"
	"\"started\":5},"
	"{\"name\":\"huge\",\"program\":\"{}\",\"priority\":1,\"timeout\":0,"
	"\"started\":99999999999999999999},"
	"{\"name\":\"neg\",\"program\":\"{}\",\"priority\":1,\"timeout\":-1,\"started\":5},"
	"{\"name\":\"real\",\"program\":\"{}\",\"priority\":1.5,\"timeout\":0,\"started\":5},"
	"{\"name\":\"extra\",\"program\":\"{}\",\"priority\":1,\"timeout\":0,\"started\":5,"
	"\"levels\":[1]},"
	"{\"name\":\"no\\nway\",\"program\":\"{}\",\"priority\":1,\"timeout\":0,\"started\":5},"
	"{\"name\":\"good\",\"program\":\"{}\",\"priority\":1,\"timeout\":0,\"started\":5},"
	"{\"name\":\"typed\",\"program\":{\"wait\":1},\"priority\":1,\"timeout\":0,\"started\":5},"
	"{\"name\":\"x\"},"
	"7,"
	"{\"name\":\"late\",\"program\":\"{}\",\"priority\":-1000,\"timeout\":100,"
	"\"started\":6}"
	"],\"definitions\":["
	"{\"name\":\"d1\",\"program\":\"{\\\"wait\\\":1}\"},"
	"{\"name\":\"d2\",\"program\":5},"
	"{\"name\":\"d3\",\"program\":\"{}\",\"kind\":\"new\"},"
	"null,"
	"{\"name\":\"d1\",\"program\":\"{}\"},"
	"{\"name\":\"d4\",\"program\":\"{\\\"wait\\\":2}\"}"
	"]}";

/*
 * An entry that does not fit is left out alone: the others are read, and
 * the file stays. (The landed tree set the whole file aside for one entry
 * of a wrong type, valid definitions too, and read priority 4294967301 as 5.)
 */
static void test_entries(void)
{
	StoreContent back = {};

	remove_broken();
	write_text("state.json", mixed_state);
	check_int(store_load(dir, &back), 0);
	check(exists("state.json"));
	check_int(count_broken(), 0);
	check_int(back.n_programs, 2);
	if (back.n_programs == 2) {
		check_str(back.programs[0].name, "good");
		check_int(back.programs[0].priority, 2);
		check_str(back.programs[1].name, "late");
		check_int(back.programs[1].priority, -1000);
		check_int(back.programs[1].timeout, 100);
	}
	check_int(back.n_definitions, 2);
	if (back.n_definitions == 2) {
		check_str(back.definitions[0].name, "d1");
		check_str(back.definitions[0].program, "{\"wait\":1}");
		check_str(back.definitions[1].name, "d4");
	}
	store_content_done(&back);

	/* A list of the wrong type leaves out that list only. */
	write_text("state.json", "{\"format\":\"blinkd-state-1\",\"programs\":{},\"definitions\":["
				 "{\"name\":\"d\",\"program\":\"{}\"}]}");
	check_int(store_load(dir, &back), 0);
	check_int(back.n_programs, 0);
	check_int(back.n_definitions, 1);
	check(exists("state.json"));
	store_content_done(&back);

	/* The priority alone out of range: that entry is left out, not wrapped. */
	write_text("state.json", "{\"format\":\"blinkd-state-1\",\"programs\":[{\"name\":\"w\","
				 "\"program\":\"{}\",\"priority\":4294967301,\"timeout\":0,"
				 "\"started\":5}],\"definitions\":[]}");
	check_int(store_load(dir, &back), 0);
	check_int(back.n_programs, 0);
	store_content_done(&back);
	(void)unlink(path_of("state.json"));
}

/* Kills the test when a load hangs: a hang is a failure, not a stuck suite. */
static void on_alarm(int sig)
{
	static const char msg[] = "test-store: store_load() hung\n";

	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

/*
 * What is not a regular file is set aside without being read: a FIFO (the
 * landed tree hung in fopen() waiting for a writer), a symbolic link (not
 * followed: its target is untouched), a directory, and a file larger than
 * the bound (not read at all).
 */
static void test_not_regular(void)
{
	char target[128];
	StoreContent back = {};
	int fd;

	remove_broken();
	(void)signal(SIGALRM, on_alarm);
	alarm(20);
	check_int(mkfifo(path_of("state.json"), 0600), 0);
	check_int(store_load(dir, &back), 0);
	check_int(back.n_programs + back.n_definitions, 0);
	check(!exists("state.json"));
	check_int(count_broken(), 1);
	alarm(0);

	snprintf(target, sizeof(target), "%s", path_of("target.json"));
	write_text("target.json", "{\"format\":\"blinkd-state-1\",\"programs\":[],\"definitions\":"
				  "[{\"name\":\"planted\",\"program\":\"{}\"}]}");
	check_int(symlink(target, path_of("state.json")), 0);
	check_int(store_load(dir, &back), 0);
	check_int(back.n_definitions, 0);
	check(exists("target.json"));
	check(!exists("state.json"));
	check_int(count_broken(), 2);
	store_content_done(&back);
	(void)unlink(target);

	check_int(mkdir(path_of("state.json"), 0700), 0);
	check_int(store_load(dir, &back), 0);
	check(!exists("state.json"));
	check_int(count_broken(), 3);

	fd = open(path_of("state.json"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	check(fd >= 0);
	check_int(ftruncate(fd, 65LL * 1024 * 1024), 0); /* sparse: no disk taken */
	close(fd);
	check_int(store_load(dir, &back), 0);
	check(!exists("state.json"));
	check_int(count_broken(), 4);
	remove_broken();
}

/* An existing state directory is made 0700 (the landed tree left it as it was). */
static void test_directory_mode(void)
{
	char sub[128];
	StoreContent back = {};
	struct stat st;

	snprintf(sub, sizeof(sub), "%s", path_of("sub"));
	check_int(mkdir(sub, 0755), 0);
	check_int(chmod(sub, 0775), 0);
	check_int(store_load(sub, &back), 0);
	check_int(stat(sub, &st), 0);
	check_int(st.st_mode & 07777, 0700);
	/* A shared directory (sticky, like /tmp) is not changed. */
	check_int(chmod(sub, 01777), 0);
	check_int(store_load(sub, &back), 0);
	check_int(stat(sub, &st), 0);
	check_int(st.st_mode & 07777, 01777);
	check_int(rmdir(sub), 0);
}

/* ------------------------------------------------- the manager's startup */

static usec_t vnow = 1000ULL * 24 * USEC_PER_HOUR, vreal = 1700000000ULL * USEC_PER_SEC;

static usec_t virtual_clock(void *userdata)
{
	return vnow;
}

static usec_t virtual_realtime(void *userdata)
{
	return vreal;
}

/* A manager on the simulated chip with @config, keeping its state in @state_dir. */
static Manager *manager_from(const char *config, const char *state_dir)
{
	Manager *m = NULL;

	write_text("config.json", config);
	check_int(manager_new(&m,
			      &(ManagerOptions){
				      .config_path = path_of("config.json"),
				      .config_must_exist = true,
				      .state_dir = state_dir,
				      .clock = virtual_clock,
				      .clock_realtime = virtual_realtime,
			      }),
		  0);
	(void)unlink(path_of("config.json"));
	if (!m)
		abort();
	return m;
}

static Definition *definition(Manager *m, const char *name)
{
	return name_table_get(&m->registry.definitions, name);
}

/* A program entry of state.json, started at @started. */
static void program_entry(FILE *f, const char *name, const char *program, usec_t started)
{
	_cleanup_(json_object_putp) json_object *s = json_object_new_string(program);

	fprintf(f, "{\"name\":\"%s\",\"program\":%s,\"priority\":0,\"timeout\":0,\"started\":%llu}",
		name, json_object_to_json_string(s), (unsigned long long)started);
}

/*
 * A stored definition calling a name no longer defined is left out, and so
 * is one that called it; the config's definition of its name is back, and
 * the autostart program calling it starts. (The landed tree exited 1:
 * "$.autostart.a: no definition named "z"".)
 */
static void test_startup_definition_gone(void)
{
	Manager *m;

	write_text("state.json",
		   "{\"format\":\"blinkd-state-1\",\"programs\":[],\"definitions\":["
		   "{\"name\":\"x\",\"program\":\"{\\\"call\\\":\\\"z\\\"}\"},"
		   "{\"name\":\"y\",\"program\":\"{\\\"call\\\":\\\"w\\\"}\"},"
		   "{\"name\":\"w\",\"program\":\"{\\\"call\\\":\\\"gone\\\"}\"},"
		   "{\"name\":\"v\",\"program\":\"{\\\"call\\\":\\\"x\\\"}\"},"
		   "{\"name\":\"bad\",\"program\":\"{\\\"on\\\":{\\\"lines\\\":[\\\"nope\\\"]}}\"},"
		   "{\"name\":\"u\",\"program\":\"{\\\"frobnicate\\\":{}}\"}]}");
	m = manager_from("{\"chip\":\"sim\",\"definitions\":{\"x\":{\"on\":{\"lines\":[1]}}},"
			 "\"autostart\":{\"a\":{\"call\":\"x\"}}}",
			 dir);
	check_int(manager_startup(m), 0);
	check(manager_get_running(m, "a") != NULL);
	check(definition(m, "x") && !definition(m, "x")->persistent);
	check(!definition(m, "y"));
	check(!definition(m, "w"));
	check(!definition(m, "bad"));
	check(!definition(m, "u"));
	/* v calls x, which is the config's now: it fits. */
	check(definition(m, "v") && definition(m, "v")->persistent);
	manager_free(m);

	/* The store was written without what was left out. */
	{
		StoreContent back = {};

		check_int(store_load(dir, &back), 0);
		check_int(back.n_definitions, 1);
		if (back.n_definitions == 1)
			check_str(back.definitions[0].name, "v");
		store_content_done(&back);
	}

	/*
	 * The config calls x without defining it, and the store's x is left
	 * out: that autostart program is left out too, not the daemon.
	 */
	write_text("state.json", "{\"format\":\"blinkd-state-1\",\"programs\":[],\"definitions\":["
				 "{\"name\":\"x\",\"program\":\"{\\\"call\\\":\\\"z\\\"}\"}]}");
	m = manager_from("{\"chip\":\"sim\",\"autostart\":{\"a\":{\"call\":\"x\"},"
			 "\"b\":{\"on\":{\"lines\":[2]}}}}",
			 dir);
	check_int(manager_startup(m), 0);
	check(manager_get_running(m, "a") == NULL);
	check(manager_get_running(m, "b") != NULL);
	manager_free(m);

	/*
	 * Cycles: the store's x would call the config's y, which calls x; the
	 * store's p and q call each other. Each is left out; the config's x
	 * is back.
	 */
	write_text("state.json", "{\"format\":\"blinkd-state-1\",\"programs\":[],\"definitions\":["
				 "{\"name\":\"x\",\"program\":\"{\\\"call\\\":\\\"y\\\"}\"},"
				 "{\"name\":\"p\",\"program\":\"{\\\"call\\\":\\\"q\\\"}\"},"
				 "{\"name\":\"q\",\"program\":\"{\\\"call\\\":\\\"p\\\"}\"}]}");
	m = manager_from("{\"chip\":\"sim\",\"definitions\":{\"x\":{\"on\":{\"lines\":[1]}},"
			 "\"y\":{\"call\":\"x\"}},\"autostart\":{\"a\":{\"call\":\"y\"}}}",
			 dir);
	check_int(manager_startup(m), 0);
	check(manager_get_running(m, "a") != NULL);
	check(definition(m, "x") && !definition(m, "x")->persistent);
	check(!definition(m, "p"));
	check(!definition(m, "q"));
	manager_free(m);

	/* Without any state, that config is wrong on its own: fatal, as before. */
	(void)unlink(path_of("state.json"));
	m = manager_from("{\"chip\":\"sim\",\"autostart\":{\"a\":{\"call\":\"x\"}}}", dir);
	check(manager_startup(m) < 0);
	manager_free(m);
}

/*
 * max_programs 3, three stored programs and an autostart program: the
 * autostart program wins, two stored ones resume, the last is left out.
 * A stored program named as an autostart program takes its place. (The
 * landed tree exited 1: "3 programs are running, the most there may be".)
 */
static void test_startup_limit(void)
{
	StoreContent back = {};
	Manager *m;
	FILE *f;

	f = fopen(path_of("state.json"), "we");
	if (!f)
		abort();
	fputs("{\"format\":\"blinkd-state-1\",\"definitions\":[],\"programs\":[", f);
	program_entry(f, "p1", "{\"blink\":{\"lines\":[1],\"interval\":\"1s\"}}", vreal - 1);
	fputs(",", f);
	program_entry(f, "p2", "{\"blink\":{\"lines\":[2],\"interval\":\"1s\"}}", vreal - 1);
	fputs(",", f);
	program_entry(f, "p3", "{\"blink\":{\"lines\":[3],\"interval\":\"1s\"}}", vreal - 1);
	fputs("]}", f);
	fclose(f);
	m = manager_from("{\"chip\":\"sim\",\"max_programs\":3,"
			 "\"autostart\":{\"a\":{\"on\":{\"lines\":[4]}}}}",
			 dir);
	check_int(manager_startup(m), 0);
	check(manager_get_running(m, "a") != NULL);
	check(manager_get_running(m, "p1") != NULL);
	check(manager_get_running(m, "p2") != NULL);
	check(manager_get_running(m, "p3") == NULL);
	check_int(m->registry.running.n, 3);
	manager_free(m);
	check_int(store_load(dir, &back), 0);
	check_int(back.n_programs, 2);
	store_content_done(&back);

	/* Stored "a" goes on in its own phase, in the autostart program's place. */
	f = fopen(path_of("state.json"), "we");
	if (!f)
		abort();
	fputs("{\"format\":\"blinkd-state-1\",\"definitions\":[],\"programs\":[", f);
	program_entry(f, "p1", "{\"blink\":{\"lines\":[1],\"interval\":\"1s\"}}", vreal - 1);
	fputs(",", f);
	program_entry(f, "a", "{\"blink\":{\"lines\":[5],\"interval\":\"1s\"}}", vreal - 1);
	fputs(",", f);
	program_entry(f, "p2", "{\"blink\":{\"lines\":[2],\"interval\":\"1s\"}}", vreal - 1);
	fputs("]}", f);
	fclose(f);
	m = manager_from("{\"chip\":\"sim\",\"max_programs\":3,"
			 "\"autostart\":{\"a\":{\"on\":{\"lines\":[4]}}}}",
			 dir);
	check_int(manager_startup(m), 0);
	check_int(m->registry.running.n, 3);
	check(manager_get_running(m, "a") && manager_get_running(m, "a")->persistent);
	manager_free(m);
	(void)unlink(path_of("state.json"));
}

/*
 * A stored start more than a day ahead (the one-day bound of "at") is left
 * out; one an hour ahead stays scheduled. A program calling a name no
 * longer defined, or of a kind blinkd does not know, is left out. (The
 * landed tree resumed the year-ahead one scheduled a year ahead.)
 */
static void test_startup_programs(void)
{
	Manager *m;
	FILE *f;

	f = fopen(path_of("state.json"), "we");
	if (!f)
		abort();
	fputs("{\"format\":\"blinkd-state-1\",\"definitions\":[],\"programs\":[", f);
	program_entry(f, "year", "{\"on\":{\"lines\":[1]}}", vreal + 365 * 24 * USEC_PER_HOUR);
	fputs(",", f);
	program_entry(f, "hour", "{\"on\":{\"lines\":[2]}}", vreal + USEC_PER_HOUR);
	fputs(",", f);
	program_entry(f, "calls", "{\"call\":\"nothing\"}", vreal - 1);
	fputs(",", f);
	program_entry(f, "kind", "{\"frobnicate\":{\"lines\":[1]}}", vreal - 1);
	fputs(",", f);
	program_entry(f, "cycle", "{\"cycle\":{\"lines\":[3,4],\"interval\":\"1s\"}}", vreal - 1);
	fputs("]}", f);
	fclose(f);
	m = manager_from("{\"chip\":\"sim\"}", dir);
	check_int(manager_startup(m), 0);
	check(manager_get_running(m, "year") == NULL);
	check(manager_get_running(m, "hour") && running_is_scheduled(manager_get_running(m, "hour")));
	check(manager_get_running(m, "calls") == NULL);
	check(manager_get_running(m, "kind") == NULL);
	check(manager_get_running(m, "cycle") != NULL);
	manager_free(m);
	(void)unlink(path_of("state.json"));
}

/*
 * A chain of 4100 stored definitions, each calling the next: those whose
 * calls nest deeper than a run can bind (4095) are left out, the rest
 * start (the landed tree kept them all, and a program calling the first
 * could not start); and a chain of 3000 ending in a name that is gone is
 * left out whole.
 */
static void test_startup_deep_chain(void)
{
	ManagerError e = {};
	Manager *m;
	FILE *f;

	f = fopen(path_of("state.json"), "we");
	if (!f)
		abort();
	fputs("{\"format\":\"blinkd-state-1\",\"programs\":[],\"definitions\":[", f);
	for (unsigned i = 0; i < 4100; i++)
		fprintf(f, "%s{\"name\":\"k%05u\",\"program\":\"{\\\"call\\\":\\\"k%05u\\\"}\"}", i ? "," : "",
			i, i + 1);
	fputs(",{\"name\":\"k04100\",\"program\":\"{\\\"wait\\\":1}\"}", f);
	for (unsigned i = 0; i < 3000; i++)
		fprintf(f, ",{\"name\":\"x%05u\",\"program\":\"{\\\"call\\\":\\\"x%05u\\\"}\"}", i,
			i + 1);
	fputs("]}", f);
	fclose(f);
	m = manager_from("{\"chip\":\"sim\",\"autostart\":{\"a\":{\"call\":\"k00000\"}}}", dir);
	check_int(manager_startup(m), 0);
	check(manager_get_running(m, "a") == NULL); /* it calls one left out */
	check(!definition(m, "k00005"));
	check(definition(m, "k00006") != NULL);
	check(!definition(m, "x00000"));
	check_int(m->registry.definitions.n, 4095);
	check_int(manager_start_program(m, "deep", "{\"call\":\"k00006\"}", false, &e), 0);
	manager_free(m);
	(void)unlink(path_of("state.json"));
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
	test_set_aside_keeps_earlier();
	test_entries();
	test_not_regular();
	test_directory_mode();
	test_startup_definition_gone();
	test_startup_limit();
	test_startup_programs();
	test_startup_deep_chain();
	test_write_side();
	test_duplicate_keys();
	(void)unlink(path_of("state.json"));
	(void)unlink(path_of(".state.json.new"));
	remove_broken();
	(void)rmdir(dir);
	return test_summary("test-store");
}
