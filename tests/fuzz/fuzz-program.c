/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the program language, from text to a tree and back. Every
 * accepted program must print a canonical form that parses to itself, and a
 * text form that parses to the same program; every refusal's message must
 * be text D-Bus carries, on one line.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "layout.h"
#include "log.h"
#include "program-text.h"
#include "program.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static Layout *layout;
	_cleanup_(program_unrefp) Program *p = NULL, *again = NULL, *from_text = NULL;
	_cleanup_(freep) char *text = NULL, *canonical = NULL, *canonical2 = NULL;
	_cleanup_(freep) char *text_form = NULL, *canonical3 = NULL;
	ProgramError error;

	if (!layout && (layout_new_default(&layout) < 0 || layout_name_unnamed_lines(layout) < 0))
		abort();

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (program_parse(text, layout, 0, &p, &error) < 0) {
		/* A refusal goes out over D-Bus: valid UTF-8 (no noncharacter), one line. */
		if (utf8_invalid_at(error.message, strlen(error.message)) >= 0 ||
		    utf8_invalid_at(error.path, strlen(error.path)) >= 0)
			fuzz_fail("an error message that D-Bus refuses", text);
		if (strchr(error.message, '\n') || strchr(error.path, '\n'))
			fuzz_fail("an error message with a newline", text);
		return 0;
	}
	/* What is accepted is listed over D-Bus: its canonical form must be sendable. */
	canonical = program_format(p);
	if (!canonical)
		abort();
	if (utf8_invalid_at(canonical, strlen(canonical)) >= 0)
		fuzz_fail("a canonical form that D-Bus refuses", canonical);
	if (program_parse(canonical, layout, 0, &again, &error) < 0)
		fuzz_fail("canonical form does not parse", canonical);
	canonical2 = program_format(again);
	if (!canonical2 || strcmp(canonical, canonical2) != 0)
		fuzz_fail("canonical form is not stable", canonical);
	if (again->n_nodes != p->n_nodes)
		fuzz_fail("canonical form changed the node count", canonical);

	text_form = program_format_text(p);
	if (!text_form)
		abort();
	if (program_parse(text_form, layout, 0, &from_text, &error) < 0)
		fuzz_fail("text form does not parse", text_form);
	canonical3 = program_format(from_text);
	if (!canonical3 || strcmp(canonical, canonical3) != 0)
		fuzz_fail("text form is another program", text_form);
	return 0;
}
