/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the D-Bus faces of the manager and the devices. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "macro.h"

/* For a failed read of a method's arguments: what the caller sent wrong becomes
 * InvalidArgs with words to act on; other errors pass unchanged. */
int bus_read_failed(int r, sd_bus_error *error);

/* Reads an "as" of offload names and checks it: unknown names and inconsistent sets get
 * InvalidArgs, names the kernel lacks (not in supported) NotSupported. */
int bus_read_offloads(sd_bus_message *m, unsigned supported, unsigned *ret, sd_bus_error *error);
int bus_append_offloads(sd_bus_message *m, unsigned offloads);
/* Raw devices: offloads only with a vnet header, and only the kernel's (InvalidArgs). */
int bus_check_raw_offloads(bool raw, bool vnet_header, unsigned offloads, sd_bus_error *error);

/* A string for the type of a variant the caller sent, for error messages. */
const char *bus_type_name(const char *signature);
