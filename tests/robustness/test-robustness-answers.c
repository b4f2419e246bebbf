/* SPDX-License-Identifier: MIT */
/*
 * Every call is answered. First the calls of issue 23, item 4: a name or an
 * option key of non-ASCII characters long enough that an error message cut
 * it, to Stop, Start, Replace, StartWithOptions, Define and Undefine, for
 * every character length and every place of the cut (landed: no reply at
 * all, sd-bus refused the daemon's error). Then a seeded fuzzer of call
 * arguments: random names, option keys and values of every type, programs
 * in both forms with non-ASCII text, control characters, escapes JSON has
 * (lone surrogates, U+0085), overlong text and duplicate keys, to every
 * method, program objects' Stop and property Gets included. Each call must
 * get a method return or a named error within a bound, never a timeout or
 * no reply, and the daemon must answer a ping afterwards.
 *
 * BLINKD_ANSWERS_SEED sets the seed (default 23; printed at the start, to
 * replay a finding); BLINKD_ANSWERS_CALLS the number of fuzzed calls (default
 * 3000); BLINKD_ANSWERS_SECONDS, when set, runs for that long instead;
 * BLINKD_ANSWERS_AT_PAST_US how far back an "at" option may be (default
 * 2 s; 0 for none in the past).
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "robustness.h"
#include "utf8.h"

#define CONFIG                                                                                     \
	"{\"definitions\": {\"cfgdef\": {\"on\": {\"lines\": [4]}}}, \"max_programs\": 64}"
#define CALLS_DEFAULT 3000
/* The suite's run is the same every time; BLINKD_ANSWERS_SEED explores others. */
#define SEED_DEFAULT 23
#define TEXT_MAX (70 * 1024)

/* The bound on one answer: generous, for a busy machine or a sanitizer build. */
static usec_t call_timeout(void)
{
	return harness_timeout() / 2;
}

/* ---------------------------------------------------------------- random */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	/* splitmix64: tiny, and the same sequence everywhere for a seed. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned rng_below(unsigned n)
{
	return n ? (unsigned)(rng_next() % n) : 0;
}

static bool rng_chance(unsigned percent)
{
	return rng_below(100) < percent;
}

/* ---------------------------------------------------------------- text */

typedef struct Text {
	char s[TEXT_MAX + 64];
	size_t len;
} Text;

static void text_add(Text *t, const char *s, size_t n)
{
	if (t->len + n >= TEXT_MAX)
		return;
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void text_adds(Text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

/* One character of @bytes (1-4) UTF-8 bytes, valid, not NUL. */
static void text_add_char(Text *t, unsigned bytes)
{
	static const char *const specials[] = {
		"\n", "\t", "\x01", "\x1f", "\x7f", "\"", "\\", "'", "/", ":", "$", "%", "{", "}",
		"(", ")", ",", "[", "]", "\xc2\x85", "\xc2\xa0", "\xe2\x80\xa8", "\xe2\x80\x8b",
		"\xef\xbf\xbd", "\xef\xbb\xbf", "\xf4\x8f\xbf\xbd", "\xc3\xa9", "\xe2\x82\xac",
		"\xf0\x9f\x92\xa1",
	};
	char c[4];

	switch (bytes) {
	case 1:
		c[0] = (char)(rng_chance(20) ? 1 + rng_below(127) : 'a' + rng_below(26));
		text_add(t, c, 1);
		return;
	case 2: { /* U+0080..U+07FF */
		unsigned cp = 0x80 + rng_below(0x780);
		c[0] = (char)(0xc0 | cp >> 6);
		c[1] = (char)(0x80 | (cp & 0x3f));
		text_add(t, c, 2);
		return;
	}
	case 3: { /* U+0800..U+FFFF without surrogates */
		unsigned cp = 0x800 + rng_below(0xf800);
		/* sd-bus refuses surrogates and noncharacters in a string it sends */
		if (cp >= 0xd800 && cp <= 0xdfff)
			cp -= 0x800;
		if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe)
			cp = 0xfffd;
		c[0] = (char)(0xe0 | cp >> 12);
		c[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		c[2] = (char)(0x80 | (cp & 0x3f));
		text_add(t, c, 3);
		return;
	}
	case 4: { /* U+10000..U+10FFFF */
		unsigned cp = 0x10000 + rng_below(0x100000);
		if ((cp & 0xfffe) == 0xfffe)
			cp = 0x10000;
		c[0] = (char)(0xf0 | cp >> 18);
		c[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		c[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		c[3] = (char)(0x80 | (cp & 0x3f));
		text_add(t, c, 4);
		return;
	}
	default:
		text_adds(t, specials[rng_below(ELEMENTSOF(specials))]);
	}
}

/*
 * Where the daemon cuts what it quotes, or did: a character that starts a
 * byte or three before one of these is cut in two by a "%.Ns".
 */
static const unsigned cut_points[] = { 20, 40, 60, 64, 65, 70, 80, 100, 200, 256 };

/* Random text a D-Bus string may hold (valid UTF-8, no NUL), of many kinds. */
static void gen_text(Text *t)
{
	static const char *const names[] = { "a", "n1", "n2", "x.y-z_", "cfgdef", "mine", "" };
	unsigned kind = rng_below(8), n;

	switch (kind) {
	case 0: /* a name that may exist */
		text_adds(t, names[rng_below(ELEMENTSOF(names))]);
		break;
	case 1: /* ASCII up to a cut, then characters of one length across it */
		n = cut_points[rng_below(ELEMENTSOF(cut_points))] - rng_below(4);
		for (unsigned i = 0; i < n; i++)
			text_add_char(t, 1);
		for (unsigned i = 0, b = 2 + rng_below(3); i < 20; i++)
			text_add_char(t, b);
		break;
	case 2: /* characters of one length, as many as a cut needs and more */
		n = 1 + rng_below(120);
		for (unsigned i = 0, b = 1 + rng_below(4); i < n; i++)
			text_add_char(t, b);
		break;
	case 3: /* mixed, with controls, quotes and separators */
		n = rng_below(90);
		for (unsigned i = 0; i < n; i++)
			text_add_char(t, 1 + rng_below(5));
		break;
	case 4: /* long: past every limit */
		n = 1000 + rng_below(rng_chance(10) ? 66000 : 4000);
		for (unsigned i = 0, b = 1 + rng_below(4); i < n && t->len + 8 < TEXT_MAX; i++)
			text_add_char(t, rng_chance(90) ? b : 5);
		break;
	default: /* short */
		n = rng_below(12);
		for (unsigned i = 0; i < n; i++)
			text_add_char(t, 1 + rng_below(5));
	}
}

/* @s written as a JSON string's contents: escaped as JSON allows, sometimes raw. */
static void text_add_json(Text *t, const char *s, size_t len)
{
	static const char *const escapes[] = { "\\ud800", "\\udfff", "\\ud83d\\udca1", "\\u0085",
					       "\\u2028", "\\n", "\\u0000", "\\/", "\\u00e9",
					       "\\uffff", "\\ufdd0", "\\ud83f\\udfff" };
	bool raw = rng_chance(15);

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[8];

		if (!raw && (c < 0x20 || c == '"' || c == '\\')) {
			snprintf(e, sizeof(e), "\\u%04x", c);
			text_adds(t, e);
		} else
			text_add(t, s + i, 1);
		/* Between characters only: the text stays valid UTF-8. */
		if (rng_chance(2) && (i + 1 == len || ((unsigned char)s[i + 1] & 0xc0) != 0x80))
			text_adds(t, escapes[rng_below(ELEMENTSOF(escapes))]);
	}
}

static void gen_json_string(Text *t)
{
	Text *r = calloc(1, sizeof(Text));

	if (!r)
		harness_fatal("out of memory");
	gen_text(r);
	text_adds(t, "\"");
	text_add_json(t, r->s, r->len);
	text_adds(t, "\"");
	free(r);
}

static void gen_program(Text *t, unsigned depth);

static void gen_json_program(Text *t, unsigned depth)
{
	static const char *const kinds[] = { "on", "blink", "wait", "morse", "fade", "call",
					     "sequence", "forever", "dim", "pattern" };
	unsigned form = rng_below(12);

	if (depth > 3)
		form = 0;
	switch (form) {
	case 0:
		text_adds(t, "{\"on\":{\"lines\":[4]}}");
		break;
	case 1:
		text_adds(t, "{\"call\":");
		gen_json_string(t);
		text_adds(t, "}");
		break;
	case 2:
		text_adds(t, "{\"morse\":{\"lines\":[4],\"text\":");
		gen_json_string(t);
		text_adds(t, ",\"unit\":\"100ms\"}}");
		break;
	case 3:
		text_adds(t, "{\"blink\":{\"lines\":[");
		gen_json_string(t);
		text_adds(t, "],\"interval\":");
		gen_json_string(t);
		text_adds(t, "}}");
		break;
	case 4:
		text_adds(t, "{");
		gen_json_string(t);
		text_adds(t, ":{}}");
		break;
	case 5: /* a key twice, at the top or inside */
		if (rng_chance(50))
			text_adds(t, "{\"fade\":{\"lines\":[4],\"from\":0,\"from\":1,\"to\":1,"
				     "\"duration\":\"1s\"}}");
		else {
			text_adds(t, "{\"on\":{\"lines\":[4]},");
			gen_json_string(t);
			text_adds(t, ":{\"on\":{\"lines\":[5]}}}");
		}
		break;
	case 6:
	case 7:
		text_adds(t, "{\"sequence\":[");
		gen_program(t, depth + 1);
		text_adds(t, ",");
		gen_program(t, depth + 1);
		text_adds(t, "]}");
		break;
	case 8:
		text_adds(t, "{\"forever\":");
		gen_program(t, depth + 1);
		text_adds(t, "}");
		break;
	case 9:
		text_adds(t, "{\"");
		text_adds(t, kinds[rng_below(ELEMENTSOF(kinds))]);
		text_adds(t, "\":{");
		gen_json_string(t);
		text_adds(t, ":");
		gen_json_string(t);
		text_adds(t, "}}");
		break;
	case 10:
		text_adds(t, "{\"on\":{\"lines\":{");
		gen_json_string(t);
		text_adds(t, ":1}}}");
		break;
	default: { /* raw text where JSON is expected */
		Text *r = calloc(1, sizeof(Text));
		if (!r)
			harness_fatal("out of memory");
		gen_text(r);
		text_adds(t, "{\"wait\":\"");
		text_add(t, r->s, r->len);
		text_adds(t, "\"}");
		free(r);
	}
	}
}

static void gen_text_program(Text *t, unsigned depth)
{
	static const char *const heads[] = { "call(", "on(", "blink(", "morse(4, \"", "wait(",
					     "dim(4, ", "sequence(on(4, 10ms), " };
	unsigned form = rng_below(9);
	Text *r = calloc(1, sizeof(Text));

	if (!r)
		harness_fatal("out of memory");
	gen_text(r);
	if (depth > 3)
		form = 0;
	switch (form) {
	case 0:
		text_adds(t, "on(4)");
		break;
	case 1:
	case 2:
	case 3:
	case 4: {
		const char *h = heads[rng_below(ELEMENTSOF(heads))];
		text_adds(t, h);
		text_add(t, r->s, r->len);
		text_adds(t, strchr(h, '"') ? "\", 100ms)" : rng_chance(50) ? ")" : ", 1s)");
		break;
	}
	case 5:
		text_adds(t, "forever(");
		gen_program(t, depth + 1);
		text_adds(t, ")");
		break;
	case 6:
		text_adds(t, "all(on(4), ");
		gen_program(t, depth + 1);
		text_adds(t, ")");
		break;
	default:
		text_add(t, r->s, r->len);
	}
	free(r);
}

static void gen_program(Text *t, unsigned depth)
{
	if (rng_chance(55))
		gen_json_program(t, depth);
	else
		gen_text_program(t, depth);
}

/* ---------------------------------------------------------------- calls */

/* How far back an "at" may be; 0 keeps every "at" ahead (catch-up is another test's). */
static unsigned at_past_us = 2000000;

static struct {
	unsigned calls, returns, errors, unsent;
	unsigned by_error[16];
	const char *error_names[16];
	usec_t slowest;
	char slowest_method[64];
} tally;

static void tally_error(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(tally.error_names); i++) {
		if (!tally.error_names[i])
			tally.error_names[i] = strdup(name);
		if (tally.error_names[i] && streq(tally.error_names[i], name)) {
			tally.by_error[i]++;
			return;
		}
	}
}

static void tally_reset(void)
{
	for (size_t i = 0; i < ELEMENTSOF(tally.error_names); i++)
		free((char *)tally.error_names[i]);
	memset(&tally, 0, sizeof(tally));
}

/* The paths of program objects calls returned, for their Stop and their properties. */
static char *paths[16];

static void remember_path(const char *path)
{
	unsigned i = rng_below(ELEMENTSOF(paths));

	free(paths[i]);
	paths[i] = strdup(path);
}

static bool answer_is_named(const sd_bus_error *e)
{
	return e->name && !streq(e->name, SD_BUS_ERROR_NO_REPLY) &&
	       !streq(e->name, SD_BUS_ERROR_TIMEOUT) && !streq(e->name, SD_BUS_ERROR_DISCONNECTED) &&
	       (strncmp(e->name, "io.blinkd1.Error.", 17) == 0 ||
		strncmp(e->name, "org.freedesktop.DBus.Error.", 27) == 0);
}

/*
 * Send @m and wait for its answer within the bound: a method return, or a
 * named error whose message is valid UTF-8. Anything else is a finding,
 * printed with the seed's call number. Returns the reply (or NULL).
 */
static sd_bus_message *call_answered(Client *c, sd_bus_message *m, const char *what,
				     unsigned number)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	usec_t start = now_usec(CLOCK_MONOTONIC), took;
	int r;

	r = sd_bus_call(c->bus, m, call_timeout(), &error, &reply);
	took = now_usec(CLOCK_MONOTONIC) - start;
	tally.calls++;
	if (took > tally.slowest) {
		tally.slowest = took;
		snprintf(tally.slowest_method, sizeof(tally.slowest_method), "%s", what);
	}
	if (r >= 0) {
		tally.returns++;
		return reply;
	}
	tally.errors++;
	test_checks++;
	if (!answer_is_named(&error) ||
	    (error.message && utf8_invalid_at(error.message, strlen(error.message)) >= 0)) {
		test_failures++;
		fprintf(stderr, "call %u (%s): no answer: %s: %s (after %.1f ms)\n", number, what,
			error.name ? error.name : strerror(-r), error.message ? error.message : "",
			(double)took / USEC_PER_MSEC);
	} else
		tally_error(error.name);
	sd_bus_error_free(&error);
	return NULL;
}

static sd_bus_message *new_call(Client *c, const char *path, const char *interface,
				const char *member)
{
	sd_bus_message *m = NULL;

	if (sd_bus_message_new_method_call(c->bus, &m, BLINKD_BUS_NAME, path, interface,
					   member) < 0)
		harness_fatal("cannot make a call of %s", member);
	return m;
}

/* The daemon is up and answers a ping (org.freedesktop.DBus.Peer) within the bound. */
static bool check_ping(Client *c, unsigned number)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m =
		new_call(c, BLINKD_OBJECT_PATH, "org.freedesktop.DBus.Peer", "Ping");
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_call(c->bus, m, call_timeout(), &error, &reply);
	if (r < 0)
		fprintf(stderr, "after call %u: no answer to a ping: %s\n", number,
			error.name ? error.name : strerror(-r));
	check(r >= 0);
	check(harness_daemon_alive());
	sd_bus_error_free(&error);
	return r >= 0;
}

/* A random value of a random type for an option. */
static int append_option_value(sd_bus_message *m, const char *key)
{
	static const char *const types[] = { "i", "t", "b", "s", "x", "u", "d", "y", "n", "q",
					     "as", "ay", "a{sv}", "(ii)", "o", "g", "v" };
	const char *type = types[rng_below(ELEMENTSOF(types))];
	int64_t edge[] = { 0, 1, -1, 1000, 1001, -1001, INT32_MAX, INT32_MIN, 99, 100 };
	uint64_t uedge[] = { 0, 1, 99, 100, UINT64_MAX, (uint64_t)INT64_MAX + 1, 86400000000ULL };
	Text *t;
	int r;

	/* The right type for the known keys, most of the time: their values then count. */
	if (rng_chance(60)) {
		if (streq(key, "priority"))
			type = "i";
		else if (streq(key, "timeout") || streq(key, "at"))
			type = "t";
		else if (streq(key, "replace") || streq(key, "bind") || streq(key, "persist"))
			type = "b";
	}
	r = sd_bus_message_open_container(m, 'v', type);
	if (r < 0)
		return r;
	switch (type[0]) {
	case 'i':
		r = sd_bus_message_append(m, "i",
					  (int32_t)(rng_chance(50) ? edge[rng_below(ELEMENTSOF(edge))]
								   : (int64_t)rng_next()));
		break;
	case 't':
		if (rng_chance(30)) {
			/* "at" near now: up to 2 s back (BLINKD_ANSWERS_AT_PAST_US) and ahead */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			r = sd_bus_message_append(m, "t",
						  (uint64_t)ts.tv_sec * USEC_PER_SEC +
							  (uint64_t)ts.tv_nsec / 1000 - at_past_us +
							  rng_below(2000000 + at_past_us));
		} else
			r = sd_bus_message_append(m, "t",
						  rng_chance(50) ? uedge[rng_below(ELEMENTSOF(uedge))]
								 : rng_next());
		break;
	case 'b':
		r = sd_bus_message_append(m, "b", (int)rng_below(2));
		break;
	case 's':
		t = calloc(1, sizeof(Text));
		if (!t)
			return -ENOMEM;
		gen_text(t);
		r = sd_bus_message_append(m, "s", t->s);
		free(t);
		break;
	case 'x':
		r = sd_bus_message_append(m, "x", (int64_t)rng_next());
		break;
	case 'u':
		r = sd_bus_message_append(m, "u", (uint32_t)rng_next());
		break;
	case 'd':
		r = sd_bus_message_append(m, "d", (double)(int64_t)rng_next() / 1e6);
		break;
	case 'y':
		r = sd_bus_message_append(m, "y", (uint8_t)rng_next());
		break;
	case 'n':
		r = sd_bus_message_append(m, "n", (int16_t)rng_next());
		break;
	case 'q':
		r = sd_bus_message_append(m, "q", (uint16_t)rng_next());
		break;
	case 'a':
		if (streq(type, "as"))
			r = sd_bus_message_append(m, "as", 2, "priority", "\xc3\xa9");
		else if (streq(type, "ay")) {
			/* raw bytes: any byte, invalid UTF-8 included */
			uint8_t bytes[300];
			size_t n = rng_below(sizeof(bytes));
			for (size_t i = 0; i < n; i++)
				bytes[i] = (uint8_t)rng_next();
			r = sd_bus_message_append_array(m, 'y', bytes, n);
		} else
			r = sd_bus_message_append(m, "a{sv}", 1, "priority", "i", 1);
		break;
	case '(':
		r = sd_bus_message_append(m, "(ii)", 1, 2);
		break;
	case 'o':
		r = sd_bus_message_append(m, "o", "/io/blinkd1");
		break;
	case 'g':
		r = sd_bus_message_append(m, "g", "a{sv}");
		break;
	default:
		r = sd_bus_message_append(m, "v", "s", "nested");
	}
	if (r < 0)
		return r;
	return sd_bus_message_close_container(m);
}

static int append_options(sd_bus_message *m)
{
	static const char *const keys[] = { "priority", "replace", "bind", "persist",
					    "timeout",	"at",	   "" };
	unsigned n = rng_below(6);
	Text *t = calloc(1, sizeof(Text));
	int r;

	if (!t)
		return -ENOMEM;
	r = sd_bus_message_open_container(m, 'a', "{sv}");
	for (unsigned i = 0; r >= 0 && i < n; i++) {
		t->len = 0;
		t->s[0] = '\0';
		if (rng_chance(60))
			text_adds(t, keys[rng_below(ELEMENTSOF(keys))]);
		else
			gen_text(t);
		r = sd_bus_message_open_container(m, 'e', "sv");
		if (r >= 0)
			r = sd_bus_message_append(m, "s", t->s);
		if (r >= 0)
			r = append_option_value(m, t->s);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	free(t);
	return r;
}

typedef enum Method {
	CALL_START,
	CALL_REPLACE,
	CALL_START_WITH_OPTIONS,
	CALL_STOP,
	CALL_DEFINE,
	CALL_UNDEFINE,
	CALL_PROGRAM_STOP,
	CALL_PROGRAM_GET,
	CALL_MANAGER_GET,
	CALL_LIST,
	CALL_LIST_DEFINITIONS,
	CALL_STOP_ALL,
	CALL_SET_CHIP_PRESENT,
	CALL_WRONG_TYPES,
	_CALL_MAX,
} Method;

static const char *const method_names[_CALL_MAX] = {
	[CALL_START] = "Start",
	[CALL_REPLACE] = "Replace",
	[CALL_START_WITH_OPTIONS] = "StartWithOptions",
	[CALL_STOP] = "Stop",
	[CALL_DEFINE] = "Define",
	[CALL_UNDEFINE] = "Undefine",
	[CALL_PROGRAM_STOP] = "Program.Stop",
	[CALL_PROGRAM_GET] = "Program property Get",
	[CALL_MANAGER_GET] = "Manager property Get",
	[CALL_LIST] = "List",
	[CALL_LIST_DEFINITIONS] = "ListDefinitions",
	[CALL_STOP_ALL] = "StopAll",
	[CALL_SET_CHIP_PRESENT] = "SetChipPresent",
	[CALL_WRONG_TYPES] = "Start with bytes",
};

static unsigned method_counts[_CALL_MAX];

/* One fuzzed call, number @number of the seed's sequence. */
static void fuzz_call(Client *c, unsigned number, Text *name, Text *program)
{
	static const char *const program_props[] = { "Name",	   "Program",  "StartedUSec",
						     "Lines",	   "Priority", "Bound",
						     "Persistent", "TimeoutUSec", "Scheduled" };
	static const char *const manager_props[] = { "Layout", "Chip", "Lines", "Chips",
						     "Lit",    "Levels", "Version" };
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	Method method = (Method)rng_below(_CALL_MAX);
	const char *path = NULL;
	int r = 0;

	/* Starts and stops more often than the rest. */
	if (rng_chance(30))
		method = (Method)rng_below(CALL_UNDEFINE + 1);
	method_counts[method]++;
	name->len = program->len = 0;
	name->s[0] = program->s[0] = '\0';
	/* A valid name most of the time, so that the program is read too. */
	if (rng_chance(60)) {
		static const char *const valid[] = { "a", "n1", "n2", "x.y-z_", "cfgdef", "mine" };
		text_adds(name, valid[rng_below(ELEMENTSOF(valid))]);
	} else
		gen_text(name);
	gen_program(program, 0);
	if (rng_chance(5))
		gen_text(program);

	switch (method) {
	case CALL_START:
	case CALL_REPLACE:
	case CALL_DEFINE:
		m = new_call(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, method_names[method]);
		r = sd_bus_message_append(m, "ss", name->s, program->s);
		break;
	case CALL_START_WITH_OPTIONS:
		m = new_call(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, "StartWithOptions");
		r = sd_bus_message_append(m, "ss", name->s, program->s);
		if (r >= 0)
			r = append_options(m);
		break;
	case CALL_STOP:
	case CALL_UNDEFINE:
		m = new_call(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, method_names[method]);
		r = sd_bus_message_append(m, "s", name->s);
		break;
	case CALL_PROGRAM_STOP:
	case CALL_PROGRAM_GET:
		path = paths[rng_below(ELEMENTSOF(paths))];
		if (!path || rng_chance(10))
			path = BLINKD_PROGRAM_PATH_PREFIX "/_6e6f6e65";
		if (method == CALL_PROGRAM_STOP) {
			m = new_call(c, path, BLINKD_PROGRAM_INTERFACE, "Stop");
			break;
		}
		m = new_call(c, path, "org.freedesktop.DBus.Properties",
			     rng_chance(20) ? "GetAll" : "Get");
		if (streq(sd_bus_message_get_member(m), "GetAll"))
			r = sd_bus_message_append(m, "s", BLINKD_PROGRAM_INTERFACE);
		else
			r = sd_bus_message_append(m, "ss", BLINKD_PROGRAM_INTERFACE,
						  rng_chance(80) ? program_props[rng_below(
									   ELEMENTSOF(program_props))]
								 : name->s);
		break;
	case CALL_MANAGER_GET:
		m = new_call(c, BLINKD_OBJECT_PATH, "org.freedesktop.DBus.Properties", "Get");
		r = sd_bus_message_append(m, "ss", BLINKD_MANAGER_INTERFACE,
					  rng_chance(80)
						  ? manager_props[rng_below(ELEMENTSOF(manager_props))]
						  : name->s);
		break;
	case CALL_LIST:
	case CALL_LIST_DEFINITIONS:
	case CALL_STOP_ALL:
		m = new_call(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE, method_names[method]);
		break;
	case CALL_SET_CHIP_PRESENT:
		m = new_call(c, BLINKD_OBJECT_PATH, "io.blinkd1.Simulation", "SetChipPresent");
		r = sd_bus_message_append(m, "sb", rng_chance(30) ? "" : name->s,
					  rng_chance(70) ? 1 : 0);
		break;
	default: {
		/* Raw bytes where a string is expected: any byte, invalid UTF-8 included. */
		uint8_t bytes[512];
		size_t n = rng_below(sizeof(bytes));
		for (size_t i = 0; i < n; i++)
			bytes[i] = (uint8_t)rng_next();
		m = new_call(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE,
			     method_names[rng_below(CALL_UNDEFINE + 1)]);
		r = sd_bus_message_append_array(m, 'y', bytes, n);
		if (r >= 0 && rng_chance(50))
			r = sd_bus_message_append_array(m, 'y', bytes, n / 2);
	}
	}
	if (r < 0) {
		/* sd-bus refused to build it (a limit of D-Bus): not the daemon's to answer. */
		if (getenv("BLINKD_ANSWERS_DEBUG"))
			fprintf(stderr, "call %u (%s): not sent: %s\n", number, method_names[method],
				strerror(-r));
		tally.unsent++;
		return;
	}
	int failures = test_failures;
	reply = call_answered(c, m, method_names[method], number);
	if (test_failures > failures) {
		char shown[UTF8_QUOTE_SIZE(400)];
		fprintf(stderr, "    name \"%s\"\n",
			utf8_quote(shown, sizeof(shown), name->s, name->len, 400));
		fprintf(stderr, "    program \"%s\"\n",
			utf8_quote(shown, sizeof(shown), program->s, program->len, 400));
	}
	if (reply && (method == CALL_START || method == CALL_REPLACE ||
		      method == CALL_START_WITH_OPTIONS)) {
		const char *p;
		if (sd_bus_message_read(reply, "o", &p) >= 0)
			remember_path(p);
	}
}

/* ---------------------------------------------------------------- scenarios */

/*
 * Issue 23, item 4: "a" and 50 "é" to Stop timed out. Each character
 * length, with the cut of every "%.Ns" the daemon had, falling on each
 * byte of a character; to every method that quotes a name or an option key.
 */
static void test_cut_characters(Client *c)
{
	static const char *const chars[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x92\xa1",
					     "\xc2\x85" };
	static const char *const methods[] = { "Stop",	  "Start",    "Replace",
					       "Define",  "Undefine", "StartWithOptions",
					       "option key" };
	unsigned calls = 0, answered = 0;

	figure_mark();
	for (size_t ci = 0; ci < ELEMENTSOF(chars); ci++)
		for (unsigned shift = 0; shift < 4; shift++)
			for (size_t mi = 0; mi < ELEMENTSOF(methods); mi++) {
				_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL,
									      *reply = NULL;
				bool option = streq(methods[mi], "option key");
				char text[512] = "";
				size_t len = 0;

				for (unsigned i = 0; i < shift; i++)
					text[len++] = 'a';
				while (len + 4 < 300) {
					memcpy(text + len, chars[ci], strlen(chars[ci]));
					len += strlen(chars[ci]);
				}
				text[len] = '\0';
				m = new_call(c, BLINKD_OBJECT_PATH, BLINKD_MANAGER_INTERFACE,
					     option ? "StartWithOptions" : methods[mi]);
				if (streq(methods[mi], "Stop") || streq(methods[mi], "Undefine"))
					check(sd_bus_message_append(m, "s", text) >= 0);
				else if (!option && !streq(methods[mi], "StartWithOptions"))
					check(sd_bus_message_append(m, "ss", text, "on(4)") >= 0);
				else
					check(sd_bus_message_append(m, "ssa{sv}",
								    option ? "opt" : text, "on(4)",
								    1, option ? text : "priority",
								    "i", 1) >= 0);
				calls++;
				int before = test_failures;
				reply = call_answered(c, m, methods[mi], calls);
				if (test_failures == before)
					answered++;
				check(reply == NULL); /* each is refused: a bad name or key */
			}
	check_ping(c, calls);
	check_int(answered, calls);
	figure("a name or an option key of 300 bytes of 2-, 3- and 4-byte characters (é, €, 💡, "
	       "U+0085) after 0-3 ASCII bytes, so that any cut of it splits a character, to Stop, "
	       "Start, Replace, Define, Undefine, StartWithOptions (name and option key) | %u of "
	       "%u calls answered with a named error in valid UTF-8; the daemon answers a ping",
	       answered, calls);
}

static unsigned env_unsigned(const char *name, unsigned fallback)
{
	const char *v = getenv(name);

	return v && *v ? (unsigned)strtoul(v, NULL, 0) : fallback;
}

static void test_fuzz(Client *c)
{
	unsigned calls = env_unsigned("BLINKD_ANSWERS_CALLS", CALLS_DEFAULT);
	unsigned seconds = env_unsigned("BLINKD_ANSWERS_SECONDS", 0);
	uint64_t seed = getenv("BLINKD_ANSWERS_SEED")
				? strtoull(getenv("BLINKD_ANSWERS_SEED"), NULL, 0)
				: SEED_DEFAULT;
	usec_t start = now_usec(CLOCK_MONOTONIC), end = start + (usec_t)seconds * USEC_PER_SEC;
	Text *name = calloc(1, sizeof(Text)), *program = calloc(1, sizeof(Text));
	unsigned failures_before = (unsigned)test_failures, n = 0;
	char by_error[1024] = "";

	if (!name || !program)
		harness_fatal("out of memory");
	at_past_us = env_unsigned("BLINKD_ANSWERS_AT_PAST_US", at_past_us);
	figure_mark();
	tally_reset();
	rng_state = seed;
	fprintf(stderr, "fuzz: seed %llu (BLINKD_ANSWERS_SEED to replay)\n",
		(unsigned long long)seed);
	for (n = 0; seconds ? now_usec(CLOCK_MONOTONIC) < end : n < calls; n++) {
		int failures = test_failures;

		fuzz_call(c, n, name, program);
		/* No answer: if the daemon no longer answers at all, the rest would only wait. */
		if (test_failures > failures && !check_ping(c, n))
			break;
		if (n % 100 == 99) {
			client_forget_signals(c);
			check_ping(c, n);
			if (!harness_daemon_alive() || test_failures > (int)failures_before + 20)
				break;
		}
		if (seconds && n % 5000 == 4999)
			fprintf(stderr, "fuzz: %u calls, %.0f s\n", n + 1,
				(double)(now_usec(CLOCK_MONOTONIC) - start) / USEC_PER_SEC);
	}
	check_ping(c, n);
	for (size_t i = 0; i < ELEMENTSOF(tally.error_names) && tally.error_names[i]; i++) {
		size_t len = strlen(by_error);
		snprintf(by_error + len, sizeof(by_error) - len, "%s%s %u", len ? ", " : "",
			 strrchr(tally.error_names[i], '.') + 1, tally.by_error[i]);
	}
	fprintf(stderr, "fuzz: seed %llu, %u calls in %.1f s: %u returns, %u errors (%s); slowest "
			"%.1f ms (%s)\n",
		(unsigned long long)seed, tally.calls,
		(double)(now_usec(CLOCK_MONOTONIC) - start) / USEC_PER_SEC, tally.returns,
		tally.errors, by_error, (double)tally.slowest / USEC_PER_MSEC,
		tally.slowest_method);
	figure("%u calls with seeded random arguments (names, option keys and values of 17 "
	       "types, programs in both forms with 1- to 4-byte characters across every cut the "
	       "daemon made, controls, lone surrogates, noncharacters and U+0085 as JSON escapes, "
	       "duplicate keys, "
	       "texts up to 70 KB, raw bytes for strings) to Start, Replace, StartWithOptions, "
	       "Stop, Define, Undefine, StopAll, List, ListDefinitions, SetChipPresent, program "
	       "objects' Stop and property Gets | every call answered within %.0f s: %u returns, "
	       "%u named errors; slowest answer %.1f ms; a ping answered every 100 calls and "
	       "after",
	       tally.calls, (double)call_timeout() / USEC_PER_SEC, tally.returns, tally.errors,
	       (double)tally.slowest / USEC_PER_MSEC);
	free(name);
	free(program);
}

int main(void)
{
	_cleanup_(client_freep) Client *c = NULL;

	harness_init();
	figures_begin("test-robustness-answers");
	harness_start_daemon(CONFIG);
	c = client_new();

	test_cut_characters(c);
	test_fuzz(c);

	check(harness_daemon_alive());
	check_int(harness_stop_daemon(SIGTERM), 0);
	for (size_t i = 0; i < ELEMENTSOF(paths); i++)
		free(paths[i]);
	tally_reset();
	figures_end();
	return test_summary("test-robustness-answers");
}
