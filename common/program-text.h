/* SPDX-License-Identifier: MIT */
/*
 * The text form of the program language: the same programs as the JSON
 * form, written the way one calls functions, so that a program fits on a
 * command line:
 *
 *   forever(sequence(blink(col 0, 300ms, 2), blink(col 1, 200ms, 2)))
 *
 * Text is parsed into a JSON value, keeping where each value was written,
 * and that value goes through the JSON parser: one set of rules for both
 * forms. An error the JSON parser finds at a JSON path is reported at the
 * line and column where the text wrote that value. The grammar is in
 * blinkd-programs(7).
 */
#pragma once

#include <stdbool.h>

#include "layout.h"
#include "program.h"

/*
 * program_looks_like_json() - which form @text is in: JSON when its first
 * character other than JSON white space is "{", the text form otherwise.
 */
bool program_looks_like_json(const char *text);

/*
 * program_parse_text() - program_parse() for the text form.
 * @error: on -EINVAL, line and column (counted from 1, in characters) and
 * the rule; its path reads "line L, column C".
 */
int program_parse_text(const char *text, const Layout *layout, unsigned flags, Program **ret,
		       ProgramError *error);

/*
 * program_format_text() - the canonical text form: one line, arguments
 * separated by ", ", durations as program_format() writes them, a list of
 * one line written as the line alone, names quoted only where they must be.
 * Parsing it gives the same program, and program_format() of that the same
 * JSON. Returns a malloc'ed string, or NULL when out of memory.
 */
char *program_format_text(const Program *p);
