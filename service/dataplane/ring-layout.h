/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where everything of a ring fd's shared memory lies (libtund/tund-ring.h), computed from
 * its sizes alone: the service keeps this private copy and never reads the shared header. */

#include <stdbool.h>
#include <stdint.h>

#include "tund-ring.h"

/* The most memory one ring fd's memfd takes: both rings' slots at TUND_RING_BYTES_MAX,
 * and their indices and descriptors at TUND_RING_SLOTS_MAX, with the header. */
#define RING_LAYOUT_MEMORY_MAX                                                          \
        ((uint64_t) TUND_RING_COUNT * (TUND_RING_BYTES_MAX + 4u * TUND_RING_CACHE_LINE + \
                                       TUND_RING_SLOTS_MAX * sizeof(struct tund_ring_desc)) + 3u * 4096u)

/* Whether the sizes are within the bounds of tund-ring.h; says why not. */
bool ring_layout_sizes_valid(uint32_t ring_slots, uint32_t slot_size, const char **ret_reason);

/* Fills in the header for valid sizes. */
void ring_layout_compute(uint32_t ring_slots, uint32_t slot_size, bool vnet, struct tund_ring_header *ret);
