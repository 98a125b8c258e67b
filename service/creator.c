/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>

#include "creator.h"
#include "device.h"
#include "list.h"
#include "log.h"
#include "manager.h"

struct Creator {
        Manager *manager;
        char *name;                     /* unique bus name */
        sd_event_source *reaper;        /* once it left: removes its devices, one at a time */
        unsigned n_refs;                /* one per device, plus one while the reaper runs */
        Creator *prev, *next;           /* in manager->creators */
};

Creator *creator_free(Creator *c) {
        if (!c)
                return NULL;
        LIST_REMOVE(c->manager->creators, c);
        sd_event_source_disable_unref(c->reaper);
        free(c->name);
        free(c);
        return NULL;
}

void creator_release(Creator *c) {
        if (c && --c->n_refs == 0)
                creator_free(c);
}

static Creator *manager_find_creator(Manager *m, const char *name) {
        for (Creator *c = m->creators; c; c = c->next)
                if (strcmp(c->name, name) == 0)
                        return c;
        return NULL;
}

/* Removing a TUN costs the kernel tens of milliseconds (RCU grace periods): one device per
 * loop iteration, at idle priority, so that bus calls are served in between. */
static int creator_reap_one(sd_event_source *s, void *userdata) {
        Creator *c = userdata;

        for (Device *d = c->manager->devices; d; d = d->next)
                if (d->creator == c) {
                        device_delete(d);
                        return 0;
                }

        /* All gone: drop the reaper's reference, which frees the creator. */
        creator_release(c);
        return 0;
}

static void creator_reap_all_now(Creator *c) {
        Device *next;

        c->n_refs++;
        for (Device *d = c->manager->devices; d; d = next) {
                next = d->next;
                if (d->creator == c)
                        device_delete(d);
        }
        creator_release(c);
}

static void creator_gone(Creator *c) {
        int r;

        if (c->reaper)
                return;
        log_info("%s left the bus; removing the devices it created.", c->name);

        r = sd_event_add_defer(c->manager->event, &c->reaper, creator_reap_one, c);
        if (r >= 0)
                r = sd_event_source_set_priority(c->reaper, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)     /* defer sources are one-shot by default */
                r = sd_event_source_set_enabled(c->reaper, SD_EVENT_ON);
        if (r < 0) {
                log_warning_errno(r, "Failed to remove the devices of %s one by one, removing them at once: %m", c->name);
                c->reaper = sd_event_source_disable_unref(c->reaper);
                creator_reap_all_now(c);
                return;
        }
        c->n_refs++;            /* held by the reaper until the last device is gone */
}

void creators_peer_gone(Manager *m, const char *name) {
        Creator *c = manager_find_creator(m, name);

        if (c)
                creator_gone(c);
}

int creator_acquire(Manager *m, sd_bus_message *message, Creator **ret) {
        const char *sender = sd_bus_message_get_sender(message);
        Creator *c;

        if (!sender)
                return -ENXIO;

        /* Its departure is still to come: the bus delivers the news of a peer leaving
         * after every call the peer made, and the caller's uid was looked up just now
         * (bus-peers.c refuses the calls of a departed peer). */
        c = manager_find_creator(m, sender);
        if (c && !c->reaper) {
                c->n_refs++;
                *ret = c;
                return 0;
        }

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (Creator) {
                .manager = m,
                .name = strdup(sender),
                .n_refs = 1,
        };
        if (!c->name) {
                free(c);
                return -ENOMEM;
        }
        LIST_PREPEND(m->creators, c);

        *ret = c;
        return 0;
}
