/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "program.h"
#include "properties.h"

int properties_read_chips(sd_bus_message *m, BlinkdChip **ret, size_t *ret_n)
{
	BlinkdChip *v = NULL;
	size_t n = 0;
	const char *label, *path;
	int present, r;

	r = sd_bus_message_enter_container(m, 'a', "(ssb)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(m, "(ssb)", &label, &path, &present)) > 0) {
		BlinkdChip *grown = realloc(v, (n + 1) * sizeof(*v));

		if (!grown) {
			r = -ENOMEM;
			break;
		}
		v = grown;
		v[n++] =
		    (BlinkdChip){.label = strdup(label), .path = strdup(path), .present = present};
		if (!v[n - 1].label || !v[n - 1].path) {
			r = -ENOMEM;
			break;
		}
	}
	if (r >= 0)
		r = sd_bus_message_exit_container(m);
	if (r < 0) {
		blinkd_chips_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

void blinkd_chips_free(BlinkdChip *chips, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(chips[i].label);
		free(chips[i].path);
	}
	free(chips);
}

int properties_read_lit(sd_bus_message *m, unsigned **ret, size_t *ret_n)
{
	const void *data;
	size_t size;
	unsigned *v;
	int r;

	/* The array at once: Frames come many a second. */
	r = sd_bus_message_read_array(m, 'u', &data, &size);
	if (r < 0)
		return r;
	v = malloc(size ? size : 1);
	if (!v)
		return -ENOMEM;
	if (size)
		memcpy(v, data, size);
	*ret = v;
	*ret_n = size / sizeof(uint32_t);
	return 0;
}

int properties_read_levels(sd_bus_message *m, BlinkdLevel **ret, size_t *ret_n)
{
	_cleanup_(freep) BlinkdLevel *v = NULL;
	size_t n = 0;
	unsigned number;
	double level;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "(ud)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(m, "(ud)", &number, &level)) > 0) {
		BlinkdLevel *grown;

		if (!(level > 0))
			continue;
		grown = realloc(v, (n + 1) * sizeof(*v));
		if (!grown)
			return -ENOMEM;
		v = grown;
		v[n++] = (BlinkdLevel){.number = number, .level = level > 1 ? 1 : level};
	}
	if (r < 0)
		return r;
	r = sd_bus_message_exit_container(m);
	if (r < 0)
		return r;
	if (!v && !(v = malloc(sizeof(*v))))
		return -ENOMEM;
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

int properties_levels_of_lit(const BlinkdLevel *old, size_t n_old, const unsigned *lit, size_t n,
			     BlinkdLevel **ret)
{
	BlinkdLevel *v = malloc(n ? n * sizeof(*v) : 1);

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i] = (BlinkdLevel){.number = lit[i], .level = 1};
		for (size_t j = 0; j < n_old; j++)
			if (old[j].number == lit[i]) {
				v[i].level = old[j].level;
				break;
			}
	}
	*ret = v;
	return 0;
}

uint16_t properties_level_scale(double level)
{
	if (!(level > 0))
		return 0;
	return level >= 1 ? LEVEL_MAX : (uint16_t)(level * LEVEL_MAX + 0.5);
}
