/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "log.h"
#include "netns.h"
#include "offload-names.h"
#include "tun.h"

#define device_changed(d, ...) device_changed_strv((d), (char *[]) { __VA_ARGS__ })

static void device_changed_strv(Device *d, char **properties) {
        if (properties[0] && d->ctx->ops->properties_changed)
                d->ctx->ops->properties_changed(d, properties);
}

/* Takes tun_fd over, also on failure. */
static int device_new(const DeviceContext *ctx, int tun_fd, Device **ret) {
        Device *d;

        d = calloc(1, sizeof(*d));
        if (!d) {
                safe_close(tun_fd);
                return -ENOMEM;
        }
        *d = (Device) {
                .ctx = ctx,
                .tun_fd = tun_fd,
        };
        *ret = d;
        return 0;
}

Device *device_free(Device *d) {
        if (!d)
                return NULL;
        link_watch_free(d->link_watch);         /* it borrows the fd */
        d->dataplane = dataplane_free(d->dataplane);    /* its clients read end-of-file */
        if (d->raw)
                device_raw_done(d);
        device_clear_netcfg(d);
        free(d->creator);
        safe_close(d->tun_fd);
        free(d->object_path);
        free(d);
        return NULL;
}

void device_set_name(Device *d, const char *name) {
        snprintf(d->name, sizeof(d->name), "%s", name);
}

/* Reads the link wherever the device is now (netns.h: asked from tund's namespace). */
static int device_read_link(Device *d) {
        LinkState s;
        int r;

        r = tun_get_info(d->tun_fd, d->name, NULL);
        if (r < 0)
                return r;
        r = netns_tun_get_link(d->ctx->rtnl, d->tun_fd, &s);
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
        if (d->ctx->ops->link_gone)
                d->ctx->ops->link_gone(d);
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

        r = link_monitor_watch(d->ctx->link_monitor, d->tun_fd, &device_link_ops, d, &d->link_watch);
        if (r < 0)
                return r;
        s = link_watch_state(d->link_watch);
        d->ifindex = s->ifindex;
        d->mtu = s->mtu;
        d->up = s->up;
        device_set_name(d, s->name);

        /* Addresses and routes the device has already (after a restart), taken silently
         * like the link's state. */
        r = device_reload_netcfg(d, false);
        if (r < 0)
                log_warning_errno(r, "Failed to read the addresses and routes of %s; Addresses and Routes show only later changes: %m", d->name);
        return 0;
}

unsigned device_offloads_possible(const Device *d, unsigned supported) {
        if (!d->raw)
                return supported;
        /* Raw: only the kernel's, and only with a vnet header to carry them. */
        return d->vnet_header ? supported & ~OFFLOADS_TUND : 0;
}

static int device_apply_offloads(Device *d, unsigned offloads) {
        int r;

        r = tun_set_offloads(d->tun_fd, offloads);
        if (r < 0)
                return r;
        d->offloads = offloads;
        if (d->dataplane)
                dataplane_set_offloads(d->dataplane, offloads);
        return 0;
}

static void device_on_clients_changed(Dataplane *dp, unsigned n_clients, void *userdata) {
        device_changed(userdata, "Clients", NULL);
}

static int device_start_dataplane(Device *d) {
        if (d->raw)
                return 0;       /* its clients' queues are the kernel's */
        return dataplane_new(&d->dataplane, d->ctx->event, d->tun_fd,
                             d->mtu > 0 ? d->mtu : DEVICE_MTU_DEFAULT, d->offloads,
                             device_on_clients_changed, d);
}

static int device_write_record(Device *d) {
        DeviceRecord rec = { .owner = d->owner, .offloads = d->offloads, .ifindex = d->ifindex,
                             .raw = d->raw, .vnet_header = d->vnet_header };

        strcpy(rec.id, d->record_id);
        strcpy(rec.name, d->name);
        return record_save(d->ctx->state_dir, &rec);
}

/* Keeps the record of a persistent device up to date with its name and offloads, which a
 * restart without the fd store needs. */
static void device_save_record(Device *d) {
        int r;

        if (!d->persistent)
                return;
        r = device_write_record(d);
        if (r < 0)
                log_warning_errno(r, "Failed to update the record of %s in %s: %m", d->name, d->ctx->state_dir);
}

int device_make_persistent(Device *d) {
        int r;

        r = record_new_id(d->record_id);
        if (r < 0)
                return r;
        r = tun_set_persist(d->tun_fd, true);
        if (r < 0)
                return r;
        r = device_write_record(d);
        if (r < 0) {
                log_error_errno(r, "Failed to save the record of %s in %s: %m", d->name, d->ctx->state_dir);
                (void) tun_set_persist(d->tun_fd, false);
                return r;
        }
        d->persistent = true;

        r = fdstore_push(d->record_id, d->tun_fd);
        if (r < 0)
                log_warning_errno(r, "Failed to hand the fd of %s to the service manager; it survives a restart only in tund's own namespace: %m", d->name);
        return 0;
}

void device_drop_persistence(Device *d) {
        int r;

        if (!d->persistent)
                return;
        r = tun_set_persist(d->tun_fd, false);
        if (r < 0 && r != -EBADFD)      /* EBADFD: the kernel removed it already */
                log_warning_errno(r, "Failed to make %s non-persistent; it may stay behind: %m", d->name);
        r = record_remove(d->ctx->state_dir, d->record_id);
        if (r < 0)
                log_warning_errno(r, "Failed to remove the record of %s: %m", d->name);
        r = fdstore_remove(d->record_id);
        if (r < 0)
                log_warning_errno(r, "Failed to drop the fd of %s from the service manager's store: %m", d->name);
        d->persistent = false;
}

int device_create(const DeviceContext *ctx, const DeviceConfig *config, Device **ret) {
        _cleanup_close_ int fd = -EBADF;
        char name[IFNAMSIZ];
        Device *d;
        int r;

        if (config->raw)
                r = tun_create_raw(config->name, config->vnet_header, &fd, name);
        else
                r = tun_create(config->name, &fd, name);
        if (r < 0)
                return r;
        r = device_new(ctx, TAKE_FD(fd), &d);
        if (r < 0)
                return r;
        d->owner = config->owner;
        d->raw = config->raw;
        d->vnet_header = config->raw && config->vnet_header;

        r = device_read_link(d);
        if (r < 0) {
                log_error_errno(r, "Failed to read the link of new device %s: %m", name);
                goto fail;
        }
        if (d->mtu != config->mtu) {
                r = netns_tun_set_mtu(ctx->rtnl, d->tun_fd, config->mtu);
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
        *ret = d;
        return 0;

fail:
        device_free(d);         /* the kernel removes the non-persistent TUN with its fd */
        return r;
}

int device_adopt(const DeviceContext *ctx, int tun_fd, const DeviceRecord *rec, Device **ret) {
        Device *d;
        int r;

        r = device_new(ctx, tun_fd, &d);
        if (r < 0)
                return r;
        d->owner = rec->owner;
        d->persistent = true;
        d->raw = rec->raw;
        d->vnet_header = rec->raw && rec->vnet_header;
        strcpy(d->record_id, rec->id);

        /* A raw device's fd from the fd store is its detached anchor already. */
        if (d->raw) {
                r = tun_detach_queue(d->tun_fd);
                if (r < 0) {
                        log_error_errno(r, "Failed to detach tund's queue of raw device %s: %m", rec->name);
                        device_free(d);
                        return r;
                }
        }

        /* Wherever the device is now, also in another namespace. */
        r = device_watch_link(d);
        if (r < 0) {
                log_error_errno(r, "Failed to watch the link of %s: %m", rec->name);
                device_free(d);
                return r;
        }
        if (d->ifindex != rec->ifindex)
                device_save_record(d);

        if (d->raw)
                /* It keeps in the kernel what its clients set meanwhile. */
                d->offloads = rec->offloads & device_offloads_possible(d, ctx->supported_offloads);
        else {
                r = device_apply_offloads(d, rec->offloads & ctx->supported_offloads);
                if (r < 0)
                        log_warning_errno(r, "Failed to set offloads of %s again: %m", d->name);
        }

        r = device_start_dataplane(d);
        if (r < 0) {
                log_error_errno(r, "Failed to start the data plane of %s: %m", d->name);
                device_free(d);         /* a persistent TUN stays in the kernel */
                return r;
        }
        *ret = d;
        return 0;
}

int device_set_mtu(Device *d, uint32_t mtu) {
        int r;

        r = netns_tun_set_mtu(d->ctx->rtnl, d->tun_fd, mtu);
        if (r == -EREMOTE)
                r = device_remote_set_mtu(d, mtu);
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
        device_changed(d, "Offloads", NULL);
        return 0;
}

static void device_rename(Device *d, const char *name) {
        if (d->ctx->ops->rename)
                d->ctx->ops->rename(d, name);
        else
                device_set_name(d, name);
}

void device_apply_link_state(Device *d, const LinkState *state) {
        const char *changed[5] = {};
        size_t n = 0;
        bool mtu_changed = false, up_changed = false;
        int old_ifindex = d->ifindex;

        if (state->ifindex != d->ifindex) {
                d->ifindex = state->ifindex;
                changed[n++] = "Index";
        }
        if (strcmp(state->name, d->name) != 0) {
                device_rename(d, state->name);
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
        device_changed_strv(d, (char **) changed);
        if (up_changed || state->ifindex != old_ifindex)
                device_netcfg_link_changed(d);
        if (mtu_changed && d->ctx->ops->mtu_changed)
                d->ctx->ops->mtu_changed(d);
        if (up_changed && d->ctx->ops->up_changed)
                d->ctx->ops->up_changed(d);
}

int device_open_packet_fd(Device *d, const ClientOptions *o, uid_t uid, int *ret_fd) {
        if (d->raw)
                return -EINVAL;         /* device_open_queue() */
        if (!d->dataplane)
                return -ENODEV;
        return dataplane_open_client_with(d->dataplane, o, uid, ret_fd);
}

unsigned device_n_clients(Device *d) {
        if (d->raw)
                return device_raw_n_clients(d);
        return d->dataplane ? dataplane_n_clients(d->dataplane) : 0;
}

unsigned device_n_clients_of(Device *d, uid_t uid) {
        if (d->raw)
                return device_raw_n_clients_of(d, uid);
        return d->dataplane ? dataplane_n_clients_of(d->dataplane, uid) : 0;
}

/* Packets the kernel dropped because the device's queue was full: they waited there while
 * a client's ring was full (tund's reader holds then, see transport-ring.c), and past what
 * the queue holds a client that does not read fast enough loses them as its own. */
static int add_kernel_queue_drops(Device *d, DataplaneStats *s) {
        TunCounters c;
        int r;

        r = netns_tun_get_counters(d->ctx->rtnl, d->tun_fd, &c);
        if (r < 0)
                return r;
        if (c.have_stats)
                s->drops_queue_full += c.stats.tx_dropped;
        return 0;
}

void device_get_statistics(Device *d, DataplaneStats *ret) {
        int r = 0;

        if (d->raw)
                r = device_raw_get_statistics(d, ret);
        else if (d->dataplane) {
                dataplane_get_stats(d->dataplane, ret);
                r = add_kernel_queue_drops(d, ret);
        } else
                *ret = (DataplaneStats) {};
        if (r < 0)
                log_debug_errno(r, "Failed to read the link counters of %s: %m", d->name);
}
