/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/types.h>

#include "both-paths.h"
#include "offload.h"
#include "packet-builder.h"

#define MAX_PACKETS 256

G_DEFINE_AUTOPTR_CLEANUP_FUNC(GroBatch, gro_batch_free)

typedef struct Pkt {
        uint8_t data[65536];
        size_t len;
} Pkt;

static Pkt pkts[MAX_PACKETS + 8];
static GroBatch *batch;
static uint8_t split_buf[4u << 20];
static struct iovec split_segs[70000];

static uint16_t rd16(const uint8_t *p) {
        return (uint16_t) (p[0] << 8 | p[1]);
}

static VnetHdr hdr_of(const struct iovec *m) {
        VnetHdr h;
        memcpy(&h, m->iov_base, sizeof(h));
        return h;
}

static const uint8_t *pkt_of(const struct iovec *m) {
        return (const uint8_t *) m->iov_base + 10;
}

static bool hdr_is_zero(const struct iovec *m) {
        static const uint8_t zero[10];
        return memcmp(m->iov_base, zero, 10) == 0;
}

/* Packet k of a flow: payload bytes follow the sequence number, IDs go up by one. */
static Pkt *make(size_t slot, const PacketSpec *base, size_t payload_len, uint32_t seq_off, uint16_t id_off) {
        static uint8_t payload[65536];
        PacketSpec s = *base;
        s.seq += seq_off;
        s.ip_id = (uint16_t) (s.ip_id + id_off);
        fill_pattern(payload, payload_len, s.seq * 31 + (uint32_t) payload_len);
        pkts[slot].len = build_packet(pkts[slot].data, &s, payload, payload_len);
        return &pkts[slot];
}

static void add_ok(const Pkt *p) {
        g_assert_cmpint(test_gro_add(batch, p->data, p->len), ==, 0);
}

static size_t finish(const struct iovec **msgs) {
        return gro_batch_finish(batch, msgs);
}

static void setup(void) {
        gro_batch_free(batch);
        g_assert_cmpint(test_gro_batch_new(&batch, MAX_PACKETS), ==, 0);
}

static const PacketSpec tcp4 = { .version = 4, .proto = 6, .sport = 40000, .dport = 5201, .seq = 0xffffff00,
                                 .ack = 77, .tcp_opts_len = 12, .ip_id = 0xfff0, .df = true };
static const PacketSpec tcp6 = { .version = 6, .proto = 6, .sport = 40000, .dport = 5201, .seq = 1000,
                                 .ack = 77, .tcp_opts_len = 12, .flow_label = 0x12345 };
static const PacketSpec udp4 = { .version = 4, .proto = 17, .sport = 4000, .dport = 53, .ip_id = 9 };
static const PacketSpec udp6 = { .version = 6, .proto = 17, .sport = 4000, .dport = 53, .flow_label = 7 };

/* n in-order segments of size seg (the last may be shorter: last_len). */
static void add_flow(const PacketSpec *s, size_t n, size_t seg, size_t last_len, size_t first_slot) {
        for (size_t i = 0; i < n; i++)
                add_ok(make(first_slot + i, s, i == n - 1 ? last_len : seg, (uint32_t) (i * seg), (uint16_t) i));
}

/* Splits a coalesced message again and checks that it gives back exactly pkts[first..first+n). */
static void assert_splits_back(const struct iovec *m, size_t first, size_t n) {
        SplitOutput out = { .buf = split_buf, .buf_size = sizeof(split_buf), .segs = split_segs, .max_segs = 70000 };
        g_assert_cmpint(offload_split(m->iov_base, m->iov_len, 65535, &out), ==, (int) n);
        for (size_t i = 0; i < n; i++)
                g_assert_cmpmem(split_segs[i].iov_base, split_segs[i].iov_len, pkts[first + i].data, pkts[first + i].len);
}

/* The fields of a coalesced message, as the kernel needs them. */
static void assert_coalesced(const struct iovec *m, const PacketSpec *s, size_t n, size_t seg, size_t total_payload) {
        VnetHdr h = hdr_of(m);
        const uint8_t *p = pkt_of(m);
        size_t hdrs = spec_hdr_len(s), l3 = s->version == 4 ? 20 : 40;

        g_assert_cmpuint(h.flags, ==, VIRTIO_NET_HDR_F_NEEDS_CSUM);
        g_assert_cmpuint(h.gso_type, ==, s->proto == 17 ? VIRTIO_NET_HDR_GSO_UDP_L4 :
                         s->version == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6);
        g_assert_cmpuint(h.hdr_len, ==, hdrs);
        g_assert_cmpuint(h.gso_size, ==, seg);
        g_assert_cmpuint(h.csum_start, ==, l3);
        g_assert_cmpuint(h.csum_offset, ==, s->proto == 6 ? 16 : 6);
        g_assert_cmpuint(m->iov_len, ==, 10 + hdrs + total_payload);
        if (s->version == 4) {
                g_assert_cmpuint(rd16(p + 2), ==, hdrs + total_payload);
                g_assert_cmpuint(ref_csum(p, 20, 0), ==, 0);
                g_assert_cmpuint(rd16(p + 4), ==, s->ip_id);
        } else
                g_assert_cmpuint(rd16(p + 4), ==, hdrs + total_payload - 40);
        if (s->proto == 17)
                g_assert_cmpuint(rd16(p + l3 + 4), ==, 8 + total_payload);

        /* The L4 checksum field holds the folded pseudo-header sum, not complemented. */
        uint32_t l4_len = (uint32_t) (hdrs + total_payload - l3), ps = s->proto + (l4_len >> 16) + (l4_len & 0xffff);
        const uint8_t *a = s->version == 4 ? p + 12 : p + 8;
        for (size_t i = 0; i < (s->version == 4 ? 8u : 32u); i += 2)
                ps += rd16(a + i);
        g_assert_cmphex(rd16(p + l3 + (s->proto == 6 ? 16 : 6)), ==, (uint16_t) ~ref_csum(NULL, 0, ps));
        (void) n;
}

static void merge_flow_and_check(const PacketSpec *s, size_t n, size_t seg, size_t last_len) {
        const struct iovec *msgs;
        setup();
        add_flow(s, n, seg, last_len, 0);
        g_assert_cmpuint(finish(&msgs), ==, 1);
        assert_coalesced(&msgs[0], s, n, seg, (n - 1) * seg + last_len);
        assert_splits_back(&msgs[0], 0, n);
        g_assert_cmpuint(gro_batch_stats(batch)->merged, ==, n - 1);
}

static void test_tcp4_in_order(void) {
        merge_flow_and_check(&tcp4, 44, 1380, 1380);
}

static void test_tcp6_in_order(void) {
        merge_flow_and_check(&tcp6, 40, 1380, 700);
}

static void test_udp4(void) {
        merge_flow_and_check(&udp4, 30, 1400, 1400);
}

static void test_udp6(void) {
        merge_flow_and_check(&udp6, 30, 1400, 1);
}

static void test_psh_on_last_kept(void) {
        const struct iovec *msgs;
        PacketSpec s = tcp4;
        setup();
        add_flow(&s, 5, 1000, 1000, 0);
        s.tcp_flags = 0x18;
        add_ok(make(5, &s, 1000, 5000, 5));
        g_assert_cmpuint(finish(&msgs), ==, 1);
        g_assert_cmphex(pkt_of(&msgs[0])[20 + 13], ==, 0x18);
        assert_splits_back(&msgs[0], 0, 6);
}

static void test_limits(void) {
        const struct iovec *msgs;

        /* At most 65535 bytes of IP packet: 44 * 1460 + 52 = 64292 fits, one more does not. */
        setup();
        add_flow(&tcp4, 46, 1460, 1460, 0);
        g_assert_cmpuint(finish(&msgs), ==, 2);
        g_assert_cmpuint(msgs[0].iov_len - 10, <=, 65535);
        assert_splits_back(&msgs[0], 0, 44);
        assert_splits_back(&msgs[1], 44, 2);

        /* Exactly 65535. */
        setup();
        add_flow(&tcp4, 2, 32768, 65535 - 52 - 32768, 0);
        g_assert_cmpuint(finish(&msgs), ==, 1);
        g_assert_cmpuint(msgs[0].iov_len, ==, 10 + 65535);

        /* UDP: at most 64 segments, as the kernel. */
        setup();
        add_flow(&udp4, 70, 100, 100, 0);
        g_assert_cmpuint(finish(&msgs), ==, 2);
        assert_splits_back(&msgs[0], 0, 64);
        assert_splits_back(&msgs[1], 64, 6);

        /* gso_size 1 */
        setup();
        add_flow(&tcp6, 10, 1, 1, 0);
        g_assert_cmpuint(finish(&msgs), ==, 1);
        g_assert_cmpuint(hdr_of(&msgs[0]).gso_size, ==, 1);
        assert_splits_back(&msgs[0], 0, 10);
}

static void test_shorter_last_ends_run(void) {
        const struct iovec *msgs;
        setup();
        add_ok(make(0, &tcp4, 1000, 0, 0));
        add_ok(make(1, &tcp4, 500, 1000, 1));           /* shorter: joins, ends the run */
        add_ok(make(2, &tcp4, 1000, 1500, 2));          /* must start a new one */
        add_ok(make(3, &tcp4, 1200, 2500, 3));          /* larger than gso_size: new run */
        g_assert_cmpuint(finish(&msgs), ==, 3);
        assert_splits_back(&msgs[0], 0, 2);
        g_assert_true(hdr_is_zero(&msgs[1]));
        g_assert_cmpmem(pkt_of(&msgs[1]), msgs[1].iov_len - 10, pkts[2].data, pkts[2].len);
        g_assert_true(hdr_is_zero(&msgs[2]));
}

static void test_psh_ends_run(void) {
        const struct iovec *msgs;
        PacketSpec s = tcp4;
        setup();
        add_ok(make(0, &s, 1000, 0, 0));
        s.tcp_flags = 0x18;
        add_ok(make(1, &s, 1000, 1000, 1));
        s.tcp_flags = 0;
        add_ok(make(2, &s, 1000, 2000, 2));
        add_ok(make(3, &s, 1000, 3000, 3));
        g_assert_cmpuint(finish(&msgs), ==, 2);
        assert_splits_back(&msgs[0], 0, 2);
        assert_splits_back(&msgs[1], 2, 2);
}

static void test_prepend(void) {
        const struct iovec *msgs;
        setup();
        /* Arrival 1, 0 (0 was late), then 2, 3. */
        make(0, &tcp4, 1000, 0, 0);
        make(1, &tcp4, 1000, 1000, 1);
        make(2, &tcp4, 1000, 2000, 2);
        make(3, &tcp4, 400, 3000, 3);
        add_ok(&pkts[1]);
        add_ok(&pkts[0]);
        add_ok(&pkts[2]);
        add_ok(&pkts[3]);
        g_assert_cmpuint(finish(&msgs), ==, 1);
        assert_splits_back(&msgs[0], 0, 4);

        /* A lone shorter packet becomes the last when a full one is prepended. */
        setup();
        make(0, &tcp6, 1000, 0, 0);
        make(1, &tcp6, 300, 1000, 0);
        add_ok(&pkts[1]);
        add_ok(&pkts[0]);
        make(2, &tcp6, 1000, 1300, 0);
        add_ok(&pkts[2]);                               /* after a shorter last: new run */
        g_assert_cmpuint(finish(&msgs), ==, 2);
        assert_splits_back(&msgs[0], 0, 2);

        /* Not prepended: a PSH segment cannot go in front. */
        PacketSpec s = tcp4;
        setup();
        make(1, &s, 1000, 1000, 1);
        s.tcp_flags = 0x18;
        make(0, &s, 1000, 0, 0);
        add_ok(&pkts[1]);
        add_ok(&pkts[0]);
        g_assert_cmpuint(finish(&msgs), ==, 2);
}

/* Two packets that differ in one thing: with same == true they merge, else they must not. */
typedef void (*Tweak)(PacketSpec *s, Pkt *second);
static void t_id_same(PacketSpec *s, Pkt *p);

static void two_packets(const PacketSpec *base, Tweak tweak, bool expect_merge, const char *what) {
        const struct iovec *msgs;
        PacketSpec s = *base;
        setup();
        add_ok(make(0, &s, 1000, 0, 0));
        make(1, &s, 1000, 1000, 1);
        if (tweak) {
                tweak(&s, &pkts[1]);
                make(1, &s, 1000, 1000, 1);
        }
        g_assert_cmpint(test_gro_add(batch, pkts[1].data, pkts[1].len), ==, 0);
        size_t n = finish(&msgs);
        if (n != (expect_merge ? 1u : 2u))
                g_error("%s: %zu messages, expected %s", what, n, expect_merge ? "a merge" : "no merge");
        if (expect_merge && tweak == t_id_same) {
                /* Fixed IDs: the kernel's resegmentation numbers them afresh; the rest holds. */
                SplitOutput out = { .buf = split_buf, .buf_size = sizeof(split_buf), .segs = split_segs, .max_segs = 2 };
                g_assert_cmpint(offload_split(msgs[0].iov_base, msgs[0].iov_len, 65535, &out), ==, 2);
                for (size_t i = 0; i < 2; i++) {
                        const uint8_t *a = split_segs[i].iov_base, *o = pkts[i].data;
                        g_assert_true(packet_checksums_ok(a, split_segs[i].iov_len));
                        g_assert_cmpmem(a + 20, pkts[i].len - 20, o + 20, pkts[i].len - 20);
                }
        } else if (expect_merge)
                assert_splits_back(&msgs[0], 0, 2);
        else {
                /* Both go out unchanged with zeroed headers, in order. */
                g_assert_true(hdr_is_zero(&msgs[0]) && hdr_is_zero(&msgs[1]));
                g_assert_cmpmem(pkt_of(&msgs[0]), msgs[0].iov_len - 10, pkts[0].data, pkts[0].len);
                g_assert_cmpmem(pkt_of(&msgs[1]), msgs[1].iov_len - 10, pkts[1].data, pkts[1].len);
        }
}

static void t_flags_syn(PacketSpec *s, Pkt *p) { s->tcp_flags = 0x12; }
static void t_flags_fin(PacketSpec *s, Pkt *p) { s->tcp_flags = 0x11; }
static void t_flags_rst(PacketSpec *s, Pkt *p) { s->tcp_flags = 0x14; }
static void t_flags_urg(PacketSpec *s, Pkt *p) { s->tcp_flags = 0x30; }
static void t_flags_ece(PacketSpec *s, Pkt *p) { s->tcp_flags = 0x50; }
static void t_flags_cwr(PacketSpec *s, Pkt *p) { s->tcp_flags = 0x90; }
static void t_flags_no_ack(PacketSpec *s, Pkt *p) { s->tcp_flags = 0x08; }
static void t_flags_ack_psh(PacketSpec *s, Pkt *p) { s->tcp_flags = 0x18; }
static void t_ack_number(PacketSpec *s, Pkt *p) { s->ack++; }
static void t_options(PacketSpec *s, Pkt *p) { s->tcp_opts_len = 8; }
static void t_tos(PacketSpec *s, Pkt *p) { s->tos = 1; }
static void t_ttl(PacketSpec *s, Pkt *p) { s->ttl = 63; }
static void t_df(PacketSpec *s, Pkt *p) { s->df = !s->df; }
static void t_ipv4_options(PacketSpec *s, Pkt *p) { s->ipv4_opts_len = 4; }
static void t_id_gap(PacketSpec *s, Pkt *p) { s->ip_id++; }
static void t_id_same(PacketSpec *s, Pkt *p) { s->ip_id--; }
static void t_traffic_class(PacketSpec *s, Pkt *p) { s->tos = 4; }
static void t_flow_label(PacketSpec *s, Pkt *p) { s->flow_label ^= 1; }
static void t_ext_header(PacketSpec *s, Pkt *p) { s->ipv6_dstopts_len = 8; }
static void t_seq_gap(PacketSpec *s, Pkt *p) { s->seq++; }
static void t_other_port(PacketSpec *s, Pkt *p) { s->sport++; }
static void t_other_addr(PacketSpec *s, Pkt *p) { s->addr_tail = 1; }

static void test_merge_rules_both_ways(void) {
        PacketSpec nodf = tcp4;
        nodf.df = false;

        two_packets(&tcp4, NULL, true, "same flow");
        two_packets(&tcp4, t_flags_ack_psh, true, "ACK|PSH");
        two_packets(&tcp4, t_flags_syn, false, "SYN");
        two_packets(&tcp4, t_flags_fin, false, "FIN");
        two_packets(&tcp4, t_flags_rst, false, "RST");
        two_packets(&tcp4, t_flags_urg, false, "URG");
        two_packets(&tcp4, t_flags_ece, false, "ECE");
        two_packets(&tcp4, t_flags_cwr, false, "CWR");
        two_packets(&tcp4, t_flags_no_ack, false, "no ACK");
        two_packets(&tcp4, t_ack_number, false, "ACK number");
        two_packets(&tcp4, t_options, false, "options");
        two_packets(&tcp4, t_tos, false, "TOS");
        two_packets(&tcp4, t_ttl, false, "TTL");
        two_packets(&tcp4, t_df, false, "DF");
        two_packets(&tcp4, t_ipv4_options, false, "IPv4 options");
        two_packets(&tcp4, t_id_gap, false, "ID gap");
        two_packets(&tcp4, t_id_same, true, "same ID with DF");
        two_packets(&nodf, t_id_same, false, "same ID without DF");
        two_packets(&nodf, NULL, true, "consecutive IDs without DF");
        two_packets(&tcp4, t_seq_gap, false, "sequence gap");
        two_packets(&tcp4, t_other_port, false, "other port");
        two_packets(&tcp4, t_other_addr, false, "other address");
        two_packets(&tcp6, NULL, true, "IPv6 same flow");
        two_packets(&tcp6, t_traffic_class, false, "traffic class");
        two_packets(&tcp6, t_flow_label, false, "flow label");
        two_packets(&tcp6, t_ttl, false, "hop limit");
        two_packets(&tcp6, t_ext_header, false, "IPv6 extension header");
        two_packets(&tcp6, t_options, false, "IPv6 options");
        two_packets(&udp4, NULL, true, "UDP");
        two_packets(&udp4, t_tos, false, "UDP TOS");
        two_packets(&udp4, t_id_gap, false, "UDP ID gap");
        two_packets(&udp4, t_other_port, false, "UDP port");
        two_packets(&udp6, NULL, true, "UDP6");
        two_packets(&udp6, t_flow_label, false, "UDP6 flow label");
}

static void test_id_mode_is_kept(void) {
        const struct iovec *msgs;
        /* Once IDs were equal, an incremented one does not join; and the reverse. */
        setup();
        add_ok(make(0, &tcp4, 1000, 0, 0));
        add_ok(make(1, &tcp4, 1000, 1000, 0));
        add_ok(make(2, &tcp4, 1000, 2000, 1));
        g_assert_cmpuint(finish(&msgs), ==, 2);
        setup();
        add_ok(make(0, &tcp4, 1000, 0, 0));
        add_ok(make(1, &tcp4, 1000, 1000, 1));
        add_ok(make(2, &tcp4, 1000, 2000, 1));
        g_assert_cmpuint(finish(&msgs), ==, 2);
}

static void test_not_merged_packets(void) {
        const struct iovec *msgs;
        PacketSpec s = tcp4;

        /* Pure ACKs never merge. */
        setup();
        add_ok(make(0, &s, 0, 0, 0));
        add_ok(make(1, &s, 0, 0, 1));
        g_assert_cmpuint(finish(&msgs), ==, 2);

        /* UDP without a checksum is valid but not merged. */
        setup();
        for (int i = 0; i < 2; i++) {
                make((size_t) i, &udp4, 100, 0, (uint16_t) i);
                pkts[i].data[26] = pkts[i].data[27] = 0;
                add_ok(&pkts[i]);
        }
        g_assert_cmpuint(finish(&msgs), ==, 2);

        /* IPv4 fragments pass through unchecked (their L4 header may not be there). */
        setup();
        for (int i = 0; i < 2; i++) {
                Pkt *f = make((size_t) i, &tcp4, 100, (uint32_t) (100 * i), (uint16_t) i);
                f->data[6] |= 0x20;                     /* MF */
                f->data[10] = f->data[11] = 0;
                uint16_t c = ref_csum(f->data, 20, 0);
                f->data[10] = (uint8_t) (c >> 8);
                f->data[11] = (uint8_t) c;
                f->data[40] ^= 0xff;                    /* the TCP checksum no longer holds */
                add_ok(f);
        }
        g_assert_cmpuint(finish(&msgs), ==, 2);
        g_assert_true(hdr_is_zero(&msgs[0]) && hdr_is_zero(&msgs[1]));
        g_assert_cmpmem(pkt_of(&msgs[0]), msgs[0].iov_len - 10, pkts[0].data, pkts[0].len);

        /* ICMP and other protocols pass through. */
        setup();
        s.proto = 1;
        add_ok(make(0, &s, 64, 0, 0));
        add_ok(make(1, &s, 64, 0, 1));
        g_assert_cmpuint(finish(&msgs), ==, 2);
        g_assert_true(hdr_is_zero(&msgs[0]) && hdr_is_zero(&msgs[1]));
        g_assert_cmpmem(pkt_of(&msgs[1]), msgs[1].iov_len - 10, pkts[1].data, pkts[1].len);
}

static void test_switches(void) {
        const struct iovec *msgs;
        setup();
        gro_batch_set_tcp(batch, false);
        add_flow(&tcp4, 4, 1000, 1000, 0);
        add_flow(&udp4, 4, 1000, 1000, 4);
        g_assert_cmpuint(finish(&msgs), ==, 5);
        assert_splits_back(&msgs[4], 4, 4);

        setup();
        gro_batch_set_udp(batch, false);
        add_flow(&tcp4, 4, 1000, 1000, 0);
        add_flow(&udp4, 4, 1000, 1000, 4);
        g_assert_cmpuint(finish(&msgs), ==, 5);
        assert_splits_back(&msgs[0], 0, 4);
}

static void test_flows_interleaved_in_order(void) {
        const struct iovec *msgs;
        PacketSpec f[4];
        setup();
        for (int k = 0; k < 4; k++) {
                f[k] = tcp4;
                f[k].sport = (uint16_t) (1000 + k);
        }
        for (size_t i = 0; i < 32; i++)
                for (size_t k = 0; k < 4; k++)
                        add_ok(make(k * 32 + i, &f[k], 1380, (uint32_t) (i * 1380), (uint16_t) i));
        g_assert_cmpuint(finish(&msgs), ==, 4);
        for (size_t k = 0; k < 4; k++)
                assert_splits_back(&msgs[k], k * 32, 32);
        g_assert_cmpuint(gro_batch_stats(batch)->merged, ==, 4 * 31);

        /* A pure ACK of the flow between data segments: nothing may pass it. */
        setup();
        add_ok(make(0, &tcp4, 1000, 0, 0));
        add_ok(make(1, &tcp4, 1000, 1000, 1));
        add_ok(make(2, &tcp4, 0, 2000, 2));
        add_ok(make(3, &tcp4, 1000, 2000, 3));
        add_ok(make(4, &tcp4, 1000, 3000, 4));
        g_assert_cmpuint(finish(&msgs), ==, 3);
        assert_splits_back(&msgs[0], 0, 2);
        g_assert_cmpmem(pkt_of(&msgs[1]), msgs[1].iov_len - 10, pkts[2].data, pkts[2].len);
        assert_splits_back(&msgs[2], 3, 2);
}

static void test_bad_checksum_never_merged_nor_sent(void) {
        const struct iovec *msgs;
        setup();
        add_ok(make(0, &tcp4, 1000, 0, 0));
        make(1, &tcp4, 1000, 1000, 1);
        pkts[1].data[100] ^= 0x40;                       /* payload corrupted */
        g_assert_cmpint(test_gro_add(batch, pkts[1].data, pkts[1].len), ==, -EINVAL);
        make(1, &tcp4, 1000, 1000, 1);
        add_ok(&pkts[1]);                                /* the good copy still joins */
        /* A bad first packet of another flow: no run, no stale bytes. */
        PacketSpec o = tcp4;
        o.sport = 9;
        make(2, &o, 1000, 0, 0);
        pkts[2].data[60] ^= 1;
        g_assert_cmpint(test_gro_add(batch, pkts[2].data, pkts[2].len), ==, -EINVAL);
        /* A bad IPv4 header checksum. */
        make(3, &o, 1000, 0, 0);
        pkts[3].data[10] ^= 1;
        g_assert_cmpint(test_gro_add(batch, pkts[3].data, pkts[3].len), ==, -EINVAL);
        /* A bad prepended segment. */
        make(4, &tcp4, 1000, (uint32_t) -1000, (uint16_t) -1);
        pkts[4].data[70] ^= 1;
        g_assert_cmpint(test_gro_add(batch, pkts[4].data, pkts[4].len), ==, -EINVAL);
        /* IPv6 UDP with a zero checksum is invalid. */
        make(5, &udp6, 100, 0, 0);
        pkts[5].data[46] = pkts[5].data[47] = 0;
        g_assert_cmpint(test_gro_add(batch, pkts[5].data, pkts[5].len), ==, -EINVAL);

        g_assert_cmpuint(finish(&msgs), ==, 1);
        assert_splits_back(&msgs[0], 0, 2);
        const GroStats *st = gro_batch_stats(batch);
        g_assert_cmpuint(st->drops[OFFLOAD_DROP_BAD_CHECKSUM], ==, 5);
        g_assert_cmpuint(st->invalid, ==, 5);
        g_assert_cmpuint(st->merged, ==, 1);
}

static void test_unmerge(void) {
        const struct iovec *msgs, *orig;
        setup();
        make(0, &tcp4, 1000, 0, 0);
        make(1, &tcp4, 1000, 1000, 1);
        make(2, &tcp4, 1000, 2000, 2);
        add_ok(&pkts[1]);
        add_ok(&pkts[0]);
        add_ok(&pkts[2]);
        PacketSpec o = udp6;
        add_ok(make(3, &o, 10, 0, 0));
        g_assert_cmpuint(finish(&msgs), ==, 2);

        size_t n = gro_batch_unmerge(batch, 0, &orig);
        g_assert_cmpuint(n, ==, 3);
        for (size_t i = 0; i < n; i++) {
                g_assert_true(hdr_is_zero(&orig[i]));
                g_assert_cmpmem(pkt_of(&orig[i]), orig[i].iov_len - 10, pkts[i].data, pkts[i].len);
        }
        n = gro_batch_unmerge(batch, 1, &orig);
        g_assert_cmpuint(n, ==, 1);
        g_assert_true(hdr_is_zero(&orig[0]));
        g_assert_cmpmem(pkt_of(&orig[0]), orig[0].iov_len - 10, pkts[3].data, pkts[3].len);
        g_assert_cmpuint(gro_batch_unmerge(batch, 2, &orig), ==, 0);
}

/* Rewrites the 16-bit field at off, updating the checksum at csum_off (RFC 1624). */
static void rewrite_field(Pkt *p, size_t off, uint16_t v, size_t csum_off) {
        uint16_t old = rd16(p->data + off), hc = rd16(p->data + csum_off);
        uint32_t sum = (uint32_t) (uint16_t) ~hc + (uint16_t) ~old + v;
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        p->data[off] = (uint8_t) (v >> 8);
        p->data[off + 1] = (uint8_t) v;
        p->data[csum_off] = (uint8_t) (~sum >> 8);
        p->data[csum_off + 1] = (uint8_t) ~sum;
        g_assert_true(packet_checksums_ok(p->data, p->len));
}

static void test_unmerge_keeps_fields_gro_ignores(void) {
        /* The urgent pointer (meaningless without URG) may differ between the packets
         * merged; taken apart again, each has its own. In order, and with a late first
         * packet (prepended). */
        const size_t orders[2][3] = { { 0, 1, 2 }, { 1, 0, 2 } };
        for (size_t o = 0; o < 2; o++) {
                const struct iovec *msgs, *orig;
                setup();
                for (size_t i = 0; i < 3; i++)
                        make(i, &tcp4, 1000, (uint32_t) (1000 * i), (uint16_t) i);
                rewrite_field(&pkts[0], 38, 0x4321, 36);        /* urgent pointer */
                rewrite_field(&pkts[1], 38, 0x1234, 36);
                rewrite_field(&pkts[2], 38, 7, 36);
                for (size_t i = 0; i < 3; i++)
                        add_ok(&pkts[orders[o][i]]);

                g_assert_cmpuint(finish(&msgs), ==, 1);
                g_assert_cmpuint(hdr_of(&msgs[0]).gso_type, ==, VIRTIO_NET_HDR_GSO_TCPV4);
                g_assert_cmpuint(gro_batch_unmerge(batch, 0, &orig), ==, 3);
                for (size_t i = 0; i < 3; i++) {
                        g_assert_true(hdr_is_zero(&orig[i]));
                        g_assert_cmpmem(pkt_of(&orig[i]), orig[i].iov_len - 10, pkts[i].data, pkts[i].len);
                }
        }
}

/* Builds packets 0 and 1 of a TCP/IPv4 flow, flips BITS in the 16-bit field at OFF of those
 * in WHICH (bit 0: packet 0, bit 1: packet 1), adds both and returns the messages. */
static size_t two_with_bits(size_t off, uint16_t bits, size_t csum_off, unsigned which,
                            const struct iovec **msgs) {
        setup();
        make(0, &tcp4, 1000, 0, 0);
        make(1, &tcp4, 1000, 1000, 1);
        for (size_t i = 0; i < 2; i++)
                if (which & (1u << i))
                        rewrite_field(&pkts[i], off, rd16(pkts[i].data + off) ^ bits, csum_off);
        add_ok(&pkts[0]);
        add_ok(&pkts[1]);
        return finish(msgs);
}

static void test_kernel_flush_fields(void) {
        const struct iovec *msgs;

        /* IPv4's reserved fragment bit: as the kernel, such a packet goes alone, first or
         * second. */
        g_assert_cmpuint(two_with_bits(6, 0x8000, 10, 2, &msgs), ==, 2);
        g_assert_cmpuint(two_with_bits(6, 0x8000, 10, 1, &msgs), ==, 2);
        g_assert_cmpuint(two_with_bits(6, 0x8000, 10, 3, &msgs), ==, 2);
        for (size_t i = 0; i < 2; i++) {
                g_assert_true(hdr_is_zero(&msgs[i]));
                g_assert_cmpmem(pkt_of(&msgs[i]), msgs[i].iov_len - 10, pkts[i].data, pkts[i].len);
        }

        /* TCP's reserved bits (AccECN's AE): merged only when equal, and kept. */
        g_assert_cmpuint(two_with_bits(32, 0x0100, 36, 2, &msgs), ==, 2);
        g_assert_cmpuint(two_with_bits(32, 0x0e00, 36, 1, &msgs), ==, 2);
        g_assert_cmpuint(two_with_bits(32, 0x0100, 36, 3, &msgs), ==, 1);
        assert_splits_back(&msgs[0], 0, 2);

        /* The window, as the kernel compares it: merged only when equal. */
        g_assert_cmpuint(two_with_bits(34, 0x0001, 36, 2, &msgs), ==, 2);
        g_assert_cmpuint(two_with_bits(34, 0x0001, 36, 3, &msgs), ==, 1);
        assert_splits_back(&msgs[0], 0, 2);
}

static void test_newer_run_of_flow_closes_older(void) {
        /* A packet of a flow that cannot be merged (a pure ACK) starts the flow's newest
         * run; a segment that would have fitted the older run must not go back into it,
         * ahead of the ACK. */
        const struct iovec *msgs;
        setup();
        add_ok(make(0, &tcp4, 1000, 0, 0));
        add_ok(make(1, &tcp4, 0, 1000, 5));
        add_ok(make(2, &tcp4, 1000, 1000, 1));
        g_assert_cmpuint(finish(&msgs), ==, 3);
        for (size_t i = 0; i < 3; i++) {
                g_assert_true(hdr_is_zero(&msgs[i]));
                g_assert_cmpmem(pkt_of(&msgs[i]), msgs[i].iov_len - 10, pkts[i].data, pkts[i].len);
        }

        /* The same with another flow's packets in between. */
        PacketSpec other = tcp4;
        other.sport = 40001;
        setup();
        add_ok(make(0, &tcp4, 1000, 0, 0));
        add_ok(make(1, &other, 1000, 0, 0));
        add_ok(make(2, &tcp4, 0, 1000, 5));
        add_ok(make(3, &other, 1000, 1000, 1));
        add_ok(make(4, &tcp4, 1000, 1000, 1));
        g_assert_cmpuint(finish(&msgs), ==, 4);
        g_assert_cmpmem(pkt_of(&msgs[2]), msgs[2].iov_len - 10, pkts[2].data, pkts[2].len);
        g_assert_cmpmem(pkt_of(&msgs[3]), msgs[3].iov_len - 10, pkts[4].data, pkts[4].len);
        g_assert_cmpuint(hdr_of(&msgs[1]).gso_type, ==, VIRTIO_NET_HDR_GSO_TCPV4);
}

static void test_full_batch(void) {
        const struct iovec *msgs;
        setup();
        for (size_t i = 0; i < MAX_PACKETS; i++)
                add_ok(make(0, &udp4, 10, 0, (uint16_t) (i * 7)));
        g_assert_cmpint(test_gro_add(batch, pkts[0].data, pkts[0].len), ==, -ENOBUFS);
        g_assert_cmpuint(finish(&msgs), ==, MAX_PACKETS);
        gro_batch_reset(batch);
        add_ok(&pkts[0]);
        g_assert_cmpuint(finish(&msgs), ==, 1);
}

static void test_malformed(void) {
        setup();
        Pkt *p = make(0, &tcp4, 100, 0, 0);
        uint8_t b[200] = {};
        struct { const char *name; size_t len; void (*mut)(uint8_t *); OffloadDrop expected; } table[] = {
                { "empty", 0, NULL, OFFLOAD_DROP_TRUNCATED },
                { "19 bytes", 19, NULL, OFFLOAD_DROP_TRUNCATED },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(table); i++)
                g_assert_cmpint(test_gro_add(batch, p->data, table[i].len), ==, -EINVAL);

        /* Each mutation of a good packet with the reason it must be refused for. */
        struct { const char *name; size_t off; uint8_t val; ssize_t len_delta; OffloadDrop expected; } muts[] = {
                { "version 5",          0, 0x45 + 0x10, 0, OFFLOAD_DROP_BAD_VERSION },
                { "IHL 4",              0, 0x44, 0, OFFLOAD_DROP_BAD_IP_HEADER },
                { "trailing bytes",     0, 0x45, 1, OFFLOAD_DROP_BAD_IP_HEADER },
                { "cut short",          0, 0x45, -1, OFFLOAD_DROP_TRUNCATED },
                { "TCP data offset 16", 32, 0x40, 0, OFFLOAD_DROP_BAD_L4_HEADER },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(muts); i++) {
                memcpy(b, p->data, p->len);
                b[muts[i].off] = muts[i].val;
                size_t len = (size_t) ((ssize_t) p->len + muts[i].len_delta);
                uint64_t before = gro_batch_stats(batch)->drops[muts[i].expected];
                if (test_gro_add(batch, b, len) != -EINVAL ||
                    gro_batch_stats(batch)->drops[muts[i].expected] != before + 1)
                        g_error("%s: not refused as %s", muts[i].name, offload_drop_to_string(muts[i].expected));
        }

        /* UDP length that disagrees with the IP length. */
        Pkt *u = make(1, &udp4, 100, 0, 0);
        memcpy(b, u->data, u->len);
        b[25]++;
        g_assert_cmpint(test_gro_add(batch, b, u->len), ==, -EINVAL);
        g_assert_cmpuint(gro_batch_stats(batch)->drops[OFFLOAD_DROP_BAD_L4_HEADER], ==, 2);

        const struct iovec *msgs;
        g_assert_cmpuint(finish(&msgs), ==, 0);
}

/* Split a super-packet, coalesce its segments: the original comes back byte for byte. */
static void test_round_trip(void) {
        static uint8_t msg[VNET_MSG_MAX], payload[65536];
        const struct { const PacketSpec *s; size_t len; uint16_t gso; } cases[] = {
                { &tcp4, 64000, 1448 }, { &tcp6, 60000, 1428 }, { &udp4, 40000, 1472 }, { &udp6, 20000, 1000 },
                { &tcp4, 1449, 1448 }, { &tcp6, 65535 - 72, 1380 }, { &tcp4, 100, 1 },
        };

        for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
                const struct iovec *msgs;
                PacketSpec s = *cases[c].s;
                s.tcp_flags = s.proto == 6 ? 0x18 : 0;
                fill_pattern(payload, cases[c].len, (uint32_t) c);
                size_t len = build_super(msg, &s, payload, cases[c].len, cases[c].gso, false);

                SplitOutput out = { .buf = split_buf, .buf_size = sizeof(split_buf), .segs = split_segs, .max_segs = 70000 };
                int n = offload_split(msg, len, 65535, &out);
                g_assert_cmpint(n, >, 1);

                g_autoptr(GroBatch) b = NULL;
                g_assert_cmpint(test_gro_batch_new(&b, (size_t) n), ==, 0);
                for (int i = 0; i < n; i++)
                        g_assert_cmpint(test_gro_add(b, split_segs[i].iov_base, split_segs[i].iov_len), ==, 0);
                size_t expect = s.proto == 17 ? ((size_t) n + 63) / 64 : 1;
                g_assert_cmpuint(gro_batch_finish(b, &msgs), ==, expect);
                if (expect == 1) {
                        VnetHdr h0, h1;
                        memcpy(&h0, msg, 10);
                        memcpy(&h1, msgs[0].iov_base, 10);
                        g_assert_cmpuint(h1.flags, ==, h0.flags);
                        g_assert_cmpuint(h1.gso_type, ==, h0.gso_type);
                        g_assert_cmpuint(h1.hdr_len, ==, h0.hdr_len);
                        g_assert_cmpuint(h1.gso_size, ==, h0.gso_size);
                        g_assert_cmpuint(h1.csum_start, ==, h0.csum_start);
                        g_assert_cmpuint(h1.csum_offset, ==, h0.csum_offset);
                        g_assert_cmpmem(msgs[0].iov_base, msgs[0].iov_len, msg, len);
                }
        }
}

/* The round trip over many random shapes: versions, protocols, options, sizes. */
static void test_round_trip_random(void) {
        static uint8_t msg[VNET_MSG_MAX], payload[65536];
        g_autoptr(GRand) rnd = g_rand_new_with_seed(7);
        g_autoptr(GroBatch) b = NULL;
        g_assert_cmpint(test_gro_batch_new(&b, 4096), ==, 0);

        int done = 0;
        for (int c = 0; c < 300; c++) {
                const struct iovec *msgs;
                PacketSpec s = {
                        .version = g_rand_boolean(rnd) ? 4 : 6,
                        .proto = g_rand_boolean(rnd) ? 6 : 17,
                        .sport = (uint16_t) g_rand_int(rnd),
                        .dport = (uint16_t) g_rand_int(rnd),
                        .seq = g_rand_int(rnd),
                        .ack = g_rand_int(rnd),
                        .tcp_opts_len = 4 * (size_t) g_rand_int_range(rnd, 0, 11),
                        .ip_id = (uint16_t) g_rand_int(rnd),
                        .df = g_rand_boolean(rnd),
                        .tos = (uint8_t) (g_rand_int(rnd) & 0xfc),
                        .ttl = (uint8_t) g_rand_int_range(rnd, 1, 256),
                        .flow_label = g_rand_int(rnd) & 0xfffff,
                };
                if (s.proto == 6)
                        s.tcp_flags = g_rand_boolean(rnd) ? 0x18 : 0x10;
                size_t hdrs = spec_hdr_len(&s);
                uint16_t gso = (uint16_t) g_rand_int_range(rnd, 1, 1500);
                size_t max_payload = 65535 - hdrs;
                if (s.proto == 17 && max_payload > (size_t) gso * 64)
                        max_payload = (size_t) gso * 64;        /* one UDP run at most */
                size_t len = (size_t) g_rand_int_range(rnd, gso + 1, (int32_t) max_payload + 1);
                if (len / gso > 4000)
                        continue;
                fill_pattern(payload, len, (uint32_t) c);
                size_t mlen = build_super(msg, &s, payload, len, gso, false);

                SplitOutput out = { .buf = split_buf, .buf_size = sizeof(split_buf), .segs = split_segs, .max_segs = 70000 };
                int n = offload_split(msg, mlen, 65535, &out);
                g_assert_cmpint(n, >, 1);

                gro_batch_reset(b);
                for (int i = 0; i < n; i++)
                        g_assert_cmpint(test_gro_add(b, split_segs[i].iov_base, split_segs[i].iov_len), ==, 0);
                g_assert_cmpuint(gro_batch_finish(b, &msgs), ==, 1);
                /* Byte for byte, vnet header included (hdr_len, gso_size, csum_* ...). */
                g_assert_cmpmem(msgs[0].iov_base, msgs[0].iov_len, msg, mlen);
                done++;
        }
        g_assert_cmpint(done, >, 250);
}

static void test_new_arguments(void) {
        GroBatch *b = NULL;
        g_assert_cmpint(gro_batch_new(&b, 0), ==, -EINVAL);
        g_assert_cmpint(gro_batch_new(&b, 65537), ==, -EINVAL);
        g_assert_null(b);
        g_assert_cmpint(test_gro_batch_new(&b, 1), ==, 0);
        const struct iovec *msgs;
        g_assert_cmpuint(gro_batch_finish(b, &msgs), ==, 0);    /* an empty batch */
        g_assert_cmpuint(gro_batch_unmerge(b, 0, &msgs), ==, 0);
        g_assert_null(gro_batch_free(b));
        g_assert_null(gro_batch_free(NULL));
}

/* Room for two runs of the largest IP packet: a third TCP flow finds the batch full while
 * packets of the open runs still join them; after a reset it fits. A UDP run of 100-byte
 * datagrams takes only the room of 64 of them. */
static void test_limited_room(void) {
        g_autoptr(GroBatch) b = NULL;
        const struct iovec *msgs;
        PacketSpec f[3] = { tcp4, tcp4, tcp4 };

        g_assert_cmpint(gro_batch_new_limited(&b, 64, GRO_BATCH_MIN_BYTES - 1), ==, -EINVAL);
        g_assert_null(b);
        g_assert_cmpint(test_gro_batch_new_limited(&b, 64, 2 * GRO_BATCH_MIN_BYTES), ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(f); i++)
                f[i].sport = (uint16_t) (40000 + i);

        const Pkt *p0 = make(0, &f[0], 1000, 0, 0), *p1 = make(1, &f[1], 1000, 0, 0);
        const Pkt *p2 = make(2, &f[2], 1000, 0, 0), *p3 = make(3, &f[0], 1000, 1000, 1);
        g_assert_cmpint(test_gro_add(b, p0->data, p0->len), ==, 0);
        g_assert_cmpint(test_gro_add(b, p1->data, p1->len), ==, 0);
        g_assert_cmpint(test_gro_add(b, p2->data, p2->len), ==, -ENOBUFS);
        g_assert_cmpint(test_gro_add(b, p3->data, p3->len), ==, 0);
        g_assert_cmpuint(gro_batch_finish(b, &msgs), ==, 2);
        g_assert_cmpuint(msgs[0].iov_len, ==, 10 + p0->len + 1000);
        assert_splits_back(&msgs[1], 1, 1);
        gro_batch_reset(b);
        g_assert_cmpint(test_gro_add(b, p2->data, p2->len), ==, 0);
        gro_batch_reset(b);

        size_t n = 0, room = ((10 + 28 + 64 * 100) + 63) / 64 * 64;
        for (;; n++) {
                PacketSpec u = udp4;
                u.sport = (uint16_t) (1000 + n);
                const Pkt *p = make(0, &u, 100, 0, 0);
                int r = test_gro_add(b, p->data, p->len);
                if (r == -ENOBUFS)
                        break;
                g_assert_cmpint(r, ==, 0);
        }
        g_assert_cmpuint(n, ==, 2 * GRO_BATCH_MIN_BYTES / room);
}

/* Feeds the same packet to both batches: their answers and counters must agree. */
static void add_to_both(GroBatch *fast, GroBatch *slow, const Pkt *p) {
        g_assert_cmpint(test_gro_add(fast, p->data, p->len), ==, gro_batch_add(slow, p->data, p->len));
        g_assert_cmpmem(gro_batch_stats(fast), sizeof(GroStats), gro_batch_stats(slow), sizeof(GroStats));
}

static void assert_same_output(GroBatch *fast, GroBatch *slow) {
        const struct iovec *a, *b;
        size_t n = gro_batch_finish(fast, &a);

        g_assert_cmpuint(gro_batch_finish(slow, &b), ==, n);
        for (size_t i = 0; i < n; i++)
                g_assert_cmpmem(a[i].iov_base, a[i].iov_len, b[i].iov_base, b[i].iov_len);
        for (size_t i = 0; i < n; i++) {
                size_t k = gro_batch_unmerge(fast, i, &a);
                g_assert_cmpuint(gro_batch_unmerge(slow, i, &b), ==, k);
                for (size_t j = 0; j < k; j++)
                        g_assert_cmpmem(a[j].iov_base, a[j].iov_len, b[j].iov_base, b[j].iov_len);
        }
}

/* Interleaved flows (two of them on the same ports, for the fast path's lookup) with what
 * ends runs or keeps packets apart, through a batch with the fast path and one without:
 * the same answers, counters and messages, and the same packets taken apart again. */
static void test_paths_agree(void) {
        g_autoptr(GRand) rnd = g_rand_new_with_seed(11);
        g_autoptr(GroBatch) fast = NULL;
        g_autoptr(GroBatch) slow = NULL;
        PacketSpec flows[] = { tcp4, tcp6, udp4, udp6, tcp4, tcp4 };
        uint32_t seq[G_N_ELEMENTS(flows)] = {};
        uint16_t id[G_N_ELEMENTS(flows)] = {};

        flows[4].addr_tail = 1;
        flows[5].df = false;
        flows[5].sport = 40001;
        g_assert_cmpint(gro_batch_new(&fast, MAX_PACKETS), ==, 0);
        g_assert_cmpint(gro_batch_new(&slow, MAX_PACKETS), ==, 0);
        gro_batch_set_fast_path(slow, false);

        for (int round = 0; round < 300; round++) {
                gro_batch_reset(fast);
                gro_batch_reset(slow);
                int n = g_rand_int_range(rnd, 1, MAX_PACKETS + 1);
                for (int i = 0; i < n; i++) {
                        size_t f = (size_t) g_rand_int_range(rnd, 0, G_N_ELEMENTS(flows));
                        size_t l3 = flows[f].version == 4 ? 20 : 40;
                        bool tcp = flows[f].proto == 6;
                        size_t len = g_rand_boolean(rnd) ? 1000 : (size_t) g_rand_int_range(rnd, 0, 1100);
                        PacketSpec s = flows[f];
                        s.seq = seq[f];
                        s.ip_id = id[f];
                        int what = g_rand_int_range(rnd, 0, 16);
                        if (what == 0)
                                s.tcp_flags = 0x18;             /* PSH */
                        else if (what == 1)
                                s.seq -= 1000;                  /* late, or again */
                        else if (what == 2)
                                s.seq++;                        /* a gap */
                        else if (what == 3)
                                s.ip_id--;                      /* the same ID */
                        else if (what == 4)
                                s.ttl = 63;
                        else if (what == 5)
                                s.tcp_flags = 0x11;             /* FIN */
                        Pkt *p = make(0, &s, len, 0, 0);
                        if (what == 6 && len > 0)
                                p->data[p->len - 1] ^= 1;       /* a bad checksum */
                        else if (what == 7 && tcp)
                                rewrite_field(p, l3 + 14, (uint16_t) g_rand_int(rnd), l3 + 16);  /* window */
                        add_to_both(fast, slow, p);
                        seq[f] = s.seq + (uint32_t) len;
                        id[f] = (uint16_t) (s.ip_id + 1);
                }
                assert_same_output(fast, slow);
        }
        /* Enough of both kinds to have compared something. */
        g_assert_cmpuint(gro_batch_stats(fast)->merged, >, 5000);
        g_assert_cmpuint(gro_batch_stats(fast)->invalid, >, 500);
}

static void teardown_all(void) {
        batch = gro_batch_free(batch);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        add_test_gro_paths("/gro/tcp4-in-order", test_tcp4_in_order);
        add_test_gro_paths("/gro/tcp6-in-order", test_tcp6_in_order);
        add_test_gro_paths("/gro/udp4", test_udp4);
        add_test_gro_paths("/gro/udp6", test_udp6);
        add_test_gro_paths("/gro/psh-on-last-kept", test_psh_on_last_kept);
        add_test_gro_paths("/gro/limits", test_limits);
        add_test_gro_paths("/gro/shorter-last-ends-run", test_shorter_last_ends_run);
        add_test_gro_paths("/gro/psh-ends-run", test_psh_ends_run);
        add_test_gro_paths("/gro/prepend", test_prepend);
        add_test_gro_paths("/gro/merge-rules-both-ways", test_merge_rules_both_ways);
        add_test_gro_paths("/gro/id-mode-is-kept", test_id_mode_is_kept);
        add_test_gro_paths("/gro/not-merged-packets", test_not_merged_packets);
        add_test_gro_paths("/gro/switches", test_switches);
        add_test_gro_paths("/gro/flows-interleaved-in-order", test_flows_interleaved_in_order);
        add_test_gro_paths("/gro/bad-checksum-never-merged-nor-sent", test_bad_checksum_never_merged_nor_sent);
        add_test_gro_paths("/gro/unmerge", test_unmerge);
        add_test_gro_paths("/gro/unmerge-keeps-fields-gro-ignores", test_unmerge_keeps_fields_gro_ignores);
        add_test_gro_paths("/gro/newer-run-of-flow-closes-older", test_newer_run_of_flow_closes_older);
        add_test_gro_paths("/gro/kernel-flush-fields", test_kernel_flush_fields);
        add_test_gro_paths("/gro/full-batch", test_full_batch);
        add_test_gro_paths("/gro/malformed", test_malformed);
        add_test_gro_paths("/gro/round-trip", test_round_trip);
        add_test_gro_paths("/gro/round-trip-random", test_round_trip_random);
        add_test_gro_paths("/gro/new-arguments", test_new_arguments);
        add_test_gro_paths("/gro/limited-room", test_limited_room);
        add_test_both_paths("/gro/paths-agree", test_paths_agree);
        int r = g_test_run();
        teardown_all();
        return r;
}
