/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <linux/netlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "nl-util.h"

/* Deep enough for a burst of changes to many devices or a flush of many routes; an overrun
 * is survived anyway (the owners probe or reload everything). */
#define LISTENER_RCVBUF (4 * 1024 * 1024)

int nl_listener_open(const int *groups, struct nl_sock **ret) {
        _cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
        int size = LISTENER_RCVBUF, fd, r;

        sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        nl_socket_disable_seq_check(sk);
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0)
                return nl_error_to_errno(r);
        for (const int *g = groups; *g != 0; g++) {
                r = nl_socket_add_membership(sk, *g);
                if (r < 0)
                        return nl_error_to_errno(r);
        }
        r = nl_socket_set_nonblocking(sk);
        if (r < 0)
                return nl_error_to_errno(r);
        fd = nl_socket_get_fd(sk);
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        *ret = TAKE_PTR(sk);
        return 0;
}

int nl_receive_datagram(struct nl_sock *sk, void *buf, size_t size, int *ret_nsid) {
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
        ssize_t n;

        for (;;) {
                n = recvmsg(nl_socket_get_fd(sk), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n >= 0)
                        break;
                if (errno == EINTR)
                        continue;
                return errno == EWOULDBLOCK ? -EAGAIN : negative_errno();
        }
        if (msg.msg_flags & MSG_TRUNC)
                return -EMSGSIZE;
        if (sender.nl_pid != 0)
                return 0;       /* only the kernel is believed */

        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (ret_nsid && c->cmsg_level == SOL_NETLINK && c->cmsg_type == NETLINK_LISTEN_ALL_NSID &&
                    c->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(ret_nsid, CMSG_DATA(c), sizeof(int));
        return (int) n;
}
