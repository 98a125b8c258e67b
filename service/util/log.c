/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int max_level = LOG_INFO;
static int prefix_levels = -1;

static const char *const level_names[] = {
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_prefix_levels(bool enable) {
        prefix_levels = enable;
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

        if (want_prefix())
                fprintf(stderr, "<%d>%s\n", level, msg);
        else if (max_level >= LOG_DEBUG)
                fprintf(stderr, "%s: %s (%s:%d %s)\n", level_names[level & 7], msg, file, line, func);
        else
                fprintf(stderr, "%s\n", msg);

        errno = saved;
        return -abs(error);
}
