/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.example.Tun1.Device: properties against the kernel's view, SetMTU, SetOffloads,
 * Delete, PropertiesChanged. */

#include "harness.h"

static GHashTable *without_tund_offloads(GHashTable *set) {
        GHashTable *kernel = g_hash_table_new(g_str_hash, g_str_equal);
        GHashTableIter iter;
        gpointer key;
        g_hash_table_iter_init(&iter, set);
        while (g_hash_table_iter_next(&iter, &key, NULL))
                if (!g_str_has_prefix(key, "gro-"))
                        g_hash_table_add(kernel, key);
        return kernel;
}

static GHashTable *property_set(GDBusConnection *bus, const char *path, const char *iface, const char *name) {
        g_autoptr(GVariant) v = tb_get_property(bus, path, iface, name);
        g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE_STRING_ARRAY));
        return tb_variant_strv_set(v);
}

static void test_properties(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("p");
        const char *offloads[] = { "csum", "tso4", "tso6", "gro-tcp", NULL };
        g_autofree char *path = tb_create_ok(bus, name, tb_options(
                "MTU", g_variant_new_uint32(1400),
                "Offloads", g_variant_new_strv(offloads, -1),
                NULL));

        g_autoptr(GVariant) all = tb_get_all(bus, path, TB_DEVICE_IFACE);
        const char *s;
        gint32 index;
        guint32 mtu, owner, clients;
        gboolean persistent;
        g_assert_true(g_variant_lookup(all, "Name", "&s", &s));
        g_assert_cmpstr(s, ==, name);
        g_assert_true(g_variant_lookup(all, "Index", "i", &index));
        g_assert_cmpint(index, ==, tb_link_ifindex(name));
        g_assert_true(g_variant_lookup(all, "MTU", "u", &mtu));
        g_assert_cmpuint(mtu, ==, 1400);
        g_assert_cmpuint(tb_link_mtu(name), ==, 1400);
        g_assert_true(g_variant_lookup(all, "Owner", "u", &owner));
        g_assert_cmpuint(owner, ==, 0);
        g_assert_true(g_variant_lookup(all, "Persistent", "b", &persistent));
        g_assert_false(persistent);
        g_assert_true(g_variant_lookup(all, "Clients", "u", &clients));
        g_assert_cmpuint(clients, ==, 0);
        /* Up belongs to the link events (LinkUp/LinkDown), tested with them. */

        g_autoptr(GHashTable) want = tb_strv_set(offloads);
        g_autoptr(GHashTable) got = property_set(bus, path, TB_DEVICE_IFACE, "Offloads");
        tb_assert_sets_equal(got, want);
        g_autoptr(GHashTable) want_kernel = without_tund_offloads(want);
        g_autoptr(GHashTable) kernel = tb_link_kernel_offloads(name);
        tb_assert_sets_equal(kernel, want_kernel);

        g_autoptr(GVariant) stats = g_variant_lookup_value(all, "Statistics", G_VARIANT_TYPE("a{st}"));
        g_assert_nonnull(stats);
        const char *keys[] = { "rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "gso_split",
                               "gro_merged", "drops_invalid", "drops_queue_full", "drops_too_long" };
        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
                guint64 value;
                if (!g_variant_lookup(stats, keys[i], "t", &value))
                        g_error("Statistics lacks %s", keys[i]);
                g_assert_cmpuint(value, ==, 0);         /* no packet fd was ever opened */
        }

        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(name));
}

static void test_default_offloads(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("d");
        g_autofree char *path = tb_create_ok(bus, name, NULL);

        g_autoptr(GHashTable) supported = property_set(bus, TB_MANAGER_PATH, TB_MANAGER_IFACE, "SupportedOffloads");
        g_autoptr(GHashTable) offloads = property_set(bus, path, TB_DEVICE_IFACE, "Offloads");
        tb_assert_sets_equal(offloads, supported);
        g_autoptr(GHashTable) want_kernel = without_tund_offloads(supported);
        g_autoptr(GHashTable) kernel = tb_link_kernel_offloads(name);
        tb_assert_sets_equal(kernel, want_kernel);
        g_assert_cmpuint(tb_link_mtu(name), ==, 1500);

        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(name));
}

typedef struct Change {
        const char *property;
        GVariant *value;
} Change;

static bool changes_property(GVariant *parameters, const void *data) {
        const Change *c = data;
        const char *iface;
        g_autoptr(GVariant) changed = NULL;
        g_variant_get(parameters, "(&s@a{sv}as)", &iface, &changed, NULL);
        if (strcmp(iface, TB_DEVICE_IFACE) != 0)
                return false;
        g_autoptr(GVariant) value = g_variant_lookup_value(changed, c->property, NULL);
        return value && g_variant_equal(value, c->value);
}

static void wait_properties_changed(TbSignals *signals, const char *path, const char *property,
                                    GVariant *value) {
        Change c = { property, g_variant_ref_sink(value) };
        g_autoptr(GVariant) params = tb_signals_wait(signals, "PropertiesChanged", path, changes_property, &c);
        if (!params) {
                g_autofree char *text = g_variant_print(value, TRUE);
                g_error("no PropertiesChanged for %s = %s on %s", property, text, path);
        }
        g_variant_unref(c.value);
}

static void test_set_mtu(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("m");
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        g_autoptr(TbSignals) signals = tb_signals_new(bus, "org.freedesktop.DBus.Properties",
                                                      "PropertiesChanged", path);
        const guint32 mtus[] = { 1280, 68, 65535, 9000 };

        for (size_t i = 0; i < G_N_ELEMENTS(mtus); i++) {
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) r G_GNUC_UNUSED = tb_call(bus, path, TB_DEVICE_IFACE, "SetMTU",
                                                g_variant_new("(u)", mtus[i]), "()", &error);
                g_assert_no_error(error);
                g_assert_cmpuint(tb_link_mtu(name), ==, mtus[i]);
                g_autoptr(GVariant) mtu = tb_get_property(bus, path, TB_DEVICE_IFACE, "MTU");
                g_assert_cmpuint(g_variant_get_uint32(mtu), ==, mtus[i]);
                wait_properties_changed(signals, path, "MTU", g_variant_new_uint32(mtus[i]));
        }

        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(name));
}

static void test_set_offloads(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("o");
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        g_autoptr(TbSignals) signals = tb_signals_new(bus, "org.freedesktop.DBus.Properties",
                                                      "PropertiesChanged", path);
        g_autoptr(GVariant) supported = tb_get_property(bus, TB_MANAGER_PATH, TB_MANAGER_IFACE, "SupportedOffloads");
        g_autofree const char **all = g_variant_get_strv(supported, NULL);
        const char *const *sets[] = {
                (const char *[]) { "csum", NULL },
                (const char *[]) { NULL },
                (const char *[]) { "gro-udp", "gro-tcp", NULL },
                (const char *[]) { "csum", "tso4", "tso6", "tso-ecn", NULL },
                (const char *[]) { "csum", "uso4", "uso6", "gro-udp", NULL },
                all,
        };

        for (size_t i = 0; i < G_N_ELEMENTS(sets); i++) {
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) r G_GNUC_UNUSED = tb_call(bus, path, TB_DEVICE_IFACE, "SetOffloads",
                                                g_variant_new("(^as)", sets[i]), "()", &error);
                g_assert_no_error(error);

                g_autoptr(GHashTable) want = tb_strv_set(sets[i]);
                g_autoptr(GHashTable) got = property_set(bus, path, TB_DEVICE_IFACE, "Offloads");
                tb_assert_sets_equal(got, want);
                g_autoptr(GHashTable) want_kernel = without_tund_offloads(want);
                g_autoptr(GHashTable) kernel = tb_link_kernel_offloads(name);
                tb_assert_sets_equal(kernel, want_kernel);

                /* The signal carries the new set; compare as sets, in whatever order. */
                g_autoptr(GVariant) params = NULL;
                for (;;) {
                        g_clear_pointer(&params, g_variant_unref);
                        params = tb_signals_wait(signals, "PropertiesChanged", path, NULL, NULL);
                        if (!params)
                                g_error("no PropertiesChanged for Offloads after set %zu", i);
                        g_autoptr(GVariant) changed = g_variant_get_child_value(params, 1);
                        g_autoptr(GVariant) value = g_variant_lookup_value(changed, "Offloads", G_VARIANT_TYPE_STRING_ARRAY);
                        if (!value)
                                continue;
                        g_autoptr(GHashTable) signalled = tb_variant_strv_set(value);
                        tb_assert_sets_equal(signalled, want);
                        break;
                }
        }

        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(name));
}

static void test_delete(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("x");
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        g_assert_true(tb_link_exists(name));

        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(name));
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_false(g_hash_table_contains(devices, name));

        /* The name is free again. */
        g_autofree char *again = tb_create_ok(bus, name, NULL);
        tb_delete_ok(bus, again);
        g_assert_true(tb_wait_link_gone(name));
}

static void test_owner_and_persistent_options(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("w");
        const TbUser *user = tb_env_user(env, TB_ROLE_NOBODY);
        g_autofree char *path = tb_create_ok(bus, name, tb_options(
                "Owner", g_variant_new_uint32(user->uid),
                "Persistent", g_variant_new_boolean(TRUE),
                NULL));

        g_autoptr(GVariant) owner = tb_get_property(bus, path, TB_DEVICE_IFACE, "Owner");
        g_assert_cmpuint(g_variant_get_uint32(owner), ==, user->uid);
        g_autoptr(GVariant) persistent = tb_get_property(bus, path, TB_DEVICE_IFACE, "Persistent");
        g_assert_true(g_variant_get_boolean(persistent));

        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(name));
}

static void test_no_offloads(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("e");
        const char *none[] = { NULL };
        g_autofree char *path = tb_create_ok(bus, name, tb_options("Offloads", g_variant_new_strv(none, 0), NULL));
        g_autoptr(GHashTable) offloads = property_set(bus, path, TB_DEVICE_IFACE, "Offloads");
        g_assert_cmpuint(g_hash_table_size(offloads), ==, 0);
        g_autoptr(GHashTable) kernel = tb_link_kernel_offloads(name);
        g_assert_cmpuint(g_hash_table_size(kernel), ==, 0);
        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(name));
}

typedef struct PropertyWait {
        GDBusConnection *bus;
        const char *path, *property;
        GVariant *value;
} PropertyWait;

static bool property_is(void *data) {
        PropertyWait *w = data;
        g_autoptr(GVariant) v = tb_get_property(w->bus, w->path, TB_DEVICE_IFACE, w->property);
        if (g_variant_equal(v, w->value))
                return true;
        g_usleep(20 * 1000);
        return false;
}

static void wait_property(GDBusConnection *bus, const char *path, const char *property, GVariant *value) {
        PropertyWait w = { bus, path, property, g_variant_ref_sink(value) };
        if (!tb_wait_until(property_is, &w)) {
                g_autoptr(GVariant) now = tb_get_property(bus, path, TB_DEVICE_IFACE, property);
                g_autofree char *want = g_variant_print(value, TRUE), *got = g_variant_print(now, TRUE);
                g_error("%s of %s stays %s; the kernel says %s", property, path, got, want);
        }
        g_variant_unref(w.value);
}

/* MTU is what the kernel reports and Name follows renames, whoever makes the change. (The
 * signals for changes made outside tund come from the link monitor, tested with it.) */
static void test_follows_kernel_changes(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("k"), *renamed = tb_ifname("kr");
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        const char *set_mtu[] = { "ip", "link", "set", name, "mtu", "1300", NULL };
        g_assert_cmpint(tb_run(set_mtu, NULL, NULL), ==, 0);
        wait_property(bus, path, "MTU", g_variant_new_uint32(1300));

        const char *rename[] = { "ip", "link", "set", name, "name", renamed, NULL };
        g_assert_cmpint(tb_run(rename, NULL, NULL), ==, 0);
        wait_property(bus, path, "Name", g_variant_new_string(renamed));
        g_autofree char *got_path = tb_get_device_ok(bus, renamed);
        g_assert_cmpstr(got_path, ==, path);
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_cmpstr(g_hash_table_lookup(devices, renamed), ==, path);
        g_assert_false(g_hash_table_contains(devices, name));

        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(renamed));
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/device/properties", test_properties);
        g_test_add_func("/device/default-offloads", test_default_offloads);
        g_test_add_func("/device/no-offloads", test_no_offloads);
        g_test_add_func("/device/set-mtu", test_set_mtu);
        g_test_add_func("/device/set-offloads", test_set_offloads);
        g_test_add_func("/device/delete", test_delete);
        g_test_add_func("/device/follows-kernel-changes", test_follows_kernel_changes);
        g_test_add_func("/device/owner-and-persistent-options", test_owner_and_persistent_options);
        return tb_test_run();
}
