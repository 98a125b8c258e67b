/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The address and route members of org.example.Tun1.Device: a vtable of their own on the
 * device objects, beside device-bus.c's. */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bus-errors.h"
#include "bus-options.h"
#include "bus-util.h"
#include "device-bus.h"
#include "device.h"
#include "inet-text.h"
#include "manager.h"
#include "netns-helper-client.h"
#include "polkit.h"

#define TABLE_MAIN 254u
#define TABLE_LOCAL 255u

static const char *const configure_network_actions[] = { "org.example.tun1.configure-network", NULL };

/* An address or a route decides where other users' traffic goes: everyone but root needs
 * configure-network, the device's owner too. 1: go on; 0: pending; < 0 with error set. */
static int netcfg_verify_caller(Device *d, sd_bus_message *message, sd_bus_error *error) {
        Manager *m = d->ctx->userdata;
        uid_t uid;
        int r;

        r = bus_peers_get_uid(m->peers, message, &uid, error);
        if (r <= 0)
                return r;
        return polkit_verify(m->polkit, message, uid, configure_network_actions, error);
}

/* A unicast address of family (0: either) named by what. */
static int parse_unicast(const char *s, const char *what, int family, InAddr *ret, sd_bus_error *error) {
        const char *reason = NULL;
        int f;

        if (inet_addr_parse(s, &f, ret, &reason) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s '%s' is not an address: %s.", what, s, reason);
        if (family != 0 && f != family)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s %s is %s, but the %s is %s.",
                                         what, s, f == AF_INET ? "IPv4" : "IPv6",
                                         strcmp(what, "Gateway") == 0 ? "destination" : "address",
                                         family == AF_INET ? "IPv4" : "IPv6");
        if (inet_addr_is_unspecified(f, ret))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s %s is the unspecified address; give a unicast address.", what, s);
        if (inet_addr_is_multicast(f, ret))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s %s is a multicast address; give a unicast address.", what, s);
        return 0;
}

static int parse_address(const char *s, const char *peer, NetAddress *ret, sd_bus_error *error) {
        const char *reason = NULL;
        NetAddress a = {};
        int r;

        if (inet_prefix_parse(s, &a.family, &a.local, &a.prefixlen, &reason) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "'%s' is not an address with a prefix length: %s.", s, reason);
        if (a.prefixlen == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The prefix length of %s is out of range: an address's must be 1 to %u.",
                                         s, a.family == AF_INET ? 32 : 128);
        if (inet_addr_is_unspecified(a.family, &a.local) || inet_addr_is_multicast(a.family, &a.local))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "%s is %s address; a device's address must be unicast.", s,
                                         inet_addr_is_multicast(a.family, &a.local) ? "a multicast" : "the unspecified");
        if (peer) {
                r = parse_unicast(peer, "Peer", a.family, &a.peer, error);
                if (r < 0)
                        return r;
                a.has_peer = true;
        }
        *ret = a;
        return 0;
}

/* The kernel has no IPv6 on a link whose MTU is below IPv6's minimum, or where IPv6 is
 * disabled: ENODEV for routes, EINVAL for addresses. */
static int ipv6_off_error(Device *d, sd_bus_error *error) {
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                 "IPv6 is off on %s: its MTU %" PRIu32 " is below IPv6's minimum of 1280, or net.ipv6.conf.%s.disable_ipv6 is set.",
                                 d->name, d->mtu, d->name);
}

static int address_error(Device *d, const char *address, int family, int r, sd_bus_error *error) {
        if (family == AF_INET6 && (r == -ENODEV || r == -EINVAL || r == -EACCES))
                return ipv6_off_error(d, error);
        if (netns_helper_error_is_transport(r))
                return device_bus_helper_error(d, r, "change its addresses", error);
        if (r == -EEXIST)
                return sd_bus_error_setf(error, BUS_ERROR_EXISTS, "Device %s has the address %s already.", d->name, address);
        if (r == -EADDRNOTAVAIL)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_ADDRESS, "Device %s has no address %s.", d->name, address);
        if (device_gone_errno(r))
                return device_bus_gone_error(d, error);
        return sd_bus_error_set_errnof(error, r, "Failed to change the address %s of %s: %m", address, d->name);
}

typedef struct AddressOptions {
        const char *peer;
} AddressOptions;

static const BusOption address_options[] = {
        { "Peer", "s", offsetof(AddressOptions, peer), NULL },
};

/* AddAddress and RemoveAddress share their checks and errors; RemoveAddress has no
 * options. */
static int address_method(sd_bus_message *message, Device *d, bool with_options, sd_bus_error *error,
                          int (*change)(Device *d, const NetAddress *a)) {
        AddressOptions o = {};
        const char *address;
        NetAddress a;
        int r;

        r = sd_bus_message_read(message, "s", &address);
        if (r >= 0 && with_options)
                r = bus_read_options(message, address_options, ELEMENTSOF(address_options),
                                     "the known options are Peer (s)", &o, NULL, NULL, error);
        if (r < 0)
                return bus_read_failed(r, error);
        r = parse_address(address, o.peer, &a, error);
        if (r < 0)
                return r;

        r = netcfg_verify_caller(d, message, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = change(d, &a);
        if (r < 0)
                return address_error(d, address, a.family, r, error);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_add_address(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return address_method(message, userdata, true, error, device_add_address);
}

static int method_remove_address(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return address_method(message, userdata, false, error, device_remove_address);
}

static int check_destination(const char *s, const NetRoute *r, sd_bus_error *error) {
        char buf[INET_PREFIX_STRLEN];
        InAddr masked = {};

        if (!inet_addr_has_host_bits(r->family, &r->dst, r->dst_len))
                return 0;
        for (unsigned bit = 0; bit < r->dst_len; bit++)
                masked.bytes[bit / 8] |= r->dst.bytes[bit / 8] & (0x80 >> (bit % 8));
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                 "Destination %s has bits set past its prefix length; did you mean %s?",
                                 s, inet_prefix_format(r->family, &masked, r->dst_len, buf));
}

static int check_table_metric(const NetRoute *r, sd_bus_error *error) {
        if (r->table == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Table 0 is out of range: a routing table is 1 to 4294967295 (main is 254), except 255.");
        if (r->table == TABLE_LOCAL)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Table 255 is the kernel's local table, which holds the routes of addresses; use another table (main is 254).");
        if (r->family == AF_INET6 && r->metric == 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Metric 0 is out of range for IPv6 (the kernel would make it 1024): use 1 to 4294967295.");
        return 0;
}

typedef struct RouteOptions {
        const char *gateway;
        uint32_t metric;
        uint32_t table;
} RouteOptions;

enum { ROUTE_OPTION_GATEWAY, ROUTE_OPTION_METRIC, ROUTE_OPTION_TABLE };

static const BusOption route_options[] = {
        [ROUTE_OPTION_GATEWAY] = { "Gateway", "s", offsetof(RouteOptions, gateway), NULL },
        [ROUTE_OPTION_METRIC]  = { "Metric",  "u", offsetof(RouteOptions, metric),  NULL },
        [ROUTE_OPTION_TABLE]   = { "Table",   "u", offsetof(RouteOptions, table),   NULL },
};

/* The destination and the options Gateway, Metric and Table. */
static int read_route(sd_bus_message *message, const char **ret_dst, NetRoute *ret, sd_bus_error *error) {
        RouteOptions o = { .table = TABLE_MAIN };
        const char *dst, *gateway, *reason = NULL;
        NetRoute r = {};
        uint32_t seen = 0;
        int k;

        k = sd_bus_message_read(message, "s", &dst);
        if (k >= 0)
                k = bus_read_options(message, route_options, ELEMENTSOF(route_options),
                                     "the known options are Gateway (s), Metric (u) and Table (u)",
                                     &o, NULL, &seen, error);
        if (k < 0)
                return bus_read_failed(k, error);
        if (inet_prefix_parse(dst, &r.family, &r.dst, &r.dst_len, &reason) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Destination '%s' is not a prefix: %s.", dst, reason);
        r.metric = BUS_OPTION_SEEN(seen, ROUTE_OPTION_METRIC) ? o.metric : NET_ROUTE_METRIC_DEFAULT(r.family);
        r.table = o.table;
        gateway = o.gateway;
        k = check_destination(dst, &r, error);
        if (k >= 0)
                k = check_table_metric(&r, error);
        if (k >= 0 && gateway) {
                k = parse_unicast(gateway, "Gateway", r.family, &r.gateway, error);
                r.has_gateway = true;
        }
        if (k < 0)
                return k;
        *ret_dst = dst;
        *ret = r;
        return 0;
}

static int route_error(Device *d, const char *dst, const NetRoute *route, int r, sd_bus_error *error) {
        char gw[INET6_ADDRSTRLEN];

        if (route->family == AF_INET6 && r == -ENODEV)
                return ipv6_off_error(d, error);
        if (netns_helper_error_is_transport(r))
                return device_bus_helper_error(d, r, "change its routes", error);
        if (r == -EEXIST)
                return sd_bus_error_setf(error, BUS_ERROR_EXISTS,
                                         "A route to %s with metric %" PRIu32 " in table %" PRIu32 " exists already.",
                                         dst, route->metric, route->table);
        if (r == -ESRCH)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_ROUTE,
                                         "Device %s has no route to %s with metric %" PRIu32 " in table %" PRIu32 "%s%s.",
                                         d->name, dst, route->metric, route->table,
                                         route->has_gateway ? " through " : "",
                                         route->has_gateway ? inet_addr_format(route->family, &route->gateway, gw) : "");
        if (r == -ENETUNREACH || r == -EHOSTUNREACH)    /* IPv4 says the one, IPv6 the other */
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Gateway %s is not reachable through %s: add an address whose prefix covers it first.",
                                         inet_addr_format(route->family, &route->gateway, gw), d->name);
        if (r == -ENETDOWN)     /* a precondition the caller can meet: the contract's InvalidArgs */
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Device %s is down, and the kernel routes only through a link that is up: bring it up first (ip link set %s up).",
                                         d->name, d->name);
        if (device_gone_errno(r))
                return device_bus_gone_error(d, error);
        return sd_bus_error_set_errnof(error, r, "Failed to change the route to %s through %s: %m", dst, d->name);
}

/* AddRoute and RemoveRoute take the same arguments and give the same errors. */
static int route_method(sd_bus_message *message, Device *d, sd_bus_error *error,
                        int (*change)(Device *d, const NetRoute *route)) {
        const char *dst = NULL;
        NetRoute route;
        int r;

        r = read_route(message, &dst, &route, error);
        if (r < 0)
                return r;
        r = netcfg_verify_caller(d, message, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = change(d, &route);
        if (r < 0)
                return route_error(d, dst, &route, r, error);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_add_route(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return route_method(message, userdata, error, device_add_route);
}

static int method_remove_route(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return route_method(message, userdata, error, device_remove_route);
}

typedef struct Append {
        sd_bus_message *reply;
        int error;
} Append;

/* An (sa{sv}) of Addresses or Routes: entry_open() appends the prefix, opens the dict and
 * puts KEY there when EXTRA (the peer, the gateway) is given; the caller may add more
 * options, entry_close() closes both. */
static int entry_open(sd_bus_message *m, int family, const InAddr *prefix, uint8_t prefixlen,
                      const char *key, const InAddr *extra) {
        char buf[INET_PREFIX_STRLEN], text[INET6_ADDRSTRLEN];
        int r;

        r = sd_bus_message_open_container(m, 'r', "sa{sv}");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", inet_prefix_format(family, prefix, prefixlen, buf));
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && extra)
                r = sd_bus_message_append(m, "{sv}", key, "s", inet_addr_format(family, extra, text));
        return r;
}

static int entry_close(sd_bus_message *m) {
        int r;

        r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* device_foreach_address's callback: one entry of Addresses; the first error stays. */
static void append_address(const NetAddress *a, void *userdata) {
        Append *ap = userdata;
        int r;

        if (ap->error < 0)
                return;
        r = entry_open(ap->reply, a->family, &a->local, a->prefixlen, "Peer", a->has_peer ? &a->peer : NULL);
        if (r >= 0)
                r = entry_close(ap->reply);
        ap->error = r;
}

/* The same for Routes. */
static void append_route(const NetRoute *route, void *userdata) {
        Append *ap = userdata;
        int r;

        if (ap->error < 0)
                return;
        r = entry_open(ap->reply, route->family, &route->dst, route->dst_len, "Gateway",
                       route->has_gateway ? &route->gateway : NULL);
        if (r >= 0)
                r = sd_bus_message_append(ap->reply, "{sv}{sv}", "Metric", "u", route->metric, "Table", "u", route->table);
        if (r >= 0)
                r = entry_close(ap->reply);
        ap->error = r;
}

/* Addresses and Routes alike. Where the namespace helper cannot be reached, none shown
 * (its failure is logged): a property that fails fails GetAll and GetManagedObjects. */
static int property_get_netcfg(sd_bus *bus, const char *path, const char *interface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *error) {
        Append ap = { .reply = reply };
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(sa{sv})");
        if (r < 0)
                return r;
        r = strcmp(property, "Routes") == 0 ? device_foreach_route(userdata, append_route, &ap) :
                                              device_foreach_address(userdata, append_address, &ap);
        /* A device whose link vanished before tund heard of it shows none. */
        if (r < 0 && !netns_helper_error_is_transport(r) && !device_gone_errno(r))
                return r;
        if (ap.error < 0)
                return ap.error;
        return sd_bus_message_close_container(reply);
}

const sd_bus_vtable device_netcfg_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Addresses", "a(sa{sv})", property_get_netcfg, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Routes", "a(sa{sv})", property_get_netcfg, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("AddAddress",
                                SD_BUS_ARGS("s", address, "a{sv}", options),
                                SD_BUS_NO_RESULT,
                                method_add_address,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveAddress",
                                SD_BUS_ARGS("s", address),
                                SD_BUS_NO_RESULT,
                                method_remove_address,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddRoute",
                                SD_BUS_ARGS("s", destination, "a{sv}", options),
                                SD_BUS_NO_RESULT,
                                method_add_route,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveRoute",
                                SD_BUS_ARGS("s", destination, "a{sv}", options),
                                SD_BUS_NO_RESULT,
                                method_remove_route,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
