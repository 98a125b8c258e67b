/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* OpenPacketFd's options, each checked by type and then all together for its bounds. */

#include <string.h>

#include "bus-util.h"
#include "macro.h"
#include "packet-fd-options.h"

typedef enum Option {
        OPTION_MODE,
        OPTION_VNET,
        OPTION_RING_SLOTS,
        OPTION_SLOT_SIZE,
        _OPTION_MAX,
} Option;

static const struct {
        const char *name, *type;
} options[_OPTION_MAX] = {
        [OPTION_MODE] = { "Mode", "s" },
        [OPTION_VNET] = { "Vnet", "b" },
        [OPTION_RING_SLOTS] = { "RingSlots", "u" },
        [OPTION_SLOT_SIZE] = { "SlotSize", "u" },
};

static Option option_from_name(const char *name) {
        for (Option o = 0; o < _OPTION_MAX; o++)
                if (strcmp(name, options[o].name) == 0)
                        return o;
        return _OPTION_MAX;
}

static int read_value(sd_bus_message *message, Option o, ClientOptions *opts, sd_bus_error *error) {
        const char *name;
        int b, r;

        switch (o) {
        case OPTION_MODE:
                r = sd_bus_message_read(message, "v", "s", &name);
                if (r < 0)
                        return r;
                opts->mode_given = true;
                opts->tun = strcmp(name, "tun") == 0;
                if (opts->tun)
                        return 0;       /* raw devices' (device-bus.c) */
                opts->mode = client_mode_from_string(name);
                if (opts->mode < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown packet fd mode '%s'; use packet, batch, vnet or ring (tun on raw devices).", name);
                return 0;
        case OPTION_VNET:
                r = sd_bus_message_read(message, "v", "b", &b);
                opts->vnet = b;
                return r;
        case OPTION_RING_SLOTS:
                return sd_bus_message_read(message, "v", "u", &opts->ring_slots);
        case OPTION_SLOT_SIZE:
                return sd_bus_message_read(message, "v", "u", &opts->slot_size);
        default:
                return -EINVAL;
        }
}

static int read_entry(sd_bus_message *message, ClientOptions *opts, bool seen[_OPTION_MAX], sd_bus_error *error) {
        const char *key, *contents;
        Option o;
        int r;

        r = sd_bus_message_read(message, "s", &key);
        if (r < 0)
                return r;
        o = option_from_name(key);
        if (o == _OPTION_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown option '%s'; the known options are Mode (s), "
                                         "and for mode ring Vnet (b), RingSlots (u) and SlotSize (u).", key);
        if (seen[o])
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option '%s' is given more than once.", key);
        seen[o] = true;

        r = sd_bus_message_peek_type(message, NULL, &contents);
        if (r < 0)
                return r;
        if (strcmp(contents, options[o].type) != 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option '%s' must be of type '%s' (%s), not '%s' (%s).",
                                         key, options[o].type, bus_type_name(options[o].type),
                                         contents, bus_type_name(contents));
        return read_value(message, o, opts, error);
}

int packet_fd_options_read(sd_bus_message *message, ClientOptions *ret, sd_bus_error *error) {
        ClientOptions opts = { .mode = CLIENT_MODE_PACKET };
        bool seen[_OPTION_MAX] = {};
        const char *why;
        int r;

        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(message, 'e', "sv")) > 0) {
                r = read_entry(message, &opts, seen, error);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(message);
        if (r < 0)
                return r;

        if (opts.mode != CLIENT_MODE_RING && (seen[OPTION_VNET] || seen[OPTION_RING_SLOTS] || seen[OPTION_SLOT_SIZE]))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Options Vnet, RingSlots and SlotSize belong to mode ring only.");
        /* 0 means the default inside tund, but is no size a caller may ask for. */
        if (seen[OPTION_RING_SLOTS] && opts.ring_slots == 0)
                opts.ring_slots = UINT32_MAX;
        if (seen[OPTION_SLOT_SIZE] && opts.slot_size == 0)
                opts.slot_size = UINT32_MAX;
        if (!client_options_valid(&opts, &why))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid ring size: %s.", why);
        *ret = opts;
        return 0;
}
