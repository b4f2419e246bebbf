/* SPDX-License-Identifier: MIT */
/*
 * The registry without an event loop: Runnings listed, found and unlisted
 * by name, the limit on how many are listed, the lines a Running may
 * drive (through the definitions it calls), definitions replaced and
 * removed, a reference keeping a Definition alive after its name is gone,
 * call cycles refused, and the graveyard that keeps a Running freed while
 * pinned readable until the last unpin.
 */
#include <errno.h>
#include <stdlib.h>

#include "registry.h"
#include "test.h"

static Layout *layout;

static Program *parse(const char *text)
{
	ProgramError err = {};
	Program *p = NULL;

	if (program_parse(text, layout, 0, &p, &err) < 0) {
		fprintf(stderr, "cannot parse %s: %s: %s\n", text, err.path, err.message);
		abort();
	}
	return p;
}

static Running *make_running(Registry *reg, const char *name, const char *text)
{
	_cleanup_(program_unrefp) Program *p = parse(text);
	Running *r = NULL;

	check_int(running_new(reg, name, p, &r), 0);
	return r;
}

static void define(Registry *reg, const char *name, const char *text, bool persistent)
{
	_cleanup_(program_unrefp) Program *p = parse(text);
	ProgramError err = {};

	check_int(registry_define(reg, name, p, persistent, true, &err), 0);
}

/* Listed by name, found, refused twice, unlisted; the table is kept sorted for List(). */
static void test_list(void)
{
	Registry reg;
	Running *a, *b, *again;

	registry_init(&reg, 10);
	b = make_running(&reg, "b", "{\"on\":{\"lines\":[1]}}");
	a = make_running(&reg, "a", "{\"on\":{\"lines\":[2]}}");
	check(!b->listed);
	check(registry_get_running(&reg, "b") == NULL); /* made, not yet listed */
	check_int(registry_list_running(&reg, b), 0);
	check_int(registry_list_running(&reg, a), 0);
	check(a->listed && b->listed);
	check(registry_get_running(&reg, "a") == a);
	check(registry_get_running(&reg, "b") == b);
	check(registry_get_running(&reg, "c") == NULL);
	check_int(reg.running.n, 2);
	check_str(reg.running.entries[0].name, "a");
	check_str(reg.running.entries[1].name, "b");

	again = make_running(&reg, "a", "{\"wait\":\"1s\"}");
	check_int(registry_list_running(&reg, again), -EEXIST);
	check(!again->listed);
	check(registry_get_running(&reg, "a") == a);
	running_free(again);

	registry_unlist_running(&reg, a);
	check(!a->listed);
	check(registry_get_running(&reg, "a") == NULL);
	check(registry_get_running(&reg, "b") == b);
	check_int(reg.running.n, 1);
	running_free(a);
	registry_unlist_running(&reg, b);
	running_free(b);
	check_int(reg.running.n, 0);
	registry_done(&reg);
}

/* max_programs: full once that many are listed, not before, and not after one goes. */
static void test_limit(void)
{
	Registry reg;
	Running *r[3];
	char name[8];

	registry_init(&reg, 3);
	for (int i = 0; i < 3; i++) {
		check(!registry_is_full(&reg));
		snprintf(name, sizeof(name), "p%d", i);
		r[i] = make_running(&reg, name, "{\"wait\":\"1s\"}");
		check_int(registry_list_running(&reg, r[i]), 0);
	}
	check(registry_is_full(&reg));
	registry_unlist_running(&reg, r[1]);
	check(!registry_is_full(&reg));
	for (int i = 0; i < 3; i++) {
		if (r[i]->listed)
			registry_unlist_running(&reg, r[i]);
		running_free(r[i]);
	}
	registry_done(&reg);
}

/* The lines a Running may drive: its own and those of what it calls, sorted, each once. */
static void test_lines(void)
{
	Registry reg;
	Running *r;

	registry_init(&reg, 10);
	define(&reg, "inner", "{\"on\":{\"lines\":[7,3]}}", false);
	define(&reg, "outer", "{\"sequence\":[{\"on\":{\"lines\":[5,3]}},{\"call\":\"inner\"}]}", false);
	r = make_running(&reg, "x", "{\"sequence\":[{\"on\":{\"lines\":[9,1]}},{\"call\":\"outer\"},"
				    "{\"call\":\"inner\"}]}");
	check_int(r->n_lines, 5);
	if (r->n_lines == 5) {
		check_int(r->lines[0], 1);
		check_int(r->lines[1], 3);
		check_int(r->lines[2], 5);
		check_int(r->lines[3], 7);
		check_int(r->lines[4], 9);
	}
	check_str(r->name, "x");
	check(r->canonical != NULL);
	running_free(r);
	registry_done(&reg);
}

/*
 * Definitions: defined, replaced in place (the old one lives on while
 * someone holds it, as a reply or a persistent change does), removed,
 * put back; a call cycle is refused and changes nothing.
 */
static void test_definitions(void)
{
	Registry reg;
	Definition *first, *second, *removed;
	ProgramError err = {};
	_cleanup_(program_unrefp) Program *cycle = NULL;

	registry_init(&reg, 10);
	define(&reg, "d", "{\"on\":{\"lines\":[1]}}", true);
	first = registry_get_definition(&reg, "d");
	check(first != NULL);
	if (!first)
		return;
	check(first->persistent);
	check_int(first->n_ref, 1);
	check(registry_lookup_program("d", &reg) == first->program);
	check(registry_lookup_program("e", &reg) == NULL);

	/* A reply holds the first; redefining the name does not free it. */
	definition_ref(first);
	define(&reg, "d", "{\"on\":{\"lines\":[2]}}", false);
	second = registry_get_definition(&reg, "d");
	check(second != NULL && second != first);
	check_int(first->n_ref, 1);
	check_str(first->name, "d");
	check(first->program->lines.n_numbers == 1 && first->program->lines.numbers[0] == 1);
	check_int(reg.definitions.n, 1);

	/* A cycle through the definitions is refused and leaves the table as it was. */
	define(&reg, "e", "{\"call\":\"d\"}", false);
	cycle = parse("{\"call\":\"e\"}");
	check_int(registry_define(&reg, "d", cycle, false, true, &err), -ELOOP);
	check(err.message[0] != '\0');
	check(registry_get_definition(&reg, "d") == second);

	/* Removed: the caller has the reference; put back, the table has it again. */
	removed = registry_remove_definition(&reg, "d");
	check(removed == second);
	check(registry_get_definition(&reg, "d") == NULL);
	check(registry_remove_definition(&reg, "d") == NULL);
	check_int(registry_put_definition(&reg, removed), 0);
	check(registry_get_definition(&reg, "d") == second);
	check_int(registry_put_definition(&reg, first), -EEXIST);
	definition_unref(first);

	registry_done(&reg); /* drops "d" and "e"; ASan says whether anything leaks */
}

/* A Running freed while pinned stays readable until the last unpin, then goes. */
static void test_graveyard(void)
{
	Registry reg;
	Running *r, *s;

	registry_init(&reg, 10);
	r = make_running(&reg, "r", "{\"on\":{\"lines\":[1]}}");
	s = make_running(&reg, "s", "{\"on\":{\"lines\":[2]}}");
	registry_pin(&reg);
	registry_pin(&reg);
	running_free(r);
	running_free(s);
	check(reg.graveyard == s);
	check(s->grave_next == r);
	check_str(r->name, "r"); /* still readable: a reply lists it by pointer */
	registry_unpin(&reg);
	check(reg.graveyard == s); /* one pin is left */
	check_str(s->name, "s");
	registry_unpin(&reg);
	check(reg.graveyard == NULL);
	registry_unpin(&reg); /* one too many: no underflow, the next pin still holds */
	check_int(reg.n_pins, 0);

	/* Unpinned, a Running goes at once. */
	r = make_running(&reg, "r", "{\"wait\":\"1s\"}");
	running_free(r);
	check(reg.graveyard == NULL);

	/* Freed while pinned and never unpinned: registry_done() frees it. */
	registry_pin(&reg);
	running_free(make_running(&reg, "late", "{\"wait\":\"1s\"}"));
	check(reg.graveyard != NULL);
	registry_done(&reg);
	check(reg.graveyard == NULL);
}

int main(void)
{
	check_int(layout_new_default(&layout), 0);
	test_list();
	test_limit();
	test_lines();
	test_definitions();
	test_graveyard();
	layout_free(layout);
	return test_summary("test-registry");
}
