/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bad input gets the contract's error with a message and leaves nothing behind; Exists,
 * NoSuchDevice, NotSupported and UnknownObject. */

#include "harness.h"

#define INVALID_ARGS "org.freedesktop.DBus.Error.InvalidArgs"
#define UNKNOWN_OBJECT "org.freedesktop.DBus.Error.UnknownObject"
#define EXISTS "org.example.Tun1.Error.Exists"
#define NO_SUCH_DEVICE "org.example.Tun1.Error.NoSuchDevice"
#define NOT_SUPPORTED "org.example.Tun1.Error.NotSupported"

/* What could be left behind by a failed call: links of this test, devices, objects. */
typedef struct Snapshot {
        GHashTable *links;
        GHashTable *devices;
        GVariant *objects;
} Snapshot;

static GHashTable *own_links(void) {
        g_autofree char *prefix = tb_ifname("");
        GHashTable *all = tb_links();
        GHashTableIter iter;
        gpointer key;
        g_hash_table_iter_init(&iter, all);
        while (g_hash_table_iter_next(&iter, &key, NULL))
                if (!g_str_has_prefix(key, prefix))
                        g_hash_table_iter_remove(&iter);
        return all;
}

static Snapshot take_snapshot(GDBusConnection *bus) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = tb_call(bus, TB_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                        "GetManagedObjects", NULL, "(a{oa{sa{sv}}})", &error);
        g_assert_no_error(error);
        return (Snapshot) {
                .links = own_links(),
                .devices = tb_list_devices(bus),
                .objects = g_variant_get_child_value(r, 0),
        };
}

static void free_snapshot(Snapshot *s) {
        g_hash_table_unref(s->links);
        g_hash_table_unref(s->devices);
        g_variant_unref(s->objects);
}

static void assert_nothing_left(GDBusConnection *bus, Snapshot *before) {
        Snapshot after = take_snapshot(bus);
        tb_assert_sets_equal(before->links, after.links);
        g_assert_cmpuint(g_hash_table_size(before->devices), ==, g_hash_table_size(after.devices));
        g_assert_cmpuint(g_variant_n_children(before->objects), ==, g_variant_n_children(after.objects));
        free_snapshot(&after);
}

static void expect_create_error(GDBusConnection *bus, const char *name, GVariant *options,
                                const char *error_name) {
        Snapshot before = take_snapshot(bus);
        g_autoptr(GError) error = NULL;
        g_variant_ref_sink(options);
        g_autofree char *text = g_variant_print(options, TRUE);
        g_test_message("CreateDevice('%s', %s)", name, text);
        g_autofree char *path = tb_create(bus, name, options, &error);
        g_variant_unref(options);
        if (path)
                g_error("CreateDevice('%s', %s) succeeded with %s; expected %s", name, text, path, error_name);
        tb_assert_error(error, error_name);
        if (strcmp(error_name, INVALID_ARGS) == 0 && !strchr(name, '%') && name[0])
                g_assert_false(tb_link_exists(name));
        assert_nothing_left(bus, &before);
        free_snapshot(&before);
}

static GVariant *no_options(void) {
        return g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0);
}

static void test_bad_names(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *slash = tb_ifname("a/b"), *colon = tb_ifname("a:b"), *space = tb_ifname("a b");
        g_autofree char *tab = tb_ifname("a\tb"), *newline = tb_ifname("a\nb");
        g_autofree char *two_patterns = tb_ifname("%d%d"), *other_format = tb_ifname("%s");
        g_autofree char *percent = tb_ifname("%");
        const char *names[] = {
                slash, colon, space, tab, newline,
                ".", "..",
                "tb0123456789abcd",     /* 16 bytes */
                "tb0123456789abcdefghijklmnopqrstuvwxyz",
                two_patterns, other_format, percent,
        };
        for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
                expect_create_error(bus, names[i], no_options(), INVALID_ARGS);
}

static void test_bad_mtus(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("m");
        const guint32 mtus[] = { 0, 1, 67, 65536, 100000, G_MAXUINT32 };
        for (size_t i = 0; i < G_N_ELEMENTS(mtus); i++)
                expect_create_error(bus, name, tb_options("MTU", g_variant_new_uint32(mtus[i]), NULL), INVALID_ARGS);
}

static void test_mtu_limits_accepted(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("m");
        const guint32 mtus[] = { 68, 65535 };
        for (size_t i = 0; i < G_N_ELEMENTS(mtus); i++) {
                g_autofree char *path = tb_create_ok(bus, name, tb_options("MTU", g_variant_new_uint32(mtus[i]), NULL));
                g_assert_cmpuint(tb_link_mtu(name), ==, mtus[i]);
                tb_delete_ok(bus, path);
                g_assert_true(tb_wait_link_gone(name));
        }
}

static void test_bad_option_keys(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("k");
        const char *keys[] = { "Bogus", "mtu", "", "MTU ", "raw", "Vnet" };
        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
                expect_create_error(bus, name, tb_options(keys[i], g_variant_new_uint32(1500), NULL), INVALID_ARGS);
}

static void test_bad_option_types(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("t");
        const char *csum_path[] = { "/csum", NULL };
        GVariant *options[] = {
                tb_options("MTU", g_variant_new_int32(1500), NULL),
                tb_options("MTU", g_variant_new_string("1500"), NULL),
                tb_options("MTU", g_variant_new_uint64(1500), NULL),
                tb_options("Offloads", g_variant_new_string("csum"), NULL),
                tb_options("Offloads", g_variant_new_objv(csum_path, -1), NULL),
                tb_options("Persistent", g_variant_new_uint32(1), NULL),
                tb_options("Persistent", g_variant_new_string("true"), NULL),
                tb_options("Owner", g_variant_new_int32(0), NULL),
                tb_options("Owner", g_variant_new_string("root"), NULL),
                tb_options("Raw", g_variant_new_uint32(1), NULL),
                tb_options("Raw", g_variant_new_string("true"), NULL),
                tb_options("VnetHeader", g_variant_new_int32(1), NULL),
                /* Types right, but VnetHeader belongs to raw devices only. */
                tb_options("VnetHeader", g_variant_new_boolean(TRUE), NULL),
        };
        for (size_t i = 0; i < G_N_ELEMENTS(options); i++)
                expect_create_error(bus, name, options[i], INVALID_ARGS);

        /* Arguments of the wrong signature never reach CreateDevice's logic. */
        tb_call_expect(bus, TB_MANAGER_PATH, TB_MANAGER_IFACE, "CreateDevice", g_variant_new("(s)", name),
                       INVALID_ARGS);
        g_assert_false(tb_link_exists(name));
}

static GVariant *offload_options(const char *const *offloads) {
        return tb_options("Offloads", g_variant_new_strv(offloads, -1), NULL);
}

/* Offload sets API.md forbids on any kernel. */
static const char *const *bad_offload_sets[] = {
        (const char *[]) { "bogus", NULL },
        (const char *[]) { "CSUM", NULL },
        (const char *[]) { "csum", "", NULL },
        (const char *[]) { "tso4", NULL },
        (const char *[]) { "tso6", "gro-tcp", NULL },
        (const char *[]) { "uso4", "uso6", NULL },
        (const char *[]) { "tso-ecn", NULL },
        (const char *[]) { "csum", "tso-ecn", NULL },
        (const char *[]) { "csum", "uso4", NULL },
        (const char *[]) { "csum", "uso6", NULL },
};

static void test_bad_offload_sets(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("o");
        for (size_t i = 0; i < G_N_ELEMENTS(bad_offload_sets); i++)
                expect_create_error(bus, name, offload_options(bad_offload_sets[i]), INVALID_ARGS);
}

static GHashTable *device_offloads(GDBusConnection *bus, const char *path) {
        g_autoptr(GVariant) v = tb_get_property(bus, path, TB_DEVICE_IFACE, "Offloads");
        return tb_variant_strv_set(v);
}

static void test_bad_device_calls(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("d");
        g_autofree char *path = tb_create_ok(bus, name, tb_options("MTU", g_variant_new_uint32(1400), NULL));
        g_autoptr(GHashTable) offloads = device_offloads(bus, path);
        g_autoptr(GHashTable) kernel_offloads = tb_link_kernel_offloads(name);

        const guint32 mtus[] = { 0, 67, 65536, G_MAXUINT32 };
        for (size_t i = 0; i < G_N_ELEMENTS(mtus); i++) {
                tb_call_expect(bus, path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", mtus[i]), INVALID_ARGS);
                g_assert_cmpuint(tb_link_mtu(name), ==, 1400);
        }

        for (size_t i = 0; i < G_N_ELEMENTS(bad_offload_sets); i++) {
                tb_call_expect(bus, path, TB_DEVICE_IFACE, "SetOffloads",
                               g_variant_new("(^as)", bad_offload_sets[i]), INVALID_ARGS);
                g_autoptr(GHashTable) now = device_offloads(bus, path);
                tb_assert_sets_equal(now, offloads);
                g_autoptr(GHashTable) kernel_now = tb_link_kernel_offloads(name);
                tb_assert_sets_equal(kernel_now, kernel_offloads);
        }

        tb_call_expect(bus, path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(s)", "1500"), INVALID_ARGS);

        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(name));
}

static void test_exists(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("e");
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        int ifindex = tb_link_ifindex(name);

        expect_create_error(bus, name, no_options(), EXISTS);
        g_assert_cmpint(tb_link_ifindex(name), ==, ifindex);

        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(name));
}

/* A link tund does not manage holds its name too: CreateDevice must neither attach to it
 * (TUNSETIFF would, on a TUN) nor touch it. */
static void expect_foreign_link_kept(GDBusConnection *bus, const char *name, const char *const *add,
                                     const char *const *del) {
        g_autofree char *err = NULL;
        if (tb_run(add, NULL, &err) != 0) {
                g_test_message("cannot run %s %s %s %s: %s", add[0], add[1], add[2], add[3], err);
                return;
        }
        int ifindex = tb_link_ifindex(name);

        expect_create_error(bus, name, no_options(), EXISTS);
        g_assert_cmpint(tb_link_ifindex(name), ==, ifindex);
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_false(g_hash_table_contains(devices, name));

        g_assert_cmpint(tb_run(del, NULL, NULL), ==, 0);
}

static void test_exists_foreign_link(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *tun = tb_ifname("f");
        g_autofree char *veth = tb_ifname("v"), *peer = tb_ifname("w");

        expect_foreign_link_kept(bus, tun,
                                 (const char *[]) { "ip", "tuntap", "add", "dev", tun, "mode", "tun", NULL },
                                 (const char *[]) { "ip", "tuntap", "del", "dev", tun, "mode", "tun", NULL });
        expect_foreign_link_kept(bus, veth,
                                 (const char *[]) { "ip", "link", "add", veth, "type", "veth", "peer", "name", peer, NULL },
                                 (const char *[]) { "ip", "link", "delete", veth, NULL });
}

/* Names stay taken while a device lives in another network namespace (API.md, Names). */
static void test_exists_in_other_netns(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("n"), *netns = tb_ifname("ns");
        const char *add_netns[] = { "ip", "netns", "add", netns, NULL };
        const char *del_netns[] = { "ip", "netns", "delete", netns, NULL };
        const char *move[] = { "ip", "link", "set", name, "netns", netns, NULL };
        const char *show[] = { "ip", "-n", netns, "link", "show", name, NULL };
        g_autofree char *err = NULL;
        if (tb_run(add_netns, NULL, &err) != 0) {
                g_test_skip_printf("cannot add a network namespace: %s", err);
                return;
        }

        g_autofree char *path = tb_create_ok(bus, name, NULL);
        g_assert_cmpint(tb_run(move, NULL, NULL), ==, 0);
        g_assert_false(tb_link_exists(name));
        g_assert_cmpint(tb_run(show, NULL, NULL), ==, 0);

        expect_create_error(bus, name, no_options(), EXISTS);
        g_autofree char *got = tb_get_device_ok(bus, name);
        g_assert_cmpstr(got, ==, path);
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_cmpstr(g_hash_table_lookup(devices, name), ==, path);

        /* Delete reaches it there too. */
        tb_delete_ok(bus, path);
        g_assert_cmpint(tb_run(show, NULL, NULL), !=, 0);
        g_assert_cmpint(tb_run(del_netns, NULL, NULL), ==, 0);
}

/* A pattern makes the kernel pick a name; one that a managed device in another namespace
 * has is still taken. */
static void test_pattern_skips_names_in_other_netns(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *pattern = tb_ifname("q%d"), *first = tb_ifname("q0"), *netns = tb_ifname("nq");
        const char *add_netns[] = { "ip", "netns", "add", netns, NULL };
        const char *del_netns[] = { "ip", "netns", "delete", netns, NULL };
        const char *move[] = { "ip", "link", "set", first, "netns", netns, NULL };
        g_autofree char *err = NULL;
        if (tb_run(add_netns, NULL, &err) != 0) {
                g_test_skip_printf("cannot add a network namespace: %s", err);
                return;
        }

        g_autofree char *path = tb_create_ok(bus, pattern, NULL);
        g_autofree char *ifname = tb_device_name(bus, path);
        g_assert_cmpstr(ifname, ==, first);
        g_assert_cmpint(tb_run(move, NULL, NULL), ==, 0);

        /* Either another name or Exists; never a second device called q0. */
        g_autoptr(GError) error = NULL;
        g_autofree char *second = tb_create(bus, pattern, NULL, &error);
        if (second) {
                g_autofree char *second_name = tb_device_name(bus, second);
                g_test_message("the second device is %s", second_name);
                g_assert_cmpstr(second_name, !=, first);
                tb_delete_ok(bus, second);
        } else
                tb_assert_error(error, EXISTS);
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_cmpstr(g_hash_table_lookup(devices, first), ==, path);

        tb_delete_ok(bus, path);
        g_assert_cmpint(tb_run(del_netns, NULL, NULL), ==, 0);
}

static void test_no_such_device(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("n");
        g_autofree char *deleted = tb_ifname("nd");
        g_autofree char *path = tb_create_ok(bus, deleted, NULL);
        tb_delete_ok(bus, path);

        const char *names[] = { name, deleted, "lo" };
        for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
                tb_call_expect(bus, TB_MANAGER_PATH, TB_MANAGER_IFACE, "GetDevice", g_variant_new("(s)", names[i]),
                               NO_SUCH_DEVICE);
}

static void test_not_supported(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        const char *all[] = { "csum", "tso4", "tso6", "tso-ecn", "uso4", "uso6", "gro-tcp", "gro-udp", NULL };
        g_autoptr(GHashTable) supported = tb_kernel_supported_offloads();
        const char *missing = NULL;
        for (const char **o = all; *o && !missing; o++)
                if (!g_hash_table_contains(supported, *o))
                        missing = *o;
        if (!missing) {
                g_test_skip("the running kernel accepts every offload of API.md, so NotSupported "
                            "cannot happen here (SupportedOffloads is checked against the kernel "
                            "by /manager/supported-offloads)");
                return;
        }

        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("s");
        /* The set is valid by API.md's rules; only the kernel lacks it. */
        const char *set[] = { "csum", "tso4", missing, strcmp(missing, "uso4") == 0 ? "uso6" :
                              strcmp(missing, "uso6") == 0 ? "uso4" : NULL, NULL };
        expect_create_error(bus, name, offload_options(set), NOT_SUPPORTED);

        g_autofree char *path = tb_create_ok(bus, name, NULL);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "SetOffloads", g_variant_new("(^as)", set), NOT_SUPPORTED);
        tb_delete_ok(bus, path);
}

static void test_unknown_object(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("u");
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        tb_delete_ok(bus, path);

        const char *paths[] = { path, TB_MANAGER_PATH "/device/999999" };
        for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
                struct {
                        const char *iface, *method;
                        GVariant *args;
                } calls[] = {
                        { TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1400) },
                        { TB_DEVICE_IFACE, "SetOffloads", g_variant_new("(^as)", (const char *[]) { "csum", NULL }) },
                        { TB_DEVICE_IFACE, "Delete", NULL },
                        { "org.freedesktop.DBus.Properties", "Get", g_variant_new("(ss)", TB_DEVICE_IFACE, "Name") },
                        { "org.freedesktop.DBus.Properties", "GetAll", g_variant_new("(s)", TB_DEVICE_IFACE) },
                };
                for (size_t j = 0; j < G_N_ELEMENTS(calls); j++) {
                        g_test_message("%s.%s on %s", calls[j].iface, calls[j].method, paths[i]);
                        tb_call_expect(bus, paths[i], calls[j].iface, calls[j].method, calls[j].args,
                                       UNKNOWN_OBJECT);
                }
        }
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/bad-input/names", test_bad_names);
        g_test_add_func("/bad-input/mtus", test_bad_mtus);
        g_test_add_func("/bad-input/mtu-limits-accepted", test_mtu_limits_accepted);
        g_test_add_func("/bad-input/option-keys", test_bad_option_keys);
        g_test_add_func("/bad-input/option-types", test_bad_option_types);
        g_test_add_func("/bad-input/offload-sets", test_bad_offload_sets);
        g_test_add_func("/bad-input/device-calls", test_bad_device_calls);
        g_test_add_func("/errors/exists", test_exists);
        g_test_add_func("/errors/exists-foreign-link", test_exists_foreign_link);
        g_test_add_func("/errors/exists-in-other-netns", test_exists_in_other_netns);
        g_test_add_func("/errors/pattern-skips-names-in-other-netns", test_pattern_skips_names_in_other_netns);
        g_test_add_func("/errors/no-such-device", test_no_such_device);
        g_test_add_func("/errors/not-supported", test_not_supported);
        g_test_add_func("/errors/unknown-object", test_unknown_object);
        return tb_test_run();
}
