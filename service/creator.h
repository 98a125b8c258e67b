/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The bus peers that created non-persistent devices: when one leaves the bus, its devices
 * go. One sd_bus_track (one match on tund's connection) per peer, however many devices it
 * created, as the bus limits the matches of a connection. */

#include <systemd/sd-bus.h>

typedef struct Creator Creator;
typedef struct Manager Manager;

/* The creator behind the sender of m, tracked from now on; each call takes one reference,
 * which creator_release() gives back. Fails when the sender has left the bus already. */
int creator_acquire(Manager *m, sd_bus_message *message, Creator **ret);
void creator_release(Creator *c);

/* For the manager's end, once no device refers to it any more. */
Creator *creator_free(Creator *c);
