/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the text form of the program language. Every refused text
 * says where, in a message D-Bus can carry (valid UTF-8); every accepted
 * program prints a canonical text that parses to the same program (the
 * same canonical text, the same JSON), and its JSON form prints that text
 * again.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "layout.h"
#include "log.h"
#include "program-text.h"
#include "program.h"

/* Whether @s is valid UTF-8: no lead byte without its continuation bytes, none alone. */
static bool utf8_valid(const char *s)
{
	for (const unsigned char *u = (const unsigned char *)s; *u;) {
		size_t n;

		if (*u < 0x80)
			n = 0;
		else if (*u >= 0xc2 && *u <= 0xdf)
			n = 1;
		else if (*u >= 0xe0 && *u <= 0xef)
			n = 2;
		else if (*u >= 0xf0 && *u <= 0xf4)
			n = 3;
		else
			return false;
		for (size_t k = 1; k <= n; k++)
			if ((u[k] & 0xc0) != 0x80)
				return false;
		u += n + 1;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static Layout *layout;
	_cleanup_(program_unrefp) Program *p = NULL, *again = NULL, *from_json = NULL;
	_cleanup_(freep) char *text = NULL, *canonical = NULL, *json = NULL;
	_cleanup_(freep) char *canonical2 = NULL, *json2 = NULL, *canonical3 = NULL;
	ProgramError error;
	int r;

	if (!layout && (layout_new_default(&layout) < 0 || layout_name_unnamed_lines(layout) < 0))
		abort();

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	/* Names unchecked: any name, quoted or not, must make the round trip. */
	r = program_parse_text(text, layout, PROGRAM_PARSE_NAMES_UNCHECKED, &p, &error);
	if (r == -EINVAL && (error.line == 0 || error.column == 0 || error.message[0] == '\0'))
		fuzz_fail("an error without its place or its rule", text);
	if (r == -EINVAL && !utf8_valid(error.message))
		fuzz_fail("an error message that is not UTF-8", text);
	if (r < 0)
		return 0;

	canonical = program_format_text(p);
	json = program_format(p);
	if (!canonical || !json)
		abort();
	r = program_parse_text(canonical, layout, PROGRAM_PARSE_NAMES_UNCHECKED, &again, &error);
	if (r < 0)
		fuzz_fail("canonical text does not parse", canonical);
	canonical2 = program_format_text(again);
	if (!canonical2 || strcmp(canonical, canonical2) != 0)
		fuzz_fail("canonical text is not stable", canonical);
	json2 = program_format(again);
	if (!json2 || strcmp(json, json2) != 0)
		fuzz_fail("canonical text is another program", canonical);
	if (again->n_nodes != p->n_nodes)
		fuzz_fail("canonical text changed the node count", canonical);

	if (program_parse(json, layout, PROGRAM_PARSE_NAMES_UNCHECKED, &from_json, &error) < 0)
		fuzz_fail("JSON form does not parse", json);
	canonical3 = program_format_text(from_json);
	if (!canonical3 || strcmp(canonical, canonical3) != 0)
		fuzz_fail("JSON form prints another text", json);
	return 0;
}
