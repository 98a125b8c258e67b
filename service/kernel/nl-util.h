/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Cleanup helpers for libnl-3 objects, libnl error codes as errno, and the listening
 * sockets of the link and address monitors (nl-util.c). */

#include <errno.h>
#include <stddef.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/socket.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_msg *, nlmsg_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cb *, nl_cb_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_sock *, nl_socket_free);

/* libnl returns -NLE_*; the rest of tund speaks -errno. */
static inline int nl_error_to_errno(int nlerr) {
        switch (nlerr < 0 ? -nlerr : nlerr) {
        case 0:                 return 0;
        case NLE_INTR:          return -EINTR;
        case NLE_BAD_SOCK:      return -EBADF;
        case NLE_AGAIN:         return -EAGAIN;
        case NLE_NOMEM:         return -ENOMEM;
        case NLE_EXIST:         return -EEXIST;
        case NLE_INVAL:         return -EINVAL;
        case NLE_RANGE:         return -ERANGE;
        case NLE_MSGSIZE:       return -EMSGSIZE;
        case NLE_OPNOTSUPP:     return -EOPNOTSUPP;
        case NLE_AF_NOSUPPORT:  return -EAFNOSUPPORT;
        case NLE_OBJ_NOTFOUND:  return -ENODEV;        /* what tund looks up are links */
        case NLE_NOATTR:        return -ENODATA;
        case NLE_AF_MISMATCH:   return -EPROTO;
        case NLE_BUSY:          return -EBUSY;
        case NLE_PROTO_MISMATCH: return -EPROTONOSUPPORT;
        case NLE_NOACCESS:      return -EACCES;
        case NLE_PERM:          return -EPERM;
        case NLE_NODEV:         return -ENODEV;
        case NLE_MSG_OVERFLOW:  return -ENOBUFS;
        default:                return -EIO;
        }
}

/* A non-blocking NETLINK_ROUTE socket subscribed to groups (RTNLGRP_*, ended by 0), with
 * a receive buffer deep enough for a burst of changes (as root SO_RCVBUFFORCE passes
 * net.core.rmem_max). */
int nl_listener_open(const int *groups, struct nl_sock **ret);

/* Receives one datagram into buf, without blocking. Returns its length; 0 for one that is
 * not from the kernel (ignore it); -EAGAIN when none is queued; -ENOBUFS when the kernel
 * dropped messages (the socket overran); -EMSGSIZE for one larger than size; or another
 * -errno. When the datagram carries a namespace id (NETLINK_LISTEN_ALL_NSID) it is stored
 * in *ret_nsid, which is left as it is otherwise. */
int nl_receive_datagram(struct nl_sock *sk, void *buf, size_t size, int *ret_nsid);
