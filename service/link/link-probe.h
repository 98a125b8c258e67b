/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The probe: reads a TUN device's link state with ioctls only, no netlink and nothing
 * that touches its traffic. Works in any namespace, given a socket in it. */

#include <net/if.h>

#include "link-state.h"

/* Index, name, MTU and IFF_UP && IFF_RUNNING of the device of tun_fd, through ioctl_fd, a
 * socket in the namespace the device is in; IFF_UP alone in *ret_admin_up. -EBADFD: gone;
 * -EAGAIN: renamed or moved while being read, try again. */
int link_probe_read(int tun_fd, int ioctl_fd, LinkState *ret, bool *ret_admin_up);
