/* SPDX-License-Identifier: MIT */
/*
 * Cleanup helpers for json-c objects, which libsystemd does not ship.
 */
#pragma once

#include <json-c/json.h>

#include "macro.h"

static inline void json_object_putp(json_object **j)
{
	if (*j)
		json_object_put(*j);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free);
