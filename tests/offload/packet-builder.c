/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "packet-builder.h"
#include "vnet.h"

static void be16(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) (v >> 8);
        p[1] = (uint8_t) v;
}

static void be32(uint8_t *p, uint32_t v) {
        be16(p, v >> 16);
        be16(p + 2, v);
}

uint16_t ref_csum(const uint8_t *p, size_t len, uint32_t initial) {
        uint64_t s = initial;
        for (size_t i = 0; i + 1 < len; i += 2)
                s += (uint32_t) p[i] << 8 | p[i + 1];
        if (len & 1)
                s += (uint32_t) p[len - 1] << 8;
        while (s >> 16)
                s = (s & 0xffff) + (s >> 16);
        return (uint16_t) ~s;
}

static uint32_t ref_pseudo(const uint8_t *pkt, uint8_t proto, uint32_t l4_len) {
        uint32_t s = 0;
        const uint8_t *a = pkt[0] >> 4 == 4 ? pkt + 12 : pkt + 8;
        size_t alen = pkt[0] >> 4 == 4 ? 8 : 32;
        for (size_t i = 0; i < alen; i += 2)
                s += (uint32_t) a[i] << 8 | a[i + 1];
        s += proto + (l4_len >> 16) + (l4_len & 0xffff);
        return s;
}

size_t spec_hdr_len(const PacketSpec *s) {
        size_t l3 = s->version == 4 ? 20 + s->ipv4_opts_len : 40 + s->ipv6_dstopts_len;
        size_t l4 = s->proto == 6 ? 20 + s->tcp_opts_len : s->proto == 17 ? 8 : 0;
        return l3 + l4;
}

/* Writes the headers with the L4 checksum field zero. Returns the L4 offset. */
static size_t write_headers(uint8_t *buf, const PacketSpec *s, size_t payload_len) {
        size_t l3 = s->version == 4 ? 20 + s->ipv4_opts_len : 40 + s->ipv6_dstopts_len;
        size_t total = spec_hdr_len(s) + payload_len;
        uint8_t *l4 = buf + l3;

        memset(buf, 0, spec_hdr_len(s));
        if (s->version == 4) {
                buf[0] = (uint8_t) (0x40 | (l3 / 4));
                buf[1] = s->tos;
                be16(buf + 2, (uint32_t) total);
                be16(buf + 4, s->ip_id);
                be16(buf + 6, s->df ? 0x4000 : 0);
                buf[8] = s->ttl ? s->ttl : 64;
                buf[9] = s->proto;
                buf[12] = 10, buf[13] = 0, buf[14] = 0, buf[15] = (uint8_t) (1 + s->addr_tail);
                buf[16] = 10, buf[17] = 0, buf[18] = 1, buf[19] = 2;
                for (size_t i = 20; i < l3; i++)
                        buf[i] = 1;     /* IPv4 NOP options */
                be16(buf + 10, ref_csum(buf, l3, 0));
        } else {
                be32(buf, 6u << 28 | (uint32_t) s->tos << 20 | (s->flow_label & 0xfffff));
                be16(buf + 4, (uint32_t) (total - 40));
                buf[6] = s->ipv6_dstopts_len ? 60 : s->proto;
                buf[7] = s->ttl ? s->ttl : 64;
                buf[8] = 0xfd, buf[23] = (uint8_t) (1 + s->addr_tail);
                buf[24] = 0xfd, buf[39] = 2;
                if (s->ipv6_dstopts_len) {
                        buf[40] = s->proto;
                        buf[41] = (uint8_t) (s->ipv6_dstopts_len / 8 - 1);
                        buf[42] = 1;    /* PadN over the rest */
                        buf[43] = (uint8_t) (s->ipv6_dstopts_len - 4);
                }
        }

        if (s->proto == 6) {
                be16(l4, s->sport);
                be16(l4 + 2, s->dport);
                be32(l4 + 4, s->seq);
                be32(l4 + 8, s->ack);
                l4[12] = (uint8_t) ((20 + s->tcp_opts_len) / 4 << 4);
                l4[13] = s->tcp_flags ? s->tcp_flags : 0x10;
                be16(l4 + 14, 501);
                for (size_t i = 0; i < s->tcp_opts_len; i++)
                        l4[20 + i] = 1;
                if (s->tcp_opts_len >= 12) {
                        l4[22] = 8, l4[23] = 10;        /* timestamps */
                        be32(l4 + 24, 0x11223344);
                        be32(l4 + 28, 0x55667788);
                }
        } else if (s->proto == 17) {
                be16(l4, s->sport);
                be16(l4 + 2, s->dport);
                be16(l4 + 4, (uint32_t) (8 + payload_len));
        }
        return l3;
}

static size_t csum_field_offset(uint8_t proto) {
        return proto == 6 ? 16 : 6;
}

size_t build_packet(uint8_t *buf, const PacketSpec *s, const uint8_t *payload, size_t payload_len) {
        size_t l3 = write_headers(buf, s, payload_len), hdrs = spec_hdr_len(s);
        size_t total = hdrs + payload_len;

        memcpy(buf + hdrs, payload, payload_len);
        if (s->proto == 6 || s->proto == 17) {
                uint16_t c = ref_csum(buf + l3, total - l3, ref_pseudo(buf, s->proto, (uint32_t) (total - l3)));
                if (c == 0 && s->proto == 17)
                        c = 0xffff;
                be16(buf + l3 + csum_field_offset(s->proto), c);
        }
        return total;
}

size_t build_super(uint8_t *msg, const PacketSpec *s, const uint8_t *payload, size_t payload_len,
                   uint16_t gso_size, bool ecn) {
        uint8_t *pkt = msg + 10;
        size_t l3 = write_headers(pkt, s, payload_len), hdrs = spec_hdr_len(s);
        size_t total = hdrs + payload_len;
        memcpy(pkt + hdrs, payload, payload_len);

        /* The field holds the (not complemented) folded pseudo-header sum. */
        uint16_t pseudo = (uint16_t) ~ref_csum(NULL, 0, ref_pseudo(pkt, s->proto, (uint32_t) (total - l3)));
        be16(pkt + l3 + csum_field_offset(s->proto), pseudo);

        VnetHdr h = {
                .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                .hdr_len = (uint16_t) hdrs,
                .gso_size = gso_size,
                .csum_start = (uint16_t) l3,
                .csum_offset = (uint16_t) csum_field_offset(s->proto),
        };
        if (gso_size > 0)
                h.gso_type = (uint8_t) ((s->proto == 17 ? VIRTIO_NET_HDR_GSO_UDP_L4 :
                                         s->version == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6) |
                                        (ecn ? VIRTIO_NET_HDR_GSO_ECN : 0));
        memcpy(msg, &h, sizeof(h));
        return 10 + total;
}

size_t packet_l4_offset(const uint8_t *pkt, size_t len) {
        if (len < 20)
                return 0;
        if (pkt[0] >> 4 == 4)
                return (size_t) (pkt[0] & 15) * 4;
        if (len < 40)
                return 0;
        size_t off = 40;
        uint8_t nh = pkt[6];
        while (nh == 60 || nh == 0) {
                if (off + 8 > len)
                        return 0;
                nh = pkt[off];
                off += ((size_t) pkt[off + 1] + 1) * 8;
        }
        return off;
}

static uint8_t packet_proto(const uint8_t *pkt) {
        if (pkt[0] >> 4 == 4)
                return pkt[9];
        size_t off = 40;
        uint8_t nh = pkt[6];
        while (nh == 60 || nh == 0) {
                nh = pkt[off];
                off += ((size_t) pkt[off + 1] + 1) * 8;
        }
        return nh;
}

bool packet_checksums_ok(const uint8_t *pkt, size_t len) {
        size_t l3 = packet_l4_offset(pkt, len);
        if (l3 == 0 || l3 > len)
                return false;
        if (pkt[0] >> 4 == 4) {
                if ((size_t) (pkt[2] << 8 | pkt[3]) != len || ref_csum(pkt, l3, 0) != 0)
                        return false;
        } else if ((size_t) (pkt[4] << 8 | pkt[5]) + 40 != len)
                return false;

        uint8_t proto = packet_proto(pkt);
        if (proto != 6 && proto != 17)
                return true;
        if (proto == 17) {
                if (len < l3 + 8 || (size_t) (pkt[l3 + 4] << 8 | pkt[l3 + 5]) != len - l3)
                        return false;
                if (pkt[l3 + 6] == 0 && pkt[l3 + 7] == 0)
                        return false;   /* we always send UDP checksums */
        }
        return ref_csum(pkt + l3, len - l3, ref_pseudo(pkt, proto, (uint32_t) (len - l3))) == 0;
}

void fill_pattern(uint8_t *p, size_t len, uint32_t seed) {
        uint32_t x = seed * 2654435761u + 1;
        for (size_t i = 0; i < len; i++) {
                x = x * 1103515245u + 12345u;
                p[i] = (uint8_t) (x >> 16);
        }
}
