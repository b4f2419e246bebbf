/* SPDX-License-Identifier: MIT */
/*
 * Call binding: resolving a program's "call" nodes to definitions once, so
 * that what a program calls is fixed when it starts (later changes to the
 * definitions do not reach it), and call cycles are found before anything
 * runs.
 *
 * Owners: a ProgramBindings is embedded in its user (zeroed to start,
 * program_bindings_clear() to end) and owns its array and a reference on
 * every definition it bound. A binding's name belongs to the program that
 * calls it, which the user keeps alive as long as the bindings.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "program.h"

/* Resolves the name of a "call" to a definition, or NULL if there is none. */
typedef Program *(*ProgramLookup)(const char *name, void *userdata);

typedef struct ProgramBinding {
	const char *name;	/* owned by the calling program */
	Program *program;	/* a reference */
	/*
	 * Its duration once computed (program-duration.h): a definition calling
	 * another twice, 40 deep, makes 2^40 calls, and computing through each
	 * is no option.
	 */
	usec_t duration;
	bool has_duration;
} ProgramBinding;

typedef struct ProgramBindings {
	ProgramBinding *items;
	size_t n;
} ProgramBindings;

/*
 * program_bind() - bind into @b every definition @program reaches through
 * its calls, resolved by @lookup. @self (or NULL) counts as already on the
 * call stack, as the name @program is being defined under; with
 * @allow_undefined an unknown name is passed over.
 * Returns 0, -ENOENT when a called name is not defined, -ELOOP for a call
 * cycle (or calls nested deeper than PROGRAM_NODES_MAX), -ENOMEM; @error
 * (or NULL) names the problem. On failure @b keeps what it bound so far.
 */
int program_bind(ProgramBindings *b, const Program *program, ProgramLookup lookup,
		 void *userdata, const char *self, bool allow_undefined, ProgramError *error);

/* The binding of @name, or NULL. */
ProgramBinding *program_bindings_find(const ProgramBindings *b, const char *name);

/* The definition bound to @name, or NULL. */
Program *program_bindings_lookup(const ProgramBindings *b, const char *name);

/* Drop every binding and its reference. */
void program_bindings_clear(ProgramBindings *b);

/*
 * program_check_calls() - look for a call cycle through the definitions
 * that @program (known as @self, or NULL) reaches. Undefined names are fine
 * here: they are checked when a run starts.
 * Returns 0, or -ELOOP with @error naming the cycle (-ENOMEM).
 */
int program_check_calls(const Program *program, ProgramLookup lookup, void *userdata,
			const char *self, ProgramError *error);
