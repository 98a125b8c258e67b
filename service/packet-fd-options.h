/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "dataplane.h"

/* Reads OpenPacketFd's a{sv} of options into *ret: Mode (s), and for mode "ring" Vnet (b),
 * RingSlots (u), SlotSize (u). Anything else, twice, of another type or out of bounds
 * sets InvalidArgs on error. */
int packet_fd_options_read(sd_bus_message *message, ClientOptions *ret, sd_bus_error *error);
