/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The monitor's rtnetlink listener: RTNLGRP_LINK and RTNLGRP_NSID of its own namespace and,
 * through NETLINK_LISTEN_ALL_NSID, of every namespace that has an id in it. */

#include <stddef.h>
#include <stdint.h>

struct nl_sock;

/* The id a datagram from the listener's own namespace carries (none at all, usually). */
#define LINK_NSID_SELF (-1)

/* A non-blocking, subscribed listener socket. */
int link_netlink_open_listener(struct nl_sock **ret);

/* Receives one datagram into buf. Returns its length, -EAGAIN when none is queued,
 * -ENOBUFS when the kernel dropped messages (the socket overran), or another -errno.
 * *ret_nsid is the id of the namespace it comes from, LINK_NSID_SELF for our own. */
int link_netlink_receive(struct nl_sock *listener, int self_nsid, void *buf, size_t size, int *ret_nsid);
