/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tundctl create: a persistent device returns at once; any other lives while tundctl runs,
 * because a device's creator is the connection that created it. */

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "polkit-agent.h"
#include "tundctl.h"

typedef struct Holder {
        TundBus *bus;
        const char *path;
        const char *name;
        sd_event *event;
        int code;
} Holder;

static void on_removed(const char *path, void *userdata) {
        Holder *h = userdata;

        if (!h->path || strcmp(path, h->path) != 0)
                return;
        fprintf(stderr, "tundctl: Device %s was removed.\n", h->name);
        sd_event_exit(h->event, EXIT_OK);
}

static void on_service_gone(void *userdata) {
        Holder *h = userdata;

        fprintf(stderr, "tundctl: The tund service ended; device %s is gone with it.\n", h->name);
        sd_event_exit(h->event, EXIT_GENERIC);
}

static const TundWatch holder_watch = {
        .removed = on_removed,
        .service_gone = on_service_gone,
};

/* Deletes the device here: once the loop ends, the bus attached to it is closed. */
static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Holder *h = userdata;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = tund_bus_delete(h->bus, h->path, &error);
        if (r < 0 && r != -ENODEV)
                h->code = ctl_fail(r, &error, "Failed to delete %s", h->name);
        else
                printf("Removed device %s.\n", h->name);
        sd_bus_error_free(&error);
        return sd_event_exit(h->event, h->code);
}

/* Waits for SIGINT/SIGTERM, which delete the device, or for the device's end. */
static int hold(TundBus *bus, Holder *h) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        int r;

        h->bus = bus;
        r = ctl_event_new(&event, on_signal, h);
        if (r >= 0)
                r = tund_bus_attach_event(bus, event);
        if (r < 0)
                return ctl_fail(r, NULL, "Failed to wait for the end");
        h->event = event;
        printf("Device %s lives while tundctl runs: press Ctrl-C (or send SIGTERM) to remove it.\n",
               h->name);
        fflush(stdout);
        r = sd_event_loop(event);
        return r < 0 ? ctl_fail(r, NULL, "Failed to wait for the end") : r;
}

int verb_create(Ctl *ctl, int argc, char **argv) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(tund_device_freep) TundDevice *d = NULL;
        _cleanup_free_ char *path = NULL;
        TundBus *bus = NULL;
        int r;

        /* SIGINT and SIGTERM are blocked only once the device is there, so that they
         * still end tundctl while polkit asks for a password. */
        r = ctl_bus(ctl, &bus);
        if (r != EXIT_OK)
                return r;
        Holder h = { .name = argv[0] };
        if (!ctl->create.persistent) {
                r = tund_bus_watch(bus, &holder_watch, &h, &error);
                if (r < 0)
                        goto fail;
        }
        ctl_agent_open(ctl);
        r = tund_bus_create(bus, argv[0], &ctl->create, &path, &error);
        polkit_agent_close();
        if (r < 0)
                goto fail;
        h.path = path;
        r = tund_bus_get_device(bus, path, &d, &error);
        if (r < 0)
                goto fail;
        h.name = d->name;
        printf("Created %sdevice %s (%s).\n", ctl->create.persistent ? "persistent " : "",
               d->name, path);
        if (ctl->create.persistent)
                return EXIT_OK;
        return hold(bus, &h);
fail:
        r = ctl_fail(r, &error, "Failed to create %s", argv[0]);
        sd_bus_error_free(&error);
        return r;
}
