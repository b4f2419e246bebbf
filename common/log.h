/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr with syslog "<N>" priority prefixes, which the journal
 * reads when the daemon runs under systemd. Functions that log an error
 * return the negative errno they were given, so a caller can log and fail in
 * one expression: return log_error_errno(r, "Failed to ...: %m");
 */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

/* Messages above this level are dropped; default LOG_INFO. */
void log_set_max_level(int level);
int log_get_max_level(void);

/* Parse "emerg".."debug" or "0".."7"; returns the level or -EINVAL. */
int log_level_from_string(const char *s);

/* Prefix each message with "<N>" (on by default when stderr is not a tty). */
void log_set_prefix(bool on);

/* Program name shown before messages when not prefixing for the journal. */
void log_set_ident(const char *ident);

/*
 * log_internal() - print one message.
 * @level: syslog level
 * @error: negative or positive errno for %m, or 0
 * Returns -abs(error) when error is non-zero, else 0.
 */
int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_full_errno(level, error, ...) log_internal((level), (error), __VA_ARGS__)
#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)
#define log_oom() log_internal(LOG_ERR, ENOMEM, "Out of memory.")
