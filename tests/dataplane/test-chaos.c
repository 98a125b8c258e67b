/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tund under a storm of everything at once, as root, through the bus test harness: a
 * seeded random run of D-Bus calls (good and bad), packet fds opened, fed garbage and
 * real packets, drained and closed, and the kernel's side changed behind tund's back
 * (links up and down, MTUs, deletions, moves to another namespace and back), with UDP
 * traffic into the devices. Every call must get an answer the API allows, in time; at the
 * end tund must be back where it started (no device, no fd, no thread more than before)
 * and stop cleanly, which under AddressSanitizer also means without a leak.
 *
 * Among the actors is an unprivileged attacker (a test user polkit refuses everything): it
 * tries to delete, change and open the devices, to create its own and others', and forges
 * org.freedesktop.DBus.NameOwnerChanged signals (to tund's unique name and broadcast) that
 * say the creator of the devices left the bus. Every call of its must be refused as API.md
 * says, and no device may be lost because of it.
 *
 * TUND_CHAOS_SEED replays a run; the seed of every run is in the test's log. */

#include <errno.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "packet-check.h"
#include "tb-netns.h"
#include "traffic.h"

#define N_SLOTS 4
#define FDS_PER_SLOT 4
#define N_OPERATIONS 3000
#define MAX_SECONDS 40

#define INVALID_ARGS "org.freedesktop.DBus.Error.InvalidArgs"
#define UNKNOWN_OBJECT "org.freedesktop.DBus.Error.UnknownObject"
#define UNKNOWN_METHOD "org.freedesktop.DBus.Error.UnknownMethod"
#define EXISTS "org.example.Tun1.Error.Exists"
#define NOT_SUPPORTED "org.example.Tun1.Error.NotSupported"
#define ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"
#define INTERACTIVE_REQUIRED "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"
#define LIMITS_EXCEEDED "org.example.Tun1.Error.LimitsExceeded"

typedef struct Slot {
        char *name;             /* the device's name, for tund and for `ip` */
        char *path;             /* its object, while tund has it (as far as we know) */
        bool away;              /* moved into the chaos namespace */
        bool doomed;            /* its link was deleted behind tund's back: it may vanish */
        unsigned index;
        int fds[FDS_PER_SLOT];
} Slot;

typedef struct Chaos {
        GDBusConnection *bus;
        GRand *rand;
        char *ns;
        Slot slots[N_SLOTS];
        unsigned calls, errors;
        TbCaller *attacker;     /* TB_ROLE_DENIED */
        char *tund_name;        /* tund's unique name */
        unsigned attacks, forged;
} Chaos;

static char *chaos_ns;

static unsigned pick(Chaos *c, unsigned n) {
        return g_rand_int_range(c->rand, 0, n);
}

/* Asserts that a call's error is one the API allows for it. */
static void check_error(Chaos *c, const char *what, GError *error, const char *const *allowed) {
        g_autofree char *name = NULL;

        c->calls++;
        if (!error)
                return;
        c->errors++;
        name = g_dbus_error_get_remote_error(error);
        if (name)
                for (const char *const *a = allowed; *a; a++)
                        if (strcmp(name, *a) == 0) {
                                g_assert_cmpstr(error->message, !=, "");
                                return;
                        }
        g_error("%s: unexpected error %s: %s", what, name ? name : "(local)", error->message);
}

/* Calls a method of the slot's device, if it has one, and checks the error. */
static void device_call(Chaos *c, Slot *s, const char *method, GVariant *args, const char *const *allowed) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = NULL;

        if (!s->path) {
                if (args)
                        g_variant_unref(g_variant_ref_sink(args));
                return;
        }
        reply = tb_call(c->bus, s->path, TB_DEVICE_IFACE, method, args, NULL, &error);
        check_error(c, method, error, allowed);
}

static void close_fd(Slot *s, unsigned i) {
        if (s->fds[i] >= 0)
                close(s->fds[i]);
        s->fds[i] = -1;
}

static void forget_device(Slot *s) {
        g_clear_pointer(&s->path, g_free);
        s->away = false;
        s->doomed = false;
        for (unsigned i = 0; i < FDS_PER_SLOT; i++)
                close_fd(s, i);
}

/* ---- Calls ---------------------------------------------------------------------------------- */

static void op_create(Chaos *c, Slot *s) {
        static const char *const allowed[] = { EXISTS, INVALID_ARGS, NULL };
        static const guint32 mtus[] = { 1280, 1500, 9000, 67, 65536 };
        g_autoptr(GError) error = NULL;
        GVariant *options;

        if (s->path)
                return;
        if (pick(c, 2))
                options = tb_options("MTU", g_variant_new_uint32(mtus[pick(c, G_N_ELEMENTS(mtus))]), NULL);
        else
                options = tb_options(NULL, NULL);
        s->path = tb_create(c->bus, s->name, options, &error);
        s->doomed = false;
        check_error(c, "CreateDevice", error, allowed);
}

static void op_delete(Chaos *c, Slot *s) {
        static const char *const allowed[] = { UNKNOWN_OBJECT, NULL };
        device_call(c, s, "Delete", NULL, allowed);
        forget_device(s);
}

static void op_set_mtu(Chaos *c, Slot *s) {
        static const char *const allowed[] = { INVALID_ARGS, UNKNOWN_OBJECT, NOT_SUPPORTED, NULL };
        static const guint32 mtus[] = { 0, 67, 68, 576, 1280, 1500, 9000, 65535, 65536, G_MAXUINT32 };
        device_call(c, s, "SetMTU", g_variant_new("(u)", mtus[pick(c, G_N_ELEMENTS(mtus))]), allowed);
}

static void op_set_offloads(Chaos *c, Slot *s) {
        static const char *const allowed[] = { INVALID_ARGS, UNKNOWN_OBJECT, NOT_SUPPORTED, NULL };
        static const char *const names[] = { "csum", "tso4", "tso6", "tso-ecn", "uso4", "uso6",
                                             "gro-tcp", "gro-udp", "bogus", "" };
        g_autoptr(GVariantBuilder) b = g_variant_builder_new(G_VARIANT_TYPE("as"));

        for (unsigned i = 0; i < G_N_ELEMENTS(names); i++)
                if (pick(c, 3) == 0)
                        g_variant_builder_add(b, "s", names[i]);
        device_call(c, s, "SetOffloads", g_variant_new("(as)", b), allowed);
}

static void op_read_properties(Chaos *c, Slot *s) {
        static const char *const allowed[] = { UNKNOWN_OBJECT, NULL };
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) all = NULL;
        g_hash_table_unref(tb_list_devices(c->bus));
        if (!s->path)
                return;
        all = tb_call(c->bus, s->path, "org.freedesktop.DBus.Properties", "GetAll",
                      g_variant_new("(s)", TB_DEVICE_IFACE), NULL, &error);
        check_error(c, "GetAll", error, allowed);
}

static void op_open_fd(Chaos *c, Slot *s) {
        static const char *const allowed[] = { INVALID_ARGS, UNKNOWN_OBJECT, NULL };
        static const char *const modes[] = { "packet", "batch", "vnet", "bogus" };
        g_autoptr(GError) error = NULL;
        unsigned i = pick(c, FDS_PER_SLOT);
        int fd;

        if (!s->path)
                return;
        fd = tb_open_packet_fd(c->bus, s->path, tb_options("Mode", g_variant_new_string(modes[pick(c, 4)]), NULL), &error);
        check_error(c, "OpenPacketFd", error, allowed);
        if (fd < 0)
                return;
        close_fd(s, i);
        s->fds[i] = fd;
}

/* Many calls in flight at once, answered in any order. */
typedef struct Flood {
        Chaos *chaos;
        unsigned pending;
} Flood;

static void flood_reply(GObject *source, GAsyncResult *result, gpointer userdata) {
        static const char *const allowed[] = { INVALID_ARGS, UNKNOWN_OBJECT, NOT_SUPPORTED,
                                               "org.example.Tun1.Error.NoSuchDevice", NULL };
        Flood *f = userdata;
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = NULL;

        reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
        check_error(f->chaos, "a call of the flood", error, allowed);
        f->pending--;
}

static bool flood_answered(void *userdata) {
        return ((Flood *) userdata)->pending == 0;
}

static void op_flood(Chaos *c, Slot *s) {
        Flood f = { .chaos = c };

        /* The system bus allows 128 calls pending per connection. */
        for (unsigned n = 32 + pick(c, 96); n > 0; n--) {
                const char *path = s->path ?: TB_MANAGER_PATH, *iface = TB_DEVICE_IFACE, *method;
                GVariant *args;

                switch (pick(c, 4)) {
                case 0:
                        method = "SetMTU";
                        args = g_variant_new("(u)", pick(c, 2) ? 1400u : 20u);
                        break;
                case 1:
                        iface = "org.freedesktop.DBus.Properties";
                        method = "GetAll";
                        args = g_variant_new("(s)", TB_DEVICE_IFACE);
                        break;
                case 2:
                        path = TB_MANAGER_PATH;
                        iface = TB_MANAGER_IFACE;
                        method = "GetDevice";
                        args = g_variant_new("(s)", pick(c, 2) ? s->name : "tbnosuchdevice");
                        break;
                default:
                        path = TB_MANAGER_PATH;
                        iface = TB_MANAGER_IFACE;
                        method = "ListDevices";
                        args = NULL;
                        break;
                }
                if (!s->path && strcmp(iface, TB_MANAGER_IFACE) != 0) {
                        path = TB_MANAGER_PATH;
                        iface = TB_MANAGER_IFACE;
                        method = "ListDevices";
                        if (args)
                                g_variant_unref(g_variant_ref_sink(args));
                        args = NULL;
                }
                g_dbus_connection_call(c->bus, TB_BUS_NAME, path, iface, method, args, NULL,
                                       G_DBUS_CALL_FLAGS_NONE, TB_HANG_SECONDS * 1000, NULL, flood_reply, &f);
                f.pending++;
        }
        g_assert_true(tb_wait_until(flood_answered, &f));
}

/* ---- Packets -------------------------------------------------------------------------------- */

static void op_write_fd(Chaos *c, Slot *s) {
        static const uint8_t saddr[4] = { 10, 97, 0, 2 }, daddr[4] = { 10, 97, 0, 1 };
        uint8_t buf[2048], payload[1200];
        int fd = s->fds[pick(c, FDS_PER_SLOT)];
        size_t len;

        if (fd < 0)
                return;
        for (unsigned n = pick(c, 32); n > 0; n--) {
                switch (pick(c, 3)) {
                case 0: /* a real packet, as any mode's client might send it wrongly or rightly */
                        memset(payload, 'x', sizeof(payload));
                        len = packet_build_udp4(buf, saddr, daddr, 4000, 4001, payload, pick(c, sizeof(payload)));
                        break;
                case 1: /* garbage */
                        len = pick(c, sizeof(buf));
                        for (size_t i = 0; i < len; i++)
                                buf[i] = g_rand_int(c->rand);
                        break;
                default: /* batch records that do not add up, and empty messages */
                        len = pick(c, 8);
                        memset(buf, 0xff, len);
                        break;
                }
                if (send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
                    errno != EAGAIN && errno != EPIPE && errno != ECONNRESET)
                        g_error("send to a packet fd: %m");
        }
}

static void op_drain_fd(Chaos *c, Slot *s) {
        uint8_t buf[70000];
        int fd = s->fds[pick(c, FDS_PER_SLOT)];

        if (fd < 0)
                return;
        for (unsigned n = 0; n < 256; n++)
                if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
                        break;
}

static void op_close_fd(Chaos *c, Slot *s) {
        close_fd(s, pick(c, FDS_PER_SLOT));
}

/* UDP from the chaos namespace into a device that lives there and has an address. */
static void op_traffic(Chaos *c, Slot *s) {
        g_autofree char *peer = g_strdup_printf("10.97.%u.2", s->index);
        struct sockaddr_storage ss;
        uint8_t payload[1400] = {};
        socklen_t sl;
        int fd;

        if (!s->path || !s->away)
                return;
        fd = socket_in_netns(c->ns, AF_INET, SOCK_DGRAM, 0);
        if (fd < 0)
                return;
        sl = make_addr(AF_INET, peer, 5000, &ss);
        for (unsigned n = pick(c, 64); n > 0; n--)
                (void) sendto(fd, payload, pick(c, sizeof(payload)), MSG_DONTWAIT, (struct sockaddr *) &ss, sl);
        close(fd);
}

/* ---- Behind tund's back ----------------------------------------------------------------- */

static int ip_link(Chaos *c, Slot *s, const char *a, const char *b, const char *d) {
        if (s->away)
                return run_command("ip", "-n", c->ns, "link", "set", "dev", s->name, a, b, d, NULL);
        return run_command("ip", "link", "set", "dev", s->name, a, b, d, NULL);
}

static void op_link_up_down(Chaos *c, Slot *s) {
        (void) ip_link(c, s, pick(c, 2) ? "up" : "down", NULL, NULL);
}

static void op_link_mtu(Chaos *c, Slot *s) {
        static const char *const mtus[] = { "1280", "1400", "1500", "9000" };

        (void) ip_link(c, s, "mtu", mtus[pick(c, G_N_ELEMENTS(mtus))], NULL);
}

static void op_link_delete(Chaos *c, Slot *s) {
        if (!s->path)
                return;
        if (s->away)
                (void) run_command("ip", "-n", c->ns, "link", "delete", s->name, NULL);
        else
                (void) run_command("ip", "link", "delete", s->name, NULL);
        /* tund drops it on its own; the slot's fds read end-of-file, a call gets UnknownObject */
        s->doomed = true;
}

static void op_move(Chaos *c, Slot *s) {
        g_autofree char *pid = g_strdup_printf("%d", (int) getpid());
        g_autofree char *addr = g_strdup_printf("10.97.%u.1/24", s->index);

        if (!s->path)
                return;
        if (s->away) {
                if (run_command("ip", "-n", c->ns, "link", "set", "dev", s->name, "netns", pid, NULL) == 0)
                        s->away = false;
                return;
        }
        if (run_command("ip", "link", "set", "dev", s->name, "netns", c->ns, NULL) != 0)
                return;
        s->away = true;
        (void) run_command("ip", "-n", c->ns, "addr", "add", addr, "dev", s->name, NULL);
        (void) run_command("ip", "-n", c->ns, "link", "set", "dev", s->name, "up", NULL);
}

/* ---- The unprivileged attacker ------------------------------------------------------------ */

/* Every device of a slot that nothing of the storm's own removed is still tund's, under the
 * same object. */
static void assert_no_device_lost(Chaos *c, const char *after) {
        g_autoptr(GHashTable) devices = tb_list_devices(c->bus);
        for (unsigned i = 0; i < N_SLOTS; i++) {
                Slot *s = &c->slots[i];
                if (!s->path || s->doomed)
                        continue;
                const char *path = g_hash_table_lookup(devices, s->name);
                if (g_strcmp0(path, s->path) != 0)
                        g_error("device %s (%s) is gone after %s", s->name, s->path, after);
        }
}

/* A refusal the contract allows an unprivileged caller polkit says no to. */
static void check_attacker_error(Chaos *c, const char *what, bool interactive, GVariant *reply,
                                 GError *error, const char *const *also) {
        g_autofree char *name = NULL;

        c->attacks++;
        if (!error)
                g_error("the attacker's %s succeeded", what);
        name = g_dbus_error_get_remote_error(error);
        if (g_strcmp0(name, ACCESS_DENIED) == 0 ||
            (!interactive && g_strcmp0(name, INTERACTIVE_REQUIRED) == 0) ||
            g_strcmp0(name, LIMITS_EXCEEDED) == 0)
                return;
        for (const char *const *a = also; name && a && *a; a++)
                if (strcmp(name, *a) == 0)
                        return;
        g_error("the attacker's %s%s: unexpected error %s: %s", what, interactive ? " (interactive)" : "",
                name ? name : "(local)", error->message);
}

static void attacker_call(Chaos *c, Slot *s, const char *method, GVariant *args, const char *const *also) {
        bool interactive = pick(c, 2);
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = NULL;
        g_autofree char *what = g_strdup_printf("%s on %s", method, s->name);

        if (!s->path) {
                if (args)
                        g_variant_unref(g_variant_ref_sink(args));
                return;
        }
        reply = tb_caller_call(c->attacker, interactive, s->path, TB_DEVICE_IFACE, method, args, &error);
        check_attacker_error(c, what, interactive, reply, error, also);
}

/* Signals that say the device's creator (the storm's connection) left the bus. */
static void op_forge(Chaos *c, Slot *s) {
        const char *victim = g_dbus_connection_get_unique_name(c->bus);
        const char *names[] = { victim, victim, c->tund_name, tb_caller_unique_name(c->attacker) };
        const char *name = names[pick(c, G_N_ELEMENTS(names))];
        bool unicast = pick(c, 2);
        g_autoptr(GError) error = NULL;
        unsigned id;

        id = tb_caller_emit_signal(c->attacker, unicast ? c->tund_name : NULL, "/org/freedesktop/DBus",
                                   "org.freedesktop.DBus", "NameOwnerChanged",
                                   g_variant_new("(sss)", name, name, ""));
        g_autoptr(GVariant) sent G_GNUC_UNUSED = tb_caller_wait(c->attacker, id, &error);
        g_assert_no_error(error);
        c->forged++;

        /* tund has read the signal once it answers the attacker's next call. */
        g_autoptr(GVariant) pong G_GNUC_UNUSED = tb_caller_call(c->attacker, false, TB_MANAGER_PATH, "org.freedesktop.DBus.Peer",
                                                  "Ping", NULL, &error);
        g_assert_no_error(error);
        g_autofree char *after = g_strdup_printf("a forged %s NameOwnerChanged for %s", unicast ? "unicast" : "broadcast",
                                                 name);
        assert_no_device_lost(c, after);
}

static void op_attack(Chaos *c, Slot *s) {
        static const char *const unknown_object[] = { UNKNOWN_OBJECT, NULL };
        static const char *const create_also[] = { EXISTS, INVALID_ARGS, NULL };

        switch (pick(c, 8)) {
        case 0:
                attacker_call(c, s, "Delete", NULL, unknown_object);
                break;
        case 1:
                attacker_call(c, s, "SetMTU", g_variant_new("(u)", 1280u), unknown_object);
                break;
        case 2:
                attacker_call(c, s, "SetOffloads", g_variant_new_parsed("(@as [],)"), unknown_object);
                break;
        case 3:
                attacker_call(c, s, "OpenPacketFd", g_variant_new_parsed("(@a{sv} {'Mode': <'packet'>},)"),
                              unknown_object);
                break;
        case 4: {
                /* its own device, a slot's name, or one for root */
                bool interactive = pick(c, 2);
                g_autoptr(GError) error = NULL;
                g_autofree char *own = tb_ifname("atk");
                GVariant *options = pick(c, 2) ? tb_options("Owner", g_variant_new_uint32(0), NULL) : NULL;
                g_autoptr(GVariant) reply = tb_caller_call(c->attacker, interactive, TB_MANAGER_PATH, TB_MANAGER_IFACE,
                                                           "CreateDevice",
                                                           tb_create_args(pick(c, 2) ? own : s->name, options), &error);
                check_attacker_error(c, "CreateDevice", interactive, reply, error, create_also);
                break;
        }
        default:
                op_forge(c, s);
                break;
        }
}

/* ---- The run -------------------------------------------------------------------------------- */

typedef void (*Operation)(Chaos *c, Slot *s);

static const Operation operations[] = {
        op_create, op_create, op_delete, op_set_mtu, op_set_offloads, op_read_properties,
        op_flood, op_open_fd, op_open_fd, op_write_fd, op_write_fd, op_drain_fd, op_close_fd,
        op_traffic, op_traffic, op_link_up_down, op_link_mtu, op_link_delete, op_move, op_move,
        op_attack, op_attack, op_attack,
};

static unsigned count_entries(const char *dir) {
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        unsigned n = 0;

        while (d && g_dir_read_name(d))
                n++;
        return n;
}

static unsigned tund_fds(TbEnv *env) {
        g_autofree char *dir = g_strdup_printf("/proc/%d/fd", (int) tb_tund_pid(env));
        return count_entries(dir);
}

static unsigned tund_threads(TbEnv *env) {
        g_autofree char *dir = g_strdup_printf("/proc/%d/task", (int) tb_tund_pid(env));
        return count_entries(dir);
}

static bool tund_back_to(TbEnv *env, unsigned fds, unsigned threads) {
        for (unsigned i = 0; i < TB_HANG_SECONDS * 10; i++) {
                if (tund_fds(env) == fds && tund_threads(env) == threads)
                        return true;
                g_usleep(100 * 1000);
        }
        return false;
}

static void delete_everything(Chaos *c) {
        for (unsigned i = 0; i < N_SLOTS; i++) {
                op_delete(c, &c->slots[i]);
                g_assert_true(tb_wait_link_gone(c->slots[i].name));
        }
}

static guint32 chaos_seed(void) {
        const char *s = g_getenv("TUND_CHAOS_SEED");

        return s ? (guint32) g_ascii_strtoull(s, NULL, 10) : (guint32) g_get_real_time();
}

static void chaos_init(Chaos *c, TbEnv *env) {
        guint32 seed = chaos_seed();

        g_test_message("seed %u (TUND_CHAOS_SEED replays it)", seed);
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) owner = NULL;

        *c = (Chaos) {
                .bus = tb_env_bus(env),
                .rand = g_rand_new_with_seed(seed),
                .ns = chaos_ns,
                .attacker = tb_caller_new(env, tb_env_user(env, TB_ROLE_DENIED)),
        };
        owner = g_dbus_connection_call_sync(c->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                            "org.freedesktop.DBus", "GetNameOwner", g_variant_new("(s)", TB_BUS_NAME),
                                            G_VARIANT_TYPE("(s)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
        g_assert_no_error(error);
        g_variant_get(owner, "(s)", &c->tund_name);
        netns_remove(c->ns);
        g_assert_cmpint(run_command("ip", "netns", "add", c->ns, NULL), ==, 0);
        for (unsigned i = 0; i < N_SLOTS; i++) {
                g_autofree char *suffix = g_strdup_printf("x%u", i);
                c->slots[i] = (Slot) { .name = tb_ifname(suffix), .index = i };
                for (unsigned j = 0; j < FDS_PER_SLOT; j++)
                        c->slots[i].fds[j] = -1;
        }
}

static void chaos_done(Chaos *c) {
        for (unsigned i = 0; i < N_SLOTS; i++) {
                forget_device(&c->slots[i]);
                g_free(c->slots[i].name);
        }
        netns_remove(c->ns);
        g_rand_free(c->rand);
        tb_caller_free(c->attacker);
        g_free(c->tund_name);
}

static void storm(Chaos *c, TbEnv *env) {
        gint64 deadline = g_get_monotonic_time() + MAX_SECONDS * G_USEC_PER_SEC;

        for (unsigned n = 0; n < N_OPERATIONS && g_get_monotonic_time() < deadline; n++) {
                Slot *s = &c->slots[pick(c, N_SLOTS)];
                operations[pick(c, G_N_ELEMENTS(operations))](c, s);
                g_assert_cmpint(kill(tb_tund_pid(env), 0), ==, 0);
        }
        g_test_message("%u calls, %u answered with an error; the attacker made %u calls, all refused, and forged %u signals",
                       c->calls, c->errors, c->attacks, c->forged);
}

static void assert_clean_exit(int status) {
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

static void test_storm_then_clean_up(void) {
        TbEnv *env = tb_test_env();
        g_autoptr(GHashTable) left = NULL;
        unsigned fds0, threads0;
        Chaos c;

        if (!env)
                return;
        fds0 = tund_fds(env);
        threads0 = tund_threads(env);
        chaos_init(&c, env);
        storm(&c, env);

        assert_no_device_lost(&c, "the storm");

        /* Devices moved away come home for the final check of the kernel's side. */
        for (unsigned i = 0; i < N_SLOTS; i++)
                if (c.slots[i].away)
                        op_move(&c, &c.slots[i]);
        delete_everything(&c);
        left = tb_list_devices(c.bus);
        g_assert_cmpuint(g_hash_table_size(left), ==, 0);
        g_assert_true(tund_back_to(env, fds0, threads0));
        chaos_done(&c);

        /* Exits 0: under AddressSanitizer a leak would make it fail. */
        assert_clean_exit(tb_tund_stop(env));
}

/* SIGTERM in the middle of it all: tund exits cleanly, its devices go wherever they are,
 * and every packet fd reads end-of-file. */
static void test_storm_then_stop(void) {
        TbEnv *env = tb_test_env();
        Chaos c;

        if (!env)
                return;
        chaos_init(&c, env);
        storm(&c, env);
        assert_clean_exit(tb_tund_stop(env));

        for (unsigned i = 0; i < N_SLOTS; i++) {
                Slot *s = &c.slots[i];
                for (unsigned j = 0; j < FDS_PER_SLOT; j++)
                        if (s->fds[j] >= 0)
                                g_assert_true(drains_to_eof(s->fds[j], TB_HANG_SECONDS));
                g_assert_false(tb_link_exists(s->name));
                g_assert_cmpint(run_command("ip", "-n", c.ns, "link", "show", s->name, NULL), !=, 0);
        }
        chaos_done(&c);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        chaos_ns = tb_ifname("tcx");
        signal(SIGPIPE, SIG_IGN);
        g_test_add_func("/chaos/storm-then-clean-up", test_storm_then_clean_up);
        g_test_add_func("/chaos/storm-then-stop", test_storm_then_stop);
        return tb_test_run();
}
