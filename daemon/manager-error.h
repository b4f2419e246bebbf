/* SPDX-License-Identifier: MIT */
/*
 * The failures a caller of the manager hears about by name. The manager,
 * the registry's callers and persistence report them; bus-error.c is the
 * one place where they become D-Bus errors. A ManagerError is a plain
 * value, owned by whoever declared it (a handler's local, mostly).
 */
#pragma once

#include "macro.h"

/*
 * What went wrong in a way the caller should hear about by name. A manager
 * call that fails returns a negative errno; when it also set @kind, the
 * failure is the caller's (a bad program, a taken name) and @message says
 * what a person needs to know. MANAGER_ERROR_NONE means the errno alone
 * says it (out of memory, ...). Errnos are never read as kinds.
 */
typedef enum ManagerErrorKind {
	MANAGER_ERROR_NONE,
	MANAGER_ERROR_INVALID_PROGRAM,
	MANAGER_ERROR_INVALID_NAME,
	MANAGER_ERROR_EXISTS,
	MANAGER_ERROR_NOT_RUNNING,
	MANAGER_ERROR_NOT_DEFINED,
	MANAGER_ERROR_LIMIT_EXCEEDED,
	MANAGER_ERROR_INVALID_OPTIONS,
	MANAGER_ERROR_STATE_NOT_WRITABLE,
	_MANAGER_ERROR_MAX,
} ManagerErrorKind;

typedef struct ManagerError {
	ManagerErrorKind kind;
	char message[1200];
} ManagerError;

/* Set @error to @kind with a message; returns -EINVAL, for "return manager_error_set(...)". */
int manager_error_set(ManagerError *error, ManagerErrorKind kind, const char *fmt, ...)
	_printf_(3, 4);
