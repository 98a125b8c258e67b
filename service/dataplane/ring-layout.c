/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The layout of a ring fd's memory: the header, then each ring's producer, consumer and
 * need_wakeup and need_room lines and descriptors, then, page-aligned, each ring's slots. */

#include <stddef.h>

#include "macro.h"
#include "ring-layout.h"

#define PAGE 4096u

static uint64_t align_up(uint64_t v, uint64_t a) {
        return (v + a - 1) & ~(a - 1);
}

bool ring_layout_sizes_valid(uint32_t ring_slots, uint32_t slot_size, const char **ret_reason) {
        uint64_t bytes = (uint64_t) ring_slots * slot_size;

        if (ring_slots < TUND_RING_SLOTS_MIN || ring_slots > TUND_RING_SLOTS_MAX ||
            (ring_slots & (ring_slots - 1)) != 0)
                return fail_because(ret_reason, "RingSlots must be a power of two from 64 to 16384");
        if (slot_size < TUND_RING_SLOT_SIZE_MIN || slot_size > TUND_RING_SLOT_SIZE_MAX || slot_size % 64 != 0)
                return fail_because(ret_reason, "SlotSize must be a multiple of 64 from 256 to 65536");
        if (bytes < TUND_RING_BYTES_MIN || bytes > TUND_RING_BYTES_MAX)
                return fail_because(ret_reason, "RingSlots times SlotSize must be from 256 KiB to 4 MiB");
        return true;
}

void ring_layout_compute(uint32_t ring_slots, uint32_t slot_size, bool vnet, struct tund_ring_header *ret) {
        uint64_t off = align_up(sizeof(struct tund_ring_header), TUND_RING_CACHE_LINE);

        *ret = (struct tund_ring_header) {
                .magic = TUND_RING_MAGIC,
                .version = TUND_RING_VERSION,
                .header_size = sizeof(struct tund_ring_header),
                .flags = vnet ? TUND_RING_F_VNET : 0,
                .ring_slots = ring_slots,
                .slot_size = slot_size,
        };

        for (unsigned r = 0; r < TUND_RING_COUNT; r++) {
                struct tund_ring_offsets *o = &ret->ring[r];

                o->producer = off;
                o->consumer = off + TUND_RING_CACHE_LINE;
                o->need_wakeup = off + 2 * TUND_RING_CACHE_LINE;
                o->need_room = off + 3 * TUND_RING_CACHE_LINE;
                o->descs = off + 4 * TUND_RING_CACHE_LINE;
                off = align_up(o->descs + (uint64_t) ring_slots * sizeof(struct tund_ring_desc), TUND_RING_CACHE_LINE);
        }
        off = align_up(off, PAGE);
        for (unsigned r = 0; r < TUND_RING_COUNT; r++) {
                ret->ring[r].slots = off;
                off += (uint64_t) ring_slots * slot_size;
        }
        ret->memory_size = align_up(off, PAGE);
}
