/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What one caller can make tund hold (API.md "Limits", tund(8)). Each limit is set by the
 * command-line option of its name; uid 0 is exempt from the per-user ones. */

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "bus-errors.h"

typedef struct Limits {
        unsigned devices_per_user;              /* devices whose Owner is one uid */
        unsigned packet_fds_per_device;         /* bounds a device's writer threads */
        unsigned packet_fds_per_user;           /* packet fds one uid opened, on all devices */
        unsigned pending_checks_per_user;       /* polkit checks waiting for one uid */
        unsigned pending_checks;                /* polkit checks outstanding in all */
        uint64_t polkit_timeout_usec;           /* then a check fails with AccessDenied */
} Limits;

#define LIMITS_DEFAULT ((Limits) {                      \
        .devices_per_user = 16,                         \
        .packet_fds_per_device = 16,                    \
        .packet_fds_per_user = 64,                      \
        .pending_checks_per_user = 16,                  \
        .pending_checks = 64,                           \
        .polkit_timeout_usec = 25ull * 1000000ull,      \
})

/* The bus allows a connection 128 calls in flight (max_replies_per_connection); tund keeps
 * room for its own calls to the bus beside the polkit checks. */
#define LIMITS_PENDING_CHECKS_MAX 96u

/* Sets the limit NAME (its option's name, "max-devices-per-user", ...) from the option's
 * VALUE; -EINVAL (logged) for a bad value, -ENOENT when NAME is no limit. */
int limits_parse_option(Limits *l, const char *name, const char *value);

/* Sets LimitsExceeded naming the limit (its option's name) and its value; returns
 * -EUSERS. */
int limits_error(sd_bus_error *error, const char *limit, uint64_t value, const char *what);
