/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Write side: coalesces the plain packets a client writes into super-packets for the
 * kernel, by the rules of the kernel's own GRO (net/ipv4/tcp_offload.c, udp_offload.c,
 * net/core/gro.c).
 *
 * Packets of a batch form runs. Every run owns a region of the batch's room, taken in
 * order, big enough for what the run may grow to (a TCP run the largest IP packet, a UDP
 * run 64 datagrams of its first one's size, a packet that merges with nothing its own
 * length); a packet that joins a run has its payload copied straight to its place in the
 * region, its checksum verified in the same pass, so each byte is copied once. Each TCP or
 * UDP flow has one open run (the newest); a packet of the flow that cannot join it starts
 * a new run, which keeps every flow's packets in order.
 *
 * The packets of a run have equal headers but for a few fields (varying_fields), so the
 * run's region keeps the headers of the packet that started it and each packet records only
 * its own values of those fields: enough to rebuild its headers exactly when a coalesced
 * packet is taken apart again (gro_batch_unmerge).
 *
 * Most packets belong to the newest run of their ports: they are compared against that
 * run's headers under a mask of the fields allowed to differ, which stands for the whole
 * parse (fast_append). Whatever does not pass takes the full path. Both apply the same
 * rules (varying_fields, run_takes() and the rest), and give the same results; the tests
 * and the fuzzer turn the fast path off (gro_batch_set_fast_path) to compare them. */

#include <errno.h>
#include <stdlib.h>

#include "packet.h"

#define GRO_MAX_HDR (IPV6_HDR_LEN + TCP_MAX_HDR_LEN)
/* gro_batch_add_shared() copies this much of a packet privately: the headers the parse
 * reads, but for IPv6 extension headers (IPv4 and TCP headers are 60 bytes at most). */
#define GRO_HEAD_LEN 128u
_Static_assert(GRO_HEAD_LEN >= 60 + TCP_MAX_HDR_LEN, "IPv4 and TCP headers at their longest");
/* The longest IP packet: IPv6's payload length leaves out its header. */
#define GRO_HEAD_MAX (IPV6_HDR_LEN + IP_MAX_PACKET)
#define GRO_REGION_ALIGN(n) (((n) + 63u) & ~(size_t) 63u)
#define GRO_REGION_SIZE GRO_REGION_ALIGN(VNET_HDR_LEN + IP_MAX_PACKET)
_Static_assert(GRO_REGION_SIZE == GRO_BATCH_MIN_BYTES, "the room of the largest run");
#define GRO_MAX_PACKETS 65536u
#define UDP_GRO_MAX_SEGS 64u            /* as the kernel's UDP_GRO_CNT_MAX */
#define NO_INDEX UINT32_MAX
#define PORT_SLOTS_SHIFT 6u
#define PORT_SLOTS (1u << PORT_SLOTS_SHIFT)

/* Addresses, ports, protocol and version, as whole words: built from loads of the packet
 * and compared word by word (no byte stores read back). */
typedef struct FlowKey {
        uint64_t w[5];
} FlowKey;

/* The header rules of a run, stated once: the fields in which its packets may differ,
 * each checked on its own terms where the comment says. Every other bit of a mergeable
 * packet's headers must equal the run's first packet's, as the kernel's GRO compares them:
 *   IPv4: version and IHL (no options), TOS, the fragment word (DF; MF, offset and the
 *         reserved bit clear), TTL, protocol, addresses;
 *   IPv6: version, traffic class, flow label, next header (no extension headers), hop
 *         limit, addresses;
 *   TCP:  ports, ACK number, data offset and reserved bits (AccECN's AE among them), the
 *         flags but PSH (ACK), window, option bytes;
 *   UDP:  ports.
 * Both paths compare a packet with its run under the masks made from this table
 * (headers_match(), fast_append()). */
typedef enum Layer {
        LAYER_IPV4,
        LAYER_IPV6,
        LAYER_TCP,
        LAYER_UDP,
} Layer;

typedef struct VaryingField {
        Layer layer;
        uint8_t offset, len;            /* in its layer's header */
        uint8_t bits;                   /* of each of its bytes */
} VaryingField;

static const VaryingField varying_fields[] = {
        { LAYER_IPV4, IPV4_TOT_LEN, 2, 0xff },          /* the packet's length */
        { LAYER_IPV4, IPV4_ID, 2, 0xff },               /* ip_id_fits() */
        { LAYER_IPV4, IPV4_CSUM, 2, 0xff },             /* verified */
        { LAYER_IPV6, IPV6_PAYLOAD_LEN, 2, 0xff },      /* the packet's length */
        { LAYER_TCP, TCP_SEQ, 4, 0xff },                /* adjacent: run_takes(), try_prepend() */
        { LAYER_TCP, TCP_FLAGS, 1, TCP_PSH },           /* ends the run; the last one's is kept */
        { LAYER_TCP, TCP_CSUM, 2, 0xff },               /* verified */
        { LAYER_TCP, TCP_URG_PTR, 2, 0xff },            /* meaningless without URG; kept per packet */
        { LAYER_UDP, UDP_LEN, 2, 0xff },                /* the packet's length */
        { LAYER_UDP, UDP_CSUM, 2, 0xff },               /* verified, and present */
};

/* Where each packet of a run keeps its own values of the varying fields (all of them lie
 * within), enough to rebuild its headers for gro_batch_unmerge():
 *   IP bytes 0..15, TCP bytes 4..19, UDP bytes 4..7.
 * They hold everything finish() changes in the headers, too. */
#define IP_VAR_LEN 16u
#define L4_VAR_OFFSET 4u
#define TCP_VAR_LEN 16u
#define UDP_VAR_LEN 4u

typedef struct GroPacket {
        uint32_t next;                  /* next packet of the run, in sequence order */
        uint16_t payload_len;
        uint8_t ip_var[IP_VAR_LEN];     /* the packet's own values of the varying fields */
        uint8_t l4_var[TCP_VAR_LEN];
} GroPacket;

/* Masks over the headers of a run (GRO_MAX_HDR rounded up to whole words), one for each
 * kind of packet and L4 header length: 1 bits where a packet must equal the run's first,
 * 0 bits where it may differ (varying_fields) and past the headers. */
#define MASK_LEN 104u
#define N_TCP_LENGTHS ((TCP_MAX_HDR_LEN - TCP_MIN_HDR_LEN) / 4 + 1)
typedef enum Shape {
        SHAPE_TCP4,
        SHAPE_UDP4,
        SHAPE_TCP6,
        SHAPE_UDP6,
        _SHAPE_MAX,
} Shape;

/* Headers up to this long are compared in a fixed number of vector steps (IPv6 with TCP
 * timestamps is 72 bytes). */
#define FAST_CMP_LEN 80u
typedef uint64_t u64x2 __attribute__((vector_size(16)));

typedef enum IdMode {
        ID_UNKNOWN,                     /* one packet so far */
        ID_INCREMENTING,
        ID_FIXED,                       /* all equal, with DF */
} IdMode;

typedef struct GroRun {
        uint8_t *region;                /* virtio_net_hdr room, then the packet */
        uint32_t len;                   /* IP packet bytes in the region */
        uint32_t first, last;           /* packets, in sequence order */
        uint32_t count;
        uint32_t bucket_next;           /* an older run of the same hash bucket */
        FlowKey key;
        IpInfo ip;
        uint16_t hdrs;                  /* IP + L4 header length */
        uint16_t gso_size;
        bool has_flow;                  /* a TCP/UDP flow: registered for ordering */
        bool mergeable;
        bool closed;                    /* its last packet ends the run */
        IdMode id_mode;
        uint16_t id_first, id_last;
        uint32_t seq_start, seq_end;
        /* when mergeable: */
        const uint8_t *mask;            /* of its kind and header length */
        uint32_t l4_fixed_sum;          /* pseudo-header without the length, and the L4
                                         * header bytes outside the varying fields */
} GroRun;

typedef struct Bucket {
        uint32_t gen;
        uint32_t run;
} Bucket;

struct GroBatch {
        size_t max_packets;
        bool tcp, udp;
        bool fast_path;

        GroPacket *packets;
        size_t n_packets;
        GroRun *runs;
        size_t n_runs;
        uint8_t *regions;               /* the room: address space, touched as runs fill it */
        size_t regions_size, regions_used;

        Bucket *buckets;
        uint32_t bucket_mask;
        uint32_t gen;

        uint8_t *head;                  /* gro_batch_add_shared()'s private copy */

        struct iovec *msgs;
        size_t n_msgs;                  /* of the last finish() */
        uint8_t *unmerge_buf;
        struct iovec *unmerge_msgs;

        uint32_t last_run;              /* the run the previous packet went to */
        /* By a hash of the ports: the newest mergeable run started with them (NO_INDEX:
         * none). A run is the newest of its flow or closed, so a packet may join it
         * straight away if its headers say it belongs there. */
        uint32_t port_runs[PORT_SLOTS];

        uint8_t masks[_SHAPE_MAX][N_TCP_LENGTHS][MASK_LEN];

        GroStats stats;
};

/* A parsed client packet. */
typedef struct Parsed {
        IpInfo ip;
        FlowKey key;
        bool has_flow;                  /* TCP or UDP with its header present */
        bool eligible;                  /* may be merged with others, by itself */
        uint16_t l4_hdr_len;
        uint16_t hdrs;
        uint32_t payload_len;
        uint8_t tcp_flags;
        uint32_t seq;
        uint16_t id;
        uint32_t hash;
        bool hashed;
} Parsed;

static void clear_bits(uint8_t *mask, size_t offset, size_t len, uint8_t bits) {
        for (size_t i = offset; i < offset + len; i++)
                mask[i] &= (uint8_t) ~bits;
}

static void init_mask(uint8_t *mask, Shape shape, size_t l4_hdr_len) {
        bool v4 = shape == SHAPE_TCP4 || shape == SHAPE_UDP4;
        bool tcp = shape == SHAPE_TCP4 || shape == SHAPE_TCP6;
        size_t l4 = v4 ? IPV4_MIN_HDR_LEN : IPV6_HDR_LEN;

        memset(mask, 0, MASK_LEN);
        memset(mask, 0xff, l4 + l4_hdr_len);
        for (size_t i = 0; i < sizeof(varying_fields) / sizeof(varying_fields[0]); i++) {
                const VaryingField *f = &varying_fields[i];
                if (f->layer == (v4 ? LAYER_IPV4 : LAYER_IPV6))
                        clear_bits(mask, f->offset, f->len, f->bits);
                else if (f->layer == (tcp ? LAYER_TCP : LAYER_UDP))
                        clear_bits(mask, l4 + f->offset, f->len, f->bits);
        }
}

static void forget_runs(GroBatch *b) {
        b->last_run = NO_INDEX;
        for (size_t k = 0; k < PORT_SLOTS; k++)
                b->port_runs[k] = NO_INDEX;
}

static size_t port_slot(uint32_t ports) {
        return (ports * 0x9e3779b1u) >> (32 - PORT_SLOTS_SHIFT);
}

int gro_batch_new(GroBatch **ret, size_t max_packets) {
        if (max_packets == 0 || max_packets > GRO_MAX_PACKETS)
                return -EINVAL;
        return gro_batch_new_limited(ret, max_packets, max_packets * GRO_REGION_SIZE);
}

int gro_batch_new_limited(GroBatch **ret, size_t max_packets, size_t max_bytes) {
        if (max_packets == 0 || max_packets > GRO_MAX_PACKETS || max_bytes < GRO_REGION_SIZE)
                return -EINVAL;
        max_bytes = min_size(max_bytes, max_packets * GRO_REGION_SIZE);

        GroBatch *b = calloc(1, sizeof(GroBatch));
        if (!b)
                return -ENOMEM;

        uint32_t n_buckets = 16;
        while (n_buckets < 2 * max_packets)
                n_buckets *= 2;

        b->max_packets = max_packets;
        b->tcp = b->udp = b->fast_path = true;
        b->bucket_mask = n_buckets - 1;
        b->gen = 1;
        forget_runs(b);
        for (Shape sh = 0; sh < _SHAPE_MAX; sh++)
                for (size_t k = 0; k < N_TCP_LENGTHS; k++)
                        init_mask(b->masks[sh][k], sh, sh == SHAPE_TCP4 || sh == SHAPE_TCP6 ? TCP_MIN_HDR_LEN + 4 * k : UDP_HDR_LEN);
        b->packets = calloc(max_packets, sizeof(GroPacket));
        b->runs = calloc(max_packets, sizeof(GroRun));
        b->regions = malloc(max_bytes);
        b->regions_size = max_bytes;
        b->buckets = calloc(n_buckets, sizeof(Bucket));
        b->msgs = calloc(max_packets, sizeof(struct iovec));
        b->unmerge_buf = malloc(IP_MAX_PACKET + max_packets * (VNET_HDR_LEN + GRO_MAX_HDR));
        b->unmerge_msgs = calloc(max_packets, sizeof(struct iovec));
        b->head = malloc(GRO_HEAD_MAX);
        if (!b->packets || !b->runs || !b->regions || !b->buckets || !b->msgs || !b->unmerge_buf || !b->unmerge_msgs ||
            !b->head) {
                gro_batch_free(b);
                return -ENOMEM;
        }

        *ret = b;
        return 0;
}

GroBatch *gro_batch_free(GroBatch *b) {
        if (!b)
                return NULL;
        free(b->packets);
        free(b->runs);
        free(b->regions);
        free(b->buckets);
        free(b->msgs);
        free(b->unmerge_buf);
        free(b->unmerge_msgs);
        free(b->head);
        free(b);
        return NULL;
}

void gro_batch_set_tcp(GroBatch *b, bool enable) {
        b->tcp = enable;
}

void gro_batch_set_udp(GroBatch *b, bool enable) {
        b->udp = enable;
}

void gro_batch_set_fast_path(GroBatch *b, bool enable) {
        b->fast_path = enable;
}

void gro_batch_reset(GroBatch *b) {
        b->n_packets = 0;
        b->n_runs = 0;
        b->regions_used = 0;
        b->n_msgs = 0;
        forget_runs(b);
        if (++b->gen == 0) {
                /* Generations wrapped: forget every bucket for real, once in 2^32 batches. */
                for (uint32_t i = 0; i <= b->bucket_mask; i++)
                        b->buckets[i] = (Bucket) {};
                b->gen = 1;
        }
}

const GroStats *gro_batch_stats(const GroBatch *b) {
        return &b->stats;
}

static int refuse(GroBatch *b, OffloadDrop why) {
        b->stats.invalid++;
        b->stats.drops[why]++;
        return -EINVAL;
}

static uint32_t flow_hash(const FlowKey *k) {
        uint64_t h = k->w[0] * 0x9e3779b97f4a7c15ull ^ k->w[1] * 0xff51afd7ed558ccdull ^
                     k->w[2] * 0xc4ceb9fe1a85ec53ull ^ k->w[3] * 0x94d049bb133111ebull ^
                     k->w[4] * 0xbf58476d1ce4e5b9ull;
        return (uint32_t) (h >> 32 ^ h);
}

static bool flow_key_equal(const FlowKey *a, const FlowKey *b) {
        return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2]) |
                (a->w[3] ^ b->w[3]) | (a->w[4] ^ b->w[4])) == 0;
}

static uint64_t load64(const uint8_t *p) {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return v;
}

static uint32_t load32(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, sizeof(v));
        return v;
}

/* ---- parsing -------------------------------------------------------------------------- */

static OffloadDrop parse_l4(const uint8_t *pkt, Parsed *p) {
        size_t l4 = p->ip.l3_len, end = p->ip.ip_len;

        if (p->ip.proto == PROTO_TCP) {
                if (l4 + TCP_MIN_HDR_LEN > end)
                        return OFFLOAD_DROP_TRUNCATED;
                size_t doff = (size_t) (pkt[l4 + TCP_DOFF] >> 4) * 4;
                if (doff < TCP_MIN_HDR_LEN)
                        return OFFLOAD_DROP_BAD_L4_HEADER;
                if (l4 + doff > end)
                        return OFFLOAD_DROP_TRUNCATED;
                p->l4_hdr_len = (uint16_t) doff;
                p->tcp_flags = pkt[l4 + TCP_FLAGS];
                p->seq = get_be32(pkt + l4 + TCP_SEQ);
        } else {
                if (l4 + UDP_HDR_LEN > end)
                        return OFFLOAD_DROP_TRUNCATED;
                if (get_be16(pkt + l4 + UDP_LEN) != end - l4)
                        return OFFLOAD_DROP_BAD_L4_HEADER;
                p->l4_hdr_len = UDP_HDR_LEN;
        }

        p->has_flow = true;
        p->hdrs = (uint16_t) (l4 + p->l4_hdr_len);
        p->payload_len = (uint32_t) (end - p->hdrs);
        return OFFLOAD_DROP_NONE;
}

static void make_key(const uint8_t *pkt, Parsed *p) {
        uint64_t tail = (uint64_t) load32(pkt + p->ip.l3_len) | (uint64_t) p->ip.proto << 32 |
                        (uint64_t) p->ip.version << 40;
        if (p->ip.version == 4)
                p->key = (FlowKey) { { load64(pkt + IPV4_SADDR), 0, 0, 0, tail } };
        else
                p->key = (FlowKey) { { load64(pkt + IPV6_SADDR), load64(pkt + IPV6_SADDR + 8),
                                       load64(pkt + IPV6_DADDR), load64(pkt + IPV6_DADDR + 8), tail } };
}

static bool coalescing_on(const GroBatch *b, uint8_t proto) {
        return proto == PROTO_TCP ? b->tcp : b->udp;
}

/* As the kernel: UDP GRO needs a checksum (for symmetry with GSO). */
static bool udp_csum_present(const uint8_t *pkt, size_t l4) {
        return (pkt[l4 + UDP_CSUM] | pkt[l4 + UDP_CSUM + 1]) != 0;
}

/* Whether the packet may be merged at all, judged on itself alone. */
static bool packet_eligible(const GroBatch *b, const uint8_t *pkt, const Parsed *p) {
        if (p->payload_len == 0 || p->ip.ext_headers || p->hdrs > GRO_MAX_HDR || !coalescing_on(b, p->ip.proto))
                return false;
        /* As the kernel: IPv4's reserved fragment bit set, the packet goes alone. */
        if (p->ip.version == 4 && (get_be16(pkt + IPV4_FRAG) & IPV4_RESERVED))
                return false;
        if (p->ip.proto == PROTO_TCP)
                return p->tcp_flags == TCP_ACK_FLAG || p->tcp_flags == (TCP_ACK_FLAG | TCP_PSH);
        return udp_csum_present(pkt, p->ip.l3_len);
}

static OffloadDrop parse_packet(const GroBatch *b, const uint8_t *pkt, size_t len, Parsed *p) {
        /* Field by field: a struct-wide zeroing costs more than the rest of the parse. */
        p->has_flow = p->eligible = false;
        p->l4_hdr_len = 0;
        p->hdrs = 0;
        p->payload_len = 0;
        p->tcp_flags = 0;
        p->seq = 0;
        p->id = 0;
        p->hash = 0;
        p->hashed = false;

        OffloadDrop d = ip_parse(pkt, len, &p->ip);
        if (d != OFFLOAD_DROP_NONE)
                return d;
        if (p->ip.ip_len != len)        /* bytes after the packet: not one packet */
                return OFFLOAD_DROP_BAD_IP_HEADER;

        if (p->ip.version == 4) {
                if (csum_fold_inline(csum_fold64(csum_words32(pkt, p->ip.l3_len))) != 0)
                        return OFFLOAD_DROP_BAD_CHECKSUM;
                p->id = get_be16(pkt + IPV4_ID);
        }

        if (p->ip.fragment || (p->ip.proto != PROTO_TCP && p->ip.proto != PROTO_UDP))
                return OFFLOAD_DROP_NONE;       /* passed on as it is */

        d = parse_l4(pkt, p);
        if (d != OFFLOAD_DROP_NONE)
                return d;
        make_key(pkt, p);
        p->eligible = packet_eligible(b, pkt, p);
        return OFFLOAD_DROP_NONE;
}

/* Whether pkt's L4 checksum verifies, given the sum of its payload (taken while copying
 * it). The L4 header length is even, so the two sums simply add up. */
static bool l4_csum_ok(const uint8_t *pkt, const Parsed *p, uint32_t payload_sum) {
        size_t l4 = p->ip.l3_len;

        if (p->ip.proto == PROTO_UDP && (pkt[l4 + UDP_CSUM] | pkt[l4 + UDP_CSUM + 1]) == 0)
                return p->ip.version == 4;      /* "no checksum": allowed for IPv4 only */

        uint64_t sum = (uint64_t) ip_pseudo_sum(pkt, &p->ip, p->ip.ip_len - (uint32_t) l4) +
                       csum_words32(pkt + l4, p->l4_hdr_len) + payload_sum;
        return csum_fold_inline(csum_fold64(sum)) == 0;
}

/* ---- runs ----------------------------------------------------------------------------- */

/* The newest run of p's flow, if any. Packets mostly come in trains of one flow: the run
 * the previous packet went to is tried before the hash table. */
static GroRun *find_flow_run(GroBatch *b, Parsed *p) {
        uint32_t last = b->last_run;
        if (last < b->n_runs && b->runs[last].has_flow && flow_key_equal(&b->runs[last].key, &p->key))
                return &b->runs[last];

        p->hash = flow_hash(&p->key);
        p->hashed = true;
        const Bucket *bucket = &b->buckets[p->hash & b->bucket_mask];
        if (bucket->gen != b->gen)
                return NULL;
        for (uint32_t i = bucket->run; i != NO_INDEX; i = b->runs[i].bucket_next)
                if (flow_key_equal(&b->runs[i].key, &p->key))
                        return &b->runs[i];
        return NULL;
}

/* Run i becomes the newest of its flow; the one before it is closed for good (only the
 * newest may take packets, see port_runs). */
static void register_flow_run(GroBatch *b, uint32_t i, uint32_t hash) {
        Bucket *bucket = &b->buckets[hash & b->bucket_mask];
        uint32_t head = bucket->gen == b->gen ? bucket->run : NO_INDEX;

        for (uint32_t k = head; k != NO_INDEX; k = b->runs[k].bucket_next)
                if (flow_key_equal(&b->runs[k].key, &b->runs[i].key)) {
                        b->runs[k].closed = true;
                        break;
                }
        b->runs[i].bucket_next = head;
        *bucket = (Bucket) { .gen = b->gen, .run = i };
}

/* The headers every packet of r is compared against: those of the packet that started it
 * (finish() changes only varying fields in them). */
static const uint8_t *run_headers(const GroRun *r) {
        return r->region + VNET_HDR_LEN;
}

static inline u64x2 load_u64x2(const uint8_t *p) {
        u64x2 v;
        memcpy(&v, p, sizeof(v));
        return v;
}

/* The bits of 16 bytes at offset i where a and b differ and the mask is set. */
static inline u64x2 masked_diff(const uint8_t *a, const uint8_t *b, const uint8_t *mask, size_t i) {
        return (load_u64x2(a + i) ^ load_u64x2(b + i)) & load_u64x2(mask + i);
}

/* Whether the headers of pkt (len bytes, more than r's headers) equal those of r's first
 * packet under r's mask: the header rules of varying_fields. */
static inline bool headers_equal(const GroRun *r, const uint8_t *pkt, size_t len) {
        const uint8_t *first = run_headers(r), *mask = r->mask;
        size_t hdrs = r->hdrs;

        if (hdrs <= FAST_CMP_LEN && len >= FAST_CMP_LEN) {
                /* The mask is zero past the headers. */
                _Static_assert(FAST_CMP_LEN == 5 * sizeof(u64x2), "compare length");
                u64x2 diff = masked_diff(pkt, first, mask, 0) | masked_diff(pkt, first, mask, 16) |
                             masked_diff(pkt, first, mask, 32) | masked_diff(pkt, first, mask, 48) |
                             masked_diff(pkt, first, mask, 64);
                return (diff[0] | diff[1]) == 0;
        }

        uint64_t diff = 0;
        size_t i = 0;
        for (; i + 8 <= hdrs; i += 8)
                diff |= (load64(pkt + i) ^ load64(first + i)) & load64(mask + i);
        if (i < hdrs)   /* headers are whole 32-bit words */
                diff |= (load32(pkt + i) ^ load32(first + i)) & load32(mask + i);
        return diff == 0;
}

/* The header rules, for a parsed packet of r's flow. Its header length is compared first
 * (the mask says as much, through IHL and data offset) so that the compare stays within
 * the packet. */
static bool headers_match(const GroRun *r, const uint8_t *pkt, const Parsed *p) {
        return p->hdrs == r->hdrs && headers_equal(r, pkt, p->ip.ip_len);
}

/* IPv4 IDs must go up by one from packet to packet, or stay equal with DF set. */
static bool ip_id_fits(const GroRun *r, uint16_t id, bool df, bool append, IdMode *ret_mode) {
        *ret_mode = r->id_mode;
        if (r->ip.version != 4)
                return true;

        uint16_t neighbour = append ? r->id_last : r->id_first;
        uint16_t next = (uint16_t) (append ? neighbour + 1 : neighbour - 1);

        if (r->id_mode != ID_FIXED && id == next) {
                *ret_mode = ID_INCREMENTING;
                return true;
        }
        if (r->id_mode != ID_INCREMENTING && id == neighbour && df) {
                *ret_mode = ID_FIXED;
                return true;
        }
        return false;
}

static bool ipv4_df(const uint8_t *pkt) {
        return (pkt[IPV4_FRAG] & (IPV4_DF >> 8)) != 0;
}

/* A packet of a run: only its varying fields are kept (a mergeable packet has its headers
 * and at least one byte of payload, so they are all present). */
static uint32_t add_packet_record(GroBatch *b, const uint8_t *pkt, size_t l4, uint8_t proto,
                                  uint32_t payload_len, bool mergeable) {
        uint32_t i = (uint32_t) b->n_packets++;
        GroPacket *gp = &b->packets[i];

        gp->next = NO_INDEX;
        gp->payload_len = (uint16_t) payload_len;
        if (!mergeable)
                return i;
        memcpy(gp->ip_var, pkt, IP_VAR_LEN);
        if (proto == PROTO_TCP)
                memcpy(gp->l4_var, pkt + l4 + L4_VAR_OFFSET, TCP_VAR_LEN);
        else
                memcpy(gp->l4_var, pkt + l4 + L4_VAR_OFFSET, UDP_VAR_LEN);
        return i;
}

/* Puts packet gp's own values of the varying fields into headers of its run r. */
static void apply_packet_fields(uint8_t *hdrs, const GroRun *r, const GroPacket *gp) {
        size_t l4 = r->ip.l3_len;

        memcpy(hdrs, gp->ip_var, IP_VAR_LEN);
        if (r->ip.proto == PROTO_TCP)
                memcpy(hdrs + l4 + L4_VAR_OFFSET, gp->l4_var, TCP_VAR_LEN);
        else
                memcpy(hdrs + l4 + L4_VAR_OFFSET, gp->l4_var, UDP_VAR_LEN);
}

/* Whether a packet of r's flow with payload_len bytes (TCP: from seq on) may follow r's
 * last: the run open, no larger than its segments, within the largest IP packet, and the
 * next in sequence (TCP) or within the kernel's count (UDP). */
static bool run_takes(const GroRun *r, size_t payload_len, uint32_t seq) {
        if (r->closed || payload_len > r->gso_size || r->len + payload_len > IP_MAX_PACKET)
                return false;
        return r->ip.proto == PROTO_TCP ? seq == r->seq_end : r->count < UDP_GRO_MAX_SEGS;
}

static bool ends_run(uint32_t payload_len, uint8_t proto, uint8_t tcp_flags, uint16_t gso_size) {
        return payload_len < gso_size || (proto == PROTO_TCP && (tcp_flags & TCP_PSH));
}

/* Links packet record i after the run's last and grows the run by its payload. */
static void append_record(GroBatch *b, GroRun *r, uint32_t i, uint32_t payload_len, uint16_t id,
                          IdMode mode, bool closes) {
        b->packets[r->last].next = i;
        r->last = i;
        r->count++;
        r->len += payload_len;
        r->seq_end += payload_len;
        r->id_last = id;
        r->id_mode = mode;
        r->closed = closes;
        b->stats.merged++;
}

/* Returns 1 when merged, 0 when p does not fit after r, -EINVAL for a bad checksum. pkt
 * holds the headers, data the whole packet (see add_packet()). */
static int try_append(GroBatch *b, GroRun *r, const uint8_t *pkt, const uint8_t *data, const Parsed *p) {
        IdMode mode;

        if (!run_takes(r, p->payload_len, p->seq) || !headers_match(r, pkt, p) ||
            !ip_id_fits(r, p->id, p->ip.version == 4 && ipv4_df(pkt), true, &mode))
                return 0;

        /* Copied to its final place and verified in one pass; refused bytes stay past
         * r->len, outside anything sent. */
        uint32_t payload_sum = csum_copy(r->region + VNET_HDR_LEN + r->len, data + p->hdrs, p->payload_len, 0);
        if (!l4_csum_ok(pkt, p, payload_sum))
                return refuse(b, OFFLOAD_DROP_BAD_CHECKSUM);

        uint32_t i = add_packet_record(b, pkt, p->ip.l3_len, p->ip.proto, p->payload_len, true);
        append_record(b, r, i, p->payload_len, p->id, mode, ends_run(p->payload_len, p->ip.proto, p->tcp_flags, r->gso_size));
        return 1;
}

/* The common case, without the parse: a packet that fits right after the newest run of its
 * ports. The rules are those of the full path (run_takes(), headers_match(), ip_id_fits(),
 * ends_run()); what the parse would find out besides is left to the run's mask (version,
 * IHL, fragments, protocol, flags, extension headers: equal to the first packet's) and to
 * the checks here of the lengths, the IPv4 header checksum, the UDP checksum's presence
 * and the L4 checksum. Returns true when merged; false leaves everything to the full path
 * (which also decides on refusals). */
static bool fast_append(GroBatch *b, GroRun *r, const uint8_t *pkt, const uint8_t *data, size_t len) {
        size_t hdrs = r->hdrs, l4 = r->ip.l3_len;
        bool tcp = r->ip.proto == PROTO_TCP;

        if (!r->mergeable || len <= hdrs || !coalescing_on(b, r->ip.proto) ||
            !run_takes(r, len - hdrs, tcp ? get_be32(pkt + l4 + TCP_SEQ) : 0))
                return false;

        /* The ports first: they tell interleaved flows apart at once. */
        if (load32(pkt + l4) != load32(run_headers(r) + l4) || !headers_equal(r, pkt, len))
                return false;

        uint32_t payload_len = (uint32_t) (len - hdrs), l4_len = (uint32_t) (len - l4);
        uint16_t id = 0;
        IdMode mode;
        if (r->ip.version == 4) {
                if (get_be16(pkt + IPV4_TOT_LEN) != len ||
                    csum_fold_inline(csum_fold64(csum_words32(pkt, IPV4_MIN_HDR_LEN))) != 0)
                        return false;
                id = get_be16(pkt + IPV4_ID);
        } else if (get_be16(pkt + IPV6_PAYLOAD_LEN) != len - IPV6_HDR_LEN)
                return false;
        if (!tcp && (get_be16(pkt + l4 + UDP_LEN) != l4_len || !udp_csum_present(pkt, l4)))
                return false;
        if (!ip_id_fits(r, id, r->ip.version == 4 && ipv4_df(pkt), true, &mode))
                return false;

        /* The L4 header bytes outside the varying fields equal the first packet's: their
         * sum is the run's. */
        uint32_t payload_sum = csum_copy(r->region + VNET_HDR_LEN + r->len, data + hdrs, payload_len, 0);
        uint32_t be_len = htobe32(l4_len);
        uint64_t sum = (uint64_t) r->l4_fixed_sum + (be_len & 0xffff) + (be_len >> 16) + payload_sum +
                       (tcp ? csum_words32(pkt + l4 + L4_VAR_OFFSET, TCP_VAR_LEN)
                            : csum_words32(pkt + l4 + L4_VAR_OFFSET, UDP_VAR_LEN));
        if (csum_fold_inline(csum_fold64(sum)) != 0)
                return false;

        uint8_t flags = tcp ? pkt[l4 + TCP_FLAGS] : 0;
        uint32_t k = add_packet_record(b, pkt, l4, r->ip.proto, payload_len, true);
        append_record(b, r, k, payload_len, id, mode, ends_run(payload_len, r->ip.proto, flags, r->gso_size));
        return true;
}

/* A TCP segment that belongs right before the run (it arrived late). */
static int try_prepend(GroBatch *b, GroRun *r, const uint8_t *pkt, const uint8_t *data, const Parsed *p) {
        const GroPacket *old_first = &b->packets[r->first];
        IdMode mode;

        if (p->tcp_flags != TCP_ACK_FLAG || p->seq + p->payload_len != r->seq_start ||
            r->len + p->payload_len > IP_MAX_PACKET)
                return 0;
        /* Every packet but the last has the run's size; a lone packet may be the last. */
        if (r->count == 1 ? old_first->payload_len > p->payload_len : p->payload_len != r->gso_size)
                return 0;
        if (!headers_match(r, pkt, p) || !ip_id_fits(r, p->id, p->ip.version == 4 && ipv4_df(pkt), false, &mode))
                return 0;

        /* Copied to its place and verified in one pass, as in try_append(): the payload
         * is read once. A bad one is taken out again. */
        uint8_t *payload = r->region + VNET_HDR_LEN + r->hdrs;
        memmove(payload + p->payload_len, payload, r->len - r->hdrs);
        if (!l4_csum_ok(pkt, p, csum_copy(payload, data + p->hdrs, p->payload_len, 0))) {
                memmove(payload, payload + p->payload_len, r->len - r->hdrs);
                return refuse(b, OFFLOAD_DROP_BAD_CHECKSUM);
        }

        if (r->count == 1 && old_first->payload_len < p->payload_len)
                r->closed = true;
        uint32_t i = add_packet_record(b, pkt, p->ip.l3_len, p->ip.proto, p->payload_len, true);
        b->packets[i].next = r->first;
        r->first = i;
        r->count++;
        r->len += p->payload_len;
        r->gso_size = (uint16_t) p->payload_len;
        r->seq_start = p->seq;
        r->id_first = p->id;
        r->id_mode = mode;
        b->stats.merged++;
        return 1;
}

static Shape shape_of(const IpInfo *ip) {
        if (ip->version == 4)
                return ip->proto == PROTO_TCP ? SHAPE_TCP4 : SHAPE_UDP4;
        return ip->proto == PROTO_TCP ? SHAPE_TCP6 : SHAPE_UDP6;
}

/* The room a run needs for all it may grow to: try_append() and try_prepend() keep TCP
 * runs within the largest IP packet, UDP runs within UDP_GRO_MAX_SEGS datagrams of the
 * first one's size. */
static size_t run_room(const Parsed *p, size_t len) {
        size_t max = len;

        if (p->eligible && p->ip.proto == PROTO_TCP)
                max = IP_MAX_PACKET;
        else if (p->eligible)
                max = min_size(IP_MAX_PACKET, p->hdrs + (size_t) UDP_GRO_MAX_SEGS * p->payload_len);
        return GRO_REGION_ALIGN(VNET_HDR_LEN + max);
}

static int start_run(GroBatch *b, const uint8_t *pkt, const uint8_t *data, size_t len, const Parsed *p) {
        uint32_t ri = (uint32_t) b->n_runs;
        size_t room = run_room(p, len);

        if (room > b->regions_size - b->regions_used)
                return -ENOBUFS;

        uint8_t *region = b->regions + b->regions_used;
        uint8_t *dst = region + VNET_HDR_LEN;

        if (p->has_flow) {
                memcpy(dst, pkt, p->hdrs);
                uint32_t payload_sum = csum_copy(dst + p->hdrs, data + p->hdrs, p->payload_len, 0);
                if (!l4_csum_ok(pkt, p, payload_sum))
                        return refuse(b, OFFLOAD_DROP_BAD_CHECKSUM);
        } else {
                /* Passed on as it is: the IP header as parsed, the rest as it comes. */
                memcpy(dst, pkt, p->ip.l3_len);
                memcpy(dst + p->ip.l3_len, data + p->ip.l3_len, len - p->ip.l3_len);
        }

        uint32_t pi = add_packet_record(b, pkt, p->ip.l3_len, p->ip.proto, p->payload_len, p->eligible);
        GroRun *r = &b->runs[ri];
        *r = (GroRun) {
                .region = region,
                .len = (uint32_t) len,
                .first = pi,
                .last = pi,
                .count = 1,
                .bucket_next = NO_INDEX,
                .key = p->has_flow ? p->key : (FlowKey) {},
                .ip = p->ip,
                .hdrs = p->hdrs,
                .gso_size = (uint16_t) p->payload_len,
                .has_flow = p->has_flow,
                .mergeable = p->eligible,
                .closed = !p->eligible || ends_run(p->payload_len, p->ip.proto, p->tcp_flags, (uint16_t) p->payload_len),
                .id_mode = ID_UNKNOWN,
                .id_first = p->id,
                .id_last = p->id,
                .seq_start = p->seq,
                .seq_end = p->seq + p->payload_len,
        };
        if (p->eligible) {
                size_t l4 = p->ip.l3_len, var_end = l4 + L4_VAR_OFFSET +
                        (p->ip.proto == PROTO_TCP ? TCP_VAR_LEN : UDP_VAR_LEN);
                r->mask = b->masks[shape_of(&p->ip)][p->ip.proto == PROTO_TCP ? (p->l4_hdr_len - TCP_MIN_HDR_LEN) / 4 : 0];
                r->l4_fixed_sum = csum_fold64(ip_pseudo_sum(pkt, &p->ip, 0) + csum_words32(pkt + l4, L4_VAR_OFFSET) +
                                              csum_words32(pkt + var_end, p->hdrs - var_end));
        }
        b->n_runs++;
        b->regions_used += room;
        b->last_run = ri;
        if (p->eligible)
                b->port_runs[port_slot(load32(pkt + p->ip.l3_len))] = ri;
        if (p->has_flow)
                register_flow_run(b, ri, p->hashed ? p->hash : flow_hash(&p->key));
        return 0;
}

/* Adds the packet data of len bytes, whose headers are also at pkt: the same bytes
 * (gro_batch_add()), or a private copy of its first GRO_HEAD_LEN (gro_batch_add_shared()).
 * Everything that decides (lengths, offsets, flows, the rules) is read from pkt, within
 * the headers as parsed; data is read only for the payload, once, as it is copied. */
static int add_packet(GroBatch *b, const uint8_t *pkt, const uint8_t *data, size_t len) {
        Parsed p;

        if (b->n_packets >= b->max_packets)
                return -ENOBUFS;

        /* The run of the packet's ports (IPv4 without options, or IPv6 without extension
         * headers, as mergeable packets are); for the rest fast_append() fails. */
        size_t l4 = len > 0 && pkt[0] >> 4 == 4 ? IPV4_MIN_HDR_LEN : IPV6_HDR_LEN;
        if (b->fast_path && len >= l4 + 4) {
                uint32_t ri = b->port_runs[port_slot(load32(pkt + l4))];
                if (ri < b->n_runs && fast_append(b, &b->runs[ri], pkt, data, len)) {
                        b->last_run = ri;
                        return 0;
                }
        }

        OffloadDrop d = parse_packet(b, pkt, len, &p);
        if (d != OFFLOAD_DROP_NONE)
                return refuse(b, d);

        if (p.eligible) {
                GroRun *r = find_flow_run(b, &p);
                if (r && r->mergeable) {
                        int k = try_append(b, r, pkt, data, &p);
                        if (k == 0 && p.ip.proto == PROTO_TCP)
                                k = try_prepend(b, r, pkt, data, &p);
                        if (k > 0)
                                b->last_run = (uint32_t) (r - b->runs);
                        if (k != 0)
                                return k < 0 ? k : 0;
                }
        }
        return start_run(b, pkt, data, len, &p);
}

int gro_batch_add(GroBatch *b, const uint8_t *pkt, size_t len) {
        return add_packet(b, pkt, pkt, len);
}

/* Whether pkt's headers may lie past its first GRO_HEAD_LEN bytes: IPv6 extension headers
 * that the parse walks. (IPv4 and TCP headers take at most 60 bytes each.) */
static bool headers_may_be_long(const uint8_t *head, size_t len) {
        return len >= IPV6_HDR_LEN && head[0] >> 4 == 6 &&
               (head[IPV6_NEXT_HDR] == IPV6_EXT_HOP_BY_HOP || head[IPV6_NEXT_HDR] == IPV6_EXT_DEST_OPTS);
}

int gro_batch_add_shared(GroBatch *b, const uint8_t *pkt, size_t len) {
        size_t head_len = min_size(len, GRO_HEAD_LEN);

        if (len > GRO_HEAD_MAX)         /* longer than any IP packet */
                return refuse(b, OFFLOAD_DROP_BAD_IP_HEADER);
        memcpy(b->head, pkt, head_len);
        if (len == head_len || headers_may_be_long(b->head, len)) {
                /* All of it private: the parse may read anywhere in it. */
                memcpy(b->head + head_len, pkt + head_len, len - head_len);
                return add_packet(b, b->head, b->head, len);
        }
        return add_packet(b, b->head, pkt, len);
}

/* ---- output --------------------------------------------------------------------------- */

/* Gives a run of several packets the headers of one super-packet: the first packet's
 * headers with the lengths fixed, PSH if the last had it, and the pseudo-header sum in the
 * L4 checksum field for the kernel to complete (NEEDS_CSUM). */
static VnetHdr coalesce_headers(GroBatch *b, GroRun *r) {
        uint8_t *pkt = r->region + VNET_HDR_LEN;
        size_t l4 = r->ip.l3_len;
        uint32_t l4_len = r->len - (uint32_t) l4;
        VnetHdr h = {
                .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                .hdr_len = r->hdrs,
                .gso_size = r->gso_size,
                .csum_start = (uint16_t) l4,
        };

        apply_packet_fields(pkt, r, &b->packets[r->first]);
        ip_set_length(pkt, &r->ip, r->len);

        uint8_t *csum_field;
        if (r->ip.proto == PROTO_TCP) {
                pkt[l4 + TCP_FLAGS] |= b->packets[r->last].l4_var[TCP_FLAGS - L4_VAR_OFFSET] & TCP_PSH;
                h.gso_type = r->ip.version == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
                h.csum_offset = TCP_CSUM_OFFSET;
                csum_field = pkt + l4 + TCP_CSUM;
        } else {
                put_be16(pkt + l4 + UDP_LEN, (uint16_t) l4_len);
                h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
                h.csum_offset = UDP_CSUM_OFFSET;
                csum_field = pkt + l4 + UDP_CSUM;
        }
        put_csum(csum_field, (uint16_t) ~csum_fold(ip_pseudo_sum(pkt, &r->ip, l4_len)));
        return h;
}

size_t gro_batch_finish(GroBatch *b, const struct iovec **ret_msgs) {
        for (size_t i = 0; i < b->n_runs; i++) {
                GroRun *r = &b->runs[i];
                VnetHdr h = {};

                if (r->count > 1)
                        h = coalesce_headers(b, r);
                memcpy(r->region, &h, sizeof(h));
                b->msgs[i] = (struct iovec) { .iov_base = r->region, .iov_len = VNET_HDR_LEN + r->len };
        }
        b->n_msgs = b->n_runs;
        *ret_msgs = b->msgs;
        return b->n_msgs;
}

size_t gro_batch_unmerge(GroBatch *b, size_t i, const struct iovec **ret_msgs) {
        if (i >= b->n_msgs)
                return 0;

        const GroRun *r = &b->runs[i];
        if (r->count == 1) {
                *ret_msgs = &b->msgs[i];
                return 1;
        }

        const uint8_t *hdrs = run_headers(r), *payload = hdrs + r->hdrs;
        uint8_t *out = b->unmerge_buf;
        size_t n = 0;
        for (uint32_t k = r->first; k != NO_INDEX; k = b->packets[k].next) {
                const GroPacket *gp = &b->packets[k];
                size_t len = VNET_HDR_LEN + r->hdrs + gp->payload_len;

                memset(out, 0, VNET_HDR_LEN);
                memcpy(out + VNET_HDR_LEN, hdrs, r->hdrs);
                apply_packet_fields(out + VNET_HDR_LEN, r, gp);
                memcpy(out + VNET_HDR_LEN + r->hdrs, payload, gp->payload_len);
                b->unmerge_msgs[n++] = (struct iovec) { .iov_base = out, .iov_len = len };
                out += len;
                payload += gp->payload_len;
        }
        *ret_msgs = b->unmerge_msgs;
        return n;
}
