/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "log.h"
#include "macro.h"
#include "netns.h"
#include "nl-util.h"

typedef struct NetnsCall {
        int netns_fd;
        int (*func)(void *userdata);
        void *userdata;
        int result;
} NetnsCall;

static void *netns_thread(void *p) {
        NetnsCall *call = p;

        if (setns(call->netns_fd, CLONE_NEWNET) < 0)
                call->result = negative_errno();
        else
                call->result = call->func(call->userdata);
        return NULL;
}

int netns_run(int netns_fd, int (*func)(void *userdata), void *userdata) {
        NetnsCall call = { .netns_fd = netns_fd, .func = func, .userdata = userdata };
        pthread_t thread;
        int r;

        r = pthread_create(&thread, NULL, netns_thread, &call);
        if (r != 0)
                return -r;
        r = pthread_join(thread, NULL);
        if (r != 0)
                return -r;
        return call.result;
}

int netns_open_of_tun(int tun_fd) {
        int fd = ioctl(tun_fd, TUNGETDEVNETNS);
        if (fd < 0)
                return negative_errno();
        /* open_related_ns() sets O_CLOEXEC already; make sure on every kernel. */
        (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
        return fd;
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

int netns_is_self(int netns_fd) {
        _cleanup_close_ int self_fd = -EBADF;
        ino_t self, other;
        int r;

        self_fd = netns_open_self();
        if (self_fd < 0)
                return self_fd;
        r = netns_inode(self_fd, &self);
        if (r < 0)
                return r;
        r = netns_inode(netns_fd, &other);
        if (r < 0)
                return r;
        return self == other;
}

static int open_rtnl_here(void *userdata) {
        struct nl_sock **ret = userdata;
        struct nl_sock *sk;
        int r;

        sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0) {
                nl_socket_free(sk);
                return nl_error_to_errno(r);
        }
        *ret = sk;
        return 0;
}

int netns_open_rtnl(int netns_fd, struct nl_sock **ret) {
        int r = netns_is_self(netns_fd);
        if (r < 0)
                return r;
        return r ? open_rtnl_here(ret) : netns_run(netns_fd, open_rtnl_here, ret);
}

int netns_open_rtnl_of_tun(int tun_fd, struct nl_sock **ret) {
        _cleanup_close_ int netns_fd = netns_open_of_tun(tun_fd);
        if (netns_fd < 0)
                return netns_fd;
        return netns_open_rtnl(netns_fd, ret);
}

static int open_ioctl_socket_here(void *userdata) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        return fd < 0 ? negative_errno() : fd;
}

int netns_open_ioctl_socket(int netns_fd) {
        int r = netns_is_self(netns_fd);
        if (r < 0)
                return r;
        return r ? open_ioctl_socket_here(NULL) : netns_run(netns_fd, open_ioctl_socket_here, NULL);
}

static int parse_nsid_reply(struct nl_msg *msg, void *arg) {
        struct nlattr *tb[NETNSA_MAX + 1];
        int *nsid = arg;

        if (nlmsg_hdr(msg)->nlmsg_type != RTM_NEWNSID)
                return NL_SKIP;
        if (nlmsg_parse(nlmsg_hdr(msg), sizeof(struct rtgenmsg), tb, NETNSA_MAX, NULL) < 0)
                return NL_SKIP;
        if (tb[NETNSA_NSID])
                *nsid = (int32_t) nla_get_u32(tb[NETNSA_NSID]);
        return NL_OK;
}

static int nsid_request(struct nl_sock *rtnl, int type, int netns_fd, int nsid, int *ret) {
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        _cleanup_(nl_cb_putp) struct nl_cb *cb = NULL;
        struct rtgenmsg rt = { .rtgen_family = AF_UNSPEC };
        int r;

        msg = nlmsg_alloc_simple(type, NLM_F_REQUEST | NLM_F_ACK);
        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &rt, sizeof(rt), NLMSG_ALIGNTO) < 0 ||
            nla_put_u32(msg, NETNSA_FD, (uint32_t) netns_fd) < 0 ||
            (type == RTM_NEWNSID && nla_put_u32(msg, NETNSA_NSID, (uint32_t) nsid) < 0))
                return -ENOMEM;

        if (!ret) {
                r = nl_send_sync(rtnl, TAKE_PTR(msg));
                return r < 0 ? nl_error_to_errno(r) : 0;
        }

        r = nl_send_auto(rtnl, msg);
        if (r < 0)
                return nl_error_to_errno(r);
        cb = nl_cb_alloc(NL_CB_DEFAULT);
        if (!cb)
                return -ENOMEM;
        *ret = NETNSA_NSID_NOT_ASSIGNED;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, parse_nsid_reply, ret);

        r = nl_recvmsgs(rtnl, cb);
        if (r < 0)
                return nl_error_to_errno(r);
        /* libnl asks for an acknowledgement of every request; take it off the socket. */
        r = nl_wait_for_ack(rtnl);
        return r < 0 ? nl_error_to_errno(r) : 0;
}

int netns_get_nsid(struct nl_sock *rtnl, int netns_fd) {
        int nsid, r;

        r = nsid_request(rtnl, RTM_GETNSID, netns_fd, NETNSA_NSID_NOT_ASSIGNED, &nsid);
        if (r < 0)
                return r;
        return nsid >= 0 ? nsid : -ENOENT;
}

int netns_get_or_assign_nsid(struct nl_sock *rtnl, int netns_fd) {
        int nsid, r;

        nsid = netns_get_nsid(rtnl, netns_fd);
        if (nsid != -ENOENT)
                return nsid;

        /* NSID -1 asks the kernel to pick a free id. EEXIST: someone else just did. */
        r = nsid_request(rtnl, RTM_NEWNSID, netns_fd, -1, NULL);
        if (r < 0 && r != -EEXIST)
                return r;

        return netns_get_nsid(rtnl, netns_fd);
}
