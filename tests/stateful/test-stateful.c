/* SPDX-License-Identifier: MIT */
/*
 * The stateful fuzzer: random sequences of Start, StartWithOptions (every
 * option), Replace, Stop, StopAll, Define, Undefine, restarts of the daemon
 * by SIGTERM and SIGKILL, reboots (the monotonic clock starting over) and
 * wall-clock steps, against one blinkd on the simulated chip, checked after
 * every step against a model of what should run.
 *
 * After each step: every call got a reply within STATEFUL_REPLY_MS; after a
 * restart the daemon said READY=1 (sd_notify) and owns its bus name within
 * STATEFUL_READY_MS; List names what the model says runs (persistent
 * programs back after a restart, nothing else; programs whose end passed
 * gone); ListDefinitions names the definitions (Define'd ones survive
 * restarts); each program's own line is lit or dark as the model says (a
 * blink's phase from its start, kept across restarts); the daemon's log has
 * no sanitizer report. Where the model cannot know (a program at the edge
 * of its end, state the daemon may leave out on purpose), either answer is
 * taken and the model follows what the daemon says.
 *
 * Clocks. Each daemon runs in a time namespace (unshare(CLONE_NEWTIME),
 * root only; skipped with a message otherwise) with a new CLOCK_MONOTONIC
 * and CLOCK_BOOTTIME offset at every start: mostly "just booted" (a few
 * seconds of uptime), sometimes days ahead, while real time passes between
 * the daemon's lives. A time namespace cannot move CLOCK_REALTIME, and
 * setting the machine's clock would disturb every other test: a wall-clock
 * step is simulated where it matters, in state.json, while the daemon is
 * down: every stored "started" moves by what the step would have made it
 * look (a step forward by D: D earlier), and the model moves the same way.
 *
 * Environment: STATEFUL_SEED (default: from the time), STATEFUL_SECONDS
 * (default 60), STATEFUL_STEPS (default: no bound), STATEFUL_REPLY_MS
 * (2000), STATEFUL_READY_MS (15000), STATEFUL_KILL_SETTLE_MS (1000: how
 * long the daemon is left alone before SIGKILL, so that state it writes a
 * little later still counts), STATEFUL_SKIP (comma-separated switches that
 * leave out what a known finding blocks; see skip_names below),
 * STATEFUL_LOG (a file for the whole step log; else the last steps are
 * printed on a finding), STATEFUL_HOLD (seconds to leave the daemon alive
 * after a finding, to look at it with gdb -p).
 *
 * A state directory that cannot be written is made by putting a directory
 * where the temporary file goes (.state.json.new): it works as root too,
 * where a read-only mode would not. A persistent start or a Define must
 * then fail with an error; a Stop or an Undefine may answer either way, and
 * what state.json holds is taken as unknown until the next restart shows it.
 *
 * The tested daemon is $BLINKD, the one of the build this test is part of:
 * under -Db_sanitize=address,undefined, the sanitized one. It runs with its
 * stdout and stderr in one log, read for sanitizer reports after every step.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "harness.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define N_SLOTS 8
#define N_DEFS 4 /* d0 (also in the configuration, called by autostart), d1..d3 */
#define MARGIN (60 * USEC_PER_MSEC) /* slack around instants the model computes */
#define AHEAD_MAX USEC_PER_DAY

/* ------------------------------------------------------------ switches */

/*
 * What a known finding blocks, left out with STATEFUL_SKIP=a,b: each names
 * the operations it leaves out. Off by default: the fuzzer tries everything.
 */
enum {
	SKIP_TRACKS,	 /* fade, pattern and morse (catch-up of ended tracks) */
	SKIP_DANGLING,	 /* calls to undefined definitions, undefining called ones */
	SKIP_LIMIT,	 /* max_programs below what the slots and autostart can fill */
	SKIP_UTF8,	 /* long non-ASCII names and option keys (cut error messages) */
	SKIP_UNWRITABLE, /* a state directory that cannot be written */
	SKIP_REPLACE_AT, /* Replace with a future at */
	SKIP_FAR_FUTURE, /* wall-clock steps back by more than a day */
	_SKIP_MAX,
};

static const char *const skip_names[_SKIP_MAX] = {
	[SKIP_TRACKS] = "tracks",	    [SKIP_DANGLING] = "dangling",
	[SKIP_LIMIT] = "limit",		    [SKIP_UTF8] = "utf8",
	[SKIP_UNWRITABLE] = "unwritable", [SKIP_REPLACE_AT] = "replace-at",
	[SKIP_FAR_FUTURE] = "far-future",
};

static bool skip[_SKIP_MAX];

/* -------------------------------------------------------------- random */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64: small, and the same sequence everywhere for a seed */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned rn(unsigned n)
{
	return n ? (unsigned)(rnd() % n) : 0;
}

static bool chance(unsigned percent)
{
	return rn(100) < percent;
}

/* ------------------------------------------------------------- the log */

static char *steps_text;
static size_t steps_size;
static FILE *steps;
static unsigned long n_step;
static uint64_t seed;

static void note(const char *fmt, ...) _printf_(1, 2);
static void note(const char *fmt, ...)
{
	va_list ap;

	fprintf(steps, "[%lu] ", n_step);
	va_start(ap, fmt);
	vfprintf(steps, fmt, ap);
	va_end(ap);
	fputc('\n', steps);
}

/* ------------------------------------------------------------ programs */

typedef enum Kind {
	K_BLINK, K_ON, K_WAIT, K_DIM, K_FADE, K_PATTERN, K_MORSE, K_HEARTBEAT,
	K_SEQUENCE, K_ALL, K_ANY, K_FOREVER, K_REPEAT, K_CALL,
} Kind;

typedef struct Node {
	Kind kind;
	usec_t d;	 /* a leaf's duration, or USEC_INFINITY */
	unsigned times;	 /* repeat */
	unsigned def;	 /* call */
	unsigned n;
	struct Node *child[3];
} Node;

static void node_free(Node *n)
{
	if (!n)
		return;
	for (unsigned i = 0; i < n->n; i++)
		node_free(n->child[i]);
	free(n);
}

static Node *node_new(Kind kind)
{
	Node *n = calloc(1, sizeof(Node));

	if (!n)
		harness_fatal("out of memory");
	n->kind = kind;
	return n;
}

static const char *const def_names[N_DEFS] = { "d0", "d1", "d2", "d3" };

/* The lines no slot owns: programs other than a slot's blink or on use these. */
static const char *const shared_lines[] = { "17", "3", "row 2", "row 3", "row 4", "[5, 24]",
					    "[17, 3, 14]" };

/* Each slot's own line: only the slot's blink or on drives it, so it can be checked. */
static const unsigned own_line[N_SLOTS] = { 11, 10, 27, 4, 2, 0, 9, 22 };

static const struct {
	const char *text;
	usec_t usec;
} durations[] = {
	{ "100us", 100 }, { "1ms", 1000 }, { "10ms", 10000 }, { "100ms", 100000 },
	{ "300ms", 300000 }, { "1s", 1000000 }, { "2s", 2000000 }, { "5s", 5000000 },
};

static usec_t pick_duration(FILE *f, unsigned max_index)
{
	unsigned i = rn(max_index + 1);

	fputs(durations[i].text, f);
	return durations[i].usec;
}

/* A random program on shared lines into @f; its tree. May call definitions. */
static Node *gen(FILE *f, unsigned depth, bool allow_calls)
{
	const char *lines = shared_lines[rn(ELEMENTSOF(shared_lines))];
	unsigned choice = rn(depth >= 3 ? 9 : 15);
	Node *n;

	if (skip[SKIP_TRACKS] && (choice == 4 || choice == 5 || choice == 6))
		choice = 0;
	if (!allow_calls && choice == 14)
		choice = 1;
	switch (choice) {
	case 0:
		n = node_new(K_BLINK);
		fprintf(f, "blink(%s, ", lines);
		n->d = pick_duration(f, 6);
		if (chance(60)) {
			n->times = 1 + rn(3);
			fprintf(f, ", %u", n->times);
			n->d *= 2 * n->times;
		} else
			n->d = USEC_INFINITY;
		fputs(")", f);
		return n;
	case 1:
		n = node_new(K_ON);
		fprintf(f, "on(%s", lines);
		if (chance(60)) {
			fputs(", ", f);
			n->d = pick_duration(f, 7);
		} else
			n->d = USEC_INFINITY;
		fputs(")", f);
		return n;
	case 2:
		n = node_new(K_WAIT);
		fputs("wait(", f);
		n->d = pick_duration(f, 7);
		fputs(")", f);
		return n;
	case 3:
		n = node_new(K_DIM);
		fprintf(f, "dim(%s, 0.%u", lines, 1 + rn(9));
		if (chance(60)) {
			fputs(", ", f);
			n->d = pick_duration(f, 7);
		} else
			n->d = USEC_INFINITY;
		fputs(")", f);
		return n;
	case 4:
		n = node_new(K_FADE);
		fprintf(f, "fade(%s, %s, ", lines, chance(50) ? "0, 1" : "1, 0");
		n->d = pick_duration(f, 7);
		fputs(")", f);
		return n;
	case 5: {
		usec_t a, b;

		n = node_new(K_PATTERN);
		fprintf(f, "pattern(%s, [[1, ", lines);
		a = pick_duration(f, 6);
		fputs("], [0, ", f);
		b = pick_duration(f, 6);
		fputs("]]", f);
		if (chance(70)) {
			n->times = 1 + rn(3);
			fprintf(f, ", %u", n->times);
			n->d = (a + b) * n->times;
		} else
			n->d = USEC_INFINITY;
		fputs(")", f);
		return n;
	}
	case 6: {
		bool two = chance(50);

		n = node_new(K_MORSE);
		fprintf(f, "morse(%s, \"%s\", ", lines, two ? "ET" : "E");
		n->d = pick_duration(f, 5) * (two ? 7 : 1);
		fputs(")", f);
		return n;
	}
	case 7:
		n = node_new(K_HEARTBEAT);
		fprintf(f, "heartbeat(%s, %s)", lines, chance(50) ? "600ms" : "1200ms");
		n->d = USEC_INFINITY;
		return n;
	case 8:
	case 9:
	case 10: {
		static const Kind kinds[] = { K_SEQUENCE, K_ALL, K_ANY };
		static const char *const words[] = { "sequence", "all", "any" };

		n = node_new(kinds[choice - 8]);
		n->n = 1 + rn(3);
		fprintf(f, "%s(", words[choice - 8]);
		for (unsigned i = 0; i < n->n; i++) {
			if (i)
				fputs(", ", f);
			n->child[i] = gen(f, depth + 1, allow_calls);
		}
		fputs(")", f);
		return n;
	}
	case 11:
	case 12:
		n = node_new(K_FOREVER);
		n->n = 1;
		fputs("forever(", f);
		n->child[0] = gen(f, depth + 1, allow_calls);
		fputs(")", f);
		return n;
	case 13:
		n = node_new(K_REPEAT);
		n->n = 1;
		n->times = 1 + rn(4);
		fprintf(f, "repeat(%u, ", n->times);
		n->child[0] = gen(f, depth + 1, allow_calls);
		fputs(")", f);
		return n;
	default:
		n = node_new(K_CALL);
		n->def = rn(N_DEFS);
		fprintf(f, "call(%s)", def_names[n->def]);
		return n;
	}
}

/* ---------------------------------------------------------------- model */

typedef enum Presence { ABSENT, PRESENT, MAYBE } Presence;

typedef enum Phase {
	PH_DARK,    /* the own line is dark: the program drives shared lines only */
	PH_BLINK,   /* blink(own, interval): lit in the first half of each period */
	PH_ON,	    /* on(own): lit */
	PH_UNKNOWN, /* cannot say */
} Phase;

typedef struct Def {
	Presence state;
	Node *tree;
	char *text;
	bool stale;	/* state.json may not say what the model says */
	bool versions;	/* d0: the configuration's or the Define'd one, unknown which */
} Def;

typedef struct Prog {
	Presence state;
	char *text;
	Node *tree;
	usec_t timeout;	  /* the option, 0: none */
	bool end_unknown; /* it calls definitions the model is not sure of: it may end any time */
	bool persist, bound;
	usec_t start, end; /* CLOCK_REALTIME; end USEC_INFINITY: never */
	usec_t end_slack;  /* how long after end it may still run */
	Phase phase;
	usec_t interval;
	/* Replace at a future instant: the old program drives the own line until then. */
	Phase prev_phase;
	usec_t prev_start, prev_interval, prev_until, prev_end;
	bool stale; /* state.json may still hold it (or not hold it) */
	/*
	 * A persistent program the store could not lose (stopped or replaced
	 * while the state could not be written) may come back at a restart, as
	 * the daemon still has it on disk: the model knows neither its program
	 * nor its phase, so it follows what the daemon lists, and checks no line.
	 */
	bool ghost;
} Prog;

static struct {
	Prog prog[N_SLOTS + 1]; /* the last is autostart's "auto" */
	Def def[N_DEFS];
	unsigned max_programs;
	bool unwritable;
} model;

#define AUTO N_SLOTS

static const char *slot_name(unsigned i)
{
	static const char *const names[N_SLOTS + 1] = { "p0", "p1", "p2", "p3", "p4",
							"p5", "p6", "p7", "auto" };
	return names[i];
}

static usec_t add_sat(usec_t a, usec_t b)
{
	return (a == USEC_INFINITY || b == USEC_INFINITY || a + b < a) ? USEC_INFINITY : a + b;
}

static usec_t mul_sat(usec_t a, unsigned k)
{
	return a == USEC_INFINITY ? USEC_INFINITY : a * k;
}

/*
 * The duration of @n with the definitions as the model has them; sets
 * *@notdef when it calls a name that is not defined, *@unsure when the
 * model cannot know (a definition that may or may not be there).
 */
static usec_t duration_of(const Node *n, unsigned depth, bool *notdef, bool *unsure)
{
	usec_t d = 0, c;

	if (depth > 40) {
		*unsure = true;
		return USEC_INFINITY;
	}
	switch (n->kind) {
	case K_SEQUENCE:
		for (unsigned i = 0; i < n->n; i++)
			d = add_sat(d, duration_of(n->child[i], depth + 1, notdef, unsure));
		return d;
	case K_ALL:
		for (unsigned i = 0; i < n->n; i++) {
			c = duration_of(n->child[i], depth + 1, notdef, unsure);
			d = c > d ? c : d;
		}
		return d;
	case K_ANY:
		d = USEC_INFINITY;
		for (unsigned i = 0; i < n->n; i++) {
			c = duration_of(n->child[i], depth + 1, notdef, unsure);
			d = c < d ? c : d;
		}
		return d;
	case K_FOREVER:
		(void)duration_of(n->child[0], depth + 1, notdef, unsure);
		return USEC_INFINITY;
	case K_REPEAT:
		return mul_sat(duration_of(n->child[0], depth + 1, notdef, unsure), n->times);
	case K_CALL: {
		const Def *def = &model.def[n->def];

		if (def->state == ABSENT) {
			*notdef = true;
			return USEC_INFINITY;
		}
		if (def->state == MAYBE || def->versions)
			*unsure = true;
		return def->tree ? duration_of(def->tree, depth + 1, notdef, unsure)
				 : USEC_INFINITY;
	}
	default:
		return n->d;
	}
}

/* Whether @n calls definition @target, directly or through others. */
static bool calls(const Node *n, unsigned target, unsigned depth)
{
	if (depth > 40)
		return true;
	if (n->kind == K_CALL) {
		const Def *def = &model.def[n->def];

		if (n->def == target)
			return true;
		return def->state != ABSENT && def->tree && calls(def->tree, target, depth + 1);
	}
	for (unsigned i = 0; i < n->n; i++)
		if (calls(n->child[i], target, depth + 1))
			return true;
	return false;
}

/* Whether any definition (or autostart) calls @target. */
static bool is_called(unsigned target)
{
	for (unsigned i = 0; i < N_DEFS; i++)
		if (i != target && model.def[i].state != ABSENT && model.def[i].tree &&
		    calls(model.def[i].tree, target, 0))
			return true;
	return target == 0;
}

static void prog_clear(Prog *p)
{
	free(p->text);
	node_free(p->tree);
	*p = (Prog){ .state = ABSENT };
}

/* @p runs no more; @stale: whether a restart may still bring a stored copy back. */
static void prog_gone(Prog *p, bool stale)
{
	prog_clear(p);
	p->stale = stale;
}

/* Whether @p may, must or must not be listed at a call sent at @t0 and answered at @t1. */
static Presence listed(const Prog *p, usec_t t0, usec_t t1)
{
	if (p->state != PRESENT)
		return p->state;
	if (p->end_unknown)
		return MAYBE;
	if (p->end == USEC_INFINITY || p->end > t1 + MARGIN)
		return PRESENT;
	if (p->end + p->end_slack + MARGIN < t0)
		return ABSENT;
	return MAYBE;
}

/* The own line's value at @t from one phase description; -1 when unknown. */
static int phase_value(Phase ph, usec_t start, usec_t interval, usec_t end, usec_t t)
{
	if (ph == PH_UNKNOWN)
		return -1;
	if (t < start || t >= end || ph == PH_DARK)
		return 0;
	if (ph == PH_ON)
		return 1;
	return ((t - start) / interval) % 2 == 0;
}

static int own_value(const Prog *p, usec_t t)
{
	if (p->state == MAYBE || p->ghost)
		return -1;
	if (p->state == ABSENT)
		return 0;
	if (t < p->start && p->prev_phase != PH_DARK && t < p->prev_until)
		return phase_value(p->prev_phase, p->prev_start, p->prev_interval, p->prev_end, t);
	return phase_value(p->phase, p->start, p->interval, p->end, t);
}

/* Whether the own line may change in [@a, @b]: then it is not checked. */
static bool own_moves(const Prog *p, usec_t a, usec_t b)
{
	int v = own_value(p, a);

	if (v < 0 || own_value(p, b) != v)
		return true;
	/* Boundaries and blink edges inside the window. */
	if ((p->start > a && p->start <= b) ||
	    (p->end != USEC_INFINITY && p->end + p->end_slack >= a && p->end <= b + MARGIN))
		return true;
	if (p->prev_phase != PH_DARK && p->prev_until > a && p->prev_until <= b)
		return true;
	if (p->state == PRESENT && p->phase == PH_BLINK && b >= p->start && a >= p->start &&
	    (a - p->start) / p->interval != (b - p->start) / p->interval)
		return true;
	if (p->phase == PH_BLINK && a < p->start && b >= p->start)
		return true;
	if (p->prev_phase == PH_BLINK && a < p->prev_until && a >= p->prev_start &&
	    (a - p->prev_start) / p->prev_interval != (b - p->prev_start) / p->prev_interval)
		return true;
	return false;
}

/* ---------------------------------------------------------------- daemon */

static struct {
	char dir[256];	  /* the temporary directory of the harness */
	char state[300];  /* --state-dir */
	char log[300];	  /* the daemons' stderr, one after the other */
	char config[300];
	char notify[300]; /* NOTIFY_SOCKET */
	int notify_fd;
	pid_t pid;
	bool timens;	  /* time namespaces work here */
	int64_t offset;	  /* this daemon's CLOCK_MONOTONIC offset, in seconds */
	sd_bus *bus;
	usec_t reply_timeout, ready_timeout, kill_settle;
	unsigned long restarts, kills, terms, wall_steps, calls, phase_checks, phase_skipped,
		resolved, replies_unsure;
} d = { .notify_fd = -1 };

static void notify_close(void);

static void cleanup_state_dir(void)
{
	DIR *dir;
	struct dirent *e;

	if (!d.state[0])
		return;
	dir = opendir(d.state);
	while (dir && (e = readdir(dir))) {
		char p[600];

		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", d.state, e->d_name);
		if (unlink(p) < 0)
			(void)rmdir(p);
	}
	if (dir)
		closedir(dir);
	(void)rmdir(d.state);
}

static void at_exit(void)
{
	if (d.pid > 0) {
		(void)kill(d.pid, SIGKILL);
		(void)waitpid(d.pid, NULL, 0);
		d.pid = 0;
	}
	cleanup_state_dir();
	notify_close();
	(void)unlink(d.log);
	(void)unlink(d.config);
}

static bool findings_fatal = true;
static unsigned long n_findings;

static void print_steps(void)
{
	const char *log_path = getenv("STATEFUL_LOG");
	size_t n = 0;
	const char *p;

	fflush(steps);
	if (log_path && *log_path) {
		FILE *f = fopen(log_path, "we");
		if (f) {
			fputs(steps_text, f);
			fclose(f);
			fprintf(stderr, "the whole step sequence is in %s\n", log_path);
		}
	}
	/* The last 300 steps' lines. */
	for (p = steps_text + steps_size; p > steps_text; p--)
		if (p[-1] == '\n' && ++n > 400)
			break;
	fprintf(stderr, "--- steps (seed %" PRIu64 ")%s:\n%s--- end of steps\n", seed,
		p > steps_text ? ", the last 400 lines" : "", p);
}

static void print_daemon_log_tail(void)
{
	_cleanup_(freep) char *text = read_file(d.log);
	const char *p = text;
	size_t len = text ? strlen(text) : 0;

	if (len > 6000)
		p = text + len - 6000;
	fprintf(stderr, "--- the daemon's log (%s):\n%s--- end of the log\n", d.log,
		p ? p : "(unreadable)\n");
}

static void finding(const char *fmt, ...) _printf_(1, 2);
static void finding(const char *fmt, ...)
{
	va_list ap;
	char text[2048];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	note("FINDING: %s", text);
	n_findings++;
	fflush(stdout);
	fprintf(stderr, "\nFINDING at step %lu (seed %" PRIu64 "): %s\n", n_step, seed, text);
	if (!findings_fatal)
		return;
	print_steps();
	print_daemon_log_tail();
	fprintf(stderr, "reproduce: STATEFUL_SEED=%" PRIu64 " (and STATEFUL_SKIP as it was)\n",
		seed);
	/* STATEFUL_HOLD=N: leave the daemon as it is for N seconds, to look at it (gdb -p). */
	if (d.pid > 0 && getenv("STATEFUL_HOLD")) {
		fprintf(stderr, "the daemon (pid %d) is held for %s s\n", (int)d.pid,
			getenv("STATEFUL_HOLD"));
		sleep_usec(strtoull(getenv("STATEFUL_HOLD"), NULL, 10) * USEC_PER_SEC);
	}
	exit(1);
}

static const char *const sanitizer_marks[] = {
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "SUMMARY: AddressSanitizer",
    "SUMMARY: UndefinedBehaviorSanitizer",
    "WARNING: AddressSanitizer",
};

static void check_log(void)
{
	_cleanup_(freep) char *text = read_file(d.log);

	for (size_t i = 0; text && i < ELEMENTSOF(sanitizer_marks); i++)
		if (strstr(text, sanitizer_marks[i]))
			finding("the daemon's log has a sanitizer report (\"%s\")",
			        sanitizer_marks[i]);
}

static int name_has_owner(void)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r, has = 0;

	r = sd_bus_call_method(d.bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "NameHasOwner", &error, &reply, "s",
			       BLINKD_BUS_NAME);
	sd_bus_error_free(&error);
	if (r < 0)
		return r;
	r = sd_bus_message_read(reply, "b", &has);
	return r < 0 ? r : has;
}

/* The child: a time namespace with this life's offsets, then blinkd. */
static _Noreturn void exec_daemon(int64_t offset)
{
	const char *argv[16];
	size_t n = 0;
	int fd;

	if (d.timens) {
		char text[128];

		if (unshare(CLONE_NEWTIME) < 0) {
			fprintf(stderr, "unshare(CLONE_NEWTIME): %m\n");
			_exit(126);
		}
		fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
		snprintf(text, sizeof(text), "monotonic %" PRId64 " 0\nboottime %" PRId64 " 0\n",
			 offset, offset);
		if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
			fprintf(stderr, "timens_offsets: %m\n");
			_exit(126);
		}
		close(fd);
	}
	argv[n++] = harness_blinkd();
	argv[n++] = "--user";
	argv[n++] = "--state-dir";
	argv[n++] = d.state;
	argv[n++] = "--chip";
	argv[n++] = "sim";
	argv[n++] = "--trace";
	argv[n++] = "/dev/null";
	argv[n++] = "--config";
	argv[n++] = d.config;
	argv[n] = NULL;
	execv(argv[0], (char *const *)argv);
	fprintf(stderr, "cannot run %s: %m\n", argv[0]);
	_exit(127);
}

/* Whether time namespaces with offsets can be made here (root, a kernel with them). */
static bool timens_works(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		harness_fatal("fork: %m");
	if (pid == 0) {
		int fd;

		if (unshare(CLONE_NEWTIME) < 0)
			_exit(1);
		fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "monotonic 1 0\n", 14) != 14)
			_exit(1);
		_exit(0);
	}
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* This life's CLOCK_MONOTONIC offset: mostly a fresh boot, sometimes days of uptime. */
static int64_t pick_offset(void)
{
	int64_t up = (int64_t)(now_usec(CLOCK_MONOTONIC) / USEC_PER_SEC);
	int64_t boot = (int64_t)(now_usec(CLOCK_BOOTTIME) / USEC_PER_SEC);
	int64_t low = (up < boot ? up : boot) - 1;

	if (!d.timens)
		return 0;
	/* The kernel refuses an offset that would make the clock negative. */
	if (chance(70) && low > 2)
		return -low + 1 + (int64_t)rn((unsigned)(low - 1 < 60 ? low - 1 : 60));
	return (int64_t)rn(30) * 86400 + (int64_t)rn(86400);
}

/*
 * The socket the daemon says READY=1 on, for one start. It is closed once
 * the daemon is ready: the kernel queues only a few datagrams, and a
 * daemon that reports its status at every program's end would block on a
 * full queue nobody reads (a service manager always reads).
 */
static void notify_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	(void)unlink(d.notify);
	d.notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (strlen(d.notify) >= sizeof(sa.sun_path))
		harness_fatal("the notify socket's path is too long: %s", d.notify);
	memcpy(sa.sun_path, d.notify, strlen(d.notify) + 1);
	if (d.notify_fd < 0 || bind(d.notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		harness_fatal("cannot make the notify socket %s: %m", d.notify);
}

static void notify_close(void)
{
	if (d.notify_fd >= 0)
		close(d.notify_fd);
	d.notify_fd = -1;
	(void)unlink(d.notify);
}

static void start_daemon(void)
{
	usec_t deadline;
	bool ready = false;
	pid_t parent = getpid();
	int r;

	d.offset = pick_offset();
	notify_open();
	note("daemon starts (monotonic offset %+" PRId64 " s)", d.offset);
	fflush(stdout);
	fflush(stderr);
	d.pid = fork();
	if (d.pid < 0)
		harness_fatal("fork: %m");
	if (d.pid == 0) {
		int fd_log, fd_null;
		sigset_t none;

		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		fd_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		fd_log = open(d.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd_null < 0 || fd_log < 0 || dup2(fd_null, 0) < 0 || dup2(fd_log, 1) < 0 ||
		    dup2(fd_log, 2) < 0)
			_exit(127);
		setenv("NOTIFY_SOCKET", d.notify, 1);
		setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1", 0);
		setenv("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1", 0);
		exec_daemon(d.offset);
	}

	/* READY=1 within the bound, then the name. */
	deadline = now_usec(CLOCK_MONOTONIC) + d.ready_timeout;
	while (!ready) {
		char buf[4096];
		ssize_t k;
		int status;

		while ((k = recv(d.notify_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
			buf[k] = '\0';
			if (strstr(buf, "READY=1"))
				ready = true;
		}
		if (ready)
			break;
		if (waitpid(d.pid, &status, WNOHANG) == d.pid) {
			_cleanup_(freep) char *text = read_file(d.log);
			const char *report = NULL;

			for (size_t i = 0; text && !report && i < ELEMENTSOF(sanitizer_marks); i++)
				if (strstr(text, sanitizer_marks[i]))
					report = sanitizer_marks[i];
			d.pid = 0;
			finding("the daemon exited (%s %d) before it was ready%s%s%s",
				WIFEXITED(status) ? "status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
				report ? "; its log has a sanitizer report (\"" : "",
				report ? report : "", report ? "\")" : "");
			return;
		}
		if (now_usec(CLOCK_MONOTONIC) >= deadline) {
			finding("the daemon did not become ready (READY=1) within %llu ms%s",
				(unsigned long long)(d.ready_timeout / USEC_PER_MSEC),
				name_has_owner() > 0 ? " (it owns its bus name)" : "");
			return;
		}
		sleep_usec(5 * USEC_PER_MSEC);
	}
	notify_close();
	r = name_has_owner();
	if (r <= 0)
		finding("the daemon said READY=1 but does not own %s (%d)", BLINKD_BUS_NAME, r);
}

/* Stop the daemon with @sig; SIGTERM must end it with status 0 within the bound. */
static void stop_daemon(int sig)
{
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + d.ready_timeout;
	int status = 0;
	pid_t k;

	(void)kill(d.pid, sig);
	for (;;) {
		k = waitpid(d.pid, &status, WNOHANG);
		if (k == d.pid)
			break;
		if (now_usec(CLOCK_MONOTONIC) >= deadline) {
			finding("the daemon did not exit within %llu ms of %s",
			        (unsigned long long)(d.ready_timeout / USEC_PER_MSEC),
			        strsignal(sig));
			return;
		}
		sleep_usec(2 * USEC_PER_MSEC);
	}
	d.pid = 0;
	check_log();
	if (sig == SIGTERM && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		finding("the daemon ended with %s %d on SIGTERM, not status 0",
			WIFEXITED(status) ? "status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	deadline = now_usec(CLOCK_MONOTONIC) + d.ready_timeout;
	while (name_has_owner() > 0) {
		if (now_usec(CLOCK_MONOTONIC) >= deadline)
			harness_fatal("%s is still owned after the daemon exited", BLINKD_BUS_NAME);
		sleep_usec(2 * USEC_PER_MSEC);
	}
	/* The log of a daemon that ended clean is not needed: the next one starts a new one. */
	(void)truncate(d.log, 0);
}

/* ----------------------------------------------------------------- calls */

typedef struct Reply {
	int r; /* sd_bus_call()'s */
	char error[128];
	char message[512];
	sd_bus_message *m;
	usec_t t0, t1; /* CLOCK_REALTIME around the call */
} Reply;

static void reply_done(Reply *r)
{
	r->m = sd_bus_message_unref(r->m);
}

/* Send @m and wait for its reply within the bound; no reply is a finding. */
static void call(sd_bus_message *m, const char *what, Reply *ret)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;

	*ret = (Reply){};
	d.calls++;
	ret->t0 = now_usec(CLOCK_REALTIME);
	ret->r = sd_bus_call(sd_bus_message_get_bus(m), m, d.reply_timeout, &error, &ret->m);
	ret->t1 = now_usec(CLOCK_REALTIME);
	if (ret->r == -ETIMEDOUT || (error.name && streq(error.name, SD_BUS_ERROR_NO_REPLY)))
		finding("no reply to %s within %llu ms", what,
			(unsigned long long)(d.reply_timeout / USEC_PER_MSEC));
	if (ret->r < 0) {
		snprintf(ret->error, sizeof(ret->error), "%s",
			 error.name ? error.name : strerror(-ret->r));
		snprintf(ret->message, sizeof(ret->message), "%s",
		         error.message ? error.message : "");
		if (error.name && (streq(error.name, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
				   streq(error.name, SD_BUS_ERROR_NAME_HAS_NO_OWNER) ||
				   streq(error.name, SD_BUS_ERROR_DISCONNECTED)))
			finding("%s: the daemon is gone (%s: %s)", what, error.name,
				error.message ? error.message : "");
	}
	sd_bus_error_free(&error);
}

static sd_bus_message *new_call(const char *member)
{
	sd_bus_message *m = NULL;

	if (sd_bus_message_new_method_call(d.bus, &m, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					   BLINKD_MANAGER_INTERFACE, member) < 0)
		harness_fatal("cannot make a %s call", member);
	return m;
}

static const char *reply_name(const Reply *r)
{
	return r->r >= 0 ? "OK" : r->error;
}

/* Expect @want ("OK" or an error name; NULL: any answer will do). */
static void expect(const Reply *r, const char *want, const char *what)
{
	if (!want) {
		d.replies_unsure++;
		return;
	}
	if (!streq(reply_name(r), want))
		finding("%s answered %s (%s), the model expected %s", what, reply_name(r),
		        r->message, want);
}

/* ---------------------------------------------------------------- checks */

static void check_list(void)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_call("List");
	bool seen[N_SLOTS + 1] = {};
	const char *name, *program;
	Reply r;

	call(m, "List", &r);
	if (r.r < 0) {
		finding("List failed: %s: %s", r.error, r.message);
		return;
	}
	if (sd_bus_message_enter_container(r.m, 'a', "(ss)") < 0)
		harness_fatal("List: bad reply");
	while (sd_bus_message_read(r.m, "(ss)", &name, &program) > 0) {
		bool known = false;

		for (unsigned i = 0; i <= N_SLOTS; i++)
			if (streq(name, slot_name(i))) {
				seen[i] = known = true;
			}
		if (!known)
			finding("List names \"%s\", which nothing started", name);
	}
	for (unsigned i = 0; i <= N_SLOTS; i++) {
		Prog *p = &model.prog[i];
		Presence want = listed(p, r.t0, r.t1);

		if (want == PRESENT && !seen[i])
			finding("%s is not listed; the model says it runs (started %+.3f s ago, "
				"ends %s%s)",
				slot_name(i), ((double)r.t0 - (double)p->start) / 1e6,
				p->end == USEC_INFINITY ? "never" : "later",
				p->persist ? ", persistent" : "");
		else if (want == ABSENT && seen[i])
			finding("%s is listed; the model says it is not running%s", slot_name(i),
				p->text ? " (it has ended)" : "");
		if (p->state == MAYBE) {
			d.resolved++;
			p->state = seen[i] ? PRESENT : ABSENT;
			note("%s resolved: %s", slot_name(i), seen[i] ? "runs" : "gone");
			if (!seen[i])
				prog_gone(p, p->stale);
		} else if (p->state == PRESENT && want == MAYBE && !seen[i])
			prog_gone(p, p->stale); /* it ended, on time */
		else if (p->state == PRESENT && want == ABSENT)
			prog_gone(p, p->stale);
	}
	reply_done(&r);
}

static void check_definitions(void)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_call("ListDefinitions");
	bool seen[N_DEFS] = {};
	const char *name, *program;
	Reply r;

	call(m, "ListDefinitions", &r);
	if (r.r < 0) {
		finding("ListDefinitions failed: %s: %s", r.error, r.message);
		return;
	}
	if (sd_bus_message_enter_container(r.m, 'a', "(ss)") < 0)
		harness_fatal("ListDefinitions: bad reply");
	while (sd_bus_message_read(r.m, "(ss)", &name, &program) > 0) {
		bool known = false;

		for (unsigned i = 0; i < N_DEFS; i++)
			if (streq(name, def_names[i]))
				seen[i] = known = true;
		if (!known)
			finding("ListDefinitions names \"%s\", which nothing defined", name);
	}
	for (unsigned i = 0; i < N_DEFS; i++) {
		Def *def = &model.def[i];

		if (def->state == PRESENT && !seen[i])
			finding("definition %s is gone; the model says it is defined",
			        def_names[i]);
		else if (def->state == ABSENT && seen[i])
			finding("definition %s is listed; the model says it is not defined",
				def_names[i]);
		else if (def->state == MAYBE) {
			d.resolved++;
			note("%s resolved: %s", def_names[i], seen[i] ? "defined" : "gone");
			def->state = seen[i] ? PRESENT : ABSENT;
		}
	}
	reply_done(&r);
}

static void check_lines(void)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	bool lit[N_SLOTS] = {};
	const uint32_t *v;
	size_t size;
	Reply r;

	if (sd_bus_message_new_method_call(d.bus, &m, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					   "org.freedesktop.DBus.Properties", "Get") < 0 ||
	    sd_bus_message_append(m, "ss", BLINKD_MANAGER_INTERFACE, "Lit") < 0)
		harness_fatal("cannot make a Get call");
	call(m, "Get(Lit)", &r);
	if (r.r < 0) {
		finding("Get(Lit) failed: %s: %s", r.error, r.message);
		return;
	}
	if (sd_bus_message_enter_container(r.m, 'v', "au") < 0 ||
	    sd_bus_message_read_array(r.m, 'u', (const void **)&v, &size) < 0)
		harness_fatal("Get(Lit): bad reply");
	for (size_t k = 0; k < size / sizeof(uint32_t); k++)
		for (unsigned i = 0; i < N_SLOTS; i++)
			if (v[k] == own_line[i])
				lit[i] = true;
	for (unsigned i = 0; i < N_SLOTS; i++) {
		Prog *p = &model.prog[i];
		usec_t a = r.t0 - MARGIN, b = r.t1 + MARGIN;
		int want;

		/* A reply that took long says little about the instant it read. */
		if (r.t1 - r.t0 > 250 * USEC_PER_MSEC || own_moves(p, a, b)) {
			d.phase_skipped++;
			continue;
		}
		want = own_value(p, a);
		d.phase_checks++;
		if (want != (int)lit[i])
			finding(
			    "line %u of %s is %s; the model says %s (%s, started %+.3f s ago%s%s)",
			    own_line[i], slot_name(i), lit[i] ? "lit" : "dark",
			    want ? "lit" : "dark",
			    p->state == ABSENT     ? "not running"
			    : p->phase == PH_BLINK ? "a blink"
			    : p->phase == PH_ON    ? "an on"
			                           : "shared lines only",
			    ((double)r.t0 - (double)p->start) / 1e6,
			    p->persist ? ", persistent" : "",
			    p->prev_phase != PH_DARK && r.t0 < p->prev_until
			        ? ", replaced at a later instant: the old one still drives it"
			        : "");
	}
	reply_done(&r);
}

static void check_alive(void)
{
	int status;

	if (d.pid > 0 && waitpid(d.pid, &status, WNOHANG) == d.pid) {
		d.pid = 0;
		finding("the daemon died (%s %d)", WIFEXITED(status) ? "status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
}

static void check_all(void)
{
	check_alive();
	check_list();
	check_definitions();
	check_lines();
	check_log();
}

/* ------------------------------------------------------------ operations */

/* A program for a slot: its own line's blink or on (checked), or shared lines. */
static char *slot_program(unsigned slot, Node **ret_tree, Phase *ret_phase, usec_t *ret_interval)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	unsigned c = rn(10);

	*ret_tree = NULL;
	*ret_interval = 0;
	if (c < 3) {
		static const usec_t intervals[] = { 1000000, 1500000, 2000000 };
		static const char *const words[] = { "1s", "1500ms", "2s" };
		unsigned k = rn(3);

		fprintf(f, "blink(%u, %s)", own_line[slot], words[k]);
		*ret_tree = node_new(K_BLINK);
		(*ret_tree)->d = USEC_INFINITY;
		*ret_phase = PH_BLINK;
		*ret_interval = intervals[k];
	} else if (c < 4) {
		fprintf(f, "on(%u)", own_line[slot]);
		*ret_tree = node_new(K_ON);
		(*ret_tree)->d = USEC_INFINITY;
		*ret_phase = PH_ON;
	} else {
		*ret_tree = gen(f, 0, true);
		*ret_phase = PH_DARK;
	}
	if (fclose(f) != 0 || !text)
		harness_fatal("out of memory");
	return text;
}

/* The slot op_start() fills with a persistent program, or -1: a random one, any options. */
static int fill_slot = -1;

static void op_start(void)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	unsigned slot = fill_slot >= 0 ? (unsigned)fill_slot : rn(N_SLOTS);
	Prog *p = &model.prog[slot];
	Node *tree;
	Phase phase;
	usec_t interval, timeout = 0, at = 0, now, dur, start;
	bool with_options = fill_slot >= 0 || chance(70), replace = false, bind = false,
	     persist = false;
	bool has_priority = false, bad_option = false, temp_bus = false, notdef = false,
	     unsure = false, at_future = false, started = false;
	int priority = 0;
	_cleanup_(freep) char *text = slot_program(slot, &tree, &phase, &interval);
	const char *want = "OK", *method;
	char what[2048], opts[256] = "";
	size_t olen = 0;
	sd_bus *bus = d.bus;
	Reply r;

	if (!with_options && chance(30))
		replace = true;
	method = with_options ? "StartWithOptions" : replace ? "Replace" : "Start";
	now = now_usec(CLOCK_REALTIME);
	if (with_options) {
		if (chance(40)) {
			has_priority = true;
			priority = chance(95) ? (int)rn(2001) - 1000 : 1001 + (int)rn(5000);
			bad_option = bad_option || priority > 1000;
			olen +=
			    snprintf(opts + olen, sizeof(opts) - olen, " priority=%d", priority);
		}
		replace = chance(30);
		persist = chance(50);
		bind = chance(persist ? 3 : 15);
		if (chance(25)) {
			static const usec_t t[] = { 50, 100, 50000, 500000, 3000000, 30000000 };
			timeout = t[rn(ELEMENTSOF(t))];
			bad_option = bad_option || timeout < 100;
		}
		if (chance(30)) {
			static const int64_t past[] = { 10000, 1000000, 30000000, 600000000 };
			static const int64_t future[] = { 500000, 2000000, 5000000 };

			if (chance(50))
				at = now - (usec_t)past[rn(ELEMENTSOF(past))];
			else if (chance(95)) {
				at = now + (usec_t)future[rn(ELEMENTSOF(future))];
				at_future = true;
			} else {
				at = now + 2 * USEC_PER_DAY; /* refused */
				bad_option = true;
			}
		}
		if (fill_slot >= 0) {
			persist = true;
			bind = false;
			timeout = at = 0;
			at_future = false;
			bad_option = priority > 1000;
		}
		if (replace && at_future && skip[SKIP_REPLACE_AT])
			at = 0, at_future = false;
		if (bind && persist)
			bad_option = true;
		/* A short-lived connection: the bound program goes with it. */
		if (bind && !persist && chance(50)) {
			temp_bus = true;
			if (sd_bus_open_user(&bus) < 0)
				harness_fatal("cannot connect to the private bus");
		}
		olen += snprintf(opts + olen, sizeof(opts) - olen, "%s%s%s",
		                 replace ? " replace" : "",
		                 bind ? (temp_bus ? " bind(closed after)" : " bind") : "",
		                 persist ? " persist" : "");
		if (timeout)
			olen += snprintf(opts + olen, sizeof(opts) - olen, " timeout=%lluus",
					 (unsigned long long)timeout);
		if (at)
			olen += snprintf(opts + olen, sizeof(opts) - olen, " at=now%+.3fs",
					 ((double)at - (double)now) / 1e6);
	}
	if (sd_bus_message_new_method_call(bus, &m, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					   BLINKD_MANAGER_INTERFACE, method) < 0 ||
	    sd_bus_message_append(m, "ss", slot_name(slot), text) < 0)
		harness_fatal("cannot make a %s call", method);
	if (with_options) {
		if (sd_bus_message_open_container(m, 'a', "{sv}") < 0 ||
		    (has_priority &&
		     sd_bus_message_append(m, "{sv}", "priority", "i", priority) < 0) ||
		    (replace && sd_bus_message_append(m, "{sv}", "replace", "b", 1) < 0) ||
		    (bind && sd_bus_message_append(m, "{sv}", "bind", "b", 1) < 0) ||
		    (persist && sd_bus_message_append(m, "{sv}", "persist", "b", 1) < 0) ||
		    (timeout && sd_bus_message_append(m, "{sv}", "timeout", "t", timeout) < 0) ||
		    (at && sd_bus_message_append(m, "{sv}", "at", "t", at) < 0) ||
		    sd_bus_message_close_container(m) < 0)
			harness_fatal("cannot append the options");
	}
	snprintf(what, sizeof(what), "%s %s '%s'%s", method, slot_name(slot), text, opts);
	note("%s", what);

	/* What the daemon should answer: options, Exists, the limit, NotDefined. */
	dur = duration_of(tree, 0, &notdef, &unsure);
	if (timeout && timeout < dur)
		dur = timeout;
	{
		Presence here = listed(p, now - 2 * MARGIN, now + 2 * MARGIN);
		unsigned n = 0, n_maybe = 0;

		for (unsigned i = 0; i <= N_SLOTS; i++) {
			Presence o = listed(&model.prog[i], now - 2 * MARGIN, now + 2 * MARGIN);
			if (i == slot)
				continue;
			n += o == PRESENT;
			n_maybe += o == MAYBE;
		}
		if (bad_option)
			want = "io.blinkd1.Error.InvalidOptions";
		else if (here == PRESENT && !replace)
			want = "io.blinkd1.Error.Exists";
		else if (here == MAYBE && !replace)
			want = NULL;
		else if (here != PRESENT && n >= model.max_programs)
			want = here == ABSENT ? "io.blinkd1.Error.LimitExceeded" : NULL;
		else if (here != PRESENT && n + n_maybe + (here == MAYBE) >= model.max_programs)
			want = NULL;
		else if (notdef)
			want = "io.blinkd1.Error.NotDefined";
		else if (unsure)
			want = NULL;
		/*
		 * A state that cannot be written: a persistent start must fail,
		 * named; one that has ended at once needs no write, and a
		 * Replace of a persistent one may fail or not.
		 */
		else if (persist && model.unwritable &&
		         (dur == USEC_INFINITY || (at ? at : now) + dur > now + MARGIN))
			want = "error";
		else if (model.unwritable && (persist || (replace && p->persist)))
			want = NULL;
	}

	call(m, what, &r);
	started = r.r >= 0;
	if (want && streq(want, "error")) {
		if (r.r >= 0)
			finding("%s answered OK though the state directory cannot be written",
			        what);
	} else
		expect(&r, want, what);
	note("  -> %s%s%s", reply_name(&r), r.r < 0 ? ": " : "", r.r < 0 ? r.message : "");

	if (r.r >= 0) {
		Prog old = *p;

		start = at ? at : r.t0;
		*p = (Prog){
			.state = PRESENT,
			.text = TAKE_PTR(text),
			.tree = TAKE_PTR(tree),
			.timeout = timeout,
			.end_unknown = unsure,
			.persist = persist,
			.bound = bind,
			.start = start,
			.end = dur == USEC_INFINITY ? USEC_INFINITY : start + dur,
			.end_slack = r.t1 - r.t0,
			.phase = phase,
			.interval = interval,
			.stale = old.stale || (model.unwritable && (persist || old.persist || old.ghost)),
		};
		/* A future start of a Replace: the old program drives the line until then. */
		if (replace && at_future && old.state == PRESENT && !old.end_unknown) {
			p->prev_phase = old.phase;
			p->prev_start = old.start;
			p->prev_interval = old.interval;
			p->prev_until = at;
			p->prev_end = old.end;
		} else if (replace && at_future && old.state != ABSENT) {
			p->prev_phase = PH_UNKNOWN;
			p->prev_until = at;
		}
		prog_clear(&old);
	} else if (replace && streq(r.error, "io.blinkd1.Error.StateNotWritable") &&
		   p->state != ABSENT) {
		/*
		 * The old program was replaced before the write failed, and the
		 * new one stopped: nothing runs there, but the store may still
		 * hold the old one.
		 */
		prog_gone(p, p->stale || p->persist || p->ghost);
	}
	node_free(tree);
	reply_done(&r);

	if (temp_bus) {
		sd_bus_flush_close_unref(bus);
		/* Only a program this call started is bound to this connection. */
		if (started && p->bound && p->state == PRESENT) {
			usec_t t = now_usec(CLOCK_REALTIME);
			note("  (the caller's connection closed: %s goes)", slot_name(slot));
			if (p->end == USEC_INFINITY || p->end > t) {
				p->end = t;
				p->end_slack = 2 * USEC_PER_SEC;
			}
		}
	}
}

/* Persistent programs on every slot: the program limit, at runtime and at the next start. */
static void op_fill(void)
{
	note("fill every slot with a persistent program");
	for (int i = 0; i < N_SLOTS; i++) {
		fill_slot = i;
		op_start();
	}
	fill_slot = -1;
}

static void op_stop(void)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_call("Stop");
	unsigned slot = rn(N_SLOTS + 1);
	Prog *p = &model.prog[slot];
	usec_t now = now_usec(CLOCK_REALTIME);
	Presence here = listed(p, now - MARGIN, now + MARGIN);
	char what[64];
	Reply r;

	snprintf(what, sizeof(what), "Stop %s", slot_name(slot));
	note("%s", what);
	if (sd_bus_message_append(m, "s", slot_name(slot)) < 0)
		harness_fatal("cannot append");
	call(m, what, &r);
	expect(&r, here == PRESENT ? "OK" : here == ABSENT ? "io.blinkd1.Error.NotRunning" : NULL,
	       what);
	note("  -> %s", reply_name(&r));
	if ((p->persist || p->ghost) && model.unwritable)
		model.prog[slot].stale = true;
	prog_gone(p, p->stale || ((p->persist || p->ghost) && model.unwritable));
	reply_done(&r);
}

static void op_stop_all(void)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_call("StopAll");
	Reply r;

	note("StopAll");
	call(m, "StopAll", &r);
	expect(&r, "OK", "StopAll");
	for (unsigned i = 0; i <= N_SLOTS; i++) {
		bool stale = model.prog[i].stale ||
			     ((model.prog[i].persist || model.prog[i].ghost) && model.unwritable);
		prog_clear(&model.prog[i]);
		model.prog[i].stale = stale;
	}
	reply_done(&r);
}

static void op_define(void)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_call("Define");
	unsigned i = rn(N_DEFS);
	Def *def = &model.def[i];
	char *text = NULL, what[2048];
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	Node *tree = gen(f, 1, true);
	bool cycle, dangling = false, unsure = false;
	const char *want;
	Reply r;

	if (fclose(f) != 0 || !text)
		harness_fatal("out of memory");
	cycle = calls(tree, i, 0);
	(void)duration_of(tree, 0, &dangling, &unsure);
	if (skip[SKIP_DANGLING] && dangling) {
		/* Every name it calls must be defined: replace the program by a plain one. */
		node_free(tree);
		free(text);
		text = strdup("blink(row 3, 300ms, 2)");
		tree = node_new(K_BLINK);
		tree->d = 1200000;
		cycle = false;
	}
	snprintf(what, sizeof(what), "Define %s '%s'", def_names[i], text);
	note("%s", what);
	if (sd_bus_message_append(m, "ss", def_names[i], text) < 0)
		harness_fatal("cannot append");
	want = cycle ? "io.blinkd1.Error.InvalidProgram" : "OK";
	call(m, what, &r);
	if (!cycle && model.unwritable) {
		if (r.r >= 0)
			finding("%s answered OK though the state directory cannot be written",
			        what);
	} else
		expect(&r, want, what);
	note("  -> %s%s%s", reply_name(&r), r.r < 0 ? ": " : "", r.r < 0 ? r.message : "");
	if (r.r >= 0) {
		node_free(def->tree);
		free(def->text);
		*def =
		    (Def){.state = PRESENT, .tree = tree, .text = text, .stale = model.unwritable};
		tree = NULL;
		text = NULL;
	}
	node_free(tree);
	free(text);
	reply_done(&r);
}

static void op_undefine(void)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_call("Undefine");
	unsigned i = 1 + rn(N_DEFS - 1); /* d0 is also the configuration's: never undefined */
	Def *def = &model.def[i];
	char what[64];
	Reply r;

	if (skip[SKIP_DANGLING] && is_called(i))
		return;
	snprintf(what, sizeof(what), "Undefine %s%s", def_names[i],
		 is_called(i) ? " (called by another)" : "");
	note("%s", what);
	if (sd_bus_message_append(m, "s", def_names[i]) < 0)
		harness_fatal("cannot append");
	call(m, what, &r);
	if (model.unwritable && def->state == PRESENT) {
		/* Either answer will do; an OK that was not written may come back. */
		d.replies_unsure++;
	} else
		expect(&r,
		       def->state == PRESENT  ? "OK"
		       : def->state == ABSENT ? "io.blinkd1.Error.NotDefined"
					      : NULL,
		       what);
	note("  -> %s", reply_name(&r));
	if (r.r >= 0) {
		/* Keep the tree: a stale store may bring it back. */
		def->state = ABSENT;
		def->stale = def->stale || model.unwritable;
	}
	reply_done(&r);
}

/* Names and option keys that are long and not ASCII: every call must be answered. */
static void op_utf8(void)
{
	static const char *const methods[] = { "Start", "Stop", "Define", "Undefine",
					       "StartWithOptions" };
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	unsigned k = rn(ELEMENTSOF(methods)), reps = 30 + rn(60);
	char name[512], what[700];
	size_t n = 0;
	Reply r;

	name[n++] = 'a';
	for (unsigned i = 0; i < reps && n + 4 < sizeof(name); i++) {
		static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x92\xa1"};
		const char *c = chars[rn(3)];
		memcpy(name + n, c, strlen(c));
		n += strlen(c);
	}
	name[n] = '\0';
	m = new_call(methods[k]);
	if (k == 4) {
		/* A valid name, a long non-ASCII option key. */
		if (sd_bus_message_append(m, "ss", "p0", "wait(1s)") < 0 ||
		    sd_bus_message_open_container(m, 'a', "{sv}") < 0 ||
		    sd_bus_message_append(m, "{sv}", name, "b", 1) < 0 ||
		    sd_bus_message_close_container(m) < 0)
			harness_fatal("cannot append");
	} else if (k == 0 || k == 2) {
		if (sd_bus_message_append(m, "ss", name, "wait(1s)") < 0)
			harness_fatal("cannot append");
	} else if (sd_bus_message_append(m, "s", name) < 0)
		harness_fatal("cannot append");
	snprintf(what, sizeof(what), "%s with a name of %zu bytes, %u non-ASCII characters%s",
		 methods[k], n, reps, k == 4 ? " (as an option key)" : "");
	note("%s", what);
	call(m, what, &r);
	note("  -> %s", reply_name(&r));
	if (r.r >= 0)
		finding("%s answered OK", what);
	reply_done(&r);
}

/* The temporary file's place taken by a directory: no write of the state can succeed. */
static void op_unwritable(void)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/.state.json.new", d.state);
	if (!model.unwritable) {
		(void)mkdir(d.state, 0700);
		/* The daemon's own temporary file may be there for the moment a write takes. */
		for (int tries = 0; mkdir(p, 0700) < 0; tries++) {
			if (errno != EEXIST || tries >= 200)
				harness_fatal("mkdir %s: %m", p);
			/* Still there after a second: a killed daemon's, which its next write removes too. */
			if (tries >= 100)
				(void)unlink(p);
			sleep_usec(10 * USEC_PER_MSEC);
		}
		model.unwritable = true;
		/*
		 * The end of a persistent program (stopped, or by itself) is
		 * written after its answer, off the daemon's loop: a write still
		 * to come fails now, so the store may keep any program it held.
		 */
		for (unsigned i = 0; i <= N_SLOTS; i++)
			model.prog[i].stale = true;
		note("the state directory can no longer be written (a directory at "
		     ".state.json.new)");
	} else {
		if (rmdir(p) < 0)
			harness_fatal("rmdir %s: %m", p);
		model.unwritable = false;
		note("the state directory can be written again");
	}
}

/* Shift every stored "started" by -@shift: what a wall-clock step of @shift looks like. */
static bool shift_state(int64_t shift)
{
	char path[600], tmp[620];
	_cleanup_(freep) char *text = NULL;
	json_object *root, *programs;
	FILE *f;
	bool ok = false;

	snprintf(path, sizeof(path), "%s/state.json", d.state);
	snprintf(tmp, sizeof(tmp), "%s.edit", path);
	text = read_file(path);
	if (!text)
		return false;
	root = json_tokener_parse(text);
	if (root && json_object_object_get_ex(root, "programs", &programs) &&
	    json_object_is_type(programs, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(programs); i++) {
			json_object *o = json_object_array_get_idx(programs, i), *s;

			if (json_object_object_get_ex(o, "started", &s))
				json_object_set_int64(s, json_object_get_int64(s) - shift);
		}
		f = fopen(tmp, "we");
		if (f) {
			fputs(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY), f);
			ok = fclose(f) == 0 && rename(tmp, path) == 0;
		}
	}
	json_object_put(root);
	return ok;
}

static bool any_stale(void)
{
	for (unsigned i = 0; i < N_DEFS; i++)
		if (model.def[i].stale)
			return true;
	for (unsigned i = 0; i <= N_SLOTS; i++)
		if (model.prog[i].stale)
			return true;
	return model.unwritable;
}

static void op_restart(void)
{
	bool kill9 = chance(40), stepped = false;
	usec_t down = (usec_t)rn(3000) * USEC_PER_MSEC, now, t_stop, before;
	int64_t shift = 0;

	if (kill9) {
		/* Let the state written a little after the answer reach the disk. */
		note("SIGKILL (after %llu ms alone)",
		     (unsigned long long)(d.kill_settle / USEC_PER_MSEC));
		sleep_usec(d.kill_settle);
		t_stop = now_usec(CLOCK_REALTIME);
		stop_daemon(SIGKILL);
		d.kills++;
	} else {
		note("SIGTERM");
		t_stop = now_usec(CLOCK_REALTIME);
		stop_daemon(SIGTERM);
		d.terms++;
	}
	note("down for %llu ms", (unsigned long long)(down / USEC_PER_MSEC));
	sleep_usec(down);
	/* Not while state.json may hold what the model no longer knows (it could not be written).
	 */
	if (chance(35) && !any_stale()) {
		static const int64_t steps_usec[] = { 10LL * 1000000, 300LL * 1000000,
						      7200LL * 1000000, -30LL * 1000000,
						      -3LL * 86400 * 1000000 };
		unsigned k = rn(ELEMENTSOF(steps_usec));

		if (k == 4 && skip[SKIP_FAR_FUTURE])
			k = 3;
		shift = steps_usec[k];
		stepped = shift_state(shift);
		if (stepped) {
			d.wall_steps++;
			note(
			    "wall clock stepped by %+.0f s while the daemon was down (state.json's "
			    "started moved by %+.0f s)",
			    (double)shift / 1e6, -(double)shift / 1e6);
		}
	}
	now = now_usec(CLOCK_REALTIME);

	/* The model of what comes back: definitions first, as the daemon does. */
	for (unsigned i = 0; i < N_DEFS; i++) {
		Def *def = &model.def[i];

		if (def->stale && def->tree)
			def->state = MAYBE;
		def->stale = false;
	}
	for (unsigned i = 0; i < N_DEFS; i++) {
		Def *def = &model.def[i];
		bool dangling = false, unsure = false;

		if (def->state != ABSENT && def->tree)
			(void)duration_of(def->tree, 0, &dangling, &unsure);
		/* A definition that calls one that is gone may be left out. */
		if (def->state == PRESENT && (dangling || unsure) && i != 0)
			def->state = MAYBE;
		if (i == 0 && (dangling || unsure))
			def->versions = true;
	}
	for (unsigned i = 0; i < N_SLOTS; i++) {
		Prog *p = &model.prog[i];
		bool stale = p->stale, notdef = false, unsure = false;
		usec_t dur;

		/*
		 * Startup rewrites the store without what it left out, unless it
		 * cannot be written: then what it holds stays, for the next start.
		 */
		p->stale = model.unwritable && (stale || p->persist || p->ghost);
		/* What the store could not lose may come back (see Prog.ghost). */
		if ((stale && !(p->persist && p->tree)) || (p->ghost && p->state != ABSENT)) {
			prog_gone(p, p->stale);
			p->state = MAYBE;
			p->ghost = true;
			p->end_unknown = true;
			continue;
		}
		if (!p->persist || !p->tree || (p->state == ABSENT && !stale)) {
			prog_clear(p);
			continue;
		}
		/*
		 * Ended before the daemon went: gone from the store, or about to
		 * be; unless the store could not be written since, and then it
		 * comes back, bound to the definitions as they are now.
		 */
		if (p->end_unknown)
			p->state = MAYBE;
		else if (p->end != USEC_INFINITY && p->end <= t_stop + MARGIN)
			p->state = p->end + p->end_slack + MARGIN < t_stop && !stale ? ABSENT : MAYBE;
		if (stale && p->state == PRESENT)
			p->state = MAYBE;
		if (p->state == ABSENT) {
			prog_clear(p);
			continue;
		}
		if (stepped)
			p->start -= (usec_t)shift;
		/* It calls the definitions as they are now. */
		dur = duration_of(p->tree, 0, &notdef, &unsure);
		if (p->timeout && p->timeout < dur)
			dur = p->timeout;
		p->end = dur == USEC_INFINITY ? USEC_INFINITY : p->start + dur;
		p->end_slack = 0;
		p->end_unknown = unsure;
		p->bound = false;
		p->prev_phase = now < p->prev_until ? PH_UNKNOWN : PH_DARK;
		if (notdef)
			p->state = ABSENT; /* a definition it calls is gone */
		if (unsure && p->state == PRESENT)
			p->state = MAYBE;
		/* A start more than a day ahead no longer fits: left out. */
		if (p->start > now + AHEAD_MAX && p->start != USEC_INFINITY)
			p->state = skip[SKIP_FAR_FUTURE] ? MAYBE : ABSENT;
		if (p->end != USEC_INFINITY && p->end + MARGIN < now)
			p->state = ABSENT;
		else if (p->end != USEC_INFINITY && p->end < now + d.ready_timeout)
			p->state = MAYBE;
		if (p->state == ABSENT)
			prog_clear(p);
	}
	prog_clear(&model.prog[AUTO]);
	d.restarts++;
	before = now_usec(CLOCK_REALTIME);
	start_daemon();
	{
		Prog *a = &model.prog[AUTO];
		bool unsure = false, notdef = false;
		Node call0 = { .kind = K_CALL, .def = 0 };
		usec_t dur = duration_of(&call0, 0, &notdef, &unsure),
		       ready = now_usec(CLOCK_REALTIME);
		unsigned n = 0, n_maybe = 0;

		for (unsigned i = 0; i < N_SLOTS; i++) {
			n += model.prog[i].state == PRESENT;
			n_maybe += model.prog[i].state == MAYBE;
		}
		*a = (Prog){ .state = PRESENT, .text = strdup("call(d0)"), .start = before,
			     .end = dur == USEC_INFINITY ? USEC_INFINITY : before + dur,
			     .end_slack = ready - before, .end_unknown = unsure, .phase = PH_DARK };
		if (notdef || unsure || n + n_maybe + 1 > model.max_programs)
			a->state = MAYBE;
		/* With the limit reached by stored programs, which ones run is the daemon's choice.
		 */
		if (n + n_maybe + 1 > model.max_programs)
			for (unsigned i = 0; i < N_SLOTS; i++)
				if (model.prog[i].state == PRESENT)
					model.prog[i].state = MAYBE;
	}
}

/* ------------------------------------------------------------------ main */

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long x;

	if (!v || !*v)
		return def;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end)
		harness_fatal("%s=%s: not a number", name, v);
	return x;
}

static void parse_skip(void)
{
	const char *v = getenv("STATEFUL_SKIP");
	_cleanup_(freep) char *copy = v ? strdup(v) : NULL;
	char *word, *save = NULL;

	for (word = copy ? strtok_r(copy, ", ", &save) : NULL; word;
	     word = strtok_r(NULL, ", ", &save)) {
		bool found = false;

		for (unsigned i = 0; i < _SKIP_MAX; i++)
			if (streq(word, skip_names[i]))
				skip[i] = found = true;
		if (!found)
			harness_fatal("STATEFUL_SKIP: unknown switch \"%s\"", word);
	}
}

int main(void)
{
	usec_t seconds, deadline;
	uint64_t max_steps;
	const char *base;
	char config[1024];

	if (!getenv("BLINKD")) {
		printf("BLINKD is not set: skipped\n");
		return 77;
	}
	seed = env_u64("STATEFUL_SEED", now_usec(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32));
	rng_state = seed;
	seconds = env_u64("STATEFUL_SECONDS", 60);
	max_steps = env_u64("STATEFUL_STEPS", UINT64_MAX);
	d.reply_timeout = env_u64("STATEFUL_REPLY_MS", 2000) * USEC_PER_MSEC;
	d.ready_timeout = env_u64("STATEFUL_READY_MS", 15000) * USEC_PER_MSEC;
	d.kill_settle = env_u64("STATEFUL_KILL_SETTLE_MS", 1000) * USEC_PER_MSEC;
	parse_skip();
	steps = open_memstream(&steps_text, &steps_size);
	if (!steps)
		harness_fatal("out of memory");

	harness_init();
	if (atexit(at_exit) != 0)
		harness_fatal("atexit failed");
	base = harness_path("x");
	snprintf(d.dir, sizeof(d.dir), "%.*s", (int)(strlen(base) - 2), base);
	snprintf(d.state, sizeof(d.state), "%s/sf-state", d.dir);
	snprintf(d.log, sizeof(d.log), "%s/sf-daemon.log", d.dir);
	snprintf(d.config, sizeof(d.config), "%s/sf-config.json", d.dir);
	snprintf(d.notify, sizeof(d.notify), "%s/sf-notify", d.dir);
	if (sd_bus_open_user(&d.bus) < 0)
		harness_fatal("cannot connect to the private bus");

	model.max_programs = skip[SKIP_LIMIT] ? 100 : 6;
	snprintf(config, sizeof(config),
	         "{\"max_programs\": %u, "
	         "\"definitions\": {\"d0\": {\"blink\": {\"lines\": {\"row\": 4}, \"interval\": "
	         "\"300ms\"}}}, "
	         "\"autostart\": {\"auto\": {\"call\": \"d0\"}}}",
	         model.max_programs);
	{
		FILE *f = fopen(d.config, "we");
		if (!f || fputs(config, f) < 0 || fclose(f) != 0)
			harness_fatal("cannot write %s: %m", d.config);
	}
	model.def[0] = (Def){ .state = PRESENT, .tree = node_new(K_BLINK),
			      .text = strdup("blink(row 4, 300ms)") };
	model.def[0].tree->d = USEC_INFINITY;
	model.prog[AUTO] = (Prog){.state = PRESENT,
	                          .text = strdup("call(d0)"),
	                          .tree = node_new(K_CALL),
	                          .end = USEC_INFINITY,
	                          .phase = PH_DARK};

	d.timens = timens_works();
	printf("stateful: seed %" PRIu64 ", %llu s%s, daemon %s (%s)\n", seed,
	       (unsigned long long)seconds, max_steps != UINT64_MAX ? " or the steps given" : "",
	       harness_blinkd(),
#if defined(__SANITIZE_ADDRESS__)
	       "built with the sanitizers of this build"
#else
	       "NOT built with ASan+UBSan: build with -Db_sanitize=address,undefined for "
	       "the memory checks"
#endif
	);
	if (!d.timens)
		printf("stateful: time namespaces need root (CAP_SYS_ADMIN) and a kernel with "
		       "them: every daemon runs on the machine's monotonic clock, reboots are "
		       "not simulated\n");
	for (unsigned i = 0; i < _SKIP_MAX; i++)
		if (skip[i])
			printf("stateful: leaving out \"%s\" (STATEFUL_SKIP)\n", skip_names[i]);
	fflush(stdout);

	model.prog[AUTO].start = now_usec(CLOCK_REALTIME);
	start_daemon();
	model.prog[AUTO].end_slack = now_usec(CLOCK_REALTIME) - model.prog[AUTO].start;
	check_all();
	deadline = now_usec(CLOCK_MONOTONIC) + seconds * USEC_PER_SEC;
	while (now_usec(CLOCK_MONOTONIC) < deadline && n_step < max_steps) {
		unsigned c = rn(100);

		n_step++;
		if (c < 40)
			op_start();
		else if (c < 55)
			op_stop();
		else if (c < 57)
			op_stop_all();
		else if (c < 70)
			op_define();
		else if (c < 78)
			op_undefine();
		else if (c < 81 && !skip[SKIP_UTF8])
			op_utf8();
		else if (c < 83 && !skip[SKIP_UNWRITABLE])
			op_unwritable();
		else if (c < 88)
			op_restart();
		else if (c < 90)
			op_fill();
		else {
			usec_t w = (usec_t)rn(1500) * USEC_PER_MSEC;
			note("wait %llu ms", (unsigned long long)(w / USEC_PER_MSEC));
			sleep_usec(w);
		}
		check_all();
	}
	stop_daemon(SIGTERM);
	printf("stateful: %lu steps, %lu restarts (%lu SIGTERM, %lu SIGKILL), %lu wall-clock "
	       "steps, %lu calls, %lu line checks (%lu skipped near an edge), %lu uncertain "
	       "states resolved, %lu answers taken either way; no finding (seed %" PRIu64 ")\n",
	       n_step, d.restarts, d.terms, d.kills, d.wall_steps, d.calls, d.phase_checks,
	       d.phase_skipped, d.resolved, d.replies_unsure, seed);
	for (unsigned i = 0; i <= N_SLOTS; i++)
		prog_clear(&model.prog[i]);
	for (unsigned i = 0; i < N_DEFS; i++) {
		node_free(model.def[i].tree);
		free(model.def[i].text);
	}
	d.bus = sd_bus_flush_close_unref(d.bus);
	fclose(steps);
	free(steps_text);
	return n_findings ? 1 : 0;
}
