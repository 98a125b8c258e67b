/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* No fd or memory growth in tund over many create/delete cycles. */

#include "harness.h"

#include <stdio.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define CYCLES 200
#define WARM_UP 10
/* What a cycle may leave in resident memory, in all (allocator caches settle in warm-up). */
#define RSS_SLACK_KIB 1024

static unsigned count_fds(pid_t pid) {
        g_autofree char *path = g_strdup_printf("/proc/%d/fd", (int) pid);
        g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
        g_assert_nonnull(d);
        unsigned n = 0;
        while (g_dir_read_name(d))
                n++;
        return n;
}

static unsigned long rss_kib(pid_t pid) {
        g_autofree char *path = g_strdup_printf("/proc/%d/status", (int) pid);
        g_autofree char *status = NULL;
        g_assert_true(g_file_get_contents(path, &status, NULL, NULL));
        const char *line = strstr(status, "\nVmRSS:");
        g_assert_nonnull(line);
        return strtoul(line + strlen("\nVmRSS:"), NULL, 10);
}

/* One cycle touches every path a device takes through tund. */
static void cycle(GDBusConnection *bus, const char *name) {
        g_autoptr(GError) error = NULL;
        const char *offloads[] = { "csum", "tso4", "tso6", "gro-tcp", NULL };
        g_autofree char *path = tb_create_ok(bus, name, tb_options(
                "MTU", g_variant_new_uint32(1400),
                "Offloads", g_variant_new_strv(offloads, -1),
                NULL));
        g_autofree char *got G_GNUC_UNUSED = tb_get_device_ok(bus, name);
        g_autoptr(GVariant) set G_GNUC_UNUSED = tb_call(bus, path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1280), "()", &error);
        g_assert_no_error(error);
        g_autoptr(GVariant) all G_GNUC_UNUSED = tb_get_all(bus, path, TB_DEVICE_IFACE);
        g_autofree char *bad = tb_create(bus, name, NULL, &error);      /* Exists */
        g_assert_null(bad);
        g_clear_error(&error);
        tb_delete_ok(bus, path);
}

static void run_cycles(TbEnv *env, GDBusConnection *bus, const char *name, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                cycle(bus, name);
        tb_drain();
        g_assert_true(tb_wait_link_gone(name));
}

static void test_create_delete_cycles(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        pid_t pid = tb_tund_pid(env);
        g_autofree char *name = tb_ifname("c");

        run_cycles(env, bus, name, WARM_UP);
        unsigned fds_before = count_fds(pid);
        unsigned long rss_before = rss_kib(pid);

        run_cycles(env, bus, name, CYCLES);
        unsigned fds_after = count_fds(pid);
        unsigned long rss_after = rss_kib(pid);
        g_test_message("tund after %d cycles: fds %u -> %u, VmRSS %lu -> %lu KiB", CYCLES,
                       fds_before, fds_after, rss_before, rss_after);

        g_assert_cmpuint(fds_after, ==, fds_before);
#ifdef UNDER_ASAN
        g_test_message("VmRSS not bounded under AddressSanitizer (its quarantine keeps freed "
                       "memory); LeakSanitizer checks tund's exit instead");
#else
        g_assert_cmpuint(rss_after, <=, rss_before + RSS_SLACK_KIB);
#endif
}

/* Creators that come and go (sd_bus_track), some through polkit's asynchronous path. */
static void test_creator_cycles(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        pid_t pid = tb_tund_pid(env);
        g_autofree char *name = tb_ifname("t");
        unsigned fds_before = 0;

        for (unsigned i = 0; i < WARM_UP + 20; i++) {
                if (i == WARM_UP) {
                        tb_drain();
                        g_assert_true(tb_wait_link_gone(name));
                        fds_before = count_fds(pid);
                }
                if (i % 2) {
                        GDBusConnection *creator = tb_env_connect(env);
                        g_autofree char *path G_GNUC_UNUSED = tb_create_ok(creator, name, NULL);
                        g_dbus_connection_close_sync(creator, NULL, NULL);
                        g_object_unref(creator);
                } else {
                        g_autoptr(TbCaller) c = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
                        tb_caller_expect(c, false, TB_MANAGER_PATH, TB_MANAGER_IFACE, "CreateDevice",
                                         tb_create_args(name, NULL), NULL);
                }
                g_assert_true(tb_wait_link_gone(name));
        }
        /* tund notices the last disconnect after removing the link; let it finish. */
        g_autoptr(GHashTable) devices = tb_list_devices(tb_env_bus(env));
        g_assert_false(g_hash_table_contains(devices, name));
        g_assert_cmpuint(count_fds(pid), ==, fds_before);
}

/* One creator with more devices than dbus-daemon allows match rules on one connection
 * (512): all are created, and all go when the creator leaves. */
#define MANY_DEVICES 520

typedef struct OwnLinks {
        const char *prefix;
} OwnLinks;

static bool own_links_gone(void *data) {
        OwnLinks *o = data;
        g_autoptr(GHashTable) links = tb_links();
        GHashTableIter iter;
        gpointer key;
        g_hash_table_iter_init(&iter, links);
        while (g_hash_table_iter_next(&iter, &key, NULL))
                if (g_str_has_prefix(key, o->prefix)) {
                        g_usleep(50 * 1000);
                        return false;
                }
        return true;
}

static void test_one_creator_many_devices(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        pid_t pid = tb_tund_pid(env);
        g_autofree char *prefix = tb_ifname("n");
        unsigned fds_before = count_fds(pid);

        GDBusConnection *creator = tb_env_connect(env);
        for (unsigned i = 0; i < MANY_DEVICES; i++) {
                g_autofree char *suffix = g_strdup_printf("n%u", i);
                g_autofree char *name = tb_ifname(suffix);
                g_free(tb_create_ok(creator, name, NULL));
        }
        g_autoptr(GHashTable) devices = tb_list_devices(tb_env_bus(env));
        g_assert_cmpuint(g_hash_table_size(devices), >=, MANY_DEVICES);

        g_dbus_connection_close_sync(creator, NULL, NULL);
        g_object_unref(creator);
        OwnLinks o = { prefix };
        if (!tb_wait_until(own_links_gone, &o))
                g_error("devices of a creator that left are still there");
        g_autoptr(GHashTable) after = tb_list_devices(tb_env_bus(env));
        g_assert_cmpuint(g_hash_table_size(after), ==, 0);
        g_assert_cmpuint(count_fds(pid), ==, fds_before);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/resources/create-delete-cycles", test_create_delete_cycles);
        g_test_add_func("/resources/creator-cycles", test_creator_cycles);
        g_test_add_func("/resources/one-creator-many-devices", test_one_creator_many_devices);
        return tb_test_run();
}
