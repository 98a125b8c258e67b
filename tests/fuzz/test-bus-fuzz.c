/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A typed fuzzer of tund's D-Bus face, through the bus test harness: a seeded random run of
 * calls to every method and property of every object (org.example.Tun1.Manager and .Device,
 * Properties Get/GetAll/Set, Introspectable, Peer, ObjectManager), with arguments of the
 * right and of wrong signatures, option dicts holding every key with right and wrong variant
 * types, unknown and duplicate keys, strings valid, 64 KiB long and with Unicode
 * noncharacters, huge arrays, deeply nested variants, fds where none belong and "h" indices
 * without fds, on objects that exist, are gone and never existed — as root and as two
 * unprivileged users, with and without the interactive-authorization flag.
 *
 * Three ways to the bus:
 * - root: the harness's own connection (GDBus), for well-formed messages;
 * - unprivileged: tb-caller as the NOBODY and CREATE test users (typed calls);
 * - raw: a socket of the fuzzer's own, authenticated as root or as either test user, which
 *   sends bytes GDBus would refuse to (invalid UTF-8, signatures nested past the spec's
 *   limits, "h" indices without fds). The bus may refuse those itself (an error from
 *   org.freedesktop.DBus, or it disconnects the sender): that is the bus's answer, counted
 *   and listed in the log, never tund's.
 *
 * Every answer from tund must be a success with the method's reply signature or an error
 * that API.md allows for the call; the others are collected and the test fails listing them
 * as a table (caller, call, arguments, error, message). At the end tund must have the same
 * PID, answer Peer.Ping, and be back at the fd and thread counts it had after a warm-up,
 * its VmRSS within a generous margin, once every device the fuzzer made is deleted and
 * every fd closed.
 *
 * TUND_BUS_FUZZ_SEED replays a run (the seed is in the log); TUND_BUS_FUZZ_SECONDS bounds
 * it (default 45); TUND_BUS_FUZZ_VERBOSE logs every call before it is made. */

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>

#include "harness.h"

#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"
#define INTROSPECTABLE_IFACE "org.freedesktop.DBus.Introspectable"
#define PEER_IFACE "org.freedesktop.DBus.Peer"
#define OBJECT_MANAGER_IFACE "org.freedesktop.DBus.ObjectManager"
#define BUS_DRIVER "org.freedesktop.DBus"

#define DEFAULT_SECONDS 45
#define WARM_UP_CALLS 300
#define MAX_LIVE_DEVICES 6
#define MAX_OPEN_FDS 8
#define BIG_STRING_BYTES 65536

/* ---- The errors API.md allows ---------------------------------------------------------- */

typedef enum Error {
        E_INVALID_ARGS,
        E_ACCESS_DENIED,
        E_INTERACTIVE,
        E_EXISTS,
        E_NO_SUCH_DEVICE,
        E_NOT_SUPPORTED,
        E_LIMITS,
        E_NO_SUCH_ADDRESS,
        E_NO_SUCH_ROUTE,
        E_UNKNOWN_OBJECT,
        E_UNKNOWN_METHOD,
        E_UNKNOWN_INTERFACE,
        E_UNKNOWN_PROPERTY,
        E_READ_ONLY,
        _E_MAX,
} Error;

#define BIT(e) (1u << (e))

static const char *const error_names[_E_MAX] = {
        [E_INVALID_ARGS]      = "org.freedesktop.DBus.Error.InvalidArgs",
        [E_ACCESS_DENIED]     = "org.freedesktop.DBus.Error.AccessDenied",
        [E_INTERACTIVE]       = "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
        [E_EXISTS]            = "org.example.Tun1.Error.Exists",
        [E_NO_SUCH_DEVICE]    = "org.example.Tun1.Error.NoSuchDevice",
        [E_NOT_SUPPORTED]     = "org.example.Tun1.Error.NotSupported",
        [E_LIMITS]            = "org.example.Tun1.Error.LimitsExceeded",
        [E_NO_SUCH_ADDRESS]   = "org.example.Tun1.Error.NoSuchAddress",
        [E_NO_SUCH_ROUTE]     = "org.example.Tun1.Error.NoSuchRoute",
        [E_UNKNOWN_OBJECT]    = "org.freedesktop.DBus.Error.UnknownObject",
        [E_UNKNOWN_METHOD]    = "org.freedesktop.DBus.Error.UnknownMethod",
        [E_UNKNOWN_INTERFACE] = "org.freedesktop.DBus.Error.UnknownInterface",
        [E_UNKNOWN_PROPERTY]  = "org.freedesktop.DBus.Error.UnknownProperty",
        [E_READ_ONLY]         = "org.freedesktop.DBus.Error.PropertyReadOnly",
};

/* ---- What there is to call ------------------------------------------------------------- */

typedef enum Target {
        TARGET_MANAGER,         /* the manager's object only */
        TARGET_DEVICE,          /* a device's object */
        TARGET_ANY,             /* every object */
} Target;

typedef enum Auth {
        AUTH_NONE,
        AUTH_CREATE,            /* create-device (and manage-device for another Owner) */
        AUTH_DEVICE,            /* manage-device unless the caller owns the device */
        AUTH_NETWORK,           /* configure-network for everyone but root */
} Auth;

typedef struct Member {
        const char *iface, *name, *in, *out;
        Target target;
        Auth auth;
        unsigned errors;        /* the call's own errors in API.md, beyond the generic ones */
        bool creates, deletes;
} Member;

enum {
        M_CREATE_DEVICE, M_GET_DEVICE, M_LIST_DEVICES,
        M_SET_MTU, M_SET_OFFLOADS, M_OPEN_PACKET_FD, M_DELETE,
        M_ADD_ADDRESS, M_REMOVE_ADDRESS, M_ADD_ROUTE, M_REMOVE_ROUTE,
        M_GET, M_GET_ALL, M_SET,
        M_INTROSPECT, M_PING, M_GET_MACHINE_ID, M_GET_MANAGED_OBJECTS,
        _M_MAX,
};

static const Member members[_M_MAX] = {
        [M_CREATE_DEVICE] = { TB_MANAGER_IFACE, "CreateDevice", "(sa{sv})", "(o)", TARGET_MANAGER, AUTH_CREATE,
                              BIT(E_INVALID_ARGS) | BIT(E_EXISTS) | BIT(E_NOT_SUPPORTED) | BIT(E_LIMITS), .creates = true },
        [M_GET_DEVICE] = { TB_MANAGER_IFACE, "GetDevice", "(s)", "(o)", TARGET_MANAGER, AUTH_NONE,
                           BIT(E_INVALID_ARGS) | BIT(E_NO_SUCH_DEVICE) },
        [M_LIST_DEVICES] = { TB_MANAGER_IFACE, "ListDevices", "()", "(a(so))", TARGET_MANAGER, AUTH_NONE, 0 },
        [M_SET_MTU] = { TB_DEVICE_IFACE, "SetMTU", "(u)", "()", TARGET_DEVICE, AUTH_DEVICE,
                        BIT(E_INVALID_ARGS) | BIT(E_LIMITS) },
        [M_SET_OFFLOADS] = { TB_DEVICE_IFACE, "SetOffloads", "(as)", "()", TARGET_DEVICE, AUTH_DEVICE,
                             BIT(E_INVALID_ARGS) | BIT(E_NOT_SUPPORTED) | BIT(E_LIMITS) },
        [M_OPEN_PACKET_FD] = { TB_DEVICE_IFACE, "OpenPacketFd", "(a{sv})", "(h)", TARGET_DEVICE, AUTH_DEVICE,
                               BIT(E_INVALID_ARGS) | BIT(E_LIMITS) },
        [M_DELETE] = { TB_DEVICE_IFACE, "Delete", "()", "()", TARGET_DEVICE, AUTH_DEVICE,
                       BIT(E_LIMITS), .deletes = true },
        [M_ADD_ADDRESS] = { TB_DEVICE_IFACE, "AddAddress", "(sa{sv})", "()", TARGET_DEVICE, AUTH_NETWORK,
                            BIT(E_INVALID_ARGS) | BIT(E_EXISTS) | BIT(E_LIMITS) },
        [M_REMOVE_ADDRESS] = { TB_DEVICE_IFACE, "RemoveAddress", "(s)", "()", TARGET_DEVICE, AUTH_NETWORK,
                               BIT(E_INVALID_ARGS) | BIT(E_NO_SUCH_ADDRESS) | BIT(E_LIMITS) },
        [M_ADD_ROUTE] = { TB_DEVICE_IFACE, "AddRoute", "(sa{sv})", "()", TARGET_DEVICE, AUTH_NETWORK,
                          BIT(E_INVALID_ARGS) | BIT(E_EXISTS) | BIT(E_LIMITS) },
        [M_REMOVE_ROUTE] = { TB_DEVICE_IFACE, "RemoveRoute", "(sa{sv})", "()", TARGET_DEVICE, AUTH_NETWORK,
                             BIT(E_INVALID_ARGS) | BIT(E_NO_SUCH_ROUTE) | BIT(E_LIMITS) },
        [M_GET] = { PROPERTIES_IFACE, "Get", "(ss)", "(v)", TARGET_ANY, AUTH_NONE,
                    BIT(E_INVALID_ARGS) | BIT(E_UNKNOWN_PROPERTY) | BIT(E_UNKNOWN_INTERFACE) },
        [M_GET_ALL] = { PROPERTIES_IFACE, "GetAll", "(s)", "(a{sv})", TARGET_ANY, AUTH_NONE,
                        BIT(E_INVALID_ARGS) | BIT(E_UNKNOWN_INTERFACE) },
        [M_SET] = { PROPERTIES_IFACE, "Set", "(ssv)", NULL /* every property is read-only */, TARGET_ANY, AUTH_NONE,
                    BIT(E_INVALID_ARGS) | BIT(E_UNKNOWN_PROPERTY) | BIT(E_UNKNOWN_INTERFACE) | BIT(E_READ_ONLY) },
        [M_INTROSPECT] = { INTROSPECTABLE_IFACE, "Introspect", "()", "(s)", TARGET_ANY, AUTH_NONE, 0 },
        [M_PING] = { PEER_IFACE, "Ping", "()", "()", TARGET_ANY, AUTH_NONE, 0 },
        [M_GET_MACHINE_ID] = { PEER_IFACE, "GetMachineId", "()", "(s)", TARGET_ANY, AUTH_NONE, 0 },
        [M_GET_MANAGED_OBJECTS] = { OBJECT_MANAGER_IFACE, "GetManagedObjects", "()", "(a{oa{sa{sv}}})",
                                    TARGET_MANAGER, AUTH_NONE, 0 },
};

/* How often each member is called, relative to the others. */
static const unsigned member_weights[_M_MAX] = {
        [M_CREATE_DEVICE] = 12, [M_GET_DEVICE] = 5, [M_LIST_DEVICES] = 2,
        [M_SET_MTU] = 6, [M_SET_OFFLOADS] = 6, [M_OPEN_PACKET_FD] = 8, [M_DELETE] = 3,
        [M_ADD_ADDRESS] = 2, [M_REMOVE_ADDRESS] = 1, [M_ADD_ROUTE] = 2, [M_REMOVE_ROUTE] = 1,
        [M_GET] = 8, [M_GET_ALL] = 4, [M_SET] = 4,
        [M_INTROSPECT] = 2, [M_PING] = 1, [M_GET_MACHINE_ID] = 1, [M_GET_MANAGED_OBJECTS] = 2,
};

typedef struct Property {
        const char *iface, *name, *type;
} Property;

static const Property properties[] = {
        { TB_MANAGER_IFACE, "Version", "s" },
        { TB_MANAGER_IFACE, "SupportedOffloads", "as" },
        { TB_DEVICE_IFACE, "Name", "s" },
        { TB_DEVICE_IFACE, "Index", "i" },
        { TB_DEVICE_IFACE, "MTU", "u" },
        { TB_DEVICE_IFACE, "Up", "b" },
        { TB_DEVICE_IFACE, "Offloads", "as" },
        { TB_DEVICE_IFACE, "Owner", "u" },
        { TB_DEVICE_IFACE, "Persistent", "b" },
        { TB_DEVICE_IFACE, "Clients", "u" },
        { TB_DEVICE_IFACE, "Statistics", "a{st}" },
        { TB_DEVICE_IFACE, "Addresses", "a(sa{sv})" },
        { TB_DEVICE_IFACE, "Routes", "a(sa{sv})" },
};

typedef struct OptionKey {
        const char *key, *type;
} OptionKey;

static const OptionKey create_options[] = {
        { "MTU", "u" }, { "Offloads", "as" }, { "Persistent", "b" }, { "Owner", "u" },
        { "Raw", "b" }, { "VnetHeader", "b" },
};
static const OptionKey packet_fd_options[] = {
        { "Mode", "s" }, { "Vnet", "b" }, { "RingSlots", "u" }, { "SlotSize", "u" },
};
static const OptionKey address_options[] = { { "Peer", "s" } };
static const OptionKey route_options[] = { { "Gateway", "s" }, { "Metric", "u" }, { "Table", "u" } };

static const char *const offload_names[] = {
        "csum", "tso4", "tso6", "tso-ecn", "uso4", "uso6", "gro-tcp", "gro-udp",
};

/* ---- The run's state -------------------------------------------------------------------- */

typedef enum Who {
        WHO_ROOT,
        WHO_NOBODY,             /* TB_ROLE_NOBODY: the actions' defaults (auth_admin) */
        WHO_CREATE,             /* TB_ROLE_CREATE: may create devices */
        _WHO_MAX,
} Who;

static const char *const who_names[_WHO_MAX] = { "root", "nobody", "create" };

typedef enum PathKind {
        PATH_MANAGER,
        PATH_LIVE,              /* a device that exists */
        PATH_GONE,              /* a device deleted in this run */
        PATH_NEVER,             /* under the device prefix, never assigned */
        PATH_ODD,               /* elsewhere, or not a device number */
        _PATH_MAX,
} PathKind;

static const char *const path_kind_names[_PATH_MAX] = { "manager", "live device", "gone device",
                                                        "never-existed device", "odd path" };

/* A connection of the fuzzer's own, as bytes on a socket. */
typedef struct RawConn {
        int fd;
        guint32 serial;
        char *unique_name;
} RawConn;

typedef struct Device {
        char *path, *name;
        uid_t owner;
        const RawConn *creator;         /* when made over a raw connection: it goes with it */
} Device;

/* A call that got an answer the contract does not allow, and how often that happened. */
typedef struct Finding {
        char *who, *call, *args, *error, *message;
        unsigned count;
} Finding;

typedef struct Fuzz {
        TbEnv *env;
        GDBusConnection *bus;
        TbCaller *callers[_WHO_MAX];            /* [WHO_ROOT] is NULL */
        uid_t uids[_WHO_MAX];
        const TbUser *users[_WHO_MAX];
        RawConn *raw[_WHO_MAX];
        GRand *rand;
        bool implemented[_M_MAX];               /* by this tund, as its introspection says */
        GPtrArray *live;                        /* Device * */
        GPtrArray *gone;                        /* object paths */
        GArray *fds;                            /* packet fds the fuzzer holds */
        GHashTable *findings;                   /* key → Finding */
        GHashTable *bus_answers;                /* "call: answer" → count, the bus's own refusals */
        GHashTable *outcomes;                   /* "member outcome" → count */
        unsigned calls, next_name;
        bool verbose;
        guint64 rss_logged_kib;
        char *name_prefix;
} Fuzz;

/* One call as generated. */
typedef struct Call {
        int member;             /* index into members[], or -1 for a name that does not exist */
        Who who;
        bool raw;               /* over a RawConn */
        bool interactive;
        PathKind path_kind;
        const Device *device;   /* for PATH_LIVE */
        char *path;
        const char *iface;      /* NULL: no interface field */
        const char *name;
        bool right_iface, right_signature;
        bool odd_strings;       /* noncharacters or invalid UTF-8 among the strings */
        bool patch_utf8;        /* raw: the marker becomes invalid UTF-8 */
        const char *raw_why;    /* why the call went over a raw connection */
        unsigned n_fds;         /* fds attached */
        GVariant *args;
} Call;

static unsigned pick(Fuzz *f, unsigned n) {
        return n ? (unsigned) g_rand_int_range(f->rand, 0, (gint32) n) : 0;
}

static bool chance(Fuzz *f, unsigned percent) {
        return pick(f, 100) < percent;
}

static void device_free(Device *d) {
        g_free(d->path);
        g_free(d->name);
        g_free(d);
}

static void finding_free(Finding *x) {
        g_free(x->who);
        g_free(x->call);
        g_free(x->args);
        g_free(x->error);
        g_free(x->message);
        g_free(x);
}

/* ---- Summaries for the log ----------------------------------------------------------------- */

static void summarize(GString *out, GVariant *v, unsigned depth);

static void summarize_string(GString *out, const char *s, gsize len) {
        bool plain = g_utf8_validate(s, (gssize) len, NULL);
        for (const char *p = s; plain && *p; p = g_utf8_next_char(p)) {
                gunichar c = g_utf8_get_char(p);
                if (c < 0x20 || (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe)
                        plain = false;
        }
        if (plain && len <= 40) {
                g_string_append_printf(out, "'%s'", s);
                return;
        }
        g_string_append_c(out, '\'');
        for (gsize i = 0; i < len && i < 24; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c >= 0x20 && c < 0x7f && c != '\\')
                        g_string_append_c(out, (char) c);
                else
                        g_string_append_printf(out, "\\x%02x", c);
        }
        g_string_append_printf(out, "%s' (%" G_GSIZE_FORMAT " bytes)", len > 24 ? "…" : "", len);
}

static void summarize(GString *out, GVariant *v, unsigned depth) {
        const char *type = g_variant_get_type_string(v);

        if (g_variant_is_of_type(v, G_VARIANT_TYPE_VARIANT)) {
                unsigned n = 0;
                g_autoptr(GVariant) inner = g_variant_ref(v);
                while (g_variant_is_of_type(inner, G_VARIANT_TYPE_VARIANT)) {
                        GVariant *next = g_variant_get_variant(inner);
                        g_variant_unref(inner);
                        inner = next;
                        n++;
                }
                if (n > 2)
                        g_string_append_printf(out, "<%u variants deep: ", n);
                else
                        g_string_append(out, "<");
                summarize(out, inner, depth + 1);
                g_string_append(out, ">");
                return;
        }
        if (g_variant_is_of_type(v, G_VARIANT_TYPE_STRING) || g_variant_is_of_type(v, G_VARIANT_TYPE_OBJECT_PATH) ||
            g_variant_is_of_type(v, G_VARIANT_TYPE_SIGNATURE)) {
                gsize len;
                const char *s = g_variant_get_string(v, &len);
                if (!g_variant_is_of_type(v, G_VARIANT_TYPE_STRING))
                        g_string_append_printf(out, "%s ", type);
                summarize_string(out, s, len);
                return;
        }
        if (g_variant_is_container(v)) {
                gsize n = g_variant_n_children(v);
                bool tuple = g_variant_is_of_type(v, G_VARIANT_TYPE_TUPLE);
                bool entry = g_variant_is_of_type(v, G_VARIANT_TYPE_DICT_ENTRY);
                if (!tuple && !entry && depth > 0)
                        g_string_append_printf(out, "@%s ", type);
                g_string_append(out, tuple ? "(" : entry ? "{" : "[");
                for (gsize i = 0; i < n && i < 6; i++) {
                        g_autoptr(GVariant) child = g_variant_get_child_value(v, i);
                        if (i)
                                g_string_append(out, entry ? ": " : ", ");
                        summarize(out, child, depth + 1);
                }
                if (n > 6)
                        g_string_append_printf(out, ", … %" G_GSIZE_FORMAT " elements", n);
                g_string_append(out, tuple ? ")" : entry ? "}" : "]");
                return;
        }
        g_autofree char *text = g_variant_print(v, TRUE);
        g_string_append(out, text);
}

static char *args_summary(GVariant *args) {
        GString *out = g_string_new(NULL);
        summarize(out, args, 0);
        if (out->len > 300) {
                g_string_truncate(out, 300);
                g_string_append(out, "…");
        }
        return g_string_free(out, FALSE);
}

static void count_outcome(Fuzz *f, const Call *c, const char *outcome) {
        g_autofree char *key = g_strdup_printf("%-18s %s", c->name, outcome);
        gpointer n = g_hash_table_lookup(f->outcomes, key);
        g_hash_table_insert(f->outcomes, g_steal_pointer(&key), GUINT_TO_POINTER(GPOINTER_TO_UINT(n) + 1));
}

static char *call_description(const Call *c) {
        return g_strdup_printf("%s.%s on %s%s%s%s%s", c->iface ? c->iface : "(no interface)", c->name,
                               path_kind_names[c->path_kind], c->interactive ? ", interactive" : "",
                               c->n_fds ? ", with fds" : "", c->raw_why ? ", raw: " : "",
                               c->raw_why ? c->raw_why : "");
}

static void add_finding(Fuzz *f, const Call *c, const char *error, const char *message) {
        g_autofree char *call = call_description(c);
        const char *who = who_names[c->who];
        g_autofree char *key = g_strdup_printf("%s|%s|%s", who, call, error);
        Finding *x = g_hash_table_lookup(f->findings, key);

        if (!x) {
                x = g_new0(Finding, 1);
                x->who = g_strdup(who);
                x->call = g_steal_pointer(&call);
                x->args = args_summary(c->args);
                x->error = g_strdup(error);
                x->message = g_strndup(message ? message : "", 300);
                g_strdelimit(x->message, "\n\t", ' ');
                g_hash_table_insert(f->findings, g_steal_pointer(&key), x);
        }
        x->count++;
}

static void add_bus_answer(Fuzz *f, const Call *c, const char *answer) {
        g_autofree char *key = g_strdup_printf("%s: %s", c->raw_why ? c->raw_why : "a well-formed message", answer);
        gpointer n = g_hash_table_lookup(f->bus_answers, key);
        g_hash_table_insert(f->bus_answers, g_steal_pointer(&key), GUINT_TO_POINTER(GPOINTER_TO_UINT(n) + 1));
        count_outcome(f, c, "refused by the bus");
}

/* ---- Values --------------------------------------------------------------------------------- */

static char *big_string(void) {
        char *s = g_malloc(BIG_STRING_BYTES + 1);
        memset(s, 'a', BIG_STRING_BYTES);
        s[BIG_STRING_BYTES] = 0;
        return s;
}

/* Noncharacters are valid UTF-8, which GLib sends and dbus-daemon passes; API.md wants
 * InvalidArgs for them wherever a name is expected. */
static const char *const noncharacter_strings[] = {
        "tb\xef\xb7\x90",               /* U+FDD0 */
        "\xef\xbf\xbe",                 /* U+FFFE */
        "tun\xef\xbf\xbf",              /* U+FFFF */
        "\xf0\x9f\xbf\xbex",             /* U+1FFFE */
        "csum\xef\xb7\xaf",             /* U+FDEF */
};

/* Replaced in the serialized message by bytes that are not UTF-8 (raw connections only). */
#define UTF8_MARKER "\x01utf8marker\x01"
static const char utf8_replacement[] = "\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xff\xfe";
G_STATIC_ASSERT(sizeof(UTF8_MARKER) == sizeof(utf8_replacement));

/* A string for any purpose: sometimes right for it (GOOD, may be NULL), sometimes not. */
static GVariant *fuzz_string(Fuzz *f, Call *c, const char *const *good, size_t n_good) {
        switch (pick(f, 10)) {
        case 0:
        case 1:
        case 2:
        case 3:
                if (n_good)
                        return g_variant_new_string(good[pick(f, n_good)]);
                return g_variant_new_string("");
        case 4: {
                g_autofree char *s = big_string();
                return g_variant_new_string(s);
        }
        case 5:
                c->odd_strings = true;
                return g_variant_new_string(noncharacter_strings[pick(f, G_N_ELEMENTS(noncharacter_strings))]);
        case 6:
                if (c->raw) {
                        c->odd_strings = c->patch_utf8 = true;
                        return g_variant_new_string(UTF8_MARKER);
                }
                return g_variant_new_string("");
        case 7: {
                static const char *const odd[] = { "", " ", ".", "..", "a/b", "a:b", "\t", "\n", "%d%d",
                                                   "%s", "%", "lo", "0123456789abcdef", "-", "*", "\x7f" };
                return g_variant_new_string(odd[pick(f, G_N_ELEMENTS(odd))]);
        }
        case 8: {
                char buf[64];
                unsigned n = pick(f, sizeof(buf) - 1);
                for (unsigned i = 0; i < n; i++)
                        buf[i] = (char) (1 + pick(f, 126));
                buf[n] = 0;
                return g_variant_new_string(buf);
        }
        default:
                return g_variant_new_string(f->name_prefix);
        }
}

static GVariant *fuzz_u32(Fuzz *f) {
        static const guint32 edges[] = { 0, 1, 67, 68, 576, 1280, 1500, 9000, 65535, 65536, 100000,
                                         G_MAXINT32, (guint32) G_MAXINT32 + 1, G_MAXUINT32 - 1, G_MAXUINT32 };
        if (chance(f, 80))
                return g_variant_new_uint32(edges[pick(f, G_N_ELEMENTS(edges))]);
        return g_variant_new_uint32(g_rand_int(f->rand));
}

static GVariant *random_value(Fuzz *f, Call *c, const GVariantType *type, unsigned depth);

/* A random type, nested at most MAX_DEPTH deep; no "h" unless ALLOW_HANDLES. D-Bus has no
 * maybe types and no empty structs. */
static void random_type_string(Fuzz *f, GString *out, unsigned max_depth, bool allow_handles) {
        static const char basics[] = "ybnqiuxtdsog";
        unsigned k = pick(f, max_depth > 0 ? 10 : 6);

        if (k < 6) {
                if (allow_handles && pick(f, 8) == 0)
                        g_string_append_c(out, 'h');
                else
                        g_string_append_c(out, basics[pick(f, sizeof(basics) - 1)]);
                return;
        }
        switch (k) {
        case 6:
                g_string_append_c(out, 'v');
                return;
        case 7:
                g_string_append_c(out, 'a');
                random_type_string(f, out, max_depth - 1, allow_handles);
                return;
        case 8:
                g_string_append(out, "a{");
                g_string_append_c(out, basics[pick(f, sizeof(basics) - 1)]);
                random_type_string(f, out, max_depth - 1, allow_handles);
                g_string_append_c(out, '}');
                return;
        default:
                g_string_append_c(out, '(');
                for (unsigned n = 1 + pick(f, 3); n > 0; n--)
                        random_type_string(f, out, max_depth - 1, allow_handles);
                g_string_append_c(out, ')');
                return;
        }
}

static GVariant *deep_variant(Fuzz *f, Call *c, unsigned levels) {
        GVariant *v = chance(f, 50) ? fuzz_u32(f) : fuzz_string(f, c, NULL, 0);
        for (unsigned i = 0; i < levels; i++)
                v = g_variant_new_variant(v);
        return v;
}

static GVariant *random_value(Fuzz *f, Call *c, const GVariantType *type, unsigned depth) {
        switch (g_variant_type_peek_string(type)[0]) {
        case 'y': return g_variant_new_byte((guchar) g_rand_int(f->rand));
        case 'b': return g_variant_new_boolean(chance(f, 50));
        case 'n': return g_variant_new_int16((gint16) g_rand_int(f->rand));
        case 'q': return g_variant_new_uint16((guint16) g_rand_int(f->rand));
        case 'i': return g_variant_new_int32((gint32) g_rand_int(f->rand));
        case 'u': return fuzz_u32(f);
        case 'x': return g_variant_new_int64((gint64) g_rand_int(f->rand) << 20);
        case 't': return g_variant_new_uint64(chance(f, 50) ? 1500 : G_MAXUINT64);
        case 'd': return g_variant_new_double(g_rand_double_range(f->rand, -1e9, 1e9));
        case 'h': return g_variant_new_handle((gint32) pick(f, 4));
        case 's': return fuzz_string(f, c, NULL, 0);
        case 'o': {
                static const char *const paths[] = { "/", TB_MANAGER_PATH, TB_MANAGER_PATH "/device/1",
                                                     TB_MANAGER_PATH "/device/999999" };
                return g_variant_new_object_path(paths[pick(f, G_N_ELEMENTS(paths))]);
        }
        case 'g': {
                static const char *const sigs[] = { "", "s", "a{sv}", "(sa{sv})", "v" };
                return g_variant_new_signature(sigs[pick(f, G_N_ELEMENTS(sigs))]);
        }
        case 'v': {
                if (depth > 3 || chance(f, 10))
                        return deep_variant(f, c, 1 + pick(f, 8));
                g_autoptr(GString) t = g_string_new(NULL);
                random_type_string(f, t, 2, false);
                g_autoptr(GVariantType) inner = g_variant_type_new(t->str);
                return g_variant_new_variant(random_value(f, c, inner, depth + 1));
        }
        case 'a': {
                const GVariantType *element = g_variant_type_element(type);
                unsigned n = depth > 2 ? pick(f, 2) : pick(f, 4);
                g_autoptr(GPtrArray) items = g_ptr_array_new();
                for (unsigned i = 0; i < n; i++)
                        g_ptr_array_add(items, random_value(f, c, element, depth + 1));
                return g_variant_new_array(element, (GVariant **) items->pdata, items->len);
        }
        case '{': {
                const GVariantType *k = g_variant_type_key(type);
                const GVariantType *v = g_variant_type_value(type);
                GVariant *key = random_value(f, c, k, depth + 1);
                return g_variant_new_dict_entry(key, random_value(f, c, v, depth + 1));
        }
        case '(': {
                g_autoptr(GPtrArray) items = g_ptr_array_new();
                for (const GVariantType *t = g_variant_type_first(type); t; t = g_variant_type_next(t))
                        g_ptr_array_add(items, random_value(f, c, t, depth + 1));
                return g_variant_new_tuple((GVariant **) items->pdata, items->len);
        }
        default:
                g_assert_not_reached();
        }
}

/* A value for a variant of an option whose right type is TYPE: mostly right, sometimes not. */
static GVariant *option_value(Fuzz *f, Call *c, const char *key, const char *type) {
        if (chance(f, 25)) {
                if (chance(f, 20))
                        return deep_variant(f, c, 1 + pick(f, 63));
                g_autoptr(GString) t = g_string_new(NULL);
                random_type_string(f, t, 2, c->raw);
                g_autoptr(GVariantType) other = g_variant_type_new(t->str);
                return random_value(f, c, other, 1);
        }
        if (strcmp(key, "Owner") == 0 && chance(f, 70)) {
                const guint32 owners[] = { 0, f->uids[WHO_NOBODY], f->uids[WHO_CREATE], 65534, G_MAXUINT32 };
                return g_variant_new_uint32(owners[pick(f, G_N_ELEMENTS(owners))]);
        }
        if (strcmp(key, "Mode") == 0) {
                static const char *const modes[] = { "packet", "batch", "vnet", "ring", "tun" };
                return fuzz_string(f, c, modes, G_N_ELEMENTS(modes));
        }
        if (strcmp(key, "Peer") == 0 || strcmp(key, "Gateway") == 0) {
                static const char *const addrs[] = { "10.8.0.1", "fd00:8::1", "10.8.0.999", "::" };
                return fuzz_string(f, c, addrs, G_N_ELEMENTS(addrs));
        }
        if (strcmp(key, "Persistent") == 0)
                return g_variant_new_boolean(chance(f, 20));
        if (strcmp(key, "Raw") == 0 || strcmp(key, "VnetHeader") == 0)
                return g_variant_new_boolean(chance(f, 50));
        g_autoptr(GVariantType) t = g_variant_type_new(type);
        return random_value(f, c, t, 1);
}

static GVariant *offload_list(Fuzz *f, Call *c) {
        g_autoptr(GVariantBuilder) b = g_variant_builder_new(G_VARIANT_TYPE("as"));
        unsigned k = pick(f, 10);

        if (k == 0 && !c->raw && c->who == WHO_ROOT) {
                /* huge: 100000 names */
                for (unsigned i = 0; i < 100000; i++)
                        g_variant_builder_add(b, "s", offload_names[i % G_N_ELEMENTS(offload_names)]);
        } else if (k == 1) {
                for (unsigned n = 1 + pick(f, 3); n > 0; n--)
                        g_variant_builder_add_value(b, fuzz_string(f, c, offload_names, G_N_ELEMENTS(offload_names)));
        } else {
                for (size_t i = 0; i < G_N_ELEMENTS(offload_names); i++)
                        if (chance(f, 40))
                                g_variant_builder_add(b, "s", offload_names[i]);
                if (chance(f, 20))
                        g_variant_builder_add(b, "s", offload_names[pick(f, G_N_ELEMENTS(offload_names))]);
        }
        return g_variant_builder_end(b);
}

static GVariant *options(Fuzz *f, Call *c, const OptionKey *keys, size_t n_keys) {
        g_autoptr(GVariantBuilder) b = g_variant_builder_new(G_VARIANT_TYPE("a{sv}"));
        unsigned k = pick(f, 12);

        if (k == 0 && c->who == WHO_ROOT && !c->raw) {
                /* huge: 20000 unknown keys */
                for (unsigned i = 0; i < 20000; i++) {
                        g_autofree char *key = g_strdup_printf("Bogus%u", i);
                        g_variant_builder_add(b, "{sv}", key, g_variant_new_uint32(i));
                }
                return g_variant_builder_end(b);
        }
        if (k <= 2)     /* empty: the defaults */
                return g_variant_builder_end(b);
        for (size_t i = 0; i < n_keys; i++) {
                if (!chance(f, k == 3 ? 100 : 35))
                        continue;
                GVariant *value = strcmp(keys[i].type, "as") == 0 && chance(f, 75)
                                          ? offload_list(f, c) : option_value(f, c, keys[i].key, keys[i].type);
                g_variant_builder_add(b, "{sv}", keys[i].key, value);
                if (chance(f, 5))       /* the same key twice */
                        g_variant_builder_add(b, "{sv}", keys[i].key, option_value(f, c, keys[i].key, keys[i].type));
        }
        if (chance(f, 10)) {
                static const char *const unknown[] = { "Bogus", "mtu", "", "MTU ", "mode" };
                GVariant *key = chance(f, 70) ? g_variant_new_string(unknown[pick(f, G_N_ELEMENTS(unknown))])
                                              : fuzz_string(f, c, NULL, 0);
                g_variant_builder_add_value(b, g_variant_new_dict_entry(key, g_variant_new_variant(fuzz_u32(f))));
        }
        return g_variant_builder_end(b);
}

static GVariant *device_name_arg(Fuzz *f, Call *c) {
        if (c->member == M_CREATE_DEVICE && f->live->len < MAX_LIVE_DEVICES && chance(f, 50)) {
                if (chance(f, 5))
                        return g_variant_new_string("");        /* the kernel picks tun%d */
                if (chance(f, 15))
                        return g_variant_new_take_string(g_strdup_printf("%sp%%d", f->name_prefix));
                return g_variant_new_take_string(g_strdup_printf("%sz%u", f->name_prefix, f->next_name++));
        }
        if (f->live->len && chance(f, 40)) {
                const Device *d = f->live->pdata[pick(f, f->live->len)];
                return g_variant_new_string(d->name);
        }
        if (c->member == M_CREATE_DEVICE && chance(f, 60)) {
                /* what would be a new device: the same with something wrong in it */
                g_autoptr(GString) s = g_string_new(f->name_prefix);
                static const char *const wrong[] = { "/", ":", " ", "\t", "%d%d", "%s",
                                                     "0123456789abcdefgh", "\xef\xb7\x90" };
                unsigned w = pick(f, G_N_ELEMENTS(wrong));
                g_string_append(s, wrong[w]);
                c->odd_strings |= w == G_N_ELEMENTS(wrong) - 1;
                return g_variant_new_string(s->str);
        }
        GVariant *s = fuzz_string(f, c, (const char *const[]) { "lo", "tbnosuchdevice" }, 2);
        if (c->member != M_CREATE_DEVICE)
                return s;
        /* A name CreateDevice might take gets the test's prefix, so that the harness's reaper
         * finds whatever a test that aborts leaves behind. */
        g_variant_ref_sink(s);
        gsize len;
        const char *name = g_variant_get_string(s, &len);
        GVariant *named = len > 0 && len <= 15 && !g_str_has_prefix(name, f->name_prefix)
                                  ? g_variant_new_take_string(g_strconcat(f->name_prefix, name, NULL))
                                  : g_variant_new_string(name);  /* floating, as the caller expects */
        g_variant_unref(s);
        return named;
}

static GVariant *address_arg(Fuzz *f, Call *c) {
        static const char *const addrs[] = { "10.8.0.2/24", "fd00:8::2/64", "0.0.0.0/0", "10.0.0.0/8",
                                             "fd00::/8", "10.8.0.2", "10.8.0.2/33", "::/129", "bogus" };
        return fuzz_string(f, c, addrs, G_N_ELEMENTS(addrs));
}

static GVariant *property_interface_arg(Fuzz *f, Call *c) {
        static const char *const ifaces[] = { TB_MANAGER_IFACE, TB_DEVICE_IFACE, TB_DEVICE_IFACE,
                                              PROPERTIES_IFACE, "org.example.Tun1.Bogus" };
        return fuzz_string(f, c, ifaces, G_N_ELEMENTS(ifaces));
}

static GVariant *property_name_arg(Fuzz *f, Call *c) {
        const char *names[G_N_ELEMENTS(properties) + 1];
        for (size_t i = 0; i < G_N_ELEMENTS(properties); i++)
                names[i] = properties[i].name;
        names[G_N_ELEMENTS(properties)] = "Bogus";
        return fuzz_string(f, c, names, G_N_ELEMENTS(names));
}

/* Arguments of the right signature. */
static GVariant *right_args(Fuzz *f, Call *c) {
        switch (c->member) {
        case M_CREATE_DEVICE: {
                GVariant *name = device_name_arg(f, c);
                return g_variant_new("(@s@a{sv})", name, options(f, c, create_options, G_N_ELEMENTS(create_options)));
        }
        case M_GET_DEVICE:
                return g_variant_new("(@s)", device_name_arg(f, c));
        case M_SET_MTU:
                return g_variant_new("(@u)", fuzz_u32(f));
        case M_SET_OFFLOADS:
                return g_variant_new("(@as)", offload_list(f, c));
        case M_OPEN_PACKET_FD:
                return g_variant_new("(@a{sv})", options(f, c, packet_fd_options, G_N_ELEMENTS(packet_fd_options)));
        case M_ADD_ADDRESS: {
                GVariant *a = address_arg(f, c);
                return g_variant_new("(@s@a{sv})", a, options(f, c, address_options, G_N_ELEMENTS(address_options)));
        }
        case M_REMOVE_ADDRESS:
                return g_variant_new("(@s)", address_arg(f, c));
        case M_ADD_ROUTE:
        case M_REMOVE_ROUTE: {
                GVariant *a = address_arg(f, c);
                return g_variant_new("(@s@a{sv})", a, options(f, c, route_options, G_N_ELEMENTS(route_options)));
        }
        case M_GET: {
                GVariant *i = property_interface_arg(f, c);
                return g_variant_new("(@s@s)", i, property_name_arg(f, c));
        }
        case M_GET_ALL:
                return g_variant_new("(@s)", property_interface_arg(f, c));
        case M_SET: {
                GVariant *i = property_interface_arg(f, c);
                GVariant *n = property_name_arg(f, c);
                g_autoptr(GString) t = g_string_new(NULL);
                random_type_string(f, t, 2, false);
                g_autoptr(GVariantType) type = g_variant_type_new(t->str);
                return g_variant_new("(@s@sv)", i, n, random_value(f, c, type, 1));
        }
        default:
                return g_variant_new("()");
        }
}

/* Arguments of a signature other than the method's. */
static GVariant *wrong_args(Fuzz *f, Call *c, const char *right) {
        for (;;) {
                g_autoptr(GString) t = g_string_new("(");
                unsigned n = pick(f, 4);
                if (chance(f, 30)) {
                        /* the right arguments with one more or one less */
                        g_autoptr(GVariant) good = g_variant_ref_sink(right_args(f, c));
                        g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func((GDestroyNotify) g_variant_unref);
                        for (gsize i = 0; i < g_variant_n_children(good); i++)
                                g_ptr_array_add(items, g_variant_get_child_value(good, i));
                        if (items->len && chance(f, 50))
                                g_ptr_array_remove_index(items, items->len - 1);
                        else
                                g_ptr_array_add(items, g_variant_ref_sink(fuzz_u32(f)));
                        GVariant *v = g_variant_new_tuple((GVariant **) items->pdata, items->len);
                        if (strcmp(g_variant_get_type_string(v), right) != 0)
                                return v;
                        g_variant_unref(g_variant_ref_sink(v));
                        continue;
                }
                for (unsigned i = 0; i < n; i++)
                        random_type_string(f, t, 3, c->raw);
                g_string_append_c(t, ')');
                if (strcmp(t->str, right) == 0)
                        continue;
                g_autoptr(GVariantType) type = g_variant_type_new(t->str);
                return random_value(f, c, type, 0);
        }
}

/* ---- Raw connections ---------------------------------------------------------------------- */

static bool write_all(int fd, const void *data, size_t len) {
        const char *p = data;
        while (len > 0) {
                ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return false;
                p += n;
                len -= (size_t) n;
        }
        return true;
}

/* Reads exactly LEN bytes; fds that come along are closed. False on end of file or a hang. */
static bool read_exactly(int fd, void *data, size_t len) {
        char *p = data;
        while (len > 0) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                if (poll(&pfd, 1, TB_HANG_SECONDS * 1000) <= 0)
                        return false;
                union {
                        struct cmsghdr align;
                        char buf[CMSG_SPACE(sizeof(int) * 16)];
                } control;
                struct iovec iov = { .iov_base = p, .iov_len = len };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                                     .msg_control = &control, .msg_controllen = sizeof(control) };
                ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return false;
                for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
                                int *fds = (int *) CMSG_DATA(cm);
                                size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                                for (size_t i = 0; i < nfds; i++)
                                        close(fds[i]);
                        }
                p += n;
                len -= (size_t) n;
        }
        return true;
}

static char *read_auth_line(int fd) {
        GString *line = g_string_new(NULL);
        char ch;
        while (read_exactly(fd, &ch, 1)) {
                if (ch == '\n')
                        return g_string_free(line, FALSE);
                if (ch != '\r')
                        g_string_append_c(line, ch);
        }
        g_string_free(line, TRUE);
        return NULL;
}

/* The next message, or NULL when the bus closed the connection. */
static GDBusMessage *raw_read_message(RawConn *r) {
        guchar header[16];
        if (!read_exactly(r->fd, header, sizeof(header)))
                return NULL;
        gssize need = g_dbus_message_bytes_needed(header, sizeof(header), NULL);
        g_assert_cmpint(need, >=, 16);
        g_autofree guchar *blob = g_malloc((gsize) need);
        memcpy(blob, header, sizeof(header));
        if (!read_exactly(r->fd, blob + 16, (size_t) need - 16))
                return NULL;
        g_autoptr(GError) error = NULL;
        GDBusMessage *m = g_dbus_message_new_from_blob(blob, (gsize) need, G_DBUS_CAPABILITY_FLAGS_UNIX_FD_PASSING, &error);
        if (!m)
                g_error("a message from the bus that GLib cannot parse: %s", error->message);
        return m;
}

/* Sends BLOB (with N_FDS fds of /dev/null) and waits for its answer; NULL when the bus
 * disconnected instead. */
static GDBusMessage *raw_send_blob(RawConn *r, guint32 serial, const guchar *blob, size_t len, unsigned n_fds) {
        int fds[20];
        g_assert_cmpuint(n_fds, <=, G_N_ELEMENTS(fds));
        for (unsigned i = 0; i < n_fds; i++)
                g_assert_cmpint(fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC), >=, 0);
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(fds))];
        } control = {};
        struct iovec iov = { .iov_base = (void *) blob, .iov_len = len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (n_fds) {
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
        }
        ssize_t n = sendmsg(r->fd, &mh, MSG_NOSIGNAL);
        for (unsigned i = 0; i < n_fds; i++)
                close(fds[i]);
        if (n < 0)
                return NULL;
        if ((size_t) n < len && !write_all(r->fd, blob + n, len - (size_t) n))
                return NULL;

        for (;;) {
                GDBusMessage *m = raw_read_message(r);
                if (!m)
                        return NULL;
                GDBusMessageType t = g_dbus_message_get_message_type(m);
                if ((t == G_DBUS_MESSAGE_TYPE_METHOD_RETURN || t == G_DBUS_MESSAGE_TYPE_ERROR) &&
                    g_dbus_message_get_reply_serial(m) == serial)
                        return m;
                g_object_unref(m);
        }
}

static guchar *message_to_blob(GDBusMessage *m, gsize *len) {
        g_autoptr(GError) error = NULL;
        guchar *blob = g_dbus_message_to_blob(m, len, G_DBUS_CAPABILITY_FLAGS_UNIX_FD_PASSING, &error);
        g_assert_no_error(error);
        return blob;
}

static GDBusMessage *raw_send(RawConn *r, GDBusMessage *m, bool patch_utf8, unsigned n_fds) {
        gsize len;
        guint32 serial = ++r->serial;
        g_dbus_message_set_serial(m, serial);
        g_autofree guchar *blob = message_to_blob(m, &len);
        if (patch_utf8)
                for (gsize i = 0; i + sizeof(UTF8_MARKER) - 1 <= len; i++)
                        if (memcmp(blob + i, UTF8_MARKER, sizeof(UTF8_MARKER) - 1) == 0)
                                memcpy(blob + i, utf8_replacement, sizeof(utf8_replacement) - 1);
        return raw_send_blob(r, serial, blob, len, n_fds);
}

static void raw_free(RawConn *r) {
        if (!r)
                return;
        close(r->fd);
        g_free(r->unique_name);
        g_free(r);
}

/* A connection to the bus whose peer credentials are USER's (NULL: root): the socket is
 * connected by a child that took USER's ids first. */
static RawConn *raw_connect(Fuzz *f, const TbUser *user) {
        g_autofree char *path = g_build_filename(tb_env_dir(f->env), "bus", NULL);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        g_assert_cmpuint(strlen(path), <, sizeof(sa.sun_path));
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(fd, >=, 0);
        uid_t uid = user ? user->uid : 0;

        if (!user)
                g_assert_no_errno(connect(fd, (struct sockaddr *) &sa, sizeof(sa)));
        else {
                pid_t pid = fork();
                g_assert_cmpint(pid, >=, 0);
                if (pid == 0) {
                        if (setgroups(0, NULL) < 0 || setresgid(user->gid, user->gid, user->gid) < 0 ||
                            setresuid(user->uid, user->uid, user->uid) < 0 ||
                            connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                                _exit(1);
                        _exit(0);
                }
                int status;
                g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
                g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }

        g_autofree char *uid_text = g_strdup_printf("%u", (unsigned) uid);
        GString *hex = g_string_new(NULL);
        for (const char *p = uid_text; *p; p++)
                g_string_append_printf(hex, "%02x", (unsigned char) *p);
        g_autofree char *auth = g_strdup_printf("AUTH EXTERNAL %s\r\n", hex->str);
        g_string_free(hex, TRUE);
        g_assert_true(write_all(fd, "", 1));
        g_assert_true(write_all(fd, auth, strlen(auth)));
        g_autofree char *ok = read_auth_line(fd);
        g_assert_true(ok && g_str_has_prefix(ok, "OK "));
        g_assert_true(write_all(fd, "NEGOTIATE_UNIX_FD\r\n", strlen("NEGOTIATE_UNIX_FD\r\n")));
        g_autofree char *agree = read_auth_line(fd);
        g_assert_cmpstr(agree, ==, "AGREE_UNIX_FD");
        g_assert_true(write_all(fd, "BEGIN\r\n", strlen("BEGIN\r\n")));

        RawConn *r = g_new0(RawConn, 1);
        r->fd = fd;
        g_autoptr(GDBusMessage) hello = g_dbus_message_new_method_call(BUS_DRIVER, "/org/freedesktop/DBus",
                                                                       BUS_DRIVER, "Hello");
        g_autoptr(GDBusMessage) reply = raw_send(r, hello, false, 0);
        g_assert_nonnull(reply);
        g_assert_cmpint(g_dbus_message_get_message_type(reply), ==, G_DBUS_MESSAGE_TYPE_METHOD_RETURN);
        g_variant_get(g_dbus_message_get_body(reply), "(s)", &r->unique_name);
        return r;
}

/* ---- Devices as the fuzzer knows them ------------------------------------------------------- */

static int find_live(Fuzz *f, const char *path) {
        for (unsigned i = 0; i < f->live->len; i++)
                if (strcmp(((Device *) f->live->pdata[i])->path, path) == 0)
                        return (int) i;
        return -1;
}

static void device_created(Fuzz *f, const char *path, const RawConn *creator) {
        if (find_live(f, path) >= 0)
                return;
        g_autoptr(GVariant) owner = tb_get_property(f->bus, path, TB_DEVICE_IFACE, "Owner");
        Device *d = g_new0(Device, 1);
        d->path = g_strdup(path);
        d->name = tb_device_name(f->bus, path);
        d->owner = g_variant_get_uint32(owner);
        g_autoptr(GVariant) persistent = tb_get_property(f->bus, path, TB_DEVICE_IFACE, "Persistent");
        d->creator = g_variant_get_boolean(persistent) ? NULL : creator;
        g_ptr_array_add(f->live, d);
}

static void device_deleted(Fuzz *f, const char *path) {
        int i = find_live(f, path);
        if (i < 0)
                return;
        g_ptr_array_add(f->gone, g_strdup(path));
        g_ptr_array_remove_index(f->live, (guint) i);
}

static void keep_fd(Fuzz *f, int fd) {
        if (f->fds->len >= MAX_OPEN_FDS) {
                unsigned i = pick(f, f->fds->len);
                close(g_array_index(f->fds, int, i));
                g_array_remove_index_fast(f->fds, i);
        }
        g_array_append_val(f->fds, fd);
}

/* ---- One call ------------------------------------------------------------------------------- */

static char *pick_path(Fuzz *f, Call *c, Target target) {
        unsigned k = pick(f, 100);
        PathKind kind;

        if (target == TARGET_MANAGER)
                kind = k < 85 ? PATH_MANAGER : k < 92 ? PATH_LIVE : k < 96 ? PATH_NEVER : PATH_ODD;
        else if (target == TARGET_DEVICE)
                kind = k < 75 ? PATH_LIVE : k < 85 ? PATH_GONE : k < 93 ? PATH_NEVER : k < 97 ? PATH_ODD : PATH_MANAGER;
        else
                kind = k < 30 ? PATH_MANAGER : k < 75 ? PATH_LIVE : k < 85 ? PATH_GONE : k < 93 ? PATH_NEVER : PATH_ODD;
        if (kind == PATH_LIVE && f->live->len == 0)
                kind = PATH_NEVER;
        if (kind == PATH_GONE && f->gone->len == 0)
                kind = PATH_NEVER;
        c->path_kind = kind;
        switch (kind) {
        case PATH_MANAGER:
                return g_strdup(TB_MANAGER_PATH);
        case PATH_LIVE:
                c->device = f->live->pdata[pick(f, f->live->len)];
                return g_strdup(c->device->path);
        case PATH_GONE:
                return g_strdup(f->gone->pdata[pick(f, f->gone->len)]);
        case PATH_NEVER: {
                static const char *const never[] = { TB_MANAGER_PATH "/device/999999", TB_MANAGER_PATH "/device/0",
                                                     TB_MANAGER_PATH "/device/18446744073709551616" };
                return g_strdup(never[pick(f, G_N_ELEMENTS(never))]);
        }
        default: {
                static const char *const odd[] = { "/", TB_MANAGER_PATH "/device", TB_MANAGER_PATH "/device/01",
                                                   TB_MANAGER_PATH "/device/1/x", TB_MANAGER_PATH "/devices",
                                                   "/org/example", "/org/example/Tun1/device/_31" };
                return g_strdup(odd[pick(f, G_N_ELEMENTS(odd))]);
        }
        }
}

static void generate(Fuzz *f, Call *c) {
        unsigned total = 0, w;

        *c = (Call) { .member = -1 };
        for (unsigned i = 0; i < _M_MAX; i++)
                total += member_weights[i];
        w = pick(f, total + 3);
        for (unsigned i = 0; i < _M_MAX; i++) {
                if (w < member_weights[i]) {
                        c->member = (int) i;
                        break;
                }
                w -= member_weights[i];
        }

        unsigned k = pick(f, 100);
        c->who = k < 45 ? WHO_ROOT : k < 72 ? WHO_NOBODY : WHO_CREATE;
        c->raw = chance(f, 12);
        c->interactive = chance(f, 50);

        if (c->member < 0) {
                static const char *const names[] = { "Bogus", "createDevice", "CreateDevices", "Delete2", "Set" };
                static const char *const ifaces[] = { TB_MANAGER_IFACE, TB_DEVICE_IFACE, "org.example.Tun1.Bogus" };
                c->name = names[pick(f, G_N_ELEMENTS(names))];
                c->iface = ifaces[pick(f, G_N_ELEMENTS(ifaces))];
                c->path = pick_path(f, c, TARGET_ANY);
                c->args = g_variant_ref_sink(wrong_args(f, c, "-"));
                return;
        }

        const Member *m = &members[c->member];
        c->name = m->name;
        c->iface = m->iface;
        c->right_iface = true;
        k = pick(f, 100);
        if (k < 4) {
                c->iface = NULL;        /* the bus and sd-bus find the member by name */
        } else if (k < 9) {
                static const char *const ifaces[] = { TB_MANAGER_IFACE, TB_DEVICE_IFACE, PROPERTIES_IFACE,
                                                      "org.example.Tun1.Bogus", "org.example.Tun1" };
                c->iface = ifaces[pick(f, G_N_ELEMENTS(ifaces))];
                c->right_iface = strcmp(c->iface, m->iface) == 0;
        }
        c->path = pick_path(f, c, m->target);
        c->right_signature = chance(f, 82);
        c->args = g_variant_ref_sink(c->right_signature ? right_args(f, c) : wrong_args(f, c, m->in));
        c->right_signature = strcmp(g_variant_get_type_string(c->args), m->in) == 0;
        if ((c->raw || c->who == WHO_ROOT) && chance(f, 8))
                /* the bus allows 16 a message: more only where the bus may drop the connection */
                c->n_fds = c->raw && chance(f, 10) ? 17 : 1 + pick(f, 3);
}

static void call_clear(Call *c) {
        g_free(c->path);
        g_clear_pointer(&c->args, g_variant_unref);
}

/* Whether the object of the call exists, for the bus's and sd-bus's own interfaces. */
static bool path_exists(const Call *c) {
        return c->path_kind == PATH_MANAGER || c->path_kind == PATH_LIVE;
}

static bool needs_authorization(Fuzz *f, const Call *c, const Member *m) {
        if (c->who == WHO_ROOT)
                return false;
        switch (m->auth) {
        case AUTH_CREATE:
        case AUTH_NETWORK:
                return true;
        case AUTH_DEVICE:
                return !c->device || c->device->owner != f->uids[c->who];
        default:
                return false;
        }
}

static bool standard_interface(const Member *m) {
        return g_str_has_prefix(m->iface, "org.freedesktop.DBus.");
}

/* sd-bus's own Properties, Peer, Introspectable and ObjectManager read the arguments they
 * need and ignore any after them: a call whose arguments begin with the right ones counts as
 * one of the right signature there. */
static bool signature_accepted(const Call *c) {
        if (c->member < 0)
                return false;
        const Member *m = &members[c->member];
        if (c->right_signature)
                return true;
        if (!standard_interface(m))
                return false;
        const char *got = g_variant_get_type_string(c->args);
        size_t n = strlen(m->in) - 1;   /* without the closing parenthesis */
        return strncmp(got, m->in, n) == 0;
}

/* The errors API.md allows for this call. */
static unsigned allowed_errors(Fuzz *f, const Call *c) {
        if (c->member < 0)
                return BIT(E_UNKNOWN_METHOD) | BIT(E_UNKNOWN_INTERFACE) | BIT(E_UNKNOWN_OBJECT);

        const Member *m = &members[c->member];
        unsigned allowed = 0;

        if (!f->implemented[c->member])
                allowed |= BIT(E_UNKNOWN_METHOD);
        if (!c->right_iface)
                return allowed | BIT(E_UNKNOWN_METHOD) | BIT(E_UNKNOWN_INTERFACE) | BIT(E_UNKNOWN_OBJECT) |
                       (c->iface && strcmp(c->iface, PROPERTIES_IFACE) == 0 ? BIT(E_INVALID_ARGS) : 0);

        bool on_target = m->target == TARGET_ANY ||
                         (m->target == TARGET_MANAGER && c->path_kind == PATH_MANAGER) ||
                         (m->target == TARGET_DEVICE && c->path_kind != PATH_MANAGER);
        if (!path_exists(c))
                allowed |= BIT(E_UNKNOWN_OBJECT);
        if (!on_target || !path_exists(c))
                allowed |= BIT(E_UNKNOWN_METHOD) | BIT(E_UNKNOWN_INTERFACE);
        /* Without an interface the bus and the D-Bus spec let the service find the member by
         * name; sd-bus does not, and answers UnknownObject even for an object that exists. */
        if (!c->iface)
                allowed |= BIT(E_UNKNOWN_METHOD) | BIT(E_UNKNOWN_INTERFACE) | BIT(E_UNKNOWN_OBJECT);
        if (!signature_accepted(c)) {
                /* ... and sd-bus's own interfaces read the arguments one by one, so they may
                 * answer about the first ones (an unknown property, say) before they find a
                 * later one missing or of the wrong type. */
                if (standard_interface(m))
                        allowed |= m->errors;
                return allowed | BIT(E_INVALID_ARGS);
        }
        if (!c->right_signature)
                allowed |= BIT(E_INVALID_ARGS);
        allowed |= m->errors;
        if (needs_authorization(f, c, m)) {
                allowed |= BIT(E_ACCESS_DENIED) | BIT(E_LIMITS);
                /* InteractiveAuthorizationRequired answers only a call without the flag. */
                if (!c->interactive)
                        allowed |= BIT(E_INTERACTIVE);
        }
        return allowed;
}

static const char *property_type(const char *iface, const char *name) {
        for (size_t i = 0; i < G_N_ELEMENTS(properties); i++)
                if (strcmp(properties[i].iface, iface) == 0 && strcmp(properties[i].name, name) == 0)
                        return properties[i].type;
        return NULL;
}

/* Whether a success is the right one: NULL when it is, else why not. */
static char *check_success(Fuzz *f, const Call *c, GVariant *body) {
        const char *got = body ? g_variant_get_type_string(body) : "()";

        if (c->member < 0)
                return g_strdup_printf("a method that does not exist succeeded, replying %s", got);
        const Member *m = &members[c->member];
        if (!m->out)
                return g_strdup_printf("%s succeeded on a read-only property", m->name);
        if (!signature_accepted(c))
                return g_strdup_printf("arguments %s instead of %s were accepted", g_variant_get_type_string(c->args), m->in);
        if (strcmp(got, m->out) != 0)
                return g_strdup_printf("reply signature %s, not %s", got, m->out);
        if (c->member == M_GET) {
                const char *iface, *name;
                g_variant_get_child(c->args, 0, "&s", &iface);
                g_variant_get_child(c->args, 1, "&s", &name);
                const char *type = property_type(iface, name);
                g_autoptr(GVariant) v = NULL;
                g_variant_get(body, "(v)", &v);
                if (type && strcmp(g_variant_get_type_string(v), type) != 0)
                        return g_strdup_printf("property %s is %s, not %s", name, g_variant_get_type_string(v), type);
        }
        if (c->member == M_GET_ALL) {
                const char *iface, *name;
                GVariant *v;
                g_autoptr(GVariantIter) it = NULL;
                g_variant_get_child(c->args, 0, "&s", &iface);
                g_variant_get(body, "(a{sv})", &it);
                while (g_variant_iter_next(it, "{&sv}", &name, &v)) {
                        const char *type = property_type(iface, name);
                        bool bad = type && strcmp(g_variant_get_type_string(v), type) != 0;
                        g_variant_unref(v);
                        if (bad)
                                return g_strdup_printf("property %s is not %s", name, type);
                }
        }
        return NULL;
}

/* What the call changed, as far as the fuzzer's bookkeeping goes. */
static void note_success(Fuzz *f, const Call *c, GVariant *body) {
        if (c->member == M_CREATE_DEVICE) {
                const char *path;
                g_variant_get(body, "(&o)", &path);
                device_created(f, path, c->raw_why ? f->raw[c->who] : NULL);
        } else if (c->member == M_DELETE && c->path_kind == PATH_LIVE)
                device_deleted(f, c->path);
}

static void judge_error(Fuzz *f, const Call *c, const char *name, const char *message) {
        unsigned allowed = allowed_errors(f, c);
        for (unsigned e = 0; e < _E_MAX; e++)
                if (strcmp(name, error_names[e]) == 0 && (allowed & BIT(e))) {
                        if (!message || !*message)
                                add_finding(f, c, name, "(an error without a message)");
                        count_outcome(f, c, name);
                        return;
                }
        count_outcome(f, c, "UNEXPECTED");
        add_finding(f, c, name, message);
}

static void judge_success(Fuzz *f, const Call *c, GVariant *body) {
        g_autofree char *wrong = check_success(f, c, body);
        if (wrong) {
                count_outcome(f, c, "UNEXPECTED");
                add_finding(f, c, "(success)", wrong);
                return;
        }
        count_outcome(f, c, "ok");
        note_success(f, c, body);
}

static GDBusMessage *new_message(const Call *c) {
        GDBusMessage *m = g_dbus_message_new_method_call(TB_BUS_NAME, c->path, c->iface, c->name);
        g_dbus_message_set_body(m, c->args);
        if (c->interactive)
                g_dbus_message_set_flags(m, G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION);
        return m;
}

/* Judges a reply message: from tund, from the bus, or NULL (disconnected by the bus). */
static void judge_message(Fuzz *f, const Call *c, GDBusMessage *reply, GUnixFDList *fds) {
        if (!reply) {
                add_bus_answer(f, c, "the bus closed the connection");
                return;
        }
        const char *sender = g_dbus_message_get_sender(reply);
        if (g_dbus_message_get_message_type(reply) == G_DBUS_MESSAGE_TYPE_ERROR) {
                const char *name = g_dbus_message_get_error_name(reply);
                const char *message = NULL;
                GVariant *body = g_dbus_message_get_body(reply);
                if (body && g_variant_is_of_type(body, G_VARIANT_TYPE("(s)")))
                        g_variant_get(body, "(&s)", &message);
                if (g_strcmp0(sender, BUS_DRIVER) == 0) {
                        g_autofree char *answer = g_strdup_printf("%s", name);
                        add_bus_answer(f, c, answer);
                        return;
                }
                judge_error(f, c, name, message);
                return;
        }
        GVariant *body = g_dbus_message_get_body(reply);
        judge_success(f, c, body);
        if (c->member == M_OPEN_PACKET_FD && fds) {
                gint n;
                int *got = g_unix_fd_list_steal_fds(fds, &n);
                for (gint i = 0; i < n; i++)
                        keep_fd(f, got[i]);
                g_free(got);
        }
}

static void send_as_root(Fuzz *f, Call *c) {
        g_autoptr(GDBusMessage) m = new_message(c);
        g_autoptr(GError) error = NULL;
        if (c->n_fds) {
                g_autoptr(GUnixFDList) list = g_unix_fd_list_new();
                for (unsigned i = 0; i < c->n_fds; i++) {
                        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                        g_assert_cmpint(g_unix_fd_list_append(list, fd, NULL), >=, 0);
                        close(fd);
                }
                g_dbus_message_set_unix_fd_list(m, list);
        }
        g_autoptr(GDBusMessage) reply = g_dbus_connection_send_message_with_reply_sync(
                f->bus, m, G_DBUS_SEND_MESSAGE_FLAGS_NONE, TB_HANG_SECONDS * 1000, NULL, NULL, &error);
        if (!reply) {
                if (c->n_fds > 16 && g_dbus_connection_is_closed(f->bus))
                        g_error("the bus closed the test's connection");
                count_outcome(f, c, "UNEXPECTED");
                add_finding(f, c, "(no reply)", error->message);
                return;
        }
        judge_message(f, c, reply, g_dbus_message_get_unix_fd_list(reply));
}

/* Closes a raw connection; the devices it made without Persistent go with it (tund removes
 * them in its own time), so the fuzzer counts them as gone now. */
static void raw_drop(Fuzz *f, Who who) {
        RawConn *r = f->raw[who];
        if (!r)
                return;
        for (unsigned i = 0; i < f->live->len;) {
                Device *d = f->live->pdata[i];
                if (d->creator == r)
                        device_deleted(f, d->path);
                else
                        i++;
        }
        raw_free(r);
        f->raw[who] = NULL;
}

static void send_raw(Fuzz *f, Call *c) {
        if (!f->raw[c->who])
                f->raw[c->who] = raw_connect(f, c->who == WHO_ROOT ? NULL : f->users[c->who]);
        g_autoptr(GDBusMessage) m = new_message(c);
        if (c->n_fds) {
                /* for the serializer's count only: raw_send_blob sends fds of its own */
                g_autoptr(GUnixFDList) list = g_unix_fd_list_new();
                for (unsigned i = 0; i < c->n_fds; i++)
                        g_assert_cmpint(g_unix_fd_list_append(list, 0, NULL), >=, 0);
                g_dbus_message_set_unix_fd_list(m, list);
        }
        g_autoptr(GDBusMessage) reply = raw_send(f->raw[c->who], m, c->patch_utf8, c->n_fds);
        judge_message(f, c, reply, NULL);
        if (!reply)
                raw_drop(f, c->who);
}

static void send_as_user(Fuzz *f, Call *c) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = tb_caller_call(f->callers[c->who], c->interactive, c->path,
                                                   c->iface, c->name, c->args, &error);
        if (!reply) {
                g_autofree char *name = g_dbus_error_get_remote_error(error);
                g_dbus_error_strip_remote_error(error);
                judge_error(f, c, name ? name : "(local error)", error->message);
                return;
        }
        judge_success(f, c, reply);
}

/* Containers nested in V, variants included; G_MAXUINT when looking would take more than
 * *BUDGET steps. */
static unsigned nesting(GVariant *v, unsigned *budget) {
        unsigned deepest = 0;
        if (!g_variant_is_container(v))
                return 0;
        for (gsize i = 0, n = g_variant_n_children(v); i < n; i++) {
                if (*budget == 0)
                        return G_MAXUINT;
                (*budget)--;
                g_autoptr(GVariant) child = g_variant_get_child_value(v, i);
                unsigned d = nesting(child, budget);
                if (d == G_MAXUINT)
                        return d;
                deepest = MAX(deepest, d);
        }
        return deepest + 1;
}

/* What the test's own connections send: containers nested 32 deep at most, variants counted
 * (the spec allows 32 arrays and 32 structs). dbus-daemon drops a connection that sends more
 * than 64 (seen here), so anything deeper than 32 goes over a raw connection. */
static bool bus_accepts(const Call *c) {
        unsigned budget = 200000;
        return !c->patch_utf8 && nesting(c->args, &budget) <= 32;
}

/* tb-caller's text form carries no empty interface, no fds and no bytes GLib refuses. */
static bool fits_caller(const Call *c) {
        return c->iface && c->n_fds == 0 && bus_accepts(c) && g_variant_get_size(c->args) < 256 * 1024;
}

static void run_call(Fuzz *f, Call *c) {
        f->calls++;
        unsigned budget = 200000, depth;
        if (c->patch_utf8)
                c->raw_why = "invalid UTF-8";
        else if (c->n_fds > 16)
                c->raw_why = "17 fds";
        else if ((depth = nesting(c->args, &budget)) > 64)
                c->raw_why = "nested deeper than 64";
        else if (depth > 32)
                c->raw_why = "nested 33 to 64 deep";
        else if (strchr(g_variant_get_type_string(c->args), 'h') && c->n_fds == 0)
                c->raw_why = "handles without fds";
        else if (c->raw)
                c->raw_why = "by choice";
        else if (c->who != WHO_ROOT && !fits_caller(c))
                c->raw_why = "not for tb-caller";
        if (f->verbose) {
                g_autofree char *call = call_description(c);
                g_autofree char *args = args_summary(c->args);
                g_test_message("%u as %s: %s %s %s", f->calls, who_names[c->who], c->path, call, args);
        }
        if (c->raw_why)
                send_raw(f, c);
        else if (c->who == WHO_ROOT)
                send_as_root(f, c);
        else
                send_as_user(f, c);
}

/* ---- The run -------------------------------------------------------------------------------- */

static unsigned count_entries(const char *dir) {
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        unsigned n = 0;
        while (d && g_dir_read_name(d))
                n++;
        return n;
}

typedef struct Usage {
        unsigned fds, threads;
        guint64 rss_kib;
} Usage;

static Usage tund_usage(TbEnv *env) {
        pid_t pid = tb_tund_pid(env);
        g_autofree char *fd_dir = g_strdup_printf("/proc/%d/fd", (int) pid);
        g_autofree char *task_dir = g_strdup_printf("/proc/%d/task", (int) pid);
        g_autofree char *status_path = g_strdup_printf("/proc/%d/status", (int) pid);
        g_autofree char *status = NULL;
        Usage u = { count_entries(fd_dir), count_entries(task_dir), 0 };
        g_assert_true(g_file_get_contents(status_path, &status, NULL, NULL));
        const char *rss = strstr(status, "\nVmRSS:");
        g_assert_nonnull(rss);
        u.rss_kib = g_ascii_strtoull(rss + strlen("\nVmRSS:"), NULL, 10);
        return u;
}

/* Under AddressSanitizer freed memory waits in a quarantine of up to 256 MiB. */
static bool tund_has_asan(TbEnv *env) {
        g_autofree char *maps_path = g_strdup_printf("/proc/%d/maps", (int) tb_tund_pid(env));
        g_autofree char *maps = NULL;
        if (!g_file_get_contents(maps_path, &maps, NULL, NULL))
                return false;
        return strstr(maps, "libasan") || strstr(maps, "libclang_rt.asan") || g_str_has_prefix(maps, "7fff8000-") ||
               strstr(maps, "\n7fff8000-");
}

static void ping_tund(Fuzz *f) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r G_GNUC_UNUSED = tb_call(f->bus, TB_MANAGER_PATH, PEER_IFACE, "Ping", NULL, "()", &error);
        g_assert_no_error(error);
}

/* Deletes every device the fuzzer made (ListDevices knows them all, whoever made them) and
 * closes what it holds, but keeps the unprivileged callers. */
static void clean_up(Fuzz *f, GHashTable *before) {
        for (unsigned i = 0; i < f->fds->len; i++)
                close(g_array_index(f->fds, int, i));
        g_array_set_size(f->fds, 0);
        for (unsigned w = 0; w < _WHO_MAX; w++)
                raw_drop(f, w);

        g_autoptr(GHashTable) devices = tb_list_devices(f->bus);
        GHashTableIter iter;
        gpointer name, path;
        g_hash_table_iter_init(&iter, devices);
        while (g_hash_table_iter_next(&iter, &name, &path)) {
                if (g_hash_table_contains(before, name))
                        continue;
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) r G_GNUC_UNUSED = tb_call(f->bus, path, TB_DEVICE_IFACE, "Delete", NULL, "()", &error);
                if (error && !g_dbus_error_is_remote_error(error))
                        g_assert_no_error(error);
                device_deleted(f, path);
                g_assert_true(tb_wait_link_gone(name));
        }
        while (f->live->len)
                device_deleted(f, ((Device *) f->live->pdata[0])->path);
}

static void introspect_members(Fuzz *f) {
        g_autofree char *path = tb_create_ok(f->bus, "", NULL);
        const char *paths[] = { TB_MANAGER_PATH, path };
        for (unsigned p = 0; p < G_N_ELEMENTS(paths); p++) {
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) r = tb_call(f->bus, paths[p], INTROSPECTABLE_IFACE, "Introspect", NULL, "(s)", &error);
                g_assert_no_error(error);
                const char *xml;
                g_variant_get(r, "(&s)", &xml);
                g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml(xml, &error);
                g_assert_no_error(error);
                for (unsigned i = 0; i < _M_MAX; i++) {
                        GDBusInterfaceInfo *iface = g_dbus_node_info_lookup_interface(node, members[i].iface);
                        if (iface && g_dbus_interface_info_lookup_method(iface, members[i].name))
                                f->implemented[i] = true;
                }
        }
        tb_delete_ok(f->bus, path);
        for (unsigned i = 0; i < _M_MAX; i++)
                if (!f->implemented[i])
                        g_test_message("%s.%s (API.md) is not in this tund's introspection data: UnknownMethod is its answer",
                                       members[i].iface, members[i].name);
}

static guint32 fuzz_seed(void) {
        const char *s = g_getenv("TUND_BUS_FUZZ_SEED");
        return s ? (guint32) g_ascii_strtoull(s, NULL, 10) : (guint32) g_get_real_time();
}

static unsigned fuzz_seconds(void) {
        const char *s = g_getenv("TUND_BUS_FUZZ_SECONDS");
        return s ? (unsigned) g_ascii_strtoull(s, NULL, 10) : DEFAULT_SECONDS;
}

static void fuzz_init(Fuzz *f, TbEnv *env, guint32 seed) {
        const TbRole roles[_WHO_MAX] = { [WHO_NOBODY] = TB_ROLE_NOBODY, [WHO_CREATE] = TB_ROLE_CREATE };
        *f = (Fuzz) {
                .env = env,
                .bus = tb_env_bus(env),
                .rand = g_rand_new_with_seed(seed),
                .live = g_ptr_array_new_with_free_func((GDestroyNotify) device_free),
                .gone = g_ptr_array_new_with_free_func(g_free),
                .fds = g_array_new(FALSE, FALSE, sizeof(int)),
                .findings = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) finding_free),
                .bus_answers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
                .outcomes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
                .name_prefix = tb_ifname(""),
                .verbose = g_getenv("TUND_BUS_FUZZ_VERBOSE") != NULL,
        };
        for (unsigned w = WHO_NOBODY; w < _WHO_MAX; w++) {
                f->users[w] = tb_env_user(env, roles[w]);
                f->uids[w] = f->users[w]->uid;
                f->callers[w] = tb_caller_new(env, f->users[w]);
        }
        introspect_members(f);
}

static void fuzz_done(Fuzz *f) {
        for (unsigned w = 0; w < _WHO_MAX; w++) {
                g_clear_pointer(&f->callers[w], tb_caller_free);
                g_clear_pointer(&f->raw[w], raw_free);
        }
        g_ptr_array_unref(f->live);
        g_ptr_array_unref(f->gone);
        g_array_unref(f->fds);
        g_hash_table_unref(f->findings);
        g_hash_table_unref(f->bus_answers);
        g_hash_table_unref(f->outcomes);
        g_rand_free(f->rand);
        g_free(f->name_prefix);
}

static gint compare_strings(gconstpointer a, gconstpointer b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void log_counts(const char *title, GHashTable *table) {
        g_autofree gpointer *keys = g_hash_table_get_keys_as_array(table, NULL);
        guint n = g_hash_table_size(table);
        qsort(keys, n, sizeof(gpointer), compare_strings);
        g_test_message("%s:", title);
        for (guint i = 0; i < n; i++)
                g_test_message("  %6u  %s", GPOINTER_TO_UINT(g_hash_table_lookup(table, keys[i])), (char *) keys[i]);
}

static gint compare_findings(gconstpointer a, gconstpointer b) {
        const Finding *x = *(Finding *const *) a, *y = *(Finding *const *) b;
        int r = strcmp(x->call, y->call);
        return r ? r : strcmp(x->who, y->who);
}

static char *findings_table(Fuzz *f) {
        g_autoptr(GPtrArray) all = g_ptr_array_new();
        GHashTableIter iter;
        gpointer value;
        g_hash_table_iter_init(&iter, f->findings);
        while (g_hash_table_iter_next(&iter, NULL, &value))
                g_ptr_array_add(all, value);
        g_ptr_array_sort(all, compare_findings);
        GString *out = g_string_new(NULL);
        g_string_append_printf(out, "%u kinds of answer the contract does not allow:\n", all->len);
        g_string_append(out, "| caller | call | arguments (first seen) | answer | message | times |\n");
        g_string_append(out, "|---|---|---|---|---|---|\n");
        for (unsigned i = 0; i < all->len; i++) {
                const Finding *x = all->pdata[i];
                g_string_append_printf(out, "| %s | %s | %s | %s | %s | %u |\n", x->who, x->call, x->args,
                                       x->error, x->message, x->count);
        }
        return g_string_free(out, FALSE);
}

/* As many packet fds at once as the fuzzer ever holds, on as many devices, in every mode:
 * each fd costs megabytes of buffers, which the allocator keeps for reuse once the fd is
 * closed (meson test's MALLOC_PERTURB_ even touches all of it). After this, tund's RSS is
 * at the high-water mark the fuzzer's fds can bring it to. */
static void warm_up_packet_fds(Fuzz *f) {
        static const char *const modes[] = { "packet", "batch", "vnet" };
        char *paths[MAX_LIVE_DEVICES], *names[MAX_LIVE_DEVICES];
        int fds[MAX_OPEN_FDS];

        for (unsigned i = 0; i < MAX_LIVE_DEVICES; i++) {
                g_autofree char *suffix = g_strdup_printf("w%u", i);
                names[i] = tb_ifname(suffix);
                paths[i] = tb_create_ok(f->bus, names[i], NULL);
        }
        for (unsigned round = 0; round < 2; round++) {
                for (unsigned i = 0; i < MAX_OPEN_FDS; i++) {
                        g_autoptr(GError) error = NULL;
                        GVariant *options = tb_options("Mode", g_variant_new_string(modes[(i + round) % G_N_ELEMENTS(modes)]), NULL);
                        fds[i] = tb_open_packet_fd(f->bus, paths[i % MAX_LIVE_DEVICES], options, &error);
                        g_assert_no_error(error);
                }
                for (unsigned i = 0; i < MAX_OPEN_FDS; i++)
                        close(fds[i]);
        }
        for (unsigned i = 0; i < MAX_LIVE_DEVICES; i++) {
                tb_delete_ok(f->bus, paths[i]);
                g_assert_true(tb_wait_link_gone(names[i]));
                g_free(paths[i]);
                g_free(names[i]);
        }
}

static void fuzz_phase(Fuzz *f, TbEnv *env, pid_t pid, gint64 deadline, unsigned max_calls) {
        for (unsigned n = 0; n < max_calls && g_get_monotonic_time() < deadline; n++) {
                Call c;
                generate(f, &c);
                run_call(f, &c);
                call_clear(&c);
                if (f->verbose) {
                        /* where tund's memory grows, for whoever reads the log */
                        Usage u = tund_usage(env);
                        if (u.rss_kib >= f->rss_logged_kib + 4096) {
                                g_test_message("VmRSS %" G_GUINT64_FORMAT " KiB, %u threads, %u fds after call %u",
                                               u.rss_kib, u.threads, u.fds, f->calls);
                                f->rss_logged_kib = u.rss_kib;
                        }
                }
                if (tb_tund_pid(env) != pid || kill(pid, 0) < 0)
                        g_error("tund (PID %d) died after %u calls", (int) pid, f->calls);
        }
}

static void test_fuzz(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        guint32 seed = fuzz_seed();
        unsigned seconds = fuzz_seconds();
        g_test_message("seed %u (TUND_BUS_FUZZ_SEED=%u replays it), %u s (TUND_BUS_FUZZ_SECONDS)", seed, seed, seconds);

        Fuzz f;
        fuzz_init(&f, env, seed);
        pid_t pid = tb_tund_pid(env);
        g_autoptr(GHashTable) before = tb_list_devices(f.bus);
        gint64 start = g_get_monotonic_time();

        /* Warm-up: every kind of call once or more, then back to no device and no fd. */
        warm_up_packet_fds(&f);
        fuzz_phase(&f, env, pid, start + (gint64) seconds * G_USEC_PER_SEC, WARM_UP_CALLS);
        clean_up(&f, before);
        ping_tund(&f);
        Usage warm = tund_usage(env);
        g_test_message("after the warm-up: %u fds, %u threads, VmRSS %" G_GUINT64_FORMAT " KiB",
                       warm.fds, warm.threads, warm.rss_kib);

        fuzz_phase(&f, env, pid, start + (gint64) seconds * G_USEC_PER_SEC, G_MAXUINT);
        g_test_message("%u calls in %.0f s", f.calls, (double) (g_get_monotonic_time() - start) / G_USEC_PER_SEC);
        clean_up(&f, before);

        log_counts("answers by member", f.outcomes);
        if (g_hash_table_size(f.bus_answers))
                log_counts("answers of the bus itself (dbus-daemon refused the message; tund never saw it)", f.bus_answers);

        /* Alive, the same process, and back where it was after the warm-up. */
        g_assert_cmpint(tb_tund_pid(env), ==, pid);
        ping_tund(&f);
        Usage end = tund_usage(env);
        for (unsigned i = 0; i < TB_HANG_SECONDS * 10 && (end.fds != warm.fds || end.threads != warm.threads); i++) {
                g_usleep(100 * 1000);
                end = tund_usage(env);
        }
        g_test_message("at the end: %u fds, %u threads, VmRSS %" G_GUINT64_FORMAT " KiB", end.fds, end.threads, end.rss_kib);
        /* Generous: which of the allocator's arenas the data plane's threads take varies, and
         * each keeps what it had; leaks are for LeakSanitizer (tund's exit status under ASan). */
        guint64 margin_kib = tund_has_asan(env) ? 512 * 1024 : 64 * 1024;

        /* Everything found, in one failure message. */
        GString *problems = g_string_new(NULL);
        if (end.fds != warm.fds)
                g_string_append_printf(problems, "tund has %u fds, %u after the warm-up.\n", end.fds, warm.fds);
        if (end.threads != warm.threads)
                g_string_append_printf(problems, "tund has %u threads, %u after the warm-up.\n", end.threads, warm.threads);
        if (end.rss_kib > warm.rss_kib + margin_kib)
                g_string_append_printf(problems, "tund's VmRSS is %" G_GUINT64_FORMAT " KiB, %" G_GUINT64_FORMAT
                                       " KiB after the warm-up (allowed: %" G_GUINT64_FORMAT " KiB more).\n",
                                       end.rss_kib, warm.rss_kib, margin_kib);
        g_autoptr(GHashTable) after = tb_list_devices(f.bus);
        if (g_hash_table_size(after) != g_hash_table_size(before))
                g_string_append_printf(problems, "%u devices are left, %u were there before.\n",
                                       g_hash_table_size(after), g_hash_table_size(before));
        if (g_hash_table_size(f.findings)) {
                g_autofree char *table = findings_table(&f);
                g_string_append(problems, table);
        }
        fuzz_done(&f);

        if (problems->len) {
                /* One line of TAP each: a failure message with newlines makes GLib bail out. */
                g_auto(GStrv) lines = g_strsplit(problems->str, "\n", -1);
                for (char **l = lines; *l; l++)
                        if (**l)
                                g_test_message("%s", *l);
                g_test_fail_printf("seed %u (replay with TUND_BUS_FUZZ_SEED=%u): tund answered or ended as the "
                                   "contract does not allow; see the table above", seed, seed);
        }
        g_string_free(problems, TRUE);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        signal(SIGPIPE, SIG_IGN);
        /* meson test sets MALLOC_PERTURB_, which tund inherits: glibc then fills every buffer
         * it allocates, so the megabytes each packet fd reserves for traffic (which the
         * fuzzer never sends) all count in its RSS, and stay there in the allocator's arenas
         * after the fd closes. Without it, RSS says what tund really holds. */
        g_unsetenv("MALLOC_PERTURB_");
        g_test_add_func("/bus-fuzz/typed-calls", test_fuzz);
        return tb_test_run();
}
