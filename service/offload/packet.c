/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "packet.h"

#define IPV6_MAX_EXT_HEADERS 8

static OffloadDrop ipv4_parse(const uint8_t *pkt, size_t len, IpInfo *ret) {
        if (len < IPV4_MIN_HDR_LEN)
                return OFFLOAD_DROP_TRUNCATED;

        size_t ihl = (size_t) (pkt[0] & 0x0f) * 4;
        if (ihl < IPV4_MIN_HDR_LEN)
                return OFFLOAD_DROP_BAD_IP_HEADER;
        if (ihl > len)
                return OFFLOAD_DROP_TRUNCATED;

        size_t tot_len = get_be16(pkt + IPV4_TOT_LEN);
        if (tot_len < ihl)
                return OFFLOAD_DROP_BAD_IP_HEADER;
        if (tot_len > len)
                return OFFLOAD_DROP_TRUNCATED;

        uint16_t frag = get_be16(pkt + IPV4_FRAG);
        *ret = (IpInfo) {
                .version = 4,
                .proto = pkt[IPV4_PROTO],
                .fragment = (frag & (IPV4_MF | IPV4_OFFSET_MASK)) != 0,
                .ext_headers = ihl > IPV4_MIN_HDR_LEN,
                .l3_len = (uint16_t) ihl,
                .ip_len = (uint32_t) tot_len,
        };
        return OFFLOAD_DROP_NONE;
}

static OffloadDrop ipv6_parse(const uint8_t *pkt, size_t len, IpInfo *ret) {
        if (len < IPV6_HDR_LEN)
                return OFFLOAD_DROP_TRUNCATED;

        size_t payload_len = get_be16(pkt + IPV6_PAYLOAD_LEN);
        if (payload_len == 0)   /* a jumbogram, or nothing: neither can be handled */
                return OFFLOAD_DROP_BAD_IP_HEADER;
        size_t ip_len = IPV6_HDR_LEN + payload_len;
        if (ip_len > len)
                return OFFLOAD_DROP_TRUNCATED;

        /* Hop-by-hop and destination options are walked; anything else (the upper layer,
         * a fragment or routing header, ...) ends the walk. A routing header is not
         * walked because it changes the destination the pseudo-header must use. */
        uint8_t next = pkt[IPV6_NEXT_HDR];
        size_t off = IPV6_HDR_LEN;
        for (int n = 0; next == IPV6_EXT_HOP_BY_HOP || next == IPV6_EXT_DEST_OPTS; n++) {
                if (next == IPV6_EXT_HOP_BY_HOP && n > 0)
                        return OFFLOAD_DROP_BAD_IP_HEADER;      /* only allowed first */
                if (n >= IPV6_MAX_EXT_HEADERS)
                        return OFFLOAD_DROP_BAD_IP_HEADER;
                if (off + 8 > ip_len)
                        return OFFLOAD_DROP_TRUNCATED;
                size_t ext_len = ((size_t) pkt[off + 1] + 1) * 8;
                if (off + ext_len > ip_len)
                        return OFFLOAD_DROP_TRUNCATED;
                next = pkt[off];
                off += ext_len;
        }

        *ret = (IpInfo) {
                .version = 6,
                .proto = next,
                .fragment = next == IPV6_PROTO_FRAGMENT,
                .ext_headers = off > IPV6_HDR_LEN,
                .l3_len = (uint16_t) off,
                .ip_len = (uint32_t) ip_len,
        };
        return OFFLOAD_DROP_NONE;
}

OffloadDrop ip_parse(const uint8_t *pkt, size_t len, IpInfo *ret) {
        if (len < 1)
                return OFFLOAD_DROP_TRUNCATED;

        switch (pkt[0] >> 4) {
        case 4:
                return ipv4_parse(pkt, len, ret);
        case 6:
                return ipv6_parse(pkt, len, ret);
        default:
                return OFFLOAD_DROP_BAD_VERSION;
        }
}

void ip_set_length(uint8_t *pkt, const IpInfo *ip, uint32_t ip_len) {
        if (ip->version == 4) {
                put_be16(pkt + IPV4_TOT_LEN, (uint16_t) ip_len);
                put_csum(pkt + IPV4_CSUM, 0);
                put_csum(pkt + IPV4_CSUM, csum_fold(csum_partial(pkt, ip->l3_len, 0)));
        } else
                put_be16(pkt + IPV6_PAYLOAD_LEN, (uint16_t) (ip_len - IPV6_HDR_LEN));
}
