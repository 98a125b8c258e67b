/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <net/if.h>
#include <netlink/socket.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "macro.h"
#include "netns.h"
#include "nl-util.h"
#include "tun.h"

int netns_open_of_tun(int tun_fd) {
        int fd = ioctl(tun_fd, TUNGETDEVNETNS);
        return fd < 0 ? negative_errno() : fd;   /* the kernel opens it O_CLOEXEC */
}

int netns_open_self(void) {
        int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        return fd < 0 ? negative_errno() : fd;
}

int netns_inode(int netns_fd, ino_t *ret) {
        struct stat st;

        if (fstat(netns_fd, &st) < 0)
                return negative_errno();
        *ret = st.st_ino;
        return 0;
}

/* Sends msg and waits for the acknowledgement that libnl asks for on every request,
 * handing replies to parse first. */
static int rtnl_call(struct nl_sock *rtnl, struct nl_msg *msg, nl_recvmsg_msg_cb_t parse, void *userdata) {
        _cleanup_(nl_cb_putp) struct nl_cb *cb = NULL;
        int r;

        r = nl_send_auto(rtnl, msg);
        if (r < 0)
                return nl_error_to_errno(r);
        if (parse) {
                cb = nl_cb_alloc(NL_CB_DEFAULT);
                if (!cb)
                        return -ENOMEM;
                nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, parse, userdata);
                r = nl_recvmsgs(rtnl, cb);
                if (r < 0)
                        return nl_error_to_errno(r);
        }
        r = nl_wait_for_ack(rtnl);
        return r < 0 ? nl_error_to_errno(r) : 0;
}

static int parse_nsid_reply(struct nl_msg *msg, void *arg) {
        struct nlattr *tb[NETNSA_MAX + 1];
        int *nsid = arg;

        if (nlmsg_hdr(msg)->nlmsg_type != RTM_NEWNSID ||
            nlmsg_parse(nlmsg_hdr(msg), sizeof(struct rtgenmsg), tb, NETNSA_MAX, NULL) < 0)
                return NL_SKIP;
        if (tb[NETNSA_NSID])
                *nsid = (int32_t) nla_get_u32(tb[NETNSA_NSID]);
        return NL_OK;
}

static int nsid_request(struct nl_sock *rtnl, int type, int netns_fd, int *nsid) {
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        struct rtgenmsg rt = { .rtgen_family = AF_UNSPEC };

        msg = nlmsg_alloc_simple(type, NLM_F_REQUEST);
        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &rt, sizeof(rt), NLMSG_ALIGNTO) < 0 ||
            nla_put_u32(msg, NETNSA_FD, (uint32_t) netns_fd) < 0 ||
            (type == RTM_NEWNSID && nla_put_u32(msg, NETNSA_NSID, (uint32_t) *nsid) < 0))
                return -ENOMEM;

        if (type == RTM_NEWNSID)
                return rtnl_call(rtnl, msg, NULL, NULL);
        *nsid = NETNSA_NSID_NOT_ASSIGNED;
        return rtnl_call(rtnl, msg, parse_nsid_reply, nsid);
}

int netns_get_nsid(struct nl_sock *rtnl, int netns_fd) {
        int nsid, r;

        r = nsid_request(rtnl, RTM_GETNSID, netns_fd, &nsid);
        if (r < 0)
                return r;
        return nsid >= 0 ? nsid : -ENOENT;
}

int netns_get_or_assign_nsid(struct nl_sock *rtnl, int netns_fd) {
        int nsid, r;

        nsid = netns_get_nsid(rtnl, netns_fd);
        if (nsid != -ENOENT)
                return nsid;

        /* -1 asks the kernel to pick a free id. EEXIST: someone else just gave one. */
        nsid = -1;
        r = nsid_request(rtnl, RTM_NEWNSID, netns_fd, &nsid);
        if (r < 0 && r != -EEXIST)
                return r;

        return netns_get_nsid(rtnl, netns_fd);
}

int netns_nsid_of_tun(struct nl_sock *rtnl, int tun_fd, int *ret) {
        _cleanup_close_ int netns_fd = -EBADF, self_fd = -EBADF;
        ino_t ino, self;
        int r;

        netns_fd = netns_open_of_tun(tun_fd);
        if (netns_fd < 0)
                return netns_fd;
        self_fd = netns_open_self();
        if (self_fd < 0)
                return self_fd;
        r = netns_inode(netns_fd, &ino);
        if (r < 0)
                return r;
        r = netns_inode(self_fd, &self);
        if (r < 0)
                return r;
        if (ino == self) {
                *ret = NETNS_NSID_SELF;
                return 0;
        }
        r = netns_get_or_assign_nsid(rtnl, netns_fd);
        if (r < 0)
                return r;
        *ret = r;
        return 0;
}

static int link_target(struct nl_msg *msg, int nsid) {
        if (nsid == NETNS_NSID_SELF)
                return 0;
        return nla_put_s32(msg, IFLA_TARGET_NETNSID, nsid) < 0 ? -ENOMEM : 0;
}

typedef struct LinkReply {
        LinkState state;
        unsigned flags;
} LinkReply;

static int parse_link_reply(struct nl_msg *msg, void *arg) {
        struct nlattr *tb[IFLA_MAX + 1];
        struct nlmsghdr *h = nlmsg_hdr(msg);
        struct ifinfomsg *ifi;
        LinkReply *reply = arg;
        LinkState *s = &reply->state;

        if (h->nlmsg_type != RTM_NEWLINK ||
            nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0 ||
            !tb[IFLA_IFNAME] || !tb[IFLA_MTU])
                return NL_SKIP;
        ifi = nlmsg_data(h);
        reply->flags = ifi->ifi_flags;
        s->ifindex = ifi->ifi_index;
        s->up = (ifi->ifi_flags & IFF_UP) && (ifi->ifi_flags & IFF_RUNNING);
        s->mtu = nla_get_u32(tb[IFLA_MTU]);
        nla_strlcpy(s->name, tb[IFLA_IFNAME], sizeof(s->name));
        return NL_OK;
}

static int parse_tun_counters(struct nl_msg *msg, void *arg) {
        struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1], *data[IFLA_TUN_MAX + 1];
        struct nlmsghdr *h = nlmsg_hdr(msg);
        TunCounters *c = arg;

        if (h->nlmsg_type != RTM_NEWLINK ||
            nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0)
                return NL_SKIP;
        c->found = true;
        if (tb[IFLA_STATS64] && nla_len(tb[IFLA_STATS64]) >= (int) sizeof(c->stats)) {
                memcpy(&c->stats, nla_data(tb[IFLA_STATS64]), sizeof(c->stats));
                c->have_stats = true;
        }
        if (tb[IFLA_LINKINFO] && nla_parse_nested(info, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) >= 0 &&
            info[IFLA_INFO_DATA] && nla_parse_nested(data, IFLA_TUN_MAX, info[IFLA_INFO_DATA], NULL) >= 0 &&
            data[IFLA_TUN_NUM_QUEUES] && data[IFLA_TUN_NUM_DISABLED_QUEUES]) {
                c->queues = nla_get_u32(data[IFLA_TUN_NUM_QUEUES]);
                c->disabled = nla_get_u32(data[IFLA_TUN_NUM_DISABLED_QUEUES]);
                c->have_queues = true;
        }
        return NL_OK;
}

/* Where the TUN device of tun_fd is (its nsid, seen from rtnl) and its name. */
static int tun_nsid_and_name(struct nl_sock *rtnl, int tun_fd, int *ret_nsid, char name[static IFNAMSIZ]) {
        int r;

        r = netns_nsid_of_tun(rtnl, tun_fd, ret_nsid);
        if (r < 0)
                return r;
        return tun_get_info(tun_fd, name, NULL);
}

int netns_tun_get_counters(struct nl_sock *rtnl, int tun_fd, TunCounters *ret) {
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        TunCounters c = {};
        char name[IFNAMSIZ];
        int nsid, r;

        r = tun_nsid_and_name(rtnl, tun_fd, &nsid, name);
        if (r < 0)
                return r;
        r = rtnl_link_build_get_request(0, name, &msg);
        if (r < 0)
                return nl_error_to_errno(r);
        r = link_target(msg, nsid);
        if (r < 0)
                return r;
        r = rtnl_call(rtnl, msg, parse_tun_counters, &c);
        if (r < 0)
                return r;
        if (!c.found)
                return -ENODEV;
        *ret = c;
        return 0;
}

int netns_link_get(struct nl_sock *rtnl, int nsid, int ifindex, const char *name, LinkState *ret) {
        unsigned flags;

        return netns_link_get_flags(rtnl, nsid, ifindex, name, ret, &flags);
}

int netns_link_get_flags(struct nl_sock *rtnl, int nsid, int ifindex, const char *name,
                         LinkState *ret, unsigned *ret_flags) {
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        LinkReply reply = {};
        int r;

        r = rtnl_link_build_get_request(ifindex > 0 ? ifindex : 0, ifindex > 0 ? NULL : name, &msg);
        if (r < 0)
                return nl_error_to_errno(r);
        r = link_target(msg, nsid);
        if (r < 0)
                return r;
        r = rtnl_call(rtnl, msg, parse_link_reply, &reply);
        if (r < 0)
                return r;
        if (reply.state.ifindex <= 0)
                return -ENODEV;
        *ret = reply.state;
        *ret_flags = reply.flags;
        return 0;
}

/* A request about the link ifindex of the namespace nsid. */
static int link_request(int type, int ifindex, int nsid, struct nl_msg **ret) {
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
        int r;

        msg = nlmsg_alloc_simple(type, NLM_F_REQUEST);
        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
                return -ENOMEM;
        r = link_target(msg, nsid);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(msg);
        return 0;
}

static int link_set_mtu(struct nl_sock *rtnl, int nsid, int ifindex, uint32_t mtu) {
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        int r;

        r = link_request(RTM_SETLINK, ifindex, nsid, &msg);
        if (r < 0)
                return r;
        if (nla_put_u32(msg, IFLA_MTU, mtu) < 0)
                return -ENOMEM;
        return rtnl_call(rtnl, msg, NULL, NULL);
}

int netns_link_delete(struct nl_sock *rtnl, int nsid, int ifindex) {
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        int r;

        r = link_request(RTM_DELLINK, ifindex, nsid, &msg);
        if (r < 0)
                return r;
        return rtnl_call(rtnl, msg, NULL, NULL);
}

int netns_tun_get_link(struct nl_sock *rtnl, int tun_fd, LinkState *ret) {
        char name[IFNAMSIZ];
        int nsid, r;

        r = tun_nsid_and_name(rtnl, tun_fd, &nsid, name);
        if (r < 0)
                return r;
        return netns_link_get(rtnl, nsid, 0, name, ret);
}

int netns_tun_delete(struct nl_sock *rtnl, int tun_fd) {
        LinkState s;
        int nsid, r;

        r = netns_nsid_of_tun(rtnl, tun_fd, &nsid);
        if (r < 0)
                return r;
        r = netns_tun_get_link(rtnl, tun_fd, &s);
        if (r < 0)
                return r;
        return netns_link_delete(rtnl, nsid, s.ifindex);
}

int netns_tun_set_mtu(struct nl_sock *rtnl, int tun_fd, uint32_t mtu) {
        LinkState s;
        int nsid, r;

        r = netns_nsid_of_tun(rtnl, tun_fd, &nsid);
        if (r < 0)
                return r;
        if (nsid != NETNS_NSID_SELF)
                return -EREMOTE;
        r = netns_tun_get_link(rtnl, tun_fd, &s);
        if (r < 0)
                return r;
        return link_set_mtu(rtnl, NETNS_NSID_SELF, s.ifindex, mtu);
}
