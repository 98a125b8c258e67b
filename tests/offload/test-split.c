/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "both-paths.h"
#include "offload.h"
#include "packet-builder.h"

#define ROOM_SEGS 70000
#define ROOM_BYTES (4u << 20)

typedef struct Split {
        SplitOutput out;
        int r;
} Split;

static uint8_t *room_buf;
static struct iovec *room_segs;

static Split split_msg(const uint8_t *msg, size_t len, uint32_t mtu) {
        Split s = { .out = { .buf = room_buf, .buf_size = ROOM_BYTES, .segs = room_segs, .max_segs = ROOM_SEGS } };
        s.r = offload_split(msg, len, mtu, &s.out);
        return s;
}

static const uint8_t *seg(const Split *s, size_t i) {
        return s->out.segs[i].iov_base;
}

static uint16_t rd16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p) {
        return (uint32_t) rd16(p) << 16 | rd16(p + 2);
}

/* Checks every rule of a split, field by field, against the super-packet it came from. */
static void assert_split_right(const Split *s, const uint8_t *msg, size_t len, uint32_t mtu, size_t mss_expected) {
        const uint8_t *sup = msg + 10;
        size_t l3 = packet_l4_offset(sup, len - 10);
        bool v4 = sup[0] >> 4 == 4;
        uint8_t proto = v4 ? sup[9] : (sup[6] == 60 ? sup[40] : sup[6]);
        size_t l4h = proto == 6 ? (size_t) (sup[l3 + 12] >> 4) * 4 : 8;
        size_t hdrs = l3 + l4h, payload = len - 10 - hdrs;
        size_t n = payload == 0 ? 1 : (payload + mss_expected - 1) / mss_expected;

        g_assert_cmpint(s->r, ==, (int) n);
        g_assert_cmpuint(s->out.n_segs, ==, n);
        g_assert_cmpint(s->out.drop, ==, OFFLOAD_DROP_NONE);

        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
                const uint8_t *p = seg(s, i);
                size_t plen = s->out.segs[i].iov_len, seglen = MIN(mss_expected, payload - off);
                bool last = i == n - 1;

                g_assert_cmpuint(plen, ==, hdrs + seglen);
                g_assert_cmpuint(plen, <=, mtu);
                g_assert_true(packet_checksums_ok(p, plen));
                /* Payload in order, nothing lost or doubled. */
                g_assert_cmpmem(p + hdrs, seglen, sup + hdrs + off, seglen);
                if (v4) {
                        g_assert_cmpuint(rd16(p + 2), ==, plen);
                        g_assert_cmpuint(rd16(p + 4), ==, (uint16_t) (rd16(sup + 4) + i));
                        g_assert_cmpmem(p + 6, 4, sup + 6, 4);          /* frag/DF, TTL, proto */
                        g_assert_cmpmem(p + 12, l3 - 12, sup + 12, l3 - 12);
                } else {
                        g_assert_cmpuint(rd16(p + 4), ==, plen - 40);
                        g_assert_cmpmem(p, 4, sup, 4);
                        g_assert_cmpmem(p + 6, l3 - 6, sup + 6, l3 - 6);
                }
                if (proto == 6) {
                        uint8_t f = sup[l3 + 13];
                        g_assert_cmpuint(rd32(p + l3 + 4), ==, rd32(sup + l3 + 4) + (uint32_t) off);
                        if (!last)
                                f &= (uint8_t) ~0x09;   /* FIN, PSH only on the last */
                        if (i > 0)
                                f &= (uint8_t) ~0x80;   /* CWR only on the first */
                        g_assert_cmphex(p[l3 + 13], ==, f);
                        g_assert_cmpmem(p + l3, 4, sup + l3, 4);
                        g_assert_cmpmem(p + l3 + 8, 5, sup + l3 + 8, 5);
                        g_assert_cmpmem(p + l3 + 14, 2, sup + l3 + 14, 2);
                        g_assert_cmpmem(p + l3 + 18, l4h - 18, sup + l3 + 18, l4h - 18);
                } else {
                        g_assert_cmpuint(rd16(p + l3 + 4), ==, 8 + seglen);
                        g_assert_cmpmem(p + l3, 4, sup + l3, 4);
                }
                off += seglen;
        }
        g_assert_cmpuint(off, ==, payload);
}

static void split_and_check(const PacketSpec *spec, size_t payload_len, uint16_t gso, uint32_t mtu, size_t mss_expected, bool ecn) {
        static uint8_t msg[VNET_MSG_MAX], payload[65536];
        fill_pattern(payload, payload_len, (uint32_t) payload_len);
        size_t len = build_super(msg, spec, payload, payload_len, gso, ecn);
        Split s = split_msg(msg, len, mtu);
        assert_split_right(&s, msg, len, mtu, mss_expected);
}

static const PacketSpec tcp4 = { .version = 4, .proto = 6, .sport = 40000, .dport = 5201, .seq = 0xfffff000,
                                 .ack = 77, .tcp_opts_len = 12, .ip_id = 0xfffe, .df = true, .tos = 2 };
static const PacketSpec tcp6 = { .version = 6, .proto = 6, .sport = 40000, .dport = 5201, .seq = 1000,
                                 .ack = 77, .tcp_opts_len = 12, .tos = 0x20, .flow_label = 0x12345 };
static const PacketSpec udp4 = { .version = 4, .proto = 17, .sport = 4000, .dport = 53, .ip_id = 9 };
static const PacketSpec udp6 = { .version = 6, .proto = 17, .sport = 4000, .dport = 53, .flow_label = 7 };
static const PacketSpec tcp6_dstopts = { .version = 6, .proto = 6, .sport = 1, .dport = 2, .ipv6_dstopts_len = 8 };

static void test_tcp4(void) {
        split_and_check(&tcp4, 64000, 1448, 1500, 1448, false);
}

static void test_tcp6(void) {
        split_and_check(&tcp6, 64000, 1428, 1500, 1428, false);
}

static void test_udp4(void) {
        split_and_check(&udp4, 1472 * 40 + 100, 1472, 1500, 1472, false);
}

static void test_udp6(void) {
        split_and_check(&udp6, 1452 * 44 + 1, 1452, 1500, 1452, false);
}

static void test_flags_fin_psh_last_cwr_first(void) {
        PacketSpec s = tcp4;
        s.tcp_flags = 0x10 | 0x08 | 0x01 | 0x80 | 0x40;  /* ACK PSH FIN CWR ECE */
        split_and_check(&s, 5000, 1000, 1500, 1000, true);
        s = tcp6;
        s.tcp_flags = 0x10 | 0x80;
        split_and_check(&s, 5000, 1000, 1500, 1000, true);
        /* Without the ECN bit in gso_type the rules are the same. */
        split_and_check(&s, 3000, 1000, 1500, 1000, false);
}

static void test_edge_sizes(void) {
        split_and_check(&tcp4, 7, 1, 1500, 1, false);                   /* gso_size 1 */
        split_and_check(&udp4, 5, 1, 1500, 1, false);
        split_and_check(&tcp4, 512, 512, 1500, 512, false);             /* exactly one segment */
        split_and_check(&tcp4, 513, 512, 1500, 512, false);             /* a 1-byte tail */
        split_and_check(&udp6, 1025, 512, 1500, 512, false);
        split_and_check(&tcp4, 0, 1448, 1500, 1448, false);             /* no payload */
        /* The biggest IPv4 packet: 65535 bytes. */
        split_and_check(&tcp4, 65535 - 52, 1448, 1500, 1448, false);
        split_and_check(&udp4, 65535 - 28, 1472, 1500, 1472, false);
        /* Exactly 64 KiB of IPv6 packet. */
        split_and_check(&tcp6, 65536 - 72, 1428, 1500, 1428, false);
        /* Segments that exactly fill the MTU. */
        split_and_check(&tcp4, 1448 * 3, 1448, 1500, 1448, false);
}

static void test_tcp_cut_to_mtu(void) {
        /* gso_size larger than the MTU allows: TCP segments are cut to fit. */
        split_and_check(&tcp4, 20000, 1448, 1280, 1280 - 52, false);
        split_and_check(&tcp6, 20000, 8000, 1500, 1500 - 72, false);
}

static void test_udp_too_big(void) {
        static uint8_t msg[VNET_MSG_MAX], payload[8000];
        size_t len = build_super(msg, &udp4, payload, 8000, 2000, false);
        Split s = split_msg(msg, len, 1500);
        g_assert_cmpint(s.r, ==, -EINVAL);
        g_assert_cmpint(s.out.drop, ==, OFFLOAD_DROP_TOO_BIG);
        g_assert_cmpstr(offload_drop_to_string(s.out.drop), ==, "too-big");

        /* A datagram smaller than gso_size that fits is fine. */
        len = build_super(msg, &udp4, payload, 1000, 2000, false);
        s = split_msg(msg, len, 1500);
        g_assert_cmpint(s.r, ==, 1);
        g_assert_true(packet_checksums_ok(seg(&s, 0), s.out.segs[0].iov_len));
}

static void test_udp_zero_checksum_sent_as_ffff(void) {
        static uint8_t msg[VNET_MSG_MAX], payload[100], pkt[200];
        PacketSpec sp = udp4;

        /* Choose the last two payload bytes so that the UDP checksum computes to 0. */
        memset(payload, 0x5a, sizeof(payload));
        payload[98] = payload[99] = 0;
        size_t plen = build_packet(pkt, &sp, payload, sizeof(payload));
        pkt[26] = pkt[27] = 0;
        /* 10.0.0.1 -> 10.0.1.2, UDP: the pseudo-header's words. */
        uint32_t pseudo = 0x0a00 + 0x0001 + 0x0a00 + 0x0102 + 17 + (uint32_t) (plen - 20);
        uint16_t need = ref_csum(pkt + 20, plen - 20, pseudo);
        payload[98] = (uint8_t) (need >> 8);
        payload[99] = (uint8_t) need;

        size_t len = build_super(msg, &sp, payload, sizeof(payload), 1472, false);
        Split s = split_msg(msg, len, 1500);
        g_assert_cmpint(s.r, ==, 1);
        const uint8_t *p = seg(&s, 0);
        g_assert_cmphex(rd16(p + 26), ==, 0xffff);
        g_assert_true(packet_checksums_ok(p, s.out.segs[0].iov_len));

        /* The same through GSO_NONE with a partial checksum. */
        len = build_super(msg, &sp, payload, sizeof(payload), 0, false);
        s = split_msg(msg, len, 1500);
        g_assert_cmpint(s.r, ==, 1);
        g_assert_cmphex(rd16(seg(&s, 0) + 26), ==, 0xffff);
}

static void test_ipv4_options_and_ipv6_extension_headers(void) {
        PacketSpec s = tcp4;
        s.ipv4_opts_len = 8;
        split_and_check(&s, 9000, 1400, 1500, 1400, false);
        s = tcp6;
        s.ipv6_dstopts_len = 16;
        split_and_check(&s, 9000, 1400, 1500, 1400, false);
        s = udp6;
        s.ipv6_dstopts_len = 8;
        split_and_check(&s, 9000, 1400, 1500, 1400, false);
}

static void test_hdr_len_is_only_a_hint(void) {
        static uint8_t msg[VNET_MSG_MAX], payload[10000], first[VNET_MSG_MAX];
        fill_pattern(payload, sizeof(payload), 5);
        size_t len = build_super(msg, &tcp4, payload, sizeof(payload), 1448, false);

        Split s = split_msg(msg, len, 1500);
        g_assert_cmpint(s.r, ==, 7);
        size_t total = (uint8_t *) s.out.segs[6].iov_base + s.out.segs[6].iov_len - room_buf;
        memcpy(first, room_buf, total);

        const uint16_t lies[] = { 0, 1, 20, 40, 1500, 65535 };
        for (size_t i = 0; i < G_N_ELEMENTS(lies); i++) {
                VnetHdr h;
                memcpy(&h, msg, sizeof(h));
                h.hdr_len = lies[i];
                memcpy(msg, &h, sizeof(h));
                s = split_msg(msg, len, 1500);
                g_assert_cmpint(s.r, ==, 7);
                g_assert_cmpmem(room_buf, total, first, total);
        }
}

static void test_gso_none(void) {
        static uint8_t msg[VNET_MSG_MAX], payload[1400], pkt[1500];
        fill_pattern(payload, sizeof(payload), 9);

        /* NEEDS_CSUM: the checksum gets completed. */
        size_t len = build_super(msg, &tcp6, payload, 1000, 0, false);
        Split s = split_msg(msg, len, 1500);
        g_assert_cmpint(s.r, ==, 1);
        size_t plen = build_packet(pkt, &tcp6, payload, 1000);
        g_assert_cmpmem(seg(&s, 0), s.out.segs[0].iov_len, pkt, plen);

        /* No flags: passed through unchanged. */
        memset(msg, 0, 10);
        memcpy(msg + 10, pkt, plen);
        s = split_msg(msg, 10 + plen, 1500);
        g_assert_cmpint(s.r, ==, 1);
        g_assert_cmpmem(seg(&s, 0), s.out.segs[0].iov_len, pkt, plen);

        /* TCP longer than the MTU (it went down meanwhile): cut, complete checksum or not. */
        s = split_msg(msg, 10 + plen, 600);
        assert_split_right(&s, msg, 10 + plen, 600, 600 - 72);
        len = build_super(msg, &tcp4, payload, 1400, 0, false);
        s = split_msg(msg, len, 1000);
        assert_split_right(&s, msg, len, 1000, 1000 - 52);

        /* ... but a damaged complete checksum is not hidden by computing it afresh. */
        memset(msg, 0, 10);
        memcpy(msg + 10, pkt, plen);
        msg[10 + plen - 1] ^= 1;
        s = split_msg(msg, 10 + plen, 600);
        g_assert_cmpint(s.r, ==, -EINVAL);
        g_assert_cmpint(s.out.drop, ==, OFFLOAD_DROP_BAD_CHECKSUM);

        /* UDP (and anything else) longer than the MTU is refused. */
        len = build_super(msg, &udp4, payload, 1400, 0, false);
        s = split_msg(msg, len, 1000);
        g_assert_cmpint(s.r, ==, -EINVAL);
        g_assert_cmpint(s.out.drop, ==, OFFLOAD_DROP_TOO_BIG);
}

static void test_room_too_small(void) {
        static uint8_t msg[VNET_MSG_MAX], payload[10000], buf[20000];
        struct iovec segs[20];
        size_t len = build_super(msg, &tcp4, payload, sizeof(payload), 1000, false);

        SplitOutput out = { .buf = buf, .buf_size = 5000, .segs = segs, .max_segs = 20 };
        g_assert_cmpint(offload_split(msg, len, 1500, &out), ==, -ENOBUFS);
        g_assert_cmpuint(out.needed_segs, ==, 10);
        g_assert_cmpuint(out.needed_bytes, ==, 10 * 52 + 10000);
        g_assert_cmpuint(out.n_segs, ==, 0);

        out = (SplitOutput) { .buf = buf, .buf_size = sizeof(buf), .segs = segs, .max_segs = 9 };
        g_assert_cmpint(offload_split(msg, len, 1500, &out), ==, -ENOBUFS);
        g_assert_cmpuint(out.needed_segs, ==, 10);

        /* Exactly the room asked for is enough. */
        out = (SplitOutput) { .buf = buf, .buf_size = 10 * 52 + 10000, .segs = segs, .max_segs = 10 };
        g_assert_cmpint(offload_split(msg, len, 1500, &out), ==, 10);
        for (size_t i = 0; i < 10; i++)
                g_assert_true(packet_checksums_ok(segs[i].iov_base, segs[i].iov_len));
}

/* With a stride, each segment starts at a multiple of it (a ring's slots), with the same
 * bytes as back to back; room is counted in strides. */
static void test_stride(void) {
        static uint8_t msg[VNET_MSG_MAX], payload[10000], flat[20000], slots[10 * 2048];
        struct iovec flat_segs[20], slot_segs[20];
        size_t len = build_super(msg, &tcp4, payload, sizeof(payload), 1000, false);
        SplitOutput a = { .buf = flat, .buf_size = sizeof(flat), .segs = flat_segs, .max_segs = 20 };
        SplitOutput b = { .buf = slots, .buf_size = 9 * 2048, .stride = 2048, .segs = slot_segs, .max_segs = 20 };

        g_assert_cmpint(offload_split(msg, len, 1500, &a), ==, 10);
        g_assert_cmpint(offload_split(msg, len, 1500, &b), ==, -ENOBUFS);
        g_assert_cmpuint(b.needed_bytes, ==, 10 * 2048);
        b.buf_size = sizeof(slots);
        g_assert_cmpint(offload_split(msg, len, 1500, &b), ==, 10);
        for (size_t i = 0; i < 10; i++) {
                g_assert_true(slot_segs[i].iov_base == slots + i * 2048);
                g_assert_cmpmem(slot_segs[i].iov_base, slot_segs[i].iov_len, flat_segs[i].iov_base, flat_segs[i].iov_len);
        }

        /* A stride shorter than a segment is no room. */
        b.stride = 1024;
        g_assert_cmpint(offload_split(msg, len, 1500, &b), ==, -ENOBUFS);
}

/* ---- the table of malformed input ---- */

typedef void (*Mutate)(uint8_t *msg, size_t *len);

static VnetHdr get_hdr(const uint8_t *msg) {
        VnetHdr h;
        memcpy(&h, msg, sizeof(h));
        return h;
}

static void put_hdr(uint8_t *msg, VnetHdr h) {
        memcpy(msg, &h, sizeof(h));
}

static void m_short_vnet(uint8_t *msg, size_t *len) { *len = 9; }
static void m_gso_size_0(uint8_t *msg, size_t *len) { VnetHdr h = get_hdr(msg); h.gso_size = 0; put_hdr(msg, h); }
static void m_unknown_gso(uint8_t *msg, size_t *len) { VnetHdr h = get_hdr(msg); h.gso_type = 2; put_hdr(msg, h); }
static void m_gso_type_7(uint8_t *msg, size_t *len) { VnetHdr h = get_hdr(msg); h.gso_type = 7; put_hdr(msg, h); }
static void m_ecn_on_udp(uint8_t *msg, size_t *len) { VnetHdr h = get_hdr(msg); h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4 | VIRTIO_NET_HDR_GSO_ECN; put_hdr(msg, h); }
static void m_ecn_on_none(uint8_t *msg, size_t *len) { VnetHdr h = get_hdr(msg); h.gso_type = VIRTIO_NET_HDR_GSO_ECN; put_hdr(msg, h); }
static void m_v6_in_tcpv4(uint8_t *msg, size_t *len) { VnetHdr h = get_hdr(msg); h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6; put_hdr(msg, h); }
static void m_version_5(uint8_t *msg, size_t *len) { msg[10] = (uint8_t) (0x50 | (msg[10] & 15)); }
static void m_csum_start_past_end(uint8_t *msg, size_t *len) { VnetHdr h = get_hdr(msg); h.csum_start = 60000; put_hdr(msg, h); }
static void m_csum_offset_past_end(uint8_t *msg, size_t *len) { VnetHdr h = get_hdr(msg); h.csum_offset = (uint16_t) (*len - 10 - h.csum_start - 1); put_hdr(msg, h); }
static void m_ihl_4(uint8_t *msg, size_t *len) { msg[10] = 0x44; }
static void m_ihl_past_end(uint8_t *msg, size_t *len) { msg[10] = 0x4f; *len = 10 + 50; msg[12] = 0; msg[13] = 50; }
static void m_tot_len_past_end(uint8_t *msg, size_t *len) { *len -= 1; }
static void m_tot_len_below_ihl(uint8_t *msg, size_t *len) { msg[12] = 0; msg[13] = 10; }
static void m_fragment(uint8_t *msg, size_t *len) { msg[16] |= 0x20; }
static void m_fragment_offset(uint8_t *msg, size_t *len) { msg[17] = 1; }
static void m_proto_udp_in_tcpv4(uint8_t *msg, size_t *len) { msg[19] = 17; }
static void m_doff_4(uint8_t *msg, size_t *len) { msg[10 + 20 + 12] = 0x40; }
static void m_doff_0(uint8_t *msg, size_t *len) { msg[10 + 20 + 12] = 0x00; }
static void m_doff_past_end(uint8_t *msg, size_t *len) { msg[10 + 20 + 12] = 0xf0; msg[12] = 0; msg[13] = 50; *len = 60; }
static void m_tcp_truncated(uint8_t *msg, size_t *len) { msg[12] = 0; msg[13] = 30; *len = 50; }
static void m_ip_truncated(uint8_t *msg, size_t *len) { *len = 10 + 19; }
static void m_empty_packet(uint8_t *msg, size_t *len) { *len = 10; }
static void m_v6_payload_len_0(uint8_t *msg, size_t *len) { msg[14] = msg[15] = 0; }
static void m_v6_payload_len_past_end(uint8_t *msg, size_t *len) { msg[14] = 0xff; msg[15] = 0xff; }
static void m_v6_truncated(uint8_t *msg, size_t *len) { *len = 10 + 39; }
static void m_v6_fragment_header(uint8_t *msg, size_t *len) { msg[10 + 6] = 44; }
static void m_v6_routing_header(uint8_t *msg, size_t *len) { msg[10 + 6] = 43; }
static void m_v6_ah_header(uint8_t *msg, size_t *len) { msg[10 + 6] = 51; }
static void m_v6_routing_after_dstopts(uint8_t *msg, size_t *len) { msg[10 + 40] = 43; }
static void m_v6_ext_past_end(uint8_t *msg, size_t *len) { msg[10 + 6] = 60; msg[10 + 41] = 255; msg[14] = 0; msg[15] = 48; *len = 10 + 88; }
static void m_v6_hbh_not_first(uint8_t *msg, size_t *len) { msg[10 + 6] = 60; msg[10 + 40] = 0; msg[10 + 41] = 0; msg[10 + 48] = 6; msg[10 + 49] = 0; }
static void m_v4_in_tcpv6(uint8_t *msg, size_t *len) { VnetHdr h = get_hdr(msg); h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4; put_hdr(msg, h); }
static void m_udp_in_tcpv6(uint8_t *msg, size_t *len) { msg[10 + 6] = 17; }
static void m_udp_truncated(uint8_t *msg, size_t *len) { msg[12] = 0; msg[13] = 27; *len = 10 + 27; }
static void m_tcp_in_udp(uint8_t *msg, size_t *len) { msg[19] = 6; }

typedef struct Malformed {
        const char *name;
        const PacketSpec *spec;
        Mutate mutate;
        OffloadDrop expected;
} Malformed;

static const Malformed malformed[] = {
        { "vnet header cut short",      &tcp4, m_short_vnet,            OFFLOAD_DROP_TRUNCATED },
        { "gso_size 0",                 &tcp4, m_gso_size_0,            OFFLOAD_DROP_BAD_GSO },
        { "unknown gso_type",           &tcp4, m_unknown_gso,           OFFLOAD_DROP_BAD_GSO },
        { "gso_type 7",                 &tcp4, m_gso_type_7,            OFFLOAD_DROP_BAD_GSO },
        { "ECN on UDP",                 &udp4, m_ecn_on_udp,            OFFLOAD_DROP_BAD_GSO },
        { "ECN without GSO",            &tcp4, m_ecn_on_none,           OFFLOAD_DROP_BAD_GSO },
        { "IPv4 packet, TCPV6 type",    &tcp4, m_v6_in_tcpv4,           OFFLOAD_DROP_BAD_VERSION },
        { "IPv6 packet, TCPV4 type",    &tcp6, m_v4_in_tcpv6,           OFFLOAD_DROP_BAD_VERSION },
        { "IP version 5",               &tcp4, m_version_5,             OFFLOAD_DROP_BAD_VERSION },
        { "csum_start past the end",    &tcp4, m_csum_start_past_end,   OFFLOAD_DROP_BAD_CSUM_OFFSETS },
        { "csum_offset past the end",   &tcp4, m_csum_offset_past_end,  OFFLOAD_DROP_BAD_CSUM_OFFSETS },
        { "IHL 4",                      &tcp4, m_ihl_4,                 OFFLOAD_DROP_BAD_IP_HEADER },
        { "IHL past the end",           &tcp4, m_ihl_past_end,          OFFLOAD_DROP_TRUNCATED },
        { "total length past the end",  &tcp4, m_tot_len_past_end,      OFFLOAD_DROP_TRUNCATED },
        { "total length below IHL",     &tcp4, m_tot_len_below_ihl,     OFFLOAD_DROP_BAD_IP_HEADER },
        { "IPv4 MF fragment",           &tcp4, m_fragment,              OFFLOAD_DROP_BAD_IP_HEADER },
        { "IPv4 fragment offset",       &tcp4, m_fragment_offset,       OFFLOAD_DROP_BAD_IP_HEADER },
        { "UDP in a TCPV4 super-packet",&tcp4, m_proto_udp_in_tcpv4,    OFFLOAD_DROP_BAD_GSO },
        { "TCP in a UDP super-packet",  &udp4, m_tcp_in_udp,            OFFLOAD_DROP_BAD_GSO },
        { "TCP data offset 16",         &tcp4, m_doff_4,                OFFLOAD_DROP_BAD_L4_HEADER },
        { "TCP data offset 0",          &tcp4, m_doff_0,                OFFLOAD_DROP_BAD_L4_HEADER },
        { "TCP options past the end",   &tcp4, m_doff_past_end,         OFFLOAD_DROP_TRUNCATED },
        { "TCP header cut short",       &tcp4, m_tcp_truncated,         OFFLOAD_DROP_TRUNCATED },
        { "IPv4 header cut short",      &tcp4, m_ip_truncated,          OFFLOAD_DROP_TRUNCATED },
        { "no packet at all",           &tcp4, m_empty_packet,          OFFLOAD_DROP_TRUNCATED },
        { "IPv6 payload length 0",      &tcp6, m_v6_payload_len_0,      OFFLOAD_DROP_BAD_IP_HEADER },
        { "IPv6 payload past the end",  &tcp6, m_v6_payload_len_past_end, OFFLOAD_DROP_TRUNCATED },
        { "IPv6 header cut short",      &tcp6, m_v6_truncated,          OFFLOAD_DROP_TRUNCATED },
        { "IPv6 fragment header",       &tcp6, m_v6_fragment_header,    OFFLOAD_DROP_BAD_IP_HEADER },
        { "IPv6 routing header",        &tcp6, m_v6_routing_header,     OFFLOAD_DROP_BAD_IP_HEADER },
        { "IPv6 AH header",             &tcp6, m_v6_ah_header,          OFFLOAD_DROP_BAD_IP_HEADER },
        { "IPv6 routing after dstopts", &tcp6_dstopts, m_v6_routing_after_dstopts, OFFLOAD_DROP_BAD_IP_HEADER },
        { "IPv6 extension past the end",&tcp6, m_v6_ext_past_end,       OFFLOAD_DROP_TRUNCATED },
        { "IPv6 hop-by-hop not first",  &tcp6, m_v6_hbh_not_first,      OFFLOAD_DROP_BAD_IP_HEADER },
        { "UDP in a TCPV6 super-packet",&tcp6, m_udp_in_tcpv6,          OFFLOAD_DROP_BAD_GSO },
        { "UDP header cut short",       &udp4, m_udp_truncated,         OFFLOAD_DROP_TRUNCATED },
};

static void test_malformed_table(void) {
        static uint8_t msg[VNET_MSG_MAX], payload[4000];
        fill_pattern(payload, sizeof(payload), 3);

        for (size_t i = 0; i < G_N_ELEMENTS(malformed); i++) {
                const Malformed *m = &malformed[i];
                size_t len = build_super(msg, m->spec, payload, sizeof(payload), 1000, false);
                m->mutate(msg, &len);
                Split s = split_msg(msg, len, 1500);
                if (s.r != -EINVAL || s.out.drop != m->expected)
                        g_error("%s: got %d (%s), expected %s", m->name, s.r,
                                offload_drop_to_string(s.out.drop), offload_drop_to_string(m->expected));
                g_assert_cmpuint(s.out.n_segs, ==, 0);
        }

        for (int d = 0; d < _OFFLOAD_DROP_MAX; d++)
                g_assert_nonnull(offload_drop_to_string(d));
        g_assert_null(offload_drop_to_string(_OFFLOAD_DROP_MAX));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        room_buf = g_malloc(ROOM_BYTES);
        room_segs = g_new(struct iovec, ROOM_SEGS);

        add_test_both_paths("/split/tcp4", test_tcp4);
        add_test_both_paths("/split/tcp6", test_tcp6);
        add_test_both_paths("/split/udp4", test_udp4);
        add_test_both_paths("/split/udp6", test_udp6);
        add_test_both_paths("/split/flags-fin-psh-last-cwr-first", test_flags_fin_psh_last_cwr_first);
        add_test_both_paths("/split/edge-sizes", test_edge_sizes);
        add_test_both_paths("/split/tcp-cut-to-mtu", test_tcp_cut_to_mtu);
        add_test_both_paths("/split/udp-too-big", test_udp_too_big);
        add_test_both_paths("/split/udp-zero-checksum-sent-as-ffff", test_udp_zero_checksum_sent_as_ffff);
        add_test_both_paths("/split/ipv4-options-ipv6-extension-headers", test_ipv4_options_and_ipv6_extension_headers);
        add_test_both_paths("/split/hdr-len-is-only-a-hint", test_hdr_len_is_only_a_hint);
        add_test_both_paths("/split/gso-none", test_gso_none);
        add_test_both_paths("/split/room-too-small", test_room_too_small);
        add_test_both_paths("/split/stride", test_stride);
        add_test_both_paths("/split/malformed-table", test_malformed_table);

        int r = g_test_run();
        g_free(room_buf);
        g_free(room_segs);
        return r;
}
