/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging with syslog levels: by default to stderr, with "<N>" prefixes when the journal
 * takes stderr (it turns them into priorities); or to the journal, syslog or the kernel log
 * directly. Level and target may change while tund runs (LogControl1), from any thread. */

#include <errno.h>
#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

void log_set_max_level(int level);
int log_get_max_level(void);
int log_level_from_string(const char *s);       /* "debug", "info", ... or "0".."7" */
const char *log_level_to_string(int level);

typedef enum LogTarget {
        LOG_TARGET_AUTO,                /* stderr, prefixed when the journal takes it */
        LOG_TARGET_CONSOLE,             /* stderr */
        LOG_TARGET_CONSOLE_PREFIXED,    /* stderr with "<N>" */
        LOG_TARGET_JOURNAL,
        LOG_TARGET_SYSLOG,
        LOG_TARGET_KMSG,
        LOG_TARGET_NULL,
        _LOG_TARGET_MAX,
        _LOG_TARGET_INVALID = -EINVAL,
} LogTarget;

void log_set_target(LogTarget target);
LogTarget log_get_target(void);
const char *log_target_to_string(LogTarget target);
LogTarget log_target_from_string(const char *s);
/* The name messages go under in the journal, syslog and the kernel log. */
const char *log_identifier(void);

/* Logs the message; where error != 0 "%m" stands for strerror(-error) (or error).
 * Returns -abs(error), so that "return log_error_errno(r, ...)" passes the error on. */
int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

#define log_full_errno(level, error, ...) \
        ({ int _l = (level); int _e = (error); \
           (log_get_max_level() >= _l) ? log_internal(_l, _e, __FILE__, __LINE__, __func__, __VA_ARGS__) \
                                       : -abs(_e); })

#define log_debug(...)   log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)  log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)   log_full_errno(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...)   log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...)    log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_notice_errno(e, ...)  log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...)   log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
