/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The ring transport (mode "ring", tund-ring(7)): packets travel through two
 * single-producer single-consumer rings in a sealed memfd shared with the client; the
 * socket carries the memfd once, then one-byte wake-ups and the client's end.
 *
 * Nothing in the shared memory is trusted. Each index and descriptor the client writes is
 * loaded once into a local and checked there; tund's own indices live in Transport and
 * are only ever stored to the shared memory, never loaded back from it. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>

#include "macro.h"
#include "ring-layout.h"
#include "transport.h"
#include "vnet.h"

#define RX_PKTS         256u                    /* packets returned per receive() */
#define RX_BUF_SIZE     DATAPLANE_RING_RX_BYTES /* their private copies */
#define STRIKES_MAX     64u                     /* protocol breaks in a row that end the ring */
#define DRAIN_MAX       64u                     /* wake-up messages read per sleep */
#define PASSED_FDS_MAX  253u                    /* SCM_MAX_FD */
/* Entries one receive() holds at most: packets are handed over in their slots, so a
 * quarter of the ring, which the client refills meanwhile. */
#define IN_PLACE_MAX(t) (((t)->mask + 1) / 4)
/* A full ring holds the reader (the device's packets wait in the kernel's queue), asleep
 * until the client makes room, for at most FULL_WAIT_NS; then the client counts as stalled
 * and its packets are dropped without waiting until it has consumed half a ring: a client
 * that takes a packet now and then cannot hold the device's reader, which its other
 * clients share, for more than a moment. The device's only client holds nobody else's
 * packets: it may take FULL_WAIT_SOLE_NS, so that a client the scheduler put aside for a
 * few time slices on a busy machine loses nothing. */
#define FULL_WAIT_NS            2000000L
#define FULL_WAIT_SOLE_NS       50000000L

_Static_assert(RX_BUF_SIZE >= 2 * TUND_RING_VNET_MESSAGE_MAX, "room for the largest message");
_Static_assert(DATAPLANE_RING_CLIENT_MEMORY_MAX == 11023872, "as dataplane.h and tund(8) say");

/* tund's view of one ring: pointers into the shared memory and its own index. */
typedef struct Ring {
        uint32_t *producer, *consumer, *need_wakeup, *need_room;
        uint64_t *descs;                        /* struct tund_ring_desc, loaded whole */
        uint8_t *slots;
        uint32_t own;                           /* out: produced; in: consumed */
        uint32_t peer;                          /* out: the client's consumer, last valid */
} Ring;

/* Wake-ups: the client's bytes on the socket are for whichever of tund's threads sleeps,
 * the writer (its ring was empty) or the reader (the client's ring was full), and either
 * thread may read a byte meant for the other. So a thread says that it sleeps (Sleeper)
 * before it sets its flag in the shared memory, and whichever reads any bytes pokes the
 * other's eventfd (tund's own, never shared, its flags only tund's) if the other sleeps: a
 * byte sent after a thread set its flag either waits in the socket, or was read by that
 * thread, or by the other, which then saw it asleep and left the eventfd readable until
 * the sleeper reads it on waking, before it looks at its ring again. No wake-up is lost,
 * a thread that is awake costs the other no system call, and neither thread polls a
 * socket it cannot drain (which would spin). */
typedef struct Sleeper {
        int efd;
        int sleeping;                           /* __atomic */
} Sleeper;

struct Transport {
        int fd;
        Sleeper reader, writer;
        uint8_t *mem;
        size_t mem_size;
        uint32_t mask, slot_size, max_len, min_len;

        /* Kernel -> client, on the reader thread */
        Ring out;
        uint32_t published;                     /* out.own as last stored to its producer */
        bool woke;                              /* a wake-up went out while the client ... */
        uint32_t woke_at;                       /* ... had consumed this far */
        unsigned out_strikes;
        int64_t full_wait_ns;                   /* FULL_WAIT_NS, or FULL_WAIT_SOLE_NS */
        bool stalled;                           /* did not make room in full_wait_ns ... */
        uint32_t stalled_at;                    /* ... when its consumer was here */
        TransportCounters pending;              /* since the last flush */

        /* Client -> kernel, on the writer thread: a cache line apart from the reader's */
        _Alignas(64) Ring in;
        uint32_t in_released;                   /* in.own as last stored to its consumer */
        unsigned in_strikes;
        uint8_t *rx_buf;
        struct iovec rx_pkts[RX_PKTS];
};

static Transport *transport_ring_free(Transport *t) {
        if (!t)
                return NULL;
        safe_close(t->fd);
        safe_close(t->reader.efd);
        safe_close(t->writer.efd);
        if (t->mem)
                (void) munmap(t->mem, t->mem_size);
        if (t->rx_buf)
                (void) munmap(t->rx_buf, RX_BUF_SIZE);
        free(t);
        return NULL;
}

static void transport_ring_freep(Transport **t) {
        transport_ring_free(*t);
}

static uint32_t parts_for(const Transport *t, size_t len) {
        return (uint32_t) ((len + t->slot_size - 1) / t->slot_size);
}

/* ---- Set-up -------------------------------------------------------------------------- */

static void ring_init(Ring *r, uint8_t *mem, const struct tund_ring_offsets *o) {
        *r = (Ring) {
                .producer = (uint32_t *) (mem + o->producer),
                .consumer = (uint32_t *) (mem + o->consumer),
                .need_wakeup = (uint32_t *) (mem + o->need_wakeup),
                .need_room = (uint32_t *) (mem + o->need_room),
                .descs = (uint64_t *) (mem + o->descs),
                .slots = mem + o->slots,
        };
}

/* A memfd of the layout's size, mapped, sealed against resizing, the header written. */
static int map_memory(Transport *t, const struct tund_ring_header *h, int *ret_memfd) {
        _cleanup_close_ int fd = -EBADF;
        void *p;

        fd = memfd_create("tund-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        if (ftruncate(fd, (off_t) h->memory_size) < 0)
                return -errno;
        p = mmap(NULL, h->memory_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
                return -errno;
        t->mem = p;
        t->mem_size = h->memory_size;
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
                return -errno;

        memcpy(t->mem, h, sizeof(*h));
        ring_init(&t->out, t->mem, &h->ring[TUND_RING_TO_CLIENT]);
        ring_init(&t->in, t->mem, &h->ring[TUND_RING_TO_SERVICE]);
        *ret_memfd = TAKE_FD(fd);
        return 0;
}

/* The first message: the header's bytes, with the memfd. */
static int send_memory(int fd, int memfd, const struct tund_ring_header *h) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = (void *) h, .iov_len = sizeof(*h) };
        struct msghdr m = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &memfd, sizeof(int));
        ssize_t n = sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0)
                return -errno;
        return n == (ssize_t) sizeof(*h) ? 0 : -EIO;
}

static int transport_ring_new(const ClientOptions *o, Transport **ret, int *ret_peer_fd) {
        _cleanup_(transport_ring_freep) Transport *t = NULL;
        _cleanup_close_ int memfd = -EBADF;
        struct tund_ring_header h;
        int pair[2], r;

        ring_layout_compute(o->ring_slots ?: TUND_RING_SLOTS_DEFAULT,
                            o->slot_size ?: TUND_RING_SLOT_SIZE_DEFAULT, o->vnet, &h);

        t = calloc(1, sizeof(Transport));
        if (!t)
                return -ENOMEM;
        t->fd = t->reader.efd = t->writer.efd = -EBADF;
        t->full_wait_ns = FULL_WAIT_NS;
        t->mask = h.ring_slots - 1;
        t->slot_size = h.slot_size;
        t->max_len = o->vnet ? TUND_RING_VNET_MESSAGE_MAX : TUND_RING_PACKET_MAX;
        t->min_len = o->vnet ? VNET_HDR_LEN + 1 : 1;

        r = map_memory(t, &h, &memfd);
        if (r < 0)
                return r;
        /* Address space only: pages are touched as far as packets reach. */
        void *rx = mmap(NULL, RX_BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (rx == MAP_FAILED)
                return -ENOMEM;
        t->rx_buf = rx;

        t->reader.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        t->writer.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (t->reader.efd < 0 || t->writer.efd < 0)
                return -errno;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        t->fd = pair[0];
        r = send_memory(t->fd, memfd, &h);
        if (r < 0) {
                safe_close(pair[1]);
                return r;
        }

        *ret_peer_fd = pair[1];
        *ret = TAKE_PTR(t);
        return 0;
}

/* ---- Wake-ups and the socket ---------------------------------------------------------- */

static void wake_peer(int fd) {
        /* Full: a wake-up is waiting there already. */
        (void) send(fd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void close_passed_fds(struct msghdr *m) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        safe_close(fd);
                }
        }
}

static bool peer_gone(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

        return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void sleeper_set(Sleeper *s, bool sleeping) {
        __atomic_store_n(&s->sleeping, sleeping, __ATOMIC_SEQ_CST);
}

static void poke(Sleeper *s) {
        /* EAGAIN: the counter is at its maximum, readable already. */
        if (__atomic_load_n(&s->sleeping, __ATOMIC_SEQ_CST))
                (void) eventfd_write(s->efd, 1);
}

/* Sleeps in poll until the socket or the eventfd efd is readable, at most timeout (NULL:
 * no bound); then empties efd. */
static void sleep_on(int fd, int efd, const struct timespec *timeout) {
        struct pollfd p[2] = {
                { .fd = fd, .events = POLLIN },
                { .fd = efd, .events = POLLIN },
        };
        eventfd_t v;

        if (ppoll(p, 2, timeout, NULL) > 0 && p[1].revents)
                (void) eventfd_read(efd, &v);
}

/* Reads the wake-ups waiting, closing any fds they carry; if there were any, pokes
 * the other thread (see struct Sleeper). Returns 0 at end-of-file, 1 otherwise, or
 * negative errno. */
static int drain_socket(int fd, Sleeper *other) {
        int r = 1;
        unsigned i;

        for (i = 0; i < DRAIN_MAX; i++) {
                union {
                        struct cmsghdr h;
                        uint8_t buf[CMSG_SPACE(sizeof(int) * PASSED_FDS_MAX)];
                } control;
                uint8_t byte;
                struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
                struct msghdr m = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = &control,
                        .msg_controllen = sizeof(control),
                };
                ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = errno == EAGAIN ? 1 : -errno;
                        break;
                }
                close_passed_fds(&m);
                if (n == 0 && peer_gone(fd)) {
                        r = 0;
                        break;
                }
        }
        if (i > 0)
                poke(other);
        return r;
}

/* ---- Kernel -> client ------------------------------------------------------------------ */

static void out_broken(Transport *t) {
        t->pending.drops_invalid++;
        if (++t->out_strikes >= STRIKES_MAX)
                (void) shutdown(t->fd, SHUT_RDWR);
}

/* Loads the client's consumer index; valid only between the last valid one and what tund
 * published. */
static void refresh_consumer(Transport *t) {
        uint32_t c = __atomic_load_n(t->out.consumer, __ATOMIC_ACQUIRE);

        if ((uint32_t) (c - t->out.peer) > (uint32_t) (t->published - t->out.peer)) {
                out_broken(t);
                return;
        }
        if (t->stalled && c - t->stalled_at >= (t->mask + 1) / 2)
                t->stalled = false;
        t->out.peer = c;
        t->out_strikes = 0;
}

static bool room_for(const Transport *t, uint32_t parts) {
        return t->out.own - t->out.peer + parts <= t->mask + 1;
}

static void publish(Transport *t);

static int64_t now_ns(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Says that tund waits for room, then looks once more (tund-ring(7), WAKE-UPS): a client
 * that releases after this sees the flag and wakes the reader. 1: room, 0: none, -EPROTO:
 * the consumer index was bad. */
static int arm_for_room(Transport *t, uint32_t parts) {
        __atomic_store_n(t->out.need_room, 1, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        refresh_consumer(t);
        if (t->out_strikes > 0)
                return -EPROTO;
        return room_for(t, parts);
}

/* Hands the client what is queued and sleeps until it makes room, for full_wait_ns at
 * most; a client that makes none then counts as stalled. */
static bool wait_for_room(Transport *t, uint32_t parts) {
        int64_t deadline;
        int r = 0;

        if (t->stalled)
                return false;
        publish(t);
        deadline = now_ns() + t->full_wait_ns;
        sleeper_set(&t->reader, true);
        for (;;) {
                int64_t left;

                r = arm_for_room(t, parts);
                left = deadline - now_ns();
                if (r != 0 || left <= 0)
                        break;
                sleep_on(t->fd, t->reader.efd,
                         &(struct timespec) { .tv_sec = left / 1000000000, .tv_nsec = left % 1000000000 });
                /* At end-of-file (a client that shut down its writing side still receives)
                 * no wake-up can come: it counts as stalled, as when the time is up. */
                if (drain_socket(t->fd, &t->writer) <= 0)
                        break;
        }
        __atomic_store_n(t->out.need_room, 0, __ATOMIC_RELAXED);
        sleeper_set(&t->reader, false);
        if (r > 0)
                return true;
        if (r == 0) {
                t->stalled = true;
                t->stalled_at = t->out.peer;
        }
        return false;
}

static bool have_room(Transport *t, uint32_t parts) {
        if (room_for(t, parts))
                return true;
        refresh_consumer(t);
        return room_for(t, parts) || wait_for_room(t, parts);
}

/* Describes the len bytes in the slots from out.own on as one packet, and queues it. */
static void put_packet(Transport *t, size_t len) {
        uint32_t parts = parts_for(t, len);

        for (uint32_t i = 0, off = 0; i < parts; i++) {
                struct tund_ring_desc d = {
                        .len = MIN((uint32_t) len - off, t->slot_size),
                        .flags = i + 1 < parts ? TUND_RING_DESC_NEXT : 0,
                };

                memcpy(&t->out.descs[(t->out.own + i) & t->mask], &d, sizeof(d));
                off += d.len;
        }
        t->out.own += parts;
        t->pending.packets++;
        t->pending.bytes += len;
}

/* The room for len bytes from out.own on: one piece, or two where the ring wraps. */
static size_t room_pieces(Transport *t, size_t len, struct iovec iov[static 2]) {
        uint32_t parts = parts_for(t, len), idx = t->out.own & t->mask, to_wrap = t->mask + 1 - idx;

        iov[0] = (struct iovec) {
                .iov_base = t->out.slots + (size_t) idx * t->slot_size,
                .iov_len = (size_t) MIN(parts, to_wrap) * t->slot_size,
        };
        if (parts <= to_wrap)
                return 1;
        iov[1] = (struct iovec) {
                .iov_base = t->out.slots,
                .iov_len = (size_t) (parts - to_wrap) * t->slot_size,
        };
        return 2;
}

static int transport_ring_queue(Transport *t, const uint8_t *pkt, size_t len) {
        struct iovec iov[2];
        size_t n;

        if (len > t->max_len)
                return -EMSGSIZE;
        if (!have_room(t, parts_for(t, len))) {
                t->pending.drops_queue_full++;
                return 0;
        }

        n = room_pieces(t, len, iov);
        memcpy(iov[0].iov_base, pkt, MIN(len, iov[0].iov_len));
        if (n > 1)
                memcpy(iov[1].iov_base, pkt + iov[0].iov_len, len - iov[0].iov_len);
        put_packet(t, len);
        return 0;
}

static size_t transport_ring_reserve_message(Transport *t, size_t max_len, struct iovec iov[static 2]) {
        uint32_t parts = parts_for(t, max_len);

        if (!room_for(t, parts))
                refresh_consumer(t);
        if (!room_for(t, parts))
                return 0;
        return room_pieces(t, max_len, iov);
}

static void transport_ring_commit_message(Transport *t, size_t len) {
        put_packet(t, len);
}

/* The free slots from out.own up to where the ring wraps. */
static size_t transport_ring_reserve(Transport *t, uint8_t **ret_buf, size_t *ret_stride) {
        uint32_t idx = t->out.own & t->mask, to_wrap = t->mask + 1 - idx;

        if (!room_for(t, to_wrap))
                refresh_consumer(t);
        *ret_buf = t->out.slots + (size_t) idx * t->slot_size;
        *ret_stride = t->slot_size;
        return MIN(to_wrap, t->mask + 1 - (t->out.own - t->out.peer));
}

static void transport_ring_commit(Transport *t, const struct iovec *pkts, size_t n) {
        for (size_t i = 0; i < n; i++) {
                struct tund_ring_desc d = { .len = (uint32_t) pkts[i].iov_len };

                memcpy(&t->out.descs[(t->out.own + i) & t->mask], &d, sizeof(d));
                t->pending.bytes += pkts[i].iov_len;
        }
        t->out.own += n;
        t->pending.packets += n;
}

/* One wake-up per position of the client's consumer: a client that leaves its flag set
 * while it is busy costs a system call per flush at most, and only until it moves on. */
static void wake_client(Transport *t) {
        uint32_t c = __atomic_load_n(t->out.consumer, __ATOMIC_RELAXED);

        if (t->woke && c == t->woke_at)
                return;
        wake_peer(t->fd);
        t->woke = true;
        t->woke_at = c;
}

static void transport_ring_set_sole(Transport *t, bool sole) {
        t->full_wait_ns = sole ? FULL_WAIT_SOLE_NS : FULL_WAIT_NS;
}

static void transport_ring_flush(Transport *t, TransportCounters *c) {
        c->packets += t->pending.packets;
        c->bytes += t->pending.bytes;
        c->drops_queue_full += t->pending.drops_queue_full;
        c->drops_invalid += t->pending.drops_invalid;
        t->pending = (TransportCounters) {};
        publish(t);
}

static void publish(Transport *t) {
        if (t->out.own == t->published)
                return;
        __atomic_store_n(t->out.producer, t->out.own, __ATOMIC_RELEASE);
        t->published = t->out.own;

        /* Against the client's "set the flag, fence, look again": one of us sees the other. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(t->out.need_wakeup, __ATOMIC_RELAXED) != 0)
                wake_client(t);
}

/* ---- Client -> kernel ------------------------------------------------------------------ */

/* Whether the descriptor loaded may be part n of a packet of len bytes so far. */
static bool desc_valid(const Transport *t, const struct tund_ring_desc *d, size_t len) {
        if ((d->flags & ~TUND_RING_DESC_FLAGS_KNOWN) || d->reserved != 0)
                return false;
        if (d->len == 0 || d->len > t->slot_size || len + d->len > t->max_len)
                return false;
        /* Every part but the last fills its slot. */
        return !(d->flags & TUND_RING_DESC_NEXT) || d->len == t->slot_size;
}

/* Checks the descriptors of the packet at in.own (avail entries there), loading each
 * once. Returns its length, or 0 for an invalid one; *ret_parts says how many entries it
 * takes either way. Every part but the last fills its slot, so the length alone then
 * says where its bytes are. */
static size_t check_packet(Transport *t, uint32_t avail, uint32_t *ret_parts) {
        uint32_t max_parts = MIN(avail, parts_for(t, t->max_len));
        size_t len = 0;

        for (uint32_t i = 0; i < max_parts; i++) {
                uint64_t raw = __atomic_load_n(&t->in.descs[(t->in.own + i) & t->mask], __ATOMIC_RELAXED);
                struct tund_ring_desc d;

                memcpy(&d, &raw, sizeof(d));
                *ret_parts = i + 1;
                if (!desc_valid(t, &d, len))
                        return 0;
                len += d.len;
                if (!(d.flags & TUND_RING_DESC_NEXT))
                        return len >= t->min_len ? len : 0;
        }
        /* A chain that does not end: longer than the largest packet, or cut by the
         * producer index (a producer publishes a chain whole). */
        *ret_parts = max_parts;
        return 0;
}

/* Where the checked packet at in.own is: in its slots, unless it wraps; then copied to
 * dst. */
static const uint8_t *place_packet(Transport *t, size_t len, uint32_t parts, uint8_t *dst, bool *ret_copied) {
        uint32_t idx = t->in.own & t->mask, to_wrap = t->mask + 1 - idx;
        const uint8_t *src = t->in.slots + (size_t) idx * t->slot_size;
        size_t first = MIN(len, (size_t) to_wrap * t->slot_size);

        *ret_copied = parts > to_wrap;
        if (!*ret_copied)
                return src;
        memcpy(dst, src, first);
        if (first < len)
                memcpy(dst + first, t->in.slots, len - first);
        return dst;
}

/* Counts a protocol break; false once there were too many in a row. */
static bool in_broken(Transport *t, TransportCounters *c) {
        c->drops_invalid++;
        return ++t->in_strikes < STRIKES_MAX;
}

/* Gives the client back the entries taken so far: those of packets returned in place
 * once they were used (written, or copied by coalescing), that is at the next receive(). */
static void release_taken(Transport *t) {
        if (t->in.own == t->in_released)
                return;
        __atomic_store_n(t->in.consumer, t->in.own, __ATOMIC_RELEASE);
        t->in_released = t->in.own;

        /* A client that waits for room in the ring to tund (tund-ring(7), WAKE-UPS). */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(t->in.need_room, __ATOMIC_RELAXED) != 0)
                wake_peer(t->fd);
}

/* Takes what the client published. Returns the packets taken, -EAGAIN when entries were
 * taken but all refused, 0 when there were none, -EPROTO when the ring is to end. */
static int take_packets(Transport *t, TransportCounters *c) {
        uint32_t prod, avail;
        size_t used = 0;
        unsigned n = 0;
        bool taken = false;

        release_taken(t);
        prod = __atomic_load_n(t->in.producer, __ATOMIC_ACQUIRE);
        avail = prod - t->in.own;
        if (avail > t->mask + 1)        /* more than a ring ahead */
                return in_broken(t, c) ? -EAGAIN : -EPROTO;

        while (avail > 0 && n < RX_PKTS && used + t->max_len <= RX_BUF_SIZE &&
               t->in.own - t->in_released < IN_PLACE_MAX(t)) {
                uint32_t parts = 0;
                size_t len = check_packet(t, avail, &parts);
                const uint8_t *pkt = NULL;
                bool copied = false;

                if (len > 0)
                        pkt = place_packet(t, len, parts, t->rx_buf + used, &copied);
                t->in.own += parts;
                avail -= parts;
                taken = true;
                if (len == 0) {
                        if (!in_broken(t, c))
                                return -EPROTO;
                        continue;
                }
                t->in_strikes = 0;
                t->rx_pkts[n++] = (struct iovec) { .iov_base = (void *) pkt, .iov_len = len };
                if (copied)
                        used += len;
                c->packets++;
                c->bytes += len;
        }

        if (n > 0)
                return (int) n;
        return taken ? -EAGAIN : 0;
}

/* Sleeps until the client published more or its socket has news. Returns 0 at
 * end-of-file, 1 otherwise, or negative errno. */
static int sleep_for_client(Transport *t) {
        int r = 1;

        sleeper_set(&t->writer, true);
        __atomic_store_n(t->in.need_wakeup, 1, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(t->in.producer, __ATOMIC_RELAXED) == t->in.own) {
                sleep_on(t->fd, t->writer.efd, NULL);
                r = drain_socket(t->fd, &t->reader);
        }
        __atomic_store_n(t->in.need_wakeup, 0, __ATOMIC_RELAXED);
        sleeper_set(&t->writer, false);
        return r;
}

static int transport_ring_receive(Transport *t, bool wait, const struct iovec **ret_pkts,
                                  TransportCounters *c) {
        for (;;) {
                int n = take_packets(t, c);

                if (n > 0) {
                        *ret_pkts = t->rx_pkts;
                        return n;
                }
                if (n != 0 || !wait)
                        return n ?: -EAGAIN;
                n = sleep_for_client(t);
                if (n <= 0)
                        return n;
        }
}

static void transport_ring_wait_closed(Transport *t) {
        struct pollfd p = { .fd = t->fd };

        (void) madvise(t->rx_buf, RX_BUF_SIZE, MADV_DONTNEED);
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
                ;
}

static void transport_ring_shutdown(Transport *t) {
        (void) shutdown(t->fd, SHUT_RDWR);
}

const TransportOps transport_ring_ops = {
        .mode = CLIENT_MODE_RING,
        .vnet = false,
        .shared = true,
        .new = transport_ring_new,
        .free = transport_ring_free,
        .queue = transport_ring_queue,
        .flush = transport_ring_flush,
        .set_sole = transport_ring_set_sole,
        .reserve = transport_ring_reserve,
        .commit = transport_ring_commit,
        .receive = transport_ring_receive,
        .wait_closed = transport_ring_wait_closed,
        .shutdown = transport_ring_shutdown,
};

const TransportOps transport_ring_vnet_ops = {
        .mode = CLIENT_MODE_RING,
        .vnet = true,
        .shared = true,
        .new = transport_ring_new,
        .free = transport_ring_free,
        .queue = transport_ring_queue,
        .flush = transport_ring_flush,
        .set_sole = transport_ring_set_sole,
        .reserve_message = transport_ring_reserve_message,
        .commit_message = transport_ring_commit_message,
        .receive = transport_ring_receive,
        .wait_closed = transport_ring_wait_closed,
        .shutdown = transport_ring_shutdown,
};
