/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Link queries and changes over rtnetlink (libnl-route). Every function takes the
 * NETLINK_ROUTE socket to use, so that a caller may hand in one opened inside the
 * network namespace the device lives in. */

#include <net/if.h>
#include <stdint.h>

struct nl_sock;

/* A connected NETLINK_ROUTE socket in the caller's network namespace. */
int rtnl_open(struct nl_sock **ret);
void rtnl_close(struct nl_sock *sk);

/* The ifindex of the TUN/TAP device of that name; -ENODEV when no link has the name or
 * it is of another kind. */
int rtnl_find_tun(struct nl_sock *sk, const char *name, int *ret_ifindex);

static inline void rtnl_closep(struct nl_sock **sk) {
        if (*sk)
                rtnl_close(*sk);
}
