/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The tund_fd: options, adopting an fd, and the calls every mode shares, each handed to
 * the transport of its mode (socket.c, ring.c). */

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tund-internal.h"

_Static_assert(sizeof(struct tund_options) == 32, "struct tund_options of LIBTUND_1");

int tund_options_parse_mode(struct tund_options *o, const char *name) {
        static const struct {
                const char *name;
                enum tund_mode mode;
                bool vnet;
        } table[] = {
                { "packet", TUND_MODE_PACKET, false },
                { "batch", TUND_MODE_BATCH, false },
                { "vnet", TUND_MODE_VNET, false },
                { "ring", TUND_MODE_RING, false },
                { "ring-vnet", TUND_MODE_RING, true },
        };

        if (!o || !name)
                return -EINVAL;
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                if (strcmp(name, table[i].name) == 0) {
                        o->size = sizeof(*o);
                        o->mode = table[i].mode;
                        o->vnet = table[i].vnet;
                        return 0;
                }
        return -EINVAL;
}

int tund_options_check(const struct tund_options *o, struct tund_options *ret) {
        if (!o) {
                *ret = tund_options_init(TUND_MODE_PACKET);
                return 0;
        }
        if (o->size < sizeof(*o))
                return -EINVAL;
        /* Fields of later versions this one does not know: only their default (0) is fine. */
        for (size_t i = sizeof(*o); i < o->size; i++)
                if (((const uint8_t *) o)[i] != 0)
                        return -E2BIG;
        if (o->mode > TUND_MODE_RING || o->vnet > 1)
                return -EINVAL;
        for (size_t i = 0; i < sizeof(o->reserved) / sizeof(o->reserved[0]); i++)
                if (o->reserved[i] != 0)
                        return -EINVAL;
        if (o->mode != TUND_MODE_RING && (o->vnet || o->ring_slots || o->slot_size))
                return -EINVAL;
        memcpy(ret, o, sizeof(*ret));
        ret->size = sizeof(*ret);
        return 0;
}

int64_t tund_now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tund_poll(struct pollfd *p, unsigned n, int timeout_ms) {
        int64_t deadline = timeout_ms > 0 ? tund_now_ms() + timeout_ms : 0;

        for (;;) {
                int r = poll(p, n, timeout_ms);
                if (r >= 0)
                        return r;
                if (errno != EINTR)
                        return -errno;
                if (timeout_ms > 0) {
                        int64_t left = deadline - tund_now_ms();
                        if (left <= 0)
                                return 0;
                        timeout_ms = (int) left;
                }
        }
}

int tund_poll_one(int fd, short events, int timeout_ms) {
        struct pollfd p = { .fd = fd, .events = events };
        int r = tund_poll(&p, 1, timeout_ms);

        return r > 0 ? p.revents : r;
}

int tund_fd_from_fd(int fd, const struct tund_options *options, tund_fd **ret) {
        struct tund_options o;
        tund_fd *t;
        int type = 0, r;
        socklen_t len = sizeof(type);

        if (fd < 0 || !ret)
                return -EINVAL;
        r = tund_options_check(options, &o);
        if (r < 0)
                return r;
        /* Every mode is a seqpacket socket: a TUN fd or anything else is refused here. */
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
                return errno == ENOTSOCK ? -ENOTSOCK : -errno;
        if (type != SOCK_SEQPACKET)
                return -ENOTSOCK;

        t = aligned_alloc(64, (sizeof(*t) + 63) & ~(size_t) 63);
        if (!t)
                return -ENOMEM;
        *t = (tund_fd) {
                .fd = fd,
                .mode = o.mode,
                .vnet = o.mode == TUND_MODE_VNET || o.vnet,
        };
        t->min_len = t->vnet ? TUND_RING_VNET_HDR_LEN + 1 : 1;
        t->max_len = t->vnet ? TUND_RING_VNET_MESSAGE_MAX :
                     t->mode == TUND_MODE_BATCH ? TUND_BATCH_PACKET_MAX : TUND_RING_PACKET_MAX;

        r = t->mode == TUND_MODE_RING ? tund_ring_init(t) : tund_socket_init(t);
        if (r < 0) {
                t->fd = -1;
                tund_fd_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

tund_fd *tund_fd_free(tund_fd *t) {
        if (!t)
                return NULL;
        if (t->mode == TUND_MODE_RING)
                tund_ring_done(t);
        else
                tund_socket_done(t);
        if (t->fd >= 0)
                close(t->fd);
        free(t);
        return NULL;
}

int tund_get_fd(const tund_fd *t) {
        if (!t)
                return -EINVAL;
        return t->mode == TUND_MODE_RING ? tund_ring_poll_fd(t) : t->fd;
}

enum tund_mode tund_get_mode(const tund_fd *t) {
        return t->mode;
}

int tund_get_vnet(const tund_fd *t) {
        return t->vnet;
}

size_t tund_get_max_packet(const tund_fd *t) {
        return t->max_len;
}

size_t tund_get_slot_size(const tund_fd *t) {
        return t->mode == TUND_MODE_RING ? tund_ring_slot_size(t) : 0;
}

void tund_get_counters(const tund_fd *t, struct tund_counters *ret, size_t size) {
        struct tund_counters c = {
                .rx_packets = t->rx_packets,
                .rx_bytes = t->rx_bytes,
                .rx_truncated = t->rx_truncated,
                .tx_packets = t->tx_packets,
                .tx_bytes = t->tx_bytes,
                .rx_syscalls = t->rx_syscalls,
                .tx_syscalls = t->tx_syscalls,
        };

        memcpy(ret, &c, size < sizeof(c) ? size : sizeof(c));
}

/* What both burst calls check first: 1 to go on, else what they return. */
static int burst_begin(const tund_fd *t, const struct tund_packet *pkts, unsigned n) {
        int r = tund_fd_error(t);

        if (r < 0)
                return r;
        if (n == 0)
                return 0;
        return pkts ? 1 : -EINVAL;
}

int tund_recv_burst(tund_fd *t, struct tund_packet *pkts, unsigned n) {
        int r = burst_begin(t, pkts, n);

        if (r <= 0)
                return r;
        return t->mode == TUND_MODE_RING ? tund_ring_recv(t, pkts, n) : tund_socket_recv(t, pkts, n);
}

int tund_send_burst(tund_fd *t, const struct tund_packet *pkts, unsigned n) {
        int r = burst_begin(t, pkts, n);

        if (r <= 0)
                return r;
        return t->mode == TUND_MODE_RING ? tund_ring_send(t, pkts, n) : tund_socket_send(t, pkts, n);
}

int tund_wait(tund_fd *t, int timeout_ms) {
        int r = tund_fd_error(t);

        if (r < 0)
                return r;
        return t->mode == TUND_MODE_RING ? tund_ring_wait(t, timeout_ms) : tund_socket_wait(t, timeout_ms);
}

int tund_wait_send(tund_fd *t, int timeout_ms) {
        int r = tund_fd_error(t);

        if (r < 0)
                return r;
        return t->mode == TUND_MODE_RING ? tund_ring_wait_send(t, timeout_ms) : tund_socket_wait_send(t, timeout_ms);
}
