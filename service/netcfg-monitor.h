/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Hears the kernel's address and route notifications of tund's own network namespace
 * (RTNLGRP_IPV4/IPV6_IFADDR and _ROUTE) on the control loop, beside the link events, and
 * tells each one by ifindex. Whoever owns it maps ifindexes to devices. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "rtnl-addr.h"

typedef struct NetcfgMonitor NetcfgMonitor;

/* Each may be NULL. present: a RTM_NEW* (the object is there), else a RTM_DEL*. */
typedef struct NetcfgMonitorOps {
        void (*address)(int ifindex, const NetAddress *a, bool present, void *userdata);
        /* replace: the route took the place of the one with the same destination, metric
         * and table (NLM_F_REPLACE). */
        void (*route)(int ifindex, const NetRoute *r, bool present, bool replace, void *userdata);
        /* Notifications were lost (the socket overran): everything is to be read again. */
        void (*overrun)(void *userdata);
} NetcfgMonitorOps;

int netcfg_monitor_new(NetcfgMonitor **ret, sd_event *e, const NetcfgMonitorOps *ops, void *userdata);
NetcfgMonitor *netcfg_monitor_free(NetcfgMonitor *m);

/* Tells now what is queued: after a change of tund's own the kernel has queued its
 * notification before answering the request, so the change is told before this returns. */
void netcfg_monitor_flush(NetcfgMonitor *m);
