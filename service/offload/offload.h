/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The public face of the offload core: pure code, no I/O, no allocation on the hot path.
 *
 *   read side  (kernel -> client): offload_split()    in split.c
 *   write side (client -> kernel): GroBatch           in gro.c
 *   checksums:                     checksum.h
 *
 * Every function here takes buffers in and writes buffers out; none blocks, logs or
 * allocates, except gro_batch_new()/gro_batch_free() which are meant for set-up time.
 * offload_split() keeps no state and may run on any number of threads at once; a GroBatch
 * belongs to one thread at a time.
 *
 * Nothing read from a packet or a virtio_net_hdr is trusted: every length and offset is
 * checked against the bytes present before it is used, and whatever does not add up is
 * refused with an OffloadDrop reason, never half processed. */

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
        uint8_t *buf;                   /* segments are written here back to back, */
        size_t buf_size;
        size_t stride;                  /* or, when not 0, segment i at buf + i * stride */
        struct iovec *segs;             /* one entry per packet produced, into buf */
        size_t max_segs;
        /* out */
        size_t n_segs;
        OffloadDrop drop;               /* why, when offload_split() returned -EINVAL */
        size_t needed_segs;             /* when it returned -ENOBUFS: the room it needs */
        size_t needed_bytes;
} SplitOutput;

/* Turns one message read from a TUN with IFF_VNET_HDR (header + packet) into plain IP
 * packets no longer than mtu (the largest IP packet, as the device MTU), each with
 * complete, valid checksums. The packets are written to out->buf back to back (or each at
 * a multiple of out->stride, when it is not 0: slots of a ring), described by
 * out->segs[0..n). With a stride, room means n * stride bytes and no packet longer than
 * the stride.
 *
 * GSO_NONE: the packet is copied; with NEEDS_CSUM its checksum is completed (csum_start
 *   and csum_offset bounds-checked; a result of 0 is sent as 0xffff, as the kernel does).
 *   A TCP packet longer than mtu is cut like a super-packet (a complete checksum is
 *   verified first: BAD_CHECKSUM); anything else longer than mtu is refused (TOO_BIG).
 * TCPV4, TCPV6 (also with the ECN bit), UDP_L4: split into segments of gso_size bytes of
 *   payload (the last may be shorter). Each segment gets its IPv4 total length, an ID
 *   incremented per segment and its header checksum, or its IPv6 payload length (IPv6
 *   hop-by-hop and destination options headers are kept and counted; routing and fragment
 *   headers are refused); TCP: the sequence number advanced, FIN and PSH only on the last
 *   segment, CWR only on the first; UDP: its length; and a full L4 checksum over pseudo-
 *   header, header and payload (a UDP checksum of 0 is sent as 0xffff).
 *   If headers + gso_size exceed mtu, TCP segments are cut to fit; UDP is refused
 *   (TOO_BIG), since a datagram's size is the application's.
 * hdr_len is ignored (recomputed from the packet); csum_start/csum_offset are checked but
 *   the checksums are computed afresh. Refused: gso_size 0, unknown gso_type, ECN on
 *   anything but TCP, an IP version other than gso_type's, a protocol other than
 *   gso_type's, truncated headers, IPv4 IHL < 5 or fragments, TCP data offset outside
 *   20..60, offsets past the end.
 *
 * Room: a message yields ceil(payload / segment size) packets taking headers * packets +
 * payload bytes. For the kernel's super-packets (at most 64 KiB) 128 segments and 128 KiB
 * are ample down to an MSS of 512; smaller ones need more, and -ENOBUFS says exactly how
 * much, so the caller can grow its room (or count a drop) and try the message again.
 *
 * Returns the number of packets (also in out->n_segs), or
 *   -EINVAL   the message is refused, out->drop says why (n_segs 0);
 *   -ENOBUFS  out has not room enough; nothing was written that counts, and
 *             out->needed_segs / needed_bytes say how much room the message needs. */
int offload_split(const uint8_t *msg, size_t len, uint32_t mtu, SplitOutput *out);

/* ---- Write side (GRO) -----------------------------------------------------------------
 *
 * A batch collects the plain IP packets a client wrote and coalesces them the way the
 * kernel's own GRO would:
 *   - TCP (v4, v6; if enabled) and UDP (v4, v6; if enabled) flows: same addresses, ports
 *     and protocol, and for TCP the same ACK number, reserved bits (AccECN's AE among
 *     them), window and identical option bytes;
 *   - TCP flags exactly ACK or ACK|PSH; a packet with PSH ends its run; no payload, no merge;
 *   - IPv4: equal TOS, TTL and DF, no options, not a fragment, the reserved fragment bit
 *     clear, IDs consecutive or all equal with DF; IPv6: equal traffic class, flow label and hop limit, no extension
 *     headers;
 *   - TCP: adjacent sequence numbers, appended or prepended (a late segment);
 *   - every segment of a run the same size but a shorter last, which ends the run;
 *     at most 65535 bytes of IP packet; UDP at most 64 datagrams and only with a checksum;
 *   - every TCP/UDP packet's checksum (and IPv4 header checksum) is verified as it is
 *     copied; a bad one is refused (BAD_CHECKSUM) and never sent, merged or not.
 * A merged packet goes out with NEEDS_CSUM, gso_type TCPV4/TCPV6/UDP_L4, hdr_len, gso_size,
 * csum_start, csum_offset, the first packet's headers with fixed lengths, IPv4 header
 * checksum, PSH if the last had it, and the pseudo-header sum in the L4 checksum field.
 * Everything else goes out unchanged behind an all-zero header. Each flow has one open
 * run; a packet of the flow that cannot join it starts the next, so every flow's packets
 * keep their order (a late TCP segment is put back in its place).
 * Refused as invalid (counted, never output): not IPv4/IPv6, truncated or inconsistent
 * headers, bytes after the IP packet, a TCP data offset below 20, a UDP length that
 * disagrees with the IP length, bad checksums (an IPv6 UDP checksum of 0 included). */

typedef struct GroBatch GroBatch;

typedef struct GroStats {
        uint64_t merged;                /* packets merged into another packet */
        uint64_t invalid;               /* packets refused (per-reason counts below) */
        uint64_t drops[_OFFLOAD_DROP_MAX];
} GroStats;

/* Set-up time: room for max_packets (1..65536) input packets per batch, and max_bytes
 * (at least GRO_BATCH_MIN_BYTES) for the packets they make. Each new run takes room for
 * all it may grow to: a TCP run that of the largest IP packet (GRO_BATCH_MIN_BYTES), a UDP
 * run 64 datagrams of its first one's size, a packet that merges with nothing its own
 * length, each with a virtio_net_hdr in front, rounded up to 64 bytes. max_bytes is
 * allocated as address space, touched only as far as runs fill it, from its start again
 * after each reset: small packets touch a few pages, and no batch touches more than
 * max_bytes. TCP and UDP coalescing start enabled. Besides max_bytes it allocates about
 * max_packets * 330 bytes + 134 KiB of tables.
 * gro_batch_new(): room for max_packets runs of the largest size (never full by bytes).
 * Return 0, -EINVAL or -ENOMEM. */
#define GRO_BATCH_MIN_BYTES (((VNET_HDR_LEN + 65535u) + 63u) & ~63u)
int gro_batch_new(GroBatch **ret, size_t max_packets);
int gro_batch_new_limited(GroBatch **ret, size_t max_packets, size_t max_bytes);
GroBatch *gro_batch_free(GroBatch *b);

void gro_batch_set_tcp(GroBatch *b, bool enable);
void gro_batch_set_udp(GroBatch *b, bool enable);

/* On by default: a packet is first tried against the newest run of its ports without being
 * parsed. Off, every packet takes the full parse. The output, unmerge results and stats are
 * the same either way; turning it off is for the tests and the fuzzer, which check that. */
void gro_batch_set_fast_path(GroBatch *b, bool enable);

/* Starts a new batch; forgets the previous output. Statistics are kept. */
void gro_batch_reset(GroBatch *b);

/* Adds one plain IP packet written by a client. The bytes are copied (and their checksum
 * verified in the same pass) so the caller may reuse its buffer at once.
 * Returns 0, -EINVAL for a packet that is refused (counted in stats, never output),
 * or -ENOBUFS when the batch is full, by packets or by room (flush first; an empty
 * batch always takes a packet). */
int gro_batch_add(GroBatch *b, const uint8_t *pkt, size_t len);

/* The same, for a packet in memory that others may change meanwhile (a client's ring
 * slots): it copies the packet's headers to private memory first and decides everything
 * from that copy; the payload is read once, as it is copied and its checksum verified. So
 * whatever changes, the batch stays sound, and a packet goes out as it was checked, or
 * not at all. The result is the same as gro_batch_add()'s for a packet nobody changes
 * (a len past the longest IP packet, 65575 bytes, is refused as BAD_IP_HEADER). */
int gro_batch_add_shared(GroBatch *b, const uint8_t *pkt, size_t len);

/* Finishes the batch: fills *ret_msgs with the messages to write to the TUN, each a
 * virtio_net_hdr followed by a (possibly coalesced) packet, in an order that keeps every
 * flow's packets in order. The iovecs point into b and stay valid until the next reset or
 * add. Returns the number of messages (0 for an empty batch). */
size_t gro_batch_finish(GroBatch *b, const struct iovec **ret_msgs);

/* For message i of the last finish(): its original packets, each as a message with a
 * zeroed virtio_net_hdr, for resending when the kernel refuses the coalesced one.
 * Returns the count, *ret_msgs valid until the next reset. */
size_t gro_batch_unmerge(GroBatch *b, size_t i, const struct iovec **ret_msgs);

/* Counters since gro_batch_new(), never reset. */
const GroStats *gro_batch_stats(const GroBatch *b);
