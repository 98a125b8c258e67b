/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.freedesktop.LogControl1 on /org/freedesktop/LogControl1, as `systemctl
 * service-log-level` and `service-log-target` use it: readable by everyone, set by root
 * only, changes announced with PropertiesChanged, bad values refused with InvalidArgs. */

#include "harness.h"

#define LOG_CONTROL_PATH "/org/freedesktop/LogControl1"
#define LOG_CONTROL_IFACE "org.freedesktop.LogControl1"
#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"
#define ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"
#define INVALID_ARGS "org.freedesktop.DBus.Error.InvalidArgs"

static char *get_string(GDBusConnection *bus, const char *property) {
        g_autoptr(GVariant) v = tb_get_property(bus, LOG_CONTROL_PATH, LOG_CONTROL_IFACE, property);
        g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE_STRING));
        return g_variant_dup_string(v, NULL);
}

static GVariant *set_args(const char *property, const char *value) {
        return g_variant_new("(ssv)", LOG_CONTROL_IFACE, property, g_variant_new_string(value));
}

static void set_ok(GDBusConnection *bus, const char *property, const char *value) {
        tb_call_expect(bus, LOG_CONTROL_PATH, PROPERTIES_IFACE, "Set", set_args(property, value), NULL);
}

static void test_read(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *level = get_string(bus, "LogLevel");
        g_autofree char *target = get_string(bus, "LogTarget");
        g_autofree char *ident = get_string(bus, "SyslogIdentifier");
        g_assert_cmpstr(level, ==, "info");
        g_assert_cmpstr(target, ==, "auto");
        g_assert_cmpstr(ident, ==, "tund");

        /* Everyone may read. */
        g_autoptr(TbCaller) c = tb_caller_new(env, tb_env_user(env, TB_ROLE_NOBODY));
        g_autoptr(GError) error = NULL;
        GVariant *r = tb_caller_call(c, false, LOG_CONTROL_PATH, PROPERTIES_IFACE, "Get",
                                     g_variant_new("(ss)", LOG_CONTROL_IFACE, "LogLevel"), &error);
        g_assert_no_error(error);
        g_variant_unref(r);
}

static bool property_changed(GVariant *parameters, const void *data) {
        g_autoptr(GVariant) changed = g_variant_get_child_value(parameters, 1);
        g_autoptr(GVariant) v = g_variant_lookup_value(changed, data, NULL);
        return v != NULL;
}

static void test_set_as_root(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autoptr(TbSignals) signals = tb_signals_new(bus, PROPERTIES_IFACE, "PropertiesChanged", LOG_CONTROL_PATH);

        set_ok(bus, "LogLevel", "debug");
        g_autofree char *level = get_string(bus, "LogLevel");
        g_assert_cmpstr(level, ==, "debug");
        g_autoptr(GVariant) p1 = tb_signals_wait(signals, "PropertiesChanged", LOG_CONTROL_PATH, property_changed, "LogLevel");
        g_assert_nonnull(p1);

        set_ok(bus, "LogTarget", "console-prefixed");
        g_autofree char *target = get_string(bus, "LogTarget");
        g_assert_cmpstr(target, ==, "console-prefixed");
        g_autoptr(GVariant) p2 = tb_signals_wait(signals, "PropertiesChanged", LOG_CONTROL_PATH, property_changed, "LogTarget");
        g_assert_nonnull(p2);

        /* tund still serves, and logs, at the new settings. */
        g_autofree char *name = tb_ifname("l");
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        tb_delete_ok(bus, path);

        set_ok(bus, "LogLevel", "info");
        set_ok(bus, "LogTarget", "auto");
}

static void test_bad_values(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        tb_call_expect(bus, LOG_CONTROL_PATH, PROPERTIES_IFACE, "Set", set_args("LogLevel", "loud"), INVALID_ARGS);
        tb_call_expect(bus, LOG_CONTROL_PATH, PROPERTIES_IFACE, "Set", set_args("LogTarget", "paper"), INVALID_ARGS);
        tb_call_expect(bus, LOG_CONTROL_PATH, PROPERTIES_IFACE, "Set",
                       g_variant_new("(ssv)", LOG_CONTROL_IFACE, "LogLevel", g_variant_new_uint32(7)), INVALID_ARGS);
        g_autofree char *level = get_string(bus, "LogLevel");
        g_assert_cmpstr(level, ==, "info");
}

/* Other users may not change it, whatever polkit would say: as systemd's daemons do. */
static void test_set_refused_unprivileged(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        const TbRole roles[] = { TB_ROLE_NOBODY, TB_ROLE_MANAGE };
        for (size_t i = 0; i < G_N_ELEMENTS(roles); i++) {
                g_autoptr(TbCaller) c = tb_caller_new(env, tb_env_user(env, roles[i]));
                tb_caller_expect(c, false, LOG_CONTROL_PATH, PROPERTIES_IFACE, "Set", set_args("LogLevel", "debug"), ACCESS_DENIED);
                tb_caller_expect(c, true, LOG_CONTROL_PATH, PROPERTIES_IFACE, "Set", set_args("LogTarget", "null"), ACCESS_DENIED);
        }
        g_autofree char *level = get_string(tb_env_bus(env), "LogLevel");
        g_autofree char *target = get_string(tb_env_bus(env), "LogTarget");
        g_assert_cmpstr(level, ==, "info");
        g_assert_cmpstr(target, ==, "auto");
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/log-control/read", test_read);
        g_test_add_func("/log-control/set-as-root", test_set_as_root);
        g_test_add_func("/log-control/bad-values", test_bad_values);
        g_test_add_func("/log-control/set-refused-unprivileged", test_set_refused_unprivileged);
        return tb_test_run();
}
