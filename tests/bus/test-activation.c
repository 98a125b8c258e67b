/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bus activation with persistent devices: the call that starts tund (GetDevice, ListDevices,
 * GetManagedObjects) already sees every persistent device of the earlier run, and a
 * persistent device created by the activating call keeps its record across the next
 * restart. tund runs as the bus starts it, from the project's activation file. */

#include "harness.h"

#include <signal.h>
#include <string.h>

#define ROUNDS 20
#define N_DEVICES 3

#define OBJECT_MANAGER_IFACE "org.freedesktop.DBus.ObjectManager"

static TbEnv *env;
static char *names[N_DEVICES];

static TbEnv *activation_env(void) {
        if (!tb_can_run())
                return NULL;
        if (!tb_tund_path()) {
                g_test_skip("tund is not built");
                return NULL;
        }
        if (!env) {
                env = tb_env_new();
                tb_env_install_activation(env);
        }
        return env;
}

static pid_t activated_pid(GDBusConnection *bus) {
        g_autoptr(GVariant) r = g_dbus_connection_call_sync(
                bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "GetConnectionUnixProcessID", g_variant_new("(s)", TB_BUS_NAME), G_VARIANT_TYPE("(u)"),
                G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
        guint32 pid = 0;
        if (r)
                g_variant_get(r, "(u)", &pid);
        return (pid_t) pid;
}

/* Exited: the bus daemon's helper left it to PID 1, which may be slow to reap it. */
static bool exited(pid_t pid) {
        g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int) pid);
        g_autofree char *stat = NULL;
        if (!g_file_get_contents(path, &stat, NULL, NULL))
                return true;
        const char *state = strrchr(stat, ')');
        return state && state[1] == ' ' && state[2] == 'Z';
}

static bool stopped(void *data) {
        return !tb_name_has_owner(env, TB_BUS_NAME) && exited(*(pid_t *) data);
}

/* Stops the tund the bus started, by its PID (the bus daemon reaps it). */
static void stop_activated(void) {
        pid_t pid = activated_pid(tb_env_bus(env));
        if (pid <= 0)
                return;
        g_assert_no_errno(kill(pid, SIGTERM));
        if (!tb_wait_until(stopped, &pid))
                g_error("the activated tund (PID %d) did not stop", (int) pid);
}

static void assert_not_running(void) {
        g_assert_false(tb_name_has_owner(env, TB_BUS_NAME));
}

static bool has_all_devices(GHashTable *seen) {
        for (size_t i = 0; i < N_DEVICES; i++)
                if (!g_hash_table_contains(seen, names[i]))
                        return false;
        return true;
}

static void activate_with_get_device(GDBusConnection *bus) {
        /* The first name's call starts tund; the others are answered by the same run. */
        for (size_t i = 0; i < N_DEVICES; i++) {
                g_autofree char *path = tb_get_device_ok(bus, names[i]);
                g_assert_nonnull(path);
        }
}

static void activate_with_list_devices(GDBusConnection *bus) {
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_true(has_all_devices(devices));
}

static void activate_with_get_managed_objects(GDBusConnection *bus) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = tb_call(bus, TB_MANAGER_PATH, OBJECT_MANAGER_IFACE, "GetManagedObjects",
                                        NULL, "(a{oa{sa{sv}}})", &error);
        g_assert_no_error(error);

        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GVariant) objects = g_variant_get_child_value(r, 0);
        GVariantIter iter;
        const char *path;
        GVariant *interfaces;
        g_variant_iter_init(&iter, objects);
        while (g_variant_iter_loop(&iter, "{&o@a{sa{sv}}}", &path, &interfaces)) {
                g_autoptr(GVariant) props = g_variant_lookup_value(interfaces, TB_DEVICE_IFACE, NULL);
                const char *name;
                if (props && g_variant_lookup(props, "Name", "&s", &name))
                        g_hash_table_add(seen, g_strdup(name));
        }
        g_assert_true(has_all_devices(seen));
}

/* Every round: tund stopped, then the first call starts it and must see every device, and
 * no device is announced as new. */
static void run_rounds(void (*activate)(GDBusConnection *bus)) {
        if (!activation_env())
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_assert_nonnull(names[0]);

        for (int round = 0; round < ROUNDS; round++) {
                stop_activated();
                assert_not_running();
                g_autoptr(TbSignals) added = tb_signals_new(bus, OBJECT_MANAGER_IFACE, "InterfacesAdded", NULL);
                activate(bus);
                g_assert_true(tb_name_has_owner(env, TB_BUS_NAME));
                tb_drain();
                g_assert_cmpuint(tb_signals_count(added, "InterfacesAdded", NULL), ==, 0);
        }
}

/* The persistent devices of the other tests, each created by the call that started tund. */
static void test_create_activates(void) {
        if (!activation_env())
                return;
        GDBusConnection *bus = tb_env_bus(env);

        for (size_t i = 0; i < N_DEVICES; i++) {
                stop_activated();
                assert_not_running();
                names[i] = tb_ifname((const char *[]) { "a", "b", "c" }[i]);
                g_free(tb_create_ok(bus, names[i], tb_options("Persistent", g_variant_new_boolean(TRUE), NULL)));
                g_assert_true(tb_link_exists(names[i]));
        }

        /* Each survives the next restart, the last one created by an activating call too. */
        stop_activated();
        activate_with_list_devices(bus);
        stop_activated();
        activate_with_get_device(bus);
}

static void test_get_device(void) {
        run_rounds(activate_with_get_device);
}

static void test_list_devices(void) {
        run_rounds(activate_with_list_devices);
}

static void test_get_managed_objects(void) {
        run_rounds(activate_with_get_managed_objects);
}

static void test_cleanup(void) {
        if (!activation_env())
                return;
        GDBusConnection *bus = tb_env_bus(env);
        for (size_t i = 0; i < N_DEVICES; i++)
                if (names[i]) {
                        g_autofree char *path = tb_get_device_ok(bus, names[i]);
                        tb_delete_ok(bus, path);
                        g_assert_true(tb_wait_link_gone(names[i]));
                }
        stop_activated();
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/activation/persistent-create-activates", test_create_activates);
        g_test_add_func("/activation/get-device-sees-persistent", test_get_device);
        g_test_add_func("/activation/list-devices-sees-persistent", test_list_devices);
        g_test_add_func("/activation/get-managed-objects-sees-persistent", test_get_managed_objects);
        g_test_add_func("/activation/cleanup", test_cleanup);
        int r = g_test_run();
        for (size_t i = 0; i < N_DEVICES; i++)
                g_free(names[i]);
        g_clear_pointer(&env, tb_env_free);
        return r;
}
