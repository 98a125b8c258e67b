/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdlib.h>
#include <string.h>

#include "creator.h"
#include "device.h"
#include "log.h"
#include "manager.h"

struct Creator {
        Manager *manager;
        char *name;                     /* unique bus name */
        sd_bus_track *track;
        sd_event_source *reaper;        /* once it left: removes its devices, one at a time */
        unsigned n_refs;                /* one per device, plus one while the reaper runs */
        Creator *prev, *next;           /* in manager->creators */
};

Creator *creator_free(Creator *c) {
        if (!c)
                return NULL;
        if (c->prev)
                c->prev->next = c->next;
        else if (c->manager->creators == c)
                c->manager->creators = c->next;
        if (c->next)
                c->next->prev = c->prev;
        sd_bus_track_unref(c->track);
        sd_event_source_disable_unref(c->reaper);
        free(c->name);
        free(c);
        return NULL;
}

void creator_release(Creator *c) {
        if (c && --c->n_refs == 0)
                creator_free(c);
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

static int creator_on_gone(sd_bus_track *track, void *userdata) {
        Creator *c = userdata;
        int r;

        log_info("%s left the bus; removing the devices it created.", c->name);

        /* sd-bus calls again while an empty track lives. */
        c->track = sd_bus_track_unref(c->track);

        r = sd_event_add_defer(c->manager->event, &c->reaper, creator_reap_one, c);
        if (r >= 0)
                r = sd_event_source_set_priority(c->reaper, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->reaper, SD_EVENT_ON);
        if (r < 0) {
                Device *next;

                log_warning_errno(r, "Failed to remove the devices of %s one by one, removing them at once: %m", c->name);
                c->reaper = sd_event_source_disable_unref(c->reaper);
                c->n_refs++;
                for (Device *d = c->manager->devices; d; d = next) {
                        next = d->next;
                        if (d->creator == c)
                                device_delete(d);
                }
                creator_release(c);
                return 0;
        }
        c->n_refs++;            /* held by the reaper until the last device is gone */
        return 0;
}

static Creator *manager_find_creator(Manager *m, const char *name) {
        for (Creator *c = m->creators; c; c = c->next)
                if (strcmp(c->name, name) == 0)
                        return c;
        return NULL;
}

int creator_acquire(Manager *m, sd_bus_message *message, Creator **ret) {
        const char *sender = sd_bus_message_get_sender(message);
        Creator *c;
        int r;

        if (!sender)
                return -ENXIO;

        c = manager_find_creator(m, sender);
        if (c) {
                c->n_refs++;
                *ret = c;
                return 0;
        }

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->manager = m;
        c->name = strdup(sender);
        if (!c->name) {
                free(c);
                return -ENOMEM;
        }
        c->next = m->creators;
        if (m->creators)
                m->creators->prev = c;
        m->creators = c;

        r = sd_bus_track_new(m->bus, &c->track, creator_on_gone, c);
        if (r >= 0)
                /* Also checks that the sender is still there. */
                r = sd_bus_track_add_name(c->track, sender);
        if (r < 0) {
                creator_free(c);
                return r;
        }

        c->n_refs = 1;
        *ret = c;
        return 0;
}
