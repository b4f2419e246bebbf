/* SPDX-License-Identifier: MIT */
/*
 * Call binding: what a program calls is bound once, with a reference, each
 * definition once; undefined names and call cycles are refused with their
 * names; a name being defined counts as called.
 */
#include <errno.h>
#include <stdlib.h>

#include "program-bind.h"
#include "test.h"

static Layout *layout;

typedef struct Definitions {
	const char *names[8];
	Program *programs[8];
	size_t n;
	unsigned n_lookups;
} Definitions;

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

static void define(Definitions *d, const char *name, const char *text)
{
	d->names[d->n] = name;
	d->programs[d->n++] = parse(text);
}

static void definitions_free(Definitions *d)
{
	for (size_t i = 0; i < d->n; i++)
		program_unref(d->programs[i]);
}

static Program *lookup(const char *name, void *userdata)
{
	Definitions *d = userdata;

	d->n_lookups++;
	for (size_t i = 0; i < d->n; i++)
		if (streq(d->names[i], name))
			return d->programs[i];
	return NULL;
}

static void test_bind(void)
{
	Definitions d = {};
	ProgramBindings b = {};
	ProgramError error = {};
	Program *p;

	define(&d, "flash", "{\"on\":{\"lines\":[11],\"for\":\"10ms\"}}");
	define(&d, "twice", "{\"sequence\":[{\"call\":\"flash\"},{\"call\":\"flash\"}]}");
	p = parse("{\"all\":[{\"call\":\"twice\"},{\"call\":\"flash\"}]}");

	check_int(program_bind(&b, p, lookup, &d, NULL, false, &error), 0);
	/* Each definition once, a callee before its caller, with a reference on each. */
	check_int(b.n, 2);
	check_str(b.items[0].name, "flash");
	check_str(b.items[1].name, "twice");
	check(program_bindings_lookup(&b, "flash") == d.programs[0]);
	check(program_bindings_lookup(&b, "twice") == d.programs[1]);
	check(program_bindings_find(&b, "twice") == &b.items[1]);
	check(!program_bindings_lookup(&b, "nothing"));
	check_int(d.programs[0]->n_ref, 2);
	check_int(d.programs[1]->n_ref, 2);
	check_int(d.n_lookups, 2);

	/* Bound is bound: binding again looks nothing up. */
	check_int(program_bind(&b, p, lookup, &d, NULL, false, &error), 0);
	check_int(b.n, 2);
	check_int(d.n_lookups, 2);

	program_bindings_clear(&b);
	check_int(b.n, 0);
	check(!b.items);
	check_int(d.programs[0]->n_ref, 1);
	check_int(d.programs[1]->n_ref, 1);
	program_unref(p);
	definitions_free(&d);
}

static void test_undefined(void)
{
	Definitions d = {};
	ProgramBindings b = {};
	ProgramError error = {};
	Program *p = parse("{\"sequence\":[{\"wait\":\"1s\"},{\"call\":\"nowhere\"}]}");

	check_int(program_bind(&b, p, lookup, &d, NULL, false, &error), -ENOENT);
	check_str(error.path, "$");
	check_str(error.message, "no definition named \"nowhere\"");
	program_bindings_clear(&b);
	/* Defining: fine, checked when it starts. No lookup at all: fine too. */
	check_int(program_check_calls(p, lookup, &d, "mine", NULL), 0);
	check_int(program_check_calls(p, NULL, NULL, NULL, NULL), 0);
	program_unref(p);
}

static void test_cycles(void)
{
	Definitions d = {};
	ProgramBindings b = {};
	ProgramError error = {};
	Program *p;

	define(&d, "ping", "{\"sequence\":[{\"wait\":1},{\"call\":\"pong\"}]}");
	define(&d, "pong", "{\"all\":[{\"wait\":1},{\"call\":\"ping\"}]}");
	p = parse("{\"call\":\"ping\"}");
	check_int(program_bind(&b, p, lookup, &d, NULL, false, &error), -ELOOP);
	check_str(error.message, "call cycle: ping -> pong -> ping");
	program_bindings_clear(&b);
	check_int(program_check_calls(p, lookup, &d, NULL, &error), -ELOOP);
	check_str(error.message, "call cycle: ping -> pong -> ping");
	program_unref(p);

	/* A name being defined is on the call stack: calling itself, or through another. */
	p = parse("{\"forever\":{\"call\":\"self\"}}");
	check_int(program_check_calls(p, lookup, &d, "self", &error), -ELOOP);
	check_str(error.message, "call cycle: self -> self");
	program_unref(p);
	define(&d, "back", "{\"call\":\"loop\"}");
	p = parse("{\"call\":\"back\"}");
	check_int(program_check_calls(p, lookup, &d, "loop", &error), -ELOOP);
	check_str(error.message, "call cycle: loop -> back -> loop");
	/* Under another name there is no cycle; nothing stays bound or referenced. */
	check_int(program_check_calls(p, lookup, &d, "other", &error), 0);
	check_int(d.programs[2]->n_ref, 1);
	program_unref(p);
	definitions_free(&d);
}

int main(void)
{
	check_int(layout_new_default(&layout), 0);
	test_bind();
	test_undefined();
	test_cycles();
	layout_free(layout);
	return test_summary("test-program-bind");
}
