/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The kernel's TUN driver. The fds of tund's own devices are opened with
 * IFF_TUN|IFF_NO_PI|IFF_VNET_HDR; raw devices are IFF_TUN|IFF_NO_PI|IFF_MULTI_QUEUE (with
 * IFF_VNET_HDR if asked for), and tund's own fd of one is a detached queue: it keeps the
 * device and answers its ioctls, but the kernel steers no packet to it. */

#include <net/if.h>
#include <stdbool.h>

/* Creates a new device. name: "" (the kernel picks tun%d), a pattern with one %d, or an
 * exact name, which must not exist yet (-EBUSY if it does). On success *ret_fd is the
 * device's fd and ret_name (IFNAMSIZ bytes) its name. */
int tun_create(const char *name, int *ret_fd, char ret_name[static IFNAMSIZ]);

/* Attaches to an existing persistent device by name. -ENODEV when no persistent TUN of
 * that name exists (nothing is created). */
int tun_attach(const char *name, int *ret_fd);

/* A raw device: created like tun_create(), and tund's queue detached at once. */
int tun_create_raw(const char *name, bool vnet_header, int *ret_fd, char ret_name[static IFNAMSIZ]);
/* Attaches to an existing persistent raw device (its queue detached), as tun_attach(). */
int tun_attach_raw(const char *name, bool vnet_header, int *ret_fd);
/* A new queue of the raw device of this name in the caller's namespace, for a client:
 * blocking, as a plain open() gives. TUNSETIFF looks the name up in the caller's
 * namespace and creates a device when there is none: the caller checks what it got. */
int tun_open_queue(const char *name, bool vnet_header, int *ret_fd);
/* Detaches the queue of fd (TUNSETQUEUE IFF_DETACH_QUEUE); one detached already is fine. */
int tun_detach_queue(int fd);

/* The name and IFF_* flags of the device behind a TUN fd. */
int tun_get_info(int fd, char ret_name[static IFNAMSIZ], unsigned *ret_flags);

/* Whether the device is in the network namespace of the caller now (TUNGETDEVNETNS). */
int tun_in_own_netns(int fd);

/* TUN_F_* flags for TUNSETOFFLOAD, from the kernel bits of a set of Offload bits
 * (offload-names.h); tund's own offloads have none. */
unsigned tun_flags_from_offloads(unsigned offloads);
int tun_set_offloads(int fd, unsigned offloads);
int tun_set_persist(int fd, bool persist);

/* The kernel offloads (Offload bits, offload-names.h) this kernel accepts, found by trying them
 * on a scratch device. */
int tun_probe_offloads(unsigned *ret);
