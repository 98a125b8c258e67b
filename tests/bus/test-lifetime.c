/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Lifetime: devices go with their creator's connection unless Persistent; SIGTERM removes
 * them; tund leaves with its bus; sd_notify; --help and --version. (Restarts: test-restart.) */

#include "harness.h"

#include <signal.h>
#include <sys/wait.h>

static bool first_arg_is(GVariant *parameters, const void *data) {
        g_autoptr(GVariant) first = g_variant_get_child_value(parameters, 0);
        return strcmp(g_variant_get_string(first, NULL), data) == 0;
}

static void assert_clean_exit(int status) {
        if (status == -1)
                g_error("tund did not exit");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                g_error("tund did not exit cleanly: wait status 0x%x", status);
}

static void test_creator_disconnect(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autoptr(TbSignals) signals = tb_signals_new(bus, "org.freedesktop.DBus.ObjectManager",
                                                      "InterfacesRemoved", TB_MANAGER_PATH);
        g_autofree char *name = tb_ifname("c"), *kept = tb_ifname("k");

        GDBusConnection *creator = tb_env_connect(env);
        g_autofree char *path = tb_create_ok(creator, name, NULL);
        g_autofree char *kept_path = tb_create_ok(creator, kept, tb_options("Persistent", g_variant_new_boolean(TRUE), NULL));
        g_assert_true(g_dbus_connection_close_sync(creator, NULL, NULL));
        g_object_unref(creator);

        g_autoptr(GVariant) removed = tb_signals_wait(signals, "InterfacesRemoved", NULL, first_arg_is, path);
        g_assert_nonnull(removed);
        g_assert_true(tb_wait_link_gone(name));
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_false(g_hash_table_contains(devices, name));

        /* The persistent one stays. */
        g_assert_cmpstr(g_hash_table_lookup(devices, kept), ==, kept_path);
        g_assert_true(tb_link_exists(kept));
        tb_delete_ok(bus, kept_path);
        g_assert_true(tb_wait_link_gone(kept));
}

static void test_unprivileged_creator_disconnect(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("u");
        TbCaller *c = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        tb_caller_expect(c, false, TB_MANAGER_PATH, TB_MANAGER_IFACE, "CreateDevice", tb_create_args(name, NULL), NULL);
        g_assert_true(tb_link_exists(name));

        tb_caller_free(c);
        g_assert_true(tb_wait_link_gone(name));
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_false(g_hash_table_contains(devices, name));
}

static void test_sigterm_removes_devices(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name1 = tb_ifname("s1"), *name2 = tb_ifname("s2");
        g_autofree char *path1 G_GNUC_UNUSED = tb_create_ok(bus, name1, NULL);
        GDBusConnection *other = tb_env_connect(env);
        g_autofree char *path2 G_GNUC_UNUSED = tb_create_ok(other, name2, NULL);

        g_ptr_array_set_size(tb_tund_notifications(env), 0);
        assert_clean_exit(tb_tund_stop(env));
        g_assert_false(tb_link_exists(name1));
        g_assert_false(tb_link_exists(name2));
        g_assert_false(tb_name_has_owner(env, TB_BUS_NAME));
        g_assert_true(tb_tund_wait_notification(env, "STOPPING=1"));

        g_dbus_connection_close_sync(other, NULL, NULL);
        g_object_unref(other);
}

/* Devices moved to another network namespace are still tund's: they go with their creator
 * and when tund stops, like the others. */
static void test_devices_in_other_netns_go_too(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *netns = tb_ifname("ns"), *by_creator = tb_ifname("nc"), *by_stop = tb_ifname("nt");
        const char *add_netns[] = { "ip", "netns", "add", netns, NULL };
        const char *del_netns[] = { "ip", "netns", "delete", netns, NULL };
        g_autofree char *err = NULL;
        if (tb_run(add_netns, NULL, &err) != 0) {
                g_test_skip_printf("cannot add a network namespace: %s", err);
                return;
        }
        GDBusConnection *bus = tb_env_bus(env);
        GDBusConnection *creator = tb_env_connect(env);
        g_autofree char *path1 = tb_create_ok(creator, by_creator, NULL);
        g_autofree char *path2 = tb_create_ok(bus, by_stop, NULL);
        const char *move1[] = { "ip", "link", "set", by_creator, "netns", netns, NULL };
        const char *move2[] = { "ip", "link", "set", by_stop, "netns", netns, NULL };
        const char *show1[] = { "ip", "-n", netns, "link", "show", by_creator, NULL };
        const char *show2[] = { "ip", "-n", netns, "link", "show", by_stop, NULL };
        g_assert_cmpint(tb_run(move1, NULL, NULL), ==, 0);
        g_assert_cmpint(tb_run(move2, NULL, NULL), ==, 0);

        g_autoptr(TbSignals) signals = tb_signals_new(bus, "org.freedesktop.DBus.ObjectManager",
                                                      "InterfacesRemoved", TB_MANAGER_PATH);
        g_dbus_connection_close_sync(creator, NULL, NULL);
        g_object_unref(creator);
        g_autoptr(GVariant) removed = tb_signals_wait(signals, "InterfacesRemoved", NULL, first_arg_is, path1);
        g_assert_nonnull(removed);
        if (tb_run(show1, NULL, NULL) == 0)
                g_error("%s stays in namespace %s after its creator left", by_creator, netns);

        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_cmpstr(g_hash_table_lookup(devices, by_stop), ==, path2);
        assert_clean_exit(tb_tund_stop(env));
        if (tb_run(show2, NULL, NULL) == 0)
                g_error("%s stays in namespace %s after tund stopped", by_stop, netns);
        g_assert_cmpint(tb_run(del_netns, NULL, NULL), ==, 0);
}

static void test_ready_notification(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        assert_clean_exit(tb_tund_stop(env));
        g_ptr_array_set_size(tb_tund_notifications(env), 0);

        tb_tund_spawn(env);
        if (!tb_tund_wait_notification(env, "READY=1"))
                g_error("tund sent no READY=1 to $NOTIFY_SOCKET");
        /* READY=1 promises a service that can be called: its name is owned already. */
        g_assert_true(tb_name_has_owner(env, TB_BUS_NAME));
        GPtrArray *n = tb_tund_notifications(env);
        for (unsigned i = 0; i < n->len; i++)
                g_test_message("notification: %s", (char *) n->pdata[i]);
}

/* With $WATCHDOG_USEC set (as systemd does for WatchdogSec=), tund pings the watchdog. */
static void test_watchdog(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        assert_clean_exit(tb_tund_stop(env));
        g_ptr_array_set_size(tb_tund_notifications(env), 0);

        const char *watchdog[] = { "WATCHDOG_USEC", "1000000", NULL };
        tb_tund_spawn_with_env(env, watchdog);
        g_assert_true(tb_tund_wait_notification(env, "READY=1"));
        if (!tb_tund_wait_notification(env, "WATCHDOG=1"))
                g_error("tund sent no WATCHDOG=1 with WATCHDOG_USEC set");
        assert_clean_exit(tb_tund_stop(env));
}

static void test_help_and_version(void) {
        if (!tb_tund_path()) {
                g_test_skip("tund is not built (TUND is not set)");
                return;
        }
        g_autofree char *out = NULL, *err = NULL;
        const char *help[] = { tb_tund_path(), "--help", NULL };
        g_assert_cmpint(tb_run(help, &out, &err), ==, 0);
        g_assert_nonnull(strstr(out, "--help"));
        g_assert_nonnull(strstr(out, "--version"));
        g_clear_pointer(&out, g_free);

        const char *version[] = { tb_tund_path(), "--version", NULL };
        g_assert_cmpint(tb_run(version, &out, NULL), ==, 0);
        g_assert_nonnull(strstr(out, g_getenv("TB_VERSION")));
        g_clear_pointer(&out, g_free);

        const char *bad[] = { tb_tund_path(), "--no-such-option", NULL };
        g_autofree char *bad_err = NULL;
        g_assert_cmpint(tb_run(bad, NULL, &bad_err), !=, 0);
        g_assert_cmpstr(bad_err, !=, "");
}

/* Sends CreateDevice as C while polkitd is stopped and returns once tund waits for polkit. */
static unsigned create_while_polkit_stopped(TbEnv *env, TbCaller *c, const char *name) {
        g_assert_no_errno(kill(tb_env_polkitd_pid(env), SIGSTOP));
        unsigned create = tb_caller_send(c, false, TB_MANAGER_PATH, TB_MANAGER_IFACE, "CreateDevice",
                                         g_variant_new("(s@a{sv})", name, tb_options(NULL, NULL)));
        /* tund handles one caller's messages in order. */
        unsigned list = tb_caller_send(c, false, TB_MANAGER_PATH, TB_MANAGER_IFACE, "ListDevices", NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) listed G_GNUC_UNUSED = tb_caller_wait(c, list, &error);
        g_assert_no_error(error);
        g_assert_false(tb_caller_has_reply(c, create));
        return create;
}

typedef struct Gone {
        GDBusConnection *bus;
        const char *name;
} Gone;

static bool device_gone(void *data) {
        Gone *g = data;
        g_autoptr(GHashTable) devices = tb_list_devices(g->bus);
        if (!g_hash_table_contains(devices, g->name) && !tb_link_exists(g->name))
                return true;
        g_usleep(20 * 1000);
        return false;
}

/* The creator leaves while polkit decides: when polkit says yes, no device may outlive it. */
static void test_creator_leaves_while_polkit_decides(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *name = tb_ifname("y");
        TbCaller *c = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        create_while_polkit_stopped(env, c, name);
        tb_caller_free(c);
        g_assert_no_errno(kill(tb_env_polkitd_pid(env), SIGCONT));

        /* Another polkit question, answered after the first was asked. */
        g_autoptr(TbCaller) other = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        g_autofree char *other_name = tb_ifname("y2");
        tb_caller_expect(other, false, TB_MANAGER_PATH, TB_MANAGER_IFACE, "CreateDevice",
                         tb_create_args(other_name, NULL), NULL);

        Gone gone = { tb_env_bus(env), name };
        if (!tb_wait_until(device_gone, &gone))
                g_error("%s outlived its creator, who left while polkit decided", name);
}

/* SIGTERM while polkit decides: tund still exits cleanly, and frees what waited. */
static void test_sigterm_while_polkit_decides(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *name = tb_ifname("v");
        g_autoptr(TbCaller) c = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        unsigned create = create_while_polkit_stopped(env, c, name);

        int status = tb_tund_stop(env);
        g_assert_no_errno(kill(tb_env_polkitd_pid(env), SIGCONT));
        assert_clean_exit(status);
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = tb_caller_wait(c, create, &error);
        g_assert_null(r);
        g_test_message("the waiting caller got: %s", error->message);
        g_assert_false(tb_link_exists(name));
}

/* Last: it takes the bus away from the test program's environment. */
static void test_exit_when_bus_goes(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *name = tb_ifname("b");
        g_autofree char *path G_GNUC_UNUSED = tb_create_ok(tb_env_bus(env), name, NULL);

        tb_env_stop_bus(env);
        int status = tb_tund_wait_exit(env);
        if (status == -1)
                g_error("tund did not exit after its bus went away");
        g_assert_true(WIFEXITED(status));
        g_test_message("tund exited with status %d", WEXITSTATUS(status));
        g_assert_true(tb_wait_link_gone(name));
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/lifetime/help-and-version", test_help_and_version);
        g_test_add_func("/lifetime/ready-notification", test_ready_notification);
        g_test_add_func("/lifetime/watchdog", test_watchdog);
        g_test_add_func("/lifetime/creator-disconnect", test_creator_disconnect);
        g_test_add_func("/lifetime/unprivileged-creator-disconnect", test_unprivileged_creator_disconnect);
        g_test_add_func("/lifetime/sigterm-removes-devices", test_sigterm_removes_devices);
        g_test_add_func("/lifetime/devices-in-other-netns-go-too", test_devices_in_other_netns_go_too);
        g_test_add_func("/lifetime/creator-leaves-while-polkit-decides", test_creator_leaves_while_polkit_decides);
        g_test_add_func("/lifetime/sigterm-while-polkit-decides", test_sigterm_while_polkit_decides);
        g_test_add_func("/lifetime/exit-when-bus-goes", test_exit_when_bus_goes);
        return tb_test_run();
}
