/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Link events at a D-Bus client: the real tund on the harness's private system bus, real
 * `ip link` changes, in tund's namespace and after a move into a namespace the test makes.
 * Every LinkUp, LinkDown and MTUChanged is counted: one per change, none when idle. */

#include <string.h>

#include "harness.h"

/* Longer than tund's probe interval (1 s), so that a late duplicate would be seen. */
#define SETTLE_MS 1500

static void ip(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void ip(const char *fmt, ...) {
        g_autofree char *args = NULL, *err = NULL;
        g_auto(GStrv) argv = NULL;
        g_autofree char *cmd = NULL;
        va_list ap;

        va_start(ap, fmt);
        args = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        cmd = g_strconcat("ip ", args, NULL);
        g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
        if (tb_run((const char *const *) argv, NULL, &err) != 0)
                g_error("%s failed: %s", cmd, err);
}

static gboolean on_timeout(gpointer data) {
        *(bool *) data = true;
        return G_SOURCE_REMOVE;
}

/* Lets signals arrive for a while: none may be missing, none may come twice. */
static void settle(void) {
        bool done = false;

        g_timeout_add(SETTLE_MS, on_timeout, &done);
        while (!done)
                g_main_context_iteration(NULL, TRUE);
}

typedef struct Watch {
        GDBusConnection *bus;
        char *path;
        TbSignals *link;        /* the Device interface's signals */
        TbSignals *props;       /* PropertiesChanged */
        TbSignals *removed;     /* InterfacesRemoved */
} Watch;

static void watch_init(Watch *w, GDBusConnection *bus, const char *path) {
        w->bus = bus;
        w->path = g_strdup(path);
        w->link = tb_signals_new(bus, TB_DEVICE_IFACE, NULL, path);
        w->props = tb_signals_new(bus, "org.freedesktop.DBus.Properties", "PropertiesChanged", path);
        w->removed = tb_signals_new(bus, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", TB_MANAGER_PATH);
}

/* Creates the device NAME and watches it. */
static void watch_new_device(Watch *w, GDBusConnection *bus, const char *name) {
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        watch_init(w, bus, path);
}

static void watch_done(Watch *w) {
        tb_signals_free(w->link);
        tb_signals_free(w->props);
        tb_signals_free(w->removed);
        g_free(w->path);
}

static bool mtu_is(GVariant *parameters, const void *data) {
        guint32 mtu;
        g_variant_get(parameters, "(u)", &mtu);
        return mtu == GPOINTER_TO_UINT(data);
}

static void move_to_new_netns(const char *name, const char *ns) {
        ip("netns add %s", ns);
        ip("link set %s netns %s", name, ns);
}

/* PropertiesChanged holding PROPERTY with the given value. */
typedef struct Changed {
        const char *property;
        GVariant *value;
} Changed;

static bool changed_to(GVariant *parameters, const void *data) {
        const Changed *c = data;
        g_autoptr(GVariant) dict = g_variant_get_child_value(parameters, 1);
        g_autoptr(GVariant) v = g_variant_lookup_value(dict, c->property, NULL);
        return v && g_variant_equal(v, c->value);
}

static void expect_property_change(Watch *w, const char *property, GVariant *value) {
        Changed c = { property, g_variant_ref_sink(value) };
        g_autoptr(GVariant) p = tb_signals_wait(w->props, "PropertiesChanged", w->path, changed_to, &c);
        g_assert_nonnull(p);
        g_autoptr(GVariant) now = tb_get_property(w->bus, w->path, TB_DEVICE_IFACE, property);
        g_assert_true(g_variant_equal(now, c.value));
        g_variant_unref(c.value);
}

/* Waits for the one signal the change must cause, then checks that no other came. */
static void expect_signal(Watch *w, const char *member, guint32 mtu) {
        g_autoptr(GVariant) p = tb_signals_wait(w->link, member, w->path,
                                                mtu ? mtu_is : NULL, GUINT_TO_POINTER(mtu));
        g_assert_nonnull(p);
        settle();
        g_assert_cmpuint(tb_signals_count(w->link, NULL, w->path), ==, 0);
}

static void expect_nothing(Watch *w) {
        settle();
        for (unsigned i = 0; i < w->link->received->len; i++) {
                g_autofree char *str = g_variant_print(w->link->received->pdata[i], TRUE);
                g_test_message("unexpected: %s", str);
        }
        g_assert_cmpuint(tb_signals_count(w->link, NULL, w->path), ==, 0);
}

static void expect_removed(Watch *w) {
        g_autoptr(GVariant) p = tb_signals_wait(w->removed, "InterfacesRemoved", TB_MANAGER_PATH, NULL, NULL);
        const char *path;

        g_assert_nonnull(p);
        g_variant_get(p, "(&o@as)", &path, NULL);
        g_assert_cmpstr(path, ==, w->path);
        tb_call_expect(w->bus, w->path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1400),
                       "org.freedesktop.DBus.Error.UnknownObject");
}

static void set_mtu(Watch *w, guint32 mtu) {
        tb_call_expect(w->bus, w->path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", mtu), NULL);
}

/* Up, down, MTU by ip and by SetMTU, rename, in whatever namespace ns ("" for tund's). */
static void check_changes(Watch *w, const char *ns, char **name) {
        g_autofree char *prefix = ns[0] ? g_strdup_printf("-n %s ", ns) : g_strdup("");
        g_autofree char *renamed = tb_ifname("r");

        expect_nothing(w);

        ip("%slink set %s up", prefix, *name);
        expect_signal(w, "LinkUp", 0);
        expect_property_change(w, "Up", g_variant_new_boolean(true));

        ip("%slink set %s mtu 1400", prefix, *name);
        expect_signal(w, "MTUChanged", 1400);
        expect_property_change(w, "MTU", g_variant_new_uint32(1400));

        set_mtu(w, 1300);
        expect_signal(w, "MTUChanged", 1300);
        expect_property_change(w, "MTU", g_variant_new_uint32(1300));

        ip("%slink set %s down", prefix, *name);
        expect_signal(w, "LinkDown", 0);
        expect_property_change(w, "Up", g_variant_new_boolean(false));

        ip("%slink set %s name %s", prefix, *name, renamed);
        expect_property_change(w, "Name", g_variant_new_string(renamed));
        expect_nothing(w);
        g_free(*name);
        *name = g_strdup(renamed);

        /* What is set already changes nothing. */
        ip("%slink set %s mtu 1300", prefix, *name);
        set_mtu(w, 1300);
        expect_nothing(w);
}

static void test_root_namespace(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("a");
        Watch w;

        watch_new_device(&w, bus, name);
        check_changes(&w, "", &name);

        ip("link delete %s", name);
        expect_removed(&w);
        watch_done(&w);
}

static void test_other_namespace(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("b");
        g_autofree char *ns = tb_ifname("nsb");
        g_autoptr(GVariant) index = NULL;
        Watch w;

        watch_new_device(&w, bus, name);
        move_to_new_netns(name, ns);
        /* A move is no deletion, and the device was down: nothing to announce. */
        expect_nothing(&w);
        g_assert_cmpuint(tb_signals_count(w.removed, NULL, NULL), ==, 0);
        index = tb_get_property(bus, w.path, TB_DEVICE_IFACE, "Index");
        g_assert_cmpint(g_variant_get_int32(index), >, 0);

        check_changes(&w, ns, &name);

        ip("-n %s link delete %s", ns, name);
        expect_removed(&w);
        watch_done(&w);

        /* A second device, whose namespace is destroyed. */
        g_autofree char *name2 = tb_ifname("c");
        watch_new_device(&w, bus, name2);
        ip("link set %s netns %s", name2, ns);
        ip("-n %s link set %s up", ns, name2);
        expect_signal(&w, "LinkUp", 0);
        ip("netns delete %s", ns);
        expect_removed(&w);
        watch_done(&w);
}

/* tund watching by its probe alone (TUND_LINK_NETLINK=0) announces the same. */
static void test_probe_only(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("q");
        g_autofree char *ns = tb_ifname("nsq");
        Watch w;

        g_assert_cmpint(tb_tund_stop(env), ==, 0);
        g_setenv("TUND_LINK_NETLINK", "0", TRUE);
        tb_tund_start(env);
        g_unsetenv("TUND_LINK_NETLINK");

        watch_new_device(&w, bus, name);
        check_changes(&w, "", &name);

        move_to_new_netns(name, ns);
        expect_nothing(&w);
        ip("-n %s link set %s up", ns, name);
        expect_signal(&w, "LinkUp", 0);
        ip("-n %s link set %s down", ns, name);
        expect_signal(&w, "LinkDown", 0);
        ip("netns delete %s", ns);
        expect_removed(&w);
        watch_done(&w);

        /* The next test gets a tund with netlink again. */
        g_assert_cmpint(tb_tund_stop(env), ==, 0);
        tb_tund_start(env);
}

/* SetOffloads and Delete keep working after a move. */
static void test_act_in_other_namespace(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("d");
        g_autofree char *ns = tb_ifname("nsd");
        const char *offloads[] = { "csum", "tso4", NULL };
        g_autofree char *out = NULL;
        Watch w;

        watch_new_device(&w, bus, name);
        move_to_new_netns(name, ns);

        tb_call_expect(bus, w.path, TB_DEVICE_IFACE, "SetOffloads", g_variant_new("(^as)", offloads), NULL);
        g_autoptr(GVariant) got = tb_get_property(bus, w.path, TB_DEVICE_IFACE, "Offloads");
        g_autoptr(GHashTable) got_set = tb_variant_strv_set(got);
        g_autoptr(GHashTable) want_set = tb_strv_set(offloads);
        tb_assert_sets_equal(got_set, want_set);

        tb_delete_ok(bus, w.path);
        expect_removed(&w);
        const char *argv[] = { "ip", "-n", ns, "-o", "link", "show", NULL };
        g_assert_cmpint(tb_run(argv, &out, NULL), ==, 0);
        g_assert_null(strstr(out, name));
        expect_nothing(&w);
        watch_done(&w);

        ip("netns delete %s", ns);
}

/* A restarted tund reports the current state of its persistent devices, with no burst of
 * signals about what changed while it was away. */
static void test_restart(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("p");
        g_autofree char *path = tb_create_ok(bus, name, tb_options("Persistent", g_variant_new_boolean(true), NULL));
        Watch w, any;

        watch_init(&w, bus, path);
        ip("link set %s up", name);
        expect_signal(&w, "LinkUp", 0);
        watch_done(&w);

        /* Subscribed across the restart, for any object. */
        watch_init(&any, bus, NULL);
        g_assert_cmpint(tb_tund_stop(env), ==, 0);
        ip("link set %s mtu 1234", name);
        tb_tund_start(env);

        g_autofree char *new_path = tb_get_device_ok(bus, name);
        expect_nothing(&any);
        g_assert_cmpuint(tb_signals_count(any.props, NULL, NULL), ==, 0);
        watch_done(&any);
        watch_init(&w, bus, new_path);

        g_autoptr(GVariant) up = tb_get_property(bus, new_path, TB_DEVICE_IFACE, "Up");
        g_autoptr(GVariant) mtu = tb_get_property(bus, new_path, TB_DEVICE_IFACE, "MTU");
        g_assert_true(g_variant_get_boolean(up));
        g_assert_cmpuint(g_variant_get_uint32(mtu), ==, 1234);

        /* And it watches them again. */
        ip("link set %s down", name);
        expect_signal(&w, "LinkDown", 0);

        tb_delete_ok(bus, new_path);
        g_assert_true(tb_wait_link_gone(name));
        watch_done(&w);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/link-bus/root-namespace", test_root_namespace);
        g_test_add_func("/link-bus/other-namespace", test_other_namespace);
        g_test_add_func("/link-bus/act-in-other-namespace", test_act_in_other_namespace);
        g_test_add_func("/link-bus/restart", test_restart);
        g_test_add_func("/link-bus/probe-only", test_probe_only);
        return tb_test_run();
}
