/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the configuration file, and the programs in its definitions
 * and autostart, checked against the layout it declares.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config-file.h"
#include "fuzz.h"
#include "log.h"
#include "program.h"

static void parse_programs(Config *c, json_object *named)
{
	if (!named)
		return;
	json_object_object_foreach(named, name, val)
	{
		_cleanup_(program_unrefp) Program *p = NULL;
		ProgramError error;

		(void)name;
		/* The sim chip's names, which layouts from the config do not have yet: unchecked. */
		if (program_parse_json(val, "$", c->layout, PROGRAM_PARSE_NAMES_UNCHECKED, &p,
				       &error) == 0) {
			_cleanup_(freep) char *s = program_format(p);
			if (!s)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(config_freep) Config *c = NULL;
	_cleanup_(freep) char *text = NULL;

	log_set_max_level(-1); /* every bad input logs; that is not what is fuzzed */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (config_parse(&c, text, size, "fuzz.json") < 0)
		return 0;
	if (!c->layout || c->layout->n_lines == 0 || !c->chip || !c->consumer)
		fuzz_fail("accepted config lacks a layout, chip or consumer", text);
	parse_programs(c, c->definitions);
	parse_programs(c, c->autostart);
	return 0;
}
