/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "tund-limits.h"

/* The counts, each set by the option of its name. */
static const struct {
        const char *name;
        size_t offset;
        unsigned min, max;
} limit_options[] = {
        { "max-devices-per-user",        offsetof(Limits, devices_per_user),        0, 65536 },
        { "max-packet-fds-per-device",   offsetof(Limits, packet_fds_per_device),   0, 1024 },
        { "max-packet-fds-per-user",     offsetof(Limits, packet_fds_per_user),     0, 65536 },
        { "max-pending-checks-per-user", offsetof(Limits, pending_checks_per_user), 0, LIMITS_PENDING_CHECKS_MAX },
        { "max-pending-checks",          offsetof(Limits, pending_checks),          0, LIMITS_PENDING_CHECKS_MAX },
        { "polkit-timeout",              SIZE_MAX,                                  1, 3600 },
};

/* A decimal number from min to max. */
static int parse_count(const char *option, const char *s, unsigned min, unsigned max, unsigned *ret) {
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
                return log_error_errno(EINVAL, "--%s takes a number from %u to %u, not '%s'.", option, min, max, s);
        *ret = (unsigned) v;
        return 0;
}

int limits_parse_option(Limits *l, const char *name, const char *value) {
        for (size_t i = 0; i < sizeof(limit_options) / sizeof(limit_options[0]); i++) {
                unsigned v = 0;
                int r;

                if (strcmp(limit_options[i].name, name) != 0)
                        continue;
                r = parse_count(name, value, limit_options[i].min, limit_options[i].max, &v);
                if (r < 0)
                        return r;
                if (limit_options[i].offset == SIZE_MAX)
                        l->polkit_timeout_usec = (uint64_t) v * 1000000u;
                else
                        *(unsigned *) ((char *) l + limit_options[i].offset) = v;
                return 0;
        }
        return -ENOENT;
}

/* Refusals are logged at most once a second, with how many went unlogged since: a caller
 * at its limit could otherwise fill the journal. */
static void log_refusal(const char *limit, uint64_t value, const char *what) {
        static uint64_t last_usec;
        static unsigned unlogged;
        struct timespec ts;
        uint64_t now;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
        if (last_usec != 0 && now - last_usec < 1000000u) {
                unlogged++;
                return;
        }
        log_notice("Refused a call: limit %s=%" PRIu64 " reached (%s)%s.", limit, value, what,
                   unlogged > 0 ? "; more refusals in the last second were not logged" : "");
        last_usec = now;
        unlogged = 0;
}

int limits_error(sd_bus_error *error, const char *limit, uint64_t value, const char *what) {
        log_refusal(limit, value, what);
        sd_bus_error_setf(error, BUS_ERROR_LIMITS_EXCEEDED,
                          "Limit %s=%" PRIu64 " reached: %s. An administrator can raise it (see tund(8)).",
                          limit, value, what);
        return -EUSERS;
}
