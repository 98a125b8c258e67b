/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tundctl monitor: one timestamped line per event, until a signal or the service's end. */

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strv.h"
#include "terminal.h"
#include "tundctl.h"


/* Device names by path, for the signals that carry only a path. */
typedef struct Known {
        char *path, *name;
} Known;

typedef struct Monitor {
        sd_event *event;
        Known *known;
        size_t n_known;
} Monitor;

static Known *find_known(Monitor *m, const char *path) {
        for (size_t i = 0; i < m->n_known; i++)
                if (strcmp(m->known[i].path, path) == 0)
                        return &m->known[i];
        return NULL;
}

static void remember(Monitor *m, const char *path, const char *name) {
        Known *k = find_known(m, path);
        char *copy = strdup(name);

        if (!copy)
                return;
        if (!k) {
                Known *grown = realloc(m->known, (m->n_known + 1) * sizeof(*grown));
                char *p = strdup(path);
                if (!grown || !p) {
                        if (grown)
                                m->known = grown;
                        free(p);
                        free(copy);
                        return;
                }
                m->known = grown;
                k = &m->known[m->n_known++];
                k->path = p;
                k->name = NULL;
        }
        free(k->name);
        k->name = copy;
}

static void forget(Monitor *m, const char *path) {
        Known *k = find_known(m, path);

        if (!k)
                return;
        free(k->path);
        free(k->name);
        *k = m->known[--m->n_known];
}

static void emit(Monitor *m, const char *path, const char *format, ...)
        __attribute__((format(printf, 3, 4)));
static void emit(Monitor *m, const char *path, const char *format, ...) {
        Known *k = find_known(m, path);
        char stamp[64];
        va_list ap;

        format_timestamp_now(stamp, sizeof(stamp));
        printf("%s %s%s%s ", stamp, ansi(ANSI_BOLD), k && k->name ? k->name : path,
               ansi(ANSI_NORMAL));
        va_start(ap, format);
        vprintf(format, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

static void on_added(const char *path, const TundDevice *d, void *userdata) {
        Monitor *m = userdata;

        remember(m, path, d->name);
        emit(m, path, "added: index %" PRIi32 ", MTU %" PRIu32 ", %s, %s", d->index, d->mtu,
             d->up ? "up" : "down", path);
}

static void on_removed(const char *path, void *userdata) {
        Monitor *m = userdata;

        emit(m, path, "removed");
        forget(m, path);
}

static void on_link_up(const char *path, void *userdata) {
        emit(userdata, path, "LinkUp");
}

static void on_link_down(const char *path, void *userdata) {
        emit(userdata, path, "LinkDown");
}

static void on_mtu_changed(const char *path, uint32_t mtu, void *userdata) {
        emit(userdata, path, "MTUChanged: %" PRIu32, mtu);
}

static void on_changed(const char *path, char **assignments, void *userdata) {
        Monitor *m = userdata;
        _cleanup_free_ char *joined = strv_join(assignments, " ");

        emit(m, path, "changed: %s", strna(joined));
        for (char **a = assignments; *a; a++)
                if (strncmp(*a, "Name=", 5) == 0)
                        remember(m, path, *a + 5);
}

static void on_service_gone(void *userdata) {
        Monitor *m = userdata;
        char stamp[64];

        format_timestamp_now(stamp, sizeof(stamp));
        printf("%s The tund service ended.\n", stamp);
        fflush(stdout);
        sd_event_exit(m->event, EXIT_OK);
}

static const TundWatch monitor_watch = {
        .added = on_added,
        .removed = on_removed,
        .link_up = on_link_up,
        .link_down = on_link_down,
        .mtu_changed = on_mtu_changed,
        .changed = on_changed,
        .service_gone = on_service_gone,
};

/* The devices there already, so that their events carry names. */
static void learn_devices(Monitor *m, TundBus *bus) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        TundDevice **devices = NULL;
        size_t n = 0;

        if (tund_bus_list(bus, &devices, &n, &error) >= 0)
                for (size_t i = 0; i < n; i++)
                        remember(m, devices[i]->path, devices[i]->name);
        tund_device_list_free(devices, n);
        sd_bus_error_free(&error);
}

static void monitor_done(Monitor *m) {
        for (size_t i = 0; i < m->n_known; i++) {
                free(m->known[i].path);
                free(m->known[i].name);
        }
        free(m->known);
}

int verb_monitor(Ctl *ctl, int argc, char **argv) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        Monitor m = {};
        TundBus *bus = NULL;
        int r;

        r = block_exit_signals();
        if (r < 0)
                return ctl_fail(r, NULL, "Failed to monitor");
        r = ctl_bus(ctl, &bus);
        if (r != EXIT_OK)
                return r;
        r = ctl_event_new(&event, NULL, NULL);
        if (r >= 0)
                r = tund_bus_attach_event(bus, event);
        if (r < 0)
                return ctl_fail(r, NULL, "Failed to monitor");
        m.event = event;
        r = tund_bus_watch(bus, &monitor_watch, &m, &error);
        if (r < 0) {
                r = ctl_fail(r, &error, "Failed to monitor tund");
                sd_bus_error_free(&error);
                return r;
        }
        learn_devices(&m, bus);
        /* On stderr, once every event from now on will be seen. */
        fprintf(stderr, "Monitoring tund's devices; press Ctrl-C to stop.\n");
        r = sd_event_loop(event);
        monitor_done(&m);
        return r < 0 ? ctl_fail(r, NULL, "Failed to monitor") : r;
}
