/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "bus-peers.h"
#include "config.h"
#include "log.h"
#include "manager.h"
#include "offload-names.h"
#include "rtnl.h"
#include "tun.h"

int manager_new(Manager **ret, const char *state_dir, const Limits *limits, const ManagerOps *ops) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->limits = *limits;
        m->ops = ops;
        m->state_lock_fd = -EBADF;
        m->state_dir = strdup(state_dir);
        if (!m->state_dir)
                return -ENOMEM;

        r = hashmap_new(&m->devices_by_id, &uint64_hash_ops);
        if (r < 0)
                return r;
        r = hashmap_new(&m->devices_by_name, &string_hash_ops);
        if (r < 0)
                return r;
        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        r = polkit_registry_new(&m->polkit, m->event, &m->limits);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        /* Non-persistent devices go with their fds; persistent ones stay for the next run. */
        while (m->devices) {
                Device *d = m->devices;

                manager_remove_device(m, d);
                device_free(d);
        }
        sd_event_source_disable_unref(m->reaper);

        manager_forget_unadopted(m);
        sd_event_source_disable_unref(m->adopt_retry);
        netcfg_monitor_free(m->netcfg_monitor);
        link_monitor_free(m->link_monitor);
        polkit_registry_free(m->polkit);
        bus_peers_free(m->peers);
        if (m->bus)
                sd_bus_flush_close_unref(m->bus);
        if (m->rtnl)
                rtnl_close(m->rtnl);
        sd_event_unref(m->event);
        hashmap_free(m->devices_by_id);
        hashmap_free(m->devices_by_name);
        safe_close(m->state_lock_fd);
        free(m->state_dir);
        free(m->netns_helper_socket);
        free(m);
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

/* Removing a TUN costs the kernel tens of milliseconds (RCU grace periods): one device per
 * loop iteration, at idle priority, so that bus calls are served in between. */
static int manager_reap_one(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        for (Device *d = m->devices; d; d = d->next)
                if (d->creator_gone) {
                        manager_delete_device(m, d);
                        return 0;
                }
        return sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

static void manager_reap_now(Manager *m) {
        Device *next;

        for (Device *d = m->devices; d; d = next) {
                next = d->next;
                if (d->creator_gone)
                        manager_delete_device(m, d);
        }
}

static void manager_start_reaper(Manager *m) {
        int r;

        if (m->reaper)
                r = sd_event_source_set_enabled(m->reaper, SD_EVENT_ON);
        else {
                r = sd_event_add_defer(m->event, &m->reaper, manager_reap_one, m);
                if (r >= 0)
                        r = sd_event_source_set_priority(m->reaper, SD_EVENT_PRIORITY_IDLE);
                if (r >= 0)     /* defer sources are one-shot by default */
                        r = sd_event_source_set_enabled(m->reaper, SD_EVENT_ON);
        }
        if (r < 0) {
                log_warning_errno(r, "Failed to remove devices one by one, removing them at once: %m");
                manager_reap_now(m);
        }
}

/* The bus said that a peer left, and it is confirmed: its checks end, and the devices it
 * created go. */
static void manager_on_peer_gone(const char *name, void *userdata) {
        Manager *m = userdata;
        unsigned n = 0;

        polkit_registry_peer_gone(m->polkit, name);

        for (Device *d = m->devices; d; d = d->next)
                if (d->creator && strcmp(d->creator, name) == 0 && !d->creator_gone) {
                        d->creator_gone = true;
                        n++;
                }
        if (n == 0)
                return;
        log_info("%s left the bus; removing the %u device%s it created.", name, n, n == 1 ? "" : "s");
        manager_start_reaper(m);
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

        r = bus_peers_new(&m->peers, m->bus, manager_on_peer_gone, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch bus peers: %m");
        return m->ops->register_objects(m);
}

static int manager_on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        /* RequestName's answers (without queueing, as sd-bus asks) */
        enum { NAME_PRIMARY_OWNER = 1, NAME_ALREADY_OWNER = 4 };
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

        log_info("Serving " MANAGER_BUS_NAME " (version " PACKAGE_VERSION ").");
        (void) sd_notify(false, "READY=1\nSTATUS=Serving " MANAGER_BUS_NAME);
        return 0;
}

int manager_set_netns_helper_socket(Manager *m, const char *path) {
        char *p = NULL;

        if (path) {
                p = strdup(path);
                if (!p)
                        return -ENOMEM;
        }
        free(m->netns_helper_socket);
        m->netns_helper_socket = p;
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
        r = link_monitor_new(&m->link_monitor, m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to start watching links: %m");
        /* For benchmarks and debugging: the probe alone. */
        const char *netlink = getenv("TUND_LINK_NETLINK");
        if (netlink && strcmp(netlink, "0") == 0)
                (void) link_monitor_set_netlink(m->link_monitor, false);
        r = netcfg_monitor_new(&m->netcfg_monitor, m->event, &manager_netcfg_ops, m);
        if (r < 0)
                return log_error_errno(r, "Failed to start watching addresses and routes: %m");
        r = manager_probe_offloads(m);
        if (r < 0)
                return r;
        m->device_ctx = (DeviceContext) {
                .event = m->event,
                .rtnl = m->rtnl,
                .link_monitor = m->link_monitor,
                .netcfg_monitor = m->netcfg_monitor,
                .state_dir = m->state_dir,
                .netns_helper_socket = m->netns_helper_socket,
                .supported_offloads = m->supported_offloads,
                .ops = &manager_device_ops,
                .userdata = m,
        };
        r = manager_connect_bus(m);
        if (r < 0)
                return r;

        /* Only one tund touches the devices of an earlier run: the one holding the lock.
         * They are back before the name is asked for, so that the first call (also the one
         * that started tund by bus activation) sees them. */
        r = records_lock(m->state_dir, &m->state_lock_fd);
        if (r == -EBUSY)
                return log_error_errno(r, "Another tund manages the devices recorded in %s (it holds %s/lock); not starting a second one.",
                                       m->state_dir, m->state_dir);
        if (r < 0)
                return log_error_errno(r, "Failed to lock the state directory %s: %m", m->state_dir);
        r = manager_restore_devices(m);
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
