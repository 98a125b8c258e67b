/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the files of libtund share: struct tund_fd and the transports behind it (socket.c:
 * modes packet, batch and vnet; ring.c: mode ring). Nothing here is exported. */

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tund.h"

#define TUND_HIDDEN __attribute__((visibility("hidden")))

#define TUND_BATCH_MESSAGE_MAX  65535u
#define TUND_BATCH_PACKET_MAX   (TUND_BATCH_MESSAGE_MAX - 2u)
#define TUND_SOCKET_BURST       64u     /* messages per recvmmsg/sendmmsg */
#define TUND_BATCH_MESSAGES     4u      /* batch messages per recvmmsg/sendmmsg */
#define TUND_HANDSHAKE_TIMEOUT_MS 5000

typedef struct SocketRx SocketRx;
typedef struct SocketTx SocketTx;
typedef struct RingMap RingMap;

struct tund_fd {
        int fd;
        enum tund_mode mode;
        bool vnet;
        size_t max_len, min_len;        /* of a packet, as each mode frames it */
        int error;                      /* __atomic: the first fatal error, sticky */

        /* Receiving side */
        SocketRx *srx;
        uint64_t rx_packets, rx_bytes, rx_truncated, rx_syscalls;

        /* Sending side, a cache line away */
        _Alignas(64) SocketTx *stx;
        uint64_t tx_packets, tx_bytes, tx_syscalls;

        RingMap *ring;                  /* both sides: each touches only its own half */
};

/* The sticky error: set once, read by both sides. */
static inline int tund_fd_error(const tund_fd *t) {
        return __atomic_load_n(&t->error, __ATOMIC_RELAXED);
}

static inline int tund_fd_fail(tund_fd *t, int error) {
        int expected = 0;

        (void) __atomic_compare_exchange_n(&t->error, &expected, error, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
        return __atomic_load_n(&t->error, __ATOMIC_RELAXED);
}

/* Checks OPTIONS (NULL: defaults) into *RET, sized as this version knows them. */
TUND_HIDDEN int tund_options_check(const struct tund_options *options, struct tund_options *ret);

/* CLOCK_MONOTONIC in milliseconds, for deadlines. */
TUND_HIDDEN int64_t tund_now_ms(void);
/* poll(), restarted after EINTR with what is left of the timeout. Returns the number of
 * fds with events, 0 on timeout, or negative errno. */
TUND_HIDDEN int tund_poll(struct pollfd *p, unsigned n, int timeout_ms);
/* The same for one fd; returns its revents instead. */
TUND_HIDDEN int tund_poll_one(int fd, short events, int timeout_ms);

/* socket.c */
TUND_HIDDEN int tund_socket_init(tund_fd *t);
TUND_HIDDEN void tund_socket_done(tund_fd *t);
TUND_HIDDEN int tund_socket_recv(tund_fd *t, struct tund_packet *pkts, unsigned n);
TUND_HIDDEN int tund_socket_send(tund_fd *t, const struct tund_packet *pkts, unsigned n);
TUND_HIDDEN int tund_socket_wait(tund_fd *t, int timeout_ms);
TUND_HIDDEN int tund_socket_wait_send(tund_fd *t, int timeout_ms);

/* ring.c */
TUND_HIDDEN int tund_ring_init(tund_fd *t);
TUND_HIDDEN void tund_ring_done(tund_fd *t);
TUND_HIDDEN size_t tund_ring_slot_size(const tund_fd *t);
TUND_HIDDEN int tund_ring_poll_fd(const tund_fd *t);
TUND_HIDDEN int tund_ring_recv(tund_fd *t, struct tund_packet *pkts, unsigned n);
TUND_HIDDEN int tund_ring_send(tund_fd *t, const struct tund_packet *pkts, unsigned n);
TUND_HIDDEN int tund_ring_wait(tund_fd *t, int timeout_ms);
TUND_HIDDEN int tund_ring_wait_send(tund_fd *t, int timeout_ms);
