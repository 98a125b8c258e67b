/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The persistent devices of an earlier run, managed again at start: from the service
 * manager's fd store, else attached by name in tund's own namespace. One that cannot be
 * managed yet keeps its record and fd and is tried again. */

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "manager.h"
#include "netns.h"
#include "persist.h"
#include "rtnl.h"
#include "tun.h"

/* Persistent devices that could not be managed again at start (a limit, a thread that
 * would not start) are tried again this often; their records and fds are kept meanwhile. */
#define ADOPT_RETRY_USEC (10ull * 1000000ull)

void manager_forget_unadopted(Manager *m) {
        for (size_t i = 0; i < m->n_unadopted; i++)
                safe_close(m->unadopted[i].fd);
        m->unadopted = mfree(m->unadopted);
        m->n_unadopted = 0;
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
        int copy, r;

        if (manager_devices_limit_reached(m, rec->owner))
                return -EUSERS;
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
                return -errno;
        r = device_adopt(&m->device_ctx, copy, rec, &d);
        if (r < 0)
                return r;
        r = manager_add_device(m, d);
        if (r < 0) {
                device_free(d);         /* a persistent TUN stays in the kernel */
                return r;
        }
        log_info("Managing persistent device %s again (%s).", d->name, d->object_path);
        return 0;
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
        if (rec->raw)
                r = tun_attach_raw(rec->name, rec->vnet_header, &fd);
        else
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
int manager_restore_devices(Manager *m) {
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
