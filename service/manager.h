/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one context of tund: its loop, bus connection and devices. Its D-Bus face is
 * manager-bus.c. */

#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "device.h"
#include "polkit.h"

struct nl_sock;

struct Manager {
        sd_event *event;
        sd_bus *bus;
        struct nl_sock *rtnl;           /* in tund's own network namespace */
        PolkitRegistry *polkit;

        Device *devices;
        uint64_t next_device_id;
        Creator *creators;              /* of non-persistent devices (creator.c) */

        unsigned supported_offloads;    /* Offload bits, probed at start */
        char *state_dir;                /* records of persistent devices */
};

/* state_dir: where records of persistent devices live. */
int manager_new(Manager **ret, const char *state_dir);
Manager *manager_free(Manager *m);

/* Probes the kernel, connects to the system bus, manages the persistent devices of an
 * earlier run again and asks for the bus name; READY=1 follows once it is ours. */
int manager_start(Manager *m);
int manager_run(Manager *m);

Device *manager_find_device_by_name(Manager *m, const char *name);
Device *manager_find_device_by_id(Manager *m, uint64_t id);

static inline void manager_freep(Manager **m) {
        manager_free(*m);
}
