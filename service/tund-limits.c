/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <inttypes.h>

#include "tund-limits.h"

int limits_error(sd_bus_error *error, const char *limit, uint64_t value, const char *what) {
        sd_bus_error_setf(error, BUS_ERROR_LIMITS_EXCEEDED,
                          "Limit %s=%" PRIu64 " reached: %s. An administrator can raise it (see tund(8)).",
                          limit, value, what);
        return -EUSERS;
}
