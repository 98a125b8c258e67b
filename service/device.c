/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device-bus.h"
#include "device.h"
#include "ifname.h"
#include "link/netns.h"
#include "hashmap.h"
#include "list.h"
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

/* Lookups by name: a device renamed behind tund's back to the name of another managed
 * device (in another namespace) is found by its path only, until one of them is renamed. */
static void device_index_name(Device *d) {
        int r = hashmap_put(d->manager->devices_by_name, d->name, d);

        if (r < 0)
                log_warning_errno(r, "Device %s cannot be found by its name: %m", d->name);
}

static void device_unindex_name(Device *d) {
        if (hashmap_get(d->manager->devices_by_name, d->name) == d)
                (void) hashmap_remove(d->manager->devices_by_name, d->name);
}

/* Appends, so that ListDevices lists devices in the order they came. */
static int device_link(Device *d) {
        int r;

        r = hashmap_put(d->manager->devices_by_id, &d->id, d);
        if (r < 0)
                return r;
        LIST_APPEND(d->manager->devices, d);
        device_index_name(d);
        return 0;
}

static void device_unlink(Device *d) {
        Manager *m = d->manager;

        if (hashmap_get(m->devices_by_id, &d->id) != d)
                return;
        (void) hashmap_remove(m->devices_by_id, &d->id);
        device_unindex_name(d);
        LIST_REMOVE(m->devices, d);
}

Device *device_free(Device *d) {
        if (!d)
                return NULL;
        device_unlink(d);
        link_watch_free(d->link_watch);         /* it borrows the fd */
        d->dataplane = dataplane_free(d->dataplane);    /* its clients read end-of-file */
        free(d->creator);
        safe_close(d->tun_fd);
        free(d->object_path);
        free(d);
        return NULL;
}

/* Reads the link wherever the device is now (netns.h: asked from tund's namespace). */
static int device_read_link(Device *d) {
        LinkState s;
        int r;

        r = tun_get_info(d->tun_fd, d->name, NULL);
        if (r < 0)
                return r;
        r = netns_tun_get_link(d->manager->rtnl, d->tun_fd, &s);
        if (r < 0)
                return r;
        d->ifindex = s.ifindex;
        d->mtu = s.mtu;
        d->up = s.up;
        return 0;
}

static void device_on_link_changed(LinkWatch *w, const LinkState *state, void *userdata) {
        device_apply_link_state(userdata, state);
}

static void device_on_link_gone(LinkWatch *w, void *userdata) {
        Device *d = userdata;

        log_info("Device %s was deleted (or its network namespace was).", d->name);
        device_delete(d);
}

static const LinkWatchOps device_link_ops = {
        .changed = device_on_link_changed,
        .gone = device_on_link_gone,
};

/* From now on the monitor reports changes; the state it starts from is taken silently,
 * so that a restarted tund announces nothing stale. */
static int device_watch_link(Device *d) {
        const LinkState *s;
        int r;

        r = link_monitor_watch(d->manager->link_monitor, d->tun_fd, &device_link_ops, d, &d->link_watch);
        if (r < 0)
                return r;
        s = link_watch_state(d->link_watch);
        d->ifindex = s->ifindex;
        d->mtu = s->mtu;
        d->up = s->up;
        snprintf(d->name, sizeof(d->name), "%s", s->name);
        return 0;
}

static int device_apply_offloads(Device *d, unsigned offloads) {
        int r;

        r = tun_set_offload(d->tun_fd, offloads_to_tun_flags(offloads));
        if (r < 0)
                return r;
        d->offloads = offloads;
        if (d->dataplane)
                dataplane_set_offloads(d->dataplane, offloads);
        return 0;
}

static void device_on_clients_changed(Dataplane *dp, unsigned n_clients, void *userdata) {
        Device *d = userdata;

        device_bus_emit_changed(d, "Clients", NULL);
}

static int device_start_dataplane(Device *d) {
        return dataplane_new(&d->dataplane, d->manager->event, d->tun_fd,
                             d->mtu > 0 ? d->mtu : DEVICE_MTU_DEFAULT, d->offloads,
                             device_on_clients_changed, d);
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
        r = device_start_dataplane(d);
        if (r < 0) {
                log_error_errno(r, "Failed to start the data plane of %s: %m", d->name);
                goto fail;
        }
        r = device_watch_link(d);
        if (r < 0) {
                log_error_errno(r, "Failed to watch the link of %s: %m", d->name);
                goto fail;
        }
        r = device_link(d);
        if (r < 0)
                goto fail;
        /* Last: nothing after it may fail, as it leaves a record and a persistent TUN. */
        if (config->persistent) {
                r = device_make_persistent(d);
                if (r < 0)
                        goto fail;
        }

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

        /* Wherever the device is now, also in another namespace. */
        r = device_watch_link(d);
        if (r < 0) {
                log_error_errno(r, "Failed to watch the link of %s: %m", rec->name);
                device_free(d);
                return r;
        }
        if (d->ifindex != rec->ifindex)
                device_save_record(d);

        r = device_apply_offloads(d, rec->offloads & m->supported_offloads);
        if (r < 0)
                log_warning_errno(r, "Failed to set offloads of %s again: %m", d->name);

        r = device_start_dataplane(d);
        if (r < 0) {
                log_error_errno(r, "Failed to start the data plane of %s: %m", d->name);
                device_free(d);         /* a persistent TUN stays in the kernel */
                return r;
        }

        r = device_link(d);
        if (r < 0) {
                device_free(d);
                return r;
        }
        log_info("Managing persistent device %s again (%s).", d->name, d->object_path);
        *ret = d;
        return 0;
}

void device_delete(Device *d) {
        int r;

        device_bus_emit_removed(d);

        if (d->persistent) {
                r = tun_set_persist(d->tun_fd, false);
                if (r < 0 && r != -EBADFD)      /* EBADFD: the kernel removed it already */
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
        const char *sender = sd_bus_message_get_sender(m);

        if (!sender)
                return -ENXIO;
        /* Its departure is still to come: the bus tells of a peer leaving after every call
         * the peer made, and bus-peers.c refuses the calls of a departed one. */
        d->creator = strdup(sender);
        return d->creator ? 0 : -ENOMEM;
}

int device_set_mtu(Device *d, uint32_t mtu) {
        int r;

        r = netns_tun_set_mtu(d->manager->rtnl, d->tun_fd, mtu);
        if (r == -EPERM && tun_in_own_netns(d->tun_fd) == 0)
                return -EREMOTE;        /* tund may not enter the device's namespace */
        if (r < 0)
                return r;
        /* MTUChanged before the reply, after any older change still queued. d may be gone
         * after this. */
        link_watch_refresh(d->link_watch);
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

void device_apply_link_state(Device *d, const LinkState *state) {
        const char *changed[5] = {};
        size_t n = 0;
        bool mtu_changed = false, up_changed = false;

        if (state->ifindex != d->ifindex) {
                d->ifindex = state->ifindex;
                changed[n++] = "Index";
        }
        if (strcmp(state->name, d->name) != 0) {
                device_unindex_name(d);
                snprintf(d->name, sizeof(d->name), "%s", state->name);
                device_index_name(d);
                changed[n++] = "Name";
        }
        if (n > 0)
                device_save_record(d);
        if (state->mtu != d->mtu) {
                d->mtu = state->mtu;
                changed[n++] = "MTU";
                mtu_changed = true;
                if (d->dataplane)
                        dataplane_set_mtu(d->dataplane, state->mtu);
        }
        if (state->up != d->up) {
                d->up = state->up;
                changed[n++] = "Up";
                up_changed = true;
        }
        if (n > 0)
                device_bus_emit_changed_strv(d, (char **) changed);
        if (mtu_changed)
                device_bus_emit_mtu_changed(d);
        if (up_changed)
                device_bus_emit_link_up_down(d);
}

int device_open_packet_fd(Device *d, ClientMode mode, uid_t uid, int *ret_fd) {
        if (!d->dataplane)
                return -ENODEV;
        return dataplane_open_client_of(d->dataplane, mode, uid, ret_fd);
}

unsigned device_n_clients(Device *d) {
        return d->dataplane ? dataplane_n_clients(d->dataplane) : 0;
}

unsigned device_n_clients_of(Device *d, uid_t uid) {
        return d->dataplane ? dataplane_n_clients_of(d->dataplane, uid) : 0;
}

void device_get_statistics(Device *d, DataplaneStats *ret) {
        if (d->dataplane)
                dataplane_get_stats(d->dataplane, ret);
        else
                *ret = (DataplaneStats) {};
}
