/* SPDX-License-Identifier: MIT */
#include "bus-error.h"
#include "bus-names.h"

static const char *const error_names[_MANAGER_ERROR_MAX] = {
	[MANAGER_ERROR_INVALID_PROGRAM] = BLINKD_ERROR_INVALID_PROGRAM,
	[MANAGER_ERROR_INVALID_NAME] = BLINKD_ERROR_INVALID_NAME,
	[MANAGER_ERROR_EXISTS] = BLINKD_ERROR_EXISTS,
	[MANAGER_ERROR_NOT_RUNNING] = BLINKD_ERROR_NOT_RUNNING,
	[MANAGER_ERROR_NOT_DEFINED] = BLINKD_ERROR_NOT_DEFINED,
	[MANAGER_ERROR_LIMIT_EXCEEDED] = BLINKD_ERROR_LIMIT_EXCEEDED,
	[MANAGER_ERROR_INVALID_OPTIONS] = BLINKD_ERROR_INVALID_OPTIONS,
	[MANAGER_ERROR_STATE_NOT_WRITABLE] = BLINKD_ERROR_STATE_NOT_WRITABLE,
};

int bus_map_error(sd_bus_error *error, int r, const ManagerError *e)
{
	if (e->kind > MANAGER_ERROR_NONE && e->kind < _MANAGER_ERROR_MAX)
		return sd_bus_error_set(error, error_names[e->kind], e->message);
	return sd_bus_error_set_errno(error, r);
}
