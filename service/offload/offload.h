/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The public face of the offload core: pure code, no I/O, no allocation on the hot path.
 *
 *   read side  (kernel -> client): offload_split()    in split.c
 *   write side (client -> kernel): GroBatch           in gro.c
 *   checksums:                     checksum.h
 *
 * Every function here takes buffers in and writes buffers out; none blocks, logs or
 * allocates, except gro_batch_new()/gro_batch_free() which are meant for set-up time. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vnet.h"

/* Why a packet was refused. Each has a stable name (offload_drop_to_string) so callers can
 * count them per reason. */
typedef enum OffloadDrop {
        OFFLOAD_DROP_NONE = 0,
        OFFLOAD_DROP_TRUNCATED,         /* shorter than the headers it claims */
        OFFLOAD_DROP_BAD_VERSION,       /* not IPv4/IPv6, or not the version gso_type says */
        OFFLOAD_DROP_BAD_IP_HEADER,     /* IHL, lengths, fragments, options we refuse */
        OFFLOAD_DROP_BAD_L4_HEADER,     /* TCP data offset outside 20..60, UDP length, ... */
        OFFLOAD_DROP_BAD_GSO,           /* unknown gso_type, gso_size 0, ECN w/o TCP, ... */
        OFFLOAD_DROP_BAD_CSUM_OFFSETS,  /* csum_start/csum_offset outside the packet */
        OFFLOAD_DROP_TOO_BIG,           /* a segment would exceed the MTU and cannot be cut */
        OFFLOAD_DROP_BAD_CHECKSUM,      /* (write side) a packet whose checksum is wrong */
        _OFFLOAD_DROP_MAX,
} OffloadDrop;

const char *offload_drop_to_string(OffloadDrop d);

/* ---- Read side ------------------------------------------------------------------------ */

typedef struct SplitOutput {
        /* in: caller-owned room */
        uint8_t *buf;                   /* segments are written here back to back */
        size_t buf_size;
        struct iovec *segs;             /* one entry per packet produced, into buf */
        size_t max_segs;
        /* out */
        size_t n_segs;
        OffloadDrop drop;               /* why, when offload_split() returned -EINVAL */
        size_t needed_segs;             /* when it returned -ENOBUFS: the room it needs */
        size_t needed_bytes;
} SplitOutput;

/* Turns one message read from a TUN with IFF_VNET_HDR (header + packet) into plain IP
 * packets no longer than mtu, each with complete, valid checksums.
 * Returns the number of packets (also in out->n_segs), or
 *   -EINVAL   the message is refused, out->drop says why;
 *   -ENOBUFS  out has not room enough; nothing is lost, out->needed_* say how much. */
int offload_split(const uint8_t *msg, size_t len, uint32_t mtu, SplitOutput *out);

/* ---- Write side (GRO) ----------------------------------------------------------------- */

typedef struct GroBatch GroBatch;

typedef struct GroStats {
        uint64_t merged;                /* packets merged into another packet */
        uint64_t invalid;               /* packets refused (per-reason counts below) */
        uint64_t drops[_OFFLOAD_DROP_MAX];
} GroStats;

/* Set-up time: room for max_packets input packets per batch. */
int gro_batch_new(GroBatch **ret, size_t max_packets);
GroBatch *gro_batch_free(GroBatch *b);

void gro_batch_set_tcp(GroBatch *b, bool enable);
void gro_batch_set_udp(GroBatch *b, bool enable);

/* Starts a new batch; forgets the previous output. */
void gro_batch_reset(GroBatch *b);

/* Adds one plain IP packet written by a client. The bytes are copied (and their checksum
 * verified in the same pass) so the caller may reuse its buffer at once.
 * Returns 0, -EINVAL for a packet that is refused (counted in stats, never output),
 * or -ENOBUFS when the batch is full (flush first). */
int gro_batch_add(GroBatch *b, const uint8_t *pkt, size_t len);

/* Finishes the batch: fills *ret_msgs with the messages to write to the TUN, each a
 * virtio_net_hdr followed by a (possibly coalesced) packet, in an order that keeps every
 * flow's packets in order. The iovecs point into b and stay valid until the next reset.
 * Returns the number of messages. */
size_t gro_batch_finish(GroBatch *b, const struct iovec **ret_msgs);

/* For message i of the last finish(): its original packets, each as a message with a
 * zeroed virtio_net_hdr, for resending when the kernel refuses the coalesced one.
 * Returns the count, *ret_msgs valid until the next reset. */
size_t gro_batch_unmerge(GroBatch *b, size_t i, const struct iovec **ret_msgs);

const GroStats *gro_batch_stats(const GroBatch *b);
