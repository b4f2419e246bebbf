/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "program-bind.h"
#include "registry.h"

void registry_init(Registry *reg, unsigned max_programs)
{
	*reg = (Registry){ .max_programs = max_programs };
}

static void running_destroy(Running *r)
{
	free(r->name);
	free(r->canonical);
	free(r->lines);
	free(r);
}

static void registry_bury(Registry *reg)
{
	while (reg->graveyard) {
		Running *r = reg->graveyard;

		reg->graveyard = r->grave_next;
		running_destroy(r);
	}
}

void registry_done(Registry *reg)
{
	for (size_t i = 0; i < reg->definitions.n; i++)
		definition_unref(reg->definitions.entries[i].value);
	name_table_done(&reg->definitions);
	name_table_done(&reg->running);
	reg->n_pins = 0;
	registry_bury(reg);
}

/* ------------------------------------------------------------- programs */

Running *running_free(Running *r)
{
	if (!r)
		return NULL;
	if (r->registry && r->registry->n_pins > 0) {
		r->grave_next = r->registry->graveyard;
		r->registry->graveyard = r;
		return NULL;
	}
	running_destroy(r);
	return NULL;
}

void registry_pin(Registry *reg)
{
	reg->n_pins++;
}

void registry_unpin(Registry *reg)
{
	if (reg->n_pins > 0 && --reg->n_pins == 0)
		registry_bury(reg);
}

typedef struct LineCollector {
	unsigned *numbers;
	size_t n, cap;
	NameTable seen_defs; /* each definition once */
	int error;
} LineCollector;

/* Gather every line @p may drive, following calls into the definitions. */
static void collect_lines(const Registry *reg, const Program *p, LineCollector *c)
{
	if (c->n + p->lines.n_numbers > c->cap) {
		size_t cap = (c->n + p->lines.n_numbers) * 2;
		unsigned *o = realloc(c->numbers, cap * sizeof(unsigned));
		if (!o) {
			c->error = -ENOMEM;
			return;
		}
		c->numbers = o;
		c->cap = cap;
	}
	if (p->lines.n_numbers > 0) {
		memcpy(c->numbers + c->n, p->lines.numbers, p->lines.n_numbers * sizeof(unsigned));
		c->n += p->lines.n_numbers;
	}

	if (p->kind == PROGRAM_CALL) {
		Definition *d = name_table_get(&reg->definitions, p->call);
		if (d && name_table_put(&c->seen_defs, d->name, d) == 0)
			collect_lines(reg, d->program, c);
	}
	for (size_t i = 0; i < p->n_children; i++)
		collect_lines(reg, p->children[i], c);
}

int running_new(Registry *reg, const char *name, Program *p, Running **ret)
{
	_cleanup_(running_freep) Running *r = NULL;
	LineCollector c = {};

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->registry = reg;
	r->name = strdup(name);
	r->canonical = program_format(p);
	if (!r->name || !r->canonical)
		return -ENOMEM;

	collect_lines(reg, p, &c);
	name_table_done(&c.seen_defs);
	if (c.error < 0) {
		free(c.numbers);
		return c.error;
	}
	if (c.n > 0)
		qsort(c.numbers, c.n, sizeof(unsigned), offset_compare);
	for (size_t i = 0; i < c.n; i++)
		if (r->n_lines == 0 || c.numbers[r->n_lines - 1] != c.numbers[i])
			c.numbers[r->n_lines++] = c.numbers[i];
	r->lines = c.numbers;
	*ret = TAKE_PTR(r);
	return 0;
}

Running *registry_get_running(const Registry *reg, const char *name)
{
	return name_table_get(&reg->running, name);
}

int registry_list_running(Registry *reg, Running *r)
{
	int k = name_table_put(&reg->running, r->name, r);

	if (k < 0)
		return k;
	r->listed = true;
	return 0;
}

void registry_unlist_running(Registry *reg, Running *r)
{
	(void)name_table_remove(&reg->running, r->name);
	r->listed = false;
}

bool registry_is_full(const Registry *reg)
{
	return reg->running.n >= reg->max_programs;
}

/* ---------------------------------------------------------- definitions */

Definition *definition_ref(Definition *d)
{
	d->n_ref++;
	return d;
}

Definition *definition_unref(Definition *d)
{
	if (!d || --d->n_ref > 0)
		return NULL;
	free(d->name);
	free(d->canonical);
	program_unref(d->program);
	free(d);
	return NULL;
}

Definition *registry_get_definition(const Registry *reg, const char *name)
{
	return name_table_get(&reg->definitions, name);
}

Program *registry_lookup_program(const char *name, void *userdata)
{
	Definition *d = registry_get_definition(userdata, name);

	return d ? d->program : NULL;
}

typedef struct CandidateLookup {
	Registry *registry;
	const Definition *candidate;
} CandidateLookup;

/* The definitions as they would be with the candidate in: to find a cycle it would close. */
static Program *lookup_with_candidate(const char *name, void *userdata)
{
	CandidateLookup *l = userdata;

	if (streq(name, l->candidate->name))
		return l->candidate->program;
	return registry_lookup_program(name, l->registry);
}

int registry_define(Registry *reg, const char *name, Program *p, bool persistent, bool check,
		    ProgramError *error)
{
	_cleanup_(definition_unrefp) Definition *d = NULL;
	CandidateLookup lookup;
	Definition *old;
	int k;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->n_ref = 1;
	d->name = strdup(name);
	d->canonical = program_format(p);
	d->program = program_ref(p);
	d->persistent = persistent;
	if (!d->name || !d->canonical)
		return -ENOMEM;

	lookup = (CandidateLookup){ reg, d };
	k = check ? program_check_calls(p, lookup_with_candidate, &lookup, name, error) : 0;
	if (k < 0)
		return k;

	/* Runs bound what they call when they started: replacing it here changes none of them. */
	old = registry_remove_definition(reg, name);
	definition_unref(old);
	k = name_table_put(&reg->definitions, d->name, d);
	if (k < 0)
		return k;
	TAKE_PTR(d);
	return 0;
}

int registry_put_definition(Registry *reg, Definition *d)
{
	return name_table_put(&reg->definitions, d->name, d);
}

Definition *registry_remove_definition(Registry *reg, const char *name)
{
	return name_table_remove(&reg->definitions, name);
}
