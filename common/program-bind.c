/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "program-bind.h"

typedef struct BindContext {
	ProgramBindings *bindings;
	ProgramLookup lookup;
	void *userdata;
	ProgramError *error;
	bool allow_undefined;
	const char *stack[PROGRAM_NODES_MAX];
	size_t n_stack;
} BindContext;

ProgramBinding *program_bindings_find(const ProgramBindings *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (streq(b->items[i].name, name))
			return &b->items[i];
	return NULL;
}

Program *program_bindings_lookup(const ProgramBindings *b, const char *name)
{
	ProgramBinding *x = program_bindings_find(b, name);

	return x ? x->program : NULL;
}

void program_bindings_clear(ProgramBindings *b)
{
	for (size_t i = 0; i < b->n; i++)
		program_unref(b->items[i].program);
	free(b->items);
	b->items = NULL;
	b->n = 0;
}

static int bind_program(BindContext *ctx, const Program *p);

static int bind_call(const char *name, void *userdata)
{
	BindContext *ctx = userdata;
	ProgramBindings *bindings = ctx->bindings;
	ProgramBinding *b;
	Program *def;
	int r;

	for (size_t i = 0; i < ctx->n_stack; i++)
		if (streq(ctx->stack[i], name)) {
			if (ctx->error) {
				size_t len = 0;
				snprintf(ctx->error->path, sizeof(ctx->error->path), "$");
				len += (size_t)snprintf(ctx->error->message, sizeof(ctx->error->message),
							"call cycle:");
				for (size_t j = i; j < ctx->n_stack && len < sizeof(ctx->error->message); j++)
					len += (size_t)snprintf(ctx->error->message + len,
								sizeof(ctx->error->message) - len,
								" %s ->", ctx->stack[j]);
				if (len < sizeof(ctx->error->message))
					snprintf(ctx->error->message + len,
						 sizeof(ctx->error->message) - len, " %s", name);
			}
			return -ELOOP;
		}
	if (program_bindings_lookup(bindings, name))
		return 0; /* bound already, and checked */

	def = ctx->lookup ? ctx->lookup(name, ctx->userdata) : NULL;
	if (!def && ctx->allow_undefined)
		return 0;
	if (!def) {
		if (ctx->error) {
			snprintf(ctx->error->path, sizeof(ctx->error->path), "$");
			snprintf(ctx->error->message, sizeof(ctx->error->message),
				 "no definition named \"%s\"", name);
		}
		return -ENOENT;
	}
	if (ctx->n_stack >= ELEMENTSOF(ctx->stack))
		return -ELOOP;

	ctx->stack[ctx->n_stack++] = name;
	r = bind_program(ctx, def);
	ctx->n_stack--;
	if (r < 0)
		return r;

	b = realloc(bindings->items, (bindings->n + 1) * sizeof(ProgramBinding));
	if (!b)
		return -ENOMEM;
	bindings->items = b;

	/* Bound after its own calls, so a cycle through it is still seen above. */
	bindings->items[bindings->n++] = (ProgramBinding){
		.name = name,
		.program = program_ref(def),
	};
	return 0;
}

static int bind_program(BindContext *ctx, const Program *p)
{
	return program_for_each_call(p, bind_call, ctx);
}

/* The context is large: it lives on the heap. */
int program_bind(ProgramBindings *b, const Program *program, ProgramLookup lookup,
		 void *userdata, const char *self, bool allow_undefined, ProgramError *error)
{
	BindContext *ctx;
	int r;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	*ctx = (BindContext){
		.bindings = b,
		.lookup = lookup,
		.userdata = userdata,
		.error = error,
		.allow_undefined = allow_undefined,
	};
	if (self)
		ctx->stack[ctx->n_stack++] = self;
	r = bind_program(ctx, program);
	free(ctx);
	return r;
}

int program_check_calls(const Program *program, ProgramLookup lookup, void *userdata,
			const char *self, ProgramError *error)
{
	ProgramBindings b = {};
	int r = program_bind(&b, program, lookup, userdata, self, true, error);

	program_bindings_clear(&b);
	return r;
}
