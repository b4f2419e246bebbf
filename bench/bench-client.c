/* SPDX-License-Identifier: MIT */
/*
 * bench-client: the benchmark's hands on the bus. bench/run drives it through
 * a pipe, one command a line (fields separated by tabs), and it answers one
 * line per command with the CLOCK_MONOTONIC nanoseconds at which the call was
 * sent and its reply arrived, so the answer times exclude Python entirely.
 *
 *   wait    TIMEOUT_MS            until io.blinkd1 has an owner
 *   start   NAME PROGRAM          Start(), synchronous
 *   stop    NAME                  Stop()
 *   stopall                       StopAll()
 *   list                          List(); the answer carries the entry count
 *   startmany IN WINDOW OUT       Start() every "NAME<TAB>PROGRAM" line of IN,
 *                                 pipelined with up to WINDOW calls in flight;
 *                                 one "name sent_ns reply_ns result" line per
 *                                 call goes to OUT
 *   started OUT                   one "name started_monotonic_ns" line per
 *                                 running program to OUT: StartedUSec (realtime,
 *                                 from GetManagedObjects) moved to
 *                                 CLOCK_MONOTONIC, so edges can be compared
 *                                 with the instant each program's timeline began
 *   call    IFACE METHOD [PATH]   any method without arguments (PATH: the
 *                                 manager's object by default); the reply is read
 *   getprop NAME                  a property of the manager
 *   replace NAME PROGRAM          Replace()
 *   persist NAME PROGRAM          StartWithOptions() with persist
 *   define  NAME PROGRAM          Define()
 *   undefine NAME                 Undefine()
 *   hammer  SECONDS               GetManagedObjects() and List() in turn until
 *                                 SECONDS have passed; the answer carries the
 *                                 number of calls and the longest answer in ns
 *   subscribe SECONDS             Subscribe(), take Frame signals for SECONDS,
 *                                 Unsubscribe(); the answer carries the frames
 *   quit
 *
 * Answers: "ok SENT_NS REPLY_NS [EXTRA]" or "err SENT_NS REPLY_NS ERROR_NAME MESSAGE".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "log.h"
#include "macro.h"

#define CALL_TIMEOUT_USEC (30 * USEC_PER_SEC)

static uint64_t now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void answer(int r, uint64_t sent, uint64_t reply, const sd_bus_error *error,
		   const char *extra)
{
	if (r < 0)
		printf("err %llu %llu %s %s\n", (unsigned long long)sent, (unsigned long long)reply,
		       error && error->name ? error->name : "errno",
		       error && error->message ? error->message : strerror(-r));
	else
		printf("ok %llu %llu%s%s\n", (unsigned long long)sent, (unsigned long long)reply,
		       extra ? " " : "", extra ? extra : "");
	fflush(stdout);
}

/* Calls a Manager method; @types and the arguments as for sd_bus_call_method(). */
static int call_manager(sd_bus *bus, const char *method, sd_bus_message **reply,
			sd_bus_error *error, uint64_t *sent, uint64_t *received, const char *types,
			const char *a, const char *b)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	int r;

	*sent = now_ns();
	r = sd_bus_message_new_method_call(bus, &m, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					   BLINKD_MANAGER_INTERFACE, method);
	if (r >= 0 && types)
		r = b ? sd_bus_message_append(m, types, a, b) : sd_bus_message_append(m, types, a);
	if (r >= 0)
		r = sd_bus_call(bus, m, CALL_TIMEOUT_USEC, error, reply);
	*received = now_ns();
	return r;
}

static int command_wait(sd_bus *bus, const char *timeout_ms)
{
	uint64_t start = now_ns(), deadline;
	int r;

	deadline = start + strtoull(timeout_ms ? timeout_ms : "5000", NULL, 10) * 1000000ULL;
	for (;;) {
		_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

		r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
				       "org.freedesktop.DBus", "GetNameOwner", &error, &reply, "s",
				       BLINKD_BUS_NAME);
		if (r >= 0 || now_ns() > deadline) {
			answer(r, start, now_ns(), &error, NULL);
			return 0;
		}
		(void)nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000000L }, NULL);
	}
}

static int command_call(sd_bus *bus, const char *method, const char *types, const char *a,
			const char *b)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	uint64_t sent, received;
	char extra[32];
	int r;

	r = call_manager(bus, method, &reply, &error, &sent, &received, types, a, b);
	if (r >= 0 && streq(method, "List")) {
		unsigned n = 0;
		const char *name, *program;

		/* Count the entries: the reply is read, as a client would. */
		r = sd_bus_message_enter_container(reply, 'a', "(ss)");
		while (r >= 0 && (r = sd_bus_message_read(reply, "(ss)", &name, &program)) > 0)
			n++;
		snprintf(extra, sizeof(extra), "%u", n);
		answer(r, sent, received, &error, extra);
		return 0;
	}
	answer(r, sent, received, &error, NULL);
	return 0;
}

/* StartWithOptions(@name, @program, {persist: true}): answered once the state holds it. */
static int command_persist(sd_bus *bus, const char *name, const char *program)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	uint64_t sent;
	int r;

	sent = now_ns();
	r = sd_bus_message_new_method_call(bus, &m, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					   BLINKD_MANAGER_INTERFACE, "StartWithOptions");
	if (r >= 0)
		r = sd_bus_message_append(m, "ssa{sv}", name, program, 1, "persist", "b", 1);
	if (r >= 0)
		r = sd_bus_call(bus, m, CALL_TIMEOUT_USEC, &error, &reply);
	answer(r, sent, now_ns(), &error, NULL);
	return 0;
}

/* Any method without arguments; the reply is read whole (skipped), as a client would. */
static int command_plain(sd_bus *bus, const char *path, const char *interface, const char *method)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	uint64_t sent, received;
	int r;

	sent = now_ns();
	r = sd_bus_call_method(bus, BLINKD_BUS_NAME, path, interface, method, &error, &reply, NULL);
	if (r >= 0)
		r = sd_bus_message_skip(reply, NULL);
	received = now_ns();
	answer(r, sent, received, &error, NULL);
	return 0;
}

static int command_getprop(sd_bus *bus, const char *name)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	uint64_t sent, received;
	int r;

	sent = now_ns();
	r = sd_bus_call_method(bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH, "org.freedesktop.DBus.Properties",
			       "Get", &error, &reply, "ss", BLINKD_MANAGER_INTERFACE, name);
	received = now_ns();
	answer(r, sent, received, &error, NULL);
	return 0;
}

static int command_hammer(sd_bus *bus, const char *seconds_text)
{
	uint64_t start = now_ns(), end, longest = 0, calls = 0, first_sent = 0, last_received = 0;
	char extra[64];
	int r = 0;

	end = start + (uint64_t)(strtod(seconds_text, NULL) * 1e9);
	while (now_ns() < end) {
		_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
		uint64_t sent = now_ns(), received;

		if (calls % 2 == 0)
			r = sd_bus_call_method(bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					       "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
					       &error, &reply, NULL);
		else
			r = sd_bus_call_method(bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
					       BLINKD_MANAGER_INTERFACE, "List", &error, &reply, NULL);
		if (r >= 0)
			r = sd_bus_message_skip(reply, NULL);
		received = now_ns();
		if (r < 0) {
			answer(r, sent, received, &error, NULL);
			return 0;
		}
		if (!first_sent)
			first_sent = sent;
		last_received = received;
		if (received - sent > longest)
			longest = received - sent;
		calls++;
	}
	snprintf(extra, sizeof(extra), "%llu %llu", (unsigned long long)calls,
		 (unsigned long long)longest);
	answer(r, first_sent, last_received, NULL, extra);
	return 0;
}

static int on_frame(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	(*(uint64_t *)userdata)++;
	return 0;
}

static int command_subscribe(sd_bus *bus, const char *seconds_text)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
	uint64_t frames = 0, sent, end;
	char extra[32];
	int r;

	r = sd_bus_match_signal(bus, &slot, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				BLINKD_MANAGER_INTERFACE, "Frame", on_frame, &frames);
	sent = now_ns();
	if (r >= 0)
		r = sd_bus_call_method(bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				       BLINKD_MANAGER_INTERFACE, "Subscribe", &error, NULL, NULL);
	if (r < 0) {
		answer(r, sent, now_ns(), &error, NULL);
		return 0;
	}
	end = sent + (uint64_t)(strtod(seconds_text, NULL) * 1e9);
	while (r >= 0 && now_ns() < end) {
		r = sd_bus_process(bus, NULL);
		if (r == 0)
			r = sd_bus_wait(bus, (end - now_ns()) / 1000 + 1);
	}
	if (r >= 0)
		r = sd_bus_call_method(bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
				       BLINKD_MANAGER_INTERFACE, "Unsubscribe", &error, NULL, NULL);
	snprintf(extra, sizeof(extra), "%llu", (unsigned long long)frames);
	answer(r, sent, now_ns(), &error, extra);
	return 0;
}

typedef struct StartMany StartMany;

typedef struct PendingStart {
	StartMany *owner;
	char *name, *program;
	uint64_t sent, received;
	char *result; /* "ok" or the error name; NULL while in flight */
	sd_bus_slot *slot;
} PendingStart;

struct StartMany {
	PendingStart *calls;
	size_t n_calls, n_inflight, n_errors;
};

static int on_start_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	PendingStart *p = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	p->received = now_ns();
	p->result = strdup(e ? e->name : "ok");
	p->owner->n_inflight--;
	return 0;
}

static void start_many_done(StartMany *s)
{
	for (size_t i = 0; i < s->n_calls; i++) {
		free(s->calls[i].name);
		free(s->calls[i].program);
		free(s->calls[i].result);
		sd_bus_slot_unref(s->calls[i].slot);
	}
	free(s->calls);
}

/* Reads every "NAME<TAB>PROGRAM" line first, so nothing but bus work happens while sending. */
static int start_many_read(StartMany *s, FILE *in)
{
	_cleanup_(freep) char *line = NULL;
	size_t cap = 0, line_cap = 0;
	ssize_t len;

	while ((len = getline(&line, &line_cap, in)) > 0) {
		char *tab = strchr(line, '\t');
		PendingStart *p;

		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (!tab)
			continue;
		*tab = '\0';
		if (s->n_calls == cap) {
			size_t c = cap ? 2 * cap : 1024;
			PendingStart *n = realloc(s->calls, c * sizeof(*n));
			if (!n)
				return -ENOMEM;
			s->calls = n;
			cap = c;
		}
		p = &s->calls[s->n_calls++];
		*p = (PendingStart){ .owner = s, .name = strdup(line), .program = strdup(tab + 1) };
		if (!p->name || !p->program)
			return -ENOMEM;
	}
	return 0;
}

static int command_start_many(sd_bus *bus, const char *in_path, const char *window_text,
			      const char *out_path)
{
	_cleanup_(fclosep) FILE *in = NULL, *out = NULL;
	StartMany s = {};
	size_t window, next = 0;
	uint64_t first, last;
	int r;

	window = window_text ? strtoul(window_text, NULL, 10) : 64;
	if (window == 0)
		window = 1;
	in = fopen(in_path, "re");
	out = fopen(out_path, "we");
	if (!in || !out) {
		answer(-errno, 0, 0, NULL, NULL);
		return 0;
	}
	r = start_many_read(&s, in);

	first = now_ns();
	while (r >= 0 && (next < s.n_calls || s.n_inflight > 0)) {
		/* Fill the window, then let replies come in. */
		while (next < s.n_calls && s.n_inflight < window) {
			PendingStart *p = &s.calls[next++];

			p->sent = now_ns();
			r = sd_bus_call_method_async(bus, &p->slot, BLINKD_BUS_NAME,
						     BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE,
						     "Start", on_start_reply, p, "ss", p->name,
						     p->program);
			if (r < 0)
				break;
			s.n_inflight++;
		}
		if (r < 0)
			break;
		r = sd_bus_process(bus, NULL);
		if (r == 0)
			r = sd_bus_wait(bus, UINT64_MAX);
	}
	last = now_ns();

	for (size_t i = 0; i < s.n_calls; i++) {
		PendingStart *p = &s.calls[i];
		if (!p->result || !streq(p->result, "ok"))
			s.n_errors++;
		fprintf(out, "%s %llu %llu %s\n", p->name, (unsigned long long)p->sent,
			(unsigned long long)p->received, p->result ? p->result : "lost");
	}
	if (fflush(out) != 0 && r >= 0)
		r = -errno;
	if (r >= 0) {
		char extra[64];
		snprintf(extra, sizeof(extra), "%zu %zu", s.n_calls, s.n_errors);
		answer(0, first, last, NULL, extra);
	} else
		answer(r, first, last, NULL, NULL);
	start_many_done(&s);
	return 0;
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC in ns, read back to back (the tightest of a few tries). */
static int64_t realtime_offset_ns(void)
{
	int64_t best = 0;
	uint64_t best_span = UINT64_MAX;

	for (int i = 0; i < 16; i++) {
		struct timespec rt;
		uint64_t a = now_ns(), b;

		(void)clock_gettime(CLOCK_REALTIME, &rt);
		b = now_ns();
		if (b - a < best_span) {
			best_span = b - a;
			best = (int64_t)((uint64_t)rt.tv_sec * 1000000000ULL + (uint64_t)rt.tv_nsec) -
			       (int64_t)(a + (b - a) / 2);
		}
	}
	return best;
}

/* Reads one io.blinkd1.Program's properties a{sv}: Name and StartedUSec. */
static int read_program_properties(sd_bus_message *reply, const char **name, uint64_t *started)
{
	int r;

	r = sd_bus_message_enter_container(reply, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
		const char *key;

		r = sd_bus_message_read(reply, "s", &key);
		if (r < 0)
			return r;
		if (streq(key, "Name"))
			r = sd_bus_message_read(reply, "v", "s", name);
		else if (streq(key, "StartedUSec"))
			r = sd_bus_message_read(reply, "v", "t", started);
		else
			r = sd_bus_message_skip(reply, "v");
		if (r < 0)
			return r;
		r = sd_bus_message_exit_container(reply);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(reply);
}

static int command_started(sd_bus *bus, const char *out_path)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(fclosep) FILE *out = NULL;
	uint64_t sent, received;
	int64_t offset;
	unsigned n = 0;
	char extra[64];
	int r;

	out = fopen(out_path, "we");
	if (!out) {
		answer(-errno, 0, 0, NULL, NULL);
		return 0;
	}
	sent = now_ns();
	r = sd_bus_call_method(bus, BLINKD_BUS_NAME, BLINKD_OBJECT_PATH,
			       "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &error,
			       &reply, NULL);
	received = now_ns();
	offset = realtime_offset_ns();
	if (r >= 0)
		r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
	while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
		const char *path, *name = NULL;
		uint64_t started = 0;

		r = sd_bus_message_read(reply, "o", &path);
		if (r >= 0)
			r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
		while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
			const char *interface;

			r = sd_bus_message_read(reply, "s", &interface);
			if (r >= 0 && streq(interface, BLINKD_PROGRAM_INTERFACE))
				r = read_program_properties(reply, &name, &started);
			else if (r >= 0)
				r = sd_bus_message_skip(reply, "a{sv}");
			if (r >= 0)
				r = sd_bus_message_exit_container(reply);
		}
		if (r >= 0)
			r = sd_bus_message_exit_container(reply); /* a{sa{sv}} */
		if (r >= 0)
			r = sd_bus_message_exit_container(reply); /* the entry */
		if (r >= 0 && name && started) {
			fprintf(out, "%s %lld\n", name,
				(long long)((int64_t)(started * 1000ULL) - offset));
			n++;
		}
	}
	if (fflush(out) != 0 && r >= 0)
		r = -errno;
	snprintf(extra, sizeof(extra), "%u %lld", n, (long long)offset);
	answer(r, sent, received, &error, extra);
	return 0;
}

int main(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(freep) char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int r;

	log_set_ident("bench-client");
	if (argc > 1) {
		fprintf(stderr, "Usage: %s < COMMANDS\n(see the comment at the top of "
				"bench/bench-client.c)\n",
			argv[0]);
		return 1;
	}
	r = sd_bus_open_user(&bus);
	if (r < 0)
		return log_error_errno(r, "Failed to connect to the session bus: %m"), 1;

	while ((len = getline(&line, &cap, stdin)) > 0) {
		char *field[4] = {};
		size_t n = 0;
		char *p = line, *tab;

		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		/* At most 4 fields; a program never holds a tab (bench/run writes compact JSON). */
		while (n < ELEMENTSOF(field)) {
			field[n++] = p;
			tab = strchr(p, '\t');
			if (!tab)
				break;
			*tab = '\0';
			p = tab + 1;
		}
		if (streq(field[0], "quit"))
			break;
		else if (streq(field[0], "wait"))
			r = command_wait(bus, field[1]);
		else if (streq(field[0], "start") && field[2])
			r = command_call(bus, "Start", "ss", field[1], field[2]);
		else if (streq(field[0], "persist") && field[2])
			r = command_persist(bus, field[1], field[2]);
		else if (streq(field[0], "define") && field[2])
			r = command_call(bus, "Define", "ss", field[1], field[2]);
		else if (streq(field[0], "undefine") && field[1])
			r = command_call(bus, "Undefine", "s", field[1], NULL);
		else if (streq(field[0], "stop") && field[1])
			r = command_call(bus, "Stop", "s", field[1], NULL);
		else if (streq(field[0], "stopall"))
			r = command_call(bus, "StopAll", NULL, NULL, NULL);
		else if (streq(field[0], "list"))
			r = command_call(bus, "List", NULL, NULL, NULL);
		else if (streq(field[0], "started") && field[1])
			r = command_started(bus, field[1]);
		else if (streq(field[0], "call") && field[2])
			r = command_plain(bus, field[3] ? field[3] : BLINKD_OBJECT_PATH, field[1],
					  field[2]);
		else if (streq(field[0], "getprop") && field[1])
			r = command_getprop(bus, field[1]);
		else if (streq(field[0], "replace") && field[2])
			r = command_call(bus, "Replace", "ss", field[1], field[2]);
		else if (streq(field[0], "hammer") && field[1])
			r = command_hammer(bus, field[1]);
		else if (streq(field[0], "subscribe") && field[1])
			r = command_subscribe(bus, field[1]);
		else if (streq(field[0], "startmany") && field[3])
			r = command_start_many(bus, field[1], field[2], field[3]);
		else {
			printf("err 0 0 unknown-command\n");
			fflush(stdout);
			r = 0;
		}
		if (r < 0)
			return 1;
	}
	return 0;
}
