/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Field access and header parsing shared by split.c and gro.c. Internal to the offload
 * core. Packets are plain byte arrays; every accessor takes a pointer the caller has
 * already bounds-checked. */

#include <stdbool.h>
#include <stddef.h>
#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "checksum.h"
#include "offload.h"

#define IPV4_MIN_HDR_LEN 20u
#define IPV6_HDR_LEN 40u
#define TCP_MIN_HDR_LEN 20u
#define TCP_MAX_HDR_LEN 60u
#define UDP_HDR_LEN 8u
#define IP_MAX_PACKET 65535u

#define PROTO_TCP 6u
#define PROTO_UDP 17u
#define IPV6_PROTO_ROUTING 43u
#define IPV6_PROTO_FRAGMENT 44u

/* Offsets of the fields the core touches. */
#define IPV4_TOS 1
#define IPV4_TOT_LEN 2
#define IPV4_ID 4
#define IPV4_FRAG 6
#define IPV4_TTL 8
#define IPV4_PROTO 9
#define IPV4_CSUM 10
#define IPV4_SADDR 12
#define IPV4_DADDR 16
#define IPV4_RESERVED 0x8000u
#define IPV4_DF 0x4000u
#define IPV4_MF 0x2000u
#define IPV4_OFFSET_MASK 0x1fffu

#define IPV6_PAYLOAD_LEN 4
#define IPV6_NEXT_HDR 6
#define IPV6_EXT_HOP_BY_HOP 0u
#define IPV6_EXT_DEST_OPTS 60u
#define IPV6_HOP_LIMIT 7
#define IPV6_SADDR 8
#define IPV6_DADDR 24

#define TCP_SEQ 4
#define TCP_ACK 8
#define TCP_DOFF 12
#define TCP_FLAGS 13
#define TCP_WINDOW 14
#define TCP_CSUM 16
#define TCP_CSUM_OFFSET 16u
#define TCP_URG_PTR 18

#define TCP_FIN 0x01u
#define TCP_SYN 0x02u
#define TCP_RST 0x04u
#define TCP_PSH 0x08u
#define TCP_ACK_FLAG 0x10u
#define TCP_URG 0x20u
#define TCP_ECE 0x40u
#define TCP_CWR 0x80u

#define UDP_LEN 4
#define UDP_CSUM 6
#define UDP_CSUM_OFFSET 6u

static inline size_t min_size(size_t a, size_t b) {
        return a < b ? a : b;
}

/* A single load or store and a byte swap each (written byte by byte, GCC keeps byte
 * stores). */
static inline uint16_t get_be16(const uint8_t *p) {
        uint16_t v;
        memcpy(&v, p, sizeof(v));
        return be16toh(v);
}

static inline uint32_t get_be32(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, sizeof(v));
        return be32toh(v);
}

static inline void put_be16(uint8_t *p, uint16_t v) {
        uint16_t be = htobe16(v);
        memcpy(p, &be, sizeof(be));
}

static inline void put_be32(uint8_t *p, uint32_t v) {
        uint32_t be = htobe32(v);
        memcpy(p, &be, sizeof(be));
}

/* Checksums are stored as csum_fold() returns them (see checksum.h). */
static inline void put_csum(uint8_t *p, uint16_t folded) {
        memcpy(p, &folded, sizeof(folded));
}

/* The IP layer of a packet, as parsed by ip_parse(). */
typedef struct IpInfo {
        uint8_t version;        /* 4 or 6 */
        uint8_t proto;          /* the upper-layer protocol after any IPv6 extension headers */
        bool fragment;          /* IPv4 MF/offset set, or an IPv6 fragment header */
        bool ext_headers;       /* IPv4 options or IPv6 extension headers present */
        uint16_t l3_len;        /* IP header incl. options / extension headers */
        uint32_t ip_len;        /* the packet's length per its IP header (<= bytes present) */
} IpInfo;

/* Parses and bounds-checks the IP header(s) of pkt (len bytes present). IPv6 hop-by-hop and
 * destination options headers are walked; any other header ends the walk and is reported
 * as proto (a fragment header also sets fragment). Returns OFFLOAD_DROP_NONE or why the
 * packet is refused. */
OffloadDrop ip_parse(const uint8_t *pkt, size_t len, IpInfo *ret);

/* Sum of the pseudo-header of pkt (parsed as ip) for an L4 length of l4_len. */
static inline uint32_t ip_pseudo_sum(const uint8_t *pkt, const IpInfo *ip, uint32_t l4_len) {
        uint64_t s = ip->version == 4 ? csum_words32(pkt + IPV4_SADDR, 8) : csum_words32(pkt + IPV6_SADDR, 32);
        uint32_t be_len = htobe32(l4_len);
        s += csum_be16(ip->proto) + (be_len & 0xffff) + (be_len >> 16);
        return csum_fold64(s);
}

/* Writes the IPv4 total length and header checksum, or the IPv6 payload length, for a
 * packet of ip_len bytes. */
void ip_set_length(uint8_t *pkt, const IpInfo *ip, uint32_t ip_len);

/* Stores a complete L4 checksum; a UDP checksum that computes to 0 is sent as 0xffff. */
static inline void put_l4_csum(uint8_t *field, uint32_t sum, uint8_t proto) {
        uint16_t c = csum_fold_inline(sum);
        if (c == 0 && proto == PROTO_UDP)
                c = 0xffff;
        put_csum(field, c);
}
