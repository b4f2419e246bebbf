/* SPDX-License-Identifier: MIT */
/*
 * The store's definitions back into a registry, without a manager or an
 * event loop: what fits comes back (persistent, over the config's of the
 * same name), what no longer parses, calls a name no longer defined (also
 * through another left out), or closes a cycle is left out and named, and
 * a config definition whose stored twin is left out stays the config's.
 */
#include <errno.h>
#include <stdlib.h>

#include "resume.h"
#include "test.h"

static Layout *layout;

static void define(Registry *reg, const char *name, const char *text)
{
	_cleanup_(program_unrefp) Program *p = NULL;
	ProgramError err = {};

	check_int(program_parse(text, layout, 0, &p, &err), 0);
	check_int(registry_define(reg, name, p, false, true, &err), 0);
}

static void check_kept(const Registry *reg, const char *name, bool persistent)
{
	const Definition *d = registry_get_definition(reg, name);

	check(d != NULL);
	if (d && d->persistent != persistent)
		fprintf(stderr, "%s: persistent is %d\n", name, d->persistent);
	check(d && d->persistent == persistent);
}

static void test_resume(void)
{
	StoredDefinition stored[] = {
		{ (char *)"a", (char *)"{\"call\":\"b\"}" },
		{ (char *)"b", (char *)"{\"on\":{\"lines\":[1]}}" },
		{ (char *)"cfg", (char *)"{\"on\":{\"lines\":[2]}}" },   /* over the config's */
		{ (char *)"c", (char *)"{\"call\":\"nowhere\"}" },       /* undefined */
		{ (char *)"d", (char *)"{\"call\":\"c\"}" },             /* through one left out */
		{ (char *)"e", (char *)"{\"call\":\"cfg2\"}" },          /* the config's */
		{ (char *)"x", (char *)"{\"call\":\"y\"}" },             /* a cycle */
		{ (char *)"y", (char *)"{\"call\":\"x\"}" },
		{ (char *)"bad", (char *)"{\"nonsense\":1}" },           /* no longer parses */
		{ (char *)"cfg3", (char *)"{\"call\":\"nowhere\"}" },    /* left out: the config's stays */
		{ (char *)"f", (char *)"{\"call\":\"cfg3\"}" },          /* ... and is what it calls */
	};
	StoreContent s = { .definitions = stored, .n_definitions = sizeof(stored) / sizeof(stored[0]) };
	const char *out[] = { "c", "d", "x", "y", "bad", "cfg3" };
	_cleanup_(name_table_done) NameTable left_out = {};
	Registry reg;

	registry_init(&reg, 10);
	define(&reg, "cfg", "{\"on\":{\"lines\":[3]}}");
	define(&reg, "cfg2", "{\"on\":{\"lines\":[4]}}");
	define(&reg, "cfg3", "{\"on\":{\"lines\":[5]}}");

	check_int(resume_definitions(&reg, layout, &s, &left_out), 6);
	check_int(left_out.n, 6);
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++) {
		if (!name_table_get(&left_out, out[i]))
			fprintf(stderr, "%s was not left out\n", out[i]);
		check(name_table_get(&left_out, out[i]) != NULL);
		if (!streq(out[i], "cfg3"))
			check(registry_get_definition(&reg, out[i]) == NULL);
	}
	check_kept(&reg, "a", true);
	check_kept(&reg, "b", true);
	check_kept(&reg, "cfg", true);
	check_kept(&reg, "e", true);
	check_kept(&reg, "f", true);
	check_kept(&reg, "cfg2", false);
	check_kept(&reg, "cfg3", false);
	check_int(reg.definitions.n, 7);
	registry_done(&reg);
}

/* An empty store changes nothing. */
static void test_empty(void)
{
	StoreContent s = {};
	_cleanup_(name_table_done) NameTable left_out = {};
	Registry reg;

	registry_init(&reg, 10);
	define(&reg, "cfg", "{\"on\":{\"lines\":[3]}}");
	check_int(resume_definitions(&reg, layout, &s, &left_out), 0);
	check_int(left_out.n, 0);
	check_kept(&reg, "cfg", false);
	registry_done(&reg);
}

int main(void)
{
	check_int(layout_new_default(&layout), 0);
	test_resume();
	test_empty();
	layout_free(layout);
	return test_summary("test-resume");
}
