/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "manager-error.h"
#include "utf8.h"

int manager_error_set(ManagerError *error, ManagerErrorKind kind, const char *fmt, ...)
{
	va_list ap;

	error->kind = kind;
	va_start(ap, fmt);
	vsnprintf(error->message, sizeof(error->message), fmt, ap);
	va_end(ap);
	/* The message goes out in a D-Bus reply, which must be valid UTF-8 or is not sent. */
	utf8_drop_invalid(error->message);
	return -EINVAL;
}
