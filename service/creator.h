/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The bus peers that created non-persistent devices: when one leaves the bus, its devices
 * go. One match on NameOwnerChanged serves all of them, as the bus limits the matches of
 * a connection (512 on the system bus). */

#include <systemd/sd-bus.h>

typedef struct Creator Creator;
typedef struct Manager Manager;

/* Subscribes to the bus's NameOwnerChanged; before any creator_acquire(). */
int creators_watch(Manager *m);

/* The creator behind the sender of message, followed from now on; each call takes one
 * reference, which creator_release() gives back. -ESRCH when the sender has left the bus
 * already. */
int creator_acquire(Manager *m, sd_bus_message *message, Creator **ret);
void creator_release(Creator *c);

/* For the manager's end, once no device refers to it any more. */
Creator *creator_free(Creator *c);
