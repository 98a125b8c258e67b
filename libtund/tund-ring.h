/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef TUND_RING_H
#define TUND_RING_H

/* The shared memory of a packet fd in mode "ring" (tund-ring(7)): the layout a client maps
 * from the memfd that the service sends as the socket's first message.
 *
 *   offset 0                  struct tund_ring_header (also the first message's payload)
 *   header.ring[r].producer   uint32_t, free-running, on a cache line of its own
 *   header.ring[r].consumer   uint32_t, free-running, on a cache line of its own
 *   header.ring[r].need_wakeup uint32_t, written by the ring's consumer, own cache line
 *   header.ring[r].need_room  uint32_t, written by the ring's producer, own cache line
 *   header.ring[r].descs      ring_slots x struct tund_ring_desc
 *   header.ring[r].slots      ring_slots x slot_size bytes
 *
 * Ring TUND_RING_TO_CLIENT carries packets from the service (it produces, the client
 * consumes), ring TUND_RING_TO_SERVICE the other way. Entry i of a ring (i & (ring_slots -
 * 1)) is descriptor descs[i] and slot slots + i * slot_size: a slot belongs to its entry,
 * descriptors carry no offsets. Every offset is from the start of the memory, and every
 * field is in host byte order. */

#include <stdint.h>

#define TUND_RING_MAGIC         UINT32_C(0x676e7274)    /* "trng" read as a little-endian uint32 */
/* 2: need_room, in the header's former reserved bytes (1 had no way to wait for room). */
#define TUND_RING_VERSION       UINT32_C(2)
#define TUND_RING_CACHE_LINE    64u

/* RingSlots: a power of two in [MIN, MAX]. SlotSize: a multiple of 64 in [MIN, MAX].
 * Besides, a ring's slots (ring_slots * slot_size) take from TUND_RING_BYTES_MIN (room for
 * the largest vnet message, twice) to TUND_RING_BYTES_MAX. */
#define TUND_RING_SLOTS_MIN             64u
#define TUND_RING_SLOTS_MAX             16384u
#define TUND_RING_SLOTS_DEFAULT         1024u
#define TUND_RING_SLOT_SIZE_MIN         256u
#define TUND_RING_SLOT_SIZE_MAX         65536u
#define TUND_RING_SLOT_SIZE_DEFAULT     2048u
#define TUND_RING_BYTES_MIN             (256u << 10)
#define TUND_RING_BYTES_MAX             (4u << 20)

/* The largest packet (plain) and message (vnet: a 10-byte virtio_net_hdr first). */
#define TUND_RING_PACKET_MAX            65535u
#define TUND_RING_VNET_HDR_LEN          10u
#define TUND_RING_VNET_MESSAGE_MAX      (TUND_RING_VNET_HDR_LEN + TUND_RING_PACKET_MAX)

enum {
        TUND_RING_TO_CLIENT = 0,
        TUND_RING_TO_SERVICE = 1,
        TUND_RING_COUNT = 2,
};

/* header.flags */
#define TUND_RING_F_VNET                UINT32_C(0x1)   /* entries carry vnet messages */

/* tund_ring_desc.flags: the packet goes on in the next entry. Every part but the last of
 * such a chain fills its slot (len == slot_size). */
#define TUND_RING_DESC_NEXT             UINT16_C(0x1)
#define TUND_RING_DESC_FLAGS_KNOWN      TUND_RING_DESC_NEXT

struct tund_ring_desc {
        uint32_t len;                   /* bytes used in the entry's slot, 1..slot_size */
        uint16_t flags;                 /* TUND_RING_DESC_*; nothing else may be set */
        uint16_t reserved;              /* 0 */
};

struct tund_ring_offsets {
        uint64_t producer;
        uint64_t consumer;
        uint64_t need_wakeup;
        uint64_t need_room;
        uint64_t descs;
        uint64_t slots;
};

struct tund_ring_header {
        uint32_t magic;                 /* TUND_RING_MAGIC */
        uint32_t version;               /* TUND_RING_VERSION: the layout of this header */
        uint32_t header_size;           /* sizeof(struct tund_ring_header) */
        uint32_t flags;                 /* TUND_RING_F_* */
        uint32_t ring_slots;            /* entries per ring, a power of two */
        uint32_t slot_size;             /* bytes per slot */
        uint64_t memory_size;           /* of the whole memfd */
        struct tund_ring_offsets ring[TUND_RING_COUNT];
};

_Static_assert(sizeof(struct tund_ring_desc) == 8, "descriptors are 8 bytes");
_Static_assert(sizeof(struct tund_ring_header) == 128, "the header is 128 bytes");

#endif
