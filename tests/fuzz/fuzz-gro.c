/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Input: 1 byte of switches (bit 0: gro-tcp off, bit 1: gro-udp off, bit 2: fix up the
 * checksums of every packet first so that merging is reached, bit 3: a batch with room
 * for only two runs of the largest size, which may refuse packets with -ENOBUFS, bit 4:
 * the first batch takes them through gro_batch_add_shared(), as packets in a client's
 * ring), then packets as records of
 * a 2-byte big-endian length and that many bytes. Every coalesced message must split back
 * into as many packets as were merged into it, and unmerge must give them back: each
 * packet it gives is byte for byte one that was added. A second batch takes the same
 * packets with the fast path off: it must answer every add alike, keep the same counters,
 * and give the same messages and unmerged packets, byte for byte. */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "offload.h"
#include "packet.h"

#define MAX_PACKETS 64u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Recomputes the IPv4 header checksum and the TCP/UDP checksum where the lengths allow. */
static void fix_checksums(uint8_t *p, size_t len) {
        IpInfo ip;
        if (ip_parse(p, len, &ip) != OFFLOAD_DROP_NONE || ip.fragment)
                return;
        if (ip.version == 4) {
                put_csum(p + IPV4_CSUM, 0);
                put_csum(p + IPV4_CSUM, csum_fold(csum_partial(p, ip.l3_len, 0)));
        }
        size_t l4 = ip.l3_len, field;
        if (ip.proto == PROTO_TCP && l4 + TCP_MIN_HDR_LEN <= ip.ip_len)
                field = l4 + TCP_CSUM;
        else if (ip.proto == PROTO_UDP && l4 + UDP_HDR_LEN <= ip.ip_len)
                field = l4 + UDP_CSUM;
        else
                return;
        put_csum(p + field, 0);
        uint32_t sum = csum_partial(p + l4, ip.ip_len - l4, ip_pseudo_sum(p, &ip, (uint32_t) (ip.ip_len - l4)));
        put_l4_csum(p + field, sum, ip.proto);
}

static bool same_iovecs(const struct iovec *a, const struct iovec *b, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (a[i].iov_len != b[i].iov_len || memcmp(a[i].iov_base, b[i].iov_base, a[i].iov_len) != 0)
                        return false;
        return true;
}

/* The full path's batch gives what the fast path's gave (its m messages msgs): the
 * messages, then the packets each is taken apart into. */
static void check_same_output(GroBatch *fast, const struct iovec *msgs, size_t m, GroBatch *full) {
        const struct iovec *a, *b;

        if (gro_batch_finish(full, &b) != m || !same_iovecs(msgs, b, m))
                abort();
        for (size_t i = 0; i < m; i++) {
                size_t u = gro_batch_unmerge(fast, i, &a);
                if (gro_batch_unmerge(full, i, &b) != u || !same_iovecs(a, b, u))
                        abort();
        }
}

/* Whether message m (a zeroed virtio_net_hdr and a packet) holds one of the packets added. */
static bool was_added(const struct iovec *m, uint8_t *const *pkts, const size_t *lens, const bool *accepted, size_t n) {
        static const uint8_t zero[VNET_HDR_LEN];
        if (m->iov_len < VNET_HDR_LEN || memcmp(m->iov_base, zero, VNET_HDR_LEN) != 0)
                return false;
        const uint8_t *p = (const uint8_t *) m->iov_base + VNET_HDR_LEN;
        size_t len = m->iov_len - VNET_HDR_LEN;
        for (size_t i = 0; i < n; i++)
                if (accepted[i] && lens[i] == len && memcmp(pkts[i], p, len) == 0)
                        return true;
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* [small room][fast path off] */
        static GroBatch *batches[2][2];
        static uint8_t *split_buf;
        static struct iovec *segs;
        uint8_t *pkts[MAX_PACKETS];
        size_t lens[MAX_PACKETS];
        bool accepted[MAX_PACKETS];
        size_t n = 0;

        if (size < 1)
                return 0;
        if (!split_buf) {
                split_buf = malloc(4u << 20);
                segs = malloc(70000 * sizeof(struct iovec));
                for (size_t k = 0; k < 2; k++)
                        if (gro_batch_new(&batches[0][k], MAX_PACKETS) < 0 ||
                            gro_batch_new_limited(&batches[1][k], MAX_PACKETS, 2 * GRO_BATCH_MIN_BYTES) < 0)
                                abort();
                gro_batch_set_fast_path(batches[0][1], false);
                gro_batch_set_fast_path(batches[1][1], false);
                if (!split_buf || !segs)
                        abort();
        }

        uint8_t sw = data[0];
        bool small = sw & 8;
        GroBatch *b = batches[small][0], *full = batches[small][1];
        for (size_t k = 0; k < 2; k++) {
                gro_batch_reset(batches[small][k]);
                gro_batch_set_tcp(batches[small][k], !(sw & 1));
                gro_batch_set_udp(batches[small][k], !(sw & 2));
        }
        uint64_t merged_before = gro_batch_stats(b)->merged;

        size_t off = 1, added = 0;
        while (off + 2 <= size && n < MAX_PACKETS) {
                size_t len = (size_t) (data[off] << 8 | data[off + 1]);
                off += 2;
                if (len > size - off)
                        len = size - off;
                /* Each packet in an allocation of its own size: over-reads are caught. */
                uint8_t *p = malloc(len ? len : 1);
                if (!p)
                        abort();
                memcpy(p, data + off, len);
                off += len;
                if (sw & 4)
                        fix_checksums(p, len);
                pkts[n] = p;
                lens[n] = len;
                int r = sw & 16 ? gro_batch_add_shared(b, p, len) : gro_batch_add(b, p, len);
                if (gro_batch_add(full, p, len) != r ||
                    memcmp(gro_batch_stats(b), gro_batch_stats(full), sizeof(GroStats)) != 0)
                        abort();
                accepted[n++] = r == 0;
                if (r == 0)
                        added++;
                else if (r != -EINVAL && !(r == -ENOBUFS && small))
                        abort();
        }

        const struct iovec *msgs, *orig;
        size_t m = gro_batch_finish(b, &msgs);
        check_same_output(b, msgs, m, full);
        size_t merged = (size_t) (gro_batch_stats(b)->merged - merged_before);
        if (m + merged != added)
                abort();

        size_t total = 0;
        for (size_t i = 0; i < m; i++) {
                VnetHdr h;
                memcpy(&h, msgs[i].iov_base, sizeof(h));
                size_t u = gro_batch_unmerge(b, i, &orig);
                total += u;
                for (size_t k = 0; k < u; k++)
                        if (!was_added(&orig[k], pkts, lens, accepted, n))
                                abort();
                if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
                        if (u != 1 || h.flags || h.hdr_len || h.gso_size || h.csum_start || h.csum_offset)
                                abort();
                        continue;
                }
                SplitOutput out = { .buf = split_buf, .buf_size = 4u << 20, .segs = segs, .max_segs = 70000 };
                int r = offload_split(msgs[i].iov_base, msgs[i].iov_len, 65535, &out);
                if (r < 0 || (size_t) r != u)
                        abort();
                for (size_t k = 0; k < u; k++)
                        if (out.segs[k].iov_len != orig[k].iov_len - VNET_HDR_LEN)
                                abort();
        }
        if (total != added)
                abort();

        for (size_t i = 0; i < n; i++)
                free(pkts[i]);
        return 0;
}
