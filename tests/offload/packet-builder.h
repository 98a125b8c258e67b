/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Builds IPv4/IPv6 TCP/UDP packets and kernel-style super-packets for the tests, and checks
 * checksums with a byte-by-byte RFC 1071 sum that shares no code with the core. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct PacketSpec {
        int version;            /* 4 or 6 */
        uint8_t proto;          /* 6 TCP, 17 UDP, or another protocol number */
        uint16_t sport, dport;
        uint32_t seq, ack;
        uint8_t tcp_flags;      /* 0 means ACK */
        size_t tcp_opts_len;    /* multiple of 4, filled with NOPs and a timestamp */
        uint16_t ip_id;
        bool df;
        uint8_t tos;            /* IPv4 TOS or IPv6 traffic class */
        uint8_t ttl;            /* 0 means 64 */
        uint32_t flow_label;
        size_t ipv4_opts_len;   /* multiple of 4 */
        size_t ipv6_dstopts_len;/* a destination options header of this size (multiple of 8) */
        uint8_t addr_tail;      /* varies the last byte of the source address */
} PacketSpec;

#define VNET_MSG_MAX (10 + 65536 + 64)

/* A packet with complete checksums. Returns its length. */
size_t build_packet(uint8_t *buf, const PacketSpec *s, const uint8_t *payload, size_t payload_len);

/* A message as a TUN with offloads hands it over: virtio_net_hdr (NEEDS_CSUM, gso fields)
 * then one packet with the pseudo-header sum in the L4 checksum field. gso_size 0 gives
 * GSO_NONE with a partial checksum. */
size_t build_super(uint8_t *msg, const PacketSpec *s, const uint8_t *payload, size_t payload_len,
                   uint16_t gso_size, bool ecn);

/* The header length (IP + L4) of a packet built from s. */
size_t spec_hdr_len(const PacketSpec *s);

/* RFC 1071 over big-endian words, returned as a host value; 0 means it verifies. */
uint16_t ref_csum(const uint8_t *p, size_t len, uint32_t initial);

/* True when pkt's IPv4 header checksum (if any), lengths and L4 checksum are all right. */
bool packet_checksums_ok(const uint8_t *pkt, size_t len);

/* Offset of the L4 header (walking IPv6 destination options), or 0 when not found. */
size_t packet_l4_offset(const uint8_t *pkt, size_t len);

void fill_pattern(uint8_t *p, size_t len, uint32_t seed);
