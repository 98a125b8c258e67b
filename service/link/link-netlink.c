/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "link-netlink.h"
#include "log.h"
#include "macro.h"
#include "nl-util.h"

#define DATAGRAM_MAX (64 * 1024)

/* A non-blocking, subscribed socket that hears every namespace with an id in ours. */
static int open_socket(struct nl_sock **ret) {
        static const int groups[] = { RTNLGRP_LINK, RTNLGRP_NSID, 0 };
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        int one = 1, r;

        r = nl_listener_open(groups, &sk);
        if (r < 0)
                return r;
        if (setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, &one, sizeof(one)) < 0) {
                if (errno != EPERM)
                        return negative_errno();
                log_notice("Cannot hear link changes in other network namespaces (that needs "
                           "CAP_NET_BROADCAST); the probe alone watches devices moved there.");
        }
        *ret = TAKE_PTR(sk);
        return 0;
}

/* Receives one datagram into buf: nl_receive_datagram(), with *ret_nsid LINK_NSID_SELF for
 * our own namespace. */
static int receive_datagram(struct nl_sock *listener, int self_nsid, void *buf, size_t size, int *ret_nsid) {
        int nsid = LINK_NSID_SELF, n;

        n = nl_receive_datagram(listener, buf, size, &nsid);
        if (n < 0)
                return n;
        *ret_nsid = nsid == self_nsid ? LINK_NSID_SELF : nsid;
        return n;
}

/* A netlink datagram read ahead of its turn (see link_listener_mark). */
struct LinkDatagram {
        LinkDatagram *next;
        uint64_t gen;
        int nsid;
        size_t size;
        uint8_t data[];
};

static int own_nsid(const LinkListener *l, int nsid) {
        return nsid == l->self_nsid ? LINK_NSID_SELF : nsid;
}

static void parse_newlink(LinkListener *l, struct nlmsghdr *h, int nsid, uint64_t gen) {
        struct nlattr *tb[IFLA_MAX + 1];
        struct ifinfomsg *ifi = nlmsg_data(h);
        LinkEvent ev = { .nsid = nsid, .ifindex = ifi->ifi_index, .gen = gen };
        void *target;

        target = l->ops->find(nsid, ifi->ifi_index, gen, l->userdata);
        if (!target || nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
                return;
        ev.state.ifindex = ifi->ifi_index;
        ev.state.up = (ifi->ifi_flags & IFF_UP) && (ifi->ifi_flags & IFF_RUNNING);
        ev.admin_up = ifi->ifi_flags & IFF_UP;
        if (tb[IFLA_MTU]) {
                ev.state.mtu = nla_get_u32(tb[IFLA_MTU]);
                ev.has_mtu = true;
        }
        if (tb[IFLA_IFNAME]) {
                nla_strlcpy(ev.state.name, tb[IFLA_IFNAME], sizeof(ev.state.name));
                ev.has_name = true;
        }
        l->ops->link(target, &ev, l->userdata);
}

/* Sent for a deletion and for a move to another namespace alike. Only from our own
 * namespace is the new namespace's id one of ours. */
static void parse_dellink(LinkListener *l, struct nlmsghdr *h, int nsid, uint64_t gen) {
        struct nlattr *tb[IFLA_MAX + 1];
        struct ifinfomsg *ifi = nlmsg_data(h);
        LinkEvent ev = { .nsid = nsid, .ifindex = ifi->ifi_index, .gen = gen, .deleted = true };
        void *target;

        target = l->ops->find(nsid, ifi->ifi_index, gen, l->userdata);
        if (!target)
                return;
        if (nsid == LINK_NSID_SELF && nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) >= 0 &&
            tb[IFLA_NEW_NETNSID] && tb[IFLA_NEW_IFINDEX]) {
                ev.moved = true;
                ev.new_nsid = own_nsid(l, (int32_t) nla_get_u32(tb[IFLA_NEW_NETNSID]));
                ev.new_ifindex = (int32_t) nla_get_u32(tb[IFLA_NEW_IFINDEX]);
        }
        l->ops->link(target, &ev, l->userdata);
}

static void parse_delnsid(LinkListener *l, struct nlmsghdr *h, int nsid) {
        struct nlattr *tb[NETNSA_MAX + 1];

        if (nsid != LINK_NSID_SELF)
                return;         /* about ids another namespace gives */
        if (nlmsg_parse(h, sizeof(struct rtgenmsg), tb, NETNSA_MAX, NULL) < 0 || !tb[NETNSA_NSID])
                return;
        l->ops->nsid_deleted((int32_t) nla_get_u32(tb[NETNSA_NSID]), l->userdata);
}

static void parse_datagram(LinkListener *l, const uint8_t *data, size_t size, int nsid, uint64_t gen) {
        int len = (int) size;

        for (struct nlmsghdr *h = (struct nlmsghdr *) data; nlmsg_ok(h, len); h = nlmsg_next(h, &len))
                switch (h->nlmsg_type) {
                case RTM_NEWLINK:
                        if (nlmsg_valid_hdr(h, sizeof(struct ifinfomsg)))
                                parse_newlink(l, h, nsid, gen);
                        break;
                case RTM_DELLINK:
                        if (nlmsg_valid_hdr(h, sizeof(struct ifinfomsg)))
                                parse_dellink(l, h, nsid, gen);
                        break;
                case RTM_DELNSID:
                        if (nlmsg_valid_hdr(h, sizeof(struct rtgenmsg)))
                                parse_delnsid(l, h, nsid);
                        break;
                default:
                        break;
                }
}

static int listener_receive(LinkListener *l, void *buf, int *ret_nsid) {
        int n;

        for (;;) {
                n = receive_datagram(l->sk, l->self_nsid, buf, DATAGRAM_MAX, ret_nsid);
                if (n != -ENOBUFS)
                        return n;
                log_debug("Link notifications overran; probing every device.");
                l->ops->overrun(l->userdata);
        }
}

static void backlog_append(LinkListener *l, const uint8_t *data, size_t size, int nsid) {
        LinkDatagram *d = malloc(sizeof(LinkDatagram) + size);

        if (!d)
                return (void) log_oom();
        *d = (LinkDatagram) { .gen = l->next_gen++, .nsid = nsid, .size = size };
        memcpy(d->data, data, size);
        *l->backlog_tail = d;
        l->backlog_tail = &d->next;
}

static LinkDatagram *backlog_pop(LinkListener *l) {
        LinkDatagram *d = l->backlog;

        if (!d)
                return NULL;
        l->backlog = d->next;
        if (!l->backlog)
                l->backlog_tail = &l->backlog;
        return d;
}

static void backlog_clear(LinkListener *l) {
        LinkDatagram *d;

        while ((d = backlog_pop(l)))
                free(d);
        l->backlog_tail = &l->backlog;
}

uint64_t link_listener_mark(LinkListener *l) {
        _cleanup_free_ uint8_t *buf = NULL;
        int n, nsid;

        if (!l->sk)
                return l->next_gen;
        /* Not l->buffer: a drain further up the stack may be reading from it. */
        buf = malloc(DATAGRAM_MAX);
        if (!buf) {
                log_oom();
                return l->next_gen;
        }
        while ((n = listener_receive(l, buf, &nsid)) >= 0)
                backlog_append(l, buf, (size_t) n, nsid);
        if (n != -EAGAIN)
                log_warning_errno(n, "Failed to read link notifications: %m");
        return l->next_gen;
}

void link_listener_drain(LinkListener *l) {
        LinkDatagram *d;
        int n, nsid;

        for (;;) {
                d = backlog_pop(l);
                if (d) {
                        parse_datagram(l, d->data, d->size, d->nsid, d->gen);
                        free(d);
                        continue;
                }
                if (!l->sk)
                        return;
                n = listener_receive(l, l->buffer, &nsid);
                if (n < 0)
                        break;
                parse_datagram(l, l->buffer, (size_t) n, nsid, l->next_gen++);
        }
        if (n != -EAGAIN)
                log_warning_errno(n, "Failed to read link notifications: %m");
}

static int on_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        link_listener_drain(userdata);
        return 0;
}

int link_listener_init(LinkListener *l, sd_event *e, int self_nsid, const LinkListenerOps *ops,
                       void *userdata) {
        *l = (LinkListener) {
                .event = sd_event_ref(e),
                .self_nsid = self_nsid,
                .ops = ops,
                .userdata = userdata,
        };
        l->backlog_tail = &l->backlog;
        l->buffer = malloc(DATAGRAM_MAX);
        return l->buffer ? 0 : -ENOMEM;
}

void link_listener_deinit(LinkListener *l) {
        link_listener_close(l);
        l->buffer = mfree(l->buffer);
        l->event = sd_event_unref(l->event);
}

bool link_listener_is_open(const LinkListener *l) {
        return l->sk;
}

void link_listener_close(LinkListener *l) {
        l->source = sd_event_source_disable_unref(l->source);
        if (l->sk) {
                nl_socket_free(l->sk);
                l->sk = NULL;
        }
        backlog_clear(l);
}

int link_listener_open(LinkListener *l) {
        int r;

        r = open_socket(&l->sk);
        if (r < 0)
                return log_error_errno(r, "Failed to open the link notification socket: %m");
        r = sd_event_add_io(l->event, &l->source, nl_socket_get_fd(l->sk), EPOLLIN, on_readable, l);
        if (r < 0)
                goto fail;
        /* Before the probe timers: a probe answer is applied after the messages queued. */
        r = sd_event_source_set_priority(l->source, SD_EVENT_PRIORITY_NORMAL - 10);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(l->source, "link-netlink");
        return 0;
fail:
        link_listener_close(l);
        return log_error_errno(r, "Failed to watch the link notification socket: %m");
}

int link_listener_set_buffer_size(LinkListener *l, int bytes) {
        if (!l->sk)
                return -ENOTCONN;
        if (setsockopt(nl_socket_get_fd(l->sk), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
                return negative_errno();
        return 0;
}
