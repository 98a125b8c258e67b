/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Acting inside another network namespace, and naming namespaces.
 *
 * A socket stays in the namespace it was created in, and keeps that namespace alive while
 * it is open (so does an nsfs fd). Code that must not keep a device's namespace alive
 * therefore opens such sockets only for as long as it needs them. */

#include <stdint.h>
#include <sys/types.h>

struct nl_sock;

/* Runs func(userdata) on a short-lived thread that joined the namespace netns_fd refers
 * to, and returns what func returned. The calling thread never changes namespace. */
int netns_run(int netns_fd, int (*func)(void *userdata), void *userdata);

/* An fd (O_CLOEXEC) for the namespace the TUN device of tun_fd is in now
 * (TUNGETDEVNETNS). -EBADFD when the device is gone. */
int netns_open_of_tun(int tun_fd);

/* An fd for the calling thread's own namespace. */
int netns_open_self(void);

/* The identity of a namespace: the inode number of its nsfs fd. */
int netns_inode(int netns_fd, ino_t *ret);

/* Whether netns_fd is the calling thread's own namespace. Returns 1, 0 or -errno. */
int netns_is_self(int netns_fd);

/* A connected NETLINK_ROUTE libnl socket created inside netns_fd's namespace (in the
 * calling thread's own namespace without a thread hop). Requests on it act on that
 * namespace's links. Free it with nl_socket_free() as soon as it is no longer needed: it
 * keeps the namespace alive. */
int netns_open_rtnl(int netns_fd, struct nl_sock **ret);

/* The same for the namespace the TUN device of tun_fd is in now: what SetMTU, SetOffloads
 * and Delete use so that they keep working after the device was moved. */
int netns_open_rtnl_of_tun(int tun_fd, struct nl_sock **ret);

/* A datagram socket (O_CLOEXEC) inside netns_fd's namespace, for SIOCGIF* / SIOCSIF*
 * ioctls on that namespace's interfaces. */
int netns_open_ioctl_socket(int netns_fd);

/* The id the namespace of netns_fd has in the namespace of the rtnl socket (the id
 * netlink messages from it carry). Returns the id (>= 0), -ENOENT when it has none, or
 * -errno. */
int netns_get_nsid(struct nl_sock *rtnl, int netns_fd);

/* The same, assigning an id when it has none. */
int netns_get_or_assign_nsid(struct nl_sock *rtnl, int netns_fd);
