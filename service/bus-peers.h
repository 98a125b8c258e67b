/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The peers that call tund, as the bus itself reports them: the uid behind each caller,
 * asked of the bus without waiting (GetConnectionUnixUser), and the news that a caller
 * left — believed only from the bus driver, and confirmed with GetNameOwner before anyone
 * is told. Knows nothing of devices or polkit: whoever cares about a peer leaving gets a
 * callback. */

#include <sys/types.h>
#include <systemd/sd-bus.h>

typedef struct BusPeers BusPeers;

/* A peer that called tund has left the bus for good. */
typedef void (*BusPeerGone)(const char *name, void *userdata);

int bus_peers_new(BusPeers **ret, sd_bus *bus, BusPeerGone gone, void *userdata);
BusPeers *bus_peers_free(BusPeers *peers);

/* The uid of the sender of m. Returns 1 with *ret set; 0 while the bus is being asked, in
 * which case m is dispatched again once it answered (the method handler returns without
 * replying and runs again from the start); or a negative errno with error set: the caller
 * left the bus, or the bus did not say who it is. */
int bus_peers_get_uid(BusPeers *peers, sd_bus_message *m, uid_t *ret, sd_bus_error *error);

static inline void bus_peers_freep(BusPeers **p) {
        bus_peers_free(*p);
}
