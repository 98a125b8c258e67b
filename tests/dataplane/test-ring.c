/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Mode "ring" end to end, as root, through the bus test harness (a private system bus,
 * polkitd, tund itself): its options, real TCP and UDP traffic between two namespaces
 * through two devices and a ring client (dataplane-forward ring, written from tund-ring.h
 * alone), and a client that breaks the protocol in every way tund-ring(7) names. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "packet-check.h"
#include "pair.h"
#include "ring-client.h"
#include "tb-netns.h"
#include "traffic.h"

#define MTU 1500u
#define INVALID_ARGS "org.freedesktop.DBus.Error.InvalidArgs"

static char *ns_a, *ns_b, *ns_c, *if_a, *if_b, *if_c;

static GVariant *ring_options(bool vnet) {
        return tb_options("Mode", g_variant_new_string("ring"), "Vnet", g_variant_new_boolean(vnet), NULL);
}

static int open_ring(GDBusConnection *bus, const char *path, bool vnet) {
        g_autoptr(GError) error = NULL;
        int fd = tb_open_packet_fd(bus, path, ring_options(vnet), &error);

        g_assert_no_error(error);
        g_assert_cmpint(fd, >=, 0);
        return fd;
}

static void wait_statistic(GDBusConnection *bus, const char *path, const char *key, uint64_t value) {
        for (unsigned i = 0; i < TB_HANG_SECONDS * 50 && get_statistic(bus, path, key) < value; i++)
                g_usleep(20 * 1000);
        g_assert_cmpuint(get_statistic(bus, path, key), ==, value);
}

static void wait_statistic_above(GDBusConnection *bus, const char *path, const char *key, uint64_t value) {
        for (unsigned i = 0; i < TB_HANG_SECONDS * 50 && get_statistic(bus, path, key) <= value; i++)
                g_usleep(20 * 1000);
        g_assert_cmpuint(get_statistic(bus, path, key), >, value);
}

static unsigned count_fds_of(pid_t pid) {
        g_autofree char *path = g_strdup_printf("/proc/%d/fd", (int) pid);
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        unsigned n = 0;

        g_assert_nonnull(dir);
        while (g_dir_read_name(dir))
                n++;
        return n;
}

/* Mappings of ring memory in tund. */
static unsigned count_rings_of(pid_t pid) {
        g_autofree char *path = g_strdup_printf("/proc/%d/maps", (int) pid);
        g_autofree char *maps = NULL;
        unsigned n = 0;

        g_assert_true(g_file_get_contents(path, &maps, NULL, NULL));
        for (const char *p = maps; (p = strstr(p, "memfd:tund-ring")); p++)
                n++;
        return n;
}

/* tund holds no more fds and ring mappings than before, once it noticed. */
static void wait_freed(TbEnv *env, unsigned fds_before) {
        pid_t pid = tb_tund_pid(env);

        for (unsigned i = 0; i < TB_HANG_SECONDS * 50 && (count_fds_of(pid) > fds_before || count_rings_of(pid) > 0); i++)
                g_usleep(20 * 1000);
        g_assert_cmpuint(count_fds_of(pid), <=, fds_before);
        g_assert_cmpuint(count_rings_of(pid), ==, 0);
}

static bool reads_eof(int fd, unsigned timeout_s) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        uint8_t b[256];

        for (unsigned i = 0; i < timeout_s * 10; i++) {
                if (poll(&p, 1, 100) <= 0)
                        continue;
                ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
                if (n == 0)
                        return true;
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        return false;
        }
        return false;
}

/* ---- Options ------------------------------------------------------------------------- */

static void assert_open_fails(GDBusConnection *bus, const char *path, GVariant *options) {
        g_autoptr(GError) error = NULL;

        g_assert_cmpint(tb_open_packet_fd(bus, path, options, &error), ==, -1);
        tb_assert_error(error, INVALID_ARGS);
}

static GVariant *sized(guint32 slots, guint32 slot_size) {
        return tb_options("Mode", g_variant_new_string("ring"), "RingSlots", g_variant_new_uint32(slots),
                          "SlotSize", g_variant_new_uint32(slot_size), NULL);
}

/* Bounds and types; the sizes asked for are the sizes in the header. */
static void test_options(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, NULL);
        g_autoptr(GError) error = NULL;
        RingClient c;

        assert_open_fails(bus, path, sized(1000, 2048));        /* not a power of two */
        assert_open_fails(bus, path, sized(32, 16384));         /* too few */
        assert_open_fails(bus, path, sized(32768, 256));        /* too many */
        assert_open_fails(bus, path, sized(1024, 2000));        /* not a multiple of 64 */
        assert_open_fails(bus, path, sized(1024, 128));         /* too small */
        assert_open_fails(bus, path, sized(4096, 4096));        /* 16 MiB a ring */
        assert_open_fails(bus, path, sized(64, 256));           /* 16 KiB a ring */
        assert_open_fails(bus, path, sized(0, 2048));
        assert_open_fails(bus, path, tb_options("Mode", g_variant_new_string("ring"), "Vnet", g_variant_new_string("yes"), NULL));
        assert_open_fails(bus, path, tb_options("Mode", g_variant_new_string("ring"), "RingSlots", g_variant_new_int32(1024), NULL));
        assert_open_fails(bus, path, tb_options("Mode", g_variant_new_string("packet"), "Vnet", g_variant_new_boolean(true), NULL));
        assert_open_fails(bus, path, tb_options("RingSlots", g_variant_new_uint32(1024), NULL));
        assert_open_fails(bus, path, tb_options("Mode", g_variant_new_string("ring"), "Bogus", g_variant_new_uint32(1), NULL));
        g_assert_cmpuint(get_clients(bus, path), ==, 0);

        int fd = tb_open_packet_fd(bus, path, sized(4096, 1024), &error);
        g_assert_no_error(error);
        g_assert_cmpint(ring_client_open(&c, fd), ==, 0);
        g_assert_cmpuint(c.h.ring_slots, ==, 4096);
        g_assert_cmpuint(c.h.slot_size, ==, 1024);
        g_assert_cmpuint(c.h.flags, ==, 0);
        ring_client_close(&c);
        close(fd);

        fd = open_ring(bus, path, true);
        g_assert_cmpint(ring_client_open(&c, fd), ==, 0);
        g_assert_cmpuint(c.h.ring_slots, ==, TUND_RING_SLOTS_DEFAULT);
        g_assert_cmpuint(c.h.slot_size, ==, TUND_RING_SLOT_SIZE_DEFAULT);
        g_assert_cmpuint(c.h.flags, ==, TUND_RING_F_VNET);
        ring_client_close(&c);
        close(fd);

        wait_clients(bus, path, 0);
        tb_delete_ok(bus, path);
}

/* The memfd comes sealed: the client can neither shrink nor grow it, nor unseal it. */
static void test_sealed(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, NULL);
        int fd = open_ring(bus, path, false), memfd = -1;
        union {
                struct cmsghdr c;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control;
        struct tund_ring_header h;
        struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control) };

        g_assert_cmpint(recvmsg(fd, &m, MSG_CMSG_CLOEXEC), ==, sizeof(h));
        g_assert_nonnull(CMSG_FIRSTHDR(&m));
        memcpy(&memfd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
        g_assert_cmpuint(h.magic, ==, TUND_RING_MAGIC);
        g_assert_cmpuint(h.version, ==, TUND_RING_VERSION);
        g_assert_cmpint(fcntl(memfd, F_GET_SEALS), ==, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
        g_assert_cmpint(ftruncate(memfd, 4096), <, 0);
        g_assert_cmpint(ftruncate(memfd, (off_t) h.memory_size * 2), <, 0);
        g_assert_cmpint(fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE), <, 0);
        close(memfd);
        close(fd);
        wait_clients(bus, path, 0);
        tb_delete_ok(bus, path);
}

/* ---- Traffic through two devices ----------------------------------------------------- */

/* A and B in ns_a and ns_b (10.93.0.0/24, fd93::/64), ring fds (VNET: option Vnet) bridged. */
static void pair_start(TbEnv *env, Pair *p, bool vnet) {
        pair_setup(p, env, ns_a, if_a, ns_b, if_b, 93, MTU, ring_options(vnet), vnet ? "ring-vnet" : "ring");
}

/* Deletes A: the client's ring on A reads end-of-file, the client reports and ends. */
static void pair_finish(Pair *p, bool plain) {
        pair_finish_by_delete(p, plain);
        pair_free(p);
}

static bool need_forwarder(void) {
        if (!g_getenv("DATAPLANE_FORWARD")) {
                g_test_skip("needs DATAPLANE_FORWARD (set by meson test)");
                return false;
        }
        return true;
}

/* Plain packets: tund splits the kernel's super-packets into the ring and coalesces what
 * the client puts in its own. */
static void test_plain_traffic(void) {
        TbEnv *env = tb_test_env();
        if (!env || !need_forwarder())
                return;
        unsigned fds_before = count_fds_of(tb_tund_pid(env));
        Pair p;

        pair_start(env, &p, false);
        ping_both(ns_a, "10.93.0.2", "fd93::2");
        pair_transfer(&p, AF_INET);
        pair_transfer(&p, AF_INET6);
        udp_sizes(AF_INET, ns_a, ns_b, "10.93.0.2", 6001);
        udp_sizes(AF_INET6, ns_a, ns_b, "fd93::2", 6001);
        pair_log_statistics(&p);
        g_assert_cmpuint(get_statistic(p.bus, p.path_a, "gso_split"), >, 0);
        g_assert_cmpuint(get_statistic(p.bus, p.path_b, "gro_merged"), >, 0);
        g_assert_cmpuint(get_statistic(p.bus, p.path_a, "drops_invalid"), ==, 0);
        g_assert_cmpuint(get_statistic(p.bus, p.path_b, "drops_invalid"), ==, 0);
        pair_finish(&p, true);
        wait_freed(env, fds_before);
}

/* Option Vnet: super-packets through the rings, chained over several slots. */
static void test_vnet_traffic(void) {
        TbEnv *env = tb_test_env();
        if (!env || !need_forwarder())
                return;
        unsigned fds_before = count_fds_of(tb_tund_pid(env));
        Pair p;

        pair_start(env, &p, true);
        ping_both(ns_a, "10.93.0.2", "fd93::2");
        pair_transfer(&p, AF_INET);
        pair_transfer(&p, AF_INET6);
        pair_log_statistics(&p);
        g_assert_cmpuint(get_statistic(p.bus, p.path_a, "gso_split"), ==, 0);
        g_assert_cmpuint(get_statistic(p.bus, p.path_b, "gro_merged"), ==, 0);
        g_assert_cmpuint(get_statistic(p.bus, p.path_a, "drops_invalid"), ==, 0);
        pair_finish(&p, false);
        wait_freed(env, fds_before);
}

/* ---- A client that breaks the protocol ------------------------------------------------- */

static void put_desc(RingClient *c, uint32_t len, uint16_t flags) {
        c->tx.descs[c->tx_prod & c->mask] = (struct tund_ring_desc) { .len = len, .flags = flags };
        c->tx_prod++;
}

static void put_valid_packet(RingClient *c) {
        static const uint8_t src[4] = { 10, 93, 0, 2 }, dst[4] = { 10, 93, 0, 1 };
        uint8_t pkt[128];
        size_t len = packet_build_udp4(pkt, src, dst, 6000, 7000, "hello", 5);

        g_assert_cmpint(ring_client_send(c, pkt, len), ==, 0);
}

/* Each bad descriptor costs its packet and nothing else: the valid packet after them
 * reaches the device. */
static void test_bad_descriptors(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, NULL);
        int fd = open_ring(bus, path, false);
        RingClient c;

        g_assert_cmpint(netns_setup(ns_a, if_a, "10.93.0.1/24", NULL, MTU), ==, 0);
        g_assert_cmpint(ring_client_open(&c, fd), ==, 0);
        uint64_t invalid = get_statistic(bus, path, "drops_invalid"), tx = get_statistic(bus, path, "tx_packets");

        put_desc(&c, c.slot_size + 1, 0);                       /* past its slot */
        put_desc(&c, 0, 0);                                     /* empty */
        put_desc(&c, 100, 0x8);                                 /* unknown flag */
        c.tx.descs[c.tx_prod & c.mask] = (struct tund_ring_desc) { .len = 100, .reserved = 1 };
        c.tx_prod++;
        put_desc(&c, 100, TUND_RING_DESC_NEXT);                 /* a short part before the last */
        put_desc(&c, 100, 0);                                   /* zeros: refused by coalescing */
        put_valid_packet(&c);
        ring_client_publish(&c);
        wait_statistic(bus, path, "drops_invalid", invalid + 6);
        wait_statistic(bus, path, "tx_packets", tx + 2);   /* the zeros were taken, then refused */

        /* A chain that does not end: full parts, the last cut by the producer index. */
        for (unsigned i = 0; i < 20; i++)
                put_desc(&c, c.slot_size, TUND_RING_DESC_NEXT);
        ring_client_publish(&c);
        wait_statistic(bus, path, "drops_invalid", invalid + 7);
        /* ... and one longer than the largest packet: its first 32 parts are refused, the
         * rest is taken as a packet of its own (of zeros, which coalescing refuses). */
        for (unsigned i = 0; i < TUND_RING_PACKET_MAX / c.slot_size + 1; i++)
                put_desc(&c, c.slot_size, TUND_RING_DESC_NEXT);
        put_desc(&c, 100, 0);
        ring_client_publish(&c);
        wait_statistic(bus, path, "drops_invalid", invalid + 9);
        put_valid_packet(&c);
        ring_client_publish(&c);
        wait_statistic(bus, path, "tx_packets", tx + 4);
        g_assert_cmpuint(get_clients(bus, path), ==, 1);

        ring_client_close(&c);
        close(fd);
        wait_clients(bus, path, 0);
        tb_delete_ok(bus, path);
        netns_remove(ns_a);
}

/* A producer index more than a ring ahead, kept there, and a stream of bad descriptors,
 * each end the ring: the socket reads end-of-file. */
static void test_keeps_breaking(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, NULL);
        uint64_t invalid = get_statistic(bus, path, "drops_invalid");
        RingClient c;
        int fd;

        fd = open_ring(bus, path, false);
        g_assert_cmpint(ring_client_open(&c, fd), ==, 0);
        c.tx_prod = c.mask + 10;
        ring_client_publish(&c);
        g_assert_true(reads_eof(fd, TB_HANG_SECONDS));
        ring_client_close(&c);
        close(fd);
        wait_clients(bus, path, 0);
        g_assert_cmpuint(get_statistic(bus, path, "drops_invalid"), >, invalid);

        fd = open_ring(bus, path, false);
        g_assert_cmpint(ring_client_open(&c, fd), ==, 0);
        for (unsigned round = 0; round < 20; round++) {
                for (unsigned i = 0; i < 32; i++)
                        put_desc(&c, 100, 0x40);
                ring_client_publish(&c);
                g_usleep(10 * 1000);
        }
        g_assert_true(reads_eof(fd, TB_HANG_SECONDS));
        ring_client_close(&c);
        close(fd);
        wait_clients(bus, path, 0);
        tb_delete_ok(bus, path);
}

/* fds a client sends on its socket are closed by tund, never kept: the pipe's reading
 * end sees end-of-file once tund closed its copy of the writing end. */
static void test_passed_fds_closed(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, NULL);
        unsigned fds_before = count_fds_of(tb_tund_pid(env));
        int fd = open_ring(bus, path, false), pipefd[2];
        union {
                struct cmsghdr c;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = (void *) "x", .iov_len = 1 };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control) };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
        RingClient c;

        g_assert_cmpint(ring_client_open(&c, fd), ==, 0);
        g_assert_cmpint(pipe(pipefd), ==, 0);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &pipefd[1], sizeof(int));
        for (unsigned i = 0; i < 10; i++)
                g_assert_cmpint(sendmsg(fd, &m, 0), ==, 1);
        close(pipefd[1]);

        struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
        g_assert_cmpint(poll(&p, 1, TB_HANG_SECONDS * 1000), ==, 1);
        g_assert_true(p.revents & POLLHUP);
        g_assert_cmpuint(get_clients(bus, path), ==, 1);

        close(pipefd[0]);
        ring_client_close(&c);
        close(fd);
        wait_clients(bus, path, 0);
        wait_freed(env, fds_before);
        tb_delete_ok(bus, path);
}

static bool ended(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLRDHUP };

        return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP));
}

/* ---- A full ring ------------------------------------------------------------------------ */

#define FULL_PORT       9009u
#define FULL_FIRST      56u             /* sent before the client consumes, of its 64 entries */
#define FULL_EXTRA      2000u           /* sent while the client consumes slowly */
#define FULL_GAP_MAX_US 25000           /* a pause of the client well within tund's bound */
#define FULL_TXQUEUELEN "4096"          /* the device's queue holds all that waits there */

/* CPU time (clock ticks) of tund's device readers so far. */
static uint64_t reader_ticks(pid_t pid) {
        g_autofree char *dir_path = g_strdup_printf("/proc/%d/task", (int) pid);
        g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
        const char *tid;
        uint64_t ticks = 0;

        g_assert_nonnull(dir);
        while ((tid = g_dir_read_name(dir))) {
                g_autofree char *path = g_strdup_printf("%s/%s/stat", dir_path, tid);
                g_autofree char *stat = NULL;
                unsigned long utime = 0, stime = 0;
                const char *end;

                if (!g_file_get_contents(path, &stat, NULL, NULL) || !strstr(stat, "(dp-reader)"))
                        continue;
                end = strrchr(stat, ')');
                /* After the name: state, then fields 4 to 13, then utime and stime. */
                g_assert_cmpint(sscanf(end + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                                       &utime, &stime), ==, 2);
                ticks += utime + stime;
        }
        return ticks;
}

static void send_udp(int fd, unsigned n) {
        struct sockaddr_storage ss;
        socklen_t sl = make_addr(AF_INET, "10.93.0.2", FULL_PORT, &ss);
        uint8_t payload[100] = {};

        for (unsigned i = 0; i < n; i++)
                g_assert_cmpint(sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *) &ss, sl), ==, sizeof(payload));
}

/* Whether a packet the client read is one of send_udp()'s. */
static bool is_full_packet(const uint8_t *pkt, int len) {
        return len >= 28 && (pkt[0] >> 4) == 4 && pkt[9] == IPPROTO_UDP &&
               ((pkt[22] << 8) | pkt[23]) == FULL_PORT;
}

typedef struct SlowConsumer {
        RingClient *c;
        unsigned want, got;
        int sent;               /* __atomic: the sender is done */
        gint64 last, max_gap;   /* µs between looks at the ring */
        pthread_t thread;
} SlowConsumer;

/* One packet, released, then a pause far shorter than tund's bound (50 ms for a device's
 * only client), until all came or, once all were sent, nothing more comes. */
static void *slow_consume(void *userdata) {
        SlowConsumer *s = userdata;
        static uint8_t buf[65536];

        for (unsigned idle = 0; s->got < s->want && idle < 400;) {
                int n = ring_client_recv(s->c, buf, sizeof(buf));
                gint64 now = g_get_monotonic_time();

                if (s->last > 0)
                        s->max_gap = MAX(s->max_gap, now - s->last);
                s->last = now;

                g_assert_cmpint(n, >=, 0);
                if (n == 0) {
                        if (__atomic_load_n(&s->sent, __ATOMIC_ACQUIRE))
                                idle++;
                        g_usleep(500);
                        continue;
                }
                idle = 0;
                ring_client_release(s->c);
                if (is_full_packet(buf, n))
                        s->got++;
                g_usleep(500);
        }
        return NULL;
}

/* The packets the kernel dropped because the device's queue was full: they waited there
 * while the client's ring was full, past what the queue holds. */
static uint64_t kernel_queue_drops(const char *ns, const char *ifname) {
        g_autofree char *path = g_strdup_printf("/sys/class/net/%s/statistics/tx_dropped", ifname);
        g_autofree char *out = NULL;

        g_assert_cmpint(run_command_capture(&out, "ip", "netns", "exec", ns, "cat", path, NULL), ==, 0);
        return g_ascii_strtoull(out, NULL, 10);
}

/* A device of one ring client with a ring of 64 entries, in namespace ns_a with a queue of
 * txqueuelen, and a UDP socket there that sends through it (send_udp). */
typedef struct FullRing {
        GDBusConnection *bus;
        char *path;
        int fd, tx;
        RingClient c;
} FullRing;

static void full_ring_open(TbEnv *env, FullRing *f, const char *txqueuelen) {
        g_autoptr(GError) error = NULL;

        f->bus = tb_env_bus(env);
        f->path = tb_create_ok(f->bus, if_a, NULL);
        f->fd = tb_open_packet_fd(f->bus, f->path, sized(64, 4096), &error);
        g_assert_no_error(error);
        g_assert_cmpint(netns_setup(ns_a, if_a, "10.93.0.1/24", NULL, MTU), ==, 0);
        g_assert_cmpint(run_command("ip", "-n", ns_a, "link", "set", if_a, "txqueuelen", txqueuelen, NULL), ==, 0);
        g_assert_cmpint(ring_client_open(&f->c, f->fd), ==, 0);
        f->tx = socket_in_netns(ns_a, AF_INET, SOCK_DGRAM, 0);
        g_assert_cmpint(f->tx, >=, 0);
}

static void full_ring_close(FullRing *f) {
        close(f->tx);
        ring_client_close(&f->c);
        close(f->fd);
        wait_clients(f->bus, f->path, 0);
        tb_delete_ok(f->bus, f->path);
        g_free(f->path);
        netns_remove(ns_a);
}

/* Nearly fills f's ring, then sends FULL_EXTRA more, faster than the slow consumer takes
 * them but never more than the kernel's queue holds (FULL_TXQUEUELEN): they wait there
 * while the ring is full. Returns whether the client always made room well within tund's
 * bound (the machine is shared, its threads may pause longer), and then nothing was
 * dropped. */
static bool fill_then_consume(TbEnv *env, FullRing *f) {
        SlowConsumer s = { .c = &f->c, .want = FULL_FIRST + FULL_EXTRA };
        uint64_t drops = get_statistic(f->bus, f->path, "drops_queue_full"), ticks;
        uint64_t kernel_drops = kernel_queue_drops(ns_a, if_a);
        gint64 start;

        /* Nearly full (other packets of the link may take entries too), none released. */
        send_udp(f->tx, FULL_FIRST);
        for (unsigned i = 0; i < TB_HANG_SECONDS * 1000 &&
                             __atomic_load_n(f->c.rx.producer, __ATOMIC_ACQUIRE) - f->c.rx_cons < FULL_FIRST; i++)
                g_usleep(1000);
        g_assert_cmpuint(__atomic_load_n(f->c.rx.producer, __ATOMIC_ACQUIRE) - f->c.rx_cons, >=, FULL_FIRST);

        ticks = reader_ticks(tb_tund_pid(env));
        start = g_get_monotonic_time();
        g_assert_cmpint(pthread_create(&s.thread, NULL, slow_consume, &s), ==, 0);
        for (unsigned sent = 0; sent < FULL_EXTRA; sent += 100) {
                send_udp(f->tx, 100);
                g_usleep(50 * 1000);
        }
        __atomic_store_n(&s.sent, 1, __ATOMIC_RELEASE);
        pthread_join(s.thread, NULL);
        ticks = reader_ticks(tb_tund_pid(env)) - ticks;
        drops = get_statistic(f->bus, f->path, "drops_queue_full") - drops;
        kernel_drops = kernel_queue_drops(ns_a, if_a) - kernel_drops;
        g_test_message("%u packets in %" G_GINT64_FORMAT " ms, %" G_GUINT64_FORMAT " dropped, %"
                       G_GUINT64_FORMAT " of them by the kernel, the longest pause %"
                       G_GINT64_FORMAT " µs, the reader's CPU %" G_GUINT64_FORMAT " ticks",
                       s.got, (g_get_monotonic_time() - start) / 1000, drops, kernel_drops, s.max_gap, ticks);
        /* None lost without being counted (drops_queue_full includes the kernel's); a loose
         * bound on the CPU: a reader that looked again and again would take far more. */
        g_assert_cmpuint(drops, >=, kernel_drops);
        g_assert_cmpuint(s.got + drops, ==, s.want);
        g_assert_cmpuint(ticks, <=, (uint64_t) sysconf(_SC_CLK_TCK) / 10);
        if (s.max_gap >= FULL_GAP_MAX_US)
                return false;
        g_assert_cmpuint(drops, ==, 0);
        g_assert_cmpuint(kernel_drops, ==, 0);
        return true;
}

/* A client fills its ring, then consumes more slowly than packets come: each one reaches
 * it, none is dropped, and tund's reader sleeps meanwhile rather than spinning. A round in
 * which the client paused near the bound proves nothing about losses (it may have been
 * stalled, and counted): it is run again, a few times at most. */
static void test_full_slow_consumer(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        bool proven = false;
        FullRing f;

        full_ring_open(env, &f, FULL_TXQUEUELEN);
        for (unsigned round = 0; round < 5 && !proven; round++)
                proven = fill_then_consume(env, &f);
        if (!proven)
                g_test_message("the client paused past %u µs in every round: losses not checked", FULL_GAP_MAX_US);
        full_ring_close(&f);
}

#define QUEUE_SMALL_LEN "16"
#define QUEUE_BURST     400u

/* The device's packets wait in the kernel's queue while the client's ring is full; what the
 * queue cannot hold the kernel drops, and Statistics counts those too (drops_queue_full):
 * every packet is delivered or counted. */
static void test_full_kernel_queue(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        static uint8_t buf[65536];
        unsigned got = 0;
        FullRing f;

        full_ring_open(env, &f, QUEUE_SMALL_LEN);
        uint64_t drops = get_statistic(f.bus, f.path, "drops_queue_full");
        uint64_t kernel_drops = kernel_queue_drops(ns_a, if_a);

        /* Far more than the ring (64) and the queue (16) hold, none consumed meanwhile. */
        send_udp(f.tx, QUEUE_BURST);
        for (unsigned idle = 0; idle < 200;) {
                int n = ring_client_recv(&f.c, buf, sizeof(buf));

                g_assert_cmpint(n, >=, 0);
                if (n == 0) {
                        idle++;
                        g_usleep(1000);
                        continue;
                }
                idle = 0;
                ring_client_release(&f.c);
                if (is_full_packet(buf, n))
                        got++;
        }
        drops = get_statistic(f.bus, f.path, "drops_queue_full") - drops;
        kernel_drops = kernel_queue_drops(ns_a, if_a) - kernel_drops;
        g_test_message("%u of %u packets received, %" G_GUINT64_FORMAT " dropped, %" G_GUINT64_FORMAT
                       " of them by the kernel", got, QUEUE_BURST, drops, kernel_drops);
        g_assert_cmpuint(kernel_drops, >, 0);
        g_assert_cmpuint(drops, >=, kernel_drops);
        g_assert_cmpuint(got + drops, ==, QUEUE_BURST);
        full_ring_close(&f);
}

/* A client that never consumes counts as stalled: its packets are dropped and counted, it
 * keeps its ring, and a transfer through two other devices completes meanwhile. */
static void test_full_stalled(void) {
        TbEnv *env = tb_test_env();
        if (!env || !need_forwarder())
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path_c = tb_create_ok(bus, if_c, NULL);
        int fd = open_ring(bus, path_c, false);
        Blast blast;
        Pair p;

        g_assert_cmpint(netns_setup(ns_c, if_c, "10.92.0.1/24", NULL, MTU), ==, 0);
        uint64_t drops = get_statistic(bus, path_c, "drops_queue_full");
        blast_start(&blast, ns_c, "10.92.0.2");

        pair_start(env, &p, false);
        pair_transfer(&p, AF_INET);
        g_assert_cmpuint(get_statistic(p.bus, p.path_a, "drops_queue_full"), ==, 0);
        g_assert_cmpuint(get_statistic(bus, path_c, "drops_queue_full"), >, drops);
        g_assert_cmpuint(get_clients(bus, path_c), ==, 1);
        g_assert_false(ended(fd));

        blast_stop(&blast);
        pair_finish(&p, true);
        close(fd);
        wait_clients(bus, path_c, 0);
        tb_delete_ok(bus, path_c);
        netns_remove(ns_c);
}

/* ---- Hostile clients ---------------------------------------------------------------------- */

typedef enum Hostility {
        HOSTILE_SCRIBBLE,       /* random words all over its memory, now and then all of it */
        HOSTILE_WAKE_FLOOD,     /* wake-up messages as fast as it can */
        HOSTILE_BLOCKING,       /* O_NONBLOCK cleared, its receive queue left full */
        HOSTILE_INDICES,        /* indices far ahead and behind, descriptors of all flags */
        HOSTILE_FLIP,           /* valid packets whose headers change while tund reads them */
        HOSTILE_COUNT,
} Hostility;

typedef struct Hostile {
        GDBusConnection *bus;
        const char *path;
        Hostility how;
        unsigned rings;         /* opened, each ended by tund or at the stop */
        int stop;               /* __atomic */
        pthread_t thread;
} Hostile;

static void scribble_round(RingClient *c, uint64_t *state) {
        for (unsigned i = 0; i < 4096; i++) {
                *state ^= *state << 13, *state ^= *state >> 7, *state ^= *state << 17;
                size_t off = (*state >> 16) % (c->size / 4) * 4;
                memcpy(c->mem + off, state, 4);
        }
        if ((*state & 0xff) == 0)
                fill_random(c->mem, c->size, state);
}

/* Consumes everything, with both flags left set: tund wakes it at each flush, and it never
 * reads the wake-ups, so its socket's receive queue fills. */
static void blocking_round(RingClient *c) {
        __atomic_store_n(c->rx.need_wakeup, 1, __ATOMIC_RELAXED);
        __atomic_store_n(c->tx.need_room, 1, __ATOMIC_RELAXED);
        c->rx_cons = __atomic_load_n(c->rx.producer, __ATOMIC_ACQUIRE);
        __atomic_store_n(c->rx.consumer, c->rx_cons, __ATOMIC_RELEASE);
        g_usleep(1000);
}

static void indices_round(RingClient *c, uint64_t *state) {
        *state ^= *state << 13, *state ^= *state >> 7, *state ^= *state << 17;
        uint32_t v = (uint32_t) *state, p = __atomic_load_n(c->rx.producer, __ATOMIC_ACQUIRE);

        switch (v % 4) {
        case 0: __atomic_store_n(c->rx.consumer, p + c->mask + 1 + v % 1000, __ATOMIC_RELEASE); break;
        case 1: __atomic_store_n(c->rx.consumer, p - c->mask - 1 - v % 1000, __ATOMIC_RELEASE); break;
        case 2: __atomic_store_n(c->tx.producer, c->tx_prod - 1 - v % 1000, __ATOMIC_RELEASE); break;
        default:
                put_desc(c, 1 + v % c->slot_size, 0xffff);
                ring_client_publish(c);
        }
        g_usleep(200);
}

#define FLIP_PACKETS 32u

/* Publishes a train of valid UDP packets of one flow (which tund would coalesce), then
 * rewrites their IP and UDP headers with random bytes and back, again and again, while
 * tund parses and copies them out of the slots. */
static void flip_round(RingClient *c, uint64_t *state) {
        static const uint8_t saddr[4] = { 10, 92, 0, 2 }, daddr[4] = { 10, 92, 0, 1 };
        uint8_t pkt[1100], payload[1000] = {};
        size_t len = packet_build_udp4(pkt, saddr, daddr, 4000, 4001, payload, sizeof(payload));
        uint32_t first = c->tx_prod;
        unsigned n = 0;

        while (n < FLIP_PACKETS && ring_client_send(c, pkt, len) == 0)
                n++;
        ring_client_publish(c);
        for (unsigned k = 0; k < 200; k++)
                for (unsigned i = 0; i < n; i++) {
                        uint8_t *slot = c->tx.slots + (size_t) ((first + i) & c->mask) * c->slot_size;
                        *state ^= *state << 13, *state ^= *state >> 7, *state ^= *state << 17;
                        memcpy(slot + (*state >> 8) % 24, state, 4);    /* within IP + UDP headers */
                        if (k % 2)
                                memcpy(slot, pkt, 28);
                }
        g_usleep(200);
}

static void *hostile(void *userdata) {
        Hostile *h = userdata;
        uint64_t state = 0x2545f4914f6cdd1dull + h->how;

        while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
                int fd = open_ring(h->bus, h->path, h->how == HOSTILE_SCRIBBLE && h->rings % 2);
                RingClient c;

                g_assert_cmpint(ring_client_open(&c, fd), ==, 0);
                if (h->how == HOSTILE_BLOCKING)
                        g_assert_cmpint(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK), ==, 0);
                h->rings++;
                while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED) && !ended(fd))
                        switch (h->how) {
                        case HOSTILE_SCRIBBLE:
                                /* The blast's one flow may reach another client: a wake-up
                                 * makes tund look at this ring's own side. */
                                scribble_round(&c, &state);
                                (void) send(fd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
                                break;
                        case HOSTILE_WAKE_FLOOD:
                                (void) send(fd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
                                break;
                        case HOSTILE_BLOCKING:
                                blocking_round(&c);
                                break;
                        case HOSTILE_FLIP:
                                flip_round(&c, &state);
                                break;
                        default:
                                indices_round(&c, &state);
                        }
                ring_client_close(&c);
                close(fd);
        }
        return NULL;
}

/* Clients that scribble over all their shared memory, flood wake-ups, clear O_NONBLOCK and
 * leave their receive queue full, write bad indices and descriptors, or change the headers
 * of valid packets while tund reads them, on a device that
 * gets packets: tund neither crashes nor stalls nor leaks (the rings hold nothing
 * afterwards), and a transfer through a ring pair on two other devices completes. */
static void test_hostile(void) {
        TbEnv *env = tb_test_env();
        if (!env || !need_forwarder())
                return;
        GDBusConnection *bus = tb_env_bus(env);
        unsigned fds_before = count_fds_of(tb_tund_pid(env));
        g_autofree char *path_c = tb_create_ok(bus, if_c, NULL);
        Hostile h[HOSTILE_COUNT];
        Blast blast;
        Pair p;

        g_assert_cmpint(netns_setup(ns_c, if_c, "10.92.0.1/24", NULL, MTU), ==, 0);
        blast_start(&blast, ns_c, "10.92.0.2");
        for (unsigned i = 0; i < HOSTILE_COUNT; i++) {
                h[i] = (Hostile) { .bus = bus, .path = path_c, .how = (Hostility) i };
                g_assert_cmpint(pthread_create(&h[i].thread, NULL, hostile, &h[i]), ==, 0);
        }

        pair_start(env, &p, false);
        pair_transfer(&p, AF_INET);
        pair_transfer(&p, AF_INET6);
        g_assert_cmpuint(get_statistic(p.bus, p.path_a, "drops_invalid"), ==, 0);

        for (unsigned i = 0; i < HOSTILE_COUNT; i++) {
                __atomic_store_n(&h[i].stop, 1, __ATOMIC_RELAXED);
                pthread_join(h[i].thread, NULL);
                g_test_message("hostile client %u: %u rings", i, h[i].rings);
        }
        blast_stop(&blast);
        g_test_message("drops_invalid %" G_GUINT64_FORMAT ", rx %" G_GUINT64_FORMAT ", tx %" G_GUINT64_FORMAT
                       ", merged %" G_GUINT64_FORMAT,
                       get_statistic(bus, path_c, "drops_invalid"), get_statistic(bus, path_c, "rx_packets"),
                       get_statistic(bus, path_c, "tx_packets"), get_statistic(bus, path_c, "gro_merged"));
        g_assert_cmpuint(h[HOSTILE_SCRIBBLE].rings, >, 1);
        g_assert_cmpuint(get_statistic(bus, path_c, "drops_invalid"), >, 0);
        /* The flipper's packets that stayed whole were taken and coalesced. */
        g_assert_cmpuint(get_statistic(bus, path_c, "gro_merged"), >, 0);
        pair_finish(&p, true);

        wait_clients(bus, path_c, 0);
        tb_delete_ok(bus, path_c);
        netns_remove(ns_c);
        wait_freed(env, fds_before);
}

/* ---- Many rings, and a killed client ---------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#  define UNDER_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define UNDER_ASAN 1
#  endif
#endif
#ifndef UNDER_ASAN
#  define UNDER_ASAN 0
#endif

static uint64_t rss_kib_of(pid_t pid) {
        g_autofree char *path = g_strdup_printf("/proc/%d/status", (int) pid);
        g_autofree char *status = NULL;
        const char *line;
        unsigned long kib = 0;

        g_assert_true(g_file_get_contents(path, &status, NULL, NULL));
        line = strstr(status, "VmRSS:");
        g_assert_nonnull(line);
        g_assert_cmpint(sscanf(line, "VmRSS: %lu", &kib), ==, 1);
        return kib;
}

/* A child that consumes the ring fd it inherited until it is killed. */
static pid_t consumer_child(int fd) {
        pid_t pid = fork();

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                static uint8_t buf[65536];
                RingClient c;

                if (ring_client_open(&c, fd) < 0)
                        _exit(1);
                for (;;) {
                        while (ring_client_recv(&c, buf, sizeof(buf)) > 0)
                                ring_client_release(&c);
                        if (ring_client_wait(&c, 1000) < 0)
                                _exit(0);
                }
        }
        return pid;
}

static void kill_child(pid_t pid) {
        g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
        g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
}

/* While packets flow to the device: a client killed with SIGKILL as it consumes, then 100
 * rings opened, used and closed; tund's fds, ring mappings and memory are back to where
 * they were. */
static void test_cycles(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        pid_t tund = tb_tund_pid(env);
        g_autofree char *path = tb_create_ok(bus, if_c, NULL);
        Blast blast;

        g_assert_cmpint(netns_setup(ns_c, if_c, "10.92.0.1/24", NULL, MTU), ==, 0);
        blast_start(&blast, ns_c, "10.92.0.2");
        /* One ring first: what a device with traffic holds anyway (its reader) is counted. */
        int warm = open_ring(bus, path, false);
        pid_t child = consumer_child(warm);
        close(warm);
        wait_statistic_above(bus, path, "rx_packets", 1000);
        kill_child(child);
        wait_clients(bus, path, 0);
        unsigned fds_before = count_fds_of(tund);
        uint64_t rss_before = rss_kib_of(tund);

        for (unsigned i = 0; i < 100; i++) {
                int fd = open_ring(bus, path, i % 2);
                RingClient c;
                static uint8_t buf[65536];

                g_assert_cmpint(ring_client_open(&c, fd), ==, 0);
                for (unsigned k = 0; k < 20; k++) {
                        while (ring_client_recv(&c, buf, sizeof(buf)) > 0)
                                ring_client_release(&c);
                        g_usleep(500);
                }
                ring_client_close(&c);
                close(fd);
                if (i == 50) {
                        fd = open_ring(bus, path, false);
                        child = consumer_child(fd);
                        close(fd);
                        g_usleep(50 * 1000);
                        kill_child(child);
                }
        }
        wait_clients(bus, path, 0);
        blast_stop(&blast);
        wait_freed(env, fds_before);
        g_test_message("tund's RSS %" G_GUINT64_FORMAT " KiB before, %" G_GUINT64_FORMAT " KiB after",
                       rss_before, rss_kib_of(tund));
        /* Pages the allocator keeps are fine; 100 rings' touched pages, had they stayed,
         * would be far more. ASan's quarantine keeps what was freed: no bound there. */
        if (!UNDER_ASAN)
                g_assert_cmpuint(rss_kib_of(tund), <=, rss_before + 4096);

        tb_delete_ok(bus, path);
        netns_remove(ns_c);
}

/* ---- The end of a ring ----------------------------------------------------------------- */

/* Closing frees the ring at once; Delete and the service's stop end every ring. */
static void test_end(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path_a = tb_create_ok(bus, if_a, NULL);
        g_autofree char *path_b = tb_create_ok(bus, if_b, NULL);
        int fds[4];

        for (unsigned i = 0; i < 4; i++)
                fds[i] = open_ring(bus, i < 2 ? path_a : path_b, i % 2);
        g_assert_cmpuint(count_rings_of(tb_tund_pid(env)), ==, 4);
        close(fds[0]);
        wait_clients(bus, path_a, 1);

        tb_delete_ok(bus, path_a);
        g_assert_true(reads_eof(fds[1], TB_HANG_SECONDS));
        close(fds[1]);
        for (unsigned i = 0; i < TB_HANG_SECONDS * 50 && count_rings_of(tb_tund_pid(env)) > 2; i++)
                g_usleep(20 * 1000);
        g_assert_cmpuint(count_rings_of(tb_tund_pid(env)), ==, 2);

        g_assert_cmpint(tb_tund_stop(env), ==, 0);
        for (unsigned i = 2; i < 4; i++) {
                g_assert_true(reads_eof(fds[i], TB_HANG_SECONDS));
                close(fds[i]);
        }
        g_assert_true(tb_wait_link_gone(if_b));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        ns_a = tb_ifname("tga");
        ns_b = tb_ifname("tgb");
        ns_c = tb_ifname("tgc");
        if_a = tb_ifname("tgd");
        if_b = tb_ifname("tge");
        if_c = tb_ifname("tgf");
        signal(SIGPIPE, SIG_IGN);
        g_test_add_func("/ring/options", test_options);
        g_test_add_func("/ring/sealed", test_sealed);
        g_test_add_func("/ring/plain-traffic", test_plain_traffic);
        g_test_add_func("/ring/vnet-traffic", test_vnet_traffic);
        g_test_add_func("/ring/bad-descriptors", test_bad_descriptors);
        g_test_add_func("/ring/keeps-breaking", test_keeps_breaking);
        g_test_add_func("/ring/passed-fds-closed", test_passed_fds_closed);
        g_test_add_func("/ring/full-slow-consumer", test_full_slow_consumer);
        g_test_add_func("/ring/full-kernel-queue", test_full_kernel_queue);
        g_test_add_func("/ring/full-stalled", test_full_stalled);
        g_test_add_func("/ring/hostile", test_hostile);
        g_test_add_func("/ring/cycles", test_cycles);
        g_test_add_func("/ring/end", test_end);
        return tb_test_run();
}
