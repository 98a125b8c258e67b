/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A packet fd client for the tests and the benchmark: forwards between two packet fds
 * (one per device) in both directions, optionally checking every packet it reads.
 *
 *   dataplane-forward MODE FD_A FD_B [--single] [--check] [--one-thread]
 *
 * MODE is packet, batch or vnet (the framing of both fds), or ring or ring-vnet (fds of
 * mode "ring", plain or with option Vnet: moved through their shared memory with libtund,
 * in bursts, one thread each direction, sleeping only when a receive ring is empty). --single reads and writes one
 * message per system call (read/write, so the fds may also be TUN fds: plain ones in
 * packet mode, IFF_VNET_HDR ones in vnet mode) instead of recvmmsg/sendmmsg batches. --check verifies every
 * plain packet (whole, checksums) with the tests' own referee. --one-thread serves both
 * directions from one thread (poll, then recvmmsg/sendmmsg) instead of one thread each. When either fd reads
 * end-of-file it stops, and prints one line per direction:
 *   DIR packets=N bytes=N bad=N maxlen=N reads=N messages=N gso=N
 * (gso: vnet messages whose header has a gso_type, super-packets)
 * and the first problem seen, if any. */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "packet-check.h"
#include "tund.h"

#define BATCH 64
#define SLOT (10 + 65535 + 1)

enum { MODE_PACKET, MODE_BATCH, MODE_VNET, MODE_RING, MODE_RING_VNET };

typedef struct Direction {
        const char *name;
        int in, out;
        tund_fd *ring_in, *ring_out;    /* mode ring: libtund's */
        int mode;
        bool single, check;
        uint64_t packets, bytes, bad, maxlen, reads, messages;
        uint64_t gso;                   /* vnet messages with a gso_type */
        char first_bad[128];
} Direction;

static void account(Direction *d, const uint8_t *pkt, size_t len) {
        const char *why;

        d->packets++;
        d->bytes += len;
        if (len > d->maxlen)
                d->maxlen = len;
        if (!d->check || d->mode == MODE_VNET || d->mode == MODE_RING_VNET)
                return;
        why = packet_check(pkt, len);
        if (why) {
                if (d->bad++ == 0)
                        snprintf(d->first_bad, sizeof(d->first_bad), "%s (length %zu)", why, len);
        }
}

static void account_message(Direction *d, const uint8_t *msg, size_t len) {
        d->messages++;
        /* struct virtio_net_hdr: flags, then gso_type. */
        if (d->mode == MODE_VNET && len >= 2 && msg[1] != 0)
                d->gso++;
        if (d->mode != MODE_BATCH) {
                account(d, msg, len);
                return;
        }
        for (size_t off = 0; off < len;) {
                size_t rec;

                if (off + 2 > len) {
                        d->bad++;
                        return;
                }
                rec = (size_t) msg[off] << 8 | msg[off + 1];
                if (off + 2 + rec > len) {
                        if (d->bad++ == 0)
                                snprintf(d->first_bad, sizeof(d->first_bad), "records do not add up");
                        return;
                }
                account(d, msg + off + 2, rec);
                off += 2 + rec;
        }
}

static void forward_single(Direction *d) {
        uint8_t *buf = malloc(SLOT);

        for (;;) {
                /* read()/write(): works on packet fds and on TUN fds alike. */
                ssize_t n = read(d->in, buf, SLOT), r;
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                account_message(d, buf, n);
                while ((r = write(d->out, buf, n)) < 0 && errno == EINTR)
                        ;
                if (r < 0 && errno != EINVAL && errno != EIO)
                        break;
        }
        free(buf);
}

/* recvmmsg/sendmmsg arrays over BATCH slots of one buffer; a received message is sent
 * from where it was read. */
typedef struct Batch {
        struct mmsghdr rx[BATCH], tx[BATCH];
        struct iovec rx_iov[BATCH], tx_iov[BATCH];
        uint8_t *buf;
} Batch;

static void batch_init(Batch *b) {
        b->buf = malloc((size_t) BATCH * SLOT);
        for (int i = 0; i < BATCH; i++) {
                b->rx_iov[i] = (struct iovec) { .iov_base = b->buf + (size_t) i * SLOT, .iov_len = SLOT };
                b->rx[i].msg_hdr = (struct msghdr) { .msg_iov = &b->rx_iov[i], .msg_iovlen = 1 };
                b->tx[i].msg_hdr = (struct msghdr) { .msg_iov = &b->tx_iov[i], .msg_iovlen = 1 };
        }
}

/* Moves one batch from d->in to d->out: MSG_WAITFORONE waits for it, MSG_DONTWAIT takes
 * what is there. Returns false at the end. Inlined into each caller, with FLAGS a constant:
 * forward_batched() is the benchmark's hot loop. */
static inline __attribute__((always_inline)) bool forward_batch(Direction *d, Batch *b, int flags) {
        int n = recvmmsg(d->in, b->rx, BATCH, flags, NULL);
        if (n < 0)
                return errno == EINTR || ((flags & MSG_DONTWAIT) && errno == EAGAIN);
        if (n == 0)
                return false;
        d->reads++;
        /* End-of-file reads as trailing empty messages; tund sends none. */
        int m = n;
        while (m > 0 && b->rx[m - 1].msg_len == 0)
                m--;
        for (int i = 0; i < m; i++) {
                account_message(d, b->rx_iov[i].iov_base, b->rx[i].msg_len);
                b->tx_iov[i] = (struct iovec) { .iov_base = b->rx_iov[i].iov_base, .iov_len = b->rx[i].msg_len };
        }
        for (int sent = 0; sent < m;) {
                int r = sendmmsg(d->out, b->tx + sent, m - sent, MSG_NOSIGNAL);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return false;
                sent += r;
        }
        return m == n;
}

static void forward_batched(Direction *d) {
        Batch b;

        batch_init(&b);
        while (forward_batch(d, &b, MSG_WAITFORONE))
                ;
        free(b.buf);
}

/* Both directions on one thread: poll, then a batch from each fd that has one. */
static void forward_one_thread(Direction d[2]) {
        Batch b;

        batch_init(&b);
        for (;;) {
                struct pollfd p[2] = {
                        { .fd = d[0].in, .events = POLLIN },
                        { .fd = d[1].in, .events = POLLIN },
                };
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                bool ok = true;
                for (int i = 0; i < 2; i++)
                        if (p[i].revents)
                                ok = ok && forward_batch(&d[i], &b, MSG_DONTWAIT);
                if (!ok)
                        break;
        }
        free(b.buf);
}

static bool stopping;     /* __atomic: the other direction ended */

/* Sends all N packets into the ring to the service, waiting for room, which only its
 * consumer makes. False when the other side or the other direction ended. */
static bool ring_send_all(Direction *d, const struct tund_packet *pkts, unsigned n) {
        for (unsigned sent = 0; sent < n;) {
                int r = tund_send_burst(d->ring_out, pkts + sent, n - sent);
                if (r < 0)
                        return false;
                sent += (unsigned) r;
                if (r == 0 && (__atomic_load_n(&stopping, __ATOMIC_RELAXED) || tund_wait_send(d->ring_out, 100) < 0))
                        return false;
        }
        return true;
}

/* Bursts from one ring into the other with libtund: received packets in place
 * (tund_ring_peek), copied into the other ring's slots, given back in one release. */
static void forward_ring(Direction *d) {
        struct tund_packet pkts[BATCH];

        for (;;) {
                int n = tund_ring_peek(d->ring_in, pkts, BATCH);

                if (n < 0) {
                        if (n != -EPIPE && d->bad++ == 0)
                                snprintf(d->first_bad, sizeof(d->first_bad), "bad descriptor from tund (%s)", strerror(-n));
                        break;
                }
                if (n == 0) {
                        d->reads++;
                        int w = tund_wait(d->ring_in, 100);
                        if (w < 0 || __atomic_load_n(&stopping, __ATOMIC_RELAXED))
                                break;
                        continue;
                }
                for (int i = 0; i < n; i++) {
                        d->messages++;
                        account(d, pkts[i].data, pkts[i].len);
                }
                if (!ring_send_all(d, pkts, (unsigned) n) || tund_ring_release(d->ring_in) < 0)
                        break;
        }
        __atomic_store_n(&stopping, true, __ATOMIC_RELAXED);
}

static void *forward(void *userdata) {
        Direction *d = userdata;

        if (d->ring_in)
                forward_ring(d);
        else if (d->single)
                forward_single(d);
        else
                forward_batched(d);

        /* Wake the other direction: it ends too. */
        shutdown(d->in, SHUT_RDWR);
        shutdown(d->out, SHUT_RDWR);
        return NULL;
}

int main(int argc, char *argv[]) {
        Direction d[2] = {};
        pthread_t t[2];
        bool single = false, check = false, one_thread = false;
        int mode;

        if (argc < 4) {
                fprintf(stderr, "Usage: %s packet|batch|vnet|ring|ring-vnet FD_A FD_B [--single] [--check] [--one-thread]\n", argv[0]);
                return 2;
        }
        if (strcmp(argv[1], "packet") == 0)
                mode = MODE_PACKET;
        else if (strcmp(argv[1], "batch") == 0)
                mode = MODE_BATCH;
        else if (strcmp(argv[1], "vnet") == 0)
                mode = MODE_VNET;
        else if (strcmp(argv[1], "ring") == 0)
                mode = MODE_RING;
        else if (strcmp(argv[1], "ring-vnet") == 0)
                mode = MODE_RING_VNET;
        else {
                fprintf(stderr, "Unknown mode %s\n", argv[1]);
                return 2;
        }
        for (int i = 4; i < argc; i++) {
                if (strcmp(argv[i], "--single") == 0)
                        single = true;
                else if (strcmp(argv[i], "--check") == 0)
                        check = true;
                else if (strcmp(argv[i], "--one-thread") == 0)
                        one_thread = true;
        }

        signal(SIGPIPE, SIG_IGN);

        int a = atoi(argv[2]), b = atoi(argv[3]);
        d[0] = (Direction) { .name = "a2b", .in = a, .out = b, .mode = mode, .single = single, .check = check };
        d[1] = (Direction) { .name = "b2a", .in = b, .out = a, .mode = mode, .single = single, .check = check };

        tund_fd *ring[2] = {};
        if (mode == MODE_RING || mode == MODE_RING_VNET) {
                struct tund_options o = tund_options_init(TUND_MODE_RING);
                o.vnet = mode == MODE_RING_VNET;
                for (int i = 0; i < 2; i++) {
                        int r = tund_fd_from_fd(i == 0 ? a : b, &o, &ring[i]);
                        if (r < 0) {
                                fprintf(stderr, "Failed to map the ring of fd %d: %s\n", i == 0 ? a : b, strerror(-r));
                                return 1;
                        }
                }
                d[0].ring_in = d[1].ring_out = ring[0];
                d[1].ring_in = d[0].ring_out = ring[1];
                one_thread = false;
        }

        if (one_thread)
                forward_one_thread(d);
        else {
                for (int i = 0; i < 2; i++)
                        if (pthread_create(&t[i], NULL, forward, &d[i]) != 0) {
                                fprintf(stderr, "Failed to start a thread\n");
                                return 1;
                        }
                for (int i = 0; i < 2; i++)
                        pthread_join(t[i], NULL);
        }

        for (int i = 0; i < 2; i++) {
                printf("%s packets=%llu bytes=%llu bad=%llu maxlen=%llu reads=%llu messages=%llu gso=%llu\n", d[i].name,
                       (unsigned long long) d[i].packets, (unsigned long long) d[i].bytes,
                       (unsigned long long) d[i].bad, (unsigned long long) d[i].maxlen,
                       (unsigned long long) d[i].reads, (unsigned long long) d[i].messages,
                       (unsigned long long) d[i].gso);
                if (d[i].bad)
                        printf("%s first-bad: %s\n", d[i].name, d[i].first_bad);
        }
        for (int i = 0; i < 2; i++)
                tund_fd_free(ring[i]);
        return 0;
}
