/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "bus-peers.h"
#include "config.h"
#include "device-bus.h"
#include "log-control.h"
#include "log.h"
#include "manager-bus.h"
#include "manager.h"
#include "offloads.h"
#include "persist.h"
#include "rtnl.h"
#include "link/netns.h"
#include "tun.h"

/* Persistent devices that could not be managed again at start (a limit, a thread that
 * would not start) are tried again this often; their records and fds are kept meanwhile. */
#define ADOPT_RETRY_USEC (10ull * 1000000ull)

int manager_new(Manager **ret, const char *state_dir, const Limits *limits) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->limits = *limits;
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

static void manager_forget_unadopted(Manager *m) {
        for (size_t i = 0; i < m->n_unadopted; i++)
                safe_close(m->unadopted[i].fd);
        m->unadopted = mfree(m->unadopted);
        m->n_unadopted = 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        /* Non-persistent devices go with their fds; persistent ones stay for the next run. */
        while (m->devices)
                device_free(m->devices);
        sd_event_source_disable_unref(m->reaper);

        manager_forget_unadopted(m);
        sd_event_source_disable_unref(m->adopt_retry);
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
        free(m);
        return NULL;
}

Device *manager_find_device_by_name(Manager *m, const char *name) {
        return hashmap_get(m->devices_by_name, name);
}

unsigned manager_n_devices_of(Manager *m, uid_t owner) {
        unsigned n = 0;

        for (Device *d = m->devices; d; d = d->next)
                if (d->owner == owner)
                        n++;
        return n;
}

unsigned manager_n_packet_fds_of(Manager *m, uid_t uid) {
        unsigned n = 0;

        for (Device *d = m->devices; d; d = d->next)
                n += device_n_clients_of(d, uid);
        return n;
}

bool manager_devices_limit_reached(Manager *m, uid_t owner) {
        return owner != 0 && manager_n_devices_of(m, owner) >= m->limits.devices_per_user;
}

Device *manager_find_device_by_id(Manager *m, uint64_t id) {
        return hashmap_get(m->devices_by_id, &id);
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
                        device_delete(d);
                        return 0;
                }
        return sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

static void manager_reap_now(Manager *m) {
        Device *next;

        for (Device *d = m->devices; d; d = next) {
                next = d->next;
                if (d->creator_gone)
                        device_delete(d);
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
        r = manager_bus_register(m);
        if (r < 0)
                return r;
        r = log_control_register(m->bus, m->peers);
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

static void manager_drop_record(Manager *m, const DeviceRecord *rec) {
        (void) record_remove(m->state_dir, rec->id);
        (void) fdstore_remove(rec->id);
}

/* Manages the device of rec again through a copy of fd, so that fd stays for another try
 * when this one fails. */
static int manager_adopt(Manager *m, int fd, const DeviceRecord *rec) {
        Device *d;
        int copy;

        if (manager_devices_limit_reached(m, rec->owner))
                return -EUSERS;
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
                return -errno;
        return device_adopt(m, copy, rec, &d);
}

/* Keeps fd (taken over) and rec to try again later. */
static void manager_keep_unadopted(Manager *m, int fd, const DeviceRecord *rec) {
        Unadopted *a = realloc(m->unadopted, (m->n_unadopted + 1) * sizeof(*a));

        if (!a) {
                /* The record stays, and so does the fd in the service manager's store. */
                log_oom();
                safe_close(fd);
                return;
        }
        m->unadopted = a;
        m->unadopted[m->n_unadopted++] = (Unadopted) { .rec = *rec, .fd = fd };
}

/* Adopts fd for rec (taken over), or keeps both for another try. */
static void manager_adopt_or_keep(Manager *m, int fd, const DeviceRecord *rec) {
        int r = manager_adopt(m, fd, rec);

        if (r >= 0) {
                safe_close(fd);
                return;
        }
        if (r == -EBADFD || r == -ENODEV) {
                log_warning("Dropping the record of persistent device %s: its TUN is gone.", rec->name);
                manager_drop_record(m, rec);
                safe_close(fd);
                return;
        }
        if (r == -EUSERS)
                log_warning("Not managing persistent device %s again yet: its owner %" PRIu32 " has max-devices-per-user=%u devices; keeping it and trying again.",
                            rec->name, (uint32_t) rec->owner, m->limits.devices_per_user);
        else
                log_warning_errno(r, "Failed to manage persistent device %s again, keeping it and trying again: %m", rec->name);
        manager_keep_unadopted(m, fd, rec);
}

static int manager_on_adopt_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        size_t kept = 0;

        for (size_t i = 0; i < m->n_unadopted; i++) {
                Unadopted *a = &m->unadopted[i];
                int r = manager_adopt(m, a->fd, &a->rec);

                if (r >= 0 || r == -EBADFD || r == -ENODEV) {
                        if (r < 0) {
                                log_warning("Dropping the record of persistent device %s: its TUN is gone.", a->rec.name);
                                manager_drop_record(m, &a->rec);
                        }
                        safe_close(a->fd);
                        continue;
                }
                log_debug_errno(r, "Persistent device %s still not managed: %m", a->rec.name);
                m->unadopted[kept++] = *a;
        }
        m->n_unadopted = kept;
        if (kept > 0)
                return sd_event_source_set_time_relative(s, ADOPT_RETRY_USEC);
        return sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

static int manager_schedule_adopt_retry(Manager *m) {
        int r;

        if (m->n_unadopted == 0)
                return 0;
        if (m->adopt_retry) {
                r = sd_event_source_set_time_relative(m->adopt_retry, ADOPT_RETRY_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->adopt_retry, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time_relative(m->event, &m->adopt_retry, CLOCK_MONOTONIC,
                                               ADOPT_RETRY_USEC, 0, manager_on_adopt_retry, m);
        if (r < 0)
                log_warning_errno(r, "Failed to schedule another try at the persistent devices not managed yet: %m");
        return 0;
}

/* fds the service manager kept for us, each named after its record. */
static void manager_adopt_stored_fds(Manager *m, const DeviceRecord *recs, size_t n_recs, bool *found) {
        char **names = NULL;
        int n;

        n = sd_listen_fds_with_names(true, &names);
        if (n < 0) {
                log_warning_errno(n, "Failed to take the fds the service manager stored: %m");
                return;
        }
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *id = names ? names[i] : "";
                const DeviceRecord *rec = find_record(recs, n_recs, id);

                if (!rec) {
                        log_warning("Dropping stored fd %s: no record of its device is left.", id);
                        safe_close(fd);
                        (void) fdstore_remove(id);
                        continue;
                }
                found[rec - recs] = true;
                manager_adopt_or_keep(m, fd, rec);
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
        _cleanup_close_ int fd = -EBADF;
        LinkState s;
        int ifindex, r;

        /* Look first: attaching by a name nobody has would create a device for a moment. */
        r = rtnl_find_tun(m->rtnl, rec->name, &ifindex);
        if (r < 0)
                return r;
        if (ifindex != rec->ifindex)
                return -ENODEV;
        r = tun_attach(rec->name, &fd);
        if (r < 0)
                return r;
        /* And look again: another TUN may have taken the name in between. */
        r = netns_tun_get_link(m->rtnl, fd, &s);
        if (r < 0)
                return r;
        if (s.ifindex != rec->ifindex)
                return -ENODEV;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static void manager_attach_and_adopt(Manager *m, const DeviceRecord *rec) {
        int fd, r;

        if (manager_find_device_by_name(m, rec->name)) {
                log_warning("Dropping the record of %s: a managed device has that name.", rec->name);
                (void) record_remove(m->state_dir, rec->id);
                return;
        }
        r = manager_attach_recorded(m, rec, &fd);
        if (r == -ENODEV) {
                log_warning("Dropping the record of persistent device %s: it is not in tund's network namespace any more (a TUN of that name, if any, is another one).", rec->name);
                (void) record_remove(m->state_dir, rec->id);
                return;
        }
        if (r < 0) {
                /* Say, another program holds it: keep the record. */
                log_warning_errno(r, "Failed to attach to persistent device %s, not managing it: %m", rec->name);
                return;
        }
        r = fdstore_push(rec->id, fd);
        if (r < 0)
                log_warning_errno(r, "Failed to hand the fd of %s to the service manager: %m", rec->name);
        manager_adopt_or_keep(m, fd, rec);
}

/* Persistent devices of an earlier run: from the fd store, else by name in tund's own
 * namespace. A record is dropped only when its device is gone. */
static int manager_restore_devices(Manager *m) {
        _cleanup_free_ DeviceRecord *recs = NULL;
        _cleanup_free_ bool *found = NULL;
        size_t n;
        int r;

        r = records_load(m->state_dir, &recs, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to read the device records in %s: %m", m->state_dir);
        found = calloc(n + 1, sizeof(bool));
        if (!found)
                return log_oom();

        manager_adopt_stored_fds(m, recs, n, found);
        for (size_t i = 0; i < n; i++)
                if (!found[i])
                        manager_attach_and_adopt(m, &recs[i]);
        return manager_schedule_adopt_retry(m);
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
        r = manager_probe_offloads(m);
        if (r < 0)
                return r;
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
