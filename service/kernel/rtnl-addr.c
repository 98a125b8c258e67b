/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <linux/if_addr.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <string.h>
#include <sys/socket.h>

#include "macro.h"
#include "nl-util.h"
#include "rtnl-addr.h"

static size_t family_size(int family) {
        return family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr);
}

bool net_address_equal(const NetAddress *a, const NetAddress *b) {
        size_t n = family_size(a->family);

        return a->family == b->family && a->prefixlen == b->prefixlen &&
                memcmp(&a->local, &b->local, n) == 0 &&
                a->has_peer == b->has_peer && (!a->has_peer || memcmp(&a->peer, &b->peer, n) == 0);
}

bool net_route_same_slot(const NetRoute *a, const NetRoute *b) {
        return a->family == b->family && a->dst_len == b->dst_len && a->table == b->table &&
                a->metric == b->metric && memcmp(&a->dst, &b->dst, family_size(a->family)) == 0;
}

bool net_route_equal(const NetRoute *a, const NetRoute *b) {
        return net_route_same_slot(a, b) && a->has_gateway == b->has_gateway &&
                (!a->has_gateway || memcmp(&a->gateway, &b->gateway, family_size(a->family)) == 0);
}

typedef struct Exchange {
        int error;
        bool done;
        int (*parse)(struct nl_msg *msg, void *userdata);
        void *userdata;
} Exchange;

static int exchange_valid(struct nl_msg *msg, void *arg) {
        Exchange *e = arg;

        return e->parse ? e->parse(msg, e->userdata) : NL_OK;
}

static int exchange_done(struct nl_msg *msg, void *arg) {
        ((Exchange *) arg)->done = true;
        return NL_STOP;
}

static int exchange_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg) {
        Exchange *e = arg;

        e->error = err->error;
        e->done = true;
        return NL_STOP;
}

/* Sends msg and reads until the kernel's acknowledgement or the end of a dump, keeping the
 * kernel's own errno (libnl's NLE_* codes lose some that callers tell apart). */
static int rtnl_exchange(struct nl_sock *rtnl, struct nl_msg *msg,
                         int (*parse)(struct nl_msg *msg, void *userdata), void *userdata) {
        _cleanup_(nl_cb_putp) struct nl_cb *cb = NULL;
        Exchange e = { .parse = parse, .userdata = userdata };
        int r;

        cb = nl_cb_alloc(NL_CB_DEFAULT);
        if (!cb)
                return -ENOMEM;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, exchange_valid, &e);
        nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, exchange_done, &e);
        nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, exchange_done, &e);
        nl_cb_err(cb, NL_CB_CUSTOM, exchange_error, &e);

        r = nl_send_auto(rtnl, msg);
        if (r < 0)
                return nl_error_to_errno(r);
        while (!e.done) {
                r = nl_recvmsgs(rtnl, cb);
                /* After an error message libnl returns its own code for it: e.error is
                 * the kernel's. */
                if (r < 0 && !e.done)
                        return nl_error_to_errno(r);
        }
        return e.error;
}

static int put_addr(struct nl_msg *msg, int type, int family, const InAddr *a) {
        return nla_put(msg, type, (int) family_size(family), a) < 0 ? -ENOMEM : 0;
}

static int address_change(struct nl_sock *rtnl, int type, int flags, int ifindex, const NetAddress *a) {
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        struct ifaddrmsg ifa = {
                .ifa_family = (uint8_t) a->family,
                .ifa_prefixlen = a->prefixlen,
                .ifa_index = (uint32_t) ifindex,
        };

        msg = nlmsg_alloc_simple(type, NLM_F_REQUEST | flags);
        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0 ||
            put_addr(msg, IFA_LOCAL, a->family, &a->local) < 0 ||
            put_addr(msg, IFA_ADDRESS, a->family, a->has_peer ? &a->peer : &a->local) < 0)
                return -ENOMEM;
        return rtnl_exchange(rtnl, msg, NULL, NULL);
}

int rtnl_address_add(struct nl_sock *rtnl, int ifindex, const NetAddress *a) {
        return address_change(rtnl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, a);
}

int rtnl_address_remove(struct nl_sock *rtnl, int ifindex, const NetAddress *a) {
        return address_change(rtnl, RTM_DELADDR, 0, ifindex, a);
}

static int route_change(struct nl_sock *rtnl, int type, int flags, int ifindex, const NetRoute *r) {
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        bool add = type == RTM_NEWROUTE;
        struct rtmsg rtm = {
                .rtm_family = (uint8_t) r->family,
                .rtm_dst_len = r->dst_len,
                .rtm_table = r->table < 256 ? (uint8_t) r->table : RT_TABLE_UNSPEC,
                /* A removal matches any protocol, scope and type, as ip route del does. */
                .rtm_protocol = add ? RTPROT_STATIC : 0,
                .rtm_scope = !add ? RT_SCOPE_NOWHERE : r->has_gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
                .rtm_type = add ? RTN_UNICAST : RTN_UNSPEC,
        };

        msg = nlmsg_alloc_simple(type, NLM_F_REQUEST | flags);
        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
            put_addr(msg, RTA_DST, r->family, &r->dst) < 0 ||
            (r->has_gateway && put_addr(msg, RTA_GATEWAY, r->family, &r->gateway) < 0) ||
            nla_put_u32(msg, RTA_OIF, (uint32_t) ifindex) < 0 ||
            nla_put_u32(msg, RTA_PRIORITY, r->metric) < 0 ||
            nla_put_u32(msg, RTA_TABLE, r->table) < 0)
                return -ENOMEM;
        return rtnl_exchange(rtnl, msg, NULL, NULL);
}

int rtnl_route_add(struct nl_sock *rtnl, int ifindex, const NetRoute *r) {
        return route_change(rtnl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex, r);
}

int rtnl_route_remove(struct nl_sock *rtnl, int ifindex, const NetRoute *r) {
        return route_change(rtnl, RTM_DELROUTE, 0, ifindex, r);
}

static bool get_addr(struct nlattr *attr, int family, InAddr *ret) {
        if (!attr || nla_len(attr) != (int) family_size(family))
                return false;
        memcpy(ret, nla_data(attr), family_size(family));
        return true;
}

int rtnl_address_parse(const struct nlmsghdr *h, int *ret_ifindex, NetAddress *ret) {
        struct nlattr *tb[IFA_MAX + 1];
        const struct ifaddrmsg *ifa;
        NetAddress a = {};
        InAddr address;
        bool has_address;

        if ((h->nlmsg_type != RTM_NEWADDR && h->nlmsg_type != RTM_DELADDR) ||
            nlmsg_parse((struct nlmsghdr *) h, sizeof(*ifa), tb, IFA_MAX, NULL) < 0)
                return -ENOMSG;
        ifa = nlmsg_data(h);
        if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
                return -ENOMSG;
        a.family = ifa->ifa_family;
        a.prefixlen = ifa->ifa_prefixlen;

        /* IFA_LOCAL is the address itself, IFA_ADDRESS the peer on a point-to-point link;
         * without a peer they are equal, or IPv6 sends IFA_ADDRESS alone. */
        has_address = get_addr(tb[IFA_ADDRESS], a.family, &address);
        if (get_addr(tb[IFA_LOCAL], a.family, &a.local)) {
                if (has_address && memcmp(&address, &a.local, family_size(a.family)) != 0) {
                        a.has_peer = true;
                        a.peer = address;
                }
        } else if (has_address)
                a.local = address;
        else
                return -ENOMSG;

        *ret_ifindex = (int) ifa->ifa_index;
        *ret = a;
        return 0;
}

int rtnl_route_parse(const struct nlmsghdr *h, int *ret_ifindex, NetRoute *ret) {
        struct nlattr *tb[RTA_MAX + 1];
        const struct rtmsg *rtm;
        NetRoute r = {};

        if ((h->nlmsg_type != RTM_NEWROUTE && h->nlmsg_type != RTM_DELROUTE) ||
            nlmsg_parse((struct nlmsghdr *) h, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
                return -ENOMSG;
        rtm = nlmsg_data(h);
        /* Local, broadcast and multicast routes are the kernel's own bookkeeping; cached
         * clones are not routes anyone added. */
        if ((rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) ||
            rtm->rtm_type != RTN_UNICAST || (rtm->rtm_flags & RTM_F_CLONED) || !tb[RTA_OIF])
                return -ENOMSG;
        r.family = rtm->rtm_family;
        r.dst_len = rtm->rtm_dst_len;
        if (r.dst_len > 0 && !get_addr(tb[RTA_DST], r.family, &r.dst))
                return -ENOMSG;
        r.has_gateway = get_addr(tb[RTA_GATEWAY], r.family, &r.gateway);
        r.metric = tb[RTA_PRIORITY] ? nla_get_u32(tb[RTA_PRIORITY]) : 0;
        r.table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;

        *ret_ifindex = (int) nla_get_u32(tb[RTA_OIF]);
        *ret = r;
        return 0;
}

typedef struct AddressDump {
        int ifindex;
        void (*func)(const NetAddress *a, void *userdata);
        void *userdata;
} AddressDump;

static int address_dump_one(struct nl_msg *msg, void *arg) {
        AddressDump *dump = arg;
        NetAddress a;
        int ifindex;

        if (rtnl_address_parse(nlmsg_hdr(msg), &ifindex, &a) >= 0 && ifindex == dump->ifindex)
                dump->func(&a, dump->userdata);
        return NL_OK;
}

/* The kernel reads IFA_TARGET_NETNSID and the link filters of a dump (ifa_index, RTA_OIF)
 * only from a socket that asked for strict checking (NETLINK_GET_STRICT_CHK): one of its
 * own, so that the caller's socket stays as lenient as the rest of tund expects, and a
 * host with many addresses and routes does not send them all for one link. */
static int open_strict(struct nl_sock **ret) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        int one = 1, r;

        sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                return nl_error_to_errno(r);
        if (setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one)) < 0)
                return negative_errno();
        *ret = TAKE_PTR(sk);
        return 0;
}

int rtnl_address_dump(int nsid, int ifindex,
                      void (*func)(const NetAddress *a, void *userdata), void *userdata) {
        _cleanup_(nl_socket_freep) struct nl_sock *strict = NULL;
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        struct ifaddrmsg ifa = { .ifa_family = AF_UNSPEC, .ifa_index = (uint32_t) ifindex };
        AddressDump dump = { .ifindex = ifindex, .func = func, .userdata = userdata };
        int r;

        r = open_strict(&strict);
        if (r < 0)
                return r;

        msg = nlmsg_alloc_simple(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0 ||
            (nsid >= 0 && nla_put_s32(msg, IFA_TARGET_NETNSID, nsid) < 0))
                return -ENOMEM;
        return rtnl_exchange(strict, msg, address_dump_one, &dump);
}

typedef struct RouteDump {
        int ifindex;
        void (*func)(const NetRoute *r, void *userdata);
        void *userdata;
} RouteDump;

static int route_dump_one(struct nl_msg *msg, void *arg) {
        RouteDump *dump = arg;
        NetRoute r;
        int ifindex;

        if (rtnl_route_parse(nlmsg_hdr(msg), &ifindex, &r) >= 0 && ifindex == dump->ifindex)
                dump->func(&r, dump->userdata);
        return NL_OK;
}

int rtnl_route_dump(int ifindex,
                    void (*func)(const NetRoute *r, void *userdata), void *userdata) {
        _cleanup_(nl_socket_freep) struct nl_sock *strict = NULL;
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        struct rtmsg rtm = { .rtm_family = AF_UNSPEC };
        RouteDump dump = { .ifindex = ifindex, .func = func, .userdata = userdata };
        int r;

        r = open_strict(&strict);
        if (r < 0)
                return r;
        msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP);
        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
            nla_put_u32(msg, RTA_OIF, (uint32_t) ifindex) < 0)
                return -ENOMEM;
        return rtnl_exchange(strict, msg, route_dump_one, &dump);
}

int rtnl_netcfg_open_listener(struct nl_sock **ret) {
        static const int groups[] = {
                RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, 0 };

        return nl_listener_open(groups, ret);
}
