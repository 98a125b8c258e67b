/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* <linux/if_tun.h> with what kernel headers older than 6.2 lack: the UDP segmentation
 * offloads (USO), which the running kernel may have even where its headers do not. */

#include <linux/if_tun.h>

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif
