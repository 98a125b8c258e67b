/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Addresses and routes: AddAddress, RemoveAddress, AddRoute, RemoveRoute against the
 * kernel's view, their errors, configure-network, the properties Addresses and Routes
 * following changes made with ip(8), and a device moved to another namespace. */

#include <sys/wait.h>

#include "harness.h"

#define INVALID_ARGS   "org.freedesktop.DBus.Error.InvalidArgs"
#define ACCESS_DENIED  "org.freedesktop.DBus.Error.AccessDenied"
#define INTERACTIVE    "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"
#define EXISTS         "org.example.Tun1.Error.Exists"
#define NO_SUCH_ADDR   "org.example.Tun1.Error.NoSuchAddress"
#define NO_SUCH_ROUTE  "org.example.Tun1.Error.NoSuchRoute"

/* Runs "ip ARGS..." (words split on spaces) and asserts it succeeded. */
static void ip(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void ip(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        g_autofree char *args = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        g_autofree char *line = g_strconcat("ip ", args, NULL);
        g_auto(GStrv) argv = g_strsplit(line, " ", -1);
        g_autofree char *err = NULL;
        if (tb_run((const char *const *) argv, NULL, &err) != 0)
                g_error("%s failed: %s", line, err);
}

/* Up, without the IPv6 link-local address that would come and go beside the test's own. */
static char *create_up(GDBusConnection *bus, const char *name) {
        char *path = tb_create_ok(bus, name, NULL);
        ip("link set %s addrgenmode none", name);
        ip("link set %s up", name);
        return path;
}

static GVariant *no_options(void) {
        return g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0);
}

static const char *or_none(const char *s) {
        return s ? s : "-";
}

static GVariant *address_args(const char *address, const char *peer) {
        return g_variant_new("(s@a{sv})", address,
                             peer ? tb_options("Peer", g_variant_new_string(peer), NULL) : no_options());
}

static GVariant *route_args(const char *dst, GVariant *options) {
        return g_variant_new("(s@a{sv})", dst, options ? options : no_options());
}

/* "10.8.0.2/24" or "10.8.1.2/32 peer 10.8.1.1" for each element of Addresses. */
static GHashTable *address_set(GDBusConnection *bus, const char *path) {
        g_autoptr(GVariant) v = tb_get_property(bus, path, TB_DEVICE_IFACE, "Addresses");
        GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GVariantIter) it = NULL;
        GVariant *options;
        const char *a;
        g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE("a(sa{sv})")));
        g_variant_get(v, "a(sa{sv})", &it);
        while (g_variant_iter_next(it, "(&s@a{sv})", &a, &options)) {
                const char *peer = NULL;
                g_variant_lookup(options, "Peer", "&s", &peer);
                g_hash_table_add(set, peer ? g_strdup_printf("%s peer %s", a, peer) : g_strdup(a));
                g_variant_unref(options);
        }
        return set;
}

/* "10.8.0.0/24 metric 0 table 254", with " via GATEWAY" when it has one. */
static GHashTable *route_set(GDBusConnection *bus, const char *path) {
        g_autoptr(GVariant) v = tb_get_property(bus, path, TB_DEVICE_IFACE, "Routes");
        GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GVariantIter) it = NULL;
        GVariant *options;
        const char *dst;
        g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE("a(sa{sv})")));
        g_variant_get(v, "a(sa{sv})", &it);
        while (g_variant_iter_next(it, "(&s@a{sv})", &dst, &options)) {
                const char *gw = NULL;
                guint32 metric = 0, table = 0;
                g_assert_true(g_variant_lookup(options, "Metric", "u", &metric));
                g_assert_true(g_variant_lookup(options, "Table", "u", &table));
                g_variant_lookup(options, "Gateway", "&s", &gw);
                g_hash_table_add(set, g_strdup_printf("%s%s%s metric %u table %u", dst, gw ? " via " : "",
                                                      gw ? gw : "", metric, table));
                g_variant_unref(options);
        }
        return set;
}

static void assert_has(GHashTable *set, const char *item, bool present) {
        if (g_hash_table_contains(set, item) != present) {
                g_autofree char *s = tb_set_to_string(set);
                g_error("%s %s in [%s]", item, present ? "missing" : "unexpected", s);
        }
}

static void assert_address(GDBusConnection *bus, const char *path, const char *a, bool present) {
        g_autoptr(GHashTable) set = address_set(bus, path);
        assert_has(set, a, present);
}

static void assert_route(GDBusConnection *bus, const char *path, const char *r, bool present) {
        g_autoptr(GHashTable) set = route_set(bus, path);
        assert_has(set, r, present);
}

/* The kernel's view: whether `ip ARGS` prints WHAT. */
static bool kernel_shows(const char *args, const char *what) {
        g_autofree char *line = g_strconcat("ip ", args, NULL);
        g_auto(GStrv) argv = g_strsplit(line, " ", -1);
        g_autofree char *out = NULL;
        g_assert_cmpint(tb_run((const char *const *) argv, &out, NULL), ==, 0);
        return strstr(out, what) != NULL;
}

static bool changes(GVariant *parameters, const void *data) {
        const char *iface;
        g_autoptr(GVariant) changed = NULL;
        g_variant_get(parameters, "(&s@a{sv}as)", &iface, &changed, NULL);
        g_autoptr(GVariant) value = g_variant_lookup_value(changed, data, NULL);
        return strcmp(iface, TB_DEVICE_IFACE) == 0 && value;
}

/* Waits a moment for stragglers, then counts the PropertiesChanged naming PROPERTY. */
static unsigned count_changes(TbSignals *s, const char *property) {
        unsigned n = 0;
        g_usleep(300 * 1000);
        tb_drain();
        for (unsigned i = 0; i < s->received->len; i++) {
                g_autoptr(GVariant) params = NULL;
                g_variant_get(s->received->pdata[i], "(&o&sv)", NULL, NULL, &params);
                if (changes(params, property)) {
                        g_autofree char *text = g_variant_print(params, FALSE);
                        g_test_message("a change of %s: %s", property, text);
                        n++;
                }
        }
        return n;
}

static void forget_changes(TbSignals *s) {
        tb_drain();
        g_ptr_array_set_size(s->received, 0);
}

/* Exactly one PropertiesChanged named PROPERTY since the last check. */
static void assert_changed_once(TbSignals *s, const char *path, const char *property) {
        g_autoptr(GVariant) p = tb_signals_wait(s, "PropertiesChanged", path, changes, property);
        if (!p)
                g_error("no PropertiesChanged for %s", property);
        g_assert_cmpuint(count_changes(s, property), ==, 0);
        g_ptr_array_set_size(s->received, 0);
}

static void assert_not_changed(TbSignals *s, const char *property) {
        g_assert_cmpuint(count_changes(s, property), ==, 0);
}

static void test_addresses(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("a");
        g_autofree char *path = create_up(bus, name);
        g_autoptr(TbSignals) s = tb_signals_new(bus, "org.freedesktop.DBus.Properties", "PropertiesChanged", path);
        g_autofree char *show4 = g_strdup_printf("-4 address show dev %s", name);
        g_autofree char *show6 = g_strdup_printf("-6 address show dev %s", name);

        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddAddress", address_args("10.8.0.2/24", NULL), NULL);
        /* Told before the reply. */
        assert_address(bus, path, "10.8.0.2/24", true);
        g_assert_true(kernel_shows(show4, "inet 10.8.0.2/24"));
        assert_changed_once(s, path, "Addresses");
        /* The kernel's prefix route comes with it. */
        assert_route(bus, path, "10.8.0.0/24 metric 0 table 254", true);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddAddress", address_args("10.8.0.2/24", NULL), EXISTS);

        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddAddress", address_args("10.8.1.2/32", "10.8.1.1"), NULL);
        assert_address(bus, path, "10.8.1.2/32 peer 10.8.1.1", true);
        g_assert_true(kernel_shows(show4, "inet 10.8.1.2 peer 10.8.1.1/32"));
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddAddress", address_args("fd00:8::2/64", NULL), NULL);
        assert_address(bus, path, "fd00:8::2/64", true);
        g_assert_true(kernel_shows(show6, "inet6 fd00:8::2/64"));
        assert_route(bus, path, "fd00:8::/64 metric 256 table 254", true);
        forget_changes(s);

        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveAddress", g_variant_new("(s)", "10.8.0.2/24"), NULL);
        assert_address(bus, path, "10.8.0.2/24", false);
        g_assert_false(kernel_shows(show4, "10.8.0.2/24"));
        /* The kernel removed the prefix route with it. */
        assert_route(bus, path, "10.8.0.0/24 metric 0 table 254", false);
        assert_changed_once(s, path, "Addresses");
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveAddress", g_variant_new("(s)", "10.8.0.2/24"), NO_SUCH_ADDR);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveAddress", g_variant_new("(s)", "10.8.1.2/24"), NO_SUCH_ADDR);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveAddress", g_variant_new("(s)", "10.8.1.2/32"), NULL);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveAddress", g_variant_new("(s)", "fd00:8::2/64"), NULL);
        assert_route(bus, path, "fd00:8::/64 metric 256 table 254", false);
        g_autoptr(GHashTable) left = address_set(bus, path);
        g_assert_cmpuint(g_hash_table_size(left), ==, 0);
        tb_delete_ok(bus, path);
}

static void test_routes(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("r");
        g_autofree char *path = create_up(bus, name);
        g_autoptr(TbSignals) s = tb_signals_new(bus, "org.freedesktop.DBus.Properties", "PropertiesChanged", path);
        g_autofree char *show = g_strdup_printf("route show table all dev %s", name);

        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute", route_args("10.90.0.0/16", NULL), NULL);
        assert_route(bus, path, "10.90.0.0/16 metric 0 table 254", true);
        g_assert_true(kernel_shows(show, "10.90.0.0/16"));
        assert_changed_once(s, path, "Routes");
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute", route_args("10.90.0.0/16", NULL), EXISTS);
        /* Another metric or table is another route. */
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute",
                       route_args("10.90.0.0/16", tb_options("Metric", g_variant_new_uint32(7),
                                                             "Table", g_variant_new_uint32(100), NULL)), NULL);
        assert_route(bus, path, "10.90.0.0/16 metric 7 table 100", true);

        /* A gateway needs an address whose prefix covers it. */
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute",
                       route_args("10.91.0.0/16", tb_options("Gateway", g_variant_new_string("10.8.5.1"), NULL)),
                       INVALID_ARGS);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddAddress", address_args("10.8.5.2/24", NULL), NULL);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute",
                       route_args("10.91.0.0/16", tb_options("Gateway", g_variant_new_string("10.8.5.1"),
                                                             "Metric", g_variant_new_uint32(20), NULL)), NULL);
        assert_route(bus, path, "10.91.0.0/16 via 10.8.5.1 metric 20 table 254", true);
        g_assert_true(kernel_shows(show, "10.91.0.0/16 via 10.8.5.1"));
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute", route_args("fd00:90::/32", NULL), NULL);
        assert_route(bus, path, "fd00:90::/32 metric 1024 table 254", true);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute", route_args("0.0.0.0/0", tb_options(
                "Table", g_variant_new_uint32(101), NULL)), NULL);
        assert_route(bus, path, "0.0.0.0/0 metric 0 table 101", true);
        forget_changes(s);

        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveRoute", route_args("10.90.0.0/16", NULL), NULL);
        assert_route(bus, path, "10.90.0.0/16 metric 0 table 254", false);
        assert_route(bus, path, "10.90.0.0/16 metric 7 table 100", true);
        assert_changed_once(s, path, "Routes");
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveRoute", route_args("10.90.0.0/16", NULL), NO_SUCH_ROUTE);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveRoute",
                       route_args("10.90.0.0/16", tb_options("Metric", g_variant_new_uint32(7), NULL)), NO_SUCH_ROUTE);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveRoute",
                       route_args("10.90.0.0/16", tb_options("Metric", g_variant_new_uint32(7),
                                                             "Table", g_variant_new_uint32(100), NULL)), NULL);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveRoute",
                       route_args("10.91.0.0/16", tb_options("Metric", g_variant_new_uint32(20),
                                                             "Gateway", g_variant_new_string("10.8.5.9"), NULL)),
                       NO_SUCH_ROUTE);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveRoute",
                       route_args("10.91.0.0/16", tb_options("Metric", g_variant_new_uint32(20), NULL)), NULL);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveRoute", route_args("fd00:90::/32", NULL), NULL);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveRoute", route_args("0.0.0.0/0", tb_options(
                "Table", g_variant_new_uint32(101), NULL)), NULL);
        g_assert_false(kernel_shows(show, "10.90.0.0/16"));
        g_assert_false(kernel_shows(show, "10.91.0.0/16"));
        g_assert_false(kernel_shows(show, "default"));
        tb_delete_ok(bus, path);
}

typedef struct BadCall {
        const char *method;
        const char *arg;
        const char *key;        /* an option, or NULL */
        const char *type;       /* "s", "u" or "i" */
        const char *value;
} BadCall;

static GVariant *bad_call_args(const BadCall *c) {
        GVariant *options;
        if (!c->key)
                options = no_options();
        else {
                GVariant *v = strcmp(c->type, "s") == 0 ? g_variant_new_string(c->value) :
                        strcmp(c->type, "u") == 0 ? g_variant_new_uint32((guint32) g_ascii_strtoull(c->value, NULL, 10)) :
                        g_variant_new_int32((gint32) g_ascii_strtoll(c->value, NULL, 10));
                options = tb_options(c->key, v, NULL);
        }
        if (strcmp(c->method, "RemoveAddress") == 0) {
                g_variant_unref(g_variant_ref_sink(options));
                return g_variant_new("(s)", c->arg);
        }
        return g_variant_new("(s@a{sv})", c->arg, options);
}

static void test_bad_input(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("b");
        g_autofree char *path = create_up(bus, name);
        const BadCall calls[] = {
                { "AddAddress", "" },
                { "AddAddress", "nonsense/24" },
                { "AddAddress", "10.8.0.2" },                   /* no prefix length */
                { "AddAddress", "10.8.0.2/" },
                { "AddAddress", "10.8.0.2/24x" },
                { "AddAddress", "10.8.0.2/-1" },
                { "AddAddress", "10.8.0.2/33" },
                { "AddAddress", "10.8.0.2/0" },
                { "AddAddress", "fd00::2/129" },
                { "AddAddress", "10.8.0.256/24" },
                { "AddAddress", "224.0.0.5/24" },
                { "AddAddress", "ff02::1/64" },
                { "AddAddress", "0.0.0.0/8" },
                { "AddAddress", "::/64" },
                { "AddAddress", "10.8.0.2/24", "Peer", "s", "10.8.0" },
                { "AddAddress", "10.8.0.2/24", "Peer", "s", "fd00::1" },
                { "AddAddress", "10.8.0.2/24", "Peer", "s", "239.1.1.1" },
                { "AddAddress", "10.8.0.2/24", "Peer", "s", "0.0.0.0" },
                { "AddAddress", "10.8.0.2/24", "Peer", "u", "1" },
                { "AddAddress", "10.8.0.2/24", "Gateway", "s", "10.8.0.1" },
                { "RemoveAddress", "10.8.0.2/33" },
                { "RemoveAddress", "10.8.0.2" },
                { "AddRoute", "default" },
                { "AddRoute", "10.0.0.0" },
                { "AddRoute", "10.0.0.1/8" },                   /* bits past the prefix */
                { "AddRoute", "10.0.0.0/33" },
                { "AddRoute", "fd00::/129" },
                { "AddRoute", "10.0.0.0/8", "Table", "u", "0" },
                { "AddRoute", "10.0.0.0/8", "Table", "u", "255" },
                { "AddRoute", "10.0.0.0/8", "Table", "i", "100" },
                { "AddRoute", "fd00::/8", "Metric", "u", "0" },
                { "AddRoute", "10.0.0.0/8", "Metric", "i", "5" },
                { "AddRoute", "10.0.0.0/8", "Gateway", "s", "gateway" },
                { "AddRoute", "10.0.0.0/8", "Gateway", "s", "224.0.0.1" },
                { "AddRoute", "10.0.0.0/8", "Gateway", "s", "0.0.0.0" },
                { "AddRoute", "10.0.0.0/8", "Gateway", "s", "fd00::1" },
                { "AddRoute", "10.0.0.0/8", "Peer", "s", "10.0.0.1" },
                { "RemoveRoute", "10.0.0.1/8" },
                { "RemoveRoute", "10.0.0.0/8", "Table", "u", "0" },
                { "RemoveRoute", "fd00::/8", "Metric", "u", "0" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(calls); i++) {
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) r = tb_call(bus, path, TB_DEVICE_IFACE, calls[i].method,
                                                bad_call_args(&calls[i]), NULL, &error);
                if (r || !g_dbus_error_is_remote_error(error))
                        g_error("%s(%s %s) did not fail", calls[i].method, calls[i].arg, or_none(calls[i].key));
                g_autofree char *remote = g_dbus_error_get_remote_error(error);
                g_test_message("%s(%s, %s=%s): %s", calls[i].method, calls[i].arg, or_none(calls[i].key),
                               or_none(calls[i].value), error->message);
                g_assert_cmpstr(remote, ==, INVALID_ARGS);
        }
        /* Nothing reached the kernel. */
        g_autoptr(GHashTable) addresses = address_set(bus, path);
        g_assert_cmpuint(g_hash_table_size(addresses), ==, 0);
        g_autoptr(GHashTable) routes = route_set(bus, path);
        g_assert_cmpuint(g_hash_table_size(routes), ==, 0);
        tb_delete_ok(bus, path);
}

/* What the kernel refuses because of the link's state is InvalidArgs with words. */
static void test_link_state(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("l");
        g_autofree char *path = tb_create_ok(bus, name, tb_options("MTU", g_variant_new_uint32(1000), NULL));

        /* Down: no route through it. */
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute", route_args("10.95.0.0/16", NULL), INVALID_ARGS);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute", route_args("fd00:95::/32", NULL), INVALID_ARGS);
        /* An MTU below IPv6's minimum: no IPv6 on it. */
        ip("link set %s up", name);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddAddress", address_args("fd00:95::2/64", NULL), INVALID_ARGS);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute", route_args("fd00:95::/32", NULL), INVALID_ARGS);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute", route_args("10.95.0.0/16", NULL), NULL);
        tb_delete_ok(bus, path);

        /* Up, with IPv6, but no address near the gateway: unreachable, in either family. */
        g_autofree char *name6 = tb_ifname("g");
        g_autofree char *path6 = tb_create_ok(bus, name6, NULL);
        ip("link set %s up", name6);
        tb_call_expect(bus, path6, TB_DEVICE_IFACE, "AddRoute",
                       route_args("fd00::/8", tb_options("Gateway", g_variant_new_string("fd00:8::1"), NULL)), INVALID_ARGS);
        tb_call_expect(bus, path6, TB_DEVICE_IFACE, "AddRoute",
                       route_args("10.96.0.0/16", tb_options("Gateway", g_variant_new_string("10.8.96.1"), NULL)), INVALID_ARGS);
        tb_delete_ok(bus, path6);
}

/* Calls each of the four methods as CALLER on PATH, expecting ERROR (NULL: success). */
static void caller_configures(TbCaller *c, const char *path, const char *error) {
        tb_caller_expect(c, false, path, TB_DEVICE_IFACE, "AddAddress", address_args("10.8.7.2/24", NULL), error);
        tb_caller_expect(c, false, path, TB_DEVICE_IFACE, "AddRoute", route_args("10.97.0.0/16", NULL), error);
        tb_caller_expect(c, false, path, TB_DEVICE_IFACE, "RemoveRoute", route_args("10.97.0.0/16", NULL), error);
        tb_caller_expect(c, false, path, TB_DEVICE_IFACE, "RemoveAddress", g_variant_new("(s)", "10.8.7.2/24"), error);
}

static char *caller_create(TbCaller *c, const char *name) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = tb_caller_call(c, false, TB_MANAGER_PATH, TB_MANAGER_IFACE, "CreateDevice",
                                               tb_create_args(name, NULL), &error);
        g_assert_no_error(error);
        char *path;
        g_variant_get(r, "(o)", &path);
        ip("link set %s up", name);
        return path;
}

/* configure-network for everyone but root, the device's owner too. */
static void test_polkit(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);

        /* The owner, allowed by a rule. */
        g_autofree char *allowed_name = tb_ifname("pa");
        g_autoptr(TbCaller) allowed = tb_caller_new(env, tb_env_user(env, TB_ROLE_NETWORK));
        g_autofree char *allowed_path = caller_create(allowed, allowed_name);
        caller_configures(allowed, allowed_path, NULL);

        /* The owner with no such rule: create-device alone does not do. */
        g_autofree char *owner_name = tb_ifname("po");
        g_autoptr(TbCaller) owner = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        g_autofree char *owner_path = caller_create(owner, owner_name);
        tb_caller_expect(owner, false, owner_path, TB_DEVICE_IFACE, "AddAddress", address_args("10.8.7.2/24", NULL), INTERACTIVE);
        tb_caller_expect(owner, true, owner_path, TB_DEVICE_IFACE, "AddAddress", address_args("10.8.7.2/24", NULL), ACCESS_DENIED);
        tb_caller_expect(owner, false, owner_path, TB_DEVICE_IFACE, "AddRoute", route_args("10.97.0.0/16", NULL), INTERACTIVE);
        /* The owner's other calls stay free. */
        tb_caller_expect(owner, false, owner_path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1400u), NULL);
        /* Root adds; the owner may not remove. */
        tb_call_expect(bus, owner_path, TB_DEVICE_IFACE, "AddAddress", address_args("10.8.8.2/24", NULL), NULL);
        tb_call_expect(bus, owner_path, TB_DEVICE_IFACE, "AddRoute", route_args("10.98.0.0/16", NULL), NULL);
        tb_caller_expect(owner, false, owner_path, TB_DEVICE_IFACE, "RemoveAddress", g_variant_new("(s)", "10.8.8.2/24"), INTERACTIVE);
        tb_caller_expect(owner, false, owner_path, TB_DEVICE_IFACE, "RemoveRoute", route_args("10.98.0.0/16", NULL), INTERACTIVE);
        assert_address(bus, owner_path, "10.8.8.2/24", true);
        assert_route(bus, owner_path, "10.98.0.0/16 metric 0 table 254", true);

        /* Strangers: refused by a rule, or by the default; reading is open to them. */
        g_autoptr(TbCaller) denied = tb_caller_new(env, tb_env_user(env, TB_ROLE_DENIED));
        caller_configures(denied, owner_path, ACCESS_DENIED);
        g_autoptr(TbCaller) nobody = tb_caller_new(env, tb_env_user(env, TB_ROLE_NOBODY));
        caller_configures(nobody, owner_path, INTERACTIVE);
        tb_caller_expect(nobody, false, owner_path, "org.freedesktop.DBus.Properties", "Get",
                         g_variant_new("(ss)", TB_DEVICE_IFACE, "Addresses"), NULL);
        tb_caller_expect(nobody, false, owner_path, "org.freedesktop.DBus.Properties", "Get",
                         g_variant_new("(ss)", TB_DEVICE_IFACE, "Routes"), NULL);
        /* The rule's user on a device it does not own. */
        caller_configures(allowed, owner_path, NULL);
        /* Bad input is told before authorization is asked for. */
        tb_caller_expect(nobody, false, owner_path, TB_DEVICE_IFACE, "AddAddress", address_args("10.8.7.2/99", NULL), INVALID_ARGS);

        tb_delete_ok(bus, owner_path);
        tb_delete_ok(bus, allowed_path);
}

typedef struct RouteWait {
        GDBusConnection *bus;
        const char *path, *route;
} RouteWait;

static bool route_gone(void *data) {
        const RouteWait *w = data;
        g_autoptr(GHashTable) set = route_set(w->bus, w->path);
        return !g_hash_table_contains(set, w->route);
}

/* Changes made with ip(8) show, each with one PropertiesChanged. */
static void test_outside_changes(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("o");
        g_autofree char *path = create_up(bus, name);
        g_autoptr(TbSignals) s = tb_signals_new(bus, "org.freedesktop.DBus.Properties", "PropertiesChanged", path);

        ip("address add 10.8.3.2/24 dev %s", name);
        assert_changed_once(s, path, "Addresses");
        assert_address(bus, path, "10.8.3.2/24", true);
        assert_route(bus, path, "10.8.3.0/24 metric 0 table 254", true);

        ip("address add fd00:3::2/64 dev %s", name);
        assert_changed_once(s, path, "Addresses");
        assert_address(bus, path, "fd00:3::2/64", true);

        ip("address add 10.8.4.2 peer 10.8.4.1 dev %s", name);
        assert_changed_once(s, path, "Addresses");
        assert_address(bus, path, "10.8.4.2/32 peer 10.8.4.1", true);

        ip("route add 10.93.0.0/16 via 10.8.3.1 metric 9 table 102 dev %s", name);
        assert_changed_once(s, path, "Routes");
        assert_route(bus, path, "10.93.0.0/16 via 10.8.3.1 metric 9 table 102", true);
        assert_not_changed(s, "Addresses");

        ip("route replace 10.93.0.0/16 via 10.8.3.5 metric 9 table 102 dev %s", name);
        assert_changed_once(s, path, "Routes");
        assert_route(bus, path, "10.93.0.0/16 via 10.8.3.1 metric 9 table 102", false);
        assert_route(bus, path, "10.93.0.0/16 via 10.8.3.5 metric 9 table 102", true);

        ip("route del 10.93.0.0/16 metric 9 table 102 dev %s", name);
        assert_changed_once(s, path, "Routes");
        assert_route(bus, path, "10.93.0.0/16 via 10.8.3.5 metric 9 table 102", false);

        /* The kernel takes the prefix route away with the address. */
        ip("address del 10.8.3.2/24 dev %s", name);
        assert_changed_once(s, path, "Routes");
        assert_address(bus, path, "10.8.3.2/24", false);
        assert_route(bus, path, "10.8.3.0/24 metric 0 table 254", false);

        /* Down: the kernel drops the IPv4 routes; the addresses stay. */
        ip("route add 10.94.0.0/16 dev %s", name);
        assert_changed_once(s, path, "Routes");
        ip("link set %s down", name);
        g_autoptr(GVariant) p = tb_signals_wait(s, "PropertiesChanged", path, changes, "Routes");
        g_assert_nonnull(p);
        RouteWait w = { bus, path, "10.94.0.0/16 metric 0 table 254" };
        g_assert_true(tb_wait_until(route_gone, &w));
        assert_address(bus, path, "10.8.4.2/32 peer 10.8.4.1", true);

        ip("address flush dev %s", name);
        g_autoptr(GVariant) flushed = tb_signals_wait(s, "PropertiesChanged", path, changes, "Addresses");
        g_assert_nonnull(flushed);
        count_changes(s, "Addresses");
        g_autoptr(GHashTable) left = address_set(bus, path);
        g_assert_cmpuint(g_hash_table_size(left), ==, 0);
        tb_delete_ok(bus, path);
}

/* A restarted tund shows what a persistent device has, and announces none of it. */
static void test_restart(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("s");
        g_autofree char *path = tb_create_ok(bus, name, tb_options("Persistent", g_variant_new_boolean(TRUE), NULL));
        ip("link set %s addrgenmode none", name);
        ip("link set %s up", name);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddAddress", address_args("10.8.11.2/24", NULL), NULL);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute", route_args("10.96.0.0/16", NULL), NULL);

        int status = tb_tund_stop(env);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        tb_tund_start(env);
        g_autofree char *again = tb_get_device_ok(bus, name);
        assert_address(bus, again, "10.8.11.2/24", true);
        assert_route(bus, again, "10.96.0.0/16 metric 0 table 254", true);
        assert_route(bus, again, "10.8.11.0/24 metric 0 table 254", true);
        tb_call_expect(bus, again, TB_DEVICE_IFACE, "AddAddress", address_args("10.8.11.2/24", NULL), EXISTS);
        tb_call_expect(bus, again, TB_DEVICE_IFACE, "RemoveRoute", route_args("10.96.0.0/16", NULL), NULL);
        tb_delete_ok(bus, again);
}

/* A namespace for the test, or NULL after a skip. */
static char *netns_add(const char *suffix) {
        char *netns = tb_ifname(suffix);
        const char *argv[] = { "ip", "netns", "add", netns, NULL };
        g_autofree char *err = NULL;
        if (tb_run(argv, NULL, &err) != 0) {
                g_test_skip_printf("cannot add a network namespace: %s", err);
                g_free(netns);
                return NULL;
        }
        return netns;
}

static void netns_delete(const char *netns) {
        const char *argv[] = { "ip", "netns", "delete", netns, NULL };
        g_assert_cmpint(tb_run(argv, NULL, NULL), ==, 0);
}

/* Whether `ip netns exec NETNS ethtool -k DEV` prints WHAT. */
static bool ethtool_shows(const char *netns, const char *dev, const char *what) {
        const char *argv[] = { "ip", "netns", "exec", netns, "ethtool", "-k", dev, NULL };
        g_autofree char *out = NULL;
        g_assert_cmpint(tb_run(argv, &out, NULL), ==, 0);
        return strstr(out, what) != NULL;
}

/* In another namespace tund acts through the namespace helper (the harness runs it by
 * socket activation), and what it shows is that namespace's truth. */
static void test_moved_device(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_assert_nonnull(tb_env_netns_helper_socket(env));
        /* tund runs as the unit would run it: its own user, without CAP_SYS_ADMIN. */
        g_autofree char *proc = g_strdup_printf("/proc/%d/status", (int) tb_tund_pid(env));
        g_autofree char *status = NULL;
        g_assert_true(g_file_get_contents(proc, &status, NULL, NULL));
        g_assert_nonnull(strstr(status, "\nCapEff:\t0000000000001800\n"));
        g_assert_null(strstr(status, "\nUid:\t0\t"));
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("m"), *netns = netns_add("nm");
        if (!netns)
                return;
        g_autofree char *path = create_up(bus, name);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddAddress", address_args("10.8.9.2/24", NULL), NULL);
        g_autoptr(TbSignals) s = tb_signals_new(bus, "org.freedesktop.DBus.Properties", "PropertiesChanged", path);
        ip("link set %s netns %s", name, netns);
        g_assert_false(tb_link_exists(name));
        /* The move took the address away. */
        g_autoptr(GVariant) moved = tb_signals_wait(s, "PropertiesChanged", path, changes, "Addresses");
        g_assert_nonnull(moved);
        assert_address(bus, path, "10.8.9.2/24", false);
        ip("-n %s link set %s up", netns, name);
        g_autofree char *dev_args = g_strdup_printf("-n %s address show dev %s", netns, name);
        g_autofree char *route_args_v4 = g_strdup_printf("-n %s route show dev %s", netns, name);
        g_autofree char *route_args_t = g_strdup_printf("-n %s route show table 100 dev %s", netns, name);
        g_autofree char *link_args = g_strdup_printf("-n %s link show dev %s", netns, name);

        /* Addresses: there, in the property, and once as a change. */
        forget_changes(s);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddAddress", address_args("10.8.9.2/24", NULL), NULL);
        g_assert_true(kernel_shows(dev_args, "inet 10.8.9.2/24"));
        assert_address(bus, path, "10.8.9.2/24", true);
        assert_changed_once(s, path, "Addresses");
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddAddress", address_args("10.8.9.2/24", NULL), EXISTS);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddAddress", address_args("10.8.19.2/32", "10.8.19.1"), NULL);
        assert_address(bus, path, "10.8.19.2/32 peer 10.8.19.1", true);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveAddress", g_variant_new("(s)", "10.8.19.2/32"), NULL);
        g_assert_false(kernel_shows(dev_args, "10.8.19.2"));
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveAddress", g_variant_new("(s)", "10.8.19.2/32"), NO_SUCH_ADDR);
        /* One added there by someone else shows too. */
        ip("-n %s address add 10.8.10.2/24 dev %s", netns, name);
        assert_address(bus, path, "10.8.10.2/24", true);

        /* Routes: read through the helper, the prefix routes of the addresses among them. */
        assert_route(bus, path, "10.8.9.0/24 metric 0 table 254", true);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute", route_args("10.99.0.0/16", NULL), NULL);
        g_assert_true(kernel_shows(route_args_v4, "10.99.0.0/16"));
        assert_route(bus, path, "10.99.0.0/16 metric 0 table 254", true);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute", route_args("10.99.0.0/16", NULL), EXISTS);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute",
                       route_args("10.98.0.0/16", tb_options("Gateway", g_variant_new_string("10.8.9.1"),
                                                             "Table", g_variant_new_uint32(100), NULL)), NULL);
        g_assert_true(kernel_shows(route_args_t, "10.98.0.0/16 via 10.8.9.1"));
        assert_route(bus, path, "10.98.0.0/16 via 10.8.9.1 metric 0 table 100", true);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveRoute", route_args("10.99.0.0/16", NULL), NULL);
        g_assert_false(kernel_shows(route_args_v4, "10.99.0.0/16"));
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "RemoveRoute", route_args("10.99.0.0/16", NULL), NO_SUCH_ROUTE);
        /* A gateway the namespace cannot reach is the kernel's error, from there. */
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute",
                       route_args("10.97.0.0/16", tb_options("Gateway", g_variant_new_string("192.0.2.1"), NULL)),
                       INVALID_ARGS);

        /* The MTU, there, with MTUChanged. */
        g_autoptr(TbSignals) mtu = tb_signals_new(bus, TB_DEVICE_IFACE, "MTUChanged", path);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1300), NULL);
        g_assert_true(kernel_shows(link_args, "mtu 1300"));
        g_autoptr(GVariant) mtu_changed = tb_signals_wait(mtu, "MTUChanged", path, NULL, NULL);
        g_assert_nonnull(mtu_changed);
        /* Offloads are set on tund's own fd of the TUN, which works wherever it is. */
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "SetOffloads",
                       g_variant_new_parsed("(@as ['csum'],)"), NULL);
        g_assert_false(ethtool_shows(netns, name, "tx-tcp-segmentation: on"));
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "SetOffloads",
                       g_variant_new_parsed("(@as ['csum', 'tso4'],)"), NULL);
        g_assert_true(ethtool_shows(netns, name, "tx-tcp-segmentation: on"));
        g_autoptr(GVariant) all = tb_get_all(bus, path, TB_DEVICE_IFACE);
        g_assert_nonnull(all);

        /* Delete acts there too. */
        tb_delete_ok(bus, path);
        g_autofree char *links = g_strdup_printf("-n %s -o link show", netns);
        g_assert_false(kernel_shows(links, name));
        netns_delete(netns);
}

/* Without the helper, a clear error, and the properties still read. */
static void test_moved_without_helper(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("w"), *netns = netns_add("nw");
        if (!netns)
                return;
        g_autofree char *gone = g_build_filename(tb_env_dir(env), "no-helper.socket", NULL);
        g_autofree char *arg = g_strconcat("--netns-helper-socket=", gone, NULL);
        int status = tb_tund_stop(env);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        tb_tund_start_with_args(env, (const char *[]) { arg, NULL });

        g_autofree char *path = create_up(bus, name);
        ip("link set %s netns %s", name, netns);
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = tb_call(bus, path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1300), NULL, &error);
        tb_assert_reply(reply, error, "org.freedesktop.DBus.Error.Failed");
        g_assert_nonnull(strstr(error->message, "namespace helper"));
        g_assert_nonnull(strstr(error->message, "is not running"));
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddRoute", route_args("10.99.0.0/16", NULL),
                       "org.freedesktop.DBus.Error.Failed");
        g_autoptr(GHashTable) routes = route_set(bus, path);
        g_assert_cmpuint(g_hash_table_size(routes), ==, 0);
        g_autoptr(GVariant) all = tb_get_all(bus, path, TB_DEVICE_IFACE);
        g_assert_nonnull(all);

        tb_delete_ok(bus, path);
        netns_delete(netns);
        status = tb_tund_stop(env);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        tb_tund_start(env);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/netcfg/addresses", test_addresses);
        g_test_add_func("/netcfg/routes", test_routes);
        g_test_add_func("/netcfg/bad-input", test_bad_input);
        g_test_add_func("/netcfg/link-state", test_link_state);
        g_test_add_func("/netcfg/polkit", test_polkit);
        g_test_add_func("/netcfg/outside-changes", test_outside_changes);
        g_test_add_func("/netcfg/restart", test_restart);
        g_test_add_func("/netcfg/moved-device", test_moved_device);
        g_test_add_func("/netcfg/moved-without-helper", test_moved_without_helper);
        return tb_test_run();
}
