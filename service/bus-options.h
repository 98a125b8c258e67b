/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading a method's a{sv} of options from a table: each option has a name, the D-Bus type
 * its variant must hold, and where its value goes. The messages for an unknown option, one
 * given twice and one of another type are the same for every method. */

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* Reads the variant's value (of the option's type, entered already) into field; for checks
 * beyond the type. userdata is bus_read_options()'s. */
typedef int (*BusOptionRead)(sd_bus_message *m, void *field, void *userdata, sd_bus_error *error);

typedef struct BusOption {
        const char *name;
        const char *type;               /* the variant's signature */
        size_t offset;                  /* of the field in the struct being filled */
        BusOptionRead read;             /* NULL: sd_bus_message_read() of type into the field */
} BusOption;

/* Whether bus_read_options() saw options[i], from its *ret_seen. */
#define BUS_OPTION_SEEN(seen, i) (((seen) & (UINT32_C(1) << (i))) != 0)

/* For a bool field of an option of type "b". */
int bus_option_read_bool(sd_bus_message *m, void *field, void *userdata, sd_bus_error *error);

/* Reads an a{sv} into target by the n options. known ends the message for an unknown
 * option: "Unknown option 'KEY'; <known>." The options seen are the bits of *ret_seen
 * (bit i for options[i]; n is at most 32), which may be NULL. Negative errno, with error
 * set for what the caller sent wrong. */
int bus_read_options(sd_bus_message *m, const BusOption *options, size_t n, const char *known,
                     void *target, void *userdata, uint32_t *ret_seen, sd_bus_error *error);
