/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.freedesktop.LogControl1 on /org/freedesktop/LogControl1, as systemd's daemons have
 * it: `systemctl service-log-level tund debug` and `service-log-target` work. Reading is
 * open to everyone, setting needs uid 0. */

#include <systemd/sd-bus.h>

#include "bus-peers.h"

int log_control_register(sd_bus *bus, BusPeers *peers);
