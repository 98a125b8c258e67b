/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libtund's own checks, without the service: the test plays the service's side of a packet
 * fd (a socketpair), and in mode ring builds the shared memory itself with the service's
 * layout (ring-layout.c) in a memfd of its own. It then writes what a broken service might:
 * bad headers, indices and descriptors, records that do not add up, garbage all over the
 * mapping. The library must refuse each (-EBADMSG, -EPROTONOSUPPORT, -EINVAL), never read or
 * write outside the mapping, and report an ended peer as -EPIPE. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tund.h>

#include "ring-layout.h"

/* ---- A fake service ------------------------------------------------------------------- */

typedef struct Fake {
        int lib_fd, svc_fd;             /* the library's end, the service's end */
        int memfd;
        uint8_t *mem;
        struct tund_ring_header h;
        uint32_t mask, slot_size;
        uint32_t *prod[2], *cons[2], *wake[2], *room[2];
        struct tund_ring_desc *descs[2];
        uint8_t *slots[2];
        uint32_t out_prod;              /* the service's producer of the ring to the client */
        uint32_t in_cons;               /* its consumer of the ring to it */
} Fake;

static void fake_socket(Fake *f) {
        int pair[2];

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), ==, 0);
        f->lib_fd = pair[0];
        f->svc_fd = pair[1];
}

/* The memory, as the service makes it; SEALS added. */
static void fake_memory(Fake *f, uint32_t slots, uint32_t slot_size, bool vnet, unsigned seals) {
        ring_layout_compute(slots, slot_size, vnet, &f->h);
        f->memfd = memfd_create("test-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        g_assert_cmpint(f->memfd, >=, 0);
        g_assert_cmpint(ftruncate(f->memfd, (off_t) f->h.memory_size), ==, 0);
        f->mem = mmap(NULL, f->h.memory_size, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
        g_assert_true(f->mem != MAP_FAILED);
        if (seals)
                g_assert_cmpint(fcntl(f->memfd, F_ADD_SEALS, seals), ==, 0);
        memcpy(f->mem, &f->h, sizeof(f->h));
        f->mask = slots - 1;
        f->slot_size = slot_size;
        for (unsigned r = 0; r < TUND_RING_COUNT; r++) {
                const struct tund_ring_offsets *o = &f->h.ring[r];
                f->prod[r] = (uint32_t *) (f->mem + o->producer);
                f->cons[r] = (uint32_t *) (f->mem + o->consumer);
                f->wake[r] = (uint32_t *) (f->mem + o->need_wakeup);
                f->room[r] = (uint32_t *) (f->mem + o->need_room);
                f->descs[r] = (struct tund_ring_desc *) (f->mem + o->descs);
                f->slots[r] = f->mem + o->slots;
        }
}

/* The handshake message: PAYLOAD_LEN bytes of H, with N_FDS copies of the memfd. */
static void fake_handshake_raw(Fake *f, const struct tund_ring_header *h, size_t payload_len, unsigned n_fds) {
        union {
                struct cmsghdr c;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 4)];
        } control = {};
        struct iovec iov = { .iov_base = (void *) h, .iov_len = payload_len };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
        int fds[4] = { f->memfd, f->memfd, f->memfd, f->memfd };

        if (n_fds > 0) {
                m.msg_control = &control;
                m.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                struct cmsghdr *c = CMSG_FIRSTHDR(&m);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        g_assert_cmpint(sendmsg(f->svc_fd, &m, 0), ==, (ssize_t) payload_len);
}

static void fake_new(Fake *f, uint32_t slots, uint32_t slot_size, bool vnet) {
        *f = (Fake) {};
        fake_socket(f);
        fake_memory(f, slots, slot_size, vnet, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
        fake_handshake_raw(f, &f->h, sizeof(f->h), 1);
}

static void fake_free(Fake *f) {
        if (f->mem)
                munmap(f->mem, f->h.memory_size);
        if (f->memfd >= 0)
                close(f->memfd);
        if (f->svc_fd >= 0)
                close(f->svc_fd);
}

static tund_fd *fake_open(Fake *f, bool vnet) {
        struct tund_options o = tund_options_init(TUND_MODE_RING);
        tund_fd *t = NULL;

        o.vnet = vnet;
        g_assert_cmpint(tund_fd_from_fd(f->lib_fd, &o, &t), ==, 0);
        g_assert_nonnull(t);
        return t;
}

static uint8_t *fake_slot(Fake *f, unsigned ring, uint32_t i) {
        return f->slots[ring] + (size_t) (i & f->mask) * f->slot_size;
}

static void fake_put_desc(Fake *f, uint32_t len, uint16_t flags, uint16_t reserved) {
        f->descs[TUND_RING_TO_CLIENT][f->out_prod & f->mask] = (struct tund_ring_desc) {
                .len = len, .flags = flags, .reserved = reserved,
        };
        f->out_prod++;
}

/* A packet of LEN bytes, byte k = (SEED + k), chained as the service chains. */
static void fake_put_packet(Fake *f, size_t len, uint8_t seed) {
        for (size_t off = 0; off < len;) {
                uint32_t n = len - off < f->slot_size ? (uint32_t) (len - off) : f->slot_size;
                uint8_t *s = fake_slot(f, TUND_RING_TO_CLIENT, f->out_prod);

                for (uint32_t k = 0; k < n; k++)
                        s[k] = (uint8_t) (seed + off + k);
                off += n;
                fake_put_desc(f, n, off < len ? TUND_RING_DESC_NEXT : 0, 0);
        }
}

static void fake_publish(Fake *f) {
        __atomic_store_n(f->prod[TUND_RING_TO_CLIENT], f->out_prod, __ATOMIC_RELEASE);
}

static bool packet_is(const struct tund_packet *p, size_t len, uint8_t seed) {
        if (p->len != len)
                return false;
        for (size_t k = 0; k < len; k++)
                if (((const uint8_t *) p->data)[k] != (uint8_t) (seed + k))
                        return false;
        return true;
}

/* ---- Options --------------------------------------------------------------------------- */

static void test_options(void) {
        struct tund_options o = {};
        tund_fd *t = NULL;
        int pair[2];

        g_assert_cmpint(tund_options_parse_mode(&o, "ring-vnet"), ==, 0);
        g_assert_cmpuint(o.size, ==, sizeof(o));
        g_assert_cmpuint(o.mode, ==, TUND_MODE_RING);
        g_assert_cmpuint(o.vnet, ==, 1);
        g_assert_cmpint(tund_options_parse_mode(&o, "batch"), ==, 0);
        g_assert_cmpuint(o.mode, ==, TUND_MODE_BATCH);
        g_assert_cmpuint(o.vnet, ==, 0);
        g_assert_cmpint(tund_options_parse_mode(&o, "tun"), ==, -EINVAL);
        g_assert_cmpint(tund_options_parse_mode(&o, NULL), ==, -EINVAL);

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), ==, 0);
        o = tund_options_init(TUND_MODE_PACKET);
        o.size = 4;
        g_assert_cmpint(tund_fd_from_fd(pair[0], &o, &t), ==, -EINVAL);
        o = tund_options_init(TUND_MODE_VNET);
        o.vnet = 1;
        g_assert_cmpint(tund_fd_from_fd(pair[0], &o, &t), ==, -EINVAL);
        o = tund_options_init(TUND_MODE_PACKET);
        o.reserved[1] = 1;
        g_assert_cmpint(tund_fd_from_fd(pair[0], &o, &t), ==, -EINVAL);

        /* A later version's struct: unknown fields at zero are fine, others are not. */
        struct {
                struct tund_options o;
                uint64_t later;
        } bigger = { tund_options_init(TUND_MODE_PACKET), 0 };
        bigger.o.size = sizeof(bigger);
        g_assert_cmpint(tund_fd_from_fd(pair[0], &bigger.o, &t), ==, 0);
        g_assert_cmpint(tund_get_mode(t), ==, TUND_MODE_PACKET);
        tund_fd_free(t);                /* closed pair[0] */
        bigger.later = 1;
        g_assert_cmpint(tund_fd_from_fd(pair[1], &bigger.o, &t), ==, -E2BIG);
        g_assert_cmpint(tund_fd_from_fd(-1, NULL, &t), ==, -EINVAL);
        close(pair[1]);

        int dgram[2];
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, dgram), ==, 0);
        g_assert_cmpint(tund_fd_from_fd(dgram[0], NULL, &t), ==, -ENOTSOCK);
        close(dgram[0]);
        close(dgram[1]);
}

/* ---- The handshake ---------------------------------------------------------------------- */

typedef struct BadHeader {
        const char *what;
        void (*corrupt)(struct tund_ring_header *h);
        int error;
} BadHeader;

static void bad_magic(struct tund_ring_header *h) { h->magic ^= 1; }
static void bad_version(struct tund_ring_header *h) { h->version = TUND_RING_VERSION - 1; }
static void bad_version_later(struct tund_ring_header *h) { h->version = TUND_RING_VERSION + 1; }
static void bad_header_size(struct tund_ring_header *h) { h->header_size = 64; }
static void bad_flags(struct tund_ring_header *h) { h->flags |= 0x100; }
static void bad_slots(struct tund_ring_header *h) { h->ring_slots = 1000; }
static void bad_slots_many(struct tund_ring_header *h) { h->ring_slots = 1u << 20; }
static void bad_slot_size(struct tund_ring_header *h) { h->slot_size = 2000; }
static void bad_slot_size_big(struct tund_ring_header *h) { h->slot_size = 1u << 20; }
static void bad_memory_size(struct tund_ring_header *h) { h->memory_size = UINT64_MAX; }
static void bad_memory_small(struct tund_ring_header *h) { h->memory_size = 4096; }
static void bad_descs_past(struct tund_ring_header *h) { h->ring[1].descs = h->memory_size - 8; }
static void bad_slots_past(struct tund_ring_header *h) { h->ring[0].slots = UINT64_MAX - 100; }
static void bad_overlap(struct tund_ring_header *h) { h->ring[1].slots = h->ring[0].slots + 4096; }
static void bad_index_in_slots(struct tund_ring_header *h) { h->ring[0].producer = h->ring[1].slots + 64; }
static void bad_index_in_header(struct tund_ring_header *h) { h->ring[0].consumer = 8; }
static void bad_misaligned(struct tund_ring_header *h) { h->ring[1].need_wakeup += 2; }
static void bad_room_misaligned(struct tund_ring_header *h) { h->ring[0].need_room += 1; }
static void bad_room_on_index(struct tund_ring_header *h) { h->ring[0].need_room = h->ring[0].consumer; }
static void bad_descs_misaligned(struct tund_ring_header *h) { h->ring[0].descs += 4; }

static const BadHeader bad_headers[] = {
        { "magic", bad_magic, -EBADMSG },
        { "version", bad_version, -EPROTONOSUPPORT },
        { "a later version", bad_version_later, -EPROTONOSUPPORT },
        { "header_size", bad_header_size, -EBADMSG },
        { "flags", bad_flags, -EBADMSG },
        { "ring_slots", bad_slots, -EBADMSG },
        { "ring_slots huge", bad_slots_many, -EBADMSG },
        { "slot_size", bad_slot_size, -EBADMSG },
        { "slot_size huge", bad_slot_size_big, -EBADMSG },
        { "memory_size huge", bad_memory_size, -EBADMSG },
        { "memory_size small", bad_memory_small, -EBADMSG },
        { "descs past the end", bad_descs_past, -EBADMSG },
        { "slots past the end", bad_slots_past, -EBADMSG },
        { "rings overlapping", bad_overlap, -EBADMSG },
        { "an index in the slots", bad_index_in_slots, -EBADMSG },
        { "an index in the header", bad_index_in_header, -EBADMSG },
        { "an index misaligned", bad_misaligned, -EBADMSG },
        { "need_room misaligned", bad_room_misaligned, -EBADMSG },
        { "need_room on an index", bad_room_on_index, -EBADMSG },
        { "descriptors misaligned", bad_descs_misaligned, -EBADMSG },
};

/* Opening fails with ERROR; the socket is still the caller's. */
static void assert_open_fails(Fake *f, bool vnet, int error) {
        struct tund_options o = tund_options_init(TUND_MODE_RING);
        tund_fd *t = NULL;

        o.vnet = vnet;
        g_assert_cmpint(tund_fd_from_fd(f->lib_fd, &o, &t), ==, error);
        g_assert_null(t);
        g_assert_cmpint(fcntl(f->lib_fd, F_GETFD), >=, 0);
        close(f->lib_fd);
}

static unsigned count_fds(void) {
        g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
        unsigned n = 0;

        g_assert_nonnull(dir);
        while (g_dir_read_name(dir))
                n++;
        return n;
}

static void test_handshake(void) {
        unsigned fds_before = count_fds();
        Fake f;
        tund_fd *t;

        fake_new(&f, 1024, 2048, false);
        t = fake_open(&f, false);
        g_assert_cmpuint(tund_get_slot_size(t), ==, 2048);
        g_assert_cmpuint(tund_get_max_packet(t), ==, TUND_RING_PACKET_MAX);
        tund_fd_free(t);
        fake_free(&f);

        for (size_t i = 0; i < G_N_ELEMENTS(bad_headers); i++) {
                struct tund_ring_header h;

                g_test_message("header: %s", bad_headers[i].what);
                f = (Fake) {};
                fake_socket(&f);
                fake_memory(&f, 1024, 2048, false, F_SEAL_SHRINK | F_SEAL_GROW);
                h = f.h;
                bad_headers[i].corrupt(&h);
                fake_handshake_raw(&f, &h, sizeof(h), 1);
                assert_open_fails(&f, false, bad_headers[i].error);
                fake_free(&f);
        }

        /* The message itself: short, long, without the memfd, with two. */
        static const struct {
                const char *what;
                size_t len;
                unsigned fds;
        } bad_messages[] = {
                { "short", 64, 1 },
                { "no fd", sizeof(struct tund_ring_header), 0 },
                { "two fds", sizeof(struct tund_ring_header), 2 },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad_messages); i++) {
                g_test_message("message: %s", bad_messages[i].what);
                f = (Fake) {};
                fake_socket(&f);
                fake_memory(&f, 1024, 2048, false, F_SEAL_SHRINK);
                fake_handshake_raw(&f, &f.h, bad_messages[i].len, bad_messages[i].fds);
                assert_open_fails(&f, false, -EBADMSG);
                fake_free(&f);
        }
        f = (Fake) {};
        fake_socket(&f);
        fake_memory(&f, 1024, 2048, false, F_SEAL_SHRINK);
        struct { struct tund_ring_header h; uint8_t more[8]; } longer = { f.h, {} };
        fake_handshake_raw(&f, &longer.h, sizeof(longer), 1);
        assert_open_fails(&f, false, -EBADMSG);
        fake_free(&f);

        /* A memfd that could shrink under the mapping, or that is too small. */
        f = (Fake) {};
        fake_socket(&f);
        fake_memory(&f, 1024, 2048, false, 0);
        fake_handshake_raw(&f, &f.h, sizeof(f.h), 1);
        assert_open_fails(&f, false, -EBADMSG);
        fake_free(&f);

        f = (Fake) {};
        fake_socket(&f);
        fake_memory(&f, 1024, 2048, false, 0);
        g_assert_cmpint(ftruncate(f.memfd, 8192), ==, 0);
        g_assert_cmpint(fcntl(f.memfd, F_ADD_SEALS, F_SEAL_SHRINK), ==, 0);
        munmap(f.mem, f.h.memory_size);
        f.mem = NULL;
        fake_handshake_raw(&f, &f.h, sizeof(f.h), 1);
        assert_open_fails(&f, false, -EBADMSG);
        fake_free(&f);

        /* Not the mode asked for. */
        fake_new(&f, 1024, 2048, true);
        assert_open_fails(&f, false, -EINVAL);
        fake_free(&f);

        /* The peer ended before the handshake. */
        f = (Fake) {};
        fake_socket(&f);
        close(f.svc_fd);
        f.svc_fd = -1;
        f.memfd = -1;
        assert_open_fails(&f, false, -EPIPE);

        /* Every fd a refused handshake brought was closed. */
        g_assert_cmpuint(count_fds(), ==, fds_before);
}

/* ---- Receiving from the ring ------------------------------------------------------------ */

static void test_ring_recv(void) {
        Fake f;
        tund_fd *t;
        static uint8_t bufs[4][TUND_RING_VNET_MESSAGE_MAX];
        struct tund_packet p[4];
        static const size_t lens[] = { 1, 1500, 2048, 2049, 65535 };

        fake_new(&f, 1024, 2048, false);
        t = fake_open(&f, false);
        for (size_t i = 0; i < 4; i++)
                p[i] = (struct tund_packet) { .data = bufs[i], .size = sizeof(bufs[i]) };
        g_assert_cmpint(tund_recv_burst(t, p, 4), ==, 0);

        /* Copies, chained ones too, four at a time. */
        for (size_t i = 0; i < G_N_ELEMENTS(lens); i++)
                fake_put_packet(&f, lens[i], (uint8_t) i);
        fake_publish(&f);
        g_assert_cmpint(tund_wait(t, 0), ==, 1);
        g_assert_cmpint(tund_recv_burst(t, p, 4), ==, 4);
        for (size_t i = 0; i < 4; i++)
                g_assert_true(packet_is(&p[i], lens[i], (uint8_t) i));
        g_assert_cmpuint(__atomic_load_n(f.cons[TUND_RING_TO_CLIENT], __ATOMIC_ACQUIRE), ==, 1 + 1 + 1 + 2);
        g_assert_cmpint(tund_recv_burst(t, p, 4), ==, 1);
        g_assert_true(packet_is(&p[0], 65535, 4));
        g_assert_cmpuint(*f.cons[TUND_RING_TO_CLIENT], ==, f.out_prod);

        /* Too long for the caller's buffer: dropped and counted. */
        fake_put_packet(&f, 3000, 9);
        fake_put_packet(&f, 100, 10);
        fake_publish(&f);
        p[0].size = 2000;
        g_assert_cmpint(tund_recv_burst(t, p, 2), ==, 1);
        g_assert_true(packet_is(&p[0], 100, 10));
        struct tund_counters c;
        tund_get_counters(t, &c, sizeof(c));
        g_assert_cmpuint(c.rx_truncated, ==, 1);
        g_assert_cmpuint(c.rx_packets, ==, 6);

        /* In place: single-slot packets in their slots, chained ones copied; the slots are
         * the service's again only after the release. */
        uint32_t before = *f.cons[TUND_RING_TO_CLIENT];
        fake_put_packet(&f, 60, 20);
        fake_put_packet(&f, 5000, 21);
        fake_put_packet(&f, 2048, 22);
        fake_publish(&f);
        g_assert_cmpint(tund_ring_peek(t, p, 2), ==, 2);
        g_assert_true(packet_is(&p[0], 60, 20));
        g_assert_true(packet_is(&p[1], 5000, 21));
        /* The first is the slot itself (the same memory, mapped twice), the second a copy. */
        fake_slot(&f, TUND_RING_TO_CLIENT, before)[0] = 0xee;
        fake_slot(&f, TUND_RING_TO_CLIENT, before + 1)[0] = 0xee;
        g_assert_cmpuint(((uint8_t *) p[0].data)[0], ==, 0xee);
        g_assert_cmpuint(((uint8_t *) p[1].data)[0], ==, 21);
        fake_slot(&f, TUND_RING_TO_CLIENT, before)[0] = 20;
        g_assert_cmpint(tund_ring_peek(t, &p[2], 2), ==, 1);
        g_assert_true(packet_is(&p[2], 2048, 22));
        g_assert_cmpuint(*f.cons[TUND_RING_TO_CLIENT], ==, before);
        g_assert_cmpint(tund_recv_burst(t, &p[3], 1), ==, -EBUSY);
        g_assert_cmpint(tund_ring_peek(t, &p[3], 1), ==, 0);
        g_assert_cmpint(tund_ring_release(t), ==, 0);
        g_assert_cmpuint(*f.cons[TUND_RING_TO_CLIENT], ==, f.out_prod);
        p[3] = (struct tund_packet) { .data = bufs[3], .size = sizeof(bufs[3]) };
        g_assert_cmpint(tund_recv_burst(t, &p[3], 1), ==, 0);

        /* Indices wrap at 2^32. */
        tund_fd_free(t);
        fake_free(&f);

        /* Vnet messages up to the largest. */
        fake_new(&f, 64, 4096, true);
        t = fake_open(&f, true);
        g_assert_cmpuint(tund_get_max_packet(t), ==, TUND_RING_VNET_MESSAGE_MAX);
        fake_put_packet(&f, TUND_RING_VNET_MESSAGE_MAX, 3);
        fake_put_packet(&f, 11, 4);
        fake_publish(&f);
        for (size_t i = 0; i < 2; i++)
                p[i] = (struct tund_packet) { .data = bufs[i], .size = sizeof(bufs[i]) };
        g_assert_cmpint(tund_recv_burst(t, p, 2), ==, 2);
        g_assert_true(packet_is(&p[0], TUND_RING_VNET_MESSAGE_MAX, 3));
        g_assert_true(packet_is(&p[1], 11, 4));
        tund_fd_free(t);
        fake_free(&f);
}

/* ---- What a broken service might write ---------------------------------------------------- */

typedef struct BadRing {
        const char *what;
        bool vnet;
        void (*corrupt)(Fake *f);
} BadRing;

static void ring_len_zero(Fake *f) { fake_put_desc(f, 0, 0, 0); }
static void ring_len_past_slot(Fake *f) { fake_put_desc(f, f->slot_size + 1, 0, 0); }
static void ring_len_huge(Fake *f) { fake_put_desc(f, UINT32_MAX, 0, 0); }
static void ring_unknown_flag(Fake *f) { fake_put_desc(f, 100, 0x8, 0); }
static void ring_reserved(Fake *f) { fake_put_desc(f, 100, 0, 1); }
static void ring_short_part(Fake *f) {
        fake_put_desc(f, 100, TUND_RING_DESC_NEXT, 0);
        fake_put_desc(f, 100, 0, 0);
}
static void ring_cut_chain(Fake *f) {
        for (unsigned i = 0; i < 3; i++)
                fake_put_desc(f, f->slot_size, TUND_RING_DESC_NEXT, 0);
}
static void ring_endless_chain(Fake *f) {
        for (unsigned i = 0; i <= f->mask; i++)
                fake_put_desc(f, f->slot_size, TUND_RING_DESC_NEXT, 0);
}
static void ring_too_long(Fake *f) {
        /* 33 full slots of 2048: past 65535 bytes. */
        for (unsigned i = 0; i < 33; i++)
                fake_put_desc(f, f->slot_size, TUND_RING_DESC_NEXT, 0);
        fake_put_desc(f, 1, 0, 0);
}
static void ring_vnet_header_only(Fake *f) { fake_put_desc(f, TUND_RING_VNET_HDR_LEN, 0, 0); }
static void ring_producer_ahead(Fake *f) { f->out_prod += f->mask + 2; }
static void ring_producer_far(Fake *f) { f->out_prod += UINT32_MAX / 2; }

static const BadRing bad_rings[] = {
        { "length 0", false, ring_len_zero },
        { "length past the slot", false, ring_len_past_slot },
        { "length 2^32-1", false, ring_len_huge },
        { "an unknown flag", false, ring_unknown_flag },
        { "reserved set", false, ring_reserved },
        { "a short part before the last", false, ring_short_part },
        { "a chain cut by the producer", false, ring_cut_chain },
        { "a chain that does not end", false, ring_endless_chain },
        { "a chain past the largest packet", false, ring_too_long },
        { "a vnet header without a packet", true, ring_vnet_header_only },
        { "the producer more than a ring ahead", false, ring_producer_ahead },
        { "the producer far ahead", false, ring_producer_far },
};

static void assert_broken(tund_fd *t) {
        uint8_t buf[64];
        struct tund_packet p = { .data = buf, .size = sizeof(buf), .len = 20 };

        g_assert_cmpint(tund_recv_burst(t, &p, 1), ==, -EBADMSG);
        g_assert_cmpint(tund_ring_peek(t, &p, 1), ==, -EBADMSG);
        g_assert_cmpint(tund_wait(t, 0), ==, -EBADMSG);
        g_assert_cmpint(tund_send_burst(t, &p, 1), ==, -EBADMSG);
        g_assert_cmpint(tund_ring_reserve(t, &p, 1), ==, -EBADMSG);
}

static void test_ring_bad(void) {
        for (size_t i = 0; i < G_N_ELEMENTS(bad_rings); i++) {
                for (int peek = 0; peek < 2; peek++) {
                        static uint8_t buf[TUND_RING_VNET_MESSAGE_MAX];
                        struct tund_packet p = { .data = buf, .size = sizeof(buf) };
                        Fake f;
                        tund_fd *t;

                        g_test_message("ring: %s (%s)", bad_rings[i].what, peek ? "peek" : "recv");
                        fake_new(&f, 64, 4096, bad_rings[i].vnet);
                        t = fake_open(&f, bad_rings[i].vnet);
                        /* A good packet first: it is handed out, the bad one is not. */
                        fake_put_packet(&f, 100, 1);
                        fake_publish(&f);
                        g_assert_cmpint(peek ? tund_ring_peek(t, &p, 1) : tund_recv_burst(t, &p, 1), ==, 1);
                        g_assert_true(packet_is(&p, 100, 1));
                        if (peek)
                                g_assert_cmpint(tund_ring_release(t), ==, 0);
                        bad_rings[i].corrupt(&f);
                        fake_publish(&f);
                        g_assert_cmpint(peek ? tund_ring_peek(t, &p, 1) : tund_recv_burst(t, &p, 1), ==, -EBADMSG);
                        assert_broken(t);
                        tund_fd_free(t);
                        fake_free(&f);
                }
        }

        /* The producer going back behind what was consumed. */
        static uint8_t buf[2048];
        struct tund_packet p = { .data = buf, .size = sizeof(buf) };
        Fake f;
        fake_new(&f, 64, 4096, false);
        tund_fd *t = fake_open(&f, false);
        fake_put_packet(&f, 100, 1);
        fake_put_packet(&f, 100, 2);
        fake_publish(&f);
        g_assert_cmpint(tund_recv_burst(t, &p, 1), ==, 1);
        g_assert_cmpint(tund_recv_burst(t, &p, 1), ==, 1);
        f.out_prod -= 2;
        fake_publish(&f);
        g_assert_cmpint(tund_recv_burst(t, &p, 1), ==, -EBADMSG);
        tund_fd_free(t);
        fake_free(&f);

        /* The consumer of the ring to the service beyond what the library produced. */
        fake_new(&f, 64, 4096, false);
        t = fake_open(&f, false);
        p.len = 100;
        g_assert_cmpint(tund_send_burst(t, &p, 1), ==, 1);
        __atomic_store_n(f.cons[TUND_RING_TO_SERVICE], 1000, __ATOMIC_RELEASE);
        for (int r = 1; r > 0;)
                r = tund_send_burst(t, &p, 1);
        assert_broken(t);
        tund_fd_free(t);
        fake_free(&f);
}

/* ---- Sending into the ring ---------------------------------------------------------------- */

/* The packet at the service's consumer of the ring to it, checked and taken. */
static size_t fake_take(Fake *f, uint8_t *dst) {
        size_t len = 0;

        for (;;) {
                struct tund_ring_desc d = f->descs[TUND_RING_TO_SERVICE][f->in_cons & f->mask];
                g_assert_cmpuint(d.len, >=, 1);
                g_assert_cmpuint(d.len, <=, f->slot_size);
                g_assert_cmpuint(d.reserved, ==, 0);
                memcpy(dst + len, fake_slot(f, TUND_RING_TO_SERVICE, f->in_cons), d.len);
                len += d.len;
                f->in_cons++;
                if (!(d.flags & TUND_RING_DESC_NEXT))
                        return len;
                g_assert_cmpuint(d.len, ==, f->slot_size);
        }
}

static bool wake_waiting(Fake *f) {
        uint8_t b[16];

        return recv(f->svc_fd, b, sizeof(b), MSG_DONTWAIT) > 0;
}

static void test_ring_send(void) {
        static uint8_t pkt[TUND_RING_PACKET_MAX], got[TUND_RING_PACKET_MAX];
        struct tund_packet p[4];
        Fake f;
        tund_fd *t;

        for (size_t k = 0; k < sizeof(pkt); k++)
                pkt[k] = (uint8_t) (k * 7);
        fake_new(&f, 64, 4096, false);
        t = fake_open(&f, false);

        /* Published at once, the service woken only when it sleeps. */
        p[0] = (struct tund_packet) { .data = pkt, .len = 1500 };
        p[1] = (struct tund_packet) { .data = pkt, .len = 65535 };
        g_assert_cmpint(tund_send_burst(t, p, 2), ==, 2);
        g_assert_cmpuint(*f.prod[TUND_RING_TO_SERVICE], ==, 1 + 16);
        g_assert_false(wake_waiting(&f));
        g_assert_cmpuint(fake_take(&f, got), ==, 1500);
        g_assert_cmpmem(got, 1500, pkt, 1500);
        g_assert_cmpuint(fake_take(&f, got), ==, 65535);
        g_assert_cmpmem(got, 65535, pkt, 65535);
        __atomic_store_n(f.cons[TUND_RING_TO_SERVICE], f.in_cons, __ATOMIC_RELEASE);
        *f.wake[TUND_RING_TO_SERVICE] = 1;
        g_assert_cmpint(tund_send_burst(t, p, 1), ==, 1);
        g_assert_true(wake_waiting(&f));
        *f.wake[TUND_RING_TO_SERVICE] = 0;

        /* Lengths. */
        p[0].len = 0;
        g_assert_cmpint(tund_send_burst(t, p, 1), ==, -EMSGSIZE);
        p[0].len = 65536;
        g_assert_cmpint(tund_send_burst(t, p, 1), ==, -EMSGSIZE);
        p[0].len = 100;
        p[1].len = 0;
        g_assert_cmpint(tund_send_burst(t, p, 2), ==, 1);

        /* Full: fewer taken, then none; room again once the service consumed. */
        unsigned sent = 0;
        p[0].len = 4096;
        for (int r; (r = tund_send_burst(t, p, 1)) > 0;)
                sent += (unsigned) r;
        g_assert_cmpuint(sent, ==, 64 - 2);
        g_assert_cmpint(tund_wait_send(t, 0), ==, 0);
        fake_take(&f, got);
        fake_take(&f, got);
        __atomic_store_n(f.cons[TUND_RING_TO_SERVICE], f.in_cons, __ATOMIC_RELEASE);
        g_assert_cmpint(tund_wait_send(t, 10), ==, 1);
        for (size_t i = 0; i < 4; i++)
                p[i] = (struct tund_packet) { .data = pkt, .len = 4096 };
        g_assert_cmpint(tund_send_burst(t, p, 4), ==, 2);
        while (f.in_cons != *f.prod[TUND_RING_TO_SERVICE])
                g_assert_cmpuint(fake_take(&f, got), ==, 4096);
        __atomic_store_n(f.cons[TUND_RING_TO_SERVICE], f.in_cons, __ATOMIC_RELEASE);

        /* In place. */
        struct tund_packet s[4];
        g_assert_cmpint(tund_ring_reserve(t, s, 3), ==, 3);
        g_assert_cmpuint(s[0].size, ==, 4096);
        ((uint8_t *) s[0].data)[0] = 0x5a;
        g_assert_cmpuint(fake_slot(&f, TUND_RING_TO_SERVICE, f.in_cons)[0], ==, 0x5a);
        g_assert_cmpint(tund_send_burst(t, p, 1), ==, -EBUSY);
        memcpy(s[0].data, pkt, 1000);
        s[0].len = 1000;
        memcpy(s[1].data, pkt + 1, 2000);
        s[1].len = 2000;
        struct tund_packet wrong = s[1];
        wrong.data = (uint8_t *) wrong.data + 1;
        struct tund_packet two[2] = { s[0], wrong };
        g_assert_cmpint(tund_ring_submit(t, two, 2), ==, -EINVAL);
        s[1].len = 4097;
        g_assert_cmpint(tund_ring_submit(t, s, 2), ==, -EINVAL);
        s[1].len = 0;
        g_assert_cmpint(tund_ring_submit(t, s, 2), ==, -EINVAL);
        g_assert_cmpint(tund_ring_submit(t, s, 4), ==, -EINVAL);
        g_assert_cmpuint(*f.prod[TUND_RING_TO_SERVICE], ==, f.in_cons);
        s[1].len = 2000;
        g_assert_cmpint(tund_ring_submit(t, s, 2), ==, 2);
        g_assert_cmpuint(fake_take(&f, got), ==, 1000);
        g_assert_cmpmem(got, 1000, pkt, 1000);
        g_assert_cmpuint(fake_take(&f, got), ==, 2000);
        g_assert_cmpmem(got, 2000, pkt + 1, 2000);
        g_assert_cmpuint(*f.prod[TUND_RING_TO_SERVICE], ==, f.in_cons);
        g_assert_cmpint(tund_send_burst(t, p, 1), ==, 1);

        /* Sending to a service that ended. */
        close(f.svc_fd);
        f.svc_fd = -1;
        *f.wake[TUND_RING_TO_SERVICE] = 1;
        g_assert_cmpint(tund_send_burst(t, p, 1), ==, -EPIPE);
        g_assert_cmpint(tund_send_burst(t, p, 1), ==, -EPIPE);
        tund_fd_free(t);
        fake_free(&f);

        /* Other modes have no ring. */
        int pair[2];
        g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), ==, 0);
        g_assert_cmpint(tund_fd_from_fd(pair[0], NULL, &t), ==, 0);
        g_assert_cmpint(tund_ring_peek(t, p, 1), ==, -EOPNOTSUPP);
        g_assert_cmpint(tund_ring_reserve(t, p, 1), ==, -EOPNOTSUPP);
        g_assert_cmpint(tund_ring_release(t), ==, -EOPNOTSUPP);
        tund_fd_free(t);
        close(pair[1]);
}

/* The service waits for room (need_room set): releasing sends it one wake-up byte; without
 * the flag, releasing sends nothing. */
static void test_ring_room_wake(void) {
        struct tund_packet p[4];
        uint8_t b[4];
        Fake f;
        tund_fd *t;

        fake_new(&f, 64, 4096, false);
        t = fake_open(&f, false);
        for (unsigned i = 0; i < 4; i++)
                fake_put_packet(&f, 60, (uint8_t) i);
        fake_publish(&f);

        g_assert_cmpint(tund_ring_peek(t, p, 2), ==, 2);
        g_assert_cmpint(tund_ring_release(t), ==, 0);
        g_assert_cmpuint(*f.cons[TUND_RING_TO_CLIENT], ==, 2);
        g_assert_cmpint(recv(f.svc_fd, b, sizeof(b), MSG_DONTWAIT), ==, -1);
        g_assert_cmpint(errno, ==, EAGAIN);

        __atomic_store_n(f.room[TUND_RING_TO_CLIENT], 1, __ATOMIC_SEQ_CST);
        g_assert_cmpint(tund_ring_peek(t, p, 1), ==, 1);
        g_assert_cmpint(tund_ring_release(t), ==, 0);
        g_assert_cmpint(recv(f.svc_fd, b, sizeof(b), MSG_DONTWAIT), ==, 1);
        /* Nothing released, nothing sent. */
        g_assert_cmpint(tund_ring_release(t), ==, 0);
        g_assert_cmpint(recv(f.svc_fd, b, sizeof(b), MSG_DONTWAIT), ==, -1);
        /* Copying receives release too. */
        struct tund_packet c = { .data = (uint8_t[2048]) {}, .size = 2048 };
        g_assert_cmpint(tund_recv_burst(t, &c, 1), ==, 1);
        g_assert_cmpint(recv(f.svc_fd, b, sizeof(b), MSG_DONTWAIT), ==, 1);

        tund_fd_free(t);
        fake_free(&f);
}

/* ---- Sleeping and waking ---------------------------------------------------------------- */

typedef struct Waiter {
        tund_fd *t;
        int result;
        pthread_t thread;
} Waiter;

static void *waiter(void *userdata) {
        Waiter *w = userdata;

        w->result = tund_wait(w->t, 60 * 1000);
        return NULL;
}

static void test_ring_wait(void) {
        static uint8_t buf[2048];
        struct tund_packet p = { .data = buf, .size = sizeof(buf) };
        Fake f;
        Waiter w = {};

        fake_new(&f, 64, 4096, false);
        w.t = fake_open(&f, false);
        g_assert_cmpint(tund_wait(w.t, 20), ==, 0);
        g_assert_cmpuint(*f.wake[TUND_RING_TO_CLIENT], ==, 0);

        /* For an event loop: tund_wait(t, 0) leaves need_wakeup set, a wake-up makes the fd
         * readable, receiving clears the flag. */
        g_assert_cmpint(tund_wait(w.t, 0), ==, 0);
        g_assert_cmpuint(*f.wake[TUND_RING_TO_CLIENT], ==, 1);
        fake_put_packet(&f, 50, 7);
        fake_publish(&f);
        g_assert_cmpint(send(f.svc_fd, "", 1, 0), ==, 1);
        struct pollfd ep = { .fd = tund_get_fd(w.t), .events = POLLIN };
        g_assert_cmpint(poll(&ep, 1, 1000), ==, 1);
        g_assert_cmpint(tund_recv_burst(w.t, &p, 1), ==, 1);
        g_assert_true(packet_is(&p, 50, 7));
        g_assert_cmpuint(*f.wake[TUND_RING_TO_CLIENT], ==, 0);
        /* The wake-up byte is read by the next look, which arms the fd again. */
        g_assert_cmpint(tund_wait(w.t, 0), ==, 0);
        g_assert_cmpuint(*f.wake[TUND_RING_TO_CLIENT], ==, 1);
        ep.revents = 0;
        g_assert_cmpint(poll(&ep, 1, 0), ==, 0);
        g_assert_cmpint(tund_wait(w.t, 1), ==, 0);
        g_assert_cmpuint(*f.wake[TUND_RING_TO_CLIENT], ==, 0);

        /* Asleep: it says so; a packet and one wake-up byte wake it. */
        g_assert_cmpint(pthread_create(&w.thread, NULL, waiter, &w), ==, 0);
        while (!__atomic_load_n(f.wake[TUND_RING_TO_CLIENT], __ATOMIC_ACQUIRE))
                g_usleep(1000);
        g_usleep(20 * 1000);
        fake_put_packet(&f, 100, 1);
        fake_publish(&f);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        g_assert_cmpint(send(f.svc_fd, "", 1, 0), ==, 1);
        pthread_join(w.thread, NULL);
        g_assert_cmpint(w.result, ==, 1);
        g_assert_cmpuint(*f.wake[TUND_RING_TO_CLIENT], ==, 0);
        g_assert_cmpint(tund_recv_burst(w.t, &p, 1), ==, 1);

        /* Wake-ups that carry fds: the fds are closed. */
        int pipefd[2];
        g_assert_cmpint(pipe(pipefd), ==, 0);
        union {
                struct cmsghdr c;
                uint8_t b[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = (void *) "x", .iov_len = 1 };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control) };
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &pipefd[1], sizeof(int));
        g_assert_cmpint(sendmsg(f.svc_fd, &m, 0), ==, 1);
        close(pipefd[1]);
        g_assert_cmpint(tund_wait(w.t, 1000), ==, 1);
        struct pollfd pp = { .fd = pipefd[0], .events = POLLIN };
        g_assert_cmpint(poll(&pp, 1, 1000), ==, 1);
        g_assert_true(pp.revents & POLLHUP);
        close(pipefd[0]);

        /* The end: what was published before it is still handed out, then -EPIPE. */
        fake_put_packet(&f, 200, 2);
        fake_publish(&f);
        close(f.svc_fd);
        f.svc_fd = -1;
        g_assert_cmpint(tund_wait(w.t, 1000), ==, 1);
        g_assert_cmpint(tund_recv_burst(w.t, &p, 1), ==, 1);
        g_assert_true(packet_is(&p, 200, 2));
        g_assert_cmpint(tund_wait(w.t, 1000), ==, -EPIPE);
        g_assert_cmpint(tund_recv_burst(w.t, &p, 1), ==, -EPIPE);
        tund_fd_free(w.t);
        fake_free(&f);

        /* An ended peer seen by tund_recv_burst itself, without a wait: it looks at the
         * socket only now and then (every 64 empty receives). */
        fake_new(&f, 64, 4096, false);
        w.t = fake_open(&f, false);
        close(f.svc_fd);
        f.svc_fd = -1;
        int r = 0;
        for (unsigned i = 0; i < 64 && r == 0; i++)
                r = tund_recv_burst(w.t, &p, 1);
        g_assert_cmpint(r, ==, -EPIPE);
        g_assert_cmpint(tund_recv_burst(w.t, &p, 1), ==, -EPIPE);
        g_assert_cmpint(tund_wait_send(w.t, 0), ==, -EPIPE);
        tund_fd_free(w.t);
        fake_free(&f);
}

/* Waiting for room in the ring to the service: need_room is set, and the service's one
 * wake-up byte after it released entries ends the wait, even when another thread waiting
 * to receive on the same fd reads that byte (it pokes the sender's eventfd). */
typedef struct RoomWaiter {
        tund_fd *t;
        int result;
        pthread_t thread;
} RoomWaiter;

static void *room_waiter(void *userdata) {
        RoomWaiter *w = userdata;

        w->result = tund_wait_send(w->t, 60 * 1000);
        return NULL;
}

static void fill_to_service(tund_fd *t) {
        static uint8_t pkt[100];
        struct tund_packet p = { .data = pkt, .len = sizeof(pkt) };

        while (tund_send_burst(t, &p, 1) == 1)
                ;
}

static void test_ring_wait_send(void) {
        static uint8_t got[65536];

        for (unsigned round = 0; round < 20; round++) {
                Fake f;
                fake_new(&f, 64, 4096, false);
                tund_fd *t = fake_open(&f, false);
                RoomWaiter sender = { .t = t };
                Waiter receiver = { .t = t };
                struct tund_counters before = {}, after = {};

                fill_to_service(t);
                g_assert_cmpint(tund_wait_send(t, 0), ==, 0);
                /* Every other round a thread sleeps to receive too, and may read the byte. */
                if (round % 2)
                        g_assert_cmpint(pthread_create(&receiver.thread, NULL, waiter, &receiver), ==, 0);
                g_assert_cmpint(pthread_create(&sender.thread, NULL, room_waiter, &sender), ==, 0);
                while (!__atomic_load_n(f.room[TUND_RING_TO_SERVICE], __ATOMIC_ACQUIRE))
                        g_usleep(1000);
                while (round % 2 && !__atomic_load_n(f.wake[TUND_RING_TO_CLIENT], __ATOMIC_ACQUIRE))
                        g_usleep(1000);
                tund_get_counters(t, &before, sizeof(before));
                g_usleep(20 * 1000);
                /* Asleep, not looking again and again. */
                tund_get_counters(t, &after, sizeof(after));
                g_assert_cmpuint(after.tx_syscalls, ==, before.tx_syscalls);

                /* The service consumes, sees need_room and sends one byte. */
                while (f.in_cons != *f.prod[TUND_RING_TO_SERVICE])
                        fake_take(&f, got);
                __atomic_store_n(f.cons[TUND_RING_TO_SERVICE], f.in_cons, __ATOMIC_RELEASE);
                __atomic_thread_fence(__ATOMIC_SEQ_CST);
                g_assert_cmpuint(__atomic_load_n(f.room[TUND_RING_TO_SERVICE], __ATOMIC_RELAXED), ==, 1);
                g_assert_cmpint(send(f.svc_fd, "", 1, 0), ==, 1);
                pthread_join(sender.thread, NULL);
                g_assert_cmpint(sender.result, ==, 1);
                g_assert_cmpuint(*f.room[TUND_RING_TO_SERVICE], ==, 0);

                if (round % 2) {
                        /* A packet ends the receiver's wait. */
                        fake_put_packet(&f, 60, 1);
                        fake_publish(&f);
                        __atomic_thread_fence(__ATOMIC_SEQ_CST);
                        g_assert_cmpint(send(f.svc_fd, "", 1, 0), ==, 1);
                        pthread_join(receiver.thread, NULL);
                        g_assert_cmpint(receiver.result, ==, 1);
                }
                tund_fd_free(t);
                fake_free(&f);
        }
}

/* ---- Garbage all over the mapping --------------------------------------------------------- */

typedef struct Scribbler {
        uint8_t *mem;
        size_t size;
        int stop;
} Scribbler;

static void *scribble(void *userdata) {
        Scribbler *s = userdata;
        uint64_t state = 0x9e3779b97f4a7c15ull;

        while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
                for (unsigned i = 0; i < 4096; i++) {
                        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
                        size_t off = (state >> 16) % (s->size / 4) * 4;
                        __atomic_store_n((uint32_t *) (s->mem + off), (uint32_t) state, __ATOMIC_RELAXED);
                }
        return NULL;
}

/* While a thread writes random words over the whole mapping, the library only ever hands
 * out packets within its buffers or fails with -EBADMSG; never anything else. */
static void test_ring_scribble(void) {
        static uint8_t bufs[8][TUND_RING_VNET_MESSAGE_MAX];
        gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
        unsigned rings = 0, packets = 0;

        while (g_get_monotonic_time() < end) {
                bool vnet = rings % 2;
                Fake f;
                fake_new(&f, 64, 4096, vnet);
                tund_fd *t = fake_open(&f, vnet);
                Scribbler s = { .mem = f.mem, .size = f.h.memory_size };
                pthread_t th;
                int r = 0;

                rings++;
                g_assert_cmpint(pthread_create(&th, NULL, scribble, &s), ==, 0);
                for (unsigned round = 0; round < 20000 && r >= 0; round++) {
                        struct tund_packet p[8];
                        for (unsigned i = 0; i < 8; i++)
                                p[i] = (struct tund_packet) { .data = bufs[i], .size = sizeof(bufs[i]), .len = 64 };
                        switch (round % 4) {
                        case 0:
                                r = tund_recv_burst(t, p, 8);
                                break;
                        case 1:
                                r = tund_ring_peek(t, p, 8);
                                for (int i = 0; i < r; i++) {
                                        g_assert_cmpuint(p[i].len, <=, tund_get_max_packet(t));
                                        volatile uint8_t last = ((uint8_t *) p[i].data)[p[i].len - 1];
                                        (void) last;
                                }
                                if (r >= 0)
                                        r = tund_ring_release(t);
                                break;
                        case 2:
                                r = tund_send_burst(t, p, 8);
                                break;
                        case 3:
                                r = tund_ring_reserve(t, p, 8);
                                if (r > 0) {
                                        for (int i = 0; i < r; i++) {
                                                memset(p[i].data, 0x45, 64);
                                                p[i].len = 64;
                                        }
                                        r = tund_ring_submit(t, p, (unsigned) r);
                                }
                                break;
                        }
                        if (r > 0)
                                packets += (unsigned) r;
                        if (r < 0)
                                g_assert_cmpint(r, ==, -EBADMSG);
                }
                __atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
                pthread_join(th, NULL);
                tund_fd_free(t);
                fake_free(&f);
        }
        g_test_message("rings %u, packets moved %u", rings, packets);
        g_assert_cmpuint(rings, >, 1);
}

/* ---- Modes packet, batch and vnet ---------------------------------------------------------- */

static tund_fd *socket_open(enum tund_mode mode, int *ret_peer) {
        struct tund_options o = tund_options_init(mode);
        tund_fd *t = NULL;
        int pair[2];

        g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), ==, 0);
        g_assert_cmpint(tund_fd_from_fd(pair[0], &o, &t), ==, 0);
        *ret_peer = pair[1];
        return t;
}

static void test_packet_mode(void) {
        static uint8_t bufs[4][TUND_RING_VNET_MESSAGE_MAX];
        struct tund_packet p[4];
        uint8_t msg[3000];
        int peer;
        tund_fd *t = socket_open(TUND_MODE_PACKET, &peer);

        for (size_t k = 0; k < sizeof(msg); k++)
                msg[k] = (uint8_t) k;
        for (size_t i = 0; i < 4; i++)
                p[i] = (struct tund_packet) { .data = bufs[i], .size = sizeof(bufs[i]) };
        g_assert_cmpint(tund_recv_burst(t, p, 4), ==, 0);
        g_assert_cmpint(tund_wait(t, 0), ==, 0);
        g_assert_cmpint(send(peer, msg, 100, 0), ==, 100);
        g_assert_cmpint(send(peer, msg, 3000, 0), ==, 3000);
        g_assert_cmpint(send(peer, msg, 200, 0), ==, 200);
        g_assert_cmpint(tund_wait(t, 1000), ==, 1);
        /* The second is too long for its buffer: dropped, its buffer moved behind. */
        uint8_t *second = bufs[1];
        p[1].size = 2000;
        g_assert_cmpint(tund_recv_burst(t, p, 4), ==, 2);
        g_assert_cmpuint(p[0].len, ==, 100);
        g_assert_cmpuint(p[1].len, ==, 200);
        g_assert_true(p[2].data == second);
        struct tund_counters c;
        tund_get_counters(t, &c, sizeof(c));
        g_assert_cmpuint(c.rx_truncated, ==, 1);

        /* Sending: one message each; lengths checked. */
        p[0] = (struct tund_packet) { .data = msg, .len = 1500 };
        p[1] = (struct tund_packet) { .data = msg, .len = 1 };
        p[2] = (struct tund_packet) { .data = msg, .len = 0 };
        g_assert_cmpint(tund_send_burst(t, p, 3), ==, 2);
        g_assert_cmpint(tund_send_burst(t, &p[2], 1), ==, -EMSGSIZE);
        g_assert_cmpint(recv(peer, bufs[3], sizeof(bufs[3]), 0), ==, 1500);
        g_assert_cmpint(recv(peer, bufs[3], sizeof(bufs[3]), 0), ==, 1);
        g_assert_cmpint(tund_wait_send(t, 0), ==, 1);

        /* A full socket takes fewer, then none, never blocks. */
        unsigned sent = 0;
        p[0].len = 3000;
        for (int r; (r = tund_send_burst(t, p, 1)) > 0;)
                sent += (unsigned) r;
        g_assert_cmpuint(sent, >, 0);
        g_assert_cmpint(tund_wait_send(t, 0), ==, 0);

        /* The end. */
        close(peer);
        g_assert_cmpint(tund_wait(t, 1000), ==, 1);
        for (size_t i = 0; i < 4; i++)
                p[i] = (struct tund_packet) { .data = bufs[i], .size = sizeof(bufs[i]) };
        g_assert_cmpint(tund_recv_burst(t, p, 4), ==, -EPIPE);
        g_assert_cmpint(tund_wait(t, 0), ==, -EPIPE);
        g_assert_cmpint(tund_send_burst(t, p, 1), ==, -EPIPE);
        tund_fd_free(t);

        /* Vnet: a message no longer than its header is the service's error. */
        t = socket_open(TUND_MODE_VNET, &peer);
        g_assert_cmpint(send(peer, msg, 11, 0), ==, 11);
        g_assert_cmpint(send(peer, msg, 10, 0), ==, 10);
        for (size_t i = 0; i < 4; i++)
                p[i] = (struct tund_packet) { .data = bufs[i], .size = sizeof(bufs[i]) };
        g_assert_cmpint(tund_recv_burst(t, p, 1), ==, 1);
        g_assert_cmpint(tund_recv_burst(t, p, 1), ==, -EBADMSG);
        g_assert_cmpint(tund_wait(t, 0), ==, -EBADMSG);
        tund_fd_free(t);
        close(peer);
}

static size_t put_record(uint8_t *msg, size_t off, size_t len, uint8_t seed) {
        msg[off] = (uint8_t) (len >> 8);
        msg[off + 1] = (uint8_t) len;
        for (size_t k = 0; k < len; k++)
                msg[off + 2 + k] = (uint8_t) (seed + k);
        return off + 2 + len;
}

static void test_batch_mode(void) {
        static uint8_t bufs[4][TUND_RING_VNET_MESSAGE_MAX], msg[65536];
        struct tund_packet p[4];
        int peer;
        tund_fd *t = socket_open(TUND_MODE_BATCH, &peer);
        size_t len;

        for (size_t i = 0; i < 4; i++)
                p[i] = (struct tund_packet) { .data = bufs[i], .size = sizeof(bufs[i]) };
        /* Three records in one message, one in the next: handed out over two calls. */
        len = put_record(msg, 0, 100, 1);
        len = put_record(msg, len, 1500, 2);
        len = put_record(msg, len, 1, 3);
        g_assert_cmpint(send(peer, msg, len, 0), ==, (ssize_t) len);
        len = put_record(msg, 0, 65533, 4);
        g_assert_cmpint(send(peer, msg, len, 0), ==, (ssize_t) len);
        g_assert_cmpint(tund_recv_burst(t, p, 2), ==, 2);
        g_assert_true(packet_is(&p[0], 100, 1));
        g_assert_true(packet_is(&p[1], 1500, 2));
        g_assert_cmpint(tund_wait(t, 0), ==, 1);
        g_assert_cmpint(tund_recv_burst(t, p, 4), ==, 2);
        g_assert_true(packet_is(&p[0], 1, 3));
        g_assert_true(packet_is(&p[1], 65533, 4));

        /* Sending: records packed into messages of at most 65535 bytes. */
        static uint8_t pkt[65533];
        for (size_t k = 0; k < sizeof(pkt); k++)
                pkt[k] = (uint8_t) (k + 9);
        p[0] = (struct tund_packet) { .data = pkt, .len = 40000 };
        p[1] = (struct tund_packet) { .data = pkt, .len = 20000 };
        p[2] = (struct tund_packet) { .data = pkt, .len = 10000 };
        p[3] = (struct tund_packet) { .data = pkt, .len = 65534 };
        g_assert_cmpint(tund_send_burst(t, p, 4), ==, 3);
        g_assert_cmpint(tund_send_burst(t, &p[3], 1), ==, -EMSGSIZE);
        ssize_t n = recv(peer, msg, sizeof(msg), 0);
        g_assert_cmpint(n, ==, 2 + 40000 + 2 + 20000);
        g_assert_cmpuint(msg[0] << 8 | msg[1], ==, 40000);
        g_assert_cmpmem(msg + 2, 40000, pkt, 40000);
        g_assert_cmpuint(msg[40002] << 8 | msg[40003], ==, 20000);
        n = recv(peer, msg, sizeof(msg), 0);
        g_assert_cmpint(n, ==, 2 + 10000);

        /* Records that do not add up. */
        static const size_t bad_lens[][2] = {
                { 100, 99 },            /* record longer than the message */
                { 100, 103 },           /* a byte left over */
                { 0, 2 },               /* an empty record */
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad_lens); i++) {
                tund_fd_free(t);
                close(peer);
                t = socket_open(TUND_MODE_BATCH, &peer);
                len = put_record(msg, 0, bad_lens[i][0], 0);
                g_assert_cmpint(send(peer, msg, bad_lens[i][1] + 2, 0), ==, (ssize_t) bad_lens[i][1] + 2);
                for (size_t k = 0; k < 4; k++)
                        p[k] = (struct tund_packet) { .data = bufs[k], .size = sizeof(bufs[k]) };
                g_assert_cmpint(tund_recv_burst(t, p, 4), ==, -EBADMSG);
                g_assert_cmpint(tund_recv_burst(t, p, 4), ==, -EBADMSG);
        }
        tund_fd_free(t);
        close(peer);
}

/* ---- One receiving and one sending thread on one tund_fd ---------------------------------- */

#define ECHO_PACKETS 20000u

static size_t echo_len(uint32_t seq) {
        static const size_t lens[] = { 60, 1500, 2048, 3000, 9000, 20 };
        return lens[seq % G_N_ELEMENTS(lens)];
}

static void echo_fill(uint8_t *pkt, uint32_t seq) {
        size_t len = echo_len(seq);

        memcpy(pkt, &seq, sizeof(seq));
        for (size_t k = sizeof(seq); k < len; k++)
                pkt[k] = (uint8_t) (seq + k);
}

typedef struct Echo {
        Fake *f;
        enum tund_mode mode;
        tund_fd *t;
        int stop;                       /* __atomic */
        uint32_t received;
} Echo;

/* The service's side: what the library sends comes back to it, through the ring or the
 * socket. */
static void *echo_service(void *userdata) {
        Echo *e = userdata;
        Fake *f = e->f;
        static uint8_t pkt[65536];

        while (!__atomic_load_n(&e->stop, __ATOMIC_RELAXED)) {
                if (e->mode != TUND_MODE_RING) {
                        struct pollfd p = { .fd = f->svc_fd, .events = POLLIN };
                        if (poll(&p, 1, 10) <= 0)
                                continue;
                        ssize_t n = recv(f->svc_fd, pkt, sizeof(pkt), MSG_DONTWAIT);
                        if (n > 0)
                                g_assert_cmpint(send(f->svc_fd, pkt, n, 0), ==, n);
                        continue;
                }
                uint32_t p = __atomic_load_n(f->prod[TUND_RING_TO_SERVICE], __ATOMIC_ACQUIRE);
                if (p == f->in_cons) {
                        g_usleep(50);
                        continue;
                }
                while (f->in_cons != p) {
                        size_t len = fake_take(f, pkt);
                        uint32_t parts = (uint32_t) ((len + f->slot_size - 1) / f->slot_size);
                        while (f->out_prod + parts - __atomic_load_n(f->cons[TUND_RING_TO_CLIENT], __ATOMIC_ACQUIRE) > f->mask + 1) {
                                if (__atomic_load_n(&e->stop, __ATOMIC_RELAXED))
                                        return NULL;
                                g_usleep(50);
                        }
                        for (size_t off = 0; off < len;) {
                                uint32_t n = len - off < f->slot_size ? (uint32_t) (len - off) : f->slot_size;
                                memcpy(fake_slot(f, TUND_RING_TO_CLIENT, f->out_prod), pkt + off, n);
                                off += n;
                                fake_put_desc(f, n, off < len ? TUND_RING_DESC_NEXT : 0, 0);
                        }
                        fake_publish(f);
                        __atomic_thread_fence(__ATOMIC_SEQ_CST);
                        if (__atomic_load_n(f->wake[TUND_RING_TO_CLIENT], __ATOMIC_RELAXED))
                                (void) send(f->svc_fd, "", 1, MSG_DONTWAIT);
                }
                __atomic_store_n(f->cons[TUND_RING_TO_SERVICE], f->in_cons, __ATOMIC_RELEASE);
        }
        return NULL;
}

static void *echo_sender(void *userdata) {
        Echo *e = userdata;
        static uint8_t pkts[8][9000];

        for (uint32_t seq = 0; seq < ECHO_PACKETS;) {
                struct tund_packet p[8];
                unsigned n = 0;

                for (; n < 8 && seq + n < ECHO_PACKETS; n++) {
                        echo_fill(pkts[n], seq + n);
                        p[n] = (struct tund_packet) { .data = pkts[n], .len = echo_len(seq + n) };
                }
                for (unsigned sent = 0; sent < n;) {
                        int r = tund_send_burst(e->t, p + sent, n - sent);
                        g_assert_cmpint(r, >=, 0);
                        if (r == 0)
                                g_assert_cmpint(tund_wait_send(e->t, 1000), >=, 0);
                        sent += (unsigned) r;
                }
                seq += n;
        }
        return NULL;
}

static void *echo_receiver(void *userdata) {
        Echo *e = userdata;
        static uint8_t bufs[16][TUND_RING_VNET_MESSAGE_MAX];
        static uint8_t want[9000];

        while (e->received < ECHO_PACKETS) {
                struct tund_packet p[16];
                for (unsigned i = 0; i < 16; i++)
                        p[i] = (struct tund_packet) { .data = bufs[i], .size = sizeof(bufs[i]) };
                int n = tund_recv_burst(e->t, p, 16);
                g_assert_cmpint(n, >=, 0);
                if (n == 0) {
                        g_assert_cmpint(tund_wait(e->t, 5000), ==, 1);
                        continue;
                }
                for (int i = 0; i < n; i++) {
                        echo_fill(want, e->received);
                        g_assert_cmpmem(p[i].data, p[i].len, want, echo_len(e->received));
                        e->received++;
                }
        }
        return NULL;
}

/* Packets sent by one thread come back in order and whole to another thread receiving on
 * the same tund_fd at the same time, in mode ring and in the socket modes. */
static void test_two_threads(void) {
        static const enum tund_mode modes[] = { TUND_MODE_RING, TUND_MODE_PACKET, TUND_MODE_BATCH };

        for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
                Fake f = { .memfd = -1 };
                Echo e = { .f = &f, .mode = modes[i] };
                pthread_t th[3];

                if (modes[i] == TUND_MODE_RING) {
                        fake_new(&f, 256, 2048, false);
                        e.t = fake_open(&f, false);
                } else {
                        int peer;
                        e.t = socket_open(modes[i], &peer);
                        f.svc_fd = peer;
                }
                g_assert_cmpint(pthread_create(&th[0], NULL, echo_service, &e), ==, 0);
                g_assert_cmpint(pthread_create(&th[1], NULL, echo_receiver, &e), ==, 0);
                g_assert_cmpint(pthread_create(&th[2], NULL, echo_sender, &e), ==, 0);
                pthread_join(th[2], NULL);
                pthread_join(th[1], NULL);
                __atomic_store_n(&e.stop, 1, __ATOMIC_RELAXED);
                pthread_join(th[0], NULL);
                g_assert_cmpuint(e.received, ==, ECHO_PACKETS);

                struct tund_counters c;
                tund_get_counters(e.t, &c, sizeof(c));
                g_test_message("mode %d: %" G_GUINT64_FORMAT " packets, system calls: receiving %" G_GUINT64_FORMAT
                               ", sending %" G_GUINT64_FORMAT, modes[i], c.rx_packets, c.rx_syscalls, c.tx_syscalls);
                g_assert_cmpuint(c.rx_packets, ==, ECHO_PACKETS);
                g_assert_cmpuint(c.tx_packets, ==, ECHO_PACKETS);
                tund_fd_free(e.t);
                fake_free(&f);
        }
}

/* The service's errors by name, what is no error of its, and no name at all. */
static void test_error_names(void) {
        g_assert_cmpint(tund_errno_from_error_name("org.example.Tun1.Error.NoSuchDevice", -EIO), ==, -ENODEV);
        g_assert_cmpint(tund_errno_from_error_name("org.example.Tun1.Error.Exists", -EIO), ==, -EEXIST);
        g_assert_cmpint(tund_errno_from_error_name("org.example.Tun1.Error.NoSuchAddress", -EIO), ==, -EADDRNOTAVAIL);
        g_assert_cmpint(tund_errno_from_error_name("org.example.Tun1.Error.NoSuchRoute", -EIO), ==, -ESRCH);
        g_assert_cmpint(tund_errno_from_error_name("org.example.Tun1.Error.LimitsExceeded", -EIO), ==, -ENOSPC);
        g_assert_cmpint(tund_errno_from_error_name("org.freedesktop.DBus.Error.AccessDenied", -EIO), ==, -EACCES);
        g_assert_cmpint(tund_errno_from_error_name("org.freedesktop.DBus.Error.ServiceUnknown", -EIO), ==, -EHOSTDOWN);
        g_assert_cmpint(tund_errno_from_error_name("org.freedesktop.DBus.Error.NoReply", -EIO), ==, -ETIMEDOUT);
        g_assert_cmpint(tund_errno_from_error_name("org.example.Tun1.Error.NoSuchDevic", -EPERM), ==, -EPERM);
        g_assert_cmpint(tund_errno_from_error_name(NULL, -ENOMEM), ==, -ENOMEM);
        g_assert_cmpint(tund_errno_from_error_name(NULL, 0), ==, -EIO);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        signal(SIGPIPE, SIG_IGN);
        g_test_add_func("/libtund-unit/options", test_options);
        g_test_add_func("/libtund-unit/error-names", test_error_names);
        g_test_add_func("/libtund-unit/handshake", test_handshake);
        g_test_add_func("/libtund-unit/ring-recv", test_ring_recv);
        g_test_add_func("/libtund-unit/ring-bad", test_ring_bad);
        g_test_add_func("/libtund-unit/ring-send", test_ring_send);
        g_test_add_func("/libtund-unit/ring-wait", test_ring_wait);
        g_test_add_func("/libtund-unit/ring-room-wake", test_ring_room_wake);
        g_test_add_func("/libtund-unit/ring-wait-send", test_ring_wait_send);
        g_test_add_func("/libtund-unit/ring-scribble", test_ring_scribble);
        g_test_add_func("/libtund-unit/packet-mode", test_packet_mode);
        g_test_add_func("/libtund-unit/batch-mode", test_batch_mode);
        g_test_add_func("/libtund-unit/two-threads", test_two_threads);
        return g_test_run();
}
