/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Naming network namespaces, and acting on a link in whichever namespace it is now.
 *
 * An rtnetlink socket in tund's own namespace addresses another namespace by the id it has
 * there (IFLA_TARGET_NETNSID): RTM_GETLINK and RTM_DELLINK honour it, with CAP_NET_ADMIN
 * only, and nothing of tund stays inside that namespace (a socket opened in there, like an
 * nsfs fd kept open, would keep it alive after `ip netns delete`). RTM_SETLINK ignores it
 * (checked here, kernel 6.18), and so do address and route requests, so changes there need
 * a socket made inside the namespace: setns(), CAP_SYS_ADMIN, which tund has not. The
 * namespace helper does them (netns-helper-client.h). */

#include <linux/if_link.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "link-state.h"

struct nl_sock;

/* The "id" of the rtnl socket's own namespace. */
#define NETNS_NSID_SELF (-1)

/* An fd (O_CLOEXEC) for the namespace the TUN device of tun_fd is in now
 * (TUNGETDEVNETNS). -EBADFD when the device is gone. */
int netns_open_of_tun(int tun_fd);

/* An fd for the calling thread's own namespace. */
int netns_open_self(void);

/* The identity of a namespace: the inode number of its nsfs fd. */
int netns_inode(int netns_fd, ino_t *ret);

/* The id the namespace of netns_fd has in the namespace of the rtnl socket (what netlink
 * messages from it carry). Returns the id (>= 0), -ENOENT when it has none, or -errno. */
int netns_get_nsid(struct nl_sock *rtnl, int netns_fd);

/* The same, giving the namespace an id when it has none. */
int netns_get_or_assign_nsid(struct nl_sock *rtnl, int netns_fd);

/* Where the TUN device of tun_fd is now, seen from rtnl (a socket in the calling thread's
 * namespace): *ret is NETNS_NSID_SELF or the other namespace's id (assigned if needed).
 * -EBADFD when the device is gone. */
int netns_nsid_of_tun(struct nl_sock *rtnl, int tun_fd, int *ret);

/* Link requests on rtnl addressed to the namespace nsid (NETNS_NSID_SELF: rtnl's own).
 * The link is found by ifindex (> 0) or else by name. -ENODEV: no such link there. */
int netns_link_get(struct nl_sock *rtnl, int nsid, int ifindex, const char *name, LinkState *ret);
/* The same, with the link's IFF_* flags. */
int netns_link_get_flags(struct nl_sock *rtnl, int nsid, int ifindex, const char *name,
                         LinkState *ret, unsigned *ret_flags);
int netns_link_delete(struct nl_sock *rtnl, int nsid, int ifindex);

/* The TUN device of tun_fd, wherever it is now (rtnl: a socket in the calling thread's
 * namespace). What GetDevice's properties, SetMTU and Delete use, so that they keep
 * working after the device moved. -EBADFD: the device is gone. */
int netns_tun_get_link(struct nl_sock *rtnl, int tun_fd, LinkState *ret);
int netns_tun_delete(struct nl_sock *rtnl, int tun_fd);
/* What the kernel counts on a TUN link: its queues (multi-queue devices only: attached and
 * detached ones, each an open file of the device) and its traffic (IFLA_STATS64, as the
 * link sees it: tx is what went to the TUN's readers). */
typedef struct TunCounters {
        bool found, have_queues, have_stats;
        uint32_t queues, disabled;
        struct rtnl_link_stats64 stats;
} TunCounters;
int netns_tun_get_counters(struct nl_sock *rtnl, int tun_fd, TunCounters *ret);
/* -EREMOTE in another namespace (see above). */
int netns_tun_set_mtu(struct nl_sock *rtnl, int tun_fd, uint32_t mtu);
