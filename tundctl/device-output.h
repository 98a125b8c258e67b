/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A device in words and in JSON, as list, status and stats show it. */

#include <stddef.h>

#include "json-writer.h"
#include "tundctl-bus.h"

/* "alice" or "1234" when the uid has no name. */
void format_owner(uint32_t uid, char *buf, size_t size);
/* "csum,tso4" or "none". */
char *format_offloads(char *const *offloads);
/* The device as one JSON object; FULL adds statistics, addresses and routes. */
void json_device(JsonWriter *w, const TundDevice *d, bool full);
/* The devices as a JSON array on stdout, pretty or short. */
void print_json_devices(TundDevice **devices, size_t n, bool pretty, bool full);
void json_stats(JsonWriter *w, const TundStat *stats, size_t n);
/* The status block of one device. */
void print_device_status(const TundDevice *d);
