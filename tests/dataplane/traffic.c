/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "traffic.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "tb-netns.h"
#include "packet-check.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

void fill_random(uint8_t *buf, size_t len, uint64_t *state) {
        for (size_t i = 0; i + 8 <= len; i += 8) {
                *state ^= *state << 13;
                *state ^= *state >> 7;
                *state ^= *state << 17;
                memcpy(buf + i, state, 8);
        }
}

socklen_t make_addr(int family, const char *addr, uint16_t port, struct sockaddr_storage *ss) {
        memset(ss, 0, sizeof(*ss));
        if (family == AF_INET) {
                struct sockaddr_in *in = (struct sockaddr_in *) ss;
                in->sin_family = AF_INET;
                in->sin_port = htons(port);
                g_assert_cmpint(inet_pton(AF_INET, addr, &in->sin_addr), ==, 1);
                return sizeof(*in);
        }
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        g_assert_cmpint(inet_pton(AF_INET6, addr, &in6->sin6_addr), ==, 1);
        return sizeof(*in6);
}

void set_timeouts(int fd, unsigned seconds) {
        struct timeval tv = { .tv_sec = seconds };

        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A socket with a timeout is not restarted after a signal, and an interrupted connect()
 * goes on in the background: wait for it instead of failing the transfer. */
static int connect_retry(int fd, const struct sockaddr *sa, socklen_t sl) {
        if (connect(fd, sa, sl) == 0)
                return 0;
        while (errno == EINTR || errno == EALREADY) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                if (poll(&p, 1, 30 * 1000) < 0 && errno != EINTR)
                        return -1;
                if (connect(fd, sa, sl) == 0 || errno == EISCONN)
                        return 0;
        }
        return -1;
}

/* Signals go to the test's main thread, not to the transfer's blocking calls. */
static void block_signals(void) {
        sigset_t all;

        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static void *transfer_receive(void *userdata) {
        Transfer *t = userdata;
        GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
        uint8_t *buf = g_malloc(1 << 16);
        int fd;

        block_signals();
        do
                fd = accept4(t->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        while (fd < 0 && errno == EINTR);
        if (fd >= 0) {
                ssize_t n;
                set_timeouts(fd, 30);
                while ((n = recv_retry(fd, buf, 1 << 16, 0)) > 0) {
                        g_checksum_update(sum, buf, n);
                        t->received += n;
                }
                t->receive_errno = n < 0 ? errno : 0;
                close(fd);
        } else
                t->receive_errno = errno;
        t->sha_received = g_strdup(g_checksum_get_string(sum));
        g_checksum_free(sum);
        g_free(buf);
        __atomic_add_fetch(&t->done, 1, __ATOMIC_RELEASE);
        return NULL;
}

static void *transfer_send(void *userdata) {
        Transfer *t = userdata;
        GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
        uint8_t *buf = g_malloc(1 << 16);
        uint64_t state = 0x9e3779b97f4a7c15ull ^ t->port;
        struct sockaddr_storage ss;
        socklen_t sl = make_addr(t->family, t->addr, t->port, &ss);
        int fd;

        block_signals();
        fd = socket_in_netns(t->ns_from, t->family, SOCK_STREAM, 0);
        if (fd >= 0) {
                set_timeouts(fd, 30);
                if (connect_retry(fd, (struct sockaddr *) &ss, sl) == 0)
                        for (size_t off = 0; off < TRANSFER_BYTES; off += 1 << 16) {
                                fill_random(buf, 1 << 16, &state);
                                if (write_all(fd, buf, 1 << 16) < 0)
                                        break;
                                g_checksum_update(sum, buf, 1 << 16);
                                t->sent += 1 << 16;
                        }
                t->send_errno = errno;
                close(fd);
        } else
                t->send_errno = errno;
        t->sha_sent = g_strdup(g_checksum_get_string(sum));
        g_checksum_free(sum);
        g_free(buf);
        __atomic_add_fetch(&t->done, 1, __ATOMIC_RELEASE);
        return NULL;
}

void transfer_start(Transfer *t, pthread_t th[2], int family, const char *ns_from,
                    const char *ns_to, const char *addr, uint16_t port) {
        struct sockaddr_storage ss;
        socklen_t sl;
        int one = 1;

        *t = (Transfer) { .family = family, .ns_from = ns_from, .ns_to = ns_to, .addr = addr, .port = port };
        sl = make_addr(family, addr, port, &ss);
        t->listen_fd = socket_in_netns(ns_to, family, SOCK_STREAM, 0);
        g_assert_cmpint(t->listen_fd, >=, 0);
        setsockopt(t->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        set_timeouts(t->listen_fd, 30);
        g_assert_cmpint(bind(t->listen_fd, (struct sockaddr *) &ss, sl), ==, 0);
        g_assert_cmpint(listen(t->listen_fd, 1), ==, 0);
        g_assert_cmpint(pthread_create(&th[0], NULL, transfer_receive, t), ==, 0);
        g_assert_cmpint(pthread_create(&th[1], NULL, transfer_send, t), ==, 0);
}

bool transfer_is_done(const Transfer *t) {
        return __atomic_load_n(&t->done, __ATOMIC_ACQUIRE) == 2;
}

void transfer_join(Transfer *t, pthread_t th[2]) {
        pthread_join(th[0], NULL);
        pthread_join(th[1], NULL);
        close(t->listen_fd);
        t->listen_fd = -1;
}

void udp_sizes(int family, const char *ns_from, const char *ns_to, const char *addr, uint16_t port) {
        static const size_t sizes[] = { 1, 100, 1200, 1472, 1473, 4000, 9000, 30000 };
        struct sockaddr_storage ss;
        socklen_t sl = make_addr(family, addr, port, &ss);
        int tx = socket_in_netns(ns_from, family, SOCK_DGRAM, 0);
        int rx = socket_in_netns(ns_to, family, SOCK_DGRAM, 0);
        uint8_t *out = g_malloc(65536), *in = g_malloc(65536);
        uint64_t state = 42;

        g_assert_cmpint(tx, >=, 0);
        g_assert_cmpint(rx, >=, 0);
        g_assert_cmpint(bind(rx, (struct sockaddr *) &ss, sl), ==, 0);
        set_timeouts(rx, 1);

        for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
                bool ok = false;
                fill_random(out, 65536, &state);
                for (unsigned attempt = 0; attempt < 10 && !ok; attempt++) {
                        ssize_t n;
                        g_assert_cmpint(sendto(tx, out, sizes[i], 0, (struct sockaddr *) &ss, sl), ==, sizes[i]);
                        while ((n = recv_retry(rx, in, 65536, 0)) >= 0)
                                if ((size_t) n == sizes[i] && memcmp(in, out, n) == 0) {
                                        ok = true;
                                        break;
                                }
                }
                if (!ok)
                        g_error("UDP datagram of %zu bytes never arrived", sizes[i]);
        }

        /* A UDP super-packet (UDP_SEGMENT): the kernel hands tund one USO packet, the
         * client gets its segments. */
        int seg = 1000;
        g_assert_cmpint(setsockopt(tx, IPPROTO_UDP, UDP_SEGMENT, &seg, sizeof(seg)), ==, 0);
        bool all = false;
        for (unsigned attempt = 0; attempt < 10 && !all; attempt++) {
                bool seen[20] = {};
                unsigned n_seen = 0;
                ssize_t n;
                for (unsigned k = 0; k < 20; k++)
                        memset(out + k * 1000, k, 1000);
                g_assert_cmpint(sendto(tx, out, 20000, 0, (struct sockaddr *) &ss, sl), ==, 20000);
                while (n_seen < 20 && (n = recv_retry(rx, in, 65536, 0)) >= 0)
                        if (n == 1000 && in[0] < 20 && in[999] == in[0] && !seen[in[0]]) {
                                seen[in[0]] = true;
                                n_seen++;
                        }
                all = n_seen == 20;
        }
        g_assert_true(all);

        close(tx);
        close(rx);
        g_free(out);
        g_free(in);
}

void ping_once(const char *ns, int family, const char *addr, size_t payload) {
        struct sockaddr_storage ss;
        socklen_t sl = make_addr(family, addr, 0, &ss);
        int fd = socket_in_netns(ns, family, SOCK_RAW, family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
        uint8_t req[8 + 8192], buf[65536];
        bool ok = false;

        g_assert_cmpuint(payload, <=, sizeof(req) - 8);
        g_assert_cmpint(fd, >=, 0);
        set_timeouts(fd, 1);
        for (uint16_t seq = 1; seq <= 10 && !ok; seq++) {
                size_t len = 8 + payload;
                memset(req, 0, len);
                req[0] = family == AF_INET ? 8 : 128;   /* echo request */
                req[4] = 0x77;                          /* identifier */
                req[6] = seq >> 8;
                req[7] = seq & 0xff;
                for (size_t i = 0; i < payload; i++)
                        req[8 + i] = (uint8_t) (i * 7 + seq);
                if (family == AF_INET) {
                        uint16_t c = check_csum(req, len, 0);
                        req[2] = c >> 8;
                        req[3] = c & 0xff;
                }       /* ICMPv6: the kernel fills in the checksum */
                g_assert_cmpint(sendto(fd, req, len, 0, (struct sockaddr *) &ss, sl), ==, (ssize_t) len);

                ssize_t n;
                while (!ok && (n = recv_retry(fd, buf, sizeof(buf), 0)) >= 0) {
                        const uint8_t *icmp = buf;
                        if (family == AF_INET) {        /* raw IPv4 sockets see the IP header */
                                size_t ihl = (buf[0] & 0x0f) * 4;
                                icmp = buf + ihl;
                                n -= ihl;
                        }
                        ok = (size_t) n == len && icmp[0] == (family == AF_INET ? 0 : 129) &&
                                icmp[6] == req[6] && icmp[7] == req[7] && memcmp(icmp + 8, req + 8, payload) == 0;
                }
        }
        close(fd);
        if (!ok)
                g_error("no echo reply from %s (%zu bytes)", addr, payload);
}

void transfer_check(Transfer *t, void (*log_state)(void *data), void *data) {
        if (t->received != TRANSFER_BYTES) {
                g_test_message("transfer to %s: sent %" G_GUINT64_FORMAT " received %" G_GUINT64_FORMAT
                               ", sender's last error: %s, receiver's: %s", t->addr, t->sent, t->received,
                               g_strerror(t->send_errno),
                               t->receive_errno ? g_strerror(t->receive_errno) : "end-of-file");
                if (log_state)
                        log_state(data);
        }
        g_assert_cmpuint(t->received, ==, TRANSFER_BYTES);
        g_assert_cmpstr(t->sha_received, ==, t->sha_sent);
        g_free(t->sha_sent);
        g_free(t->sha_received);
}

void ping_both(const char *ns, const char *addr4, const char *addr6) {
        ping_once(ns, AF_INET, addr4, 56);
        ping_once(ns, AF_INET6, addr6, 56);
        ping_once(ns, AF_INET, addr4, 4000);
        ping_once(ns, AF_INET6, addr6, 4000);
}

static void *blast_udp(void *userdata) {
        Blast *b = userdata;
        struct sockaddr_storage ss;
        socklen_t sl = make_addr(AF_INET, b->addr, 9, &ss);
        int fd = socket_in_netns(b->ns, AF_INET, SOCK_DGRAM, 0);
        uint8_t buf[1400] = {};

        while (fd >= 0 && !__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
                for (unsigned i = 0; i < 64; i++)
                        (void) sendto(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *) &ss, sl);
                usleep(1000);
        }
        if (fd >= 0)
                close(fd);
        return NULL;
}

void blast_start(Blast *b, const char *ns, const char *addr) {
        *b = (Blast) { .ns = ns, .addr = addr };
        g_assert_cmpint(pthread_create(&b->thread, NULL, blast_udp, b), ==, 0);
}

void blast_stop(Blast *b) {
        __atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
        pthread_join(b->thread, NULL);
}

bool drains_to_eof(int fd, unsigned timeout_s) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        static __thread uint8_t buf[65536 + 10];

        for (;;) {
                if (poll(&p, 1, (int) timeout_s * 1000) <= 0)
                        return false;
                ssize_t n = recv_retry(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n == 0)
                        return true;
                if (n < 0 && errno != EAGAIN)
                        return false;
        }
}

char *read_all(int fd) {
        GString *s = g_string_new(NULL);
        char buf[1024];
        ssize_t n;

        while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
                if (n > 0)
                        g_string_append_len(s, buf, n);
        return g_string_free(s, FALSE);
}

uint64_t report_value(const char *report, const char *dir, const char *key) {
        g_autofree char *needle = g_strdup_printf("%s ", dir);
        g_autofree char *k = g_strdup_printf(" %s=", key);
        const char *line = strstr(report, needle), *v;

        g_assert_nonnull(line);
        v = strstr(line, k);
        g_assert_nonnull(v);
        return g_ascii_strtoull(v + strlen(k), NULL, 10);
}

void check_forwarder_report(const char *report, bool plain, unsigned mtu) {
        const char *dirs[] = { "a2b", "b2a" };

        for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
                g_assert_cmpuint(report_value(report, dirs[i], "packets"), >, 0);
                if (!plain)
                        continue;
                g_assert_cmpuint(report_value(report, dirs[i], "bad"), ==, 0);
                g_assert_cmpuint(report_value(report, dirs[i], "maxlen"), <=, mtu);
        }
}
