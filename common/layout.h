/* SPDX-License-Identifier: MIT */
/*
 * The line layout: every line a daemon drives, where it is wired (a chip and
 * an offset or a line name on it), how (polarity, drive, bias, initial and
 * exit state), what programs call it, and optionally a matrix of them (rows x
 * columns).
 *
 * Each line has a number, which programs, Lit, Frame and the trace use: a line
 * given as an offset on the default chip is numbered by that offset (so the
 * talk's matrix reads as it always did); every other line (a line name, or a
 * line on another chip) gets LAYOUT_NUMBER_EXTRA + k, k counting such lines in
 * the order the configuration gives them.
 *
 * Chips are referred to as the configuration writes them: chips[0] is the
 * default chip ("chip" in the config), the others are the CHIP parts of
 * "CHIP:LINE" references. Finding them (path, name or label) is the daemon's
 * business; the layout only keeps the strings.
 *
 * Programs address lines through the layout: {"row": N}, {"col": N}, "all", a
 * number, or a string: an alias, a name the chip gives the line, or the
 * reference as the configuration wrote it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* Offsets above this are refused; no gpiochip has that many lines. */
#define LAYOUT_OFFSET_MAX 65535u
/* Numbers of lines that are not an offset on the default chip start here. */
#define LAYOUT_NUMBER_EXTRA 65536u
#define LAYOUT_LINES_MAX 65536u
/* Lines by name or on other chips: each is looked up by comparing, so fewer. */
#define LAYOUT_EXTRA_MAX 4096u
#define LAYOUT_NUMBER_MAX (LAYOUT_NUMBER_EXTRA + LAYOUT_EXTRA_MAX - 1)
#define LAYOUT_ALIAS_MAX 64
#define LAYOUT_REF_MAX 128

typedef enum LineDrive {
	LINE_DRIVE_PUSH_PULL,
	LINE_DRIVE_OPEN_DRAIN,
	LINE_DRIVE_OPEN_SOURCE,
	_LINE_DRIVE_MAX,
} LineDrive;

typedef enum LineBias {
	LINE_BIAS_AS_IS,
	LINE_BIAS_DISABLED,
	LINE_BIAS_PULL_UP,
	LINE_BIAS_PULL_DOWN,
	_LINE_BIAS_MAX,
} LineBias;

/* A line's state at start (and when its chip appears) and at exit. */
typedef enum LineState {
	LINE_STATE_OFF,
	LINE_STATE_ON,
	LINE_STATE_KEEP, /* start: take the present level without a glitch; exit: leave it */
	_LINE_STATE_MAX,
} LineState;

typedef struct LineSettings {
	bool active_low; /* lit = physical low */
	LineDrive drive;
	LineBias bias;
	LineState initial;
	LineState exit;
} LineSettings;

typedef struct LayoutLine {
	unsigned number;
	char *ref;	 /* the reference as the configuration wrote it: "17", "GPIO17", "rp1:3" */
	char *where;	 /* where the configuration wrote it: "$.matrix[1][2]", "$.lines[\"17\"]" */
	unsigned chip;	 /* index into Layout.chips */
	bool has_offset; /* given as an offset, or found by name once the chip was seen */
	unsigned offset;
	char *line_name; /* given as a name on the chip: looked up when the chip appears */
	char *name;	 /* the name the chip gives the line, once seen */
	char *alias;	 /* the configuration's name for it, or NULL */
	bool analog;	 /* takes levels as they are (an LED class device): no PWM */
	LineSettings settings;
} LayoutLine;

/*
 * Who owns a Layout: whoever made it (layout_new(), layout_new_default(),
 * layout_new_empty()) frees it with layout_free(); everything in it is its
 * own. In the daemon the Config owns the one layout (config_load() builds
 * it, config_free() frees it); manager_new() may put --chip in chips[0]
 * before anything borrows it. The engine, the trace and the chips borrow it
 * for their whole life, so it outlives them; the chips write into it the
 * names the chips give their lines (layout_set_name()) and keep pointers to
 * its chips[] strings. The bus code reads it through the Manager's Config.
 * program_parse() and program_parse_json() borrow it for the call only: a
 * Program keeps line numbers, never the layout. In a client, a layout
 * rebuilt from the daemon's Layout and Lines properties (layout_new_empty(),
 * layout_add_numbered()) belongs to whoever asked for it, who frees it.
 */
typedef struct Layout {
	unsigned n_rows; /* 0 when the layout has no matrix */
	unsigned n_cols;
	unsigned *matrix; /* n_rows * n_cols line numbers, row-major */

	size_t n_lines;	  /* distinct lines: the matrix's in matrix order, then the others */
	unsigned *lines;  /* their numbers */
	LayoutLine *info; /* n_lines entries, beside lines[] */
	size_t info_cap;  /* room in info[] while building */
	unsigned n_extra; /* lines numbered from LAYOUT_NUMBER_EXTRA on */

	size_t n_chips;	  /* chips[0] is the default chip */
	char **chips;

	bool any_active_low;
	unsigned max_number;
	int *index_of;	  /* max_number + 1 entries: number -> position in lines, or -1 */
} Layout;

/* The talk's 5x5 LED matrix on a Raspberry Pi. */
extern const unsigned layout_default_matrix[5][5];

extern const LineSettings line_settings_default;

/*
 * layout_new() - a layout of a row-major matrix of offsets on the default
 * chip @chip (NULL: unnamed). Every offset must appear once. Returns -EINVAL
 * for an empty matrix, -ERANGE for an offset out of range, -EEXIST for a
 * repeated offset.
 */
int layout_new(Layout **ret, unsigned n_rows, unsigned n_cols, const unsigned *matrix);
int layout_new_default(Layout **ret);

/*
 * Building a layout line by line (the configuration's way): start empty,
 * add lines by reference, optionally set the matrix, then finish.
 */
int layout_new_empty(Layout **ret, const char *default_chip);

/*
 * layout_add_ref() - the line @ref refers to, added if it is new. @where says
 * where the reference was written, for error messages. Returns its position
 * (>= 0), or -EINVAL for a reference that is not one (@error says why),
 * -E2BIG past LAYOUT_LINES_MAX or LAYOUT_EXTRA_MAX, -ENOMEM.
 */
int layout_add_ref(Layout *l, const char *ref, const char *where, char *error, size_t error_size);

/*
 * layout_add_numbered() - a line another layout has numbered already, for a
 * client that rebuilds the daemon's layout from its Lines property: number
 * @number, reference @ref, on chip @chip (as the daemon's layout names it;
 * added to l->chips if new). Nothing is parsed: the caller fills in the
 * rest of the LayoutLine. Returns its position (>= 0), -ERANGE for a number
 * past LAYOUT_NUMBER_MAX, -E2BIG past LAYOUT_LINES_MAX, -ENOMEM. A number
 * given twice makes layout_finish() fail.
 */
int layout_add_numbered(Layout *l, unsigned number, const char *ref, const char *chip);

/* layout_set_matrix() - rows of positions (as layout_add_ref() returned them). */
int layout_set_matrix(Layout *l, unsigned n_rows, unsigned n_cols, const unsigned *positions);

/*
 * layout_finish() - order the lines (the matrix's first, in matrix order) and
 * index them by number. Returns -EEXIST when the matrix repeats a line, or
 * two lines have the same number.
 */
int layout_finish(Layout *l);

Layout *layout_free(Layout *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Layout *, layout_free);

/* Name line number @index (a position in l->lines), as the chip names it. */
int layout_set_name(Layout *l, size_t index, const char *name);

/* Name every line the chip left unnamed "GPIO<offset>", as the simulated chip does. */
int layout_name_unnamed_lines(Layout *l);

/* Position of line number @number in l->lines, or -ENOENT. */
int layout_index_of(const Layout *l, unsigned number);

/* qsort() comparator of line numbers (unsigned). */
int offset_compare(const void *a, const void *b);

/*
 * layout_find_name() - the number of the line @name calls: an alias first,
 * then a name the chip gives, then a reference as the configuration wrote it.
 * Returns 0 or -ENOENT.
 */
int layout_find_name(const Layout *l, const char *name, unsigned *ret);

/* Whether @a and @b name the same chip: equal, or "/dev/X" and "X". */
bool layout_chip_equal(const char *a, const char *b);

const char *line_drive_to_string(LineDrive d);
LineDrive line_drive_from_string(const char *s); /* -1 when unknown */
const char *line_bias_to_string(LineBias b);
LineBias line_bias_from_string(const char *s);
const char *line_state_to_string(LineState s);
LineState line_state_from_string(const char *s);
