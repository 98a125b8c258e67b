/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A device's addresses and routes: changed over rtnetlink, kept as the kernel tells them
 * (whoever changed them), reported as the properties Addresses and Routes. */

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "device.h"
#include "log.h"
#include "netcfg-monitor.h"
#include "netns.h"
#include "tun.h"

static void device_netcfg_changed(Device *d, const char *property) {
        char *properties[] = { (char *) property, NULL };

        if (d->ctx->ops->properties_changed)
                d->ctx->ops->properties_changed(d, properties);
}

/* 0 in tund's own namespace, -EREMOTE in another, or -errno. */
static int device_check_here(Device *d) {
        int r = tun_in_own_netns(d->tun_fd);

        if (r < 0)
                return r;
        return r ? 0 : -EREMOTE;
}

static ssize_t address_index(const NetAddress *l, size_t n, const NetAddress *a) {
        for (size_t i = 0; i < n; i++)
                if (net_address_equal(&l[i], a))
                        return (ssize_t) i;
        return -1;
}

static ssize_t route_index(const NetRoute *l, size_t n, const NetRoute *r) {
        for (size_t i = 0; i < n; i++)
                if (net_route_equal(&l[i], r))
                        return (ssize_t) i;
        return -1;
}

/* Appends elem of size to the array *l of *n; -ENOMEM. */
static int array_append(void **l, size_t *n, const void *elem, size_t size) {
        void *p = reallocarray(*l, *n + 1, size);

        if (!p)
                return -ENOMEM;
        memcpy((uint8_t *) p + *n * size, elem, size);
        *l = p;
        (*n)++;
        return 0;
}

static void array_remove(void *l, size_t *n, size_t i, size_t size) {
        memmove((uint8_t *) l + i * size, (uint8_t *) l + (i + 1) * size, (*n - i - 1) * size);
        (*n)--;
}

/* Whether the list changed. */
static bool addresses_update(Device *d, const NetAddress *a, bool present) {
        ssize_t i = address_index(d->netcfg.addresses, d->netcfg.n_addresses, a);
        int r;

        if (present == (i >= 0))
                return false;
        if (!present) {
                array_remove(d->netcfg.addresses, &d->netcfg.n_addresses, (size_t) i, sizeof(*a));
                return true;
        }
        r = array_append((void **) &d->netcfg.addresses, &d->netcfg.n_addresses, a, sizeof(*a));
        if (r < 0) {
                log_warning_errno(r, "Failed to keep an address of %s; Addresses misses it: %m", d->name);
                return false;
        }
        return true;
}

static bool routes_drop_slot(Device *d, const NetRoute *r) {
        bool changed = false;

        for (size_t i = d->netcfg.n_routes; i > 0; i--)
                if (net_route_same_slot(&d->netcfg.routes[i - 1], r) && !net_route_equal(&d->netcfg.routes[i - 1], r)) {
                        array_remove(d->netcfg.routes, &d->netcfg.n_routes, i - 1, sizeof(*r));
                        changed = true;
                }
        return changed;
}

static bool routes_update(Device *d, const NetRoute *r, bool present, bool replace) {
        bool changed = present && replace && routes_drop_slot(d, r);
        ssize_t i = route_index(d->netcfg.routes, d->netcfg.n_routes, r);
        int k;

        if (present == (i >= 0))
                return changed;
        if (!present) {
                array_remove(d->netcfg.routes, &d->netcfg.n_routes, (size_t) i, sizeof(*r));
                return true;
        }
        k = array_append((void **) &d->netcfg.routes, &d->netcfg.n_routes, r, sizeof(*r));
        if (k < 0) {
                log_warning_errno(k, "Failed to keep a route of %s; Routes misses it: %m", d->name);
                return changed;
        }
        return true;
}

void device_apply_address(Device *d, const NetAddress *a, bool present) {
        int r;

        if (addresses_update(d, a, present))
                device_netcfg_changed(d, "Addresses");
        if (present || a->family != AF_INET)
                return;
        /* With an IPv4 address the kernel drops the routes whose gateway or source it
         * made reachable, and tells nobody. */
        r = device_reload_netcfg(d, true);
        if (r < 0)
                log_warning_errno(r, "Failed to read the routes of %s again: %m", d->name);
}

void device_apply_route(Device *d, const NetRoute *r, bool present, bool replace) {
        if (routes_update(d, r, present, replace))
                device_netcfg_changed(d, "Routes");
}

static void netcfg_lists_clear(NetcfgLists *l) {
        free(l->addresses);
        free(l->routes);
        *l = (NetcfgLists) {};
}

void device_clear_netcfg(Device *d) {
        netcfg_lists_clear(&d->netcfg);
        device_remote_forget(d);
}

/* The kernel's answer arrives after its notification: told before the caller replies. */
static int device_changed_here(Device *d, int r) {
        if (r >= 0)
                netcfg_monitor_flush(d->ctx->netcfg_monitor);
        return r;
}

/* In another namespace tund hears nothing of the kernel there: after a change of its own
 * it says the property changed, and Routes too after an address (its prefix route). */
static int device_changed_remote(Device *d, const char *property, int r) {
        char *properties[] = { (char *) property, (char *) "Routes", NULL };

        if (r < 0)
                return r;
        if (strcmp(property, "Routes") == 0)
                properties[1] = NULL;
        if (d->ctx->ops->properties_changed)
                d->ctx->ops->properties_changed(d, properties);
        return 0;
}

int device_add_address(Device *d, const NetAddress *a) {
        int r = device_check_here(d);

        if (r == -EREMOTE)
                return device_changed_remote(d, "Addresses", device_remote_change_address(d, true, a));
        if (r < 0)
                return r;
        return device_changed_here(d, rtnl_address_add(d->ctx->rtnl, d->ifindex, a));
}

static bool address_matches(const NetAddress *have, const NetAddress *a) {
        return have->family == a->family && have->prefixlen == a->prefixlen &&
                memcmp(&have->local, &a->local, sizeof(a->local)) == 0;
}

typedef struct AddressFind {
        const NetAddress *wanted;
        NetAddress found;
        bool have;
} AddressFind;

static void address_find_one(const NetAddress *a, void *userdata) {
        AddressFind *f = userdata;

        if (!f->have && address_matches(a, f->wanted)) {
                f->found = *a;
                f->have = true;
        }
}

int device_remove_address(Device *d, const NetAddress *a) {
        AddressFind f = { .wanted = a };
        int here = device_check_here(d), r;

        if (here < 0 && here != -EREMOTE)
                return here;
        /* The address as it is, peer included: the kernel matches on all of it. */
        r = device_foreach_address(d, address_find_one, &f);
        if (r < 0)
                return r;
        if (!f.have)
                return -EADDRNOTAVAIL;
        if (here == -EREMOTE)
                return device_changed_remote(d, "Addresses", device_remote_change_address(d, false, &f.found));
        return device_changed_here(d, rtnl_address_remove(d->ctx->rtnl, d->ifindex, &f.found));
}

int device_add_route(Device *d, const NetRoute *r) {
        int k = device_check_here(d);

        if (k == -EREMOTE)
                return device_changed_remote(d, "Routes", device_remote_change_route(d, true, r));
        if (k < 0)
                return k;
        return device_changed_here(d, rtnl_route_add(d->ctx->rtnl, d->ifindex, r));
}

typedef struct RouteFind {
        const NetRoute *wanted;
        NetRoute found;
        bool have;
} RouteFind;

static void route_find_one(const NetRoute *r, void *userdata) {
        RouteFind *f = userdata;
        const NetRoute *w = f->wanted;

        if (!f->have && (w->has_gateway ? net_route_equal(r, w) : net_route_same_slot(r, w))) {
                f->found = *r;
                f->have = true;
        }
}

int device_remove_route(Device *d, const NetRoute *r) {
        RouteFind f = { .wanted = r };
        int here = device_check_here(d), k;

        if (here < 0 && here != -EREMOTE)
                return here;
        k = device_foreach_route(d, route_find_one, &f);
        if (k < 0)
                return k;
        if (!f.have)
                return -ESRCH;
        if (here == -EREMOTE)
                return device_changed_remote(d, "Routes", device_remote_change_route(d, false, &f.found));
        return device_changed_here(d, rtnl_route_remove(d->ctx->rtnl, d->ifindex, &f.found));
}

typedef struct Reload {
        NetcfgLists fresh;
        int error;
} Reload;

static void reload_address(const NetAddress *a, void *userdata) {
        Reload *rl = userdata;

        if (address_index(rl->fresh.addresses, rl->fresh.n_addresses, a) < 0 && rl->error >= 0)
                rl->error = array_append((void **) &rl->fresh.addresses, &rl->fresh.n_addresses, a, sizeof(*a));
}

static void reload_route(const NetRoute *r, void *userdata) {
        Reload *rl = userdata;

        if (route_index(rl->fresh.routes, rl->fresh.n_routes, r) < 0 && rl->error >= 0)
                rl->error = array_append((void **) &rl->fresh.routes, &rl->fresh.n_routes, r, sizeof(*r));
}

static bool addresses_same(const NetcfgLists *a, const NetcfgLists *b) {
        if (a->n_addresses != b->n_addresses)
                return false;
        for (size_t i = 0; i < a->n_addresses; i++)
                if (address_index(b->addresses, b->n_addresses, &a->addresses[i]) < 0)
                        return false;
        return true;
}

static bool routes_same(const NetcfgLists *a, const NetcfgLists *b) {
        if (a->n_routes != b->n_routes)
                return false;
        for (size_t i = 0; i < a->n_routes; i++)
                if (route_index(b->routes, b->n_routes, &a->routes[i]) < 0)
                        return false;
        return true;
}

static int reload_read(Device *d, Reload *rl) {
        int r = device_check_here(d);

        if (r == -EREMOTE)
                return 0;       /* what tund keeps is for its own namespace only */
        if (r >= 0)
                r = rtnl_address_dump(NETNS_NSID_SELF, d->ifindex, reload_address, rl);
        if (r >= 0)
                r = rtnl_route_dump(d->ifindex, reload_route, rl);
        return r < 0 ? r : rl->error;
}

int device_reload_netcfg(Device *d, bool announce) {
        Reload rl = {};
        bool addresses_changed, routes_changed;
        int r;

        if (!d->ctx->rtnl)
                return 0;       /* a device without the kernel (unit tests) */
        r = reload_read(d, &rl);
        if (r < 0) {
                netcfg_lists_clear(&rl.fresh);
                return r;
        }
        addresses_changed = !addresses_same(&d->netcfg, &rl.fresh);
        routes_changed = !routes_same(&d->netcfg, &rl.fresh);
        netcfg_lists_clear(&d->netcfg);
        d->netcfg = rl.fresh;
        if (announce && addresses_changed)
                device_netcfg_changed(d, "Addresses");
        if (announce && routes_changed)
                device_netcfg_changed(d, "Routes");
        return 0;
}

void device_netcfg_link_changed(Device *d) {
        int r;

        /* A link going down loses its IPv4 routes without a word from the kernel; a link
         * moved away takes everything with it. */
        device_remote_forget(d);
        r = device_reload_netcfg(d, true);
        if (r < 0)
                log_warning_errno(r, "Failed to read the addresses and routes of %s again: %m", d->name);
}

int device_foreach_address(Device *d, void (*func)(const NetAddress *a, void *userdata), void *userdata) {
        int nsid, r = device_check_here(d);

        if (r == -EREMOTE) {
                r = netns_nsid_of_tun(d->ctx->rtnl, d->tun_fd, &nsid);
                if (r < 0)
                        return r;
                return rtnl_address_dump(nsid, d->ifindex, func, userdata);
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < d->netcfg.n_addresses; i++)
                func(&d->netcfg.addresses[i], userdata);
        return 0;
}

int device_foreach_route(Device *d, void (*func)(const NetRoute *r, void *userdata), void *userdata) {
        int r = device_check_here(d);

        if (r == -EREMOTE)
                return device_remote_foreach_route(d, func, userdata);
        if (r < 0)
                return r;
        for (size_t i = 0; i < d->netcfg.n_routes; i++)
                func(&d->netcfg.routes[i], userdata);
        return 0;
}
