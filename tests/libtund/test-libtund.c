/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libtund against the real service, as root, through the bus test harness (a private
 * system bus, polkitd, tund): every mode opened by name and by path, real traffic between
 * two namespaces through two devices and the example forwarder (tund-forward, built with
 * the tests' packet referee), and the errors a program meets: an unknown device, bad
 * options, a device deleted under an open tund_fd. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <tund.h>

#include "harness.h"
#include "tb-netns.h"
#include "packet-check.h"
#include "traffic.h"

#define MTU 1500u

extern char **environ;

static char *ns_a, *ns_b, *if_a, *if_b;

/* The test environment, with $DBUS_SYSTEM_BUS_ADDRESS pointing at its bus, which is where
 * tund_open(NULL, ...) and the forwarder look. */
static TbEnv *env_get(void) {
        TbEnv *env = tb_test_env();

        if (env)
                g_setenv("DBUS_SYSTEM_BUS_ADDRESS", tb_env_address(env), TRUE);
        return env;
}

static unsigned get_clients(GDBusConnection *bus, const char *path) {
        g_autoptr(GVariant) v = tb_get_property(bus, path, TB_DEVICE_IFACE, "Clients");
        return g_variant_get_uint32(v);
}

static void wait_clients(GDBusConnection *bus, const char *path, unsigned n) {
        for (unsigned i = 0; i < TB_HANG_SECONDS * 50 && get_clients(bus, path) != n; i++)
                g_usleep(20 * 1000);
        g_assert_cmpuint(get_clients(bus, path), ==, n);
}

typedef struct Mode {
        const char *name;               /* tund_options_parse_mode's, and the test's */
        bool plain;
} Mode;

static const Mode modes[] = {
        { "packet", true },
        { "batch", true },
        { "vnet", false },
        { "ring", true },
        { "ring-vnet", false },
};

static struct tund_options options_of(const char *mode) {
        struct tund_options o = {};

        g_assert_cmpint(tund_options_parse_mode(&o, mode), ==, 0);
        return o;
}

/* ---- Opening ------------------------------------------------------------------------- */

/* Every mode by name and by path: the fd the service counts, of the mode asked for. */
static void test_open(void) {
        TbEnv *env = env_get();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, NULL);

        for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
                struct tund_options o = options_of(modes[i].name);
                tund_fd *by_name = NULL, *by_path = NULL;

                g_assert_cmpint(tund_open(NULL, if_a, &o, &by_name), ==, 0);
                g_assert_cmpint(tund_open(NULL, path, &o, &by_path), ==, 0);
                wait_clients(bus, path, 2);
                g_assert_cmpint(tund_get_mode(by_name), ==, o.mode);
                g_assert_cmpint(tund_get_vnet(by_path), ==, !modes[i].plain);
                g_assert_cmpint(tund_get_fd(by_name), >=, 0);
                g_assert_cmpuint(tund_get_max_packet(by_name), ==,
                                 !modes[i].plain ? 65545u : o.mode == TUND_MODE_BATCH ? 65533u : 65535u);
                if (o.mode == TUND_MODE_RING)
                        g_assert_cmpuint(tund_get_slot_size(by_path), ==, TUND_RING_SLOT_SIZE_DEFAULT);
                else
                        g_assert_cmpuint(tund_get_slot_size(by_path), ==, 0);
                /* Nothing is waiting yet. */
                g_assert_cmpint(tund_wait(by_name, 0), ==, 0);
                g_assert_null(tund_fd_free(by_name));
                tund_fd_free(by_path);
                wait_clients(bus, path, 0);
        }

        /* Sizes are passed on. */
        struct tund_options o = options_of("ring");
        tund_fd *t = NULL;
        o.ring_slots = 4096;
        o.slot_size = 1024;
        g_assert_cmpint(tund_open(NULL, path, &o, &t), ==, 0);
        g_assert_cmpuint(tund_get_slot_size(t), ==, 1024);
        tund_fd_free(t);

        /* A connection of the caller's own, borrowed. */
        sd_bus *b = NULL;
        g_assert_cmpint(sd_bus_open_system(&b), >=, 0);
        g_assert_cmpint(tund_open(b, if_a, NULL, &t), ==, 0);
        g_assert_cmpint(tund_get_mode(t), ==, TUND_MODE_PACKET);
        tund_fd_free(t);
        g_assert_cmpint(tund_open(b, path, NULL, &t), ==, 0);
        tund_fd_free(t);
        sd_bus_flush_close_unref(b);

        tb_delete_ok(bus, path);
}

static void test_open_errors(void) {
        TbEnv *env = env_get();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, NULL);
        g_autofree char *missing = tb_ifname("missing");
        struct tund_options o = options_of("ring");
        tund_fd *t = NULL;

        g_assert_cmpint(tund_open(NULL, missing, NULL, &t), ==, -ENODEV);
        g_assert_cmpint(tund_open(NULL, "/org/example/Tun1/device/999999", NULL, &t), ==, -ENODEV);
        g_assert_cmpint(tund_open(NULL, "/not//a/path", NULL, &t), ==, -EINVAL);
        g_assert_cmpint(tund_open(NULL, "", NULL, &t), ==, -EINVAL);

        /* Refused by the service. */
        o.ring_slots = 1000;
        g_assert_cmpint(tund_open(NULL, if_a, &o, &t), ==, -EINVAL);
        o = options_of("ring");
        o.slot_size = 128;
        g_assert_cmpint(tund_open(NULL, path, &o, &t), ==, -EINVAL);
        /* Refused by the library. */
        o = options_of("packet");
        o.vnet = 1;
        g_assert_cmpint(tund_open(NULL, if_a, &o, &t), ==, -EINVAL);
        o = options_of("batch");
        o.ring_slots = 1024;
        g_assert_cmpint(tund_open(NULL, if_a, &o, &t), ==, -EINVAL);
        o = options_of("packet");
        o.mode = 7;
        g_assert_cmpint(tund_open(NULL, if_a, &o, &t), ==, -EINVAL);
        o = options_of("packet");
        o.size = 8;
        g_assert_cmpint(tund_open(NULL, if_a, &o, &t), ==, -EINVAL);
        g_assert_null(t);
        g_assert_cmpuint(get_clients(bus, path), ==, 0);

        /* No service on the bus. */
        g_assert_cmpint(tb_tund_stop(env), ==, 0);
        g_assert_cmpint(tund_open(NULL, if_a, NULL, &t), ==, -EHOSTDOWN);
        g_assert_true(tb_wait_link_gone(if_a));
}

/* A device deleted under open tund_fds: every mode reports -EPIPE from tund_wait or
 * tund_recv_burst, and sending then fails too; nothing crashes or hangs. */
static void test_deleted(void) {
        TbEnv *env = env_get();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);

        for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
                g_autofree char *path = tb_create_ok(bus, if_a, NULL);
                struct tund_options o = options_of(modes[i].name);
                tund_fd *t = NULL;
                uint8_t buf[2048] = {};
                struct tund_packet p = { .data = buf, .size = sizeof(buf) };
                int r = 0;

                g_assert_cmpint(tund_open(NULL, path, &o, &t), ==, 0);
                tb_delete_ok(bus, path);
                for (unsigned k = 0; k < 100 && r >= 0; k++) {
                        r = tund_wait(t, TB_HANG_SECONDS * 1000);
                        if (r > 0)
                                r = tund_recv_burst(t, &p, 1);
                }
                g_assert_cmpint(r, ==, -EPIPE);
                g_assert_cmpint(tund_recv_burst(t, &p, 1), ==, -EPIPE);
                g_assert_cmpint(tund_wait(t, 0), ==, -EPIPE);
                p.len = 100;
                g_assert_cmpint(tund_send_burst(t, &p, 1), ==, -EPIPE);
                if (o.mode == TUND_MODE_RING)
                        g_assert_cmpint(tund_ring_peek(t, &p, 1), ==, -EPIPE);
                tund_fd_free(t);
                g_assert_true(tb_wait_link_gone(if_a));
        }
}

/* An fd OpenPacketFd gave to someone else, adopted. */
static void test_from_fd(void) {
        TbEnv *env = env_get();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, NULL);
        g_autoptr(GError) error = NULL;
        struct tund_options o = options_of("ring");
        tund_fd *t = NULL;
        int fd;

        fd = tb_open_packet_fd(bus, path, tb_options("Mode", g_variant_new_string("ring"), NULL), &error);
        g_assert_no_error(error);
        /* Told the wrong mode: refused, the fd still the caller's. */
        o.vnet = 1;
        g_assert_cmpint(tund_fd_from_fd(fd, &o, &t), ==, -EINVAL);
        g_assert_cmpint(fcntl(fd, F_GETFD), >=, 0);
        close(fd);

        fd = tb_open_packet_fd(bus, path, tb_options("Mode", g_variant_new_string("ring"), NULL), &error);
        g_assert_no_error(error);
        o.vnet = 0;
        g_assert_cmpint(tund_fd_from_fd(fd, &o, &t), ==, 0);
        /* In mode ring, the fd to poll is the library's epoll fd over the packet fd. */
        g_autofree char *link = g_strdup_printf("/proc/self/fd/%d", tund_get_fd(t));
        g_autofree char *target = g_file_read_link(link, NULL);
        g_assert_cmpstr(target, ==, "anon_inode:[eventpoll]");
        tund_fd_free(t);
        g_assert_cmpint(fcntl(fd, F_GETFD), <, 0);

        int pipefd[2];
        g_assert_cmpint(pipe(pipefd), ==, 0);
        g_assert_cmpint(tund_fd_from_fd(pipefd[0], NULL, &t), ==, -ENOTSOCK);
        close(pipefd[0]);
        close(pipefd[1]);
        wait_clients(bus, path, 0);
        tb_delete_ok(bus, path);
}

/* ---- Traffic through the example forwarder -------------------------------------------- */

typedef struct Pair {
        GDBusConnection *bus;
        char *path_a, *path_b;
        pid_t forwarder;
        int forwarder_out;
} Pair;

/* Starts ARGV with its stdout in *RET_OUT (a pipe) and KEEP[0..N_KEEP) inherited. */
static pid_t forwarder_spawn(char *const argv[], const int *keep, size_t n_keep, int *ret_out) {
        posix_spawn_file_actions_t fa;
        int pipefd[2];
        pid_t pid;
        int r;

        g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
        /* dup2 onto itself clears FD_CLOEXEC. */
        for (size_t i = 0; i < n_keep; i++)
                posix_spawn_file_actions_adddup2(&fa, keep[i], keep[i]);
        r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[1]);
        g_assert_cmpint(r, ==, 0);
        *ret_out = pipefd[0];
        return pid;
}

typedef enum Open {
        OPEN_A_BY_NAME,                 /* A by name, B by path */
        OPEN_A_BY_PATH,                 /* A by path, B by name */
        OPEN_FDS,                       /* both opened by the test, adopted as fd:N */
} Open;

/* OpenPacketFd's options for MODE (a tund_options_parse_mode name). */
static GVariant *bus_options(const char *mode) {
        struct tund_options o = options_of(mode);

        if (o.mode != TUND_MODE_RING)
                return tb_options("Mode", g_variant_new_string(mode), NULL);
        return tb_options("Mode", g_variant_new_string("ring"), "Vnet", g_variant_new_boolean(o.vnet), NULL);
}

/* Two devices in two namespaces, and tund-forward between them, opening them as HOW says. */
static void pair_setup(TbEnv *env, Pair *p, const char *mode, Open how, bool in_place) {
        g_autofree char *mode_arg = g_strdup_printf("--mode=%s", mode);
        g_autofree char *spec_a = NULL, *spec_b = NULL;
        int fds[2] = { -1, -1 };

        *p = (Pair) { .bus = tb_env_bus(env), .forwarder = -1, .forwarder_out = -1 };
        p->path_a = tb_create_ok(p->bus, if_a, NULL);
        p->path_b = tb_create_ok(p->bus, if_b, NULL);
        g_assert_cmpint(netns_setup(ns_a, if_a, "10.94.0.1/24", "fd94::1/64", MTU), ==, 0);
        g_assert_cmpint(netns_setup(ns_b, if_b, "10.94.0.2/24", "fd94::2/64", MTU), ==, 0);

        switch (how) {
        case OPEN_A_BY_NAME:
                spec_a = g_strdup(if_a);
                spec_b = g_strdup(p->path_b);
                break;
        case OPEN_A_BY_PATH:
                spec_a = g_strdup(p->path_a);
                spec_b = g_strdup(if_b);
                break;
        case OPEN_FDS:
                for (unsigned i = 0; i < 2; i++) {
                        g_autoptr(GError) error = NULL;
                        fds[i] = tb_open_packet_fd(p->bus, i == 0 ? p->path_a : p->path_b, bus_options(mode), &error);
                        g_assert_no_error(error);
                }
                spec_a = g_strdup_printf("fd:%d", fds[0]);
                spec_b = g_strdup_printf("fd:%d", fds[1]);
                break;
        }
        char *argv[] = {
                (char *) g_getenv("TUND_FORWARD"), mode_arg, (char *) "--check", spec_a, spec_b,
                in_place ? (char *) "--in-place" : NULL, NULL,
        };
        p->forwarder = forwarder_spawn(argv, fds, how == OPEN_FDS ? 2 : 0, &p->forwarder_out);
        for (unsigned i = 0; i < 2; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        wait_clients(p->bus, p->path_a, 1);
        wait_clients(p->bus, p->path_b, 1);
}

static uint64_t get_statistic(GDBusConnection *bus, const char *path, const char *key) {
        g_autoptr(GVariant) v = tb_get_property(bus, path, TB_DEVICE_IFACE, "Statistics");
        guint64 value = 0;

        g_assert_true(g_variant_lookup(v, key, "t", &value));
        return value;
}

static void log_statistics(void *userdata) {
        Pair *p = userdata;
        const char *paths[] = { p->path_a, p->path_b };

        for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
                g_autoptr(GVariant) v = tb_get_property(p->bus, paths[i], TB_DEVICE_IFACE, "Statistics");
                g_autofree char *text = g_variant_print(v, FALSE);
                g_test_message("%s: %s", paths[i], text);
        }
}

static void transfer(Pair *p, int family) {
        Transfer t;
        pthread_t th[2];

        transfer_start(&t, th, family, ns_a, ns_b, family == AF_INET ? "10.94.0.2" : "fd94::2", 5001);
        transfer_join(&t, th);
        transfer_check(&t, log_statistics, p);
}

/* Deletes A: the forwarder's fd of A ends, so does the forwarder, with its report. */
static void pair_finish(Pair *p, bool plain) {
        g_autofree char *report = NULL;
        int status;

        tb_delete_ok(p->bus, p->path_a);
        report = read_all(p->forwarder_out);
        close(p->forwarder_out);
        g_assert_cmpint(waitpid(p->forwarder, &status, 0), ==, p->forwarder);
        g_test_message("forwarder: %s", report);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        wait_clients(p->bus, p->path_b, 0);
        tb_delete_ok(p->bus, p->path_b);
        check_forwarder_report(report, plain, MTU);
        netns_remove(ns_a);
        netns_remove(ns_b);
        g_free(p->path_a);
        g_free(p->path_b);
}

typedef struct TrafficCase {
        const Mode *mode;
        Open how;
        bool in_place;
} TrafficCase;

static void test_traffic(const void *data) {
        const TrafficCase *c = data;
        TbEnv *env = env_get();
        if (!env)
                return;
        if (!g_getenv("TUND_FORWARD")) {
                g_test_skip("needs TUND_FORWARD (set by meson test)");
                return;
        }
        Pair p;

        pair_setup(env, &p, c->mode->name, c->how, c->in_place);
        ping_both(ns_a, "10.94.0.2", "fd94::2");
        transfer(&p, AF_INET);
        transfer(&p, AF_INET6);
        udp_sizes(AF_INET, ns_a, ns_b, "10.94.0.2", 6001);
        udp_sizes(AF_INET6, ns_a, ns_b, "fd94::2", 6001);
        log_statistics(&p);
        /* Plain packets: tund split the kernel's super-packets for the forwarder and merged
         * what it wrote; vnet messages pass through whole. */
        if (c->mode->plain) {
                g_assert_cmpuint(get_statistic(p.bus, p.path_a, "gso_split"), >, 0);
                g_assert_cmpuint(get_statistic(p.bus, p.path_b, "gro_merged"), >, 0);
        } else {
                g_assert_cmpuint(get_statistic(p.bus, p.path_a, "gso_split"), ==, 0);
                g_assert_cmpuint(get_statistic(p.bus, p.path_b, "gro_merged"), ==, 0);
        }
        g_assert_cmpuint(get_statistic(p.bus, p.path_a, "drops_invalid"), ==, 0);
        g_assert_cmpuint(get_statistic(p.bus, p.path_b, "drops_invalid"), ==, 0);
        pair_finish(&p, c->mode->plain);
}

int main(int argc, char *argv[]) {
        static const char *const open_names[] = {
                [OPEN_A_BY_NAME] = "a-by-name", [OPEN_A_BY_PATH] = "a-by-path", [OPEN_FDS] = "fds",
        };
        static TrafficCase cases[G_N_ELEMENTS(modes) * 4];
        size_t n = 0;

        g_test_init(&argc, &argv, NULL);
        ns_a = tb_ifname("tla");
        ns_b = tb_ifname("tlb");
        if_a = tb_ifname("tlc");
        if_b = tb_ifname("tld");
        signal(SIGPIPE, SIG_IGN);

        g_test_add_func("/libtund/open", test_open);
        g_test_add_func("/libtund/from-fd", test_from_fd);
        g_test_add_func("/libtund/deleted", test_deleted);
        /* It stops tund; the next test starts it again (tb_test_env). */
        g_test_add_func("/libtund/open-errors", test_open_errors);
        for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
                bool ring = g_str_has_prefix(modes[i].name, "ring");
                for (Open how = OPEN_A_BY_NAME; how <= OPEN_FDS; how++) {
                        cases[n] = (TrafficCase) { .mode = &modes[i], .how = how };
                        g_autofree char *name = g_strdup_printf("/libtund/traffic/%s/%s", modes[i].name, open_names[how]);
                        g_test_add_data_func(name, &cases[n++], test_traffic);
                }
                if (ring) {
                        cases[n] = (TrafficCase) { .mode = &modes[i], .in_place = true };
                        g_autofree char *name = g_strdup_printf("/libtund/traffic/%s/in-place", modes[i].name);
                        g_test_add_data_func(name, &cases[n++], test_traffic);
                }
        }
        return tb_test_run();
}
