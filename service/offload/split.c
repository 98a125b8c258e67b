/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Read side: one TUN message (virtio_net_hdr + packet) into plain packets no longer than
 * the MTU, each with complete checksums. The header only says what to do; every length and
 * offset used comes from the packet itself and is checked against the bytes present. */

#include <errno.h>

#include "packet.h"

#define SMALL_HDRS_V4 64u              /* IPv4 + TCP with timestamps: 52 */
#define SMALL_HDRS 96u                 /* IPv6 + TCP with timestamps: 72 */

static int refuse(SplitOutput *out, OffloadDrop why) {
        out->drop = why;
        return -EINVAL;
}

static bool csum_offsets_ok(const VnetHdr *h, size_t len) {
        if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
                return true;
        return (size_t) h->csum_start + h->csum_offset + 2 <= len;
}

/* Room for segs packets of bytes in all, the largest of them largest bytes. */
static bool have_room(SplitOutput *out, size_t segs, size_t bytes, size_t largest) {
        if (out->stride)
                bytes = segs * out->stride;
        if (segs <= out->max_segs && bytes <= out->buf_size && (!out->stride || largest <= out->stride))
                return true;
        out->needed_segs = segs;
        out->needed_bytes = bytes;
        return false;
}

static int split_gso(const VnetHdr *h, const uint8_t *pkt, size_t len, uint32_t mtu, SplitOutput *out);

/* A plain TCP packet longer than the MTU (the MTU went down while it was on its way): cut
 * like a super-packet. A complete checksum is verified first, so that computing it afresh
 * cannot hide damage. UDP and anything else that long is refused. */
static int cut_tcp_packet(const VnetHdr *h, const uint8_t *pkt, size_t len, uint32_t mtu, SplitOutput *out) {
        IpInfo ip;

        if (ip_parse(pkt, len, &ip) != OFFLOAD_DROP_NONE || ip.fragment || ip.proto != PROTO_TCP ||
            ip.l3_len + TCP_MIN_HDR_LEN > ip.ip_len)
                return refuse(out, OFFLOAD_DROP_TOO_BIG);

        if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
                uint32_t l4_len = ip.ip_len - ip.l3_len;
                uint32_t sum = csum_partial(pkt + ip.l3_len, l4_len, ip_pseudo_sum(pkt, &ip, l4_len));
                if (csum_fold(sum) != 0)
                        return refuse(out, OFFLOAD_DROP_BAD_CHECKSUM);
        }

        VnetHdr g = *h;
        g.gso_type = ip.version == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
        g.gso_size = UINT16_MAX;        /* the MTU decides the segment size */
        return split_gso(&g, pkt, len, mtu, out);
}

/* A packet that needs no segmentation: copied as is, its partial checksum (if any)
 * completed in the same pass. */
static int split_none(const VnetHdr *h, const uint8_t *pkt, size_t len, uint32_t mtu, SplitOutput *out) {
        if (len == 0)
                return refuse(out, OFFLOAD_DROP_TRUNCATED);
        if (pkt[0] >> 4 != 4 && pkt[0] >> 4 != 6)
                return refuse(out, OFFLOAD_DROP_BAD_VERSION);
        if (!csum_offsets_ok(h, len))
                return refuse(out, OFFLOAD_DROP_BAD_CSUM_OFFSETS);
        if (len > mtu)
                return cut_tcp_packet(h, pkt, len, mtu, out);
        if (!have_room(out, 1, len, len))
                return -ENOBUFS;

        uint8_t *dst = out->buf;
        if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
                /* The field holds the pseudo-header sum: summing from csum_start over the
                 * rest of the packet, field included, gives the checksum. As the kernel
                 * does, a result of 0 is sent as 0xffff (equivalent for TCP, required for
                 * UDP). */
                memcpy(dst, pkt, h->csum_start);
                uint16_t c = csum_fold(csum_copy(dst + h->csum_start, pkt + h->csum_start,
                                                 len - h->csum_start, 0));
                put_csum(dst + h->csum_start + h->csum_offset, c ? c : 0xffff);
        } else
                memcpy(dst, pkt, len);

        out->segs[0] = (struct iovec) { .iov_base = dst, .iov_len = len };
        out->n_segs = 1;
        return 1;
}

/* IPv6 extension headers other than hop-by-hop and destination options (which ip_parse()
 * walks): routing, fragment, ESP, AH, mobility, HIP, shim6, experimental. */
static bool ipv6_is_extension_header(uint8_t proto) {
        switch (proto) {
        case 43: case 44: case 50: case 51: case 135: case 139: case 140: case 253: case 254:
                return true;
        default:
                return false;
        }
}

static uint8_t expected_proto(uint8_t gso) {
        return gso == VIRTIO_NET_HDR_GSO_UDP_L4 ? PROTO_UDP : PROTO_TCP;
}

/* Checks that the packet is what gso_type says and finds where its payload starts. */
static OffloadDrop parse_gso_packet(uint8_t gso, const uint8_t *pkt, size_t len, IpInfo *ip, size_t *ret_l4_hdr_len) {
        OffloadDrop d = ip_parse(pkt, len, ip);
        if (d != OFFLOAD_DROP_NONE)
                return d;

        if ((gso == VIRTIO_NET_HDR_GSO_TCPV4 && ip->version != 4) ||
            (gso == VIRTIO_NET_HDR_GSO_TCPV6 && ip->version != 6))
                return OFFLOAD_DROP_BAD_VERSION;
        if (ip->fragment || (ip->version == 6 && ipv6_is_extension_header(ip->proto)))
                return OFFLOAD_DROP_BAD_IP_HEADER;      /* one we do not walk: refused */
        if (ip->proto != expected_proto(gso))
                return OFFLOAD_DROP_BAD_GSO;

        size_t l4 = ip->l3_len, end = ip->ip_len;
        if (ip->proto == PROTO_UDP) {
                if (l4 + UDP_HDR_LEN > end)
                        return OFFLOAD_DROP_TRUNCATED;
                *ret_l4_hdr_len = UDP_HDR_LEN;
                return OFFLOAD_DROP_NONE;
        }

        if (l4 + TCP_MIN_HDR_LEN > end)
                return OFFLOAD_DROP_TRUNCATED;
        size_t doff = (size_t) (pkt[l4 + TCP_DOFF] >> 4) * 4;
        if (doff < TCP_MIN_HDR_LEN || doff > TCP_MAX_HDR_LEN)
                return OFFLOAD_DROP_BAD_L4_HEADER;
        if (l4 + doff > end)
                return OFFLOAD_DROP_TRUNCATED;
        *ret_l4_hdr_len = doff;
        return OFFLOAD_DROP_NONE;
}

/* What every segment of a super-packet shares (see split_gso). */
typedef struct SegmentPlan {
        const uint8_t *pkt;             /* its headers */
        const uint8_t *src;             /* its payload */
        size_t hdrs, l4, l4_hdr_len;
        size_t mss, payload, n;
        uint64_t ip_base, l4_base;      /* header sums without the per-segment fields */
        uint16_t id;
        uint32_t seq;
        uint8_t flags, doff_byte;
} SegmentPlan;

/* Writes the segments; inlined once per kind of packet (v4, tcp constant), so the loop
 * has neither their branches nor their values to keep. */
__attribute__((always_inline))
static inline void write_segments(const SegmentPlan *plan, SplitOutput *out, bool v4, bool tcp) {
        const uint8_t *pkt = plan->pkt, *src = plan->src;
        size_t hdrs = plan->hdrs, l4 = plan->l4, mss = plan->mss, n = plan->n;
        uint8_t *dst = out->buf;

        for (size_t i = 0; i < n; i++) {
                size_t seg = min_size(mss, plan->payload - i * mss);
                uint16_t l4_len = (uint16_t) (plan->l4_hdr_len + seg);
                uint8_t *l4h = dst + l4, *csum_field;

                /* A fixed-size copy is a few vector moves where memcpy() of a variable
                 * size is a call; the bytes past hdrs are overwritten by the payload. */
                if (hdrs <= SMALL_HDRS_V4 && hdrs + seg >= SMALL_HDRS_V4)
                        memcpy(dst, pkt, SMALL_HDRS_V4);
                else if (hdrs <= SMALL_HDRS && hdrs + seg >= SMALL_HDRS)
                        memcpy(dst, pkt, SMALL_HDRS);
                else
                        memcpy(dst, pkt, hdrs);
                if (v4) {
                        uint16_t seg_id = (uint16_t) (plan->id + i), tot_len = (uint16_t) (hdrs + seg);
                        put_be16(dst + IPV4_TOT_LEN, tot_len);
                        put_be16(dst + IPV4_ID, seg_id);
                        put_csum(dst + IPV4_CSUM,
                                 csum_fold_inline(csum_fold64(plan->ip_base + csum_be16(tot_len) + csum_be16(seg_id))));
                } else
                        put_be16(dst + IPV6_PAYLOAD_LEN, (uint16_t) (hdrs + seg - IPV6_HDR_LEN));

                uint64_t sum = plan->l4_base + csum_be16(l4_len);
                if (tcp) {
                        uint8_t f = plan->flags;
                        if (i != n - 1)
                                f &= (uint8_t) ~(TCP_FIN | TCP_PSH);
                        if (i > 0)
                                f &= (uint8_t) ~TCP_CWR;
                        uint32_t seg_seq = plan->seq + (uint32_t) (i * mss);
                        put_be32(l4h + TCP_SEQ, seg_seq);
                        l4h[TCP_FLAGS] = f;
                        /* From the values, not the bytes just stored: reading those back
                         * would stall on store forwarding. */
                        sum += csum_be16((uint16_t) (seg_seq >> 16)) + csum_be16((uint16_t) seg_seq) +
                               csum_be16((uint16_t) (plan->doff_byte << 8 | f));
                        csum_field = l4h + TCP_CSUM;
                } else {
                        put_be16(l4h + UDP_LEN, l4_len);
                        sum += csum_be16(l4_len);       /* in the header as well as the pseudo-header */
                        csum_field = l4h + UDP_CSUM;
                }
                put_l4_csum(csum_field, csum_copy(dst + hdrs, src, seg, csum_fold64(sum)), tcp ? PROTO_TCP : PROTO_UDP);

                out->segs[i] = (struct iovec) { .iov_base = dst, .iov_len = hdrs + seg };
                dst += out->stride ?: hdrs + seg;
                src += seg;
        }
}

static int split_gso(const VnetHdr *h, const uint8_t *pkt, size_t len, uint32_t mtu, SplitOutput *out) {
        uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
        IpInfo ip;
        size_t l4_hdr_len;

        if (h->gso_size == 0)
                return refuse(out, OFFLOAD_DROP_BAD_GSO);
        if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && gso == VIRTIO_NET_HDR_GSO_UDP_L4)
                return refuse(out, OFFLOAD_DROP_BAD_GSO);

        OffloadDrop d = parse_gso_packet(gso, pkt, len, &ip, &l4_hdr_len);
        if (d != OFFLOAD_DROP_NONE)
                return refuse(out, d);
        /* Checked though not used: the checksums are computed afresh from the headers. */
        if (!csum_offsets_ok(h, len))
                return refuse(out, OFFLOAD_DROP_BAD_CSUM_OFFSETS);

        bool tcp = ip.proto == PROTO_TCP;
        size_t l4 = ip.l3_len, hdrs = l4 + l4_hdr_len, payload = ip.ip_len - hdrs;
        size_t mss = h->gso_size;

        if (hdrs + min_size(mss, payload) > mtu) {
                /* TCP segments can be cut to fit; a UDP datagram's size is the
                 * application's and must not change. */
                if (!tcp || mtu <= hdrs)
                        return refuse(out, OFFLOAD_DROP_TOO_BIG);
                mss = mtu - hdrs;
        }

        size_t n = payload == 0 ? 1 : (payload + mss - 1) / mss;
        if (!have_room(out, n, n * hdrs + payload, hdrs + min_size(mss, payload)))
                return -ENOBUFS;

        /* The headers are the same in every segment but for a few fields: their sums are
         * taken once without those fields, which are added per segment. */
        SegmentPlan plan = {
                .pkt = pkt,
                .src = pkt + hdrs,
                .hdrs = hdrs,
                .l4 = l4,
                .l4_hdr_len = l4_hdr_len,
                .mss = mss,
                .payload = payload,
                .n = n,
        };
        const uint8_t *l4_src = pkt + l4;
        if (ip.version == 4) {
                plan.ip_base = csum_words32(pkt, l4) + csum_neg_word(pkt + IPV4_TOT_LEN) +
                               csum_neg_word(pkt + IPV4_ID) + csum_neg_word(pkt + IPV4_CSUM);
                plan.id = get_be16(pkt + IPV4_ID);
        }
        plan.l4_base = ip_pseudo_sum(pkt, &ip, 0) + csum_words32(l4_src, l4_hdr_len);
        if (tcp) {
                plan.l4_base += csum_neg_word(l4_src + TCP_SEQ) + csum_neg_word(l4_src + TCP_SEQ + 2) +
                                csum_neg_word(l4_src + TCP_DOFF) + csum_neg_word(l4_src + TCP_CSUM);
                plan.seq = get_be32(l4_src + TCP_SEQ);
                plan.flags = l4_src[TCP_FLAGS];
                plan.doff_byte = l4_src[TCP_DOFF];
        } else
                plan.l4_base += csum_neg_word(l4_src + UDP_LEN) + csum_neg_word(l4_src + UDP_CSUM);

        if (ip.version == 4)
                tcp ? write_segments(&plan, out, true, true) : write_segments(&plan, out, true, false);
        else
                tcp ? write_segments(&plan, out, false, true) : write_segments(&plan, out, false, false);

        out->n_segs = n;
        return (int) n;
}

int offload_split(const uint8_t *msg, size_t len, uint32_t mtu, SplitOutput *out) {
        VnetHdr h;

        out->n_segs = 0;
        out->drop = OFFLOAD_DROP_NONE;
        out->needed_segs = out->needed_bytes = 0;

        if (len < VNET_HDR_LEN)
                return refuse(out, OFFLOAD_DROP_TRUNCATED);
        memcpy(&h, msg, sizeof(h));
        const uint8_t *pkt = msg + VNET_HDR_LEN;
        len -= VNET_HDR_LEN;

        switch (h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
        case VIRTIO_NET_HDR_GSO_NONE:
                if (h.gso_type & VIRTIO_NET_HDR_GSO_ECN)
                        return refuse(out, OFFLOAD_DROP_BAD_GSO);
                return split_none(&h, pkt, len, mtu, out);
        case VIRTIO_NET_HDR_GSO_TCPV4:
        case VIRTIO_NET_HDR_GSO_TCPV6:
        case VIRTIO_NET_HDR_GSO_UDP_L4:
                return split_gso(&h, pkt, len, mtu, out);
        default:
                return refuse(out, OFFLOAD_DROP_BAD_GSO);
        }
}
