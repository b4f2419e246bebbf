/* SPDX-License-Identifier: MIT */
/*
 * Hostile state: the daemon (--chip sim, on a private bus, with its own
 * --state-dir) is started on state files that no longer fit or are not
 * state at all, and must every time become ready within a bound (answer
 * List), run what fits and not what does not, and log why.
 *
 * Whole files set aside: garbage, an empty file, a FIFO (the landed tree
 * hung in fopen() after taking its bus name), a symbolic link to planted
 * state, a directory, a sparse 1 GiB file, 8 MiB of blanks and a stray
 * byte. Each becomes state.json.broken.N, and every earlier one is still
 * there. Entries left out one by one, the rest running: wrong types,
 * unknown keys and kinds, a priority of 2^32 + 5, a start a year ahead, a
 * program or definition calling a name that is gone, an autostart calling
 * a Define'd definition that calls a name that is gone (the landed tree
 * exited 1), three stored programs under max_programs 3 with an autostart
 * (exit 1 too). And the state directory's mode is tightened to 0700.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "robustness.h"

/* How long the daemon may take from its start to answering List. */
#define READY_BOUND (5 * S)

static const char *state_path(const char *name)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "state/%s", name);
	return harness_path(rel);
}

static const char *broken_name(unsigned n)
{
	static char name[64];

	snprintf(name, sizeof(name), "state.json.broken.%u", n);
	return name;
}

static bool state_exists(const char *name)
{
	struct stat st;

	return lstat(state_path(name), &st) == 0;
}

/* Everything a scenario may leave in the state directory goes, whatever it is. */
static void clear_state(void)
{
	const char *names[] = { "state.json", ".state.json.new", "target.json" };

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		(void)unlink(state_path(names[i]));
		(void)rmdir(state_path(names[i]));
	}
	for (unsigned n = 1; n <= 20; n++) {
		(void)unlink(state_path(broken_name(n)));
		(void)rmdir(state_path(broken_name(n)));
	}
}

/* state.json gone, whatever it was (one a hung daemon left must not spoil the next case). */
static void remove_state_file(void)
{
	(void)unlink(state_path("state.json"));
	(void)rmdir(state_path("state.json"));
}

static void write_state(const char *text)
{
	remove_state_file();
	harness_write_file("state/state.json", text);
}

/* Whether @list ("name program" a line) has a line for @name. */
static bool listed(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; p && *p;) {
		if (strncmp(p, name, len) == 0 && p[len] == ' ')
			return true;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return false;
}

/* The Lit property as "1,2,3", or NULL. */
static char *lit_lines(Client *c)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	_cleanup_(freep) unsigned *v = NULL;
	int n;

	if (client_get_property(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "Lit", "au", &m) < 0)
		return NULL;
	n = message_read_au(m, &v);
	if (n < 0)
		return NULL;
	qsort(v, (size_t)n, sizeof(unsigned), compare_unsigned);
	return strdup(format_au(v, (size_t)n));
}

typedef struct Started {
	Client *client;
	char *list;	   /* List() */
	char *definitions; /* ListDefinitions() */
	char *log;	   /* what the daemon logged by then */
	usec_t ready;	   /* from its start to List answered */
} Started;

static void started_done(Started *s)
{
	client_free(s->client);
	free(s->list);
	free(s->definitions);
	free(s->log);
	*s = (Started){};
}

/*
 * Start the daemon on the state there is, with @config; check that it
 * answers List within READY_BOUND of its start, and read what it runs.
 */
static void start_on_state(const char *config, Started *s)
{
	usec_t bound = harness_wrapper() ? HARNESS_WRAPPER_SLOWDOWN * READY_BOUND : READY_BOUND;
	usec_t t0 = now_usec(CLOCK_MONOTONIC);

	harness_restart_daemon(config);
	s->client = client_new();
	/* A daemon that took its name but hangs must fail here, not after sd-bus's 25 s. */
	(void)sd_bus_set_method_call_timeout(s->client->bus, bound);
	s->list = client_list(s->client, false);
	s->ready = now_usec(CLOCK_MONOTONIC) - t0;
	check(s->list != NULL);
	check(s->ready < bound);
	s->definitions = client_list(s->client, true);
	check(s->definitions != NULL);
	check(harness_daemon_alive());
	s->log = read_file(harness_daemon_log());
}

/* SIGTERM: exit 0; returns how long the daemon took to be ready, for the figures. */
static usec_t stop(Started *s)
{
	usec_t ready = s->ready;

	/* One that never answered is stuck: SIGTERM would wait for nothing (checked failed already). */
	if (!s->list)
		(void)harness_stop_daemon(SIGKILL);
	else
		check_int(harness_stop_daemon(SIGTERM), 0);
	started_done(s);
	return ready;
}

static usec_t worst_ready;

static void note_ready(const Started *s)
{
	if (s->ready > worst_ready)
		worst_ready = s->ready;
}

/* ------------------------------------------------------- whole files */

/* @what at state.json is set aside as state.json.broken.@n, and the daemon is ready. */
static void check_set_aside(const char *what, unsigned n)
{
	Started s = {};
	char expect[96];

	start_on_state(NULL, &s);
	note_ready(&s);
	check(!state_exists("state.json"));
	check(state_exists(broken_name(n)));
	/* Every earlier set-aside is still there. */
	for (unsigned i = 1; i < n; i++)
		check(state_exists(broken_name(i)));
	snprintf(expect, sizeof(expect), "set aside as %s", broken_name(n));
	check_contains(s.log, expect);
	if (!s.log || !strstr(s.log, expect))
		fprintf(stderr, "    (%s)\n", what);
	check_str(s.list, "");
	(void)stop(&s);
}

static void test_whole_files(void)
{
	char target[256];
	int fd;

	figure_mark();
	clear_state();
	/* The daemons' --state-dir (harness_state_dir() is known once one has started). */
	(void)mkdir(harness_path("state"), 0700);

	write_state("\x01garbage, not JSON\xff");
	check_set_aside("garbage", 1);

	write_state("");
	check_set_aside("an empty file", 2);

	remove_state_file();
	check_int(mkfifo(state_path("state.json"), 0600), 0);
	check_set_aside("a FIFO", 3);

	/* A link to planted state: not followed, the planted definition not read. */
	harness_write_file("state/target.json",
			   "{\"format\":\"blinkd-state-1\",\"programs\":[],\"definitions\":"
			   "[{\"name\":\"planted\",\"program\":\"{\\\"wait\\\":1}\"}]}");
	snprintf(target, sizeof(target), "%s", state_path("target.json"));
	remove_state_file();
	check_int(symlink(target, state_path("state.json")), 0);
	{
		Started s = {};

		start_on_state(NULL, &s);
		note_ready(&s);
		check(!listed(s.definitions, "planted"));
		check(state_exists(broken_name(4)));
		check(state_exists("target.json"));
		check_contains(s.log, "is a symbolic link; set aside as state.json.broken.4");
		(void)stop(&s);
	}

	remove_state_file();
	check_int(mkdir(state_path("state.json"), 0700), 0);
	check_set_aside("a directory", 5);

	remove_state_file();
	fd = open(state_path("state.json"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	check(fd >= 0);
	check_int(ftruncate(fd, 1LL << 30), 0); /* sparse: takes no room */
	close(fd);
	check_set_aside("a sparse 1 GiB file", 6);

	{
		size_t size = 8 << 20;
		char *blanks = malloc(size + 2);

		if (!blanks)
			harness_fatal("out of memory");
		memset(blanks, ' ', size);
		blanks[size] = 'x';
		blanks[size + 1] = '\0';
		write_state(blanks);
		free(blanks);
	}
	check_set_aside("8 MiB of blanks and a stray byte", 7);

	figure("state.json is garbage, empty, a FIFO, a symlink to planted state, a directory, a "
	       "sparse 1 GiB file, 8 MiB of blanks and a stray byte; the daemon started on each |"
	       " ready (List answered) every time, at worst %.0f ms after its start (bound %.0f s); "
	       "each file set aside as state.json.broken.1 to .7, every earlier one kept; the "
	       "symlink's target untouched, its planted definition not read",
	       (double)worst_ready / MS, (double)READY_BOUND / S);
	clear_state();
}

/* ------------------------------------------------------------ entries */

/* @s as a JSON string, quotes included (the programs here hold no control characters). */
static char *json_quote(const char *s)
{
	char *q = malloc(2 * strlen(s) + 3), *p = q;

	if (!q)
		harness_fatal("out of memory");
	*p++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	*p = '\0';
	return q;
}

/* One entry of state.json's "programs", @extra (may be "") added to its keys. */
static char *program_entry(const char *name, const char *program, const char *priority,
			   usec_t started, const char *extra)
{
	_cleanup_(freep) char *quoted = json_quote(program);
	char *text = NULL;

	if (asprintf(&text,
		     "{\"name\":\"%s\",\"program\":%s,\"priority\":%s,\"timeout\":0,"
		     "\"started\":%llu%s}",
		     name, quoted, priority, (unsigned long long)started, extra) < 0)
		harness_fatal("out of memory");
	return text;
}

static void test_entries(void)
{
	usec_t now = now_usec(CLOCK_REALTIME), year = 365ULL * 24 * USEC_PER_HOUR;
	_cleanup_(freep) char *runs = program_entry(
		"runs", "{\"blink\":{\"lines\":[1],\"interval\":\"10s\"}}", "0", now, "");
	_cleanup_(freep) char *wide = program_entry("wide", "{\"on\":{\"lines\":[2]}}",
						   "4294967301", now, "");
	_cleanup_(freep) char *ahead = program_entry("ahead", "{\"on\":{\"lines\":[3]}}", "0",
						    now + year, "");
	_cleanup_(freep) char *kind = program_entry("kind", "{\"frobnicate\":{\"lines\":[4]}}",
						   "0", now, "");
	_cleanup_(freep) char *key = program_entry("key", "{\"on\":{\"lines\":[5]}}", "0", now,
						  ",\"levels\":[1]");
	_cleanup_(freep) char *gone = program_entry("gone", "{\"call\":\"nothing\"}", "0", now,
						   "");
	_cleanup_(freep) char *state = NULL, *lit = NULL;
	Started s = {};
	usec_t ready;

	figure_mark();
	clear_state();
	if (asprintf(&state,
		     "{\"format\":\"blinkd-state-1\",\"programs\":[%s,%s,%s,%s,%s,%s,"
		     "{\"name\":\"typed\",\"program\":{\"on\":{}},\"priority\":0,\"timeout\":0,"
		     "\"started\":1}],"
		     "\"definitions\":["
		     "{\"name\":\"x\",\"program\":\"{\\\"call\\\":\\\"z\\\"}\"},"
		     "{\"name\":\"keep\",\"program\":\"{\\\"wait\\\":\\\"1s\\\"}\"},"
		     "{\"name\":\"typed\",\"program\":7},"
		     "{\"name\":\"odd\",\"program\":\"{}\",\"kind\":\"new\"},"
		     "{\"name\":\"bad\\nname\",\"program\":\"{}\"}]}",
		     runs, wide, ahead, kind, key, gone) < 0)
		harness_fatal("out of memory");
	write_state(state);
	start_on_state("{\"definitions\":{\"x\":{\"on\":{\"lines\":[6]}}},"
		       "\"autostart\":{\"a\":{\"call\":\"x\"}}}",
		       &s);
	note_ready(&s);
	/* What fits runs... */
	check(listed(s.list, "a"));
	check(listed(s.list, "runs"));
	check(!listed(s.list, "ahead"));
	check(listed(s.definitions, "keep"));
	check_contains(s.definitions, "x {\"on\":{\"lines\":[6]}}");
	/* ...and nothing else. */
	check_int(count_lines(s.list), 2);
	check_int(count_lines(s.definitions), 2);
	lit = lit_lines(s.client);
	check_str(lit, "1,6");
	/* Each left out, named, and why. */
	check_contains(s.log, "stored program \"wide\" left out: priority");
	check_contains(s.log, "stored program \"key\" left out: it has a key blinkd does not know");
	check_contains(s.log, "stored program \"typed\" left out: program: missing or not a string");
	check_contains(s.log, "stored definition \"typed\" left out");
	check_contains(s.log, "stored definition \"odd\" left out");
	check_contains(s.log, "stored definition \"bad\\x0aname\" left out");
	check_contains(s.log, "Stored definition \"x\" left out: it calls \"z\"");
	check_contains(s.log, "Stored program \"kind\" left out");
	check_contains(s.log, "Stored program \"gone\" left out: no definition named \"nothing\"");
	check_contains(s.log, "Stored program \"ahead\" left out: it was to start");
	check(!state_exists(broken_name(1)));
	ready = stop(&s);

	figure("one state.json with entries of wrong types, unknown keys, an unknown kind, a "
	       "priority of 2^32 + 5, a start a year ahead, a program and a definition calling "
	       "names that are gone, under a config whose autostart calls the definition that "
	       "is gone |"
	       " ready in %.0f ms; the autostart program and the fitting program run, the "
	       "config's definition is back; every other entry, the one a year ahead too, "
	       "left out with a log line naming it and why; the file not set aside",
	       (double)ready / MS);
	clear_state();
}

/* Three stored programs, max_programs 3 and an autostart program: the autostart one wins. */
static void test_limit(void)
{
	usec_t now = now_usec(CLOCK_REALTIME);
	_cleanup_(freep) char *p1 = program_entry("p1", "{\"on\":{\"lines\":[1]}}", "0", now, "");
	_cleanup_(freep) char *p2 = program_entry("p2", "{\"on\":{\"lines\":[2]}}", "0", now, "");
	_cleanup_(freep) char *p3 = program_entry("p3", "{\"on\":{\"lines\":[3]}}", "0", now, "");
	_cleanup_(freep) char *state = NULL, *lit = NULL;
	Started s = {};
	usec_t ready;

	figure_mark();
	clear_state();
	if (asprintf(&state, "{\"format\":\"blinkd-state-1\",\"programs\":[%s,%s,%s],"
			     "\"definitions\":[]}",
		     p1, p2, p3) < 0)
		harness_fatal("out of memory");
	write_state(state);
	start_on_state("{\"max_programs\":3,\"autostart\":{\"a\":{\"on\":{\"lines\":[4]}}}}", &s);
	note_ready(&s);
	check(listed(s.list, "a"));
	check_int(count_lines(s.list), 3);
	lit = lit_lines(s.client);
	check_str(lit, "1,2,4");
	check_contains(s.log, "Stored program \"p3\" left out: no room under max_programs (3)");
	ready = stop(&s);
	figure("three stored programs, max_programs 3 and an autostart program |"
	       " ready in %.0f ms; the autostart program and two stored ones run, the third is "
	       "left out with a log line",
	       (double)ready / MS);
	clear_state();
}

/*
 * The issue's own steps over D-Bus: Define x 'call(z)' over the config's x,
 * a persistent program, SIGTERM; restart with an autostart calling x. And
 * the state directory, made 0755 meanwhile, is 0700 again.
 */
static void test_define_then_restart(void)
{
	const char *config = "{\"definitions\":{\"x\":{\"on\":{\"lines\":[6]}}},"
			     "\"autostart\":{\"a\":{\"call\":\"x\"}}}";
	sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	_cleanup_(freep) char *lit = NULL;
	Started s = {};
	usec_t ready;
	struct stat st;
	int r;

	figure_mark();
	clear_state();
	start_on_state("{\"definitions\":{\"x\":{\"on\":{\"lines\":[6]}}}}", &s);
	r = client_call(s.client, "Define", &error, NULL, "ss", "x", "{\"call\":\"z\"}");
	check_ok(r, &error);
	sd_bus_error_free(&error);
	r = sd_bus_message_new_method_call(s.client->bus, &m, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					   BLINKD_MANAGER_INTERFACE, "StartWithOptions");
	if (r >= 0)
		r = sd_bus_message_append(m, "ssa{sv}", "keep", "{\"on\":{\"lines\":[7]}}", 1,
					  "persist", "b", 1);
	if (r >= 0)
		r = sd_bus_call(s.client->bus, m, 0, &error, &reply);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	(void)stop(&s);

	check_int(chmod(harness_state_dir(), 0755), 0);
	start_on_state(config, &s);
	note_ready(&s);
	check(listed(s.list, "a"));
	check(listed(s.list, "keep"));
	check_contains(s.definitions, "x {\"on\":{\"lines\":[6]}}");
	lit = lit_lines(s.client);
	check_str(lit, "6,7");
	check_contains(s.log, "Stored definition \"x\" left out: it calls \"z\"");
	check_contains(s.log, "Tightened the mode of the state directory");
	check_int(stat(harness_state_dir(), &st), 0);
	check_int(st.st_mode & 07777, 0700);
	ready = stop(&s);
	figure("Define x 'call(z)' over the config's x, a persistent program, SIGTERM, state "
	       "directory made 0755, restart with an autostart calling x |"
	       " ready in %.0f ms (the landed tree exited 1: no definition named \"z\"); the "
	       "autostart program runs the config's x, the persistent program is back; the "
	       "directory is 0700 again, logged",
	       (double)ready / MS);
	clear_state();
}

/*
 * A persisted breathing LED, SIGTERM, 3 s, restart: the daemon must be
 * ready. It hung in the engine's catch-up before issue 23's item 1 was
 * fixed (test-robustness-catchup tries the same through the engine's side).
 */
static void test_persisted_fade(void)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	Started s = {};
	int r;

	clear_state();
	start_on_state(NULL, &s);
	r = sd_bus_message_new_method_call(s.client->bus, &m, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					   BLINKD_MANAGER_INTERFACE, "StartWithOptions");
	if (r >= 0)
		r = sd_bus_message_append(m, "ssa{sv}", "breathe",
					  "{\"forever\":{\"sequence\":[{\"fade\":{\"lines\":[1],"
					  "\"from\":0,\"to\":1,\"over\":\"1s\"}},{\"fade\":{\"lines\":"
					  "[1],\"from\":1,\"to\":0,\"over\":\"1s\"}}]}}",
					  1, "persist", "b", 1);
	if (r >= 0)
		r = sd_bus_call(s.client->bus, m, 0, &error, &reply);
	check_ok(r, &error);
	sd_bus_error_free(&error);
	(void)stop(&s);
	sleep_usec(3 * S);
	start_on_state(NULL, &s);
	check(listed(s.list, "breathe"));
	(void)stop(&s);
	clear_state();
}

int main(void)
{
	harness_init();
	figures_begin("test-robustness-state");
	test_whole_files();
	test_entries();
	test_limit();
	test_define_then_restart();
	test_persisted_fade();
	figures_end();
	return test_summary("test-robustness-state");
}
