/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "log.h"
#include "macro.h"
#include "netcfg-monitor.h"
#include "nl-util.h"

#define DATAGRAM_MAX (64 * 1024)
/* Datagrams read per dispatch, so that a flood of route changes does not starve the bus. */
#define DATAGRAMS_PER_DISPATCH 64

struct NetcfgMonitor {
        const NetcfgMonitorOps *ops;
        void *userdata;
        struct nl_sock *listener;
        sd_event_source *source;
        uint8_t *buffer;
};

static void monitor_dispatch_message(NetcfgMonitor *m, const struct nlmsghdr *h) {
        bool present = h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_NEWROUTE;
        NetAddress a;
        NetRoute r;
        int ifindex;

        if (rtnl_address_parse(h, &ifindex, &a) >= 0) {
                if (m->ops->address)
                        m->ops->address(ifindex, &a, present, m->userdata);
        } else if (rtnl_route_parse(h, &ifindex, &r) >= 0) {
                if (m->ops->route)
                        m->ops->route(ifindex, &r, present, h->nlmsg_flags & NLM_F_REPLACE, m->userdata);
        }
}

static void monitor_dispatch_datagram(NetcfgMonitor *m, size_t size) {
        int len = (int) size;

        for (struct nlmsghdr *h = (struct nlmsghdr *) m->buffer; nlmsg_ok(h, len); h = nlmsg_next(h, &len))
                monitor_dispatch_message(m, h);
}

static void monitor_overrun(NetcfgMonitor *m) {
        log_warning("Address and route notifications were lost (the netlink socket overran); reading every device's again.");
        if (m->ops->overrun)
                m->ops->overrun(m->userdata);
}

/* Reads one datagram: 1 when one was told, 0 when none is queued, or -errno. */
static int monitor_receive_one(NetcfgMonitor *m) {
        int n;

        n = nl_receive_datagram(m->listener, m->buffer, DATAGRAM_MAX, NULL);
        if (n == -EAGAIN)
                return 0;
        if (n == -ENOBUFS || n == -EMSGSIZE) {     /* messages lost either way */
                monitor_overrun(m);
                return 1;
        }
        if (n < 0)
                return n;
        monitor_dispatch_datagram(m, (size_t) n);
        return 1;
}

static void monitor_receive(NetcfgMonitor *m, unsigned max) {
        int r;

        for (unsigned i = 0; i < max; i++) {
                r = monitor_receive_one(m);
                if (r == 0)
                        return;
                if (r < 0) {
                        log_warning_errno(r, "Failed to read address and route notifications: %m");
                        return;
                }
        }
}

static int monitor_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        monitor_receive(userdata, DATAGRAMS_PER_DISPATCH);
        return 0;
}

void netcfg_monitor_flush(NetcfgMonitor *m) {
        if (m)
                monitor_receive(m, UINT32_MAX);
}

int netcfg_monitor_new(NetcfgMonitor **ret, sd_event *e, const NetcfgMonitorOps *ops, void *userdata) {
        NetcfgMonitor *m;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        *m = (NetcfgMonitor) { .ops = ops, .userdata = userdata };
        m->buffer = malloc(DATAGRAM_MAX);
        if (!m->buffer) {
                r = -ENOMEM;
                goto fail;
        }
        r = rtnl_netcfg_open_listener(&m->listener);
        if (r < 0)
                goto fail;
        r = sd_event_add_io(e, &m->source, nl_socket_get_fd(m->listener), EPOLLIN, monitor_on_io, m);
        if (r < 0)
                goto fail;
        *ret = m;
        return 0;

fail:
        netcfg_monitor_free(m);
        return r;
}

NetcfgMonitor *netcfg_monitor_free(NetcfgMonitor *m) {
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->source);
        if (m->listener)
                nl_socket_free(m->listener);
        free(m->buffer);
        free(m);
        return NULL;
}
