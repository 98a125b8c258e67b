/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creator.h"
#include "device-bus.h"
#include "device.h"
#include "ifname.h"
#include "log.h"
#include "manager.h"
#include "offloads.h"
#include "rtnl.h"
#include "tun.h"

/* Takes tun_fd over, also on failure. */
static int device_new(Manager *m, int tun_fd, Device **ret) {
        Device *d;

        d = calloc(1, sizeof(*d));
        if (!d) {
                safe_close(tun_fd);
                return -ENOMEM;
        }
        *d = (Device) {
                .manager = m,
                .id = m->next_device_id++,
                .tun_fd = tun_fd,
        };
        if (asprintf(&d->object_path, DEVICE_OBJECT_PREFIX "/%" PRIu64, d->id) < 0) {
                safe_close(tun_fd);
                free(d);
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}

/* Appends, so that ListDevices lists devices in the order they came. */
static void device_link(Device *d) {
        Manager *m = d->manager;
        Device *last = m->devices;

        if (!last) {
                m->devices = d;
                return;
        }
        while (last->next)
                last = last->next;
        last->next = d;
        d->prev = last;
}

static void device_unlink(Device *d) {
        if (d->prev)
                d->prev->next = d->next;
        else if (d->manager->devices == d)
                d->manager->devices = d->next;
        if (d->next)
                d->next->prev = d->prev;
        d->prev = d->next = NULL;
}

Device *device_free(Device *d) {
        if (!d)
                return NULL;
        device_unlink(d);
        creator_release(d->creator);
        safe_close(d->tun_fd);
        free(d->object_path);
        free(d);
        return NULL;
}

/* The rtnetlink socket of the namespace the device is in now; NULL when tund has none
 * there. */
static struct nl_sock *device_rtnl(Device *d) {
        return tun_in_own_netns(d->tun_fd) > 0 ? d->manager->rtnl : NULL;
}

static int device_read_link(Device *d) {
        struct nl_sock *sk;
        RtnlLinkInfo info;
        int r;

        r = tun_get_info(d->tun_fd, d->name, NULL);
        if (r < 0)
                return r;
        sk = device_rtnl(d);
        if (!sk)
                return -EREMOTE;
        r = rtnl_get_link(sk, 0, d->name, &info);
        if (r < 0)
                return r;
        d->ifindex = info.ifindex;
        d->mtu = info.mtu;
        return 0;
}

static int device_apply_offloads(Device *d, unsigned offloads) {
        int r;

        r = tun_set_offload(d->tun_fd, offloads_to_tun_flags(offloads));
        if (r < 0)
                return r;
        d->offloads = offloads;
        return 0;
}

static int device_write_record(Device *d) {
        DeviceRecord rec = { .owner = d->owner, .offloads = d->offloads, .ifindex = d->ifindex };

        strcpy(rec.id, d->record_id);
        strcpy(rec.name, d->name);
        return record_save(d->manager->state_dir, &rec);
}

/* Keeps the record of a persistent device up to date with its name and offloads, which a
 * restart without the fd store needs. */
static void device_save_record(Device *d) {
        int r;

        if (!d->persistent)
                return;
        r = device_write_record(d);
        if (r < 0)
                log_warning_errno(r, "Failed to update the record of %s in %s: %m", d->name, d->manager->state_dir);
}

static int device_make_persistent(Device *d) {
        int r;

        r = record_new_id(d->record_id);
        if (r < 0)
                return r;
        r = tun_set_persist(d->tun_fd, true);
        if (r < 0)
                return r;
        r = device_write_record(d);
        if (r < 0) {
                log_error_errno(r, "Failed to save the record of %s in %s: %m", d->name, d->manager->state_dir);
                (void) tun_set_persist(d->tun_fd, false);
                return r;
        }
        d->persistent = true;

        r = fdstore_push(d->record_id, d->tun_fd);
        if (r < 0)
                log_warning_errno(r, "Failed to hand the fd of %s to the service manager; it survives a restart only in tund's own namespace: %m", d->name);
        return 0;
}

int device_create(Manager *m, const DeviceConfig *config, Device **ret) {
        _cleanup_close_ int fd = -EBADF;
        char name[IFNAMSIZ];
        Device *d;
        int r;

        r = tun_create(config->name, &fd, name);
        if (r < 0)
                return r;
        /* The kernel completes a pattern with a name free here, which a managed device in
         * another namespace may have. */
        if (ifname_is_pattern(config->name) && manager_find_device_by_name(m, name))
                return -EEXIST;

        r = device_new(m, TAKE_FD(fd), &d);
        if (r < 0)
                return r;
        d->owner = config->owner;

        r = device_read_link(d);
        if (r < 0) {
                log_error_errno(r, "Failed to read the link of new device %s: %m", name);
                goto fail;
        }
        if (d->mtu != config->mtu) {
                r = rtnl_set_mtu(m->rtnl, d->ifindex, config->mtu);
                if (r < 0) {
                        log_error_errno(r, "Failed to set MTU %" PRIu32 " on %s: %m", config->mtu, d->name);
                        goto fail;
                }
                d->mtu = config->mtu;
        }
        r = device_apply_offloads(d, config->offloads);
        if (r < 0) {
                log_error_errno(r, "Failed to set offloads of %s: %m", d->name);
                goto fail;
        }
        if (config->persistent) {
                r = device_make_persistent(d);
                if (r < 0)
                        goto fail;
        }

        device_link(d);
        log_info("Created device %s (%s%s, owner %" PRIu32 ").", d->name, d->object_path,
                 d->persistent ? ", persistent" : "", (uint32_t) d->owner);
        *ret = d;
        return 0;

fail:
        device_free(d);         /* the kernel removes the non-persistent TUN with its fd */
        return r;
}

int device_adopt(Manager *m, int tun_fd, const DeviceRecord *rec, Device **ret) {
        Device *d;
        int r;

        r = device_new(m, tun_fd, &d);
        if (r < 0)
                return r;
        d->owner = rec->owner;
        d->persistent = true;
        strcpy(d->record_id, rec->id);

        /* A device moved to another namespace is not found here by name; the link monitor
         * learns where it is. */
        r = device_read_link(d);
        if (r < 0)
                log_debug_errno(r, "Device %s is not in tund's network namespace: %m", d->name);
        else if (d->ifindex != rec->ifindex)
                device_save_record(d);

        r = device_apply_offloads(d, rec->offloads & m->supported_offloads);
        if (r < 0)
                log_warning_errno(r, "Failed to set offloads of %s again: %m", d->name);

        device_link(d);
        log_info("Managing persistent device %s again (%s).", d->name, d->object_path);
        *ret = d;
        return 0;
}

void device_delete(Device *d) {
        int r;

        device_bus_emit_removed(d);

        if (d->persistent) {
                r = tun_set_persist(d->tun_fd, false);
                if (r < 0)
                        log_warning_errno(r, "Failed to make %s non-persistent; it may stay behind: %m", d->name);
                r = record_remove(d->manager->state_dir, d->record_id);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove the record of %s: %m", d->name);
                r = fdstore_remove(d->record_id);
                if (r < 0)
                        log_warning_errno(r, "Failed to drop the fd of %s from the service manager's store: %m", d->name);
        }
        log_info("Removed device %s (%s).", d->name, d->object_path);
        device_free(d);
}

int device_track_creator(Device *d, sd_bus_message *m) {
        return creator_acquire(d->manager, m, &d->creator);
}

int device_set_mtu(Device *d, uint32_t mtu) {
        char name[IFNAMSIZ];
        struct nl_sock *sk;
        RtnlLinkInfo info;
        int r;

        sk = device_rtnl(d);
        if (!sk)
                return -EREMOTE;
        r = tun_get_info(d->tun_fd, name, NULL);
        if (r < 0)
                return r;
        r = rtnl_get_link(sk, 0, name, &info);
        if (r < 0)
                return r;
        r = rtnl_set_mtu(sk, info.ifindex, mtu);
        if (r < 0)
                return r;
        /* Emits MTU's change; the link monitor, once it watches, reports it again as the
         * same state. */
        device_apply_link_state(d, info.ifindex, info.name, mtu);
        return 0;
}

int device_set_offloads(Device *d, unsigned offloads) {
        int r;

        if (offloads == d->offloads)
                return 0;
        r = device_apply_offloads(d, offloads);
        if (r < 0)
                return r;
        device_save_record(d);
        device_bus_emit_changed(d, "Offloads", NULL);
        return 0;
}

void device_apply_link_state(Device *d, int ifindex, const char *name, uint32_t mtu) {
        const char *changed[4] = {};
        size_t n = 0;

        if (ifindex != d->ifindex) {
                d->ifindex = ifindex;
                changed[n++] = "Index";
        }
        if (strcmp(name, d->name) != 0) {
                snprintf(d->name, sizeof(d->name), "%s", name);
                changed[n++] = "Name";
        }
        if (n > 0)
                device_save_record(d);
        if (mtu != d->mtu) {
                d->mtu = mtu;
                changed[n++] = "MTU";
        }
        if (n > 0)
                device_bus_emit_changed_strv(d, (char **) changed);
}

/* The link as the kernel reports it now, without touching what the device last saw (the
 * link monitor compares with that). Falls back to the last seen values when the device
 * is outside tund's namespace. */
static int device_query_link(Device *d, RtnlLinkInfo *ret) {
        char name[IFNAMSIZ];
        struct nl_sock *sk;
        RtnlLinkInfo info;
        int r;

        r = tun_get_info(d->tun_fd, name, NULL);
        if (r < 0)
                return r;
        sk = device_rtnl(d);
        r = sk ? rtnl_get_link(sk, 0, name, &info) : -EREMOTE;
        if (r < 0) {
                info = (RtnlLinkInfo) { .ifindex = d->ifindex, .mtu = d->mtu };
                strcpy(info.name, name);
        }
        *ret = info;
        return 0;
}

const char *device_current_name(Device *d, char buf[static IFNAMSIZ]) {
        if (tun_get_info(d->tun_fd, buf, NULL) < 0)
                return d->name;
        return buf;
}

uint32_t device_current_mtu(Device *d) {
        RtnlLinkInfo info;

        if (device_query_link(d, &info) < 0)
                return d->mtu;
        return info.mtu;
}

unsigned device_n_clients(Device *d) {
        /* Packet fds come with the data plane. */
        return 0;
}

void device_get_statistics(Device *d, DataplaneStats *ret) {
        /* Until the data plane runs on the device, nothing moved. */
        *ret = (DataplaneStats) {};
}
