/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.example.Tun1.Manager: properties, CreateDevice, GetDevice, ListDevices, the
 * ObjectManager, and introspection data identical to the XML files in dbus/. */

#include "harness.h"

#define DEVICE_PATH_PREFIX TB_MANAGER_PATH "/device/"

static void assert_device_path(const char *path) {
        g_assert_true(g_str_has_prefix(path, DEVICE_PATH_PREFIX));
        const char *n = path + strlen(DEVICE_PATH_PREFIX);
        g_assert_cmpuint(strlen(n), >, 0);
        g_assert_cmpuint(strspn(n, "0123456789"), ==, strlen(n));
}

static void test_version(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autoptr(GVariant) v = tb_get_property(tb_env_bus(env), TB_MANAGER_PATH, TB_MANAGER_IFACE, "Version");
        g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE_STRING));
        g_assert_cmpstr(g_variant_get_string(v, NULL), ==, g_getenv("TB_VERSION"));
}

static void test_supported_offloads(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autoptr(GVariant) v = tb_get_property(tb_env_bus(env), TB_MANAGER_PATH, TB_MANAGER_IFACE,
                                                "SupportedOffloads");
        g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE_STRING_ARRAY));
        g_autoptr(GHashTable) reported = tb_variant_strv_set(v);
        g_autoptr(GHashTable) kernel = tb_kernel_supported_offloads();
        tb_assert_sets_equal(reported, kernel);
}

/* Creates a device by NAME and checks what every creation must give; returns its path. */
static char *create_and_check(TbEnv *env, const char *name, char **ret_ifname) {
        GDBusConnection *bus = tb_env_bus(env);
        char *path = tb_create_ok(bus, name, NULL);
        assert_device_path(path);
        g_autofree char *ifname = tb_device_name(bus, path);
        g_assert_true(tb_link_exists(ifname));
        g_autoptr(GVariant) index = tb_get_property(bus, path, TB_DEVICE_IFACE, "Index");
        g_assert_cmpint(g_variant_get_int32(index), ==, tb_link_ifindex(ifname));
        *ret_ifname = g_steal_pointer(&ifname);
        return path;
}

static void delete_and_check(TbEnv *env, const char *path, const char *ifname) {
        tb_delete_ok(tb_env_bus(env), path);
        g_assert_true(tb_wait_link_gone(ifname));
}

static void test_create_empty_name(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *ifname = NULL;
        g_autofree char *path = create_and_check(env, "", &ifname);
        /* The kernel picks tun%d. */
        g_assert_true(g_str_has_prefix(ifname, "tun"));
        g_assert_cmpuint(strspn(ifname + 3, "0123456789"), ==, strlen(ifname + 3));
        delete_and_check(env, path, ifname);
}

static void test_create_pattern(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *pattern = tb_ifname("p%d");
        g_autofree char *prefix = tb_ifname("p");
        g_autofree char *ifname1 = NULL, *ifname2 = NULL;
        g_autofree char *path1 = create_and_check(env, pattern, &ifname1);
        g_autofree char *path2 = create_and_check(env, pattern, &ifname2);
        for (const char *n = ifname1; n; n = n == ifname1 ? ifname2 : NULL) {
                g_assert_true(g_str_has_prefix(n, prefix));
                g_assert_cmpuint(strlen(n), >, strlen(prefix));
                g_assert_cmpuint(strspn(n + strlen(prefix), "0123456789"), ==, strlen(n + strlen(prefix)));
        }
        g_assert_cmpstr(ifname1, !=, ifname2);
        g_assert_cmpstr(path1, !=, path2);
        delete_and_check(env, path1, ifname1);
        delete_and_check(env, path2, ifname2);
}

static void test_create_exact_name(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *name = tb_ifname("x");
        g_autofree char *ifname = NULL;
        g_autofree char *path = create_and_check(env, name, &ifname);
        g_assert_cmpstr(ifname, ==, name);
        delete_and_check(env, path, ifname);
}

static void test_paths_not_reused(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *name = tb_ifname("r");
        g_autofree char *ifname1 = NULL, *ifname2 = NULL;
        g_autofree char *path1 = create_and_check(env, name, &ifname1);
        delete_and_check(env, path1, ifname1);
        g_autofree char *path2 = create_and_check(env, name, &ifname2);
        g_assert_cmpstr(path1, !=, path2);
        delete_and_check(env, path2, ifname2);
}

static void test_get_device(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("g");
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        g_autofree char *got = tb_get_device_ok(bus, name);
        g_assert_cmpstr(got, ==, path);
        delete_and_check(env, path, name);
}

static void test_list_devices(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name1 = tb_ifname("l1"), *name2 = tb_ifname("l2");
        g_autofree char *path1 = tb_create_ok(bus, name1, NULL);
        g_autofree char *path2 = tb_create_ok(bus, name2, NULL);

        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_cmpstr(g_hash_table_lookup(devices, name1), ==, path1);
        g_assert_cmpstr(g_hash_table_lookup(devices, name2), ==, path2);

        delete_and_check(env, path1, name1);
        g_autoptr(GHashTable) after = tb_list_devices(bus);
        g_assert_false(g_hash_table_contains(after, name1));
        g_assert_cmpstr(g_hash_table_lookup(after, name2), ==, path2);
        delete_and_check(env, path2, name2);
}

static GVariant *managed_objects(GDBusConnection *bus) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = tb_call(bus, TB_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                                        "GetManagedObjects", NULL, "(a{oa{sa{sv}}})", &error);
        g_assert_no_error(error);
        return g_variant_get_child_value(r, 0);
}

static bool first_arg_is(GVariant *parameters, const void *data) {
        g_autoptr(GVariant) first = g_variant_get_child_value(parameters, 0);
        return strcmp(g_variant_get_string(first, NULL), data) == 0;
}

/* Every property of GetAll, with the same value (counters aside, they may move). */
static void assert_same_properties(GVariant *all, GVariant *other, const char *what) {
        GVariantIter iter;
        const char *key;
        GVariant *value;
        g_variant_iter_init(&iter, all);
        while (g_variant_iter_loop(&iter, "{&sv}", &key, &value)) {
                if (strcmp(key, "Statistics") == 0)
                        continue;
                g_autoptr(GVariant) seen = g_variant_lookup_value(other, key, NULL);
                if (!seen || !g_variant_equal(seen, value))
                        g_error("%s and GetAll differ on %s", what, key);
        }
}

static void test_object_manager(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autoptr(TbSignals) signals = tb_signals_new(bus, "org.freedesktop.DBus.ObjectManager", NULL,
                                                      TB_MANAGER_PATH);
        g_autofree char *name = tb_ifname("o");
        g_autofree char *path = tb_create_ok(bus, name, NULL);

        g_autoptr(GVariant) added = tb_signals_wait(signals, "InterfacesAdded", NULL, first_arg_is, path);
        g_assert_nonnull(added);
        g_autoptr(GVariant) ifaces = g_variant_get_child_value(added, 1);
        g_autoptr(GVariant) props = g_variant_lookup_value(ifaces, TB_DEVICE_IFACE, G_VARIANT_TYPE("a{sv}"));
        g_assert_nonnull(props);
        g_autoptr(GVariant) added_name = g_variant_lookup_value(props, "Name", G_VARIANT_TYPE_STRING);
        g_assert_nonnull(added_name);
        g_assert_cmpstr(g_variant_get_string(added_name, NULL), ==, name);

        /* GetManagedObjects lists the device with the same properties as GetAll. */
        g_autoptr(GVariant) objects = managed_objects(bus);
        g_autoptr(GVariant) object = g_variant_lookup_value(objects, path, G_VARIANT_TYPE("a{sa{sv}}"));
        g_assert_nonnull(object);
        g_autoptr(GVariant) managed_props = g_variant_lookup_value(object, TB_DEVICE_IFACE, G_VARIANT_TYPE("a{sv}"));
        g_assert_nonnull(managed_props);
        g_autoptr(GVariant) all = tb_get_all(bus, path, TB_DEVICE_IFACE);
        assert_same_properties(all, managed_props, "GetManagedObjects");
        assert_same_properties(all, props, "InterfacesAdded");

        tb_delete_ok(bus, path);
        g_autoptr(GVariant) removed = tb_signals_wait(signals, "InterfacesRemoved", NULL, first_arg_is, path);
        g_assert_nonnull(removed);
        const char *removed_path;
        g_autofree const char **removed_ifaces = NULL;
        g_variant_get(removed, "(&o^a&s)", &removed_path, &removed_ifaces);
        g_assert_cmpstr(removed_path, ==, path);
        g_assert_true(g_strv_contains(removed_ifaces, TB_DEVICE_IFACE));

        g_autoptr(GVariant) objects_after = managed_objects(bus);
        g_autoptr(GVariant) gone = g_variant_lookup_value(objects_after, path, NULL);
        g_assert_null(gone);
        g_assert_true(tb_wait_link_gone(name));
}

/* Introspection: what tund says at run time against the project's XML files. */

static GHashTable *file_interfaces(void) {
        GHashTable *ifaces = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                   (GDestroyNotify) g_dbus_interface_info_unref);
        g_autofree char *dir_path = tb_source_path("dbus");
        g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
        g_assert_nonnull(dir);
        const char *name;
        while ((name = g_dir_read_name(dir))) {
                if (!g_str_has_suffix(name, ".xml"))
                        continue;
                g_autofree char *path = g_build_filename(dir_path, name, NULL);
                g_autofree char *xml = NULL;
                g_autoptr(GError) error = NULL;
                g_assert_true(g_file_get_contents(path, &xml, NULL, &error));
                g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml(xml, &error);
                if (!node)
                        g_error("%s does not parse: %s", path, error->message);
                for (GDBusInterfaceInfo **i = node->interfaces; i && *i; i++)
                        g_hash_table_insert(ifaces, (*i)->name, g_dbus_interface_info_ref(*i));
        }
        return ifaces;
}

static GDBusNodeInfo *runtime_node(GDBusConnection *bus, const char *path) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = tb_call(bus, path, "org.freedesktop.DBus.Introspectable", "Introspect",
                                        NULL, "(s)", &error);
        g_assert_no_error(error);
        const char *xml;
        g_variant_get(r, "(&s)", &xml);
        GDBusNodeInfo *node = g_dbus_node_info_new_for_xml(xml, &error);
        g_assert_no_error(error);
        return node;
}

static int compare_lines(gconstpointer a, gconstpointer b) {
        return g_strcmp0(*(char *const *) a, *(char *const *) b);
}

static void describe_annotations(GString *s, GDBusAnnotationInfo **a) {
        g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
        for (; a && *a; a++)
                g_ptr_array_add(items, g_strdup_printf("@%s=%s", (*a)->key, (*a)->value));
        g_ptr_array_sort(items, compare_lines);
        for (unsigned i = 0; i < items->len; i++)
                g_string_append_printf(s, " %s", (char *) items->pdata[i]);
}

/* One line per member, with everything a client sees: args with names and directions,
 * types, access, annotations. Sorted, so that member order does not matter. */
static char *describe_interface(GDBusInterfaceInfo *iface) {
        g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
        GString *s;

        for (GDBusMethodInfo **m = iface->methods; m && *m; m++) {
                s = g_string_new(NULL);
                g_string_append_printf(s, "method %s(", (*m)->name);
                for (GDBusArgInfo **a = (*m)->in_args; a && *a; a++)
                        g_string_append_printf(s, " in %s %s", (*a)->signature, (*a)->name);
                for (GDBusArgInfo **a = (*m)->out_args; a && *a; a++)
                        g_string_append_printf(s, " out %s %s", (*a)->signature, (*a)->name);
                g_string_append(s, " )");
                describe_annotations(s, (*m)->annotations);
                g_ptr_array_add(lines, g_string_free(s, FALSE));
        }
        for (GDBusSignalInfo **g = iface->signals; g && *g; g++) {
                s = g_string_new(NULL);
                g_string_append_printf(s, "signal %s(", (*g)->name);
                for (GDBusArgInfo **a = (*g)->args; a && *a; a++)
                        g_string_append_printf(s, " %s %s", (*a)->signature, (*a)->name);
                g_string_append(s, " )");
                describe_annotations(s, (*g)->annotations);
                g_ptr_array_add(lines, g_string_free(s, FALSE));
        }
        for (GDBusPropertyInfo **p = iface->properties; p && *p; p++) {
                s = g_string_new(NULL);
                g_string_append_printf(s, "property %s %s %s%s", (*p)->name, (*p)->signature,
                                       (*p)->flags & G_DBUS_PROPERTY_INFO_FLAGS_READABLE ? "read" : "",
                                       (*p)->flags & G_DBUS_PROPERTY_INFO_FLAGS_WRITABLE ? "write" : "");
                describe_annotations(s, (*p)->annotations);
                g_ptr_array_add(lines, g_string_free(s, FALSE));
        }
        s = g_string_new("interface");
        describe_annotations(s, iface->annotations);
        g_ptr_array_add(lines, g_string_free(s, FALSE));

        g_ptr_array_sort(lines, compare_lines);
        g_ptr_array_add(lines, NULL);
        return g_strjoinv("\n", (char **) lines->pdata);
}

static void assert_interface_matches_file(GDBusNodeInfo *node, const char *iface_name) {
        g_autoptr(GHashTable) files = file_interfaces();
        GDBusInterfaceInfo *from_file = g_hash_table_lookup(files, iface_name);
        if (!from_file)
                g_error("no XML file in dbus/ describes %s", iface_name);
        GDBusInterfaceInfo *at_runtime = g_dbus_node_info_lookup_interface(node, iface_name);
        g_assert_nonnull(at_runtime);

        g_autofree char *want = describe_interface(from_file);
        g_autofree char *got = describe_interface(at_runtime);
        if (strcmp(want, got) != 0)
                g_error("%s differs from its XML file.\nFile:\n%s\nRun time:\n%s", iface_name, want, got);
}

static void assert_standard_interfaces(GDBusNodeInfo *node) {
        const char *standard[] = {
                "org.freedesktop.DBus.Properties",
                "org.freedesktop.DBus.Introspectable",
                "org.freedesktop.DBus.Peer",
        };
        for (size_t i = 0; i < G_N_ELEMENTS(standard); i++)
                g_assert_nonnull(g_dbus_node_info_lookup_interface(node, standard[i]));
}

/* API.md's property change behaviour, as sd-bus writes it into introspection data. */
static void assert_emits_changed(GDBusNodeInfo *node, const char *iface_name, const char *property,
                                 const char *expected) {
        GDBusInterfaceInfo *iface = g_dbus_node_info_lookup_interface(node, iface_name);
        GDBusPropertyInfo *p = g_dbus_interface_info_lookup_property(iface, property);
        g_assert_nonnull(p);
        const char *value = g_dbus_annotation_info_lookup(p->annotations,
                                                          "org.freedesktop.DBus.Property.EmitsChangedSignal");
        if (g_strcmp0(value, expected) != 0)
                g_error("%s.%s: EmitsChangedSignal is %s, API.md says %s", iface_name, property,
                        value ? value : "(default: true)", expected ? expected : "(default: true)");
}

static void test_introspection_manager(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autoptr(GDBusNodeInfo) node = runtime_node(tb_env_bus(env), TB_MANAGER_PATH);
        assert_standard_interfaces(node);
        g_assert_nonnull(g_dbus_node_info_lookup_interface(node, "org.freedesktop.DBus.ObjectManager"));
        assert_interface_matches_file(node, TB_MANAGER_IFACE);
        assert_emits_changed(node, TB_MANAGER_IFACE, "Version", "const");
        assert_emits_changed(node, TB_MANAGER_IFACE, "SupportedOffloads", "const");
}

static void test_introspection_device(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("i");
        g_autofree char *path = tb_create_ok(bus, name, NULL);

        g_autoptr(GDBusNodeInfo) node = runtime_node(bus, path);
        assert_standard_interfaces(node);
        assert_interface_matches_file(node, TB_DEVICE_IFACE);
        const char *emitting[] = { "Name", "Index", "MTU", "Offloads", "Clients" };
        for (size_t i = 0; i < G_N_ELEMENTS(emitting); i++)
                assert_emits_changed(node, TB_DEVICE_IFACE, emitting[i], NULL);
        assert_emits_changed(node, TB_DEVICE_IFACE, "Owner", "const");
        assert_emits_changed(node, TB_DEVICE_IFACE, "Persistent", "const");
        assert_emits_changed(node, TB_DEVICE_IFACE, "Statistics", "false");

        /* The device node is reachable from the manager's node tree. */
        g_autoptr(GDBusNodeInfo) devices = runtime_node(bus, TB_MANAGER_PATH "/device");
        bool listed = false;
        for (GDBusNodeInfo **n = devices->nodes; n && *n; n++)
                listed = listed || strcmp(path + strlen(DEVICE_PATH_PREFIX), (*n)->path) == 0;
        g_assert_true(listed);

        delete_and_check(env, path, name);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/manager/version", test_version);
        g_test_add_func("/manager/supported-offloads", test_supported_offloads);
        g_test_add_func("/manager/create/empty-name", test_create_empty_name);
        g_test_add_func("/manager/create/pattern", test_create_pattern);
        g_test_add_func("/manager/create/exact-name", test_create_exact_name);
        g_test_add_func("/manager/create/paths-not-reused", test_paths_not_reused);
        g_test_add_func("/manager/get-device", test_get_device);
        g_test_add_func("/manager/list-devices", test_list_devices);
        g_test_add_func("/manager/object-manager", test_object_manager);
        g_test_add_func("/manager/introspection/manager", test_introspection_manager);
        g_test_add_func("/manager/introspection/device", test_introspection_device);
        return tb_test_run();
}
