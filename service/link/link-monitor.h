/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Watches the links of tund's devices: rtnetlink (RTNLGRP_LINK, through libnl-3) in every
 * namespace a device is in, plus a probe per device as the backstop. Runs on the control
 * plane's sd-event loop and never blocks it. Reports states, not events: the caller
 * compares with what it last saw, so each change is reported once whichever source saw it
 * first. */

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct LinkMonitor LinkMonitor;
typedef struct LinkWatch LinkWatch;

typedef struct LinkState {
        int ifindex;                    /* in the namespace the device is in now */
        char name[IFNAMSIZ];
        uint32_t mtu;
        bool up;                        /* IFF_UP and IFF_RUNNING */
} LinkState;

typedef struct LinkWatchOps {
        void (*changed)(LinkWatch *w, const LinkState *state, void *userdata);
        /* The device is gone: deleted, or its namespace destroyed. Not called on a move. */
        void (*gone)(LinkWatch *w, void *userdata);
} LinkWatchOps;

int link_monitor_new(LinkMonitor **ret, sd_event *e);
LinkMonitor *link_monitor_free(LinkMonitor *m);

/* tun_fd is borrowed and must stay open while the watch lives. */
int link_monitor_watch(LinkMonitor *m, int tun_fd, const LinkWatchOps *ops, void *userdata,
                       LinkWatch **ret);
LinkWatch *link_watch_free(LinkWatch *w);

/* The state as last seen (no I/O). */
const LinkState *link_watch_state(LinkWatch *w);
