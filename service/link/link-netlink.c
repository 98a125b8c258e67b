/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <string.h>
#include <sys/socket.h>

#include "link-netlink.h"
#include "log.h"
#include "macro.h"
#include "nl-util.h"

/* Deep enough for a burst of changes to many devices; as root SO_RCVBUFFORCE passes
 * net.core.rmem_max. An overrun is survived anyway (the monitor probes everything). */
#define LISTENER_RCVBUF (4 * 1024 * 1024)

int link_netlink_open_listener(struct nl_sock **ret) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        int one = 1, size = LISTENER_RCVBUF, fd, r;

        sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        nl_socket_disable_seq_check(sk);

        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                return nl_error_to_errno(r);
        r = nl_socket_add_memberships(sk, RTNLGRP_LINK, RTNLGRP_NSID, 0);
        if (r < 0)
                return nl_error_to_errno(r);
        r = nl_socket_set_nonblocking(sk);
        if (r < 0)
                return nl_error_to_errno(r);

        fd = nl_socket_get_fd(sk);
        if (setsockopt(fd, SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, &one, sizeof(one)) < 0) {
                if (errno != EPERM)
                        return negative_errno();
                log_notice("Cannot hear link changes in other network namespaces (that needs "
                           "CAP_NET_BROADCAST); the probe alone watches devices moved there.");
        }
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));

        *ret = TAKE_PTR(sk);
        return 0;
}

int link_netlink_receive(struct nl_sock *listener, int self_nsid, void *buf, size_t size, int *ret_nsid) {
        union {
                struct cmsghdr header;
                uint8_t space[CMSG_SPACE(sizeof(int))];
        } control;
        struct sockaddr_nl sender;
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        struct msghdr msg = {
                .msg_name = &sender,
                .msg_namelen = sizeof(sender),
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        int nsid = LINK_NSID_SELF;
        ssize_t n;

        for (;;) {
                n = recvmsg(nl_socket_get_fd(listener), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n >= 0)
                        break;
                if (errno == EINTR)
                        continue;
                return errno == EWOULDBLOCK ? -EAGAIN : negative_errno();
        }
        if (msg.msg_flags & MSG_TRUNC)
                return -EMSGSIZE;
        if (sender.nl_pid != 0)
                return 0;       /* not from the kernel: ignore */

        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_NETLINK && c->cmsg_type == NETLINK_LISTEN_ALL_NSID &&
                    c->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(&nsid, CMSG_DATA(c), sizeof(int));
        if (nsid == self_nsid)
                nsid = LINK_NSID_SELF;

        *ret_nsid = nsid;
        return (int) n;
}
