/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A link's state as the kernel reports it, wherever the device is. */

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct LinkState {
        int ifindex;                    /* in the namespace the device is in now */
        char name[IFNAMSIZ];
        uint32_t mtu;
        bool up;                        /* IFF_UP and IFF_RUNNING */
} LinkState;
