/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ring-client.h"

static int receive_memory(int fd, struct tund_ring_header *h, int *ret_memfd) {
        union {
                struct cmsghdr c;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = { .iov_base = h, .iov_len = sizeof(*h) };
        struct msghdr m = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *c;
        ssize_t n;

        do
                n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        c = CMSG_FIRSTHDR(&m);
        if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
                return -EPROTO;
        memcpy(ret_memfd, CMSG_DATA(c), sizeof(int));
        if (n != (ssize_t) sizeof(*h) || (m.msg_flags & MSG_TRUNC)) {
                close(*ret_memfd);
                return -EPROTO;
        }
        return 0;
}

static bool offset_ok(const struct tund_ring_header *h, uint64_t off, uint64_t len) {
        return off <= h->memory_size && len <= h->memory_size - off;
}

static bool header_ok(const struct tund_ring_header *h) {
        uint32_t n = h->ring_slots;

        if (h->magic != TUND_RING_MAGIC || h->version != TUND_RING_VERSION ||
            h->header_size != sizeof(*h) || n == 0 || (n & (n - 1)) || h->slot_size == 0)
                return false;
        for (unsigned r = 0; r < TUND_RING_COUNT; r++) {
                const struct tund_ring_offsets *o = &h->ring[r];
                if (!offset_ok(h, o->producer, 4) || !offset_ok(h, o->consumer, 4) ||
                    !offset_ok(h, o->need_wakeup, 4) || !offset_ok(h, o->need_room, 4) ||
                    !offset_ok(h, o->descs, (uint64_t) n * sizeof(struct tund_ring_desc)) ||
                    !offset_ok(h, o->slots, (uint64_t) n * h->slot_size))
                        return false;
        }
        return true;
}

static void side_init(RingSide *s, uint8_t *mem, const struct tund_ring_offsets *o) {
        *s = (RingSide) {
                .producer = (uint32_t *) (mem + o->producer),
                .consumer = (uint32_t *) (mem + o->consumer),
                .need_wakeup = (uint32_t *) (mem + o->need_wakeup),
                .need_room = (uint32_t *) (mem + o->need_room),
                .descs = (struct tund_ring_desc *) (mem + o->descs),
                .slots = mem + o->slots,
        };
}

int ring_client_open(RingClient *c, int fd) {
        int memfd = -1, r;
        void *p;

        *c = (RingClient) { .fd = fd };
        r = receive_memory(fd, &c->h, &memfd);
        if (r < 0)
                return r;
        if (!header_ok(&c->h)) {
                close(memfd);
                return -EPROTO;
        }
        p = mmap(NULL, c->h.memory_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
        close(memfd);
        if (p == MAP_FAILED)
                return -errno;
        c->mem = p;
        c->size = c->h.memory_size;
        c->mask = c->h.ring_slots - 1;
        c->slot_size = c->h.slot_size;
        side_init(&c->rx, c->mem, &c->h.ring[TUND_RING_TO_CLIENT]);
        side_init(&c->tx, c->mem, &c->h.ring[TUND_RING_TO_SERVICE]);
        return 0;
}

void ring_client_close(RingClient *c) {
        if (c->mem)
                munmap(c->mem, c->size);
        c->mem = NULL;
}

int ring_client_recv(RingClient *c, uint8_t *buf, size_t size) {
        size_t len = 0;

        if (c->rx_cons == c->rx_prod)
                c->rx_prod = __atomic_load_n(c->rx.producer, __ATOMIC_ACQUIRE);
        for (uint32_t i = c->rx_cons; i != c->rx_prod; i++) {
                struct tund_ring_desc d = c->rx.descs[i & c->mask];

                if (d.len > c->slot_size || len + d.len > size || (d.flags & ~TUND_RING_DESC_FLAGS_KNOWN))
                        return -EBADMSG;
                memcpy(buf + len, c->rx.slots + (size_t) (i & c->mask) * c->slot_size, d.len);
                len += d.len;
                if (!(d.flags & TUND_RING_DESC_NEXT)) {
                        c->rx_cons = i + 1;
                        return (int) len;
                }
        }
        return c->rx_cons == c->rx_prod ? 0 : -EBADMSG;  /* a chain cut by the producer */
}

int ring_client_peek(RingClient *c, const uint8_t **ret_pkt) {
        struct tund_ring_desc d;

        if (c->rx_cons == c->rx_prod)
                c->rx_prod = __atomic_load_n(c->rx.producer, __ATOMIC_ACQUIRE);
        if (c->rx_cons == c->rx_prod)
                return 0;
        d = c->rx.descs[c->rx_cons & c->mask];
        if (d.flags & TUND_RING_DESC_NEXT)
                return -EMSGSIZE;
        if (d.len == 0 || d.len > c->slot_size || d.flags != 0)
                return -EBADMSG;
        *ret_pkt = c->rx.slots + (size_t) (c->rx_cons & c->mask) * c->slot_size;
        c->rx_cons++;
        return (int) d.len;
}

void ring_client_release(RingClient *c) {
        __atomic_store_n(c->rx.consumer, c->rx_cons, __ATOMIC_RELEASE);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(c->rx.need_room, __ATOMIC_RELAXED))
                (void) send(c->fd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

int ring_client_send(RingClient *c, const uint8_t *pkt, size_t len) {
        uint32_t parts = (uint32_t) ((len + c->slot_size - 1) / c->slot_size);

        if (len == 0)
                return -EINVAL;
        if (c->tx_prod - c->tx_cons + parts > c->mask + 1) {
                c->tx_cons = __atomic_load_n(c->tx.consumer, __ATOMIC_ACQUIRE);
                if (c->tx_prod - c->tx_cons + parts > c->mask + 1)
                        return -ENOBUFS;
        }
        for (uint32_t i = 0, off = 0; i < parts; i++) {
                uint32_t idx = (c->tx_prod + i) & c->mask;
                uint32_t n = len - off < c->slot_size ? (uint32_t) (len - off) : c->slot_size;

                memcpy(c->tx.slots + (size_t) idx * c->slot_size, pkt + off, n);
                c->tx.descs[idx] = (struct tund_ring_desc) {
                        .len = n,
                        .flags = i + 1 < parts ? TUND_RING_DESC_NEXT : 0,
                };
                off += n;
        }
        c->tx_prod += parts;
        return 0;
}

void ring_client_publish(RingClient *c) {
        if (c->tx_prod == c->tx_published)
                return;
        __atomic_store_n(c->tx.producer, c->tx_prod, __ATOMIC_RELEASE);
        c->tx_published = c->tx_prod;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(c->tx.need_wakeup, __ATOMIC_RELAXED))
                (void) send(c->fd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static int drain(int fd) {
        uint8_t b[16];

        for (;;) {
                ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
                if (n < 0)
                        return errno == EAGAIN || errno == EINTR ? 1 : -EPIPE;
                if (n == 0)
                        return -EPIPE;
        }
}

int ring_client_wait(RingClient *c, int timeout_ms) {
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        int r;

        __atomic_store_n(c->rx.need_wakeup, 1, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(c->rx.producer, __ATOMIC_RELAXED) != c->rx_cons) {
                __atomic_store_n(c->rx.need_wakeup, 0, __ATOMIC_RELAXED);
                return 1;
        }
        r = poll(&p, 1, timeout_ms);
        if (r < 0)
                r = errno == EINTR ? 1 : -errno;
        else if (r > 0)
                r = drain(c->fd);
        __atomic_store_n(c->rx.need_wakeup, 0, __ATOMIC_RELAXED);
        return r;
}
