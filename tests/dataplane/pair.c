/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pair.h"
#include "tb-netns.h"
#include "traffic.h"

unsigned get_clients(GDBusConnection *bus, const char *path) {
        g_autoptr(GVariant) v = tb_get_property(bus, path, TB_DEVICE_IFACE, "Clients");
        return g_variant_get_uint32(v);
}

void wait_clients(GDBusConnection *bus, const char *path, unsigned n) {
        for (unsigned i = 0; i < TB_HANG_SECONDS * 50 && get_clients(bus, path) != n; i++)
                g_usleep(20 * 1000);
        g_assert_cmpuint(get_clients(bus, path), ==, n);
}

uint64_t get_statistic(GDBusConnection *bus, const char *path, const char *key) {
        g_autoptr(GVariant) v = tb_get_property(bus, path, TB_DEVICE_IFACE, "Statistics");
        guint64 value = 0;

        g_assert_true(g_variant_lookup(v, key, "t", &value));
        return value;
}

static int open_fd(GDBusConnection *bus, const char *path, GVariant *options) {
        g_autoptr(GError) error = NULL;
        int fd = tb_open_packet_fd(bus, path, options, &error);

        g_assert_no_error(error);
        g_assert_cmpint(fd, >=, 0);
        return fd;
}

void pair_setup(Pair *p, TbEnv *env, const char *ns_a, const char *if_a, const char *ns_b,
                const char *if_b, unsigned net, unsigned mtu, GVariant *options,
                const char *forwarder_mode) {
        g_autofree char *a4 = g_strdup_printf("10.%u.0.1/24", net), *a6 = g_strdup_printf("fd%u::1/64", net);
        g_autofree char *b4 = g_strdup_printf("10.%u.0.2/24", net), *b6 = g_strdup_printf("fd%u::2/64", net);
        g_autoptr(GVariant) opts = g_variant_ref_sink(options);

        *p = (Pair) {
                .bus = tb_env_bus(env),
                .ns_a = ns_a,
                .ns_b = ns_b,
                .addr4_b = g_strdup_printf("10.%u.0.2", net),
                .addr6_b = g_strdup_printf("fd%u::2", net),
                .mtu = mtu,
                .forwarder = -1,
                .forwarder_out = -1,
        };
        p->path_a = tb_create_ok(p->bus, if_a, NULL);
        p->path_b = tb_create_ok(p->bus, if_b, NULL);
        g_assert_cmpint(netns_setup(ns_a, if_a, a4, a6, mtu), ==, 0);
        g_assert_cmpint(netns_setup(ns_b, if_b, b4, b6, mtu), ==, 0);

        int a = open_fd(p->bus, p->path_a, opts), b = open_fd(p->bus, p->path_b, opts);
        p->forwarder = forwarder_start(g_getenv("DATAPLANE_FORWARD"), forwarder_mode, a, b, "--check", NULL,
                                       &p->forwarder_out);
        g_assert_cmpint(p->forwarder, >, 0);
        close(a);
        close(b);
        wait_clients(p->bus, p->path_a, 1);
        wait_clients(p->bus, p->path_b, 1);
}

void pair_log_statistics(void *userdata) {
        Pair *p = userdata;
        const char *paths[] = { p->path_a, p->path_b };

        for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
                g_autoptr(GVariant) v = tb_get_property(p->bus, paths[i], TB_DEVICE_IFACE, "Statistics");
                g_autofree char *text = g_variant_print(v, FALSE);
                g_test_message("%s: %s", paths[i], text);
        }
}

void pair_transfer(Pair *p, int family) {
        Transfer t;
        pthread_t th[2];

        transfer_start(&t, th, family, p->ns_a, p->ns_b, family == AF_INET ? p->addr4_b : p->addr6_b, 5001);
        transfer_join(&t, th);
        transfer_check(&t, pair_log_statistics, p);
}

void pair_finish_by_delete(Pair *p, bool plain) {
        int status;

        tb_delete_ok(p->bus, p->path_a);
        p->report = read_all(p->forwarder_out);
        close(p->forwarder_out);
        g_assert_cmpint(waitpid(p->forwarder, &status, 0), ==, p->forwarder);
        p->forwarder = -1;
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        g_test_message("forwarder: %s", p->report);
        wait_clients(p->bus, p->path_b, 0);
        tb_delete_ok(p->bus, p->path_b);
        check_forwarder_report(p->report, plain, p->mtu);
}

void pair_free(Pair *p) {
        netns_remove(p->ns_a);
        netns_remove(p->ns_b);
        g_free(p->path_a);
        g_free(p->path_b);
        g_free(p->addr4_b);
        g_free(p->addr6_b);
        g_free(p->report);
}
