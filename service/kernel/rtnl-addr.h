/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Addresses and routes of a link over rtnetlink: requests, dumps, and the parsing of the
 * kernel's messages about them (replies and notifications alike). Pure adapters: no state,
 * no loop. Requests take the NETLINK_ROUTE socket to use. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct nl_sock;
struct nlmsghdr;

typedef union InAddr {
        struct in_addr in;
        struct in6_addr in6;
        uint8_t bytes[16];
} InAddr;

typedef struct NetAddress {
        int family;                     /* AF_INET or AF_INET6 */
        InAddr local;
        uint8_t prefixlen;
        bool has_peer;                  /* the remote end of a point-to-point link */
        InAddr peer;
} NetAddress;

typedef struct NetRoute {
        int family;
        InAddr dst;
        uint8_t dst_len;
        bool has_gateway;
        InAddr gateway;
        uint32_t metric;
        uint32_t table;
} NetRoute;

/* The metric the kernel gives a route added without one. */
#define NET_ROUTE_METRIC_DEFAULT(family) ((family) == AF_INET6 ? 1024u : 0u)

bool net_address_equal(const NetAddress *a, const NetAddress *b);
bool net_route_equal(const NetRoute *a, const NetRoute *b);
/* The same route but for its gateway: what NLM_F_REPLACE replaces. */
bool net_route_same_slot(const NetRoute *a, const NetRoute *b);

/* The kernel's answer as -errno: -EEXIST (there already), -EADDRNOTAVAIL (no such
 * address), -ESRCH (no such route), -ENETUNREACH (gateway not reachable), ... */
int rtnl_address_add(struct nl_sock *rtnl, int ifindex, const NetAddress *a);
int rtnl_address_remove(struct nl_sock *rtnl, int ifindex, const NetAddress *a);
int rtnl_route_add(struct nl_sock *rtnl, int ifindex, const NetRoute *r);
int rtnl_route_remove(struct nl_sock *rtnl, int ifindex, const NetRoute *r);

/* Dumps go over a short-lived socket of their own in the calling thread's namespace (see
 * rtnl-addr.c). Calls func for every address of link ifindex in the namespace with the id
 * nsid there (-1: that namespace itself; the kernel honours IFA_TARGET_NETNSID for
 * address dumps, and has nothing of the kind for routes). */
int rtnl_address_dump(int nsid, int ifindex,
                      void (*func)(const NetAddress *a, void *userdata), void *userdata);
/* Calls func for every unicast route through link ifindex. */
int rtnl_route_dump(int ifindex,
                    void (*func)(const NetRoute *r, void *userdata), void *userdata);

/* Parse one RTM_NEWADDR/RTM_DELADDR or RTM_NEWROUTE/RTM_DELROUTE message. Returns 0,
 * or -ENOMSG when it is not one tund keeps (another type, family or kind of route). */
int rtnl_address_parse(const struct nlmsghdr *h, int *ret_ifindex, NetAddress *ret);
int rtnl_route_parse(const struct nlmsghdr *h, int *ret_ifindex, NetRoute *ret);

/* A non-blocking socket subscribed to the address and route groups of IPv4 and IPv6. */
int rtnl_netcfg_open_listener(struct nl_sock **ret);
