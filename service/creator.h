/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The bus peers that created non-persistent devices: when one leaves the bus (as
 * bus-peers.c learns it from the bus), its devices go. */

#include <systemd/sd-bus.h>

typedef struct Creator Creator;
typedef struct Manager Manager;

/* The bus peer NAME left for good: the devices it created go, one at a time. */
void creators_peer_gone(Manager *m, const char *name);

/* The creator behind the sender of message, followed from now on; each call takes one
 * reference, which creator_release() gives back. */
int creator_acquire(Manager *m, sd_bus_message *message, Creator **ret);
void creator_release(Creator *c);

/* For the manager's end, once no device refers to it any more. */
Creator *creator_free(Creator *c);
