/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* OpenPacketFd end to end, as root, through the bus test harness: a private system bus with
 * the project's policy file, real polkitd, tund itself. Who may open a packet fd (owner,
 * polkit, root), what bad options get, and real traffic between two namespaces through two
 * tund devices and a forwarding client (dataplane-forward) between their packet fds. */

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dataplane.h"
#include "harness.h"
#include "packet-check.h"
#include "pair.h"
#include "tb-netns.h"
#include "traffic.h"

#define MTU 1500u
#define INVALID_ARGS "org.freedesktop.DBus.Error.InvalidArgs"
#define ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"
#define INTERACTIVE "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"
#define UNKNOWN_OBJECT "org.freedesktop.DBus.Error.UnknownObject"

/* Namespaces and devices carry the PID (set in main()): test runs of other worktrees on the
 * same machine use other names. */
static char *ns_a, *ns_b, *ns_c, *if_a, *if_b, *if_c;

static bool need_forwarder(void) {
        if (!g_getenv("DATAPLANE_FORWARD") || !g_getenv("PFD_USER")) {
                g_test_skip("needs DATAPLANE_FORWARD and PFD_USER (set by meson test)");
                return false;
        }
        return true;
}

static int open_mode_fd(GDBusConnection *bus, const char *path, const char *mode) {
        g_autoptr(GError) error = NULL;
        int fd = tb_open_packet_fd(bus, path, tb_options("Mode", g_variant_new_string(mode), NULL), &error);

        g_assert_no_error(error);
        g_assert_cmpint(fd, >=, 0);
        return fd;
}

static int socket_bound(const char *ns, const char *addr, uint16_t port) {
        struct sockaddr_storage ss;
        socklen_t sl = make_addr(AF_INET, addr, port, &ss);
        int fd = socket_in_netns(ns, AF_INET, SOCK_DGRAM, 0);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(bind(fd, (struct sockaddr *) &ss, sl), ==, 0);
        return fd;
}

/* ---- Authorization ------------------------------------------------------------------------- */

#define AUTH_DEVICE_ADDR "10.93.0.1"
#define AUTH_USER_ADDR "10.93.0.2"
#define AUTH_PORT 7000

typedef struct UserRun {
        GPid pid;
        int out;
        int status;
        bool exited;
        char *output;
} UserRun;

/* Starts pfd-user as USER: OpenPacketFd on PATH and, when EXCHANGE, UDP through the fd. */
static void user_start(TbEnv *env, const TbUser *user, const char *path, bool exchange, UserRun *run) {
        g_autofree char *reuid = g_strdup_printf("--reuid=%u", (unsigned) user->uid);
        g_autofree char *regid = g_strdup_printf("--regid=%u", (unsigned) user->gid);
        g_autofree char *address = g_strconcat("DBUS_SYSTEM_BUS_ADDRESS=", tb_env_address(env), NULL);
        g_autofree char *port = g_strdup_printf("%u", AUTH_PORT);
        const char *argv[] = { "setpriv", reuid, regid, "--clear-groups", "--", "env", address,
                               tb_env_user_program(env, g_getenv("PFD_USER")), path,
                               exchange ? AUTH_USER_ADDR : NULL, AUTH_DEVICE_ADDR, port, NULL };
        g_autoptr(GError) error = NULL;

        *run = (UserRun) { .out = -1 };
        g_assert_true(g_spawn_async_with_pipes(NULL, (char **) argv, NULL,
                                               G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                                               NULL, NULL, &run->pid, NULL, &run->out, NULL, &error));
        g_assert_no_error(error);
}

static bool user_poll_exit(UserRun *run) {
        if (!run->exited && waitpid(run->pid, &run->status, WNOHANG) == run->pid)
                run->exited = true;
        return run->exited;
}

/* Waits for its exit (it gives up by itself after a minute) and keeps its output. */
static void user_finish(UserRun *run) {
        run->output = read_all(run->out);
        close(run->out);
        if (!run->exited)
                g_assert_cmpint(waitpid(run->pid, &run->status, 0), ==, run->pid);
        run->exited = true;
        g_spawn_close_pid(run->pid);
        g_test_message("pfd-user: %s", run->output);
}

/* The user's OpenPacketFd fails with ERROR_NAME. */
static void assert_user_refused(TbEnv *env, const TbUser *user, const char *path, const char *error_name) {
        g_autofree char *expected = g_strdup_printf("error %s\n", error_name);
        UserRun run;

        user_start(env, user, path, false, &run);
        user_finish(&run);
        g_assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
        g_assert_cmpstr(run.output, ==, expected);
        g_free(run.output);
}

/* The user opens a packet fd and uses it as a TUN fd: its datagram reaches a socket in the
 * device's namespace, and the reply sent there comes back to it through the fd. */
static void assert_user_exchanges(TbEnv *env, const TbUser *user, const char *path) {
        struct sockaddr_storage to;
        socklen_t to_len = make_addr(AF_INET, AUTH_USER_ADDR, AUTH_PORT + 1, &to);
        int rx = socket_bound(ns_a, AUTH_DEVICE_ADDR, AUTH_PORT);
        bool got_request = false;
        struct timeval tv = { .tv_usec = 200 * 1000 };
        char buf[64];
        UserRun run;

        g_assert_cmpint(setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), ==, 0);
        user_start(env, user, path, true, &run);
        /* The user resends until it has the reply; this side replies to what arrived. */
        for (unsigned i = 0; i < TB_HANG_SECONDS * 5 && !user_poll_exit(&run); i++) {
                ssize_t n = recv_retry(rx, buf, sizeof(buf), 0);
                if (n == 8 && memcmp(buf, "pfd-user", 8) == 0)
                        got_request = true;
                if (got_request)
                        g_assert_cmpint(sendto(rx, "pfd-reply", 9, 0, (struct sockaddr *) &to, to_len), ==, 9);
        }
        user_finish(&run);
        close(rx);
        g_assert_true(got_request);
        g_assert_true(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0);
        g_assert_cmpstr(run.output, ==, "opened\nreceived\n");
        g_free(run.output);
}

/* A device owned by an unprivileged user (created for it by root): the owner needs no
 * polkit, a user polkit refuses gets AccessDenied, one without a rule would be asked
 * (challenge), one polkit allows and root succeed. */
static void test_authorization(void) {
        TbEnv *env = tb_test_env();
        if (!env || !need_forwarder())
                return;
        GDBusConnection *bus = tb_env_bus(env);
        const TbUser *owner = tb_env_user(env, TB_ROLE_NOBODY);
        g_autofree char *path = tb_create_ok(bus, if_a, tb_options("Owner", g_variant_new_uint32(owner->uid), NULL));
        g_autoptr(GError) error = NULL;

        g_assert_cmpint(netns_setup(ns_a, if_a, AUTH_DEVICE_ADDR "/24", NULL, MTU), ==, 0);

        assert_user_exchanges(env, owner, path);
        wait_clients(bus, path, 0);

        assert_user_refused(env, tb_env_user(env, TB_ROLE_DENIED), path, ACCESS_DENIED);
        assert_user_refused(env, tb_env_user(env, TB_ROLE_CREATE), path, INTERACTIVE);
        g_assert_cmpuint(get_clients(bus, path), ==, 0);

        assert_user_exchanges(env, tb_env_user(env, TB_ROLE_MANAGE), path);
        wait_clients(bus, path, 0);

        int fd = tb_open_packet_fd(bus, path, NULL, &error);
        g_assert_no_error(error);
        int type = 0;
        socklen_t type_len = sizeof(type);
        g_assert_cmpint(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len), ==, 0);
        g_assert_cmpint(type, ==, SOCK_SEQPACKET);
        wait_clients(bus, path, 1);
        close(fd);
        wait_clients(bus, path, 0);

        tb_delete_ok(bus, path);
        netns_remove(ns_a);
}

static void assert_open_fails(GDBusConnection *bus, const char *path, GVariant *options, const char *error_name) {
        g_autoptr(GError) error = NULL;

        g_assert_cmpint(tb_open_packet_fd(bus, path, options, &error), ==, -1);
        tb_assert_error(error, error_name);
}

static void test_bad_options(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, NULL);

        assert_open_fails(bus, path, tb_options("Mode", g_variant_new_string("bogus"), NULL), INVALID_ARGS);
        assert_open_fails(bus, path, tb_options("Mode", g_variant_new_string(""), NULL), INVALID_ARGS);
        assert_open_fails(bus, path, tb_options("Mode", g_variant_new_uint32(1), NULL), INVALID_ARGS);
        assert_open_fails(bus, path, tb_options("Bogus", g_variant_new_string("packet"), NULL), INVALID_ARGS);
        g_assert_cmpuint(get_clients(bus, path), ==, 0);

        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(if_a));
        assert_open_fails(bus, path, NULL, UNKNOWN_OBJECT);
}

/* ---- Traffic through two devices ----------------------------------------------------------- */

/* A and B in ns_a and ns_b (10.94.0.0/24, fd94::/64), packet fds of MODE bridged. */
static void pair_start(TbEnv *env, Pair *p, const char *mode) {
        pair_setup(p, env, ns_a, if_a, ns_b, if_b, 94, MTU, tb_options("Mode", g_variant_new_string(mode), NULL), mode);
}

static void ping(void) {
        ping_both(ns_a, "10.94.0.2", "fd94::2");
}

/* The client dies: tund sees both fds closed. */
static void pair_finish_by_kill(Pair *p) {
        g_assert_cmpint(kill(p->forwarder, SIGTERM), ==, 0);
        g_assert_cmpint(waitpid(p->forwarder, NULL, 0), ==, p->forwarder);
        p->forwarder = -1;
        close(p->forwarder_out);
        wait_clients(p->bus, p->path_a, 0);
        wait_clients(p->bus, p->path_b, 0);
        tb_delete_ok(p->bus, p->path_a);
        tb_delete_ok(p->bus, p->path_b);
}

/* A's sender hands tund TCP super-packets to split; B's client packets are coalesced. */
static void check_offload_statistics(Pair *p) {
        pair_log_statistics(p);
        g_assert_cmpuint(get_statistic(p->bus, p->path_a, "rx_packets"), >, 0);
        g_assert_cmpuint(get_statistic(p->bus, p->path_b, "tx_packets"), >, 0);
        g_assert_cmpuint(get_statistic(p->bus, p->path_a, "gso_split"), >, 0);
        g_assert_cmpuint(get_statistic(p->bus, p->path_b, "gro_merged"), >, 0);
        g_assert_cmpuint(get_statistic(p->bus, p->path_a, "drops_invalid"), ==, 0);
        g_assert_cmpuint(get_statistic(p->bus, p->path_b, "drops_invalid"), ==, 0);
}

static void test_packet_mode(void) {
        TbEnv *env = tb_test_env();
        if (!env || !need_forwarder())
                return;
        Pair p;

        pair_start(env, &p, "packet");
        ping();
        pair_transfer(&p, AF_INET);
        pair_transfer(&p, AF_INET6);
        udp_sizes(AF_INET, ns_a, ns_b, "10.94.0.2", 6001);
        udp_sizes(AF_INET6, ns_a, ns_b, "fd94::2", 6001);
        check_offload_statistics(&p);
        pair_finish_by_delete(&p, true);
        pair_free(&p);
}

static void test_batch_mode(void) {
        TbEnv *env = tb_test_env();
        if (!env || !need_forwarder())
                return;
        Pair p;

        pair_start(env, &p, "batch");
        pair_transfer(&p, AF_INET);
        pair_transfer(&p, AF_INET6);
        check_offload_statistics(&p);
        pair_finish_by_delete(&p, true);
        pair_free(&p);
}

/* vnet: tund neither splits nor coalesces; the client's death frees both devices' fds. */
static void test_vnet_mode(void) {
        TbEnv *env = tb_test_env();
        if (!env || !need_forwarder())
                return;
        Pair p;

        pair_start(env, &p, "vnet");
        ping();
        pair_transfer(&p, AF_INET);
        pair_transfer(&p, AF_INET6);
        pair_log_statistics(&p);
        g_assert_cmpuint(get_statistic(p.bus, p.path_a, "rx_packets"), >, 0);
        g_assert_cmpuint(get_statistic(p.bus, p.path_a, "gso_split"), ==, 0);
        g_assert_cmpuint(get_statistic(p.bus, p.path_b, "gro_merged"), ==, 0);
        pair_finish_by_kill(&p);
        pair_free(&p);
}

/* ---- Clients coming and going -------------------------------------------------------------- */

static unsigned count_fds_of(pid_t pid) {
        g_autofree char *path = g_strdup_printf("/proc/%d/fd", (int) pid);
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        unsigned n = 0;

        g_assert_nonnull(dir);
        while (g_dir_read_name(dir))
                n++;
        return n;
}

/* 100 times, while packets flow: open fds in every mode, read a little from some, close
 * them all. Clients follows, and tund holds no more fds afterwards than before. */
static void test_reopen_no_leak(void) {
        static const char *const modes[] = { "packet", "batch", "vnet" };
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, NULL);
        Blast blast;
        uint8_t buf[65536 + 10];
        unsigned before;

        g_assert_cmpint(netns_setup(ns_a, if_a, "10.95.0.1/24", NULL, MTU), ==, 0);
        before = count_fds_of(tb_tund_pid(env));
        blast_start(&blast, ns_a, "10.95.0.2");

        for (unsigned round = 0; round < 100; round++) {
                int fds[G_N_ELEMENTS(modes)];
                for (size_t i = 0; i < G_N_ELEMENTS(modes); i++)
                        fds[i] = open_mode_fd(bus, path, modes[(round + i) % G_N_ELEMENTS(modes)]);
                if (round % 10 == 0) {
                        /* Those of earlier rounds are noticed closed a moment later. */
                        wait_clients(bus, path, G_N_ELEMENTS(modes));
                        (void) recv(fds[0], buf, sizeof(buf), MSG_DONTWAIT);
                }
                for (size_t i = 0; i < G_N_ELEMENTS(modes); i++)
                        close(fds[i]);
                /* tund notices closed fds a moment later, and until then they count against
                 * --max-packet-fds-per-device (16): at most 12 may wait. */
                if (round % 4 == 3)
                        wait_clients(bus, path, 0);
        }

        /* The packets reached clients while there were some. */
        int fd = open_mode_fd(bus, path, "packet");
        struct timeval tv = { .tv_sec = TB_HANG_SECONDS };
        g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), ==, 0);
        g_assert_cmpint(recv_retry(fd, buf, sizeof(buf), 0), ==, 20 + 8 + 1400);
        close(fd);

        blast_stop(&blast);
        wait_clients(bus, path, 0);
        for (unsigned i = 0; i < TB_HANG_SECONDS * 50 && count_fds_of(tb_tund_pid(env)) > before; i++)
                g_usleep(20 * 1000);
        g_assert_cmpuint(count_fds_of(tb_tund_pid(env)), <=, before);

        tb_delete_ok(bus, path);
        netns_remove(ns_a);
}

static uint64_t kernel_rx_packets(const char *ns, const char *ifname) {
        g_autofree char *file = g_strdup_printf("/sys/class/net/%s/statistics/rx_packets", ifname);
        char *out = NULL;
        uint64_t n;

        g_assert_cmpint(run_command_capture(&out, "ip", "netns", "exec", ns, "cat", file, NULL), ==, 0);
        g_assert_nonnull(out);
        n = g_ascii_strtoull(out, NULL, 10);
        free(out);
        return n;
}

/* Through tund's Statistics: a batch message whose records do not add up, an empty packet
 * and a packet with a bad checksum are dropped and counted, never written. */
static void test_invalid_counted(void) {
        static const uint8_t src[4] = { 10, 95, 0, 2 }, dst[4] = { 10, 95, 0, 1 };
        static const uint8_t bad_batch[] = { 0x00, 0x30, 0x45, 0x00, 0x00, 0x1c };
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, NULL);
        uint8_t pkt[128];
        size_t len;

        g_assert_cmpint(netns_setup(ns_a, if_a, "10.95.0.1/24", NULL, MTU), ==, 0);
        int batch = open_mode_fd(bus, path, "batch"), packet = open_mode_fd(bus, path, "packet");
        uint64_t before = get_statistic(bus, path, "drops_invalid");

        g_assert_cmpint(send(batch, bad_batch, sizeof(bad_batch), 0), ==, sizeof(bad_batch));
        g_assert_cmpint(send(packet, "", 0, 0), ==, 0);
        len = packet_build_udp4(pkt, src, dst, 6000, 7000, "hello", 5);
        pkt[len - 1] ^= 0x55;   /* payload changed after the checksum was computed */
        g_assert_cmpint(send(packet, pkt, len, 0), ==, (ssize_t) len);

        for (unsigned i = 0; i < TB_HANG_SECONDS * 50 && get_statistic(bus, path, "drops_invalid") < before + 3; i++)
                g_usleep(20 * 1000);
        g_assert_cmpuint(get_statistic(bus, path, "drops_invalid"), ==, before + 3);
        /* Nothing reached the kernel: the TUN's own count of packets written to it. */
        g_assert_cmpuint(kernel_rx_packets(ns_a, if_a), ==, 0);

        close(batch);
        close(packet);
        wait_clients(bus, path, 0);
        tb_delete_ok(bus, path);
        netns_remove(ns_a);
}

static void send_udp_of(int fd, const char *addr, size_t payload) {
        static uint8_t buf[65507];
        struct sockaddr_storage ss;
        socklen_t sl = make_addr(AF_INET, addr, 9, &ss);

        g_assert_cmpint(sendto(fd, buf, payload, 0, (struct sockaddr *) &ss, sl), ==, (ssize_t) payload);
}

/* Waits for the batch message that carries one record of LEN bytes, skipping others (the
 * kernel's own IPv6 chatter on the link). */
static void wait_single_record(int fd, size_t len) {
        static uint8_t buf[65536];
        struct timeval tv = { .tv_sec = TB_HANG_SECONDS };

        g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), ==, 0);
        for (;;) {
                ssize_t n = recv_retry(fd, buf, sizeof(buf), 0);
                g_assert_cmpint(n, >, 2);
                if ((size_t) n == 2 + len && ((size_t) buf[0] << 8 | buf[1]) == len)
                        return;
        }
}

static void wait_statistic(GDBusConnection *bus, const char *path, const char *key, uint64_t value) {
        for (unsigned i = 0; i < TB_HANG_SECONDS * 50 && get_statistic(bus, path, key) < value; i++)
                g_usleep(20 * 1000);
        g_assert_cmpuint(get_statistic(bus, path, key), ==, value);
}

/* MTU 65535: a kernel packet of 65533 bytes reaches a batch client as one record that
 * fills a message; one of 65534 bytes, which no record can hold, is counted in
 * drops_too_long and not as the client's invalid input. */
static void test_too_long_counted(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, tb_options("MTU", g_variant_new_uint32(65535), NULL));

        g_assert_cmpint(netns_setup(ns_a, if_a, "10.95.0.1/24", NULL, 65535), ==, 0);
        int batch = open_mode_fd(bus, path, "batch");
        int tx = socket_in_netns(ns_a, AF_INET, SOCK_DGRAM, 0);
        g_assert_cmpint(tx, >=, 0);

        send_udp_of(tx, "10.95.0.2", 65533 - 28);
        wait_single_record(batch, 65533);
        g_assert_cmpuint(get_statistic(bus, path, "drops_too_long"), ==, 0);

        send_udp_of(tx, "10.95.0.2", 65534 - 28);
        send_udp_of(tx, "10.95.0.2", 65535 - 28);
        wait_statistic(bus, path, "drops_too_long", 2);
        g_assert_cmpuint(get_statistic(bus, path, "drops_invalid"), ==, 0);

        close(tx);
        close(batch);
        wait_clients(bus, path, 0);
        tb_delete_ok(bus, path);
        netns_remove(ns_a);
}

/* ---- What clients cost --------------------------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define FLOOD_FDS 16u                   /* max-packet-fds-per-device's default */
#define FLOOD_SECONDS 3
#define MEMORY_SLACK ((size_t) 8u << 20) /* allocator and bus bookkeeping, cached stacks */

/* A number from /proc/PID/status ("Threads", or "VmRSS" and "VmHWM" in KiB). */
static uint64_t proc_status(pid_t pid, const char *key) {
        g_autofree char *path = g_strdup_printf("/proc/%d/status", (int) pid);
        g_autofree char *needle = g_strdup_printf("\n%s:", key);
        g_autofree char *text = NULL;
        const char *p;

        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        p = strstr(text, needle);
        g_assert_nonnull(p);
        return g_ascii_strtoull(p + strlen(needle), NULL, 10);
}

typedef struct FloodMessage {
        uint8_t data[10 + 65535];
        size_t len;
} FloodMessage;

/* The largest message of each mode, made of a valid 64 KiB UDP packet: the most a client can
 * make tund receive and coalesce. */
static void flood_messages(FloodMessage msgs[3]) {
        static const uint8_t src[4] = { 10, 98, 0, 2 }, dst[4] = { 10, 98, 0, 1 };
        static uint8_t payload[65507];

        msgs[0].len = packet_build_udp4(msgs[0].data, src, dst, 5000, 9, payload, 65535 - 28);
        size_t n = packet_build_udp4(msgs[1].data + 2, src, dst, 5001, 9, payload, 65533 - 28);
        msgs[1].data[0] = n >> 8;
        msgs[1].data[1] = n & 0xff;
        msgs[1].len = 2 + n;
        memset(msgs[2].data, 0, 10);    /* a virtio_net_hdr of GSO_NONE */
        msgs[2].len = 10 + packet_build_udp4(msgs[2].data + 10, src, dst, 5002, 9, payload, 65535 - 28);
}

/* Sends each fd its mode's message as fast as tund takes them, for FLOOD_SECONDS. */
static void flood(const int *fds, size_t n, const FloodMessage msgs[3]) {
        gint64 end = g_get_monotonic_time() + FLOOD_SECONDS * G_USEC_PER_SEC;
        uint64_t sent[FLOOD_FDS] = {};

        while (g_get_monotonic_time() < end)
                for (size_t i = 0; i < n; i++)
                        if (send(fds[i], msgs[i % 3].data, msgs[i % 3].len, MSG_DONTWAIT) > 0)
                                sent[i]++;
        for (size_t i = 0; i < n; i++) {
                g_test_message("fd %zu took %" G_GUINT64_FORMAT " messages of 64 KiB", i, sent[i]);
                g_assert_cmpuint(sent[i], >, 0);
        }
}

/* FLOOD_FDS fds on one device (packet, batch and vnet in turn), flooded with their largest
 * messages: tund's memory stays within its base and DATAPLANE_CLIENT_MEMORY_MAX a fd, it
 * runs 1 + devices + fds threads, and when the fds close both go back. */
static void test_client_cost_bounded(void) {
        static const char *const modes[] = { "packet", "batch", "vnet" };
        static FloodMessage msgs[3];
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        /* A tund of its own, whose peak (VmHWM) is this test's, and which touches only
         * the memory it uses (meson test sets MALLOC_PERTURB_, which fills every allocation). */
        static const char *const no_perturb[] = { "MALLOC_PERTURB_", "0", NULL };
        g_assert_cmpint(tb_tund_stop(env), ==, 0);
        tb_tund_spawn_with_env(env, no_perturb);
        for (unsigned i = 0; i < TB_HANG_SECONDS * 50 && !tb_name_has_owner(env, TB_BUS_NAME); i++)
                g_usleep(20 * 1000);
        g_assert_true(tb_name_has_owner(env, TB_BUS_NAME));
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, NULL);
        pid_t pid = tb_tund_pid(env);
        int fds[FLOOD_FDS];

        g_assert_cmpint(netns_setup(ns_a, if_a, "10.98.0.1/24", NULL, MTU), ==, 0);
        flood_messages(msgs);
        g_assert_cmpuint(proc_status(pid, "Threads"), ==, 1 + 1);
        uint64_t base = proc_status(pid, "VmRSS") * 1024;

        for (size_t i = 0; i < FLOOD_FDS; i++)
                fds[i] = open_mode_fd(bus, path, modes[i % 3]);
        wait_clients(bus, path, FLOOD_FDS);
        g_assert_cmpuint(proc_status(pid, "Threads"), ==, 1 + 1 + FLOOD_FDS);
        uint64_t idle = proc_status(pid, "VmRSS") * 1024;

        flood(fds, FLOOD_FDS, msgs);
        uint64_t peak = proc_status(pid, "VmHWM") * 1024, bound = base + FLOOD_FDS * DATAPLANE_CLIENT_MEMORY_MAX + MEMORY_SLACK;
        g_test_message("tund: %" G_GUINT64_FORMAT " KiB before, %" G_GUINT64_FORMAT " KiB with %u idle fds, "
                       "peak %" G_GUINT64_FORMAT " KiB flooded, bound %" G_GUINT64_FORMAT " KiB",
                       base >> 10, idle >> 10, FLOOD_FDS, peak >> 10, bound >> 10);
        g_assert_cmpuint(get_statistic(bus, path, "tx_packets"), >, 0);
        g_assert_cmpuint(proc_status(pid, "Threads"), ==, 1 + 1 + FLOOD_FDS);

        for (size_t i = 0; i < FLOOD_FDS; i++)
                close(fds[i]);
        wait_clients(bus, path, 0);
        g_assert_cmpuint(proc_status(pid, "Threads"), ==, 1 + 1);
        uint64_t after = proc_status(pid, "VmRSS") * 1024;
        g_test_message("tund: %" G_GUINT64_FORMAT " KiB after the fds closed", after >> 10);
#ifdef UNDER_ASAN
        g_test_message("AddressSanitizer's shadow and quarantine: memory not checked");
#else
        g_assert_cmpuint(idle, <=, base + FLOOD_FDS * (DATAPLANE_CLIENT_MEMORY_MAX / 8));
        g_assert_cmpuint(peak, <=, bound);
        g_assert_cmpuint(after, <=, base + MEMORY_SLACK);
#endif

        tb_delete_ok(bus, path);
        netns_remove(ns_a);
}

/* ---- While traffic flows ------------------------------------------------------------------- */

static void set_offloads(GDBusConnection *bus, const char *path, const char *const *offloads) {
        g_autoptr(GError) error = NULL;
        GVariant *r = tb_call(bus, path, TB_DEVICE_IFACE, "SetOffloads", g_variant_new("(^as)", offloads),
                              NULL, &error);

        g_assert_no_error(error);
        g_variant_unref(r);
}

/* SetOffloads on both devices, back and forth, during a transfer: it still arrives whole
 * and the client keeps its fds. */
static void test_offloads_while_flowing(void) {
        static const char *const none[] = { NULL };
        TbEnv *env = tb_test_env();
        if (!env || !need_forwarder())
                return;
        g_autoptr(GVariant) supported = tb_get_property(tb_env_bus(env), TB_MANAGER_PATH, TB_MANAGER_IFACE,
                                                        "SupportedOffloads");
        g_autofree const char **all = g_variant_get_strv(supported, NULL);
        Transfer t;
        pthread_t th[2];
        Pair p;

        pair_start(env, &p, "packet");
        transfer_start(&t, th, AF_INET, ns_a, ns_b, "10.94.0.2", 5002);
        unsigned while_flowing = 0;
        for (unsigned i = 0; i < 20; i++) {
                while_flowing += !transfer_is_done(&t);
                set_offloads(p.bus, i % 2 ? p.path_b : p.path_a, i % 4 < 2 ? none : (const char *const *) all);
        }
        g_test_message("%u of 20 offload changes came while the transfer was running", while_flowing);
        set_offloads(p.bus, p.path_a, (const char *const *) all);
        set_offloads(p.bus, p.path_b, (const char *const *) all);
        transfer_join(&t, th);
        transfer_check(&t, pair_log_statistics, &p);
        g_assert_cmpuint(get_clients(p.bus, p.path_a), ==, 1);
        g_assert_cmpuint(get_clients(p.bus, p.path_b), ==, 1);
        pair_transfer(&p, AF_INET6);
        pair_finish_by_delete(&p, true);
        pair_free(&p);
}

/* A third device whose client never reads, flooded meanwhile: it loses its own packets
 * (drops_queue_full), and the transfer between the other two still completes. */
static void test_stalled_client(void) {
        TbEnv *env = tb_test_env();
        if (!env || !need_forwarder())
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path_c = tb_create_ok(bus, if_c, NULL);
        Blast blast;
        Pair p;

        g_assert_cmpint(netns_setup(ns_c, if_c, "10.96.0.1/24", NULL, MTU), ==, 0);
        int stalled = open_mode_fd(bus, path_c, "packet");
        blast_start(&blast, ns_c, "10.96.0.2");

        pair_start(env, &p, "packet");
        for (unsigned i = 0; i < TB_HANG_SECONDS * 50 && get_statistic(bus, path_c, "drops_queue_full") == 0; i++)
                g_usleep(20 * 1000);
        g_assert_cmpuint(get_statistic(bus, path_c, "drops_queue_full"), >, 0);
        pair_transfer(&p, AF_INET);
        g_assert_cmpuint(get_statistic(bus, p.path_a, "drops_queue_full"), ==, 0);
        g_assert_cmpuint(get_statistic(bus, p.path_b, "drops_queue_full"), ==, 0);

        blast_stop(&blast);
        pair_finish_by_delete(&p, true);
        pair_free(&p);
        close(stalled);
        tb_delete_ok(bus, path_c);
        netns_remove(ns_c);
}

/* ---- End of file ---------------------------------------------------------------------------- */

/* A device removed behind tund's back (ip link del in its namespace): its fds read
 * end-of-file and its object goes away. */
static void test_removed_behind_back(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, NULL);
        g_autoptr(GError) error = NULL;

        g_assert_cmpint(netns_setup(ns_a, if_a, "10.95.0.1/24", NULL, MTU), ==, 0);
        int packet = open_mode_fd(bus, path, "packet"), batch = open_mode_fd(bus, path, "batch");
        g_assert_cmpint(run_command("ip", "-n", ns_a, "link", "del", if_a, NULL), ==, 0);
        g_assert_true(drains_to_eof(packet, TB_HANG_SECONDS));
        g_assert_true(drains_to_eof(batch, TB_HANG_SECONDS));
        close(packet);
        close(batch);
        for (unsigned i = 0; i < TB_HANG_SECONDS * 50; i++) {
                g_autoptr(GHashTable) devices = tb_list_devices(bus);
                if (!g_hash_table_contains(devices, if_a))
                        break;
                g_usleep(20 * 1000);
        }
        g_assert_cmpint(tb_open_packet_fd(bus, path, NULL, &error), ==, -1);
        tb_assert_error(error, UNKNOWN_OBJECT);
        netns_remove(ns_a);
}

/* Sends a datagram carrying MARK from ns to addr:9 every 100 ms until fd receives a message
 * that holds it. */
static void assert_receives(int fd, const char *ns, const char *addr, const char *mark) {
        static uint8_t buf[65536 + 10];
        struct sockaddr_storage ss;
        socklen_t sl = make_addr(AF_INET, addr, 9, &ss);
        struct timeval tv = { .tv_usec = 100 * 1000 };
        int tx = socket_in_netns(ns, AF_INET, SOCK_DGRAM, 0);
        bool received = false;

        g_assert_cmpint(tx, >=, 0);
        g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), ==, 0);
        for (unsigned i = 0; i < TB_HANG_SECONDS * 10 && !received; i++) {
                g_assert_cmpint(sendto(tx, mark, strlen(mark), 0, (struct sockaddr *) &ss, sl), ==, (ssize_t) strlen(mark));
                for (ssize_t n; !received && (n = recv(fd, buf, sizeof(buf), 0)) > 0;)
                        received = memmem(buf, n, mark, strlen(mark)) != NULL;
        }
        close(tx);
        g_assert_true(received);
}

/* A client that shuts down only its writing side still receives, in every mode, and stays
 * a client until it closes its fd. */
static void test_half_close(void) {
        static const char *const modes[] = { "packet", "batch", "vnet" };
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, NULL);

        g_assert_cmpint(netns_setup(ns_a, if_a, "10.95.0.1/24", NULL, MTU), ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
                int fd = open_mode_fd(bus, path, modes[i]);

                wait_clients(bus, path, 1);
                g_assert_cmpint(shutdown(fd, SHUT_WR), ==, 0);
                /* Time for tund to read the end-of-file (which used to end the client). */
                g_usleep(200 * 1000);
                g_assert_cmpuint(get_clients(bus, path), ==, 1);
                assert_receives(fd, ns_a, "10.95.0.2", modes[i]);
                g_assert_cmpuint(get_clients(bus, path), ==, 1);
                close(fd);
                wait_clients(bus, path, 0);
        }

        /* Delete ends a half-closed client at once: its fd reads end-of-file. */
        int fd = open_mode_fd(bus, path, "packet");
        g_assert_cmpint(shutdown(fd, SHUT_WR), ==, 0);
        g_usleep(200 * 1000);
        tb_delete_ok(bus, path);
        g_assert_true(drains_to_eof(fd, TB_HANG_SECONDS));
        close(fd);
        netns_remove(ns_a);
}

/* tund stopping: every fd reads end-of-file (the next test starts tund again). */
static void test_eof_on_stop(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path_a = tb_create_ok(bus, if_a, NULL);
        g_autofree char *path_b = tb_create_ok(bus, if_b, NULL);
        int fds[] = { open_mode_fd(bus, path_a, "packet"), open_mode_fd(bus, path_a, "vnet"),
                      open_mode_fd(bus, path_b, "batch"), open_mode_fd(bus, path_b, "packet") };

        /* A client that shut down its writing side ends with the others. */
        g_assert_cmpint(shutdown(fds[3], SHUT_WR), ==, 0);
        g_usleep(200 * 1000);

        g_assert_cmpint(tb_tund_stop(env), ==, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(fds); i++) {
                g_assert_true(drains_to_eof(fds[i], TB_HANG_SECONDS));
                close(fds[i]);
        }
        g_assert_true(tb_wait_link_gone(if_a));
        g_assert_true(tb_wait_link_gone(if_b));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        ns_a = tb_ifname("tra");
        ns_b = tb_ifname("trb");
        ns_c = tb_ifname("trc");
        if_a = tb_ifname("trd");
        if_b = tb_ifname("tre");
        if_c = tb_ifname("trf");
        signal(SIGPIPE, SIG_IGN);
        g_test_add_func("/packet-fd/authorization", test_authorization);
        g_test_add_func("/packet-fd/bad-options", test_bad_options);
        g_test_add_func("/packet-fd/packet-mode", test_packet_mode);
        g_test_add_func("/packet-fd/batch-mode", test_batch_mode);
        g_test_add_func("/packet-fd/vnet-mode", test_vnet_mode);
        g_test_add_func("/packet-fd/reopen-no-leak", test_reopen_no_leak);
        g_test_add_func("/packet-fd/invalid-counted", test_invalid_counted);
        g_test_add_func("/packet-fd/too-long-counted", test_too_long_counted);
        g_test_add_func("/packet-fd/client-cost-bounded", test_client_cost_bounded);
        g_test_add_func("/packet-fd/offloads-while-flowing", test_offloads_while_flowing);
        g_test_add_func("/packet-fd/stalled-client", test_stalled_client);
        g_test_add_func("/packet-fd/removed-behind-back", test_removed_behind_back);
        g_test_add_func("/packet-fd/half-close", test_half_close);
        g_test_add_func("/packet-fd/eof-on-stop", test_eof_on_stop);
        int r = tb_test_run();
        g_free(ns_a);
        g_free(ns_b);
        g_free(ns_c);
        g_free(if_a);
        g_free(if_b);
        g_free(if_c);
        return r;
}
