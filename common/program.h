/* SPDX-License-Identifier: MIT */
/*
 * The blink program language: a program is a JSON value, parsed strictly
 * with json-c into an immutable tree of Program nodes, validated against a
 * line Layout, and printed back in one canonical form. The same programs
 * have a text form too (program-text.h), which program_parse() takes as well.
 *
 *   PROGRAM := {"blink":    {"lines": LINES, "interval": DURATION, "times": COUNT?}}
 *            | {"cycle":    {"lines": LINES, "interval": DURATION, "times": COUNT?}}
 *            | {"on":       {"lines": LINES, "for": DURATION?}}
 *            | {"wait":     DURATION}
 *            | {"sequence": [PROGRAM, ...]} | {"all": [...]} | {"any": [...]}
 *            | {"forever":  PROGRAM}
 *            | {"repeat":   {"times": COUNT, "program": PROGRAM}}
 *            | {"call":     NAME}
 *            | {"dim":      {"lines": LINES, "level": LEVEL, "for": DURATION?}}
 *            | {"fade":     {"lines": LINES, "from": LEVEL, "to": LEVEL, "over": DURATION,
 *                            "curve": "perceived" | "linear"?}}
 *            | {"pattern":  {"lines": LINES, "steps": [[LEVEL, DURATION | 0], ...],
 *                            "times": COUNT?}}
 *            | {"heartbeat": {"lines": LINES, "period": DURATION?}}
 *            | {"morse":    {"lines": LINES, "text": TEXT, "unit": DURATION?}}
 *   LINES   := [LINE, ...] | {"row": N} | {"col": N} | "all"
 *   LINE    := a line number (integer), an alias or a line name (string)
 *   LEVEL   := a number from 0 (dark) to 1 (lit), kept to 1/10000
 *
 * A parsed tree is shared read-only by everything that runs it; the root
 * carries a reference count.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "macro.h"

#define PROGRAM_TEXT_MAX (64 * 1024)
#define PROGRAM_DEPTH_MAX 32
#define PROGRAM_NODES_MAX 4096
#define PROGRAM_COUNT_MAX 2147483647u
#define PROGRAM_NAME_MAX 64

typedef enum ProgramKind {
	PROGRAM_BLINK,
	PROGRAM_CYCLE,
	PROGRAM_ON,
	PROGRAM_WAIT,
	PROGRAM_SEQUENCE,
	PROGRAM_ALL,
	PROGRAM_ANY,
	PROGRAM_FOREVER,
	PROGRAM_REPEAT,
	PROGRAM_CALL,
	PROGRAM_DIM,
	PROGRAM_FADE,
	PROGRAM_PATTERN,
	PROGRAM_HEARTBEAT,
	PROGRAM_MORSE,
	_PROGRAM_KIND_MAX,
} ProgramKind;

typedef enum LinesKind {
	LINES_LIST,
	LINES_ROW,
	LINES_COL,
	LINES_ALL,
} LinesKind;

typedef struct LineRef {
	char *name; /* as written, or NULL for a number */
	unsigned number;
} LineRef;

typedef struct Lines {
	LinesKind kind;
	unsigned index; /* LINES_ROW, LINES_COL */
	size_t n_refs;	/* LINES_LIST, as written */
	LineRef *refs;
	size_t n_numbers; /* the lines' numbers, resolved, in program order */
	unsigned *numbers;
} Lines;

/* Levels: 0 is dark, LEVEL_MAX lit; a program writes them as 0..1. */
#define LEVEL_MAX 10000u
#define PROGRAM_STEPS_MAX 1024
#define PROGRAM_MORSE_MAX 256
#define PROGRAM_HEARTBEAT_PERIOD (1200 * USEC_PER_MSEC)
#define PROGRAM_MORSE_UNIT (100 * USEC_PER_MSEC)

/* A pattern's step as written: ramp to @level over @duration (0: jump). */
typedef struct LevelStep {
	uint16_t level;
	usec_t duration;
} LevelStep;

/* A stretch of a track: from one level to another over a duration (> 0). */
typedef struct Segment {
	uint16_t from, to;
	usec_t duration;
} Segment;

typedef struct Program Program;
struct Program {
	ProgramKind kind;
	Lines lines;	    /* blink, cycle, on */
	usec_t duration;    /* blink, cycle: interval; on, dim: "for" (0: forever); wait;
			     * fade: "over"; heartbeat: "period"; morse: "unit" */
	uint32_t times;	    /* blink, cycle, repeat, pattern (0: forever) */
	size_t n_children;  /* sequence, all, any: the list; forever, repeat: one */
	Program **children;
	char *call;	    /* call: the definition's name */

	uint16_t level;	    /* dim */
	uint16_t from, to;  /* fade */
	bool linear;	    /* fade: "curve": "linear" (else perceived) */
	LevelStep *steps;   /* pattern: as written */
	size_t n_steps;
	char *text;	    /* morse */
	/*
	 * fade, pattern, heartbeat, morse: the track they make, one round of it
	 * (times rounds, 0: forever); its length is @track_duration.
	 */
	Segment *segments;
	size_t n_segments;
	usec_t track_duration;

	unsigned n_ref;	    /* root only */
	unsigned n_nodes;   /* nodes in this subtree, itself included */
};

typedef struct ProgramError {
	char path[1024];    /* JSON path of the offending value: "$.sequence[2].blink.interval",
			       or in the text form "line 1, column 14" */
	char message[256];  /* the rule it breaks: "must be between 100us and 1d" */
	unsigned line;	    /* text form: where, counted from 1; 0 for JSON */
	unsigned column;
} ProgramError;

typedef enum ProgramParseFlags {
	/* Accept line names the layout does not know (local validation without a chip). */
	PROGRAM_PARSE_NAMES_UNCHECKED = 1 << 0,
} ProgramParseFlags;

/*
 * program_parse() - parse and validate program text, in either form.
 * @text: the program, NUL-terminated: JSON when it starts with "{" (after
 * white space), else the text form (see program_looks_like_json())
 * @layout: resolves rows, columns, "all", numbers and names
 * @flags: ProgramParseFlags
 * @ret: the new program, with one reference
 * @error: filled on -EINVAL with the place and the rule
 *
 * Returns 0, -EINVAL for text that is not a valid program, or -ENOMEM.
 *
 * It is defined in program-parse.c, above both forms: the text form
 * (program-text.c) is built on this file's JSON parser, so the choice
 * between them cannot live in program.c without a call circle.
 */
int program_parse(const char *text, const Layout *layout, unsigned flags, Program **ret,
		  ProgramError *error);

/*
 * program_parse_json_text() - program_parse() for text in the JSON form:
 * at most PROGRAM_TEXT_MAX bytes of strict JSON, nested no deeper than
 * the language allows. @error's path is a JSON path ("$" for the text as
 * a whole), its line and column 0.
 */
int program_parse_json_text(const char *text, const Layout *layout, unsigned flags, Program **ret,
			    ProgramError *error);

/* Like program_parse(), from a json-c object (used for the config file). */
struct json_object;
int program_parse_json(struct json_object *json, const char *path, const Layout *layout,
		       unsigned flags, Program **ret, ProgramError *error);

Program *program_ref(Program *p);
Program *program_unref(Program *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Program *, program_unref);

/*
 * program_format() - the canonical text: compact JSON, keys in a fixed
 * order, durations as canonical strings, lines as written.
 * Returns a malloc'ed string, or NULL when out of memory.
 */
char *program_format(const Program *p);

/* The canonical form as a json-c value (with one reference), or NULL when out of memory. */
struct json_object *program_to_json(const Program *p);

/*
 * level_ramp() - the level @elapsed into a stretch of @duration from @from to
 * @to: linear in the level, or (@perceived) linear in CIE lightness, so it
 * looks even to the eye.
 */
uint16_t level_ramp(uint16_t from, uint16_t to, usec_t elapsed, usec_t duration, bool perceived);

/* "blink", "cycle", ... */
const char *program_kind_to_string(ProgramKind k);

/* Names of programs and definitions: 1-64 of [A-Za-z0-9_.-]. */
bool program_name_is_valid(const char *name);

/*
 * program_for_each_call() - call @f for each "call" node in @p, depth first.
 * Stops and returns the first negative value @f returns.
 */
int program_for_each_call(const Program *p, int (*f)(const char *name, void *userdata),
			  void *userdata);

/* "PATH: MESSAGE", the form daemon errors carry. */
void program_error_format(const ProgramError *e, char *buf, size_t size);
