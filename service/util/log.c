/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "log.h"

/* Read and set from any thread. */
static int max_level = LOG_INFO;
static int prefix_levels = -1;
static LogTarget target = LOG_TARGET_AUTO;

static const char *const target_names[_LOG_TARGET_MAX] = {
        [LOG_TARGET_AUTO] = "auto",
        [LOG_TARGET_CONSOLE] = "console",
        [LOG_TARGET_CONSOLE_PREFIXED] = "console-prefixed",
        [LOG_TARGET_JOURNAL] = "journal",
        [LOG_TARGET_SYSLOG] = "syslog",
        [LOG_TARGET_KMSG] = "kmsg",
        [LOG_TARGET_NULL] = "null",
};

static const char *const level_names[] = {
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

void log_set_max_level(int level) {
        __atomic_store_n(&max_level, level, __ATOMIC_RELAXED);
}

int log_get_max_level(void) {
        return __atomic_load_n(&max_level, __ATOMIC_RELAXED);
}

const char *log_level_to_string(int level) {
        return level >= 0 && level < (int) ELEMENTSOF(level_names) ? level_names[level] : NULL;
}

void log_set_target(LogTarget t) {
        __atomic_store_n(&target, t, __ATOMIC_RELAXED);
}

LogTarget log_get_target(void) {
        return __atomic_load_n(&target, __ATOMIC_RELAXED);
}

const char *log_target_to_string(LogTarget t) {
        return t >= 0 && t < _LOG_TARGET_MAX ? target_names[t] : NULL;
}

LogTarget log_target_from_string(const char *s) {
        for (LogTarget t = 0; t < _LOG_TARGET_MAX; t++)
                if (strcmp(s, target_names[t]) == 0)
                        return t;
        return _LOG_TARGET_INVALID;
}

const char *log_identifier(void) {
        return program_invocation_short_name;
}

int log_level_from_string(const char *s) {
        for (int i = 0; i < (int) ELEMENTSOF(level_names); i++)
                if (strcmp(s, level_names[i]) == 0)
                        return i;
        if (strcmp(s, "error") == 0)
                return LOG_ERR;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';
        return -EINVAL;
}

static bool want_prefix(void) {
        if (prefix_levels < 0)
                prefix_levels = getenv("JOURNAL_STREAM") != NULL;
        return prefix_levels;
}

static void write_console(int level, const char *msg, const char *file, int line, const char *func) {
        if (log_get_max_level() >= LOG_DEBUG)
                fprintf(stderr, "%s: %s (%s:%d %s)\n", level_names[level & 7], msg, file, line, func);
        else
                fprintf(stderr, "%s\n", msg);
}

static void write_journal(int level, const char *msg, const char *file, int line, const char *func) {
        char code_file[256], code_line[32];

        snprintf(code_file, sizeof(code_file), "CODE_FILE=%s", file);
        snprintf(code_line, sizeof(code_line), "CODE_LINE=%d", line);
        (void) sd_journal_send_with_location(code_file, code_line, func,
                                             "MESSAGE=%s", msg,
                                             "PRIORITY=%d", level,
                                             "SYSLOG_IDENTIFIER=%s", log_identifier(),
                                             NULL);
}

static void write_kmsg(int level, const char *msg) {
        static int fd = -1;
        int expected = -1;

        if (__atomic_load_n(&fd, __ATOMIC_ACQUIRE) < 0) {
                int opened = open("/dev/kmsg", O_WRONLY | O_NOCTTY | O_CLOEXEC);
                if (opened < 0)
                        return;
                if (!__atomic_compare_exchange_n(&fd, &expected, opened, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                        close(opened);
        }
        dprintf(__atomic_load_n(&fd, __ATOMIC_ACQUIRE), "<%d>%s[%d]: %s\n", level, log_identifier(), (int) getpid(), msg);
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) {
        char msg[2048];
        va_list ap;
        int saved = errno;

        if (error != 0)
                errno = abs(error);
        va_start(ap, format);
        vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);

        switch (log_get_target()) {
        case LOG_TARGET_JOURNAL:
                write_journal(level, msg, file, line, func);
                break;
        case LOG_TARGET_SYSLOG:
                syslog(level, "%s", msg);
                break;
        case LOG_TARGET_KMSG:
                write_kmsg(level, msg);
                break;
        case LOG_TARGET_NULL:
                break;
        case LOG_TARGET_CONSOLE_PREFIXED:
                fprintf(stderr, "<%d>%s\n", level, msg);
                break;
        case LOG_TARGET_CONSOLE:
                write_console(level, msg, file, line, func);
                break;
        case LOG_TARGET_AUTO:
        default:
                if (want_prefix())
                        fprintf(stderr, "<%d>%s\n", level, msg);
                else
                        write_console(level, msg, file, line, func);
                break;
        }

        errno = saved;
        return -abs(error);
}
