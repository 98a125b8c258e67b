/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* OpenPacketFd's options, each checked by type and then all together for its bounds. */

#include <string.h>

#include "bus-options.h"
#include "macro.h"
#include "packet-fd-options.h"

typedef enum Option {
        OPTION_MODE,
        OPTION_VNET,
        OPTION_RING_SLOTS,
        OPTION_SLOT_SIZE,
} Option;

static int read_mode(sd_bus_message *message, void *field, void *userdata, sd_bus_error *error) {
        ClientMode *mode = field;
        const char *name;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        /* Raw devices' queues (device-bus.c), no mode of the data plane. */
        if (strcmp(name, "tun") == 0) {
                ((ClientOptions *) userdata)->tun = true;
                return 0;
        }
        *mode = client_mode_from_string(name);
        if (*mode < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown packet fd mode '%s'; use packet, batch, vnet or ring (tun on raw devices).", name);
        return 0;
}

static const BusOption options[] = {
        [OPTION_MODE]       = { "Mode",      "s", offsetof(ClientOptions, mode),       read_mode            },
        [OPTION_VNET]       = { "Vnet",      "b", offsetof(ClientOptions, vnet),       bus_option_read_bool },
        [OPTION_RING_SLOTS] = { "RingSlots", "u", offsetof(ClientOptions, ring_slots), NULL                 },
        [OPTION_SLOT_SIZE]  = { "SlotSize",  "u", offsetof(ClientOptions, slot_size),  NULL                 },
};

int packet_fd_options_read(sd_bus_message *message, ClientOptions *ret, sd_bus_error *error) {
        ClientOptions opts = { .mode = CLIENT_MODE_PACKET };
        const char *why;
        uint32_t seen;
        int r;

        r = bus_read_options(message, options, ELEMENTSOF(options),
                             "the known options are Mode (s), and for mode ring Vnet (b), RingSlots (u) and SlotSize (u)",
                             &opts, &opts, &seen, error);
        if (r < 0)
                return r;
        opts.mode_given = BUS_OPTION_SEEN(seen, OPTION_MODE);

        if (opts.mode != CLIENT_MODE_RING && (BUS_OPTION_SEEN(seen, OPTION_VNET) || BUS_OPTION_SEEN(seen, OPTION_RING_SLOTS) || BUS_OPTION_SEEN(seen, OPTION_SLOT_SIZE)))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Options Vnet, RingSlots and SlotSize belong to mode ring only.");
        /* 0 means the default inside tund, but is no size a caller may ask for. */
        if (BUS_OPTION_SEEN(seen, OPTION_RING_SLOTS) && opts.ring_slots == 0)
                opts.ring_slots = UINT32_MAX;
        if (BUS_OPTION_SEEN(seen, OPTION_SLOT_SIZE) && opts.slot_size == 0)
                opts.slot_size = UINT32_MAX;
        if (!client_options_valid(&opts, &why))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid ring size: %s.", why);
        *ret = opts;
        return 0;
}
