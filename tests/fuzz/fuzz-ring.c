/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The ring transport against a client that writes whatever the input says into the shared
 * memory. The input is 1 byte of set-up (bit 0: vnet; bits 1-2: which sizes), then
 * operations of 1 byte and their arguments:
 *
 *   0 producer    the client's producer index: near its own or any value
 *   1 descriptor  any descriptor at an entry the client owns, its slot filled
 *   2 packet      a valid packet (chained where it is longer than a slot), published
 *   3 receive     the transport takes what the client published
 *   4 consumer    the client consumes what the service sent (checking it) or writes any value
 *   5 queue       the service sends a packet
 *   6 scribble    any 32 bits anywhere the client may write (header, its indices and flags,
 *                 its ring)
 *   7 reserve     the service writes packets (vnet: a message) straight into its ring
 *
 * Each side is checked against a model written from tund-ring(7) alone. What the transport
 * takes from the client must be exactly the valid packets of the entries it consumed, in
 * order and byte for byte, and its consumer index must end on a packet's boundary; what it
 * sends must be valid descriptors over exactly the packets it counted as delivered, never
 * overwriting an entry the client has not released, and never leaving its need_room set
 * once it no longer waits. */

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "transport.h"
#include "tund-ring.h"

#define OPS_MAX         192u
#define SENT_MAX        32768u  /* packets the model remembers sending */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Input {
        const uint8_t *p;
        size_t left;
} Input;

static uint32_t take(Input *in, unsigned bytes) {
        uint32_t v = 0;

        for (unsigned i = 0; i < bytes; i++) {
                v = v << 8;
                if (in->left > 0) {
                        v |= *in->p++;
                        in->left--;
                }
        }
        return v;
}

typedef struct SentPacket {
        uint32_t start, len;    /* its first entry, its length */
        uint8_t seed;
} SentPacket;

typedef struct Client {
        const TransportOps *ops;
        Transport *t;
        int fd;
        uint8_t *mem;
        size_t size;
        struct tund_ring_header h;
        uint32_t mask;
        uint32_t min_len, max_len;
        volatile uint32_t *idx[TUND_RING_COUNT][4];     /* producer, consumer, need_wakeup, need_room */
        struct tund_ring_desc *descs[TUND_RING_COUNT];
        uint8_t *slots[TUND_RING_COUNT];

        /* To the service: where the transport is, as the model has followed it. */
        uint32_t in_pos;
        bool in_ended;

        /* From the service: what it published and what the client released. */
        uint32_t out_prod, out_released;
        SentPacket sent[SENT_MAX];
        uint32_t sent_head, sent_tail;  /* FIFO of the packets between released and prod */
        uint8_t seed;
} Client;

enum { PROD, CONS, WAKE, ROOM };

static uint8_t pattern(uint8_t seed, size_t i) {
        return (uint8_t) (seed * 31u + i * 7u + (i >> 8));
}

static uint32_t parts_for(const Client *c, uint32_t len) {
        return (len + c->h.slot_size - 1) / c->h.slot_size;
}

static uint8_t *slot(const Client *c, int r, uint32_t entry) {
        return c->slots[r] + (size_t) (entry & c->mask) * c->h.slot_size;
}

static int recv_memory(Client *c) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = &c->h, .iov_len = sizeof(c->h) };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control) };
        struct cmsghdr *cm;
        int memfd;

        if (recvmsg(c->fd, &m, MSG_CMSG_CLOEXEC) != (ssize_t) sizeof(c->h))
                return -EIO;
        cm = CMSG_FIRSTHDR(&m);
        if (!cm || cm->cmsg_type != SCM_RIGHTS)
                return -EIO;
        memcpy(&memfd, CMSG_DATA(cm), sizeof(int));
        c->size = c->h.memory_size;
        c->mem = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
        close(memfd);
        if (c->mem == MAP_FAILED)
                return -errno;
        c->mask = c->h.ring_slots - 1;
        for (int r = 0; r < TUND_RING_COUNT; r++) {
                const struct tund_ring_offsets *o = &c->h.ring[r];

                c->idx[r][PROD] = (uint32_t *) (c->mem + o->producer);
                c->idx[r][CONS] = (uint32_t *) (c->mem + o->consumer);
                c->idx[r][WAKE] = (uint32_t *) (c->mem + o->need_wakeup);
                c->idx[r][ROOM] = (uint32_t *) (c->mem + o->need_room);
                c->descs[r] = (struct tund_ring_desc *) (c->mem + o->descs);
                c->slots[r] = c->mem + o->slots;
        }
        return 0;
}

static void fill_slot(Client *c, uint32_t entry, uint32_t len, uint8_t seed, size_t from) {
        uint8_t *s = slot(c, TUND_RING_TO_SERVICE, entry);

        for (uint32_t i = 0; i < len && i < c->h.slot_size; i++)
                s[i] = pattern(seed, from + i);
}

/* ---- Client -> service ----------------------------------------------------------------- */

static void op_producer(Client *c, Input *in) {
        uint8_t how = (uint8_t) take(in, 1);
        uint32_t v = how & 1 ? take(in, 4) : c->in_pos + (how >> 1);

        *c->idx[TUND_RING_TO_SERVICE][PROD] = v;
}

static void op_descriptor(Client *c, Input *in) {
        uint32_t entry = c->in_pos + (uint32_t) take(in, 1);
        uint8_t kind = (uint8_t) take(in, 1);
        struct tund_ring_desc d = { .flags = (uint16_t) take(in, 2), .reserved = 0 };

        switch (kind & 3) {
        case 0: d.len = c->h.slot_size; break;
        case 1: d.len = take(in, 2) % c->h.slot_size + 1; break;
        case 2: d.len = take(in, 4); break;
        default: d.len = 0;
        }
        if (kind & 4)
                d.reserved = (uint16_t) take(in, 2);
        c->descs[TUND_RING_TO_SERVICE][entry & c->mask] = d;
        fill_slot(c, entry, d.len, (uint8_t) entry, 0);
}

/* A valid packet at the producer index, published. */
static void op_packet(Client *c, Input *in) {
        uint32_t len = MAX(take(in, 2) % c->max_len + 1, c->min_len);
        uint32_t prod = *c->idx[TUND_RING_TO_SERVICE][PROD], parts = parts_for(c, len);
        uint8_t seed = (uint8_t) take(in, 1);

        for (uint32_t i = 0; i < parts; i++) {
                uint32_t off = i * c->h.slot_size, n = MIN(len - off, c->h.slot_size);

                c->descs[TUND_RING_TO_SERVICE][(prod + i) & c->mask] = (struct tund_ring_desc) {
                        .len = n,
                        .flags = i + 1 < parts ? TUND_RING_DESC_NEXT : 0,
                };
                fill_slot(c, prod + i, n, seed, off);
        }
        __atomic_store_n(c->idx[TUND_RING_TO_SERVICE][PROD], prod + parts, __ATOMIC_RELEASE);
}

/* The model's reading of the entry at pos: how many entries the packet there takes
 * (never more than avail) and its length, 0 when it is invalid. */
static uint32_t model_packet(const Client *c, uint32_t pos, uint32_t avail, uint32_t *ret_parts) {
        uint32_t len = 0;

        for (uint32_t i = 0; i < avail; i++) {
                struct tund_ring_desc d = c->descs[TUND_RING_TO_SERVICE][(pos + i) & c->mask];
                bool next = d.flags & TUND_RING_DESC_NEXT;

                *ret_parts = i + 1;
                if ((d.flags & ~TUND_RING_DESC_FLAGS_KNOWN) || d.reserved || d.len == 0 ||
                    d.len > c->h.slot_size || len + d.len > c->max_len || (next && d.len != c->h.slot_size))
                        return 0;
                len += d.len;
                if (!next)
                        return len >= c->min_len ? len : 0;
        }
        *ret_parts = avail;     /* a chain the producer index cuts */
        return 0;
}

static bool model_matches(const Client *c, uint32_t pos, uint32_t len, const struct iovec *pkt) {
        if (pkt->iov_len != len)
                return false;
        for (uint32_t off = 0, i = 0; off < len; i++) {
                uint32_t n = MIN(len - off, c->h.slot_size);

                if (memcmp((uint8_t *) pkt->iov_base + off, slot(c, TUND_RING_TO_SERVICE, pos + i), n) != 0)
                        return false;
                off += n;
        }
        return true;
}

/* The packets receive() returned must be the valid ones of the entries from pos on, in
 * order and byte for byte, with as many invalid ones between as it counted: walking the
 * entries until both are accounted for says how far it consumed. */
static void op_receive(Client *c) {
        TransportCounters counters = {};
        const struct iovec *pkts = NULL;
        uint32_t prod, avail, pos = c->in_pos, walked = 0, invalid = 0, stored;
        int n, k = 0;

        if (c->in_ended)
                return;
        prod = __atomic_load_n(c->idx[TUND_RING_TO_SERVICE][PROD], __ATOMIC_ACQUIRE);
        avail = prod - pos;
        n = c->ops->receive(c->t, false, &pkts, &counters);
        if (n == -EPROTO) {
                c->in_ended = true;
                return;
        }
        assert(n > 0 || n == -EAGAIN);   /* never 0: the transport was not shut down */
        if (avail > c->mask + 1) {
                /* More than a ring ahead: nothing is taken. */
                assert(n == -EAGAIN && counters.drops_invalid == 1);
                return;
        }

        while (k < MAX(n, 0) || invalid < counters.drops_invalid) {
                uint32_t parts = 0, len;

                assert(walked < avail);
                len = model_packet(c, pos + walked, avail - walked, &parts);
                if (len == 0)
                        invalid++;
                else {
                        assert(k < n && model_matches(c, pos + walked, len, &pkts[k]));
                        k++;
                }
                walked += parts;
        }
        assert(counters.packets == (uint64_t) k && invalid == counters.drops_invalid);
        /* Whatever is there, something is taken. */
        assert(avail == 0 || walked > 0);
        assert(n != -EAGAIN || invalid > 0 || avail == 0);

        /* Packets are handed over in place, and released at the next call. */
        stored = __atomic_load_n(c->idx[TUND_RING_TO_SERVICE][CONS], __ATOMIC_ACQUIRE);
        assert(stored == pos);
        c->in_pos = pos + walked;
}

/* ---- Service -> client ----------------------------------------------------------------- */

static void remember_sent(Client *c, uint32_t len, uint8_t seed) {
        assert(c->sent_tail - c->sent_head < SENT_MAX);
        c->sent[c->sent_tail++ % SENT_MAX] = (SentPacket) { .start = c->out_prod, .len = len, .seed = seed };
        c->out_prod += parts_for(c, len);
}

/* Checks that the packets the client has not released are in the ring as they were sent. */
static void check_sent(const Client *c) {
        assert(__atomic_load_n(c->idx[TUND_RING_TO_CLIENT][PROD], __ATOMIC_ACQUIRE) == c->out_prod);
        for (uint32_t p = c->sent_head; p != c->sent_tail; p++) {
                const SentPacket *s = &c->sent[p % SENT_MAX];
                uint32_t pos = s->start;

                for (uint32_t off = 0; off < s->len; pos++) {
                        struct tund_ring_desc d = c->descs[TUND_RING_TO_CLIENT][pos & c->mask];
                        uint32_t n = MIN(s->len - off, c->h.slot_size);
                        const uint8_t *b = slot(c, TUND_RING_TO_CLIENT, pos);

                        assert(d.len == n && d.reserved == 0);
                        assert(d.flags == (off + n < s->len ? TUND_RING_DESC_NEXT : 0));
                        for (uint32_t i = 0; i < n; i++)
                                assert(b[i] == pattern(s->seed, off + i));
                        off += n;
                }
        }
}

/* The client releases the entries before v: the packets that begin there are no longer
 * its to check. */
static void release_to(Client *c, uint32_t v) {
        while (c->sent_head != c->sent_tail && c->sent[c->sent_head % SENT_MAX].start - c->out_released < v - c->out_released)
                c->sent_head++;
        c->out_released = v;
}

/* What the client's consumer index says now, wherever it came from: a value that was
 * past what was sent becomes a valid one once enough was. */
static void follow_consumer(Client *c) {
        uint32_t v = __atomic_load_n(c->idx[TUND_RING_TO_CLIENT][CONS], __ATOMIC_ACQUIRE);

        if (v - c->out_released <= c->out_prod - c->out_released)
                release_to(c, v);
}

static void op_consumer(Client *c, Input *in) {
        uint8_t how = (uint8_t) take(in, 1);
        uint32_t v;

        /* All it was sent, checked; a part of it (perhaps in the middle of a packet); or
         * any value, which may cost the client its packets but never gets it other bytes
         * in their place. */
        switch (how & 3) {
        case 0:
                check_sent(c);
                v = c->out_prod;
                break;
        case 1:
                v = c->out_released + (how >> 2);
                break;
        default:
                v = take(in, 4);
        }
        __atomic_store_n(c->idx[TUND_RING_TO_CLIENT][CONS], v, __ATOMIC_RELEASE);
        follow_consumer(c);
}

/* Publishes what was queued: the first of the n packets went in, in order, the rest
 * (the ring full) were dropped. */
static void flush_and_account(Client *c, uint32_t n, const uint32_t *lens, const uint8_t *seeds) {
        TransportCounters counters = {};

        /* drops_invalid counts consumer indices the client wrote past what was sent. */
        c->ops->flush(c->t, &counters);
        assert(counters.packets + counters.drops_queue_full == n);
        for (uint32_t i = 0; i < counters.packets; i++)
                remember_sent(c, lens[i], seeds[i]);
        assert(c->out_prod - c->out_released <= c->mask + 1);
        check_sent(c);
}

static void op_queue(Client *c, Input *in) {
        uint32_t n = take(in, 1) % 4 + 1;
        static uint8_t buf[TUND_RING_VNET_MESSAGE_MAX];

        for (uint32_t i = 0; i < n; i++) {
                uint32_t len = take(in, 2) % c->max_len + 1;
                uint8_t seed = ++c->seed;

                for (uint32_t j = 0; j < len; j++)
                        buf[j] = pattern(seed, j);
                follow_consumer(c);
                assert(c->ops->queue(c->t, buf, len) == 0);
                assert(*c->idx[TUND_RING_TO_CLIENT][ROOM] == 0);
                flush_and_account(c, 1, &len, &seed);
        }
}

/* A vnet message read straight into the ring, as the reader does with one client. */
static void op_reserve_message(Client *c, Input *in) {
        uint32_t len = MAX(take(in, 2) % c->max_len + 1, c->min_len), room = 0;
        uint8_t seed = ++c->seed;
        struct iovec iov[2];
        size_t n;

        follow_consumer(c);
        n = c->ops->reserve_message(c->t, c->max_len, iov);
        if (n == 0)
                return;         /* no room for the largest message */
        for (size_t i = 0; i < n; i++) {
                assert(iov[i].iov_len % c->h.slot_size == 0);
                room += iov[i].iov_len;
        }
        /* The pieces are the transport's own mapping of the memory: where they lie, the
         * check of what was sent tells. */
        assert(room >= c->max_len);
        for (uint32_t j = 0; j < len; j++) {
                size_t piece = j < iov[0].iov_len ? 0 : 1;
                size_t at = piece == 0 ? j : j - iov[0].iov_len;

                ((uint8_t *) iov[piece].iov_base)[at] = pattern(seed, j);
        }
        c->ops->commit_message(c->t, len);
        flush_and_account(c, 1, &len, &seed);
}

static void op_reserve(Client *c, Input *in) {
        uint32_t want = take(in, 1) % 16 + 1, lens[16];
        uint8_t seeds[16], *buf;
        struct iovec pkts[16];
        size_t stride, room;

        if (!c->ops->reserve) {
                op_reserve_message(c, in);
                return;
        }
        follow_consumer(c);
        room = c->ops->reserve(c->t, &buf, &stride);
        assert(stride == c->h.slot_size);
        if (room == 0) {
                flush_and_account(c, 0, NULL, NULL);
                return;
        }
        assert(room <= c->mask + 1 - (c->out_prod - c->out_released));
        want = MIN(want, (uint32_t) room);
        for (uint32_t i = 0; i < want; i++) {
                uint32_t len = take(in, 2) % c->h.slot_size + 1;

                lens[i] = len;
                seeds[i] = ++c->seed;
                for (uint32_t j = 0; j < len; j++)
                        buf[i * stride + j] = pattern(seeds[i], j);
                pkts[i] = (struct iovec) { .iov_base = buf + i * stride, .iov_len = len };
        }
        c->ops->commit(c->t, pkts, want);
        flush_and_account(c, want, lens, seeds);
}

/* Anything a client may write: the header, its own indices and flags, its ring. */
static void op_scribble(Client *c, Input *in) {
        const struct tund_ring_offsets *to_client = &c->h.ring[TUND_RING_TO_CLIENT];
        const struct tund_ring_offsets *to_service = &c->h.ring[TUND_RING_TO_SERVICE];
        uint8_t where = (uint8_t) take(in, 1);
        uint32_t off = take(in, 4), v = take(in, 4);
        uint64_t at;

        switch (where % 4) {
        case 0: at = off % sizeof(c->h); break;
        case 1:
                at = where & 4 ? to_client->need_wakeup : where & 8 ? to_service->need_room : to_service->need_wakeup;
                break;
        case 2: at = to_service->descs + off % (c->h.ring_slots * sizeof(struct tund_ring_desc)); break;
        default: at = to_service->slots + off % ((uint64_t) c->h.ring_slots * c->h.slot_size); break;
        }
        at &= ~(uint64_t) 3;
        memcpy(c->mem + at, &v, sizeof(v));
}

/* ---- The run --------------------------------------------------------------------------- */

static const struct {
        uint32_t ring_slots, slot_size;
} sizes[] = {
        { 64, 4096 }, { 128, 2048 }, { 1024, 256 }, { 256, 1024 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static Client c;
        Input in = { data, size };
        uint8_t setup = (uint8_t) take(&in, 1);
        ClientOptions o = {
                .mode = CLIENT_MODE_RING,
                .vnet = setup & 1,
                .ring_slots = sizes[(setup >> 1) & 3].ring_slots,
                .slot_size = sizes[(setup >> 1) & 3].slot_size,
        };

        memset(&c, 0, sizeof(c));
        c.ops = o.vnet ? &transport_ring_vnet_ops : &transport_ring_ops;
        c.min_len = o.vnet ? TUND_RING_VNET_HDR_LEN + 1 : 1;
        c.max_len = o.vnet ? TUND_RING_VNET_MESSAGE_MAX : TUND_RING_PACKET_MAX;
        assert(c.ops->new(&o, &c.t, &c.fd) == 0);
        assert(recv_memory(&c) == 0);
        assert(c.h.ring_slots == o.ring_slots && c.h.slot_size == o.slot_size);

        for (unsigned i = 0; i < OPS_MAX && in.left > 0; i++)
                switch (take(&in, 1) % 8) {
                case 0: op_producer(&c, &in); break;
                case 1: op_descriptor(&c, &in); break;
                case 2: op_packet(&c, &in); break;
                case 3: op_receive(&c); break;
                case 4: op_consumer(&c, &in); break;
                case 5: op_queue(&c, &in); break;
                case 6: op_scribble(&c, &in); break;
                default: op_reserve(&c, &in);
                }

        munmap(c.mem, c.size);
        close(c.fd);
        c.ops->free(c.t);
        return 0;
}
