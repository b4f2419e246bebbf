/* SPDX-License-Identifier: MIT */
/*
 * The one decoder of the daemon's Layout (aau) and Lines (a(sssa{sv}))
 * properties: the daemon's layout rebuilt on the reader's side, with the
 * daemon's numbers, references, aliases, chips, the names the chips give the
 * lines and each line's settings. Every reader of io.blinkd1 decodes them
 * here, so that two readers cannot see two layouts.
 *
 * Nothing here owns the message it reads; the Layout and the labels it
 * returns are the caller's (layout_free(), strv_free()).
 */
#pragma once

#include <systemd/sd-bus.h>

#include "layout.h"

/*
 * lines_read_matrix() - the Layout property (aau) at @m: a matrix of line
 * numbers, row-major, in a new array of @ret_rows x @ret_cols (NULL, 0 x 0
 * for an empty matrix, the daemon's way of saying it has none).
 * Returns 0, -EBADMSG for rows of different lengths or an empty row, or
 * another negative errno from reading @m.
 */
int lines_read_matrix(sd_bus_message *m, unsigned **ret, unsigned *ret_rows, unsigned *ret_cols);

/*
 * lines_read_layout() - the layout of a Lines value at @m (a(sssa{sv})), with
 * the matrix of numbers @matrix (@n_rows x @n_cols, none for 0) as
 * lines_read_matrix() gave it, and the chip labels by position in
 * (*@ret)->lines if @ret_labels is not NULL. Each line's settings (active_low,
 * drive, bias, initial, exit), kind, offset and chip name are kept; keys and
 * words this reader does not know are skipped.
 * Returns 0, -EBADMSG for a value that does not make a layout (no lines, a
 * line without a number, a number given twice or out of range, a matrix
 * number Lines lacks), or another negative errno; nothing is reported.
 */
int lines_read_layout(sd_bus_message *m, unsigned n_rows, unsigned n_cols, const unsigned *matrix,
		      Layout **ret, char ***ret_labels);
