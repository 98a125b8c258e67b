/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Read side: one TUN message (virtio_net_hdr + packet) into plain packets no longer than
 * the MTU, each with complete checksums. The header only says what to do; every length and
 * offset used comes from the packet itself and is checked against the bytes present. */

#include <errno.h>

#include "packet.h"

static int refuse(SplitOutput *out, OffloadDrop why) {
        out->drop = why;
        return -EINVAL;
}

static bool csum_offsets_ok(const VnetHdr *h, size_t len) {
        if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
                return true;
        return (size_t) h->csum_start + h->csum_offset + 2 <= len;
}

static bool have_room(SplitOutput *out, size_t segs, size_t bytes) {
        if (segs <= out->max_segs && bytes <= out->buf_size)
                return true;
        out->needed_segs = segs;
        out->needed_bytes = bytes;
        return false;
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
                return refuse(out, OFFLOAD_DROP_TOO_BIG);
        if (!have_room(out, 1, len))
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
        if (ip->fragment || ip->proto == IPV6_PROTO_ROUTING)
                return OFFLOAD_DROP_BAD_IP_HEADER;
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
        if (!have_room(out, n, n * hdrs + payload))
                return -ENOBUFS;

        uint32_t pseudo = ip_pseudo_sum(pkt, &ip, 0);
        uint16_t id = ip.version == 4 ? get_be16(pkt + IPV4_ID) : 0;
        uint32_t seq = tcp ? get_be32(pkt + l4 + TCP_SEQ) : 0;
        uint8_t flags = tcp ? pkt[l4 + TCP_FLAGS] : 0;
        const uint8_t *src = pkt + hdrs;
        uint8_t *dst = out->buf;

        for (size_t i = 0; i < n; i++) {
                size_t seg = min_size(mss, payload - i * mss);
                size_t l4_len = l4_hdr_len + seg;
                bool last = i == n - 1;

                memcpy(dst, pkt, hdrs);
                if (ip.version == 4)
                        put_be16(dst + IPV4_ID, (uint16_t) (id + i));
                ip_set_length(dst, &ip, (uint32_t) (hdrs + seg));

                uint8_t *l4h = dst + l4, *csum_field;
                if (tcp) {
                        uint8_t f = flags;
                        if (!last)
                                f &= (uint8_t) ~(TCP_FIN | TCP_PSH);
                        if (i > 0)
                                f &= (uint8_t) ~TCP_CWR;
                        put_be32(l4h + TCP_SEQ, seq + (uint32_t) (i * mss));
                        l4h[TCP_FLAGS] = f;
                        csum_field = l4h + TCP_CSUM;
                } else {
                        put_be16(l4h + UDP_LEN, (uint16_t) l4_len);
                        csum_field = l4h + UDP_CSUM;
                }
                put_csum(csum_field, 0);

                uint32_t sum = csum_add(pseudo, csum_be16((uint16_t) l4_len));
                sum = csum_partial(l4h, l4_hdr_len, sum);
                sum = csum_copy(dst + hdrs, src, seg, sum);
                put_l4_csum(csum_field, sum, ip.proto);

                out->segs[i] = (struct iovec) { .iov_base = dst, .iov_len = hdrs + seg };
                dst += hdrs + seg;
                src += seg;
        }

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
