/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Real traffic between two namespaces for the end-to-end tests: a TCP transfer compared by
 * SHA-256, UDP datagrams of several sizes, ICMP echo. Failures are GLib test assertions. */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define TRANSFER_BYTES (32u << 20)

typedef struct Transfer {
        int family;
        const char *ns_from, *ns_to;
        const char *addr;
        uint16_t port;
        int listen_fd;
        char *sha_sent, *sha_received;
        uint64_t sent, received;
        int send_errno;
        int receive_errno;              /* 0: the receiver read end-of-file */
        int done;                       /* __atomic: threads finished */
} Transfer;

void fill_random(uint8_t *buf, size_t len, uint64_t *state);
socklen_t make_addr(int family, const char *addr, uint16_t port, struct sockaddr_storage *ss);
/* SO_RCVTIMEO and SO_SNDTIMEO: a lost peer ends a wait instead of hanging the test. */
void set_timeouts(int fd, unsigned seconds);

/* Listens in ns_to on addr:port and starts two threads: one connects from ns_from and sends
 * TRANSFER_BYTES of pseudo-random data, one receives it; both hash what they saw. */
void transfer_start(Transfer *t, pthread_t th[2], int family, const char *ns_from,
                    const char *ns_to, const char *addr, uint16_t port);
/* Both threads have finished (they end by themselves, on their socket timeouts at worst). */
bool transfer_is_done(const Transfer *t);
/* Joins the threads and closes the listening socket. */
void transfer_join(Transfer *t, pthread_t th[2]);
/* Asserts that all TRANSFER_BYTES arrived intact, and frees the hashes. Before failing it
 * logs how far the transfer came, and LOG_STATE(DATA) (when set) what carried it. */
void transfer_check(Transfer *t, void (*log_state)(void *data), void *data);

/* Sends one datagram of each of several sizes (up to 30000 bytes, and a UDP_SEGMENT
 * super-packet) from ns_from to addr:port in ns_to, each until it arrives intact. */
void udp_sizes(int family, const char *ns_from, const char *ns_to, const char *addr, uint16_t port);
/* One ICMP echo (raw socket) from ns to addr, retried until its reply comes back intact. */
void ping_once(const char *ns, int family, const char *addr, size_t payload);
/* Pings addr4 and addr6 from ns, with a small payload and with one larger than the MTU,
 * whose fragments travel as plain packets. */
void ping_both(const char *ns, const char *addr4, const char *addr6);

/* A thread sending UDP from ns to addr:9, 64 datagrams a millisecond, until stopped. */
typedef struct Blast {
        const char *ns, *addr;
        int stop;               /* __atomic */
        pthread_t thread;
} Blast;
void blast_start(Blast *b, const char *ns, const char *addr);
void blast_stop(Blast *b);

/* Everything read from fd until end-of-file. */
char *read_all(int fd);

/* Reads and drops the messages queued on socket fd; true when it then reads end-of-file,
 * false when nothing came for timeout_s seconds or reading failed. */
bool drains_to_eof(int fd, unsigned timeout_s);
/* The value of KEY on direction DIR's line ("a2b", "b2a") of dataplane-forward's report. */
uint64_t report_value(const char *report, const char *dir, const char *key);
/* Both directions carried packets, and when PLAIN (the client read plain packets, with
 * --check) every packet was whole, valid and no longer than MTU. */
void check_forwarder_report(const char *report, bool plain, unsigned mtu);
