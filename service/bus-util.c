/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <string.h>

#include "bus-errors.h"
#include "bus-util.h"
#include "offload-names.h"

int bus_read_failed(int r, sd_bus_error *error) {
        if (r >= 0 || sd_bus_error_is_set(error))
                return r;
        /* sd-bus refuses some strings the D-Bus specification allows and the bus passes on,
         * such as those with Unicode noncharacters (U+FDD0): they are the caller's to fix. */
        if (r == -EBADMSG)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "An argument could not be read: a string holds characters tund does not accept (Unicode noncharacters such as U+FDD0 or U+FFFE).");
        return r;
}

/* "csum, tso4, ...", from the offload table. */
static const char *known_offloads(char *buf, size_t size) {
        size_t n = 0;

        buf[0] = '\0';
        FOREACH_OFFLOAD(o)
                n += snprintf(buf + MIN(n, size - 1), size - MIN(n, size - 1), "%s%s",
                              n > 0 ? ", " : "", offload_to_string(o));
        return buf;
}

int bus_read_offloads(sd_bus_message *m, unsigned supported, unsigned *ret, sd_bus_error *error) {
        const char *name, *reason;
        char known[256];
        unsigned set = 0, missing;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "s", &name)) > 0) {
                Offload o = offload_from_string(name);

                if (o == 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown offload '%s'; known offloads are: %s.",
                                                 name, known_offloads(known, sizeof(known)));
                set |= o;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        if (!offloads_consistent(set, &reason))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid set of offloads: %s.", reason);

        missing = set & ~supported;
        if (missing)
                FOREACH_OFFLOAD(o)
                        if (missing & o)
                                return sd_bus_error_setf(error, BUS_ERROR_NOT_SUPPORTED,
                                                         "The running kernel does not support offload '%s'; leave it out (see the SupportedOffloads property).",
                                                         offload_to_string(o));
        *ret = set;
        return 0;
}

int bus_append_offloads(sd_bus_message *m, unsigned offloads) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "s");
        if (r < 0)
                return r;
        FOREACH_OFFLOAD(o)
                if (offloads & o) {
                        r = sd_bus_message_append(m, "s", offload_to_string(o));
                        if (r < 0)
                                return r;
                }
        return sd_bus_message_close_container(m);
}

const char *bus_type_name(const char *signature) {
        static const struct { const char *sig, *name; } names[] = {
                { "y", "byte" }, { "b", "boolean" }, { "n", "int16" }, { "q", "uint16" },
                { "i", "int32" }, { "u", "uint32" }, { "x", "int64" }, { "t", "uint64" },
                { "d", "double" }, { "s", "string" }, { "o", "object path" },
                { "g", "signature" }, { "h", "file descriptor" }, { "as", "array of strings" },
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(names[i].sig, signature) == 0)
                        return names[i].name;
        return signature;
}

int bus_check_raw_offloads(bool raw, bool vnet_header, unsigned offloads, sd_bus_error *error) {
        if (!raw)
                return 0;
        if (!vnet_header && offloads != 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "A raw device without VnetHeader has no offloads: the kernel can hand its queues only plain packets. Give the empty set, or create the device with VnetHeader.");
        if (offloads & OFFLOADS_TUND)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "gro-tcp and gro-udp are done by tund's data plane, which packets of a raw device do not pass: give only the kernel's offloads.");
        return 0;
}
