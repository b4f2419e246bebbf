/* SPDX-License-Identifier: MIT */
/*
 * program_parse(): which form a program is written in, then that form's
 * parser. It sits above both forms: program-text.c builds the JSON form of
 * a text program and hands it to program.c's parser, so program.c calls
 * neither of the others.
 */
#include "program-text.h"
#include "program.h"

int program_parse(const char *text, const Layout *layout, unsigned flags, Program **ret,
		  ProgramError *error)
{
	if (!program_looks_like_json(text))
		return program_parse_text(text, layout, flags, ret, error);
	return program_parse_json_text(text, layout, flags, ret, error);
}
