/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Persistent devices across restarts of tund (SIGTERM, then started again on the same state
 * directory), also when someone changed the links while tund was down. */

#include "harness.h"

#include <sys/wait.h>

static void assert_clean_exit(int status) {
        if (status == -1)
                g_error("tund did not exit");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                g_error("tund did not exit cleanly: wait status 0x%x", status);
}

typedef struct DeviceState {
        char *path;
        int ifindex;
        guint32 mtu, owner;
        gboolean persistent;
        GHashTable *offloads;
} DeviceState;

static DeviceState device_state(GDBusConnection *bus, const char *path) {
        g_autoptr(GVariant) all = tb_get_all(bus, path, TB_DEVICE_IFACE);
        DeviceState s = { .path = g_strdup(path) };
        g_autoptr(GVariant) offloads = NULL;
        g_assert_true(g_variant_lookup(all, "Index", "i", &s.ifindex));
        g_assert_true(g_variant_lookup(all, "MTU", "u", &s.mtu));
        g_assert_true(g_variant_lookup(all, "Owner", "u", &s.owner));
        g_assert_true(g_variant_lookup(all, "Persistent", "b", &s.persistent));
        g_assert_true(g_variant_lookup(all, "Offloads", "@as", &offloads));
        s.offloads = tb_variant_strv_set(offloads);
        return s;
}

static void device_state_clear(DeviceState *s) {
        g_free(s->path);
        g_hash_table_unref(s->offloads);
}

static void test_persistent_survives_restart(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("p"), *transient = tb_ifname("t");
        const TbUser *owner = tb_env_user(env, TB_ROLE_NOBODY);
        const char *offloads[] = { "csum", "tso4", "gro-tcp", NULL };
        g_autofree char *path = tb_create_ok(bus, name, tb_options(
                "Persistent", g_variant_new_boolean(TRUE),
                "MTU", g_variant_new_uint32(1400),
                "Offloads", g_variant_new_strv(offloads, -1),
                "Owner", g_variant_new_uint32(owner->uid),
                NULL));
        g_autofree char *transient_path G_GNUC_UNUSED = tb_create_ok(bus, transient, NULL);
        DeviceState before = device_state(bus, path);
        g_autoptr(GHashTable) kernel_offloads = tb_link_kernel_offloads(name);

        assert_clean_exit(tb_tund_stop(env));
        g_assert_true(tb_link_exists(name));
        g_assert_cmpint(tb_link_ifindex(name), ==, before.ifindex);
        g_assert_false(tb_link_exists(transient));

        tb_tund_start(env);
        g_autofree char *new_path = tb_get_device_ok(bus, name);
        DeviceState after = device_state(bus, new_path);
        g_assert_cmpint(after.ifindex, ==, before.ifindex);
        g_assert_cmpint(after.ifindex, ==, tb_link_ifindex(name));
        g_assert_cmpuint(after.mtu, ==, 1400);
        g_assert_cmpuint(tb_link_mtu(name), ==, 1400);
        g_assert_cmpuint(after.owner, ==, owner->uid);
        g_assert_true(after.persistent);
        tb_assert_sets_equal(after.offloads, before.offloads);
        g_autoptr(GHashTable) kernel_after = tb_link_kernel_offloads(name);
        tb_assert_sets_equal(kernel_after, kernel_offloads);
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_cmpstr(g_hash_table_lookup(devices, name), ==, new_path);
        g_assert_false(g_hash_table_contains(devices, transient));

        /* Managed for real: its owner may still change it, and it can be deleted. */
        g_autoptr(TbCaller) c = tb_caller_new(env, owner);
        tb_caller_expect(c, false, new_path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1300), NULL);
        g_assert_cmpuint(tb_link_mtu(name), ==, 1300);
        tb_delete_ok(bus, new_path);
        g_assert_true(tb_wait_link_gone(name));

        /* Deleted means gone for good, also across the next restart. */
        assert_clean_exit(tb_tund_stop(env));
        tb_tund_start(env);
        g_autoptr(GHashTable) devices_later = tb_list_devices(bus);
        g_assert_false(g_hash_table_contains(devices_later, name));
        g_assert_false(tb_link_exists(name));

        device_state_clear(&before);
        device_state_clear(&after);
}

/* While tund is down, someone changes what its records describe: the link is gone, or its
 * name now belongs to a link that is not tund's. The next tund must neither list a gone
 * device nor take over another's link, and must serve as usual. */
static void restart_after(TbEnv *env, const char *name, const char *const *change, const char *const *undo,
                          bool foreign_link) {
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, name, tb_options("Persistent", g_variant_new_boolean(TRUE), NULL));
        g_autoptr(GHashTable) before = tb_list_devices(bus);
        g_assert_cmpstr(g_hash_table_lookup(before, name), ==, path);
        assert_clean_exit(tb_tund_stop(env));

        const char *del[] = { "ip", "link", "delete", name, NULL };
        g_assert_cmpint(tb_run(del, NULL, NULL), ==, 0);
        g_autofree char *err = NULL;
        if (change && tb_run(change, NULL, &err) != 0) {
                g_test_skip_printf("cannot run %s %s %s: %s", change[0], change[1], change[2], err);
                tb_tund_start(env);
                return;
        }
        int foreign_ifindex = foreign_link ? tb_link_ifindex(name) : 0;

        tb_tund_start(env);
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_false(g_hash_table_contains(devices, name));
        if (foreign_link) {
                g_assert_cmpint(tb_link_ifindex(name), ==, foreign_ifindex);
                /* The name is taken, and not by tund. */
                g_autoptr(GError) error = NULL;
                g_autofree char *again = tb_create(bus, name, NULL, &error);
                g_assert_null(again);
                tb_assert_error(error, "org.example.Tun1.Error.Exists");
                assert_clean_exit(tb_tund_stop(env));
                g_assert_cmpint(tb_link_ifindex(name), ==, foreign_ifindex);
                g_assert_cmpint(tb_run(undo, NULL, NULL), ==, 0);
                tb_tund_start(env);
        } else {
                g_autofree char *again = tb_create_ok(bus, name, NULL);
                tb_delete_ok(bus, again);
                g_assert_true(tb_wait_link_gone(name));
        }
}

static void test_restart_after_link_deleted(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *name = tb_ifname("g");
        restart_after(env, name, NULL, NULL, false);
}

static void test_restart_after_name_taken_by_tun(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *name = tb_ifname("h");
        const char *add[] = { "ip", "tuntap", "add", "dev", name, "mode", "tun", NULL };
        const char *del[] = { "ip", "tuntap", "del", "dev", name, "mode", "tun", NULL };
        restart_after(env, name, add, del, true);
}

static void test_restart_after_name_taken_by_veth(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *name = tb_ifname("j"), *peer = tb_ifname("jp");
        const char *add[] = { "ip", "link", "add", name, "type", "veth", "peer", "name", peer, NULL };
        const char *del[] = { "ip", "link", "delete", name, NULL };
        restart_after(env, name, add, del, true);
}

/* A second tund cannot own the name: it exits, and leaves the first one's devices alone. */
static void test_second_instance_exits(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *persistent = tb_ifname("s"), *transient = tb_ifname("t");
        g_autofree char *path1 = tb_create_ok(bus, persistent, tb_options("Persistent", g_variant_new_boolean(TRUE), NULL));
        g_autofree char *path2 = tb_create_ok(bus, transient, NULL);
        int ifindex1 = tb_link_ifindex(persistent), ifindex2 = tb_link_ifindex(transient);

        int status = tb_tund_run_second(env);
        if (status == -1)
                g_error("a second tund kept running while the first owns the name");
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), !=, 0);

        g_assert_cmpint(tb_link_ifindex(persistent), ==, ifindex1);
        g_assert_cmpint(tb_link_ifindex(transient), ==, ifindex2);
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_cmpstr(g_hash_table_lookup(devices, persistent), ==, path1);
        g_assert_cmpstr(g_hash_table_lookup(devices, transient), ==, path2);
        tb_delete_ok(bus, path1);
        tb_delete_ok(bus, path2);
        g_assert_true(tb_wait_link_gone(persistent));
        g_assert_true(tb_wait_link_gone(transient));
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/restart/persistent-survives-restart", test_persistent_survives_restart);
        g_test_add_func("/restart/second-instance-exits", test_second_instance_exits);
        g_test_add_func("/restart/after-link-deleted", test_restart_after_link_deleted);
        g_test_add_func("/restart/after-name-taken-by-veth", test_restart_after_name_taken_by_veth);
        g_test_add_func("/restart/after-name-taken-by-tun", test_restart_after_name_taken_by_tun);
        return tb_test_run();
}
