/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The manager's devices: its list and tables, their creation and removal, and what the
 * devices tell, passed on to the bus face. */

#include <inttypes.h>
#include <stdlib.h>

#include "list.h"
#include "log.h"
#include "manager.h"
#include "tun.h"

/* Lookups by name: a device renamed behind tund's back to the name of another managed
 * device (in another namespace) is found by its path only, until one of them is renamed. */
static void manager_index_name(Manager *m, Device *d) {
        int r = hashmap_put(m->devices_by_name, d->name, d);

        if (r < 0)
                log_warning_errno(r, "Device %s cannot be found by its name: %m", d->name);
}

static void manager_unindex_name(Manager *m, Device *d) {
        if (hashmap_get(m->devices_by_name, d->name) == d)
                (void) hashmap_remove(m->devices_by_name, d->name);
}

/* Gives the device its id and object path, and appends it, so that ListDevices lists
 * devices in the order they came. */
int manager_add_device(Manager *m, Device *d) {
        int r;

        d->id = m->next_device_id++;
        r = m->ops->device_path(d->id, &d->object_path);
        if (r < 0)
                return r;
        r = hashmap_put(m->devices_by_id, &d->id, d);
        if (r < 0)
                return r;
        LIST_APPEND(m->devices, d);
        manager_index_name(m, d);
        return 0;
}

void manager_remove_device(Manager *m, Device *d) {
        if (hashmap_get(m->devices_by_id, &d->id) != d)
                return;
        (void) hashmap_remove(m->devices_by_id, &d->id);
        manager_unindex_name(m, d);
        LIST_REMOVE(m->devices, d);
}

int manager_create_device(Manager *m, const DeviceConfig *config, Device **ret) {
        Device *d;
        int r;

        r = device_create(&m->device_ctx, config, &d);
        if (r < 0)
                return r;
        /* The kernel completes a pattern with a name free here, which a managed device in
         * another namespace may have. */
        if (manager_find_device_by_name(m, d->name)) {
                device_free(d);
                return -EEXIST;
        }
        r = manager_add_device(m, d);
        /* Last: nothing after it may fail, as it leaves a record and a persistent TUN. */
        if (r >= 0 && config->persistent)
                r = device_make_persistent(d);
        if (r < 0) {
                manager_remove_device(m, d);
                device_free(d);         /* the kernel removes the non-persistent TUN with its fd */
                return r;
        }
        log_info("Created device %s (%s%s, owner %" PRIu32 ").", d->name, d->object_path,
                 d->persistent ? ", persistent" : "", (uint32_t) d->owner);
        *ret = d;
        return 0;
}

void manager_delete_device(Manager *m, Device *d) {
        _cleanup_free_ char *path = TAKE_PTR(d->object_path);

        device_drop_persistence(d);
        log_info("Removed device %s (%s).", d->name, path);
        manager_remove_device(m, d);
        device_free(d);
        m->ops->device_removed(m, path);
}

/* What devices tell: kept in the manager's tables, and passed on to the bus face. */
static void manager_on_device_changed(Device *d, char **properties) {
        Manager *m = d->ctx->userdata;

        m->ops->device_changed(d, properties);
}

static void manager_on_device_mtu_changed(Device *d) {
        Manager *m = d->ctx->userdata;

        m->ops->device_mtu_changed(d);
}

static void manager_on_device_up_changed(Device *d) {
        Manager *m = d->ctx->userdata;

        m->ops->device_up_changed(d);
}

static void manager_on_device_rename(Device *d, const char *name) {
        Manager *m = d->ctx->userdata;

        manager_unindex_name(m, d);
        device_set_name(d, name);
        manager_index_name(m, d);
}

static void manager_on_device_gone(Device *d) {
        manager_delete_device(d->ctx->userdata, d);
}

const DeviceOps manager_device_ops = {
        .properties_changed = manager_on_device_changed,
        .mtu_changed = manager_on_device_mtu_changed,
        .up_changed = manager_on_device_up_changed,
        .rename = manager_on_device_rename,
        .link_gone = manager_on_device_gone,
};

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

/* The device a notification of tund's namespace is about. One that moved away with this
 * ifindex hears the kernel take its addresses and routes here: it forgets them (what it
 * shows now is the other namespace's). */
static Device *manager_netcfg_device(Manager *m, int ifindex) {
        for (Device *d = m->devices; d; d = d->next) {
                if (d->ifindex != ifindex)
                        continue;
                if (tun_in_own_netns(d->tun_fd) > 0)
                        return d;
                if (d->netcfg.n_addresses > 0 || d->netcfg.n_routes > 0)
                        device_netcfg_link_changed(d);
        }
        return NULL;
}

static void manager_on_address(int ifindex, const NetAddress *a, bool present, void *userdata) {
        Device *d = manager_netcfg_device(userdata, ifindex);

        if (d)
                device_apply_address(d, a, present);
}

static void manager_on_route(int ifindex, const NetRoute *r, bool present, bool replace, void *userdata) {
        Device *d = manager_netcfg_device(userdata, ifindex);

        if (d)
                device_apply_route(d, r, present, replace);
}

static void manager_on_netcfg_overrun(void *userdata) {
        Manager *m = userdata;
        int r;

        for (Device *d = m->devices; d; d = d->next) {
                r = device_reload_netcfg(d, true);
                if (r < 0)
                        log_warning_errno(r, "Failed to read the addresses and routes of %s again: %m", d->name);
        }
}

const NetcfgMonitorOps manager_netcfg_ops = {
        .address = manager_on_address,
        .route = manager_on_route,
        .overrun = manager_on_netcfg_overrun,
};
