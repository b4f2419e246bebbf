/* SPDX-License-Identifier: MIT */
/*
 * Program durations: each kind, composites, calls through their bindings
 * (each definition's duration computed once), saturation to forever.
 */
#include <stdlib.h>

#include "program-duration.h"
#include "test.h"

#define MS USEC_PER_MSEC
#define S USEC_PER_SEC

static Layout *layout;
static Program *defs[48];
static char def_names[48][8];
static size_t n_defs;
static unsigned n_lookups;

static Program *parse(const char *text)
{
	Program *p = NULL;
	ProgramError err;

	if (program_parse(text, layout, 0, &p, &err) < 0) {
		fprintf(stderr, "bad test program %s: %s: %s\n", text, err.path, err.message);
		abort();
	}
	return p;
}

static Program *lookup(const char *name, void *userdata)
{
	n_lookups++;
	for (size_t i = 0; i < n_defs; i++)
		if (streq(def_names[i], name))
			return defs[i];
	return NULL;
}

static usec_t duration_of(const char *text)
{
	Program *p = parse(text);
	usec_t d = program_duration_lookup(p, lookup, NULL);

	program_unref(p);
	return d;
}

static void test_kinds(void)
{
	check_int(duration_of("{\"blink\":{\"lines\":[11],\"interval\":\"100ms\",\"times\":3}}"), 600 * MS);
	check_int(duration_of("{\"blink\":{\"lines\":[11],\"interval\":\"100ms\"}}"), USEC_INFINITY);
	/* A cycle's round is every line once, lit and dark. */
	check_int(duration_of("{\"cycle\":{\"lines\":{\"row\":0},\"interval\":\"100ms\",\"times\":2}}"),
		  2 * 2 * 5 * 100 * MS);
	check_int(duration_of("{\"on\":{\"lines\":[11]}}"), USEC_INFINITY);
	check_int(duration_of("{\"on\":{\"lines\":[11],\"for\":\"1s\"}}"), S);
	check_int(duration_of("{\"wait\":\"2s\"}"), 2 * S);
	check_int(duration_of("{\"fade\":{\"lines\":[11],\"from\":0,\"to\":1,\"over\":\"1s\"}}"), S);
	check_int(duration_of("{\"pattern\":{\"lines\":[11],\"steps\":[[1,\"10ms\"],[0,\"30ms\"]],\"times\":3}}"),
		  120 * MS);
	check_int(duration_of("{\"heartbeat\":{\"lines\":[11]}}"), USEC_INFINITY);
	check_int(duration_of("{\"forever\":{\"wait\":\"1s\"}}"), USEC_INFINITY);
}

static void test_composites(void)
{
	check_int(duration_of("{\"sequence\":[{\"wait\":\"1s\"},{\"wait\":\"2s\"}]}"), 3 * S);
	check_int(duration_of("{\"all\":[{\"wait\":\"1s\"},{\"wait\":\"2s\"}]}"), 2 * S);
	check_int(duration_of("{\"any\":[{\"wait\":\"3s\"},{\"wait\":\"2s\"}]}"), 2 * S);
	check_int(duration_of("{\"any\":[{\"on\":{\"lines\":[11]}},{\"wait\":\"2s\"}]}"), 2 * S);
	check_int(duration_of("{\"all\":[{\"on\":{\"lines\":[11]}},{\"wait\":\"2s\"}]}"), USEC_INFINITY);
	check_int(duration_of("{\"repeat\":{\"times\":4,\"program\":{\"wait\":\"250ms\"}}}"), S);
	/* Some 73 years and more is forever. */
	check_int(duration_of("{\"repeat\":{\"times\":2000000000,\"program\":"
			      "{\"repeat\":{\"times\":2000000000,\"program\":{\"wait\":\"1s\"}}}}}"),
		  USEC_INFINITY);
	check_int(duration_of("{\"sequence\":[{\"call\":\"undefined\"},{\"wait\":\"2s\"}]}"),
		  USEC_INFINITY);
}

/*
 * d0 waits 1 ms, d<k> runs d<k-1> twice: d40 runs 2^40 ms, through 2^40
 * calls. Computed once per definition, it takes 41 computations.
 */
static void test_calls(void)
{
	char text[128];
	ProgramBindings b = {};
	Program *p;

	defs[n_defs] = parse("{\"wait\":\"1ms\"}");
	snprintf(def_names[n_defs++], sizeof(def_names[0]), "d0");
	for (unsigned k = 1; k <= 40; k++) {
		snprintf(text, sizeof(text), "{\"sequence\":[{\"call\":\"d%u\"},{\"call\":\"d%u\"}]}",
			 k - 1, k - 1);
		defs[n_defs] = parse(text);
		snprintf(def_names[n_defs++], sizeof(def_names[0]), "d%u", k);
	}
	p = parse("{\"sequence\":[{\"wait\":\"5ms\"},{\"call\":\"d40\"}]}");
	check_int(program_bind(&b, p, lookup, NULL, NULL, false, NULL), 0);
	check_int(b.n, 41);
	check_int(program_duration(p, &b), 5 * MS + (1ULL << 40) * MS);
	check(program_bindings_find(&b, "d40")->has_duration);
	check_int(program_bindings_find(&b, "d3")->duration, 8 * MS);
	/* A binding's duration is what it was computed as: it is not computed again. */
	program_bindings_find(&b, "d40")->duration = 7;
	check_int(program_duration(p, &b), 5 * MS + 7);
	program_bindings_clear(&b);
	check_int(program_duration_lookup(p, lookup, NULL), 5 * MS + (1ULL << 40) * MS);
	program_unref(p);
	for (size_t i = 0; i < n_defs; i++)
		program_unref(defs[i]);
}

int main(void)
{
	check_int(layout_new_default(&layout), 0);
	test_kinds();
	test_composites();
	test_calls();
	layout_free(layout);
	return test_summary("test-program-duration");
}
