/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "creator.h"
#include "device-bus.h"
#include "log.h"
#include "manager-bus.h"
#include "manager.h"
#include "offloads.h"
#include "persist.h"
#include "rtnl.h"
#include "tun.h"

int manager_new(Manager **ret, const char *state_dir) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->state_dir = strdup(state_dir);
        if (!m->state_dir)
                return -ENOMEM;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        r = polkit_registry_new(&m->polkit);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        /* Non-persistent devices go with their fds; persistent ones stay for the next run. */
        while (m->devices)
                device_free(m->devices);
        /* Creators whose devices were still being removed. */
        while (m->creators)
                creator_free(m->creators);

        polkit_registry_free(m->polkit);
        if (m->bus)
                sd_bus_flush_close_unref(m->bus);
        if (m->rtnl)
                rtnl_close(m->rtnl);
        sd_event_unref(m->event);
        free(m->state_dir);
        free(m);
        return NULL;
}

Device *manager_find_device_by_name(Manager *m, const char *name) {
        char buf[IFNAMSIZ];

        for (Device *d = m->devices; d; d = d->next)
                if (strcmp(device_current_name(d, buf), name) == 0)
                        return d;
        return NULL;
}

Device *manager_find_device_by_id(Manager *m, uint64_t id) {
        for (Device *d = m->devices; d; d = d->next)
                if (d->id == id)
                        return d;
        return NULL;
}

static int manager_probe_offloads(Manager *m) {
        unsigned kernel;
        int r;

        r = tun_probe_offloads(&kernel);
        if (r < 0)
                return log_error_errno(r, "Failed to probe the TUN offloads of the running kernel: %m");
        m->supported_offloads = kernel | OFFLOADS_TUND;
        log_debug("Supported offloads: 0x%x", m->supported_offloads);
        return 0;
}

static int manager_setup_signals(Manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");

        /* Without a handler of our own, sd-event ends the loop. */
        r = sd_event_add_signal(m->event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to watch SIGTERM and SIGINT: %m");
        return 0;
}

static int manager_connect_bus(Manager *m) {
        int r;

        r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        r = sd_bus_set_exit_on_disconnect(m->bus, true);
        if (r < 0)
                return log_error_errno(r, "Failed to make the bus's end end tund: %m");

        r = creators_watch(m);
        if (r < 0)
                return r;
        r = manager_bus_register(m);
        if (r < 0)
                return r;
        return device_bus_register(m);
}

static const DeviceRecord *find_record(const DeviceRecord *recs, size_t n, const char *id) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(recs[i].id, id) == 0)
                        return &recs[i];
        return NULL;
}

/* fds the service manager kept for us, each named after its record. */
static void manager_adopt_stored_fds(Manager *m, const DeviceRecord *recs, size_t n_recs, bool *adopted) {
        char **names = NULL;
        int n, r;

        n = sd_listen_fds_with_names(true, &names);
        if (n < 0) {
                log_warning_errno(n, "Failed to take the fds the service manager stored: %m");
                return;
        }
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *id = names ? names[i] : "";
                const DeviceRecord *rec = find_record(recs, n_recs, id);
                Device *d;

                if (!rec) {
                        log_warning("Dropping stored fd %s: no record of its device is left.", id);
                        safe_close(fd);
                        (void) fdstore_remove(id);
                        continue;
                }
                r = device_adopt(m, fd, rec, &d);
                if (r < 0)
                        log_error_errno(r, "Failed to manage stored device %s again: %m", rec->name);
                else
                        adopted[rec - recs] = true;
        }
        if (names)
                for (int i = 0; i < n; i++)
                        free(names[i]);
        free(names);
}

/* Attaches to the persistent TUN of a record, found by name in tund's namespace.
 * -ENODEV when there is none, or when the TUN of that name is not the recorded one (its
 * ifindex differs: the kernel does not hand out an ifindex again soon). */
static int manager_attach_recorded(Manager *m, const DeviceRecord *rec, int *ret_fd) {
        int ifindex, r;

        /* Look first: attaching by a name nobody has would create a device for a moment. */
        r = rtnl_find_tun(m->rtnl, rec->name, &ifindex);
        if (r < 0)
                return r;
        if (ifindex != rec->ifindex)
                return -ENODEV;
        return tun_attach(rec->name, ret_fd);
}

/* Persistent devices of an earlier run: from the fd store, else by name in tund's own
 * namespace. A record whose device is gone is dropped. */
static int manager_restore_devices(Manager *m) {
        _cleanup_free_ DeviceRecord *recs = NULL;
        _cleanup_free_ bool *adopted = NULL;
        size_t n;
        int r;

        r = records_load(m->state_dir, &recs, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to read the device records in %s: %m", m->state_dir);
        adopted = calloc(n + 1, sizeof(bool));
        if (!adopted)
                return log_oom();

        manager_adopt_stored_fds(m, recs, n, adopted);

        for (size_t i = 0; i < n; i++) {
                int fd;
                Device *d;

                if (adopted[i])
                        continue;
                if (manager_find_device_by_name(m, recs[i].name)) {
                        log_warning("Dropping the record of %s: a managed device has that name.", recs[i].name);
                        (void) record_remove(m->state_dir, recs[i].id);
                        continue;
                }
                r = manager_attach_recorded(m, &recs[i], &fd);
                if (r == -ENODEV) {
                        log_warning("Dropping the record of persistent device %s: it is not in tund's network namespace any more (a TUN of that name, if any, is another one).", recs[i].name);
                        (void) record_remove(m->state_dir, recs[i].id);
                        continue;
                }
                if (r < 0) {
                        /* Say, another program (or tund instance) holds it: keep the record. */
                        log_warning_errno(r, "Failed to attach to persistent device %s, not managing it: %m", recs[i].name);
                        continue;
                }
                r = device_adopt(m, fd, &recs[i], &d);
                if (r < 0) {
                        log_error_errno(r, "Failed to manage persistent device %s again: %m", recs[i].name);
                        continue;
                }
                r = fdstore_push(d->record_id, d->tun_fd);
                if (r < 0)
                        log_warning_errno(r, "Failed to hand the fd of %s to the service manager: %m", d->name);
        }
        return 0;
}

static int manager_on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        /* RequestName's answers (without queueing, as sd-bus asks) */
        enum { NAME_PRIMARY_OWNER = 1, NAME_EXISTS = 3, NAME_ALREADY_OWNER = 4 };
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t answer;
        int r;

        if (e) {
                log_error("Failed to own the name " MANAGER_BUS_NAME ": %s", e->message);
                return sd_event_exit(m->event, -EACCES);
        }
        r = sd_bus_message_read(reply, "u", &answer);
        if (r < 0) {
                log_error_errno(r, "Failed to read the bus's answer about the name " MANAGER_BUS_NAME ": %m");
                return sd_event_exit(m->event, r);
        }
        if (answer != NAME_PRIMARY_OWNER && answer != NAME_ALREADY_OWNER) {
                log_error("The name " MANAGER_BUS_NAME " is owned by another program already (is tund running?).");
                return sd_event_exit(m->event, -EEXIST);
        }

        /* Only the name's owner touches the devices of an earlier run; no call is served
         * before they are back. */
        r = manager_restore_devices(m);
        if (r < 0)
                return sd_event_exit(m->event, r);

        log_info("Serving " MANAGER_BUS_NAME " (version " PACKAGE_VERSION ").");
        (void) sd_notify(false, "READY=1\nSTATUS=Serving " MANAGER_BUS_NAME);
        return 0;
}

int manager_start(Manager *m) {
        int r;

        r = manager_setup_signals(m);
        if (r < 0)
                return r;
        /* Sends WATCHDOG=1 itself when WATCHDOG_USEC is set. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the watchdog: %m");

        r = rtnl_open(&m->rtnl);
        if (r < 0)
                return log_error_errno(r, "Failed to open an rtnetlink socket: %m");
        r = manager_probe_offloads(m);
        if (r < 0)
                return r;
        r = manager_connect_bus(m);
        if (r < 0)
                return r;
        r = sd_bus_request_name_async(m->bus, NULL, MANAGER_BUS_NAME, 0, manager_on_name_acquired, m);
        if (r < 0)
                return log_error_errno(r, "Failed to ask for the name " MANAGER_BUS_NAME ": %m");
        return 0;
}

int manager_run(Manager *m) {
        int r, code;

        r = sd_event_loop(m->event);
        log_info("Stopping; non-persistent devices go away.");
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down");
        /* An exit code of our own was logged where it was set. */
        if (r < 0 && sd_event_get_exit_code(m->event, &code) < 0)
                return log_error_errno(r, "The event loop failed: %m");
        return r;
}
