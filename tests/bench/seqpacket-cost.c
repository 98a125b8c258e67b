/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The kernel's price of one AF_UNIX SOCK_SEQPACKET message, as the data plane pays it:
 * one thread sends messages of one size in sendmmsg batches, another receives them in
 * recvmmsg batches, and the CPU time of both threads is divided by the messages moved.
 * Every packet fd mode moves each packet (or batch) through such a socket twice per
 * direction — tund to the client and the client back to tund — so this is the floor
 * under the packet fds' CPU per packet, measured on the machine the benchmark runs on. */

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "seqpacket-cost.h"

#define BATCH 64
#define SOCKET_BUFFER (4 << 20)

typedef struct CostRun {
        int fd;
        size_t size;
        double seconds;
        unsigned long long messages;    /* received */
        double sender_cpu, receiver_cpu; /* CPU seconds of each thread */
} CostRun;

static double thread_cpu_seconds(void) {
        struct timespec ts;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double monotonic_seconds(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *send_messages(void *userdata) {
        CostRun *run = userdata;
        struct mmsghdr msgs[BATCH];
        struct iovec iov;
        uint8_t *buf = calloc(1, run->size);
        double start = monotonic_seconds(), cpu0 = thread_cpu_seconds();

        iov = (struct iovec) { .iov_base = buf, .iov_len = run->size };
        for (unsigned i = 0; i < BATCH; i++)
                msgs[i].msg_hdr = (struct msghdr) { .msg_iov = &iov, .msg_iovlen = 1 };

        while (buf && monotonic_seconds() - start < run->seconds)
                if (sendmmsg(run->fd, msgs, BATCH, 0) < 0 && errno != EINTR)
                        break;

        run->sender_cpu = thread_cpu_seconds() - cpu0;
        shutdown(run->fd, SHUT_WR);
        free(buf);
        return NULL;
}

static void receive_messages(CostRun *run, int fd) {
        struct mmsghdr msgs[BATCH];
        struct iovec iovs[BATCH];
        uint8_t *buf = malloc((size_t) BATCH * run->size);
        double cpu0 = thread_cpu_seconds();

        for (unsigned i = 0; buf && i < BATCH; i++) {
                iovs[i] = (struct iovec) { .iov_base = buf + i * run->size, .iov_len = run->size };
                msgs[i].msg_hdr = (struct msghdr) { .msg_iov = &iovs[i], .msg_iovlen = 1 };
        }
        while (buf) {
                int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0 || msgs[n - 1].msg_len == 0) {
                        /* end-of-file reads as empty messages at the tail */
                        for (int i = 0; i < n && msgs[i].msg_len > 0; i++)
                                run->messages++;
                        break;
                }
                run->messages += n;
        }
        run->receiver_cpu = thread_cpu_seconds() - cpu0;
        free(buf);
}

double seqpacket_cpu_per_message(size_t size, double seconds) {
        int pair[2], bufsize = SOCKET_BUFFER;
        CostRun run = { .size = size, .seconds = seconds };
        pthread_t sender;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        (void) setsockopt(pair[0], SOL_SOCKET, SO_SNDBUFFORCE, &bufsize, sizeof(bufsize));
        run.fd = pair[0];

        if (pthread_create(&sender, NULL, send_messages, &run) != 0) {
                close(pair[0]);
                close(pair[1]);
                return -EAGAIN;
        }
        receive_messages(&run, pair[1]);
        pthread_join(sender, NULL);
        close(pair[0]);
        close(pair[1]);

        if (run.messages == 0)
                return -EIO;
        return (run.sender_cpu + run.receiver_cpu) * 1e9 / run.messages;
}
