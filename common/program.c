/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "duration.h"
#include "json-util.h"
#include "program.h"
#include "utf8.h"

static const char *const kind_names[_PROGRAM_KIND_MAX] = {
	[PROGRAM_BLINK] = "blink",	 [PROGRAM_CYCLE] = "cycle", [PROGRAM_ON] = "on",
	[PROGRAM_WAIT] = "wait",	 [PROGRAM_SEQUENCE] = "sequence",
	[PROGRAM_ALL] = "all",		 [PROGRAM_ANY] = "any",	    [PROGRAM_FOREVER] = "forever",
	[PROGRAM_REPEAT] = "repeat",	 [PROGRAM_CALL] = "call",
	[PROGRAM_DIM] = "dim",		 [PROGRAM_FADE] = "fade",   [PROGRAM_PATTERN] = "pattern",
	[PROGRAM_HEARTBEAT] = "heartbeat", [PROGRAM_MORSE] = "morse",
};

const char *program_kind_to_string(ProgramKind k)
{
	return k < _PROGRAM_KIND_MAX ? kind_names[k] : NULL;
}

bool program_name_is_valid(const char *name)
{
	size_t n = 0;

	if (!name)
		return false;
	for (const char *p = name; *p; p++, n++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return n >= 1 && n <= PROGRAM_NAME_MAX;
}

/* ------------------------------------------------------------------ tree */

static void lines_done(Lines *l)
{
	for (size_t i = 0; i < l->n_refs; i++)
		free(l->refs[i].name);
	free(l->refs);
	free(l->numbers);
}

static void program_free_tree(Program *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_children; i++)
		program_free_tree(p->children[i]);
	free(p->children);
	lines_done(&p->lines);
	free(p->call);
	free(p->steps);
	free(p->segments);
	free(p->text);
	free(p);
}

Program *program_ref(Program *p)
{
	if (p)
		p->n_ref++;
	return p;
}

Program *program_unref(Program *p)
{
	if (p && --p->n_ref == 0)
		program_free_tree(p);
	return NULL;
}

int program_for_each_call(const Program *p, int (*f)(const char *name, void *userdata),
			  void *userdata)
{
	int r;

	if (p->kind == PROGRAM_CALL)
		return f(p->call, userdata);
	for (size_t i = 0; i < p->n_children; i++) {
		r = program_for_each_call(p->children[i], f, userdata);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---------------------------------------------------------------- parser */

typedef struct Parser {
	const Layout *layout;
	unsigned flags;
	unsigned n_nodes;
	ProgramError *error;
	char path[1024];
	size_t path_len;
} Parser;

static int parser_fail(Parser *ps, const char *fmt, ...) _printf_(2, 3);
static int parser_fail(Parser *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->error) {
		ps->error->line = ps->error->column = 0;
		snprintf(ps->error->path, sizeof(ps->error->path), "%s", ps->path);
		va_start(ap, fmt);
		vsnprintf(ps->error->message, sizeof(ps->error->message), fmt, ap);
		va_end(ap);
		/* Quoting a few bytes of what was written may cut a character: D-Bus would refuse it. */
		utf8_drop_invalid(ps->error->path);
		utf8_drop_invalid(ps->error->message);
	}
	return -EINVAL;
}

/* Append ".key" or "[i]" to the path; returns the old length for path_pop(). */
static size_t path_push_key(Parser *ps, const char *key)
{
	size_t old = ps->path_len;
	char shown[UTF8_QUOTE_SIZE(40)];
	int n;

	/* A key is what the caller wrote: control characters escaped, cut on a character. */
	utf8_escape_controls(shown, sizeof(shown), key, strlen(key), 40);
	n = snprintf(ps->path + old, sizeof(ps->path) - old, ".%s", shown);
	ps->path_len = n > 0 ? old + (size_t)n : old;
	if (ps->path_len >= sizeof(ps->path))
		ps->path_len = sizeof(ps->path) - 1;
	return old;
}

static size_t path_push_index(Parser *ps, size_t i)
{
	size_t old = ps->path_len;
	int n = snprintf(ps->path + old, sizeof(ps->path) - old, "[%zu]", i);
	ps->path_len = n > 0 ? old + (size_t)n : old;
	if (ps->path_len >= sizeof(ps->path))
		ps->path_len = sizeof(ps->path) - 1;
	return old;
}

static void path_pop(Parser *ps, size_t old)
{
	ps->path_len = old;
	ps->path[old] = '\0';
}

static const char *json_type_name(json_object *j)
{
	switch (json_object_get_type(j)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
	case json_type_int:
		return "a number";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "unknown";
}

static int parse_duration(Parser *ps, json_object *j, usec_t *ret)
{
	usec_t d;
	int r;

	switch (json_object_get_type(j)) {
	case json_type_int:
	case json_type_double:
		r = duration_from_seconds(json_object_get_double(j), &d);
		if (r == -EINVAL && json_object_get_double(j) < 0)
			return parser_fail(ps, "must be between 100us and 1d");
		if (r == -EINVAL)
			return parser_fail(ps, "not a finite number of seconds");
		if (r < 0)
			return parser_fail(ps, "must be between 100us and 1d");
		break;
	case json_type_string:
		r = duration_parse(json_object_get_string(j), &d);
		if (r == -ERANGE)
			return parser_fail(ps, "must be between 100us and 1d");
		if (r < 0)
			return parser_fail(ps,
					   "\"%s\" is not a duration (seconds as a number, or a "
					   "number with a unit: us, ms, s, m, h, d)",
					   QUOTE(json_object_get_string(j), 40));
		break;
	default:
		return parser_fail(ps, "must be a duration (a number of seconds or a string like "
				       "\"250ms\"), not %s",
				   json_type_name(j));
	}
	if (d < DURATION_MIN || d > DURATION_MAX)
		return parser_fail(ps, "must be between 100us and 1d");
	*ret = d;
	return 0;
}

static int parse_count(Parser *ps, json_object *j, uint32_t *ret)
{
	int64_t v;

	if (!json_object_is_type(j, json_type_int))
		return parser_fail(ps, "must be an integer >= 1, not %s", json_type_name(j));
	errno = 0;
	v = json_object_get_int64(j);
	/* json-c keeps integers above INT64_MAX as uint64; they are too large either way. */
	if (v < 1 || v > (int64_t)PROGRAM_COUNT_MAX ||
	    (v == INT64_MAX && json_object_get_uint64(j) != (uint64_t)INT64_MAX))
		return parser_fail(ps, "must be an integer between 1 and %u", PROGRAM_COUNT_MAX);
	*ret = (uint32_t)v;
	return 0;
}

static int lines_add_number(Parser *ps, Lines *l, unsigned number)
{
	for (size_t i = 0; i < l->n_numbers; i++)
		if (l->numbers[i] == number)
			return parser_fail(ps, "line %u is named twice", number);
	l->numbers[l->n_numbers++] = number;
	return 0;
}

static int parse_line_ref(Parser *ps, json_object *j, Lines *l)
{
	LineRef *ref = &l->refs[l->n_refs];
	unsigned number;
	int r;

	if (json_object_is_type(j, json_type_int)) {
		int64_t v = json_object_get_int64(j);
		if (v < 0 || v > LAYOUT_NUMBER_MAX)
			return parser_fail(ps, "line number %lld is out of range",
					   (long long)v);
		number = (unsigned)v;
		if (layout_index_of(ps->layout, number) < 0)
			return parser_fail(ps, "line %u is not in the layout", number);
		ref->number = number;
		l->n_refs++;
		return lines_add_number(ps, l, number);
	}
	if (json_object_is_type(j, json_type_string)) {
		const char *name = json_object_get_string(j);

		if (name[0] == '\0' || strlen(name) > 64)
			return parser_fail(ps, "line names are 1 to 64 characters");
		ref->name = strdup(name);
		if (!ref->name)
			return -ENOMEM;
		l->n_refs++;
		r = layout_find_name(ps->layout, name, &number);
		if (r < 0) {
			if (ps->flags & PROGRAM_PARSE_NAMES_UNCHECKED)
				return 0;
			return parser_fail(ps, "no line is named \"%s\"", QUOTE(name, QUOTE_CHARS_MAX));
		}
		ref->number = number;
		return lines_add_number(ps, l, number);
	}
	return parser_fail(ps, "a line is an offset or a name, not %s", json_type_name(j));
}

static int parse_row_col(Parser *ps, json_object *j, Lines *l)
{
	const Layout *lay = ps->layout;
	json_object *v = NULL;
	const char *key = NULL;
	unsigned limit;
	int64_t idx;
	size_t old;
	int r;

	if (json_object_object_length(j) != 1)
		return parser_fail(ps, "must be {\"row\": N} or {\"col\": N}");
	json_object_object_foreach(j, k, val)
	{
		key = k;
		v = val;
	}
	if (streq(key, "row")) {
		l->kind = LINES_ROW;
		limit = lay->n_rows;
	} else if (streq(key, "col")) {
		l->kind = LINES_COL;
		limit = lay->n_cols;
	} else {
		old = path_push_key(ps, key);
		r = parser_fail(ps, "unknown key (expected \"row\" or \"col\")");
		path_pop(ps, old);
		return r;
	}

	old = path_push_key(ps, key);
	if (limit == 0 && lay->n_lines > 0) {
		r = parser_fail(ps, "the layout has no matrix, so no %s: name its lines instead",
				l->kind == LINES_ROW ? "rows" : "columns");
		goto out;
	}
	if (!json_object_is_type(v, json_type_int)) {
		r = parser_fail(ps, "must be an integer, not %s", json_type_name(v));
		goto out;
	}
	idx = json_object_get_int64(v);
	if (idx < 0 || idx >= limit) {
		r = parser_fail(ps, "%s %lld is out of range (the layout has %u %s)", key,
				(long long)idx, limit,
				l->kind == LINES_ROW ? "rows" : "columns");
		goto out;
	}
	l->index = (unsigned)idx;

	if (l->kind == LINES_ROW) {
		l->numbers = malloc(lay->n_cols * sizeof(unsigned));
		if (!l->numbers) {
			r = -ENOMEM;
			goto out;
		}
		for (unsigned c = 0; c < lay->n_cols; c++)
			l->numbers[l->n_numbers++] = lay->matrix[l->index * lay->n_cols + c];
	} else {
		l->numbers = malloc(lay->n_rows * sizeof(unsigned));
		if (!l->numbers) {
			r = -ENOMEM;
			goto out;
		}
		for (unsigned row = 0; row < lay->n_rows; row++)
			l->numbers[l->n_numbers++] = lay->matrix[row * lay->n_cols + l->index];
	}
	r = 0;
out:
	path_pop(ps, old);
	return r;
}

static int parse_lines(Parser *ps, json_object *j, Lines *l)
{
	const Layout *lay = ps->layout;
	size_t n, old;
	int r;

	switch (json_object_get_type(j)) {
	case json_type_string:
		if (!streq(json_object_get_string(j), "all"))
			return parser_fail(ps, "must be a list of lines, {\"row\": N}, {\"col\": N} "
					       "or \"all\"");
		l->kind = LINES_ALL;
		l->numbers = malloc(lay->n_lines * sizeof(unsigned));
		if (!l->numbers)
			return -ENOMEM;
		memcpy(l->numbers, lay->lines, lay->n_lines * sizeof(unsigned));
		l->n_numbers = lay->n_lines;
		return 0;
	case json_type_object:
		return parse_row_col(ps, j, l);
	case json_type_array:
		n = json_object_array_length(j);
		if (n == 0)
			return parser_fail(ps, "must name at least one line");
		if (n > lay->n_lines)
			return parser_fail(ps, "names more lines than the layout has (%zu)",
					   lay->n_lines);
		l->kind = LINES_LIST;
		l->refs = calloc(n, sizeof(LineRef));
		l->numbers = malloc(n * sizeof(unsigned));
		if (!l->refs || !l->numbers)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			old = path_push_index(ps, i);
			r = parse_line_ref(ps, json_object_array_get_idx(j, i), l);
			path_pop(ps, old);
			if (r < 0)
				return r;
		}
		return 0;
	default:
		return parser_fail(ps, "must be a list of lines, {\"row\": N}, {\"col\": N} or "
				       "\"all\", not %s",
				   json_type_name(j));
	}
}

/* ---------------------------------------------------------------- levels */

/* CIE 1976 lightness (0..1) of a relative luminance (0..1), and back. */
static double lightness_of(double y)
{
	return y > 216.0 / 24389.0 ? 1.16 * cbrt(y) - 0.16 : y * (24389.0 / 2700.0);
}

static double luminance_of(double l)
{
	double t = (l + 0.16) / 1.16;

	return l > 0.08 ? t * t * t : l * (2700.0 / 24389.0);
}

uint16_t level_ramp(uint16_t from, uint16_t to, usec_t elapsed, usec_t duration, bool perceived)
{
	double x, v;

	if (duration == 0 || elapsed >= duration)
		return to;
	if (!perceived || from == to) {
		/* Exact in integers: every PWM edge of a linear fade can be predicted. */
		int64_t d = (int64_t)to - (int64_t)from;
		int64_t num = d * (int64_t)elapsed;
		int64_t half = (int64_t)duration / 2;

		return (uint16_t)((int64_t)from + (num >= 0 ? (num + half) : (num - half)) /
							  (int64_t)duration);
	}
	x = (double)elapsed / (double)duration;
	v = lightness_of(from / (double)LEVEL_MAX);
	v += (lightness_of(to / (double)LEVEL_MAX) - v) * x;
	v = luminance_of(v) * LEVEL_MAX + 0.5;
	return v <= 0 ? 0 : v >= LEVEL_MAX ? LEVEL_MAX : (uint16_t)v;
}

static int parse_level(Parser *ps, json_object *j, uint16_t *ret)
{
	double v;

	if (!json_object_is_type(j, json_type_int) && !json_object_is_type(j, json_type_double))
		return parser_fail(ps, "must be a level from 0 to 1, not %s", json_type_name(j));
	v = json_object_get_double(j);
	if (!(v >= 0 && v <= 1))
		return parser_fail(ps, "must be a level from 0 to 1");
	*ret = (uint16_t)(v * LEVEL_MAX + 0.5);
	return 0;
}

/* A step's duration: 0 (a jump), or a duration. */
static int parse_step_duration(Parser *ps, json_object *j, usec_t *ret)
{
	if (json_object_is_type(j, json_type_int) && json_object_get_int64(j) == 0) {
		*ret = 0;
		return 0;
	}
	if (json_object_is_type(j, json_type_string) && streq(json_object_get_string(j), "0")) {
		*ret = 0;
		return 0;
	}
	return parse_duration(ps, j, ret);
}

static int field_level(Parser *ps, json_object *j, Program *p, unsigned depth)
{
	return parse_level(ps, j, &p->level);
}

static int field_from(Parser *ps, json_object *j, Program *p, unsigned depth)
{
	return parse_level(ps, j, &p->from);
}

static int field_to(Parser *ps, json_object *j, Program *p, unsigned depth)
{
	return parse_level(ps, j, &p->to);
}

static int field_curve(Parser *ps, json_object *j, Program *p, unsigned depth)
{
	const char *c = json_object_is_type(j, json_type_string) ? json_object_get_string(j) : "";

	if (streq(c, "linear"))
		p->linear = true;
	else if (streq(c, "perceived"))
		p->linear = false;
	else
		return parser_fail(ps, "must be \"perceived\" or \"linear\"");
	return 0;
}

static int field_steps(Parser *ps, json_object *j, Program *p, unsigned depth)
{
	size_t n, old;
	int r;

	if (!json_object_is_type(j, json_type_array))
		return parser_fail(ps, "must be a list of steps [level, duration]");
	n = json_object_array_length(j);
	if (n == 0)
		return parser_fail(ps, "must hold at least one step");
	if (n > PROGRAM_STEPS_MAX)
		return parser_fail(ps, "more than %d steps", PROGRAM_STEPS_MAX);
	p->steps = calloc(n, sizeof(LevelStep));
	if (!p->steps)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *step = json_object_array_get_idx(j, i);

		old = path_push_index(ps, i);
		if (!json_object_is_type(step, json_type_array) ||
		    json_object_array_length(step) != 2) {
			r = parser_fail(ps, "a step is [level, duration]");
			path_pop(ps, old);
			return r;
		}
		{
			size_t o = path_push_index(ps, 0);
			r = parse_level(ps, json_object_array_get_idx(step, 0), &p->steps[i].level);
			path_pop(ps, o);
		}
		if (r >= 0) {
			size_t o = path_push_index(ps, 1);
			r = parse_step_duration(ps, json_object_array_get_idx(step, 1),
						&p->steps[i].duration);
			path_pop(ps, o);
		}
		path_pop(ps, old);
		if (r < 0)
			return r;
		p->n_steps++;
	}
	return 0;
}

/* ITU-R M.1677: dots and dashes of letters and digits. */
static const char *morse_code(char c)
{
	static const char *const letters[26] = {
		".-",	"-...", "-.-.", "-..",	".",   "..-.", "--.",	"....", "..",
		".---", "-.-",	".-..", "--",	"-.",  "---",  ".--.", "--.-", ".-.",
		"...",	"-",	"..-",	"...-", ".--", "-..-", "-.--", "--..",
	};
	static const char *const digits[10] = {
		"-----", ".----", "..---", "...--", "....-",
		".....", "-....", "--...", "---..", "----.",
	};

	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c >= 'A' && c <= 'Z')
		return letters[c - 'A'];
	if (c >= '0' && c <= '9')
		return digits[c - '0'];
	return NULL;
}

static int field_text(Parser *ps, json_object *j, Program *p, unsigned depth)
{
	const char *t;
	bool any = false;
	size_t n;

	if (!json_object_is_type(j, json_type_string))
		return parser_fail(ps, "must be text: letters, digits and spaces");
	t = json_object_get_string(j);
	n = strlen(t);
	if (n > PROGRAM_MORSE_MAX)
		return parser_fail(ps, "longer than %d characters", PROGRAM_MORSE_MAX);
	for (size_t i = 0; i < n; i++) {
		if (t[i] == ' ')
			continue;
		if (!morse_code(t[i])) {
			if ((unsigned char)t[i] >= 0x20 && (unsigned char)t[i] < 0x7f)
				return parser_fail(ps, "character %zu ('%c') has no Morse code "
						       "(letters, digits and spaces)",
						   i + 1, t[i]);
			return parser_fail(ps, "character %zu has no Morse code (letters, "
					       "digits and spaces)",
					   i + 1);
		}
		any = true;
	}
	if (!any)
		return parser_fail(ps, "has nothing to send");
	p->text = strdup(t);
	return p->text ? 0 : -ENOMEM;
}

/* Tracks: the segments fade, pattern, heartbeat and morse run through. */
static int track_add(Program *p, size_t *cap, uint16_t from, uint16_t to, usec_t d)
{
	if (d == 0)
		return 0;
	if (p->n_segments > 0 && p->segments[p->n_segments - 1].from == from &&
	    p->segments[p->n_segments - 1].to == to && from == to) {
		/* A level held on: one segment. */
		p->segments[p->n_segments - 1].duration += d;
		p->track_duration += d;
		return 0;
	}
	if (p->n_segments == *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		Segment *s = realloc(p->segments, c * sizeof(Segment));
		if (!s)
			return -ENOMEM;
		p->segments = s;
		*cap = c;
	}
	p->segments[p->n_segments++] = (Segment){ .from = from, .to = to, .duration = d };
	p->track_duration += d;
	return 0;
}

static int build_track(Parser *ps, Program *p)
{
	size_t cap = 0;
	uint16_t prev;
	usec_t u = p->duration;
	bool first = true;
	int r = 0;

	switch (p->kind) {
	case PROGRAM_FADE:
		return track_add(p, &cap, p->from, p->to, p->duration);
	case PROGRAM_PATTERN:
		/* Each round starts where the last ends: at the last step's level. */
		prev = p->steps[p->n_steps - 1].level;
		for (size_t i = 0; i < p->n_steps && r >= 0; i++) {
			r = track_add(p, &cap, prev, p->steps[i].level, p->steps[i].duration);
			prev = p->steps[i].level;
		}
		if (r >= 0 && p->track_duration == 0)
			return parser_fail(ps, "needs a step that lasts");
		return r;
	case PROGRAM_HEARTBEAT: {
		/* Two thumps of 70 ms, a quarter period apart, then rest. */
		usec_t thump = 70 * USEC_PER_MSEC, quarter = p->duration / 4;

		if (quarter < 2 * thump)
			return parser_fail(ps, "must be at least 560ms (two 70ms beats a quarter "
					       "period apart)");
		if ((r = track_add(p, &cap, LEVEL_MAX, LEVEL_MAX, thump)) < 0 ||
		    (r = track_add(p, &cap, 0, 0, quarter - thump)) < 0 ||
		    (r = track_add(p, &cap, LEVEL_MAX, LEVEL_MAX, thump)) < 0)
			return r;
		return track_add(p, &cap, 0, 0, p->duration - quarter - thump);
	}
	case PROGRAM_MORSE:
		/* ITU timing: dot 1, dash 3, within a letter 1, between letters 3, words 7. */
		for (size_t i = 0; p->text[i] && r >= 0; i++) {
			const char *code = morse_code(p->text[i]);

			if (!code)
				continue;
			if (!first)
				r = track_add(p, &cap, 0, 0,
					      (i > 0 && p->text[i - 1] == ' ' ? 7 : 3) * u);
			first = false;
			for (const char *d = code; *d && r >= 0; d++) {
				if (d != code)
					r = track_add(p, &cap, 0, 0, u);
				if (r >= 0)
					r = track_add(p, &cap, LEVEL_MAX, LEVEL_MAX,
						      (*d == '-' ? 3 : 1) * u);
			}
		}
		return r;
	default:
		return 0;
	}
}

/* One entry of the fields table: which keys an object-valued program takes. */
typedef struct Field {
	const char *key;
	bool required;
	int (*parse)(Parser *ps, json_object *j, Program *p, unsigned depth);
} Field;

static int field_lines(Parser *ps, json_object *j, Program *p, unsigned depth)
{
	return parse_lines(ps, j, &p->lines);
}

static int field_duration(Parser *ps, json_object *j, Program *p, unsigned depth)
{
	return parse_duration(ps, j, &p->duration);
}

static int field_times(Parser *ps, json_object *j, Program *p, unsigned depth)
{
	return parse_count(ps, j, &p->times);
}

static int parse_node(Parser *ps, json_object *j, unsigned depth, Program **ret);

static int field_program(Parser *ps, json_object *j, Program *p, unsigned depth)
{
	int r;

	p->children = calloc(1, sizeof(Program *));
	if (!p->children)
		return -ENOMEM;
	r = parse_node(ps, j, depth + 1, &p->children[0]);
	if (r < 0)
		return r;
	p->n_children = 1;
	return 0;
}

static const Field blink_fields[] = {
	{ "lines", true, field_lines },
	{ "interval", true, field_duration },
	{ "times", false, field_times },
	{},
};

static const Field on_fields[] = {
	{ "lines", true, field_lines },
	{ "for", false, field_duration },
	{},
};

static const Field dim_fields[] = {
	{ "lines", true, field_lines },
	{ "level", true, field_level },
	{ "for", false, field_duration },
	{},
};

static const Field fade_fields[] = {
	{ "lines", true, field_lines },
	{ "from", true, field_from },
	{ "to", true, field_to },
	{ "over", true, field_duration },
	{ "curve", false, field_curve },
	{},
};

static const Field pattern_fields[] = {
	{ "lines", true, field_lines },
	{ "steps", true, field_steps },
	{ "times", false, field_times },
	{},
};

static const Field heartbeat_fields[] = {
	{ "lines", true, field_lines },
	{ "period", false, field_duration },
	{},
};

static const Field morse_fields[] = {
	{ "lines", true, field_lines },
	{ "text", true, field_text },
	{ "unit", false, field_duration },
	{},
};

static const Field repeat_fields[] = {
	{ "times", true, field_times },
	{ "program", true, field_program },
	{},
};

static int parse_fields(Parser *ps, json_object *j, const Field *fields, Program *p,
			unsigned depth)
{
	size_t old;
	int r;

	if (!json_object_is_type(j, json_type_object))
		return parser_fail(ps, "must be an object, not %s", json_type_name(j));

	json_object_object_foreach(j, key, val)
	{
		const Field *f;

		for (f = fields; f->key; f++)
			if (streq(f->key, key))
				break;
		old = path_push_key(ps, key);
		if (!f->key) {
			char expected[128] = "";
			for (const Field *e = fields; e->key; e++) {
				strcat(expected, e == fields ? "" : ", ");
				strcat(expected, e->key);
			}
			r = parser_fail(ps, "unknown key (expected %s)", expected);
			path_pop(ps, old);
			return r;
		}
		r = f->parse(ps, val, p, depth);
		path_pop(ps, old);
		if (r < 0)
			return r;
	}

	for (const Field *f = fields; f->key; f++)
		if (f->required && !json_object_object_get_ex(j, f->key, NULL))
			return parser_fail(ps, "\"%s\" is required", f->key);
	return 0;
}

static int parse_children(Parser *ps, json_object *j, unsigned depth, Program *p)
{
	size_t n, old;
	int r;

	if (!json_object_is_type(j, json_type_array))
		return parser_fail(ps, "must be a list of programs, not %s", json_type_name(j));
	n = json_object_array_length(j);
	if (n == 0)
		return parser_fail(ps, "must hold at least one program");
	if (n > PROGRAM_NODES_MAX)
		return parser_fail(ps, "more than %u programs", PROGRAM_NODES_MAX);
	p->children = calloc(n, sizeof(Program *));
	if (!p->children)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		old = path_push_index(ps, i);
		r = parse_node(ps, json_object_array_get_idx(j, i), depth + 1, &p->children[i]);
		path_pop(ps, old);
		if (r < 0)
			return r;
		p->n_children++;
	}
	return 0;
}

static int parse_body(Parser *ps, Program *p, json_object *body, unsigned depth)
{
	int r;

	switch (p->kind) {
	case PROGRAM_BLINK:
	case PROGRAM_CYCLE:
		return parse_fields(ps, body, blink_fields, p, depth);
	case PROGRAM_ON:
		return parse_fields(ps, body, on_fields, p, depth);
	case PROGRAM_DIM:
		return parse_fields(ps, body, dim_fields, p, depth);
	case PROGRAM_FADE:
		r = parse_fields(ps, body, fade_fields, p, depth);
		return r < 0 ? r : build_track(ps, p);
	case PROGRAM_PATTERN:
		r = parse_fields(ps, body, pattern_fields, p, depth);
		return r < 0 ? r : build_track(ps, p);
	case PROGRAM_HEARTBEAT:
		p->duration = PROGRAM_HEARTBEAT_PERIOD;
		r = parse_fields(ps, body, heartbeat_fields, p, depth);
		return r < 0 ? r : build_track(ps, p);
	case PROGRAM_MORSE:
		p->duration = PROGRAM_MORSE_UNIT;
		r = parse_fields(ps, body, morse_fields, p, depth);
		return r < 0 ? r : build_track(ps, p);
	case PROGRAM_WAIT:
		return parse_duration(ps, body, &p->duration);
	case PROGRAM_SEQUENCE:
	case PROGRAM_ALL:
	case PROGRAM_ANY:
		return parse_children(ps, body, depth, p);
	case PROGRAM_FOREVER:
		p->children = calloc(1, sizeof(Program *));
		if (!p->children)
			return -ENOMEM;
		r = parse_node(ps, body, depth + 1, &p->children[0]);
		if (r < 0)
			return r;
		p->n_children = 1;
		return 0;
	case PROGRAM_REPEAT:
		return parse_fields(ps, body, repeat_fields, p, depth);
	case PROGRAM_CALL:
		if (!json_object_is_type(body, json_type_string))
			return parser_fail(ps, "must be the name of a definition, not %s",
					   json_type_name(body));
		if (!program_name_is_valid(json_object_get_string(body)))
			return parser_fail(ps, "\"%s\" is not a valid name (1-64 of A-Z a-z 0-9 _ . -)",
					   QUOTE(json_object_get_string(body), QUOTE_CHARS_MAX));
		p->call = strdup(json_object_get_string(body));
		return p->call ? 0 : -ENOMEM;
	default:
		return -EINVAL;
	}
}

static int parse_node(Parser *ps, json_object *j, unsigned depth, Program **ret)
{
	Program *p = NULL;
	const char *key = NULL;
	json_object *body = NULL;
	ProgramKind kind;
	unsigned first_node;
	size_t old;
	int r;

	if (depth > PROGRAM_DEPTH_MAX)
		return parser_fail(ps, "nesting deeper than %u", PROGRAM_DEPTH_MAX);
	if (++ps->n_nodes > PROGRAM_NODES_MAX)
		return parser_fail(ps, "more than %u nodes", PROGRAM_NODES_MAX);
	first_node = ps->n_nodes;

	if (!json_object_is_type(j, json_type_object) || json_object_object_length(j) != 1)
		return parser_fail(ps, "a program is an object with exactly one key (blink, "
				       "cycle, on, wait, sequence, all, any, forever, repeat, "
				       "call, dim, fade, pattern, heartbeat, morse)");
	json_object_object_foreach(j, k, v)
	{
		key = k;
		body = v;
	}
	for (kind = 0; kind < _PROGRAM_KIND_MAX; kind++)
		if (streq(kind_names[kind], key))
			break;
	if (kind == _PROGRAM_KIND_MAX)
		return parser_fail(ps, "unknown program \"%s\" (expected blink, cycle, on, "
				       "wait, sequence, all, any, forever, repeat, call, dim, fade, "
				       "pattern, heartbeat, morse)",
				   QUOTE(key, 40));

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->kind = kind;
	p->n_ref = 1;

	old = path_push_key(ps, key);
	r = parse_body(ps, p, body, depth);
	path_pop(ps, old);
	if (r < 0) {
		program_free_tree(p);
		return r;
	}
	p->n_nodes = ps->n_nodes - first_node + 1;
	*ret = p;
	return 0;
}

int program_parse_json(json_object *json, const char *path, const Layout *layout, unsigned flags,
		       Program **ret, ProgramError *error)
{
	Parser ps = {
		.layout = layout,
		.flags = flags,
		.error = error,
	};

	snprintf(ps.path, sizeof(ps.path), "%s", path ? path : "$");
	ps.path_len = strlen(ps.path);
	return parse_node(&ps, json, 1, ret);
}

int program_parse_json_text(const char *text, const Layout *layout, unsigned flags, Program **ret,
			    ProgramError *error)
{
	_cleanup_(json_object_putp) json_object *json = NULL;
	Parser ps = {
		.error = error,
		.path = "$",
		.path_len = 1,
	};
	size_t len = strlen(text);
	JsonError why;
	int r;

	if (len > PROGRAM_TEXT_MAX)
		return parser_fail(&ps, "program text is longer than %u bytes", PROGRAM_TEXT_MAX);

	/* Two JSON levels per program level, plus the lines object. */
	r = json_parse_strict(text, len, 2 * PROGRAM_DEPTH_MAX + 2, &json, &why);
	if (r == -ELOOP)
		return parser_fail(&ps, "nesting deeper than %u", PROGRAM_DEPTH_MAX);
	if (r == -EINVAL) {
		snprintf(ps.path, sizeof(ps.path), "%s", why.path);
		return parser_fail(&ps, "%s", why.message);
	}
	if (r < 0)
		return r;

	return program_parse_json(json, "$", layout, flags, ret, error);
}

void program_error_format(const ProgramError *e, char *buf, size_t size)
{
	snprintf(buf, size, "%s: %s", e->path, e->message);
}

/* ------------------------------------------------------------- printing */

static json_object *format_lines(const Lines *l)
{
	json_object *o, *a;

	switch (l->kind) {
	case LINES_ALL:
		return json_object_new_string("all");
	case LINES_ROW:
	case LINES_COL:
		o = json_object_new_object();
		if (!o)
			return NULL;
		if (json_object_object_add(o, l->kind == LINES_ROW ? "row" : "col",
					   json_object_new_int((int)l->index)) < 0)
			return json_object_put(o), NULL;
		return o;
	case LINES_LIST:
		a = json_object_new_array_ext((int)l->n_refs);
		if (!a)
			return NULL;
		for (size_t i = 0; i < l->n_refs; i++) {
			json_object *v = l->refs[i].name ? json_object_new_string(l->refs[i].name)
							 : json_object_new_int((int)l->refs[i].number);
			if (!v || json_object_array_add(a, v) < 0) {
				json_object_put(v);
				json_object_put(a);
				return NULL;
			}
		}
		return a;
	}
	return NULL;
}

static json_object *format_duration(usec_t d)
{
	char buf[DURATION_STRING_MAX];
	return json_object_new_string(duration_format(d, buf));
}

/* A level as the shortest decimal that reads back the same: 0, 0.25, 1. */
static json_object *format_level(uint16_t level)
{
	char buf[16];
	size_t n;

	if (level == 0 || level == LEVEL_MAX)
		return json_object_new_int(level == LEVEL_MAX);
	snprintf(buf, sizeof(buf), "0.%04u", (unsigned)level);
	for (n = strlen(buf); buf[n - 1] == '0'; n--)
		buf[n - 1] = '\0';
	return json_object_new_double_s((double)level / LEVEL_MAX, buf);
}

/* json_object_object_add() that also takes ownership of @v on failure. */
static int add(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* The keys of dim, fade, pattern, heartbeat and morse after "lines"; defaults left out. */
static int format_level_kind(const Program *p, json_object *body)
{
	json_object *steps;

	switch (p->kind) {
	case PROGRAM_DIM:
		if (add(body, "level", format_level(p->level)) < 0)
			return -ENOMEM;
		return p->duration ? add(body, "for", format_duration(p->duration)) : 0;
	case PROGRAM_FADE:
		if (add(body, "from", format_level(p->from)) < 0 ||
		    add(body, "to", format_level(p->to)) < 0 ||
		    add(body, "over", format_duration(p->duration)) < 0)
			return -ENOMEM;
		return p->linear ? add(body, "curve", json_object_new_string("linear")) : 0;
	case PROGRAM_PATTERN:
		steps = json_object_new_array_ext((int)p->n_steps);
		if (add(body, "steps", steps) < 0)
			return -ENOMEM;
		for (size_t i = 0; i < p->n_steps; i++) {
			json_object *step = json_object_new_array_ext(2);

			if (!step || json_object_array_add(steps, step) < 0) {
				json_object_put(step);
				return -ENOMEM;
			}
			if (json_object_array_add(step, format_level(p->steps[i].level)) < 0 ||
			    json_object_array_add(step, p->steps[i].duration
								? format_duration(p->steps[i].duration)
								: json_object_new_int(0)) < 0)
				return -ENOMEM;
		}
		return p->times ? add(body, "times", json_object_new_int64(p->times)) : 0;
	case PROGRAM_HEARTBEAT:
		return p->duration != PROGRAM_HEARTBEAT_PERIOD
			       ? add(body, "period", format_duration(p->duration))
			       : 0;
	case PROGRAM_MORSE:
		if (add(body, "text", json_object_new_string(p->text)) < 0)
			return -ENOMEM;
		return p->duration != PROGRAM_MORSE_UNIT
			       ? add(body, "unit", format_duration(p->duration))
			       : 0;
	default:
		return -EINVAL;
	}
}

static json_object *format_node(const Program *p)
{
	_cleanup_(json_object_putp) json_object *outer = NULL, *body = NULL;

	outer = json_object_new_object();
	if (!outer)
		return NULL;

	switch (p->kind) {
	case PROGRAM_BLINK:
	case PROGRAM_CYCLE:
	case PROGRAM_ON:
		body = json_object_new_object();
		if (!body || add(body, "lines", format_lines(&p->lines)) < 0)
			return NULL;
		if (p->kind != PROGRAM_ON) {
			if (add(body, "interval", format_duration(p->duration)) < 0)
				return NULL;
			if (p->times && add(body, "times", json_object_new_int64(p->times)) < 0)
				return NULL;
		} else if (p->duration && add(body, "for", format_duration(p->duration)) < 0)
			return NULL;
		break;
	case PROGRAM_WAIT:
		body = format_duration(p->duration);
		break;
	case PROGRAM_SEQUENCE:
	case PROGRAM_ALL:
	case PROGRAM_ANY:
		body = json_object_new_array_ext((int)p->n_children);
		if (!body)
			return NULL;
		for (size_t i = 0; i < p->n_children; i++) {
			json_object *c = format_node(p->children[i]);
			if (!c || json_object_array_add(body, c) < 0) {
				json_object_put(c);
				return NULL;
			}
		}
		break;
	case PROGRAM_FOREVER:
		body = format_node(p->children[0]);
		break;
	case PROGRAM_REPEAT:
		body = json_object_new_object();
		if (!body || add(body, "times", json_object_new_int64(p->times)) < 0 ||
		    add(body, "program", format_node(p->children[0])) < 0)
			return NULL;
		break;
	case PROGRAM_CALL:
		body = json_object_new_string(p->call);
		break;
	case PROGRAM_DIM:
	case PROGRAM_FADE:
	case PROGRAM_PATTERN:
	case PROGRAM_HEARTBEAT:
	case PROGRAM_MORSE:
		body = json_object_new_object();
		if (!body || add(body, "lines", format_lines(&p->lines)) < 0)
			return NULL;
		if (format_level_kind(p, body) < 0)
			return NULL;
		break;
	default:
		return NULL;
	}
	if (add(outer, kind_names[p->kind], TAKE_PTR(body)) < 0)
		return NULL;
	return TAKE_PTR(outer);
}

json_object *program_to_json(const Program *p)
{
	return format_node(p);
}

char *program_format(const Program *p)
{
	_cleanup_(json_object_putp) json_object *j = format_node(p);
	const char *s;

	if (!j)
		return NULL;
	s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	return s ? strdup(s) : NULL;
}
