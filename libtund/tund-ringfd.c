/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Mode ring (tund-ring(7)): the handshake, then packets through the two rings of the
 * shared memory, copied (tund_recv_burst, tund_send_burst) or in place (tund_ring_peek and
 * _release, tund_ring_reserve and _submit).
 *
 * The library trusts the shared memory no more than the service does: the header is used
 * from the private copy that came in the handshake, once checked; the library's own indices
 * are private and only stored to the shared memory; each index and descriptor the service
 * writes is loaded once into a local and checked there. A service that breaks the protocol
 * makes the tund_fd fail with -EBADMSG, never makes the library read or write outside the
 * mapping. The receiving side touches only the ring to the client, the sending side only the
 * ring to the service (and the socket, for wake-ups).
 *
 * Wake-ups for both sides come on the one socket, and a side that sleeps reads whatever is
 * there, so it may take the byte that was meant for the other. Each side therefore has an
 * eventfd of its own (the library's, never shared with the service) and says when it
 * sleeps: whichever side reads wake-ups pokes the other's eventfd if that one sleeps. The
 * receiving side's eventfd and the socket together are tund_get_fd()'s epoll fd. */

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "tund-internal.h"

#define DRAIN_MAX       64u             /* wake-up messages read per wake-up */
#define PASSED_FDS_MAX  8u              /* fds a message may carry that are closed here */
#define BOUNCE_SIZE     (2u * TUND_RING_VNET_MESSAGE_MAX)
#define END_LOOK_EVERY  64u             /* empty receives between looks at the socket */
/* The largest memory a valid header names: both rings at their largest, three pages. */
#define MEMORY_MAX                                                                      \
        ((uint64_t) TUND_RING_COUNT * (TUND_RING_BYTES_MAX + 4u * TUND_RING_CACHE_LINE + \
                                       TUND_RING_SLOTS_MAX * sizeof(struct tund_ring_desc)) + 3u * 4096u)

typedef struct RingSide {
        uint32_t *producer, *consumer, *need_wakeup, *need_room;
        uint64_t *descs;                        /* struct tund_ring_desc, loaded whole */
        uint8_t *slots;
} RingSide;

/* A side's own wake-up: its eventfd, and whether it sleeps (or, receiving, is armed for
 * a caller's own poll): __atomic, set and read by both sides. */
typedef struct Sleeper {
        int efd;
        int sleeping;
} Sleeper;

struct RingMap {
        uint8_t *mem;
        size_t size;
        struct tund_ring_header h;              /* the handshake's copy, checked */
        uint32_t mask, slot_size;
        Sleeper rx_sleeper, tx_sleeper;
        int poll_fd;                            /* epoll: the socket and rx_sleeper.efd */

        /* Receiving side: the ring to the client */
        RingSide rx;
        uint32_t rx_cons;                       /* own consumer: taken or peeked up to here */
        uint32_t rx_released;                   /* as last stored to its consumer */
        uint8_t *bounce;                        /* chained packets that were peeked */
        size_t bounce_used;
        bool armed;                             /* need_wakeup left set by tund_wait(t, 0) */
        unsigned empty_looks;                   /* receives in a row that found nothing */

        /* Sending side: the ring to the service, a cache line away */
        _Alignas(64) RingSide tx;
        uint32_t tx_prod;                       /* own producer */
        uint32_t tx_cons;                       /* the service's consumer, last valid */
        unsigned reserved;                      /* slots handed out by tund_ring_reserve */
};

/* ---- The handshake --------------------------------------------------------------------- */

static void close_fds(const int *fds, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                close(fds[i]);
}

/* The first message: the header's bytes and exactly one fd. Any other fds are closed. */
static int receive_memory(int fd, struct tund_ring_header *h, int *ret_memfd) {
        union {
                struct cmsghdr c;
                uint8_t buf[CMSG_SPACE(sizeof(int) * PASSED_FDS_MAX)];
        } control;
        uint8_t extra;
        struct iovec iov[2] = {
                { .iov_base = h, .iov_len = sizeof(*h) },
                { .iov_base = &extra, .iov_len = 1 },  /* a longer payload shows here */
        };
        struct msghdr m = {
                .msg_iov = iov,
                .msg_iovlen = 2,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        int fds[PASSED_FDS_MAX], r;
        unsigned n_fds = 0;
        ssize_t n;

        r = tund_poll_one(fd, POLLIN, TUND_HANDSHAKE_TIMEOUT_MS);
        if (r < 0)
                return r;
        if (r == 0)
                return -ETIMEDOUT;
        do
                n = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EAGAIN ? -ETIMEDOUT : -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k && n_fds < PASSED_FDS_MAX; i++)
                        memcpy(&fds[n_fds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
        if (n == 0 && n_fds == 0)
                return -EPIPE;
        if (n_fds != 1 || n != (ssize_t) sizeof(*h) || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
                close_fds(fds, n_fds);
                return -EBADMSG;
        }
        *ret_memfd = fds[0];
        return 0;
}

static bool within(uint64_t size, uint64_t off, uint64_t len) {
        return off <= size && len <= size - off;
}

typedef struct Region {
        uint64_t off, len;
} Region;

/* Checks the header as the service computes it (ring-layout.c), without assuming that
 * layout: bounds, alignment, every region within the memory and none overlapping another. */
static int header_check(const struct tund_ring_header *h) {
        uint32_t n = h->ring_slots;
        uint64_t bytes = (uint64_t) n * h->slot_size;
        Region regions[1 + 6 * TUND_RING_COUNT] = { { 0, sizeof(*h) } };
        unsigned k = 1;

        if (h->magic != TUND_RING_MAGIC)
                return -EBADMSG;
        if (h->version != TUND_RING_VERSION)
                return -EPROTONOSUPPORT;
        if (h->header_size != sizeof(*h) || (h->flags & ~TUND_RING_F_VNET))
                return -EBADMSG;
        if (n < TUND_RING_SLOTS_MIN || n > TUND_RING_SLOTS_MAX || (n & (n - 1)) != 0)
                return -EBADMSG;
        if (h->slot_size < TUND_RING_SLOT_SIZE_MIN || h->slot_size > TUND_RING_SLOT_SIZE_MAX || h->slot_size % 64 != 0)
                return -EBADMSG;
        if (bytes < TUND_RING_BYTES_MIN || bytes > TUND_RING_BYTES_MAX)
                return -EBADMSG;
        if (h->memory_size < sizeof(*h) || h->memory_size > MEMORY_MAX)
                return -EBADMSG;

        for (unsigned r = 0; r < TUND_RING_COUNT; r++) {
                const struct tund_ring_offsets *o = &h->ring[r];

                if (o->producer % 4 || o->consumer % 4 || o->need_wakeup % 4 || o->need_room % 4 ||
                    o->descs % 8)
                        return -EBADMSG;
                regions[k++] = (Region) { o->producer, 4 };
                regions[k++] = (Region) { o->consumer, 4 };
                regions[k++] = (Region) { o->need_wakeup, 4 };
                regions[k++] = (Region) { o->need_room, 4 };
                regions[k++] = (Region) { o->descs, (uint64_t) n * sizeof(struct tund_ring_desc) };
                regions[k++] = (Region) { o->slots, bytes };
        }
        for (unsigned i = 0; i < k; i++) {
                if (!within(h->memory_size, regions[i].off, regions[i].len))
                        return -EBADMSG;
                for (unsigned j = 0; j < i; j++)
                        if (regions[i].off < regions[j].off + regions[j].len &&
                            regions[j].off < regions[i].off + regions[i].len)
                                return -EBADMSG;
        }
        return 0;
}

static void side_init(RingSide *s, uint8_t *mem, const struct tund_ring_offsets *o) {
        *s = (RingSide) {
                .producer = (uint32_t *) (mem + o->producer),
                .consumer = (uint32_t *) (mem + o->consumer),
                .need_wakeup = (uint32_t *) (mem + o->need_wakeup),
                .need_room = (uint32_t *) (mem + o->need_room),
                .descs = (uint64_t *) (mem + o->descs),
                .slots = mem + o->slots,
        };
}

/* The memfd may not shrink (a mapping past its end would fault) and holds the memory. */
static int memfd_check(int memfd, uint64_t size) {
        struct stat st;
        int seals = fcntl(memfd, F_GET_SEALS);

        if (seals < 0 || !(seals & F_SEAL_SHRINK))
                return -EBADMSG;
        if (fstat(memfd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t) st.st_size < size)
                return -EBADMSG;
        return 0;
}

static int map_ring(tund_fd *t, RingMap *m) {
        int memfd = -1, r;
        void *p;

        r = receive_memory(t->fd, &m->h, &memfd);
        if (r < 0)
                return r;
        r = header_check(&m->h);
        if (r == 0 && !!(m->h.flags & TUND_RING_F_VNET) != t->vnet)
                r = -EINVAL;    /* not the mode the caller said */
        if (r == 0)
                r = memfd_check(memfd, m->h.memory_size);
        if (r < 0) {
                close(memfd);
                return r;
        }
        p = mmap(NULL, m->h.memory_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
        r = -errno;
        close(memfd);
        if (p == MAP_FAILED)
                return r;
        m->mem = p;
        m->size = m->h.memory_size;
        m->mask = m->h.ring_slots - 1;
        m->slot_size = m->h.slot_size;
        side_init(&m->rx, m->mem, &m->h.ring[TUND_RING_TO_CLIENT]);
        side_init(&m->tx, m->mem, &m->h.ring[TUND_RING_TO_SERVICE]);
        /* Both sides start at 0: tund publishes nothing before the client maps. */
        return 0;
}

static int epoll_add(int epfd, int fd, uint32_t events) {
        struct epoll_event e = { .events = events, .data.fd = fd };

        return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

static int sleepers_init(tund_fd *t, RingMap *m) {
        int r;

        m->rx_sleeper.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        m->tx_sleeper.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        m->poll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (m->rx_sleeper.efd < 0 || m->tx_sleeper.efd < 0 || m->poll_fd < 0)
                return -errno;
        r = epoll_add(m->poll_fd, t->fd, EPOLLIN | EPOLLRDHUP);
        if (r == 0)
                r = epoll_add(m->poll_fd, m->rx_sleeper.efd, EPOLLIN);
        return r;
}

int tund_ring_init(tund_fd *t) {
        RingMap *m = aligned_alloc(64, (sizeof(RingMap) + 63) & ~(size_t) 63);
        int r;

        if (!m)
                return -ENOMEM;
        *m = (RingMap) { .rx_sleeper.efd = -1, .tx_sleeper.efd = -1, .poll_fd = -1 };
        t->ring = m;
        m->bounce = malloc(BOUNCE_SIZE);
        if (!m->bounce)
                return -ENOMEM;
        r = map_ring(t, m);
        if (r < 0)
                return r;
        r = sleepers_init(t, m);
        if (r < 0)
                return r;
        /* Entries the service published already are found by the first look. */
        return 0;
}

void tund_ring_done(tund_fd *t) {
        RingMap *m = t->ring;

        if (!m)
                return;
        if (m->mem)
                munmap(m->mem, m->size);
        if (m->rx_sleeper.efd >= 0)
                close(m->rx_sleeper.efd);
        if (m->tx_sleeper.efd >= 0)
                close(m->tx_sleeper.efd);
        if (m->poll_fd >= 0)
                close(m->poll_fd);
        free(m->bounce);
        free(m);
        t->ring = NULL;
}

size_t tund_ring_slot_size(const tund_fd *t) {
        return t->ring->slot_size;
}

int tund_ring_poll_fd(const tund_fd *t) {
        return t->ring->poll_fd;
}

/* ---- Sleeping ---------------------------------------------------------------------------- */

static void sleeper_set(Sleeper *s, bool sleeping) {
        __atomic_store_n(&s->sleeping, sleeping, __ATOMIC_SEQ_CST);
}

/* After reading wake-ups: the other side may have been the one they were for. */
static void sleeper_poke(Sleeper *s) {
        if (__atomic_load_n(&s->sleeping, __ATOMIC_SEQ_CST))
                (void) eventfd_write(s->efd, 1);
}

static void sleeper_clear(Sleeper *s) {
        eventfd_t v;

        (void) eventfd_read(s->efd, &v);
}

/* ---- Receiving -------------------------------------------------------------------------- */

/* The entry checks of the in-place calls: mode ring, the fd not failed, pkts given for n.
 * Then *ret_map is the fd's ring. */
static int ring_call_begin(tund_fd *t, const struct tund_packet *pkts, unsigned n, RingMap **ret_map) {
        int r;

        if (t->mode != TUND_MODE_RING)
                return -EOPNOTSUPP;
        r = tund_fd_error(t);
        if (r < 0)
                return r;
        if (n > 0 && !pkts)
                return -EINVAL;
        *ret_map = t->ring;
        return 0;
}

static uint8_t *slot_of(const RingSide *s, const RingMap *m, uint32_t i) {
        return s->slots + (size_t) (i & m->mask) * m->slot_size;
}

static struct tund_ring_desc desc_load(const RingSide *s, const RingMap *m, uint32_t i) {
        uint64_t raw = __atomic_load_n(&s->descs[i & m->mask], __ATOMIC_RELAXED);
        struct tund_ring_desc d;

        memcpy(&d, &raw, sizeof(d));
        return d;
}

/* Receiving again after tund_wait(t, 0) armed the fd: the service need not wake it. */
static void rx_disarm(RingMap *m) {
        if (!m->armed)
                return;
        __atomic_store_n(m->rx.need_wakeup, 0, __ATOMIC_RELAXED);
        sleeper_set(&m->rx_sleeper, false);
        m->armed = false;
}

/* The producer of the ring to the client, checked: no more than a ring ahead of us. */
static int rx_producer(tund_fd *t, uint32_t *ret) {
        RingMap *m = t->ring;
        uint32_t p = __atomic_load_n(m->rx.producer, __ATOMIC_ACQUIRE);

        if (p - m->rx_released > m->mask + 1 || p - m->rx_cons > p - m->rx_released)
                return tund_fd_fail(t, -EBADMSG);
        *ret = p;
        return 0;
}

/* The packet at index I, AVAIL entries there: each descriptor loaded once and checked.
 * Returns its number of entries with its length in *RET_LEN, or -EBADMSG. */
static int parse_packet(tund_fd *t, uint32_t i, uint32_t avail, size_t *ret_len) {
        RingMap *m = t->ring;
        size_t len = 0;

        for (uint32_t k = 0; k < avail; k++) {
                struct tund_ring_desc d = desc_load(&m->rx, m, i + k);

                if ((d.flags & ~TUND_RING_DESC_FLAGS_KNOWN) || d.reserved != 0)
                        return -EBADMSG;
                if (d.len == 0 || d.len > m->slot_size || len + d.len > t->max_len)
                        return -EBADMSG;
                len += d.len;
                if (d.flags & TUND_RING_DESC_NEXT) {
                        if (d.len != m->slot_size)
                                return -EBADMSG;
                        continue;
                }
                if (len < t->min_len)
                        return -EBADMSG;
                *ret_len = len;
                return (int) (k + 1);
        }
        return -EBADMSG;        /* a chain cut by the producer index */
}

static void copy_packet(const RingMap *m, uint32_t i, unsigned parts, size_t len, uint8_t *dst) {
        for (unsigned k = 0; k < parts; k++) {
                size_t n = k + 1 < parts ? m->slot_size : len - (size_t) k * m->slot_size;
                memcpy(dst + (size_t) k * m->slot_size, slot_of(&m->rx, m, i + k), n);
        }
}

/* The ring is empty: has the service ended it? One look at the socket, no sleep, every
 * END_LOOK_EVERY empty receives in a row: a caller that spins on an empty ring learns of
 * the end without a system call each time, and one that sleeps when it finds nothing (the
 * usual loop) makes none here at all: tund_wait tells it of the end. */
static int rx_check_end(tund_fd *t) {
        int r;

        if (++t->ring->empty_looks % END_LOOK_EVERY != 0)
                return 0;
        t->rx_syscalls++;
        r = tund_poll_one(t->fd, POLLRDHUP, 0);
        if (r < 0)
                return tund_fd_fail(t, r);
        if (r & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) {
                uint32_t p = 0;
                /* Packets published before the end are still handed out. */
                if (rx_producer(t, &p) < 0)
                        return tund_fd_error(t);
                if (p == t->ring->rx_cons)
                        return tund_fd_fail(t, -EPIPE);
        }
        return 0;
}

/* Gives the slots back; wakes the service if it waits for room (tund-ring(7), WAKE-UPS).
 * A failed wake-up is not an error here: the next receive learns of an end. */
static void rx_release(tund_fd *t) {
        RingMap *m = t->ring;

        if (m->rx_released == m->rx_cons)
                return;
        __atomic_store_n(m->rx.consumer, m->rx_cons, __ATOMIC_RELEASE);
        m->rx_released = m->rx_cons;
        m->bounce_used = 0;

        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (!__atomic_load_n(m->rx.need_room, __ATOMIC_RELAXED))
                return;
        t->rx_syscalls++;
        (void) send(t->fd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

int tund_ring_recv(tund_fd *t, struct tund_packet *pkts, unsigned n) {
        RingMap *m = t->ring;
        unsigned out = 0;
        uint32_t p = 0;
        int r;

        if (m->rx_cons != m->rx_released)
                return -EBUSY;
        rx_disarm(m);
        r = rx_producer(t, &p);
        if (r < 0)
                return r;
        if (p == m->rx_cons)
                return rx_check_end(t);
        m->empty_looks = 0;
        while (out < n && m->rx_cons != p) {
                size_t len;
                int parts = parse_packet(t, m->rx_cons, p - m->rx_cons, &len);

                if (parts < 0) {
                        rx_release(t);
                        return tund_fd_fail(t, parts);
                }
                if (len > pkts[out].size)
                        t->rx_truncated++;
                else {
                        copy_packet(m, m->rx_cons, (unsigned) parts, len, pkts[out].data);
                        pkts[out].len = len;
                        t->rx_packets++;
                        t->rx_bytes += len;
                        out++;
                }
                m->rx_cons += (uint32_t) parts;
        }
        rx_release(t);
        return (int) out;
}

int tund_ring_peek(tund_fd *t, struct tund_packet *pkts, unsigned n) {
        RingMap *m = NULL;
        int r = ring_call_begin(t, pkts, n, &m);
        unsigned out = 0;
        uint32_t p = 0;

        if (r < 0)
                return r;
        rx_disarm(m);
        r = rx_producer(t, &p);
        if (r < 0)
                return r;
        if (p == m->rx_cons)
                return m->rx_cons == m->rx_released ? rx_check_end(t) : 0;
        m->empty_looks = 0;
        while (out < n && m->rx_cons != p) {
                size_t len;
                uint8_t *data;
                int parts = parse_packet(t, m->rx_cons, p - m->rx_cons, &len);

                if (parts < 0)
                        return tund_fd_fail(t, parts);
                if (parts == 1)
                        data = slot_of(&m->rx, m, m->rx_cons);
                else {
                        /* Not contiguous in the ring: handed out from a copy. */
                        if (len > BOUNCE_SIZE - m->bounce_used)
                                break;
                        data = m->bounce + m->bounce_used;
                        copy_packet(m, m->rx_cons, (unsigned) parts, len, data);
                        m->bounce_used += len;
                }
                pkts[out++] = (struct tund_packet) { .data = data, .size = len, .len = len };
                t->rx_packets++;
                t->rx_bytes += len;
                m->rx_cons += (uint32_t) parts;
        }
        return (int) out;
}

int tund_ring_release(tund_fd *t) {
        RingMap *m = NULL;
        int r = ring_call_begin(t, NULL, 0, &m);

        if (r < 0)
                return r;
        rx_release(t);
        return 0;
}

/* The messages read (at most DRAIN_MAX), or -EPIPE at end-of-file, or negative errno. */
static int read_wakeups(tund_fd *t, uint64_t *syscalls) {
        unsigned i;

        for (i = 0; i < DRAIN_MAX; i++) {
                union {
                        struct cmsghdr c;
                        uint8_t buf[CMSG_SPACE(sizeof(int) * PASSED_FDS_MAX)];
                } control;
                uint8_t bytes[16];
                struct iovec iov = { .iov_base = bytes, .iov_len = sizeof(bytes) };
                struct msghdr msg = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = &control,
                        .msg_controllen = sizeof(control),
                };
                ssize_t n;

                (*syscalls)++;
                n = recvmsg(t->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EAGAIN ? (int) i : errno == ECONNRESET ? -EPIPE : -errno;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                                for (size_t j = 0; j < k; j++) {
                                        int fd;
                                        memcpy(&fd, CMSG_DATA(c) + j * sizeof(int), sizeof(int));
                                        close(fd);
                                }
                        }
                if (n == 0)
                        return -EPIPE;
        }
        return (int) i;
}

/* Reads the wake-ups waiting, closing any fds they carry, counting its calls in *syscalls;
 * if there were any, pokes the other side, which may have slept for one of them. 1, or
 * -EPIPE at end-of-file. */
static int drain_socket(tund_fd *t, uint64_t *syscalls, Sleeper *other) {
        int r = read_wakeups(t, syscalls);

        if (r != 0)
                sleeper_poke(other);
        return r < 0 ? r : 1;
}

/* Polls the socket and self's eventfd, then reads what woke it. 1 when woken, 0 on
 * timeout, -EPIPE at the peer's end, or negative errno. */
static int sleep_on_socket(tund_fd *t, Sleeper *self, Sleeper *other, uint64_t *syscalls, int timeout_ms) {
        struct pollfd p[2] = {
                { .fd = t->fd, .events = POLLIN | POLLRDHUP },
                { .fd = self->efd, .events = POLLIN },
        };
        int r;

        (*syscalls)++;
        r = tund_poll(p, 2, timeout_ms);
        if (r <= 0)
                return r;
        if (p[0].revents & POLLNVAL)
                return -EBADF;
        if (p[1].revents) {
                (*syscalls)++;
                sleeper_clear(self);
        }
        if (p[0].revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR))
                return drain_socket(t, syscalls, other);
        return 1;
}

int tund_ring_wait(tund_fd *t, int timeout_ms) {
        RingMap *m = t->ring;
        uint32_t p = 0;
        int r;

        r = rx_producer(t, &p);
        if (r < 0)
                return r;
        if (p != m->rx_cons) {
                rx_disarm(m);
                return 1;
        }

        /* Going to sleep: say so, then look once more (tund-ring(7), WAKE-UPS). */
        sleeper_set(&m->rx_sleeper, true);
        __atomic_store_n(m->rx.need_wakeup, 1, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(m->rx.producer, __ATOMIC_RELAXED) != m->rx_cons) {
                __atomic_store_n(m->rx.need_wakeup, 0, __ATOMIC_RELAXED);
                sleeper_set(&m->rx_sleeper, false);
                m->armed = false;
                return 1;
        }
        r = sleep_on_socket(t, &m->rx_sleeper, &m->tx_sleeper, &t->rx_syscalls, timeout_ms);
        if (r >= 0 && timeout_ms == 0 &&
            __atomic_load_n(m->rx.producer, __ATOMIC_RELAXED) == m->rx_cons) {
                /* Only a look, and nothing there: the flags stay set, so that the service
                 * (or the sending side) wakes the fd for a caller that polls it itself
                 * (tund_get_fd). Receiving clears them. */
                m->armed = true;
                return 0;
        }
        __atomic_store_n(m->rx.need_wakeup, 0, __ATOMIC_RELAXED);
        sleeper_set(&m->rx_sleeper, false);
        m->armed = false;
        if (r == -EPIPE) {
                /* The end: what was published before it is still handed out. */
                if (rx_producer(t, &p) < 0)
                        return tund_fd_error(t);
                return p != m->rx_cons ? 1 : tund_fd_fail(t, -EPIPE);
        }
        if (r < 0)
                return tund_fd_fail(t, r);
        return r > 0 ? 1 : 0;
}

/* ---- Sending ----------------------------------------------------------------------------- */

/* The service's consumer of the ring to it, checked: between the last valid one and what we
 * produced. */
static int tx_refresh(tund_fd *t) {
        RingMap *m = t->ring;
        uint32_t c = __atomic_load_n(m->tx.consumer, __ATOMIC_ACQUIRE);

        if (c - m->tx_cons > m->tx_prod - m->tx_cons)
                return tund_fd_fail(t, -EBADMSG);
        m->tx_cons = c;
        return 0;
}

static uint32_t tx_free(const RingMap *m) {
        return m->mask + 1 - (m->tx_prod - m->tx_cons);
}

static void desc_store(RingSide *s, const RingMap *m, uint32_t i, uint32_t len, uint16_t flags) {
        struct tund_ring_desc d = { .len = len, .flags = flags };
        uint64_t raw;

        memcpy(&raw, &d, sizeof(raw));
        __atomic_store_n(&s->descs[i & m->mask], raw, __ATOMIC_RELAXED);
}

/* Hands over everything written so far; wakes the service if it sleeps. */
static int tx_publish(tund_fd *t) {
        RingMap *m = t->ring;

        __atomic_store_n(m->tx.producer, m->tx_prod, __ATOMIC_RELEASE);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (!__atomic_load_n(m->tx.need_wakeup, __ATOMIC_RELAXED))
                return 0;
        t->tx_syscalls++;
        /* Full: a wake-up is waiting there already. */
        if (send(t->fd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
            (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN))
                return tund_fd_fail(t, -EPIPE);
        return 0;
}

int tund_ring_send(tund_fd *t, const struct tund_packet *pkts, unsigned n) {
        RingMap *m = t->ring;
        unsigned out = 0;
        bool refreshed = false;

        if (m->reserved > 0)
                return -EBUSY;
        for (; out < n; out++) {
                size_t len = pkts[out].len;

                if (len < t->min_len || len > t->max_len) {
                        if (out == 0)
                                return -EMSGSIZE;
                        break;
                }
                uint32_t parts = (uint32_t) ((len + m->slot_size - 1) / m->slot_size);
                if (parts > tx_free(m)) {
                        if (refreshed)
                                break;
                        refreshed = true;
                        int r = tx_refresh(t);
                        if (r < 0)
                                return r;
                        if (parts > tx_free(m))
                                break;
                }
                const uint8_t *src = pkts[out].data;
                for (uint32_t k = 0, off = 0; k < parts; k++) {
                        uint32_t c = len - off < m->slot_size ? (uint32_t) (len - off) : m->slot_size;

                        memcpy(slot_of(&m->tx, m, m->tx_prod + k), src + off, c);
                        desc_store(&m->tx, m, m->tx_prod + k, c, k + 1 < parts ? TUND_RING_DESC_NEXT : 0);
                        off += c;
                }
                m->tx_prod += parts;
                t->tx_packets++;
                t->tx_bytes += len;
        }
        if (out > 0) {
                int r = tx_publish(t);
                if (r < 0)
                        return r;
        }
        return (int) out;
}

int tund_ring_reserve(tund_fd *t, struct tund_packet *pkts, unsigned n) {
        RingMap *m = NULL;
        int r = ring_call_begin(t, pkts, n, &m);

        if (r < 0)
                return r;
        if (tx_free(m) < n) {
                r = tx_refresh(t);
                if (r < 0)
                        return r;
        }
        if (n > tx_free(m))
                n = tx_free(m);
        for (unsigned i = 0; i < n; i++)
                pkts[i] = (struct tund_packet) { .data = slot_of(&m->tx, m, m->tx_prod + i), .size = m->slot_size };
        m->reserved = n;
        return (int) n;
}

int tund_ring_submit(tund_fd *t, const struct tund_packet *pkts, unsigned n) {
        RingMap *m = NULL;
        int r = ring_call_begin(t, pkts, n, &m);

        if (r < 0)
                return r;
        if (n > m->reserved)
                return -EINVAL;
        for (unsigned i = 0; i < n; i++)
                if (pkts[i].data != slot_of(&m->tx, m, m->tx_prod + i) ||
                    pkts[i].len < t->min_len || pkts[i].len > m->slot_size || pkts[i].len > t->max_len)
                        return -EINVAL;
        for (unsigned i = 0; i < n; i++) {
                desc_store(&m->tx, m, m->tx_prod + i, (uint32_t) pkts[i].len, 0);
                t->tx_bytes += pkts[i].len;
        }
        m->tx_prod += n;
        m->reserved = 0;
        t->tx_packets += n;
        if (n > 0) {
                r = tx_publish(t);
                if (r < 0)
                        return r;
        }
        return (int) n;
}

/* Room, or a sleep until the service released entries: says so (need_room), looks once
 * more, and sleeps as tund_ring_wait() does. 1: room, 0: none yet, or negative errno. */
static int tx_sleep_for_room(tund_fd *t, int timeout_ms) {
        RingMap *m = t->ring;
        int r;

        sleeper_set(&m->tx_sleeper, true);
        __atomic_store_n(m->tx.need_room, 1, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        r = tx_refresh(t);
        if (r == 0 && tx_free(m) == 0)
                r = sleep_on_socket(t, &m->tx_sleeper, &m->rx_sleeper, &t->tx_syscalls, timeout_ms);
        __atomic_store_n(m->tx.need_room, 0, __ATOMIC_RELAXED);
        sleeper_set(&m->tx_sleeper, false);
        if (r < 0)
                return tund_fd_fail(t, r);
        r = tx_refresh(t);
        return r < 0 ? r : tx_free(m) > 0;
}

int tund_ring_wait_send(tund_fd *t, int timeout_ms) {
        int64_t deadline = timeout_ms > 0 ? tund_now_ms() + timeout_ms : 0;
        int r;

        r = tx_refresh(t);
        if (r < 0)
                return r;
        if (tx_free(t->ring) > 0)
                return 1;
        for (;;) {
                int left = timeout_ms <= 0 ? timeout_ms : (int) (deadline - tund_now_ms());

                if (timeout_ms > 0 && left <= 0)
                        return 0;
                r = tx_sleep_for_room(t, left);
                /* Woken for the other side, or by a spurious poke: sleep on. */
                if (r != 0 || timeout_ms == 0)
                        return r;
        }
}
