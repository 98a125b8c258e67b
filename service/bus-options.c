/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "bus-options.h"
#include "bus-util.h"

int bus_option_read_bool(sd_bus_message *m, void *field, void *userdata, sd_bus_error *error) {
        int b, r;

        r = sd_bus_message_read(m, "b", &b);
        if (r < 0)
                return r;
        *(bool *) field = b;
        return 0;
}

static const BusOption *option_find(const BusOption *options, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(options[i].name, name) == 0)
                        return &options[i];
        return NULL;
}

/* One dict entry, entered already: the key, then the variant, checked against the table;
 * leaves the entry. */
static int read_entry(sd_bus_message *m, const BusOption *options, size_t n, const char *known,
                      void *target, void *userdata, uint32_t *seen, sd_bus_error *error) {
        const char *key, *contents;
        const BusOption *o;
        uint32_t bit;
        void *field;
        int r;

        r = sd_bus_message_read(m, "s", &key);
        if (r < 0)
                return r;
        o = option_find(options, n, key);
        if (!o)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown option '%s'; %s.", key, known);
        bit = UINT32_C(1) << (o - options);
        if (*seen & bit)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option '%s' is given more than once.", key);
        *seen |= bit;

        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        if (strcmp(contents, o->type) != 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option '%s' must be of type '%s' (%s), not '%s' (%s).",
                                         key, o->type, bus_type_name(o->type),
                                         contents, bus_type_name(contents));

        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        field = (char *) target + o->offset;
        r = o->read ? o->read(m, field, userdata, error) : sd_bus_message_read(m, o->type, field);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);           /* the variant */
        if (r >= 0)
                r = sd_bus_message_exit_container(m);           /* the entry */
        return r;
}

int bus_read_options(sd_bus_message *m, const BusOption *options, size_t n, const char *known,
                     void *target, void *userdata, uint32_t *ret_seen, sd_bus_error *error) {
        uint32_t seen = 0;
        int r;

        if (n > 32)
                return -EINVAL;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = read_entry(m, options, n, known, target, userdata, &seen, error);
                if (r < 0)
                        return r;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        if (ret_seen)
                *ret_seen = seen;
        return 0;
}
