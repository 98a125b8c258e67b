/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Calls on tund from a test's own (uid 0) connections, and the signals they receive. */

#include "harness-private.h"

#include <gio/gunixfdlist.h>

static gboolean keep_ticking(gpointer data) {
        return G_SOURCE_CONTINUE;
}

bool tb_wait_until(bool (*predicate)(void *data), void *data) {
        gint64 deadline = g_get_monotonic_time() + TB_HANG_SECONDS * G_USEC_PER_SEC;
        /* Wakes predicates that block in g_main_context_iteration(), so a hang is noticed. */
        guint tick = g_timeout_add(100, keep_ticking, NULL);
        bool ok = true;
        while (!predicate(data)) {
                if (g_get_monotonic_time() > deadline) {
                        ok = false;
                        break;
                }
                g_main_context_iteration(NULL, FALSE);
        }
        g_source_remove(tick);
        return ok;
}

void tb_drain(void) {
        while (g_main_context_iteration(NULL, FALSE))
                ;
}

GVariant *tb_call_flags(GDBusConnection *bus, GDBusCallFlags flags, const char *path,
                        const char *iface, const char *method, GVariant *args,
                        const char *reply_type, GError **error) {
        return g_dbus_connection_call_sync(bus, TB_BUS_NAME, path, iface, method, args,
                                           reply_type ? G_VARIANT_TYPE(reply_type) : NULL,
                                           flags, TB_HANG_SECONDS * 1000, NULL, error);
}

GVariant *tb_call(GDBusConnection *bus, const char *path, const char *iface, const char *method,
                  GVariant *args, const char *reply_type, GError **error) {
        return tb_call_flags(bus, G_DBUS_CALL_FLAGS_NONE, path, iface, method, args, reply_type, error);
}

GVariant *tb_create_args(const char *name, GVariant *options) {
        if (!options)
                options = g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0);
        return g_variant_new("(s@a{sv})", name, options);
}

char *tb_create(GDBusConnection *bus, const char *name, GVariant *options, GError **error) {
        g_autoptr(GVariant) r = tb_call(bus, TB_MANAGER_PATH, TB_MANAGER_IFACE, "CreateDevice",
                                        tb_create_args(name, options), "(o)", error);
        char *path = NULL;
        if (r)
                g_variant_get(r, "(o)", &path);
        return path;
}

char *tb_create_ok(GDBusConnection *bus, const char *name, GVariant *options) {
        g_autoptr(GError) error = NULL;
        char *path = tb_create(bus, name, options, &error);
        g_assert_no_error(error);
        g_assert_true(g_variant_is_object_path(path));
        return path;
}

void tb_delete_ok(GDBusConnection *bus, const char *path) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r G_GNUC_UNUSED = tb_call(bus, path, TB_DEVICE_IFACE, "Delete", NULL, "()", &error);
        g_assert_no_error(error);
}

GVariant *tb_get_property(GDBusConnection *bus, const char *path, const char *iface,
                          const char *name) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = tb_call(bus, path, "org.freedesktop.DBus.Properties", "Get",
                                        g_variant_new("(ss)", iface, name), "(v)", &error);
        g_assert_no_error(error);
        GVariant *value;
        g_variant_get(r, "(v)", &value);
        return value;
}

GVariant *tb_get_all(GDBusConnection *bus, const char *path, const char *iface) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = tb_call(bus, path, "org.freedesktop.DBus.Properties", "GetAll",
                                        g_variant_new("(s)", iface), "(a{sv})", &error);
        g_assert_no_error(error);
        return g_variant_get_child_value(r, 0);
}

char *tb_device_name(GDBusConnection *bus, const char *path) {
        g_autoptr(GVariant) v = tb_get_property(bus, path, TB_DEVICE_IFACE, "Name");
        return g_variant_dup_string(v, NULL);
}

GHashTable *tb_list_devices(GDBusConnection *bus) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = tb_call(bus, TB_MANAGER_PATH, TB_MANAGER_IFACE, "ListDevices",
                                        NULL, "(a(so))", &error);
        g_assert_no_error(error);
        GHashTable *devices = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        g_autoptr(GVariantIter) iter = NULL;
        char *name, *path;
        g_variant_get(r, "(a(so))", &iter);
        while (g_variant_iter_next(iter, "(so)", &name, &path)) {
                g_assert_false(g_hash_table_contains(devices, name));
                g_hash_table_insert(devices, name, path);
        }
        return devices;
}

int tb_open_packet_fd(GDBusConnection *bus, const char *path, GVariant *options, GError **error) {
        g_autoptr(GUnixFDList) fds = NULL;
        g_autoptr(GVariant) reply = NULL;
        gint32 handle;

        if (!options)
                options = g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0);
        reply = g_dbus_connection_call_with_unix_fd_list_sync(
                bus, TB_BUS_NAME, path, TB_DEVICE_IFACE, "OpenPacketFd",
                g_variant_new("(@a{sv})", options), G_VARIANT_TYPE("(h)"), G_DBUS_CALL_FLAGS_NONE,
                TB_HANG_SECONDS * 1000, NULL, &fds, NULL, error);
        if (!reply)
                return -1;
        g_variant_get(reply, "(h)", &handle);
        g_assert_nonnull(fds);
        return g_unix_fd_list_get(fds, handle, error);
}

char *tb_get_device_ok(GDBusConnection *bus, const char *name) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = tb_call(bus, TB_MANAGER_PATH, TB_MANAGER_IFACE, "GetDevice",
                                        g_variant_new("(s)", name), "(o)", &error);
        g_assert_no_error(error);
        char *path;
        g_variant_get(r, "(o)", &path);
        return path;
}

void tb_assert_reply(GVariant *reply, const GError *error, const char *error_name) {
        if (!error_name) {
                g_assert_no_error(error);
                g_assert_nonnull(reply);
                return;
        }
        g_assert_null(reply);
        tb_assert_error(error, error_name);
}

void tb_call_expect(GDBusConnection *bus, const char *path, const char *iface, const char *method,
                    GVariant *args, const char *error_name) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = tb_call(bus, path, iface, method, args, NULL, &error);
        tb_assert_reply(r, error, error_name);
}

void tb_assert_dbus_error(const GError *error, const char *name) {
        g_autofree char *remote = g_dbus_error_get_remote_error(error);
        if (g_strcmp0(remote, name) != 0)
                g_error("expected D-Bus error %s, got %s: %s", name, remote ? remote : "(none)",
                        error->message);
        g_autoptr(GError) copy = g_error_copy(error);
        g_dbus_error_strip_remote_error(copy);
        g_assert_cmpstr(copy->message, !=, "");
        g_test_message("%s: %s", name, copy->message);
}

static void on_signal(GDBusConnection *bus, const char *sender, const char *path,
                      const char *iface, const char *member, GVariant *parameters, gpointer data) {
        TbSignals *s = data;
        g_ptr_array_add(s->received, g_variant_ref_sink(
                g_variant_new("(osv)", path, member, parameters)));
}

TbSignals *tb_signals_new(GDBusConnection *bus, const char *iface, const char *member,
                          const char *path) {
        TbSignals *s = g_new0(TbSignals, 1);
        s->bus = g_object_ref(bus);
        s->received = g_ptr_array_new_with_free_func((GDestroyNotify) g_variant_unref);
        s->id = g_dbus_connection_signal_subscribe(bus, TB_BUS_NAME, iface, member, path, NULL,
                                                   G_DBUS_SIGNAL_FLAGS_NONE, on_signal, s, NULL);
        /* The match rule is in place once a round trip to the bus has finished. */
        g_autoptr(GVariant) r G_GNUC_UNUSED = g_dbus_connection_call_sync(
                bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "GetId", NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
        return s;
}

void tb_signals_free(TbSignals *s) {
        if (!s)
                return;
        g_dbus_connection_signal_unsubscribe(s->bus, s->id);
        g_ptr_array_unref(s->received);
        g_object_unref(s->bus);
        g_free(s);
}

static int find_signal(TbSignals *s, const char *member, const char *path,
                       bool (*match)(GVariant *parameters, const void *data), const void *data) {
        for (unsigned i = 0; i < s->received->len; i++) {
                const char *p, *m;
                g_autoptr(GVariant) params = NULL;
                g_variant_get(s->received->pdata[i], "(&o&sv)", &p, &m, &params);
                if (member && strcmp(m, member) != 0)
                        continue;
                if (path && strcmp(p, path) != 0)
                        continue;
                if (match && !match(params, data))
                        continue;
                return (int) i;
        }
        return -1;
}

typedef struct SignalWait {
        TbSignals *s;
        const char *member, *path;
        bool (*match)(GVariant *, const void *);
        const void *data;
        int index;
} SignalWait;

static bool signal_arrived(void *data) {
        SignalWait *w = data;
        w->index = find_signal(w->s, w->member, w->path, w->match, w->data);
        if (w->index < 0)
                g_main_context_iteration(NULL, TRUE);
        return w->index >= 0;
}

GVariant *tb_signals_wait(TbSignals *s, const char *member, const char *path,
                          bool (*match)(GVariant *parameters, const void *data), const void *data) {
        SignalWait w = { s, member, path, match, data, -1 };
        if (!tb_wait_until(signal_arrived, &w))
                return NULL;
        GVariant *params = g_variant_get_child_value(s->received->pdata[w.index], 2);
        GVariant *inner = g_variant_get_variant(params);
        g_variant_unref(params);
        g_ptr_array_remove_index(s->received, w.index);
        return inner;
}

unsigned tb_signals_count(TbSignals *s, const char *member, const char *path) {
        unsigned n = 0;
        for (unsigned i = 0; i < s->received->len; i++) {
                const char *p, *m;
                g_variant_get(s->received->pdata[i], "(&o&sv)", &p, &m, NULL);
                if ((!member || strcmp(m, member) == 0) && (!path || strcmp(p, path) == 0))
                        n++;
        }
        return n;
}

TbAnswer tb_polkit_answer(TbEnv *env, const char *bus_name, const char *action, bool interactive) {
        g_autoptr(GError) error = NULL;
        GVariantBuilder details;
        g_variant_builder_init(&details, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&details, "{sv}", "name", g_variant_new_string(bus_name));
        g_autoptr(GVariant) r = g_dbus_connection_call_sync(
                tb_env_bus(env), TB_POLKIT_NAME, TB_POLKIT_PATH, TB_POLKIT_IFACE, "CheckAuthorization",
                g_variant_new("((sa{sv})sa{ss}us)", "system-bus-name", &details, action, NULL,
                              interactive ? TB_POLKIT_ALLOW_USER_INTERACTION : 0u, ""),
                G_VARIANT_TYPE("((bba{ss}))"), G_DBUS_CALL_FLAGS_NONE, TB_HANG_SECONDS * 1000, NULL, &error);
        g_assert_no_error(error);
        gboolean authorized, challenge;
        g_variant_get(r, "((bb@a{ss}))", &authorized, &challenge, NULL);
        return authorized ? TB_ANSWER_YES : challenge ? TB_ANSWER_CHALLENGE : TB_ANSWER_NO;
}
