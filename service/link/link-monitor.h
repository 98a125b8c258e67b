/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Watches the links of tund's devices: rtnetlink (RTNLGRP_LINK, through libnl-3) from
 * every namespace a device is in, plus a probe per device as the backstop. Runs on the
 * control plane's sd-event loop and never blocks it. Reports states: ops->changed runs
 * only when the state differs from the one last reported, so each change is reported once
 * whichever source saw it first, and nothing when idle.
 *
 * One netlink socket, in the monitor's namespace, hears the others through
 * NETLINK_LISTEN_ALL_NSID (needs CAP_NET_BROADCAST; without it only our own namespace is
 * heard and the probe alone covers devices moved elsewhere); every namespace a device is
 * in gets an id here. Nothing of the monitor stays inside a device's namespace, which
 * would keep it alive after `ip netns delete`. The probe reads TUNGETIFF and SIOCGIF*
 * ioctls in our namespace and asks with RTM_GETLINK addressed by namespace id elsewhere
 * (see netns.h). */

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "link-state.h"

typedef struct LinkMonitor LinkMonitor;
typedef struct LinkWatch LinkWatch;

/* Callbacks run from the event loop, at most one per change. They may free their own
 * watch (or any other), not the monitor. After gone, the watch reports nothing more. */
typedef struct LinkWatchOps {
        void (*changed)(LinkWatch *w, const LinkState *state, void *userdata);
        /* The device is gone: deleted, or its namespace destroyed. Not called on a move. */
        void (*gone)(LinkWatch *w, void *userdata);
} LinkWatchOps;

int link_monitor_new(LinkMonitor **ret, sd_event *e);
/* Frees the watches still left too. */
LinkMonitor *link_monitor_free(LinkMonitor *m);

/* tun_fd is borrowed and must stay open while the watch lives. -ENODEV: the device is
 * gone already. */
int link_monitor_watch(LinkMonitor *m, int tun_fd, const LinkWatchOps *ops, void *userdata,
                       LinkWatch **ret);
LinkWatch *link_watch_free(LinkWatch *w);

/* The state as last reported (no I/O). Right after link_monitor_watch() it is the
 * device's state at that moment, which is not reported through ops->changed; a device
 * that is up and only waits for the kernel to mark it running (its carrier came with the
 * fd just attached, as after a restart) counts as up. */
const LinkState *link_watch_state(LinkWatch *w);

/* Brings the reported state up to date now, in order: what tund itself just changed (the
 * kernel queued its notification before the change's request returned) is reported before
 * this returns, after any older change still queued. Callbacks run from here. */
void link_watch_refresh(LinkWatch *w);

/* How often the probe looks at every device (default LINK_PROBE_INTERVAL_USEC). */
#define LINK_PROBE_INTERVAL_USEC (1000 * 1000ULL)
int link_monitor_set_probe_interval(LinkMonitor *m, uint64_t usec);

/* Netlink notifications on (default) or off, leaving the probe alone. For tests and
 * benchmarks. */
int link_monitor_set_netlink(LinkMonitor *m, bool enabled);

/* The netlink socket's receive buffer, to provoke overruns in tests. */
int link_monitor_set_netlink_buffer_size(LinkMonitor *m, int bytes);
