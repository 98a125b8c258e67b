/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hostile local users against the real tund on the private bus, with real polkitd: each
 * attack runs as an unprivileged test user where that is the threat.
 *
 * - forged NameOwnerChanged (unicast to tund, to its unique name, and broadcast) naming a
 *   live creator changes nothing, nor does it end the creator's call waiting for polkit; the
 *   creator's real departure still removes its device; forged news about tund's own name
 *   (NameLost, NameOwnerChanged) change nothing either; nor do forged CheckAuthorization
 *   replies ("authorized") sent to tund while polkitd is stopped;
 * - a caller that sent its calls and then exec'd a set-user-ID root program (su) with its
 *   connection open is still the user: the uid is the bus's;
 * - CreateDevice and OpenPacketFd in a loop until LimitsExceeded, which names the limit and
 *   its value; tund's threads stay within 1 + devices + packet fds (the data plane runs one
 *   reader thread per device and one writer thread per packet fd beside the main thread),
 *   also while packet fds are opened and closed as fast as a client can;
 * - polkitd stopped (SIGSTOP) while one user floods calls that need it: another user is
 *   still answered (AccessDenied: polkit did not answer), the limits on pending checks hold,
 *   a caller leaving ends its checks and frees its user's count (the total, which the bus
 *   counts too, only when polkit answers: tund(8)), after SIGCONT everything works, and a
 *   call whose caller left before polkit answered changes nothing; with polkitd running, a
 *   user whose own agent never answers its interactive calls' authentications does not keep
 *   another user from being served;
 * - the interactive-flag rule both ways;
 * - persistent devices whose adoption fails (their owner is past max-devices-per-user) keep
 *   their records and TUNs, and are managed again on the next start; a device in another
 *   network namespace, which only its fd in the (emulated) fd store finds, too.
 *
 * Assertions are about behaviour; the only clocks are hang bounds. */

#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIMITS_EXCEEDED "org.example.Tun1.Error.LimitsExceeded"
#define PEER_IFACE "org.freedesktop.DBus.Peer"

/* tund's polkit timeout in the tests where polkitd is stopped, and how long another user's
 * call may take there before the test calls it a hang. */
#define POLKIT_TIMEOUT_SECONDS 2
#define ANSWERED_SECONDS 20

/* ---- Helpers --------------------------------------------------------------------------- */

/* tund, stopped if it runs, started again with EXTRA_ARGV (NULL: the defaults). */
static void restart_tund(TbEnv *env, const char *const *extra_argv) {
        if (tb_tund_pid(env) != 0)
                g_assert_cmpint(tb_tund_stop(env), ==, 0);
        tb_tund_start_with_args(env, extra_argv);
}

static gboolean keep_ticking(gpointer data) {
        return G_SOURCE_CONTINUE;
}

/* The message of a D-Bus error without GDBus's prefix. */
static char *error_message(const GError *error) {
        g_autoptr(GError) copy = g_error_copy(error);
        g_dbus_error_strip_remote_error(copy);
        return g_strdup(copy->message);
}

/* ERROR is LimitsExceeded and its message names LIMIT with VALUE ("max-devices-per-user=2",
 * or with a few other characters between the name and the number). */
static void assert_limit_error(const GError *error, const char *limit, unsigned value) {
        tb_assert_error(error, LIMITS_EXCEEDED);
        g_autofree char *message = error_message(error);
        for (const char *at = strstr(message, limit); at; at = strstr(at + 1, limit)) {
                const char *p = at + strlen(limit);
                for (unsigned skipped = 0; *p && !g_ascii_isdigit(*p) && skipped < 3; skipped++)
                        p++;
                char *end;
                if (g_ascii_isdigit(*p) && strtoul(p, &end, 10) == value && !g_ascii_isdigit(*end))
                        return;
        }
        g_error("LimitsExceeded does not name %s and its value %u: %s", limit, value, message);
}

/* ERROR is AccessDenied because polkit did not answer in time. */
static void assert_polkit_timeout_error(const GError *error) {
        tb_assert_error(error, TB_ACCESS_DENIED);
        g_autofree char *message = error_message(error);
        if (!strstr(message, "polkit") || !strstr(message, "not answer"))
                g_error("AccessDenied does not say that polkit did not answer: %s", message);
}

static bool is_error(const GError *error, const char *name) {
        g_autofree char *remote = error ? g_dbus_error_get_remote_error(error) : NULL;
        return g_strcmp0(remote, name) == 0;
}

/* Peer.Ping on tund as C: once answered, tund has handled every message C sent before, as
 * far as it can without C's uid, which it asks the bus for on C's first call and holds the
 * call meanwhile (see caller_warm_up()). */
static void caller_ping(TbCaller *c) {
        tb_caller_expect(c, false, TB_MANAGER_PATH, PEER_IFACE, "Ping", NULL, NULL);
}

/* Some round trips with tund as root, each one loop iteration of tund or more. */
static void root_round_trips(TbEnv *env) {
        for (int i = 0; i < 10; i++) {
                tb_call_expect(tb_env_bus(env), TB_MANAGER_PATH, PEER_IFACE, "Ping", NULL, NULL);
                g_autoptr(GHashTable) devices G_GNUC_UNUSED = tb_list_devices(tb_env_bus(env));
        }
}

static unsigned caller_create(TbCaller *c, const char *name, GVariant *options) {
        return tb_caller_send(c, false, TB_MANAGER_PATH, TB_MANAGER_IFACE, "CreateDevice",
                              tb_create_args(name, options));
}

/* CreateDevice as C: the path, or NULL and ERROR. */
static char *caller_create_path(TbCaller *c, const char *name, GVariant *options, GError **error) {
        g_autoptr(GVariant) r = tb_caller_wait(c, caller_create(c, name, options), error);
        if (!r)
                return NULL;
        char *path;
        g_variant_get(r, "(o)", &path);
        return path;
}

static char *caller_create_ok(TbCaller *c, const char *name, GVariant *options) {
        g_autoptr(GError) error = NULL;
        char *path = caller_create_path(c, name, options, &error);
        g_assert_no_error(error);
        return path;
}

/* OpenPacketFd as C; the fd stays with C. Whether it succeeded, else ERROR. */
static bool caller_open_fd(TbCaller *c, const char *path, GError **error) {
        g_autoptr(GVariant) r = tb_caller_call(c, false, path, TB_DEVICE_IFACE, "OpenPacketFd",
                                               g_variant_new("(a{sv})", NULL), error);
        return r != NULL;
}

static unsigned tund_threads(TbEnv *env) {
        g_autofree char *path = g_strdup_printf("/proc/%d/status", (int) tb_tund_pid(env));
        g_autofree char *status = NULL;
        g_assert_true(g_file_get_contents(path, &status, NULL, NULL));
        const char *line = strstr(status, "\nThreads:");
        g_assert_nonnull(line);
        return (unsigned) strtoul(line + strlen("\nThreads:"), NULL, 10);
}

/* Devices tund manages and packet fds open on them, as tund reports them. */
static void tund_counts(TbEnv *env, unsigned *ret_devices, unsigned *ret_fds) {
        GDBusConnection *bus = tb_env_bus(env);
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        GHashTableIter iter;
        gpointer path;
        unsigned fds = 0;
        g_hash_table_iter_init(&iter, devices);
        while (g_hash_table_iter_next(&iter, NULL, &path)) {
                g_autoptr(GVariant) clients = tb_get_property(bus, path, TB_DEVICE_IFACE, "Clients");
                fds += g_variant_get_uint32(clients);
        }
        *ret_devices = g_hash_table_size(devices);
        *ret_fds = fds;
}

/* The main thread, one reader per device, one writer per packet fd. */
static void assert_thread_bound(TbEnv *env) {
        unsigned devices, fds, threads = tund_threads(env);
        tund_counts(env, &devices, &fds);
        g_test_message("tund: %u threads, %u devices, %u packet fds", threads, devices, fds);
        if (threads > 1 + devices + fds)
                g_error("tund runs %u threads for %u devices and %u packet fds (bound %u)", threads,
                        devices, fds, 1 + devices + fds);
}

typedef struct ThreadWait {
        TbEnv *env;
        unsigned at_most;
} ThreadWait;

static bool threads_at_most(void *data) {
        ThreadWait *w = data;
        if (tund_threads(w->env) <= w->at_most)
                return true;
        g_usleep(20 * 1000);
        return false;
}

static bool name_gone(void *data) {
        void **args = data;
        if (!tb_name_has_owner(args[0], args[1]))
                return true;
        g_usleep(10 * 1000);
        return false;
}

/* Frees C and waits until the bus has seen it leave (so that the bus has sent tund its
 * NameOwnerChanged before anything a later caller sends). */
static void caller_leave(TbEnv *env, TbCaller *c) {
        g_autofree char *name = g_strdup(tb_caller_unique_name(c));
        tb_caller_free(c);
        void *args[] = { env, name };
        g_assert_true(tb_wait_until(name_gone, args));
}

/* Names of the records in tund's state directory. */
static GHashTable *record_files(TbEnv *env) {
        GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GDir) d = g_dir_open(tb_env_state_dir(env), 0, NULL);
        const char *name;
        while (d && (name = g_dir_read_name(d))) {
                bool hex = strlen(name) == 32;
                for (const char *p = name; hex && *p; p++)
                        hex = g_ascii_isxdigit(*p);
                if (hex)
                        g_hash_table_add(set, g_strdup(name));
        }
        return set;
}

/* Whether a record in the state directory names the device NAME. */
static bool record_names(TbEnv *env, const char *name) {
        g_autoptr(GHashTable) records = record_files(env);
        g_autofree char *line = g_strdup_printf("NAME=%s\n", name);
        g_autofree char *nl_line = g_strconcat("\n", line, NULL);
        GHashTableIter iter;
        gpointer file;
        g_hash_table_iter_init(&iter, records);
        while (g_hash_table_iter_next(&iter, &file, NULL)) {
                g_autofree char *path = g_build_filename(tb_env_state_dir(env), file, NULL);
                g_autofree char *contents = NULL;
                if (g_file_get_contents(path, &contents, NULL, NULL) &&
                    (g_str_has_prefix(contents, line) || strstr(contents, nl_line)))
                        return true;
        }
        return false;
}

/* ---- Forged NameOwnerChanged ----------------------------------------------------------- */

static void test_forged_name_owner_changed(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        TbCaller *creator = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        g_autoptr(TbCaller) forger = tb_caller_new(env, tb_env_user(env, TB_ROLE_NOBODY));
        g_autofree char *name = tb_ifname("f");
        g_autofree char *path = caller_create_ok(creator, name, NULL);
        const char *victim = tb_caller_unique_name(creator);
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) owner = g_dbus_connection_call_sync(
                bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "GetNameOwner", g_variant_new("(s)", TB_BUS_NAME), G_VARIANT_TYPE("(s)"),
                G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
        g_assert_no_error(error);
        const char *tund_unique;
        g_variant_get(owner, "(&s)", &tund_unique);

        /* Unicast to the well-known name, to the unique name, and broadcast. */
        const char *destinations[] = { TB_BUS_NAME, tund_unique, NULL };
        for (size_t i = 0; i < G_N_ELEMENTS(destinations); i++) {
                g_test_message("forged NameOwnerChanged(%s left), %s%s", victim,
                               destinations[i] ? "unicast to " : "broadcast",
                               destinations[i] ? destinations[i] : "");
                unsigned id = tb_caller_emit_signal(forger, destinations[i], "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus", "NameOwnerChanged",
                                             g_variant_new("(sss)", victim, victim, ""));
                g_autoptr(GVariant) sent G_GNUC_UNUSED = tb_caller_wait(forger, id, &error);
                g_assert_no_error(error);
                /* tund has read the forged signal once it answers the forger's next call;
                 * then it gets time for whatever it would do about it. */
                caller_ping(forger);
                root_round_trips(env);

                g_autoptr(GHashTable) devices = tb_list_devices(bus);
                g_assert_cmpstr(g_hash_table_lookup(devices, name), ==, path);
                g_assert_true(tb_link_exists(name));
        }

        /* Nor do forged news about tund's own name: it still owns it and serves. */
        struct {
                const char *destination, *member;
                GVariant *args;
        } own[] = {
                { tund_unique, "NameLost", g_variant_new("(s)", TB_BUS_NAME) },
                { TB_BUS_NAME, "NameOwnerChanged", g_variant_new("(sss)", TB_BUS_NAME, tund_unique, "") },
                { NULL, "NameOwnerChanged", g_variant_new("(sss)", TB_BUS_NAME, tund_unique, "") },
                { tund_unique, "NameOwnerChanged", g_variant_new("(sss)", tund_unique, tund_unique, "") },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(own); i++) {
                g_test_message("forged %s to %s", own[i].member, own[i].destination ? own[i].destination : "all");
                unsigned id = tb_caller_emit_signal(forger, own[i].destination, "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus", own[i].member, own[i].args);
                g_autoptr(GVariant) sent G_GNUC_UNUSED = tb_caller_wait(forger, id, &error);
                g_assert_no_error(error);
                caller_ping(forger);
                root_round_trips(env);
                g_assert_true(tb_name_has_owner(env, TB_BUS_NAME));
                g_assert_true(tb_link_exists(name));
        }

        /* The creator is still served as the owner of its device. */
        tb_caller_expect(creator, false, path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1400), NULL);
        g_assert_cmpuint(tb_link_mtu(name), ==, 1400);

        /* Its real departure removes the device. */
        tb_caller_free(creator);
        g_assert_true(tb_wait_link_gone(name));
        g_autoptr(GHashTable) after = tb_list_devices(bus);
        g_assert_false(g_hash_table_contains(after, name));
}

static void caller_warm_up(TbCaller *c, const char *root_path);
static void assert_pending(TbCaller *c, const unsigned *ids, unsigned n);

/* A forged departure does not end the creator's call waiting for polkit either. */
static void test_forged_name_owner_changed_pending_check(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *root_name = tb_ifname("fr");
        g_autofree char *root_path = tb_create_ok(bus, root_name, NULL);
        TbCaller *creator = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        g_autoptr(TbCaller) forger = tb_caller_new(env, tb_env_user(env, TB_ROLE_NOBODY));
        const char *victim = tb_caller_unique_name(creator);
        g_autofree char *name = tb_ifname("fp");
        pid_t polkitd = tb_env_polkitd_pid(env);
        g_autoptr(GError) error = NULL;

        caller_warm_up(creator, root_path);
        g_assert_no_errno(kill(polkitd, SIGSTOP));
        unsigned id = caller_create(creator, name, NULL);
        caller_ping(creator);
        g_assert_false(tb_caller_has_reply(creator, id));
        const char *destinations[] = { TB_BUS_NAME, NULL };
        for (size_t i = 0; i < G_N_ELEMENTS(destinations); i++) {
                unsigned sent_id = tb_caller_emit_signal(forger, destinations[i], "/org/freedesktop/DBus",
                                                  "org.freedesktop.DBus", "NameOwnerChanged",
                                                  g_variant_new("(sss)", victim, victim, ""));
                g_autoptr(GVariant) sent G_GNUC_UNUSED = tb_caller_wait(forger, sent_id, &error);
                g_assert_no_error(error);
        }
        caller_ping(forger);
        root_round_trips(env);
        g_assert_no_errno(kill(polkitd, SIGCONT));

        g_autoptr(GVariant) created G_GNUC_UNUSED = tb_caller_wait(creator, id, &error);
        g_assert_no_error(error);
        g_assert_true(tb_link_exists(name));
        tb_caller_free(creator);
        g_assert_true(tb_wait_link_gone(name));
        tb_delete_ok(bus, root_path);
}

/* Replies nobody asked for, sent to tund as if polkitd answered its CheckAuthorization
 * "authorized" (every reply serial a freshly started tund may have used): the bus or tund
 * must drop them (the bus logs each one it rejects), and the call waits for polkitd's real
 * answer. */
static void test_forged_polkit_reply(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        /* A fresh tund: the serial of its CheckAuthorization is a small number. */
        restart_tund(env, NULL);
        g_autofree char *root_name = tb_ifname("zr");
        g_autofree char *root_path = tb_create_ok(bus, root_name, NULL);
        g_autoptr(TbCaller) attacker = tb_caller_new(env, tb_env_user(env, TB_ROLE_NOBODY));
        g_autoptr(TbCaller) forger = tb_caller_new(env, tb_env_user(env, TB_ROLE_NOBODY));
        g_autofree char *name = tb_ifname("zf");
        pid_t polkitd = tb_env_polkitd_pid(env);
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) owner = g_dbus_connection_call_sync(
                bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "GetNameOwner", g_variant_new("(s)", TB_BUS_NAME), G_VARIANT_TYPE("(s)"),
                G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
        g_assert_no_error(error);
        const char *tund_unique;
        g_variant_get(owner, "(&s)", &tund_unique);

        caller_warm_up(attacker, root_path);
        g_assert_no_errno(kill(polkitd, SIGSTOP));
        unsigned ids[] = {
                caller_create(attacker, name, tb_options("Persistent", g_variant_new_boolean(TRUE), NULL)),
                tb_caller_send(attacker, false, root_path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1280)),
        };
        assert_pending(attacker, ids, G_N_ELEMENTS(ids));

        const char *destinations[] = { tund_unique, TB_BUS_NAME };
        for (size_t i = 0; i < G_N_ELEMENTS(destinations); i++) {
                g_test_message("forged CheckAuthorization replies to %s", destinations[i]);
                unsigned id = tb_caller_forge_replies(forger, destinations[i], 1, 1000,
                                                      g_variant_new("((bb@a{ss}))", TRUE, FALSE,
                                                                    g_variant_new_array(G_VARIANT_TYPE("{ss}"), NULL, 0)));
                g_autoptr(GVariant) sent G_GNUC_UNUSED = tb_caller_wait(forger, id, &error);
                g_clear_error(&error);  /* the bus may refuse them, or drop the forger */
                unsigned ping = tb_caller_send(forger, false, TB_MANAGER_PATH, PEER_IFACE, "Ping", NULL);
                g_autoptr(GVariant) pong G_GNUC_UNUSED = tb_caller_wait(forger, ping, &error);
                g_clear_error(&error);
                root_round_trips(env);
                assert_pending(attacker, ids, G_N_ELEMENTS(ids));
                g_assert_false(tb_link_exists(name));
                g_assert_cmpuint(tb_link_mtu(root_name), ==, 1500);
        }

        /* polkitd's real answer decides. */
        g_assert_no_errno(kill(polkitd, SIGCONT));
        for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
                g_autoptr(GVariant) r = tb_caller_wait(attacker, ids[i], &error);
                tb_assert_reply(r, error, TB_INTERACTIVE);
                g_clear_error(&error);
        }
        g_assert_false(tb_link_exists(name));
        g_assert_false(record_names(env, name));
        g_assert_cmpuint(tb_link_mtu(root_name), ==, 1500);
        tb_delete_ok(bus, root_path);
}

static void polkit_barrier(TbEnv *env);

static bool effective_uid_0(void *data) {
        GSubprocess *p = data;
        const char *id = g_subprocess_get_identifier(p);
        if (!id)
                return true;    /* exited: the caller sees why */
        g_autofree char *path = g_strdup_printf("/proc/%s/status", id);
        g_autofree char *status = NULL;
        unsigned real, effective;
        const char *uid = NULL;
        if (g_file_get_contents(path, &status, NULL, NULL))
                uid = strstr(status, "\nUid:");
        if (uid && sscanf(uid, "\nUid: %u %u", &real, &effective) == 2 && effective == 0)
                return true;
        g_usleep(10 * 1000);
        return false;
}

/* Who calls is what the bus says: a caller that sent its calls and then exec'd a
 * set-user-ID root program (su, waiting for a password) with its connection open is still
 * the user, though its process has effective uid 0 when tund handles the calls. */
static void test_exec_setuid_after_calls(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        const char *helper = g_getenv("TB_EXEC_CALLER");
        g_assert_nonnull(helper);
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *root_name = tb_ifname("xr"), *name = tb_ifname("xc");
        g_autofree char *root_path = tb_create_ok(bus, root_name, NULL);
        const TbUser *user = tb_env_user(env, TB_ROLE_NOBODY);
        g_autoptr(GError) error = NULL;

        const char *copy = tb_env_user_program(env, helper);

        /* tund handles the calls only once the sender is su. */
        pid_t tund = tb_tund_pid(env);
        g_assert_no_errno(kill(tund, SIGSTOP));
        g_autofree char *reuid = g_strdup_printf("--reuid=%u", (unsigned) user->uid);
        g_autofree char *regid = g_strdup_printf("--regid=%u", (unsigned) user->gid);
        const char *argv[] = { "setpriv", reuid, regid, "--clear-groups", "--", copy, root_path, name,
                               "/usr/bin/su", "-c", "true", "root", NULL };
        g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                                                     G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                     G_SUBPROCESS_FLAGS_STDERR_SILENCE);
        g_subprocess_launcher_setenv(l, "DBUS_SYSTEM_BUS_ADDRESS", tb_env_address(env), TRUE);
        g_autoptr(GSubprocess) p = g_subprocess_launcher_spawnv(l, argv, &error);
        g_assert_no_error(error);
        g_autoptr(GDataInputStream) out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(p));
        g_autofree char *unique = g_data_input_stream_read_line(out, NULL, NULL, &error);
        bool su_runs = unique && tb_wait_until(effective_uid_0, p) && g_subprocess_get_identifier(p);
        g_assert_no_errno(kill(tund, SIGCONT));
        if (!su_runs)
                g_error("the caller did not become su with its connection open (%s)", unique ? unique : "no bus name");
        g_test_message("%s sent its calls and is now su (effective uid 0)", unique);

        root_round_trips(env);
        polkit_barrier(env);
        root_round_trips(env);
        g_assert_true(tb_name_has_owner(env, unique));  /* su holds the connection */
        g_assert_cmpuint(tb_link_mtu(root_name), ==, 1500);
        g_assert_false(tb_link_exists(name));
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_false(g_hash_table_contains(devices, name));

        g_subprocess_force_exit(p);
        g_assert_true(g_subprocess_wait(p, NULL, &error));
        root_round_trips(env);
        g_assert_cmpuint(tb_link_mtu(root_name), ==, 1500);
        g_assert_false(tb_link_exists(name));
        tb_delete_ok(bus, root_path);
}

/* ---- Limits ---------------------------------------------------------------------------- */

static void test_devices_per_user(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        enum { LIMIT = 2, TRIES = LIMIT + 8 };
        const char *args[] = { "--max-devices-per-user=2", NULL };
        restart_tund(env, args);

        const TbUser *user = tb_env_user(env, TB_ROLE_CREATE);
        TbCaller *c = tb_caller_new(env, user);
        char *paths[TRIES] = {};
        unsigned made = 0;
        g_autoptr(GError) error = NULL;

        /* CreateDevice until LimitsExceeded. */
        for (unsigned i = 0; i < TRIES; i++) {
                g_autofree char *suffix = g_strdup_printf("d%u", i);
                g_autofree char *name = tb_ifname(suffix);
                paths[i] = caller_create_path(c, name, NULL, &error);
                if (!paths[i]) {
                        assert_limit_error(error, "max-devices-per-user", LIMIT);
                        g_clear_error(&error);
                        g_assert_false(tb_link_exists(name));
                        break;
                }
                made++;
        }
        g_assert_cmpuint(made, ==, LIMIT);
        assert_thread_bound(env);

        /* A flood of further calls, persistent ones too, all refused at once. */
        unsigned ids[16];
        for (unsigned i = 0; i < G_N_ELEMENTS(ids); i++) {
                g_autofree char *suffix = g_strdup_printf("e%u", i);
                g_autofree char *name = tb_ifname(suffix);
                ids[i] = caller_create(c, name, i % 2 ? tb_options("Persistent", g_variant_new_boolean(TRUE), NULL) : NULL);
        }
        for (unsigned i = 0; i < G_N_ELEMENTS(ids); i++) {
                g_autoptr(GVariant) r = tb_caller_wait(c, ids[i], &error);
                g_assert_null(r);
                assert_limit_error(error, "max-devices-per-user", LIMIT);
                g_clear_error(&error);
        }

        /* Another connection of the same user is the same user. */
        g_autoptr(TbCaller) c2 = tb_caller_new(env, user);
        g_autofree char *second = tb_ifname("c2");
        g_autofree char *second_path = caller_create_path(c2, second, NULL, &error);
        g_assert_null(second_path);
        assert_limit_error(error, "max-devices-per-user", LIMIT);
        g_clear_error(&error);

        /* The limit is on the Owner: one who may manage others' devices cannot give this
         * user more; for itself it may create. */
        g_autoptr(TbCaller) m = tb_caller_new(env, tb_env_user(env, TB_ROLE_MANAGE));
        g_autofree char *given = tb_ifname("g");
        g_autofree char *given_path = caller_create_path(m, given, tb_options("Owner", g_variant_new_uint32(user->uid), NULL), &error);
        g_assert_null(given_path);
        assert_limit_error(error, "max-devices-per-user", LIMIT);
        g_clear_error(&error);
        g_assert_false(tb_link_exists(given));
        g_autofree char *own = tb_ifname("m");
        g_autofree char *own_path G_GNUC_UNUSED = caller_create_ok(m, own, NULL);

        /* uid 0 is exempt. */
        char *root_paths[LIMIT + 1];
        for (unsigned i = 0; i < G_N_ELEMENTS(root_paths); i++) {
                g_autofree char *suffix = g_strdup_printf("r%u", i);
                g_autofree char *name = tb_ifname(suffix);
                root_paths[i] = tb_create_ok(bus, name, NULL);
        }
        assert_thread_bound(env);
        for (unsigned i = 0; i < G_N_ELEMENTS(root_paths); i++) {
                tb_delete_ok(bus, root_paths[i]);
                g_free(root_paths[i]);
        }

        /* The count is of devices now: one deleted, one more may be made. */
        tb_caller_expect(c, false, paths[0], TB_DEVICE_IFACE, "Delete", NULL, NULL);
        g_autofree char *again = tb_ifname("d0");
        g_assert_true(tb_wait_link_gone(again));
        g_free(paths[0]);
        paths[0] = caller_create_ok(c, again, NULL);
        g_autofree char *past = tb_ifname("x");
        g_autofree char *past_path = caller_create_path(c, past, NULL, &error);
        g_assert_null(past_path);
        assert_limit_error(error, "max-devices-per-user", LIMIT);

        /* Its devices go with it. */
        tb_caller_free(c);
        for (unsigned i = 0; i < LIMIT; i++) {
                g_autofree char *suffix = g_strdup_printf("d%u", i);
                g_autofree char *name = tb_ifname(suffix);
                g_assert_true(tb_wait_link_gone(name));
        }
        for (unsigned i = 0; i < TRIES; i++)
                g_free(paths[i]);
        restart_tund(env, NULL);
}

#define FDS_PER_DEVICE 3
#define FDS_PER_USER 5

static const char *const fd_limit_args[] = {
        "--max-packet-fds-per-device=3", "--max-packet-fds-per-user=5", NULL,
};

static void test_packet_fds_per_device(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        restart_tund(env, fd_limit_args);
        TbCaller *c = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        g_autofree char *name = tb_ifname("pa");
        g_autofree char *path = caller_create_ok(c, name, NULL);
        g_autoptr(GError) error = NULL;
        unsigned opened = 0;

        /* OpenPacketFd until LimitsExceeded, then more. */
        for (unsigned i = 0; i < FDS_PER_DEVICE + 8; i++) {
                if (caller_open_fd(c, path, &error)) {
                        g_assert_cmpuint(i, <, FDS_PER_DEVICE);
                        opened++;
                        continue;
                }
                assert_limit_error(error, "max-packet-fds-per-device", FDS_PER_DEVICE);
                g_clear_error(&error);
        }
        g_assert_cmpuint(opened, ==, FDS_PER_DEVICE);
        g_autoptr(GVariant) clients = tb_get_property(bus, path, TB_DEVICE_IFACE, "Clients");
        g_assert_cmpuint(g_variant_get_uint32(clients), ==, FDS_PER_DEVICE);
        assert_thread_bound(env);

        /* The limit is the device's: root, exempt from the per-user one, meets it too. */
        int fd = tb_open_packet_fd(bus, path, NULL, &error);
        g_assert_cmpint(fd, <, 0);
        assert_limit_error(error, "max-packet-fds-per-device", FDS_PER_DEVICE);
        g_clear_error(&error);

        /* Leaving closes its fds and removes its device: the threads go too. */
        tb_caller_free(c);
        g_assert_true(tb_wait_link_gone(name));
        unsigned devices, fds;
        tund_counts(env, &devices, &fds);
        ThreadWait w = { env, 1 + devices + fds };
        g_assert_true(tb_wait_until(threads_at_most, &w));
        restart_tund(env, NULL);
}

static void test_packet_fds_per_user(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        restart_tund(env, fd_limit_args);
        TbCaller *c = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        g_autofree char *name_a = tb_ifname("ua"), *name_b = tb_ifname("ub"), *name_c = tb_ifname("uc");
        g_autofree char *path_a = caller_create_ok(c, name_a, NULL);
        g_autofree char *path_b = caller_create_ok(c, name_b, NULL);
        g_autofree char *path_c = caller_create_ok(c, name_c, NULL);
        g_autoptr(GError) error = NULL;

        for (unsigned i = 0; i < FDS_PER_DEVICE; i++) {
                caller_open_fd(c, path_a, &error);
                g_assert_no_error(error);
        }
        /* Across devices until LimitsExceeded, then more. */
        unsigned opened = FDS_PER_DEVICE;
        for (unsigned i = 0; i < 8; i++) {
                const char *path = i % 2 ? path_b : path_c;
                if (caller_open_fd(c, path, &error)) {
                        opened++;
                        g_assert_cmpuint(opened, <=, FDS_PER_USER);
                        continue;
                }
                assert_limit_error(error, "max-packet-fds-per-user", FDS_PER_USER);
                g_clear_error(&error);
        }
        g_assert_cmpuint(opened, ==, FDS_PER_USER);
        assert_thread_bound(env);

        /* Another connection of the same user is the same user. */
        g_autoptr(TbCaller) c2 = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        g_assert_false(caller_open_fd(c2, path_c, &error));
        assert_limit_error(error, "max-packet-fds-per-user", FDS_PER_USER);
        g_clear_error(&error);

        /* Others are not held back by this user: root (exempt from the per-user limit) and a
         * user allowed to manage the devices each get more. */
        int fd = tb_open_packet_fd(bus, path_b, NULL, &error);
        g_assert_no_error(error);
        g_assert_cmpint(fd, >=, 0);
        g_autoptr(TbCaller) m = tb_caller_new(env, tb_env_user(env, TB_ROLE_MANAGE));
        caller_open_fd(m, path_c, &error);
        g_assert_no_error(error);
        caller_open_fd(m, path_a, &error);
        assert_limit_error(error, "max-packet-fds-per-device", FDS_PER_DEVICE);
        g_clear_error(&error);
        assert_thread_bound(env);
        close(fd);

        tb_caller_free(c);
        g_assert_true(tb_wait_link_gone(name_a));
        g_assert_true(tb_wait_link_gone(name_b));
        g_assert_true(tb_wait_link_gone(name_c));
        unsigned devices, fds;
        tund_counts(env, &devices, &fds);
        ThreadWait w = { env, 1 + devices + fds };
        g_assert_true(tb_wait_until(threads_at_most, &w));
        restart_tund(env, NULL);
}

/* Packet fds opened and closed as fast as a client can: at no time do more packet fds than
 * the limit open, tund's threads for closed fds end (none is left behind), and meanwhile
 * they are never more than the open ones' again: a writer whose fd closed leaves the count
 * at once and is joined by the next turn of tund's loop. */
static void test_packet_fd_churn(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        enum { CYCLES = 300 };
        restart_tund(env, fd_limit_args);
        g_autofree char *name = tb_ifname("ch");
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        unsigned opened = 0, refused = 0, most_threads = 0;
        int fds[FDS_PER_DEVICE] = { -1, -1, -1 };

        for (unsigned i = 0; i < CYCLES; i++) {
                unsigned slot = i % FDS_PER_DEVICE;
                if (fds[slot] >= 0)
                        close(fds[slot]);
                g_autoptr(GError) error = NULL;
                fds[slot] = tb_open_packet_fd(bus, path, NULL, &error);
                if (fds[slot] >= 0)
                        opened++;
                else {
                        /* The writer of a closed fd may not have seen it end yet. */
                        assert_limit_error(error, "max-packet-fds-per-device", FDS_PER_DEVICE);
                        refused++;
                }
                unsigned threads = tund_threads(env);
                most_threads = MAX(most_threads, threads);
                if (threads > 1 + 1 + 2 * FDS_PER_DEVICE)
                        g_error("%u threads for one device with at most %u packet fds open: closed fds' threads pile up",
                                threads, FDS_PER_DEVICE);
                g_autoptr(GVariant) clients = tb_get_property(bus, path, TB_DEVICE_IFACE, "Clients");
                g_assert_cmpuint(g_variant_get_uint32(clients), <=, FDS_PER_DEVICE);
        }
        g_test_message("%u cycles: %u opened, %u refused, at most %u threads (1 + 1 device + %u fds)",
                       CYCLES, opened, refused, most_threads, FDS_PER_DEVICE);
        g_assert_cmpuint(opened, >, 0);
        for (unsigned i = 0; i < FDS_PER_DEVICE; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        ThreadWait w = { env, 1 + 1 };
        g_assert_true(tb_wait_until(threads_at_most, &w));
        tb_delete_ok(bus, path);
        restart_tund(env, NULL);
}

/* A new caller's first calls wait while tund asks the bus who it is. A burst of them, sent
 * before that answer can come, each get what they get once it came. The bus lets one
 * connection have 128 calls waiting for replies, below the 256 calls of one peer tund keeps
 * waiting for its uid: the burst stays under the bus's limit. */
static void test_burst_before_uid_known(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        enum { BURST = 120 };
        g_autoptr(TbCaller) c = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        unsigned ids[BURST];
        g_autofree char *name = tb_ifname("bu");

        /* Refused for the MTU once tund knows the caller (before polkit is asked). */
        for (unsigned i = 0; i < BURST; i++)
                ids[i] = caller_create(c, name, tb_options("MTU", g_variant_new_uint32(1), NULL));
        for (unsigned i = 0; i < BURST; i++) {
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) r = tb_caller_wait(c, ids[i], &error);
                g_assert_null(r);
                if (!is_error(error, "org.freedesktop.DBus.Error.InvalidArgs"))
                        g_error("call %u of a burst of %u: %s", i, BURST, error->message);
        }
        g_assert_false(tb_link_exists(name));
}

/* ---- polkitd stopped ------------------------------------------------------------------- */

/* A call as C that needs polkit: SetMTU on root's device at PATH or CreateDevice, by turns. */
static unsigned polkit_call(TbCaller *c, const char *path, unsigned i, bool persistent) {
        if (i % 2)
                return tb_caller_send(c, false, path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1280));
        g_autofree char *suffix = g_strdup_printf("q%u", i % 10000);
        g_autofree char *name = tb_ifname(suffix);
        return caller_create(c, name, persistent ? tb_options("Persistent", g_variant_new_boolean(TRUE), NULL) : NULL);
}

/* A question to polkitd itself, answered after everything it was asked before; when
 * polkitd cannot answer, what became of it. */
static void polkit_barrier(TbEnv *env) {
        g_autoptr(GError) error = NULL;
        GVariantBuilder details;
        g_variant_builder_init(&details, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&details, "{sv}", "name",
                              g_variant_new_string(g_dbus_connection_get_unique_name(tb_env_bus(env))));
        g_autoptr(GVariant) r = g_dbus_connection_call_sync(
                tb_env_bus(env), TB_POLKIT_NAME, TB_POLKIT_PATH, TB_POLKIT_IFACE, "CheckAuthorization",
                g_variant_new("((sa{sv})sa{ss}us)", "system-bus-name", &details, TB_ACTION_CREATE, NULL, 0u, ""),
                G_VARIANT_TYPE("((bba{ss}))"), G_DBUS_CALL_FLAGS_NONE, TB_HANG_SECONDS * 1000, NULL, &error);
        if (r)
                return;
        pid_t pid = tb_env_polkitd_pid(env);
        g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int) pid);
        g_autofree char *stat = NULL;
        g_file_get_contents(path, &stat, NULL, NULL);
        g_error("polkitd (PID %d, %s) did not answer after SIGCONT: %s; it owns its name: %s", (int) pid,
                stat ? stat : "gone", error->message,
                tb_name_has_owner(env, TB_POLKIT_NAME) ? "yes" : "no");
}

/* CreateDevice as C once polkitd runs again: it first answers what it was asked before, and
 * until tund has those answers, its checks still count against max-pending-checks. */
static char *caller_create_when_polkit_back(TbEnv *env, TbCaller *c, const char *name) {
        /* polkitd answers in turn: once it answered this, it has answered tund's. */
        polkit_barrier(env);
        gint64 deadline = g_get_monotonic_time() + ANSWERED_SECONDS * G_USEC_PER_SEC;
        for (;;) {
                g_autoptr(GError) error = NULL;
                char *path = caller_create_path(c, name, NULL, &error);
                if (path)
                        return path;
                g_autofree char *message = error_message(error);
                if (!is_error(error, LIMITS_EXCEEDED) || g_get_monotonic_time() > deadline)
                        g_error("CreateDevice after polkitd runs again: %s", message);
                g_test_message("%s", message);
                g_usleep(100 * 1000);
        }
}

static void test_polkit_stalled_other_user_answered(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        const char *args[] = { "--polkit-timeout=2", "--max-pending-checks-per-user=4",
                               "--max-pending-checks=8", NULL };
        restart_tund(env, args);
        g_autofree char *root_name = tb_ifname("sr");
        g_autofree char *root_path = tb_create_ok(bus, root_name, NULL);
        TbCaller *flooder = tb_caller_new(env, tb_env_user(env, TB_ROLE_NOBODY));
        g_autoptr(TbCaller) other = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        g_autofree char *other_name = tb_ifname("sv");
        pid_t polkitd = tb_env_polkitd_pid(env);
        g_autoptr(GError) error = NULL;
        enum { MAX_FLOOD = 4000 };
        unsigned *flood = g_new(unsigned, MAX_FLOOD), sent = 0;

        g_assert_no_errno(kill(polkitd, SIGSTOP));
        while (sent < 40)
                flood[sent] = polkit_call(flooder, root_path, sent, false), sent++;
        unsigned id = caller_create(other, other_name, NULL);

        /* The flood goes on until the other user's call is answered. */
        gint64 deadline = g_get_monotonic_time() + ANSWERED_SECONDS * G_USEC_PER_SEC;
        guint tick = g_timeout_add(20, keep_ticking, NULL);
        gint64 next_burst = 0;
        while (!tb_caller_has_reply(other, id) && g_get_monotonic_time() < deadline) {
                g_main_context_iteration(NULL, TRUE);
                if (g_get_monotonic_time() < next_burst)
                        continue;
                /* A burst of 4 every 20 ms or so: bounded, yet never letting up. */
                for (unsigned i = 0; i < 4 && sent < MAX_FLOOD; i++)
                        flood[sent] = polkit_call(flooder, root_path, sent, false), sent++;
                next_burst = g_get_monotonic_time() + 20 * 1000;
        }
        g_source_remove(tick);
        /* Root needs no polkit and is answered all along. */
        g_autoptr(GHashTable) meanwhile = tb_list_devices(bus);
        g_assert_true(g_hash_table_contains(meanwhile, root_name));
        if (!tb_caller_has_reply(other, id))
                g_error("another user's CreateDevice got no answer within %d s while polkitd was stopped "
                        "and a user flooded (tund's polkit timeout: %d s)", ANSWERED_SECONDS, POLKIT_TIMEOUT_SECONDS);
        g_autoptr(GVariant) r = tb_caller_wait(other, id, &error);
        g_assert_null(r);
        assert_polkit_timeout_error(error);
        g_clear_error(&error);
        g_assert_false(tb_link_exists(other_name));

        /* Every flooding call is answered, with LimitsExceeded past the user's pending checks
         * or AccessDenied once polkit's time is up; none goes through. */
        unsigned limited = 0, timed_out = 0;
        for (unsigned i = 0; i < sent; i++) {
                g_autoptr(GVariant) fr = tb_caller_wait(flooder, flood[i], &error);
                g_assert_null(fr);
                if (is_error(error, LIMITS_EXCEEDED)) {
                        if (limited++ == 0)
                                assert_limit_error(error, "max-pending-checks-per-user", 4);
                } else {
                        assert_polkit_timeout_error(error);
                        timed_out++;
                }
                g_clear_error(&error);
        }
        g_test_message("%u flooding calls: %u LimitsExceeded, %u timed out", sent, limited, timed_out);
        g_assert_cmpuint(limited, >, 0);
        g_assert_cmpuint(tb_link_mtu(root_name), ==, 1500);
        g_free(flood);

        /* The flooder leaves; polkitd goes on: everything works again. */
        caller_leave(env, flooder);
        g_assert_no_errno(kill(polkitd, SIGCONT));
        g_autofree char *path = caller_create_when_polkit_back(env, other, other_name);
        g_assert_true(tb_link_exists(other_name));
        g_autoptr(TbCaller) nobody = tb_caller_new(env, tb_env_user(env, TB_ROLE_NOBODY));
        tb_caller_expect(nobody, false, root_path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1280), TB_INTERACTIVE);
        tb_delete_ok(bus, path);
        tb_delete_ok(bus, root_path);
        restart_tund(env, NULL);
}

/* C's calls IDS[0..N) have no reply once C's next call is answered: tund holds them. */
static void assert_pending(TbCaller *c, const unsigned *ids, unsigned n) {
        caller_ping(c);
        for (unsigned i = 0; i < n; i++)
                if (tb_caller_has_reply(c, ids[i])) {
                        g_autoptr(GError) error = NULL;
                        g_autoptr(GVariant) r G_GNUC_UNUSED = tb_caller_wait(c, ids[i], &error);
                        g_error("a call that should wait for polkit was answered: %s",
                                error ? error->message : "success");
                }
}

/* C's call ID past a limit of pending checks is refused at once, before C's next call. */
static void assert_refused_at_once(TbCaller *c, unsigned id, const char *limit, unsigned value) {
        g_autoptr(GError) error = NULL;
        caller_ping(c);
        g_assert_true(tb_caller_has_reply(c, id));
        g_autoptr(GVariant) r = tb_caller_wait(c, id, &error);
        g_assert_null(r);
        assert_limit_error(error, limit, value);
}

/* Makes tund learn C's uid (a call needing polkit, answered while polkitd runs; allowed,
 * it changes nothing), so that
 * later calls of C are handled in the order sent: tund holds a caller's calls while it asks
 * the bus for the uid, but not Peer.Ping, by which the tests tell what tund has handled. */
static void caller_warm_up(TbCaller *c, const char *root_path) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = tb_caller_call(c, false, root_path, TB_DEVICE_IFACE, "SetMTU",
                                               g_variant_new("(u)", 1500), &error);
        g_assert_true(r || error);
}

/* C's calls (SetMTU on root's device at ROOT_PATH when FIRST is odd, else CreateDevice)
 * until PER_USER of them are pending; calls refused with LimitsExceeded do not
 * count (tund may still be confirming that others left); false if that lasts. */
static bool fill_pending(TbCaller *c, const char *root_path, unsigned first, unsigned per_user,
                         unsigned *ids) {
        gint64 deadline = g_get_monotonic_time() + ANSWERED_SECONDS * G_USEC_PER_SEC;
        unsigned pending = 0;
        for (unsigned attempt = 0; pending < per_user; attempt++) {
                unsigned id = polkit_call(c, root_path, first + 2 * attempt, false);
                caller_ping(c);
                if (!tb_caller_has_reply(c, id)) {
                        ids[pending++] = id;
                        continue;
                }
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) r = tb_caller_wait(c, id, &error);
                g_assert_null(r);
                tb_assert_error(error, LIMITS_EXCEEDED);
                if (g_get_monotonic_time() > deadline) {
                        g_autofree char *message = error_message(error);
                        g_test_message("still refused: %s", message);
                        return false;
                }
                g_usleep(100 * 1000);
        }
        return true;
}

static void test_polkit_stalled_leaving_frees_checks(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        enum { PER_USER = 4 };
        /* polkit's time is not up during this test: what frees checks is callers leaving.
         * The total, which only polkit's answers free, is not reached here (see
         * total-held-until-answered). */
        const char *args[] = { "--polkit-timeout=600", "--max-pending-checks-per-user=4",
                               "--max-pending-checks=16", NULL };
        restart_tund(env, args);
        g_autofree char *root_name = tb_ifname("lr");
        g_autofree char *root_path = tb_create_ok(bus, root_name, NULL);
        TbCaller *flooder = tb_caller_new(env, tb_env_user(env, TB_ROLE_NOBODY));
        TbCaller *leaver = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        TbCaller *manager = tb_caller_new(env, tb_env_user(env, TB_ROLE_MANAGE));
        g_autoptr(TbCaller) n = tb_caller_new(env, tb_env_user(env, TB_ROLE_NOBODY));
        g_autoptr(TbCaller) other = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        g_autofree char *kept_name = tb_ifname("lk");
        g_autofree char *kept_path = tb_create_ok(bus, kept_name, NULL);
        TbCaller *all[] = { flooder, leaver, manager, n, other };
        for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
                caller_warm_up(all[i], root_path);
        pid_t polkitd = tb_env_polkitd_pid(env);
        g_autoptr(GError) error = NULL;
        unsigned ids[PER_USER];

        g_assert_no_errno(kill(polkitd, SIGSTOP));

        /* A persistent CreateDevice that polkit would allow, whose caller leaves before the
         * answer. */
        g_autofree char *left_name = tb_ifname("ll");
        unsigned left_id = caller_create(leaver, left_name, tb_options("Persistent", g_variant_new_boolean(TRUE), NULL));
        assert_pending(leaver, &left_id, 1);
        caller_leave(env, leaver);
        /* The same for changes to root's devices that polkit would allow. */
        unsigned manager_ids[] = {
                tb_caller_send(manager, false, root_path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1400)),
                tb_caller_send(manager, false, kept_path, TB_DEVICE_IFACE, "Delete", NULL),
        };
        assert_pending(manager, manager_ids, G_N_ELEMENTS(manager_ids));
        caller_leave(env, manager);

        /* A user fills its limit, and leaves: its checks end, the user's count drops. */
        for (unsigned i = 0; i < PER_USER; i++)
                ids[i] = polkit_call(flooder, root_path, i, true);
        assert_pending(flooder, ids, PER_USER);
        assert_refused_at_once(flooder, polkit_call(flooder, root_path, PER_USER, true), "max-pending-checks-per-user", PER_USER);
        /* Another connection of the same user is the same user. */
        assert_refused_at_once(n, polkit_call(n, root_path, PER_USER + 2, false), "max-pending-checks-per-user", PER_USER);
        caller_leave(env, flooder);
        if (!fill_pending(n, root_path, 200, PER_USER, ids))
                g_error("the pending checks of a user's caller that left were not freed: the user's next calls are still refused");
        assert_refused_at_once(n, polkit_call(n, root_path, 300, false), "max-pending-checks-per-user", PER_USER);

        /* Another user waits too. */
        g_autofree char *other_name = tb_ifname("lo");
        unsigned other_id = caller_create(other, other_name, NULL);
        assert_pending(other, &other_id, 1);

        /* polkitd answers everything it was asked, those who left included. */
        g_assert_no_errno(kill(polkitd, SIGCONT));
        for (unsigned i = 0; i < PER_USER; i++) {
                g_autoptr(GVariant) r = tb_caller_wait(n, ids[i], &error);
                tb_assert_reply(r, error, TB_INTERACTIVE);
                g_clear_error(&error);
        }
        g_autoptr(GVariant) created = tb_caller_wait(other, other_id, &error);
        g_assert_no_error(error);
        g_assert_true(tb_link_exists(other_name));

        /* All works: a new round through polkit, which polkitd answers after all of the
         * above; then nothing was done for the callers that left. */
        g_autofree char *later = tb_ifname("lh");
        g_autofree char *later_path = caller_create_ok(other, later, NULL);
        tb_caller_expect(n, false, root_path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1280), TB_INTERACTIVE);
        root_round_trips(env);
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_false(g_hash_table_contains(devices, left_name));
        g_assert_false(tb_link_exists(left_name));
        g_assert_false(record_names(env, left_name));
        const char *flood_suffixes[] = { "q0", "q2", "q4", NULL };
        for (const char *const *suffix = flood_suffixes; *suffix; suffix++) {
                g_autofree char *flood_name = tb_ifname(*suffix);
                g_assert_false(tb_link_exists(flood_name));
                g_assert_false(record_names(env, flood_name));
        }
        g_assert_cmpuint(tb_link_mtu(root_name), ==, 1500);
        g_assert_true(tb_link_exists(kept_name));
        g_assert_cmpstr(g_hash_table_lookup(devices, kept_name), ==, kept_path);

        const char *other_path;
        g_variant_get(created, "(&o)", &other_path);
        tb_delete_ok(bus, other_path);
        tb_delete_ok(bus, later_path);
        tb_delete_ok(bus, kept_path);
        tb_delete_ok(bus, root_path);
        restart_tund(env, NULL);
}

/* Two users fill the total of pending checks and leave. Their checks end for them, but the
 * bus counts tund's calls to polkit until polkit answers, and so does max-pending-checks
 * (tund(8)): another user is refused at once meanwhile, never left waiting; once polkitd
 * answers, the total drops and that user's calls go through polkit again. */
static void test_polkit_stalled_total_held_until_answered(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        enum { PER_USER = 4, TOTAL = 8 };
        const char *args[] = { "--polkit-timeout=600", "--max-pending-checks-per-user=4",
                               "--max-pending-checks=8", NULL };
        restart_tund(env, args);
        g_autofree char *root_name = tb_ifname("tr");
        g_autofree char *root_path = tb_create_ok(bus, root_name, NULL);
        TbCaller *f1 = tb_caller_new(env, tb_env_user(env, TB_ROLE_NOBODY));
        TbCaller *f2 = tb_caller_new(env, tb_env_user(env, TB_ROLE_DENIED));
        g_autoptr(TbCaller) other = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        TbCaller *all[] = { f1, f2, other };
        for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
                caller_warm_up(all[i], root_path);
        pid_t polkitd = tb_env_polkitd_pid(env);
        unsigned ids[PER_USER];

        g_assert_no_errno(kill(polkitd, SIGSTOP));
        for (unsigned i = 0; i < PER_USER; i++)
                ids[i] = polkit_call(f1, root_path, i, true);
        assert_pending(f1, ids, PER_USER);
        for (unsigned i = 0; i < PER_USER; i++)
                ids[i] = polkit_call(f2, root_path, 100 + i, true);
        assert_pending(f2, ids, PER_USER);
        g_autofree char *other_name = tb_ifname("to");
        assert_refused_at_once(other, caller_create(other, other_name, NULL), "max-pending-checks", TOTAL);

        caller_leave(env, f1);
        caller_leave(env, f2);
        assert_refused_at_once(other, caller_create(other, other_name, NULL), "max-pending-checks", TOTAL);

        g_assert_no_errno(kill(polkitd, SIGCONT));
        g_autofree char *path = caller_create_when_polkit_back(env, other, other_name);
        g_assert_true(tb_link_exists(other_name));
        const char *flood_suffixes[] = { "q0", "q2", "q100", "q102", NULL };
        for (const char *const *suffix = flood_suffixes; *suffix; suffix++) {
                g_autofree char *flood_name = tb_ifname(*suffix);
                g_assert_false(tb_link_exists(flood_name));
                g_assert_false(record_names(env, flood_name));
        }
        tb_delete_ok(bus, path);
        tb_delete_ok(bus, root_path);
        restart_tund(env, NULL);
}

/* ---- An agent that never answers ------------------------------------------------------ */

static const char stall_agent_xml[] =
        "<node><interface name='org.freedesktop.PolicyKit1.AuthenticationAgent'>"
        "<method name='BeginAuthentication'>"
        "<arg type='s' name='action_id' direction='in'/><arg type='s' name='message' direction='in'/>"
        "<arg type='s' name='icon_name' direction='in'/><arg type='a{ss}' name='details' direction='in'/>"
        "<arg type='s' name='cookie' direction='in'/><arg type='a(sa{sv})' name='identities' direction='in'/>"
        "</method>"
        "<method name='CancelAuthentication'><arg type='s' name='cookie' direction='in'/></method>"
        "</interface></node>";
#define STALL_AGENT_PATH "/org/example/Tun1Tests/StallingAgent"

/* What any user may run for its own processes (pkttyagent --process does): an agent that
 * takes every authentication polkitd begins and never ends it. */
typedef struct StallAgent {
        GDBusConnection *bus;
        GDBusNodeInfo *info;
        guint registration;
        GVariant *subject;
        GPtrArray *held;        /* GDBusMethodInvocation */
} StallAgent;

static void stall_agent_method(GDBusConnection *bus, const char *sender, const char *path,
                               const char *iface, const char *method, GVariant *params,
                               GDBusMethodInvocation *invocation, gpointer data) {
        StallAgent *a = data;
        if (strcmp(method, "BeginAuthentication") == 0)
                g_ptr_array_add(a->held, invocation);
        else
                g_dbus_method_invocation_return_value(invocation, NULL);
}

static void stall_agent_start(StallAgent *a, TbEnv *env, TbCaller *c, const TbUser *user) {
        static const GDBusInterfaceVTable vtable = { stall_agent_method };
        g_autoptr(GError) error = NULL;
        *a = (StallAgent) { .bus = tb_env_bus(env), .held = g_ptr_array_new() };
        a->info = g_dbus_node_info_new_for_xml(stall_agent_xml, &error);
        g_assert_no_error(error);
        a->registration = g_dbus_connection_register_object(a->bus, STALL_AGENT_PATH, a->info->interfaces[0],
                                                            &vtable, a, NULL, &error);
        g_assert_no_error(error);
        GVariantBuilder b;
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", "pid", g_variant_new_uint32(tb_caller_pid(c)));
        g_variant_builder_add(&b, "{sv}", "start-time", g_variant_new_uint64(0));
        g_variant_builder_add(&b, "{sv}", "uid", g_variant_new_int32(user->uid));
        a->subject = g_variant_ref_sink(g_variant_new("(sa{sv})", "unix-process", &b));
        /* uid 0 registers it here on the user's behalf; polkitd lets a user do the same. */
        g_autoptr(GVariant) r G_GNUC_UNUSED = g_dbus_connection_call_sync(
                a->bus, TB_POLKIT_NAME, TB_POLKIT_PATH, TB_POLKIT_IFACE, "RegisterAuthenticationAgent",
                g_variant_new("(@(sa{sv})ss)", a->subject, "C", STALL_AGENT_PATH),
                NULL, G_DBUS_CALL_FLAGS_NONE, TB_HANG_SECONDS * 1000, NULL, &error);
        g_assert_no_error(error);
}

/* Ends every authentication it holds (dismissed) and goes. */
static void stall_agent_stop(StallAgent *a) {
        g_autoptr(GError) error = NULL;
        for (unsigned i = 0; i < a->held->len; i++)
                g_dbus_method_invocation_return_dbus_error(a->held->pdata[i], "org.freedesktop.PolicyKit1.Error.Cancelled",
                                                           "Dismissed by the test");
        g_ptr_array_unref(a->held);
        g_autoptr(GVariant) r G_GNUC_UNUSED = g_dbus_connection_call_sync(
                a->bus, TB_POLKIT_NAME, TB_POLKIT_PATH, TB_POLKIT_IFACE, "UnregisterAuthenticationAgent",
                g_variant_new("(@(sa{sv})s)", a->subject, STALL_AGENT_PATH),
                NULL, G_DBUS_CALL_FLAGS_NONE, TB_HANG_SECONDS * 1000, NULL, &error);
        g_assert_no_error(error);
        g_dbus_connection_unregister_object(a->bus, a->registration);
        g_dbus_node_info_unref(a->info);
        g_variant_unref(a->subject);
}

/* With polkitd itself running, a user whose own agent never answers makes interactive calls,
 * round after round, each refused once polkit's time is up: it stays within its limit, and
 * another user's call is served all along (API.md: nothing a caller at its limits does slows
 * other callers). polkitd keeps those checks open for as long as the agent holds them. */
static void test_stalling_agent(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        enum { PER_USER = 2, TOTAL = 4, ROUNDS = 3 };
        const char *args[] = { "--polkit-timeout=2", "--max-pending-checks-per-user=2",
                               "--max-pending-checks=4", NULL };
        restart_tund(env, args);
        g_autofree char *root_name = tb_ifname("sa");
        g_autofree char *root_path = tb_create_ok(bus, root_name, NULL);
        const TbUser *user = tb_env_user(env, TB_ROLE_NOBODY);
        g_autoptr(TbCaller) attacker = tb_caller_new(env, user);
        g_autoptr(TbCaller) other = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        caller_warm_up(attacker, root_path);
        caller_warm_up(other, root_path);
        StallAgent agent;
        stall_agent_start(&agent, env, attacker, user);
        g_autoptr(GError) error = NULL;

        /* Each round's calls wait for polkit until its time is up, then the next round. */
        unsigned limited = 0;
        for (unsigned round = 0; round < ROUNDS; round++) {
                unsigned ids[PER_USER];
                for (unsigned i = 0; i < PER_USER; i++)
                        ids[i] = tb_caller_send(attacker, true, root_path, TB_DEVICE_IFACE, "SetMTU",
                                                g_variant_new("(u)", 1280));
                for (unsigned i = 0; i < PER_USER; i++) {
                        g_autoptr(GVariant) r = tb_caller_wait(attacker, ids[i], &error);
                        g_assert_null(r);
                        if (is_error(error, LIMITS_EXCEEDED))
                                limited++;
                        else
                                assert_polkit_timeout_error(error);
                        g_clear_error(&error);
                }
                g_test_message("round %u: the agent holds %u authentications", round, agent.held->len);
        }
        g_test_message("the agent holds %u authentications of calls tund refused (%u at once), max-pending-checks=%u",
                       agent.held->len, limited, TOTAL);

        g_autofree char *other_name = tb_ifname("so");
        g_autofree char *other_path = caller_create_path(other, other_name, NULL, &error);
        if (!other_path) {
                g_autofree char *message = error_message(error);
                g_error("another user's CreateDevice was refused while a user's agent held %u "
                        "authentications of calls tund had answered already: %s", agent.held->len, message);
        }
        g_assert_true(tb_link_exists(other_name));
        g_assert_cmpuint(tb_link_mtu(root_name), ==, 1500);

        stall_agent_stop(&agent);
        tb_delete_ok(bus, other_path);
        tb_delete_ok(bus, root_path);
        restart_tund(env, NULL);
}

/* ---- The interactive flag -------------------------------------------------------------- */

/* InteractiveAuthorizationRequired answers only a call without the flag; with it, polkit's
 * challenge (no agent runs here) is AccessDenied. A plain no is AccessDenied both ways. */
static void test_interactive_flag(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *root_name = tb_ifname("ir");
        g_autofree char *root_path = tb_create_ok(bus, root_name, NULL);
        g_autofree char *name = tb_ifname("in");
        const struct {
                TbRole role;
                TbAnswer answer;
                const char *without_flag, *with_flag;
        } cases[] = {
                { TB_ROLE_NOBODY, TB_ANSWER_CHALLENGE, TB_INTERACTIVE, TB_ACCESS_DENIED },
                { TB_ROLE_DENIED, TB_ANSWER_NO, TB_ACCESS_DENIED, TB_ACCESS_DENIED },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autoptr(TbCaller) c = tb_caller_new(env, tb_env_user(env, cases[i].role));
                for (int interactive = 0; interactive <= 1; interactive++) {
                        const char *expected = interactive ? cases[i].with_flag : cases[i].without_flag;
                        g_assert_cmpint(tb_polkit_answer(env, tb_caller_unique_name(c), TB_ACTION_CREATE, interactive), ==, cases[i].answer);
                        g_assert_cmpint(tb_polkit_answer(env, tb_caller_unique_name(c), TB_ACTION_MANAGE, interactive), ==, cases[i].answer);
                        g_test_message("%s, %s the flag: %s", tb_env_user(env, cases[i].role)->name,
                                       interactive ? "with" : "without", expected);
                        tb_caller_expect(c, interactive, TB_MANAGER_PATH, TB_MANAGER_IFACE, "CreateDevice",
                                         tb_create_args(name, NULL), expected);
                        g_assert_false(tb_link_exists(name));
                        tb_caller_expect(c, interactive, root_path, TB_DEVICE_IFACE, "SetMTU",
                                         g_variant_new("(u)", 1280), expected);
                        g_assert_cmpuint(tb_link_mtu(root_name), ==, 1500);
                }
        }

        /* Allowed is allowed either way. */
        g_autoptr(TbCaller) c = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        for (int interactive = 0; interactive <= 1; interactive++) {
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) r = tb_caller_call(c, interactive, TB_MANAGER_PATH, TB_MANAGER_IFACE,
                                                       "CreateDevice", tb_create_args(name, NULL), &error);
                g_assert_no_error(error);
                const char *path;
                g_variant_get(r, "(&o)", &path);
                tb_delete_ok(bus, path);
                g_assert_true(tb_wait_link_gone(name));
        }
        tb_delete_ok(bus, root_path);
}

/* ---- Adoption past a limit ------------------------------------------------------------- */

static void test_adoption_past_limit_kept(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        const TbUser *owner = tb_env_user(env, TB_ROLE_NOBODY);
        enum { N = 2 };
        char *names[N], *root_name = tb_ifname("ar");
        int ifindexes[N];

        for (unsigned i = 0; i < N; i++) {
                g_autofree char *suffix = g_strdup_printf("a%u", i);
                names[i] = tb_ifname(suffix);
                g_autofree char *path G_GNUC_UNUSED = tb_create_ok(bus, names[i], tb_options(
                        "Persistent", g_variant_new_boolean(TRUE),
                        "Owner", g_variant_new_uint32(owner->uid), NULL));
                ifindexes[i] = tb_link_ifindex(names[i]);
        }
        g_autofree char *root_path G_GNUC_UNUSED = tb_create_ok(bus, root_name, tb_options("Persistent", g_variant_new_boolean(TRUE), NULL));
        g_autoptr(GHashTable) records = record_files(env);
        g_assert_cmpuint(g_hash_table_size(records), >=, N + 1);

        /* Their owner may have no device now: they are not managed, but stay. */
        const char *args[] = { "--max-devices-per-user=0", NULL };
        restart_tund(env, args);
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        for (unsigned i = 0; i < N; i++) {
                g_assert_false(g_hash_table_contains(devices, names[i]));
                g_assert_cmpint(tb_link_ifindex(names[i]), ==, ifindexes[i]);
        }
        g_assert_true(g_hash_table_contains(devices, root_name));       /* uid 0 is exempt */
        g_autoptr(GHashTable) records_kept = record_files(env);
        tb_assert_sets_equal(records_kept, records);
        g_autoptr(TbCaller) c = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        g_autofree char *refused = tb_ifname("ax");
        g_autoptr(GError) error = NULL;
        g_autofree char *refused_path = caller_create_path(c, refused, NULL, &error);
        g_assert_null(refused_path);
        assert_limit_error(error, "max-devices-per-user", 0);

        /* The next start with room for them manages them again. */
        restart_tund(env, NULL);
        g_autoptr(GHashTable) again = tb_list_devices(bus);
        g_autoptr(TbCaller) o = tb_caller_new(env, owner);
        for (unsigned i = 0; i < N; i++) {
                const char *path = g_hash_table_lookup(again, names[i]);
                if (!path)
                        g_error("%s was not managed again after a start with room for it", names[i]);
                g_assert_cmpint(tb_link_ifindex(names[i]), ==, ifindexes[i]);
                g_autoptr(GVariant) uid = tb_get_property(bus, path, TB_DEVICE_IFACE, "Owner");
                g_assert_cmpuint(g_variant_get_uint32(uid), ==, owner->uid);
                tb_caller_expect(o, false, path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1300), NULL);
                g_assert_cmpuint(tb_link_mtu(names[i]), ==, 1300);
                tb_caller_expect(o, false, path, TB_DEVICE_IFACE, "Delete", NULL, NULL);
                g_assert_true(tb_wait_link_gone(names[i]));
                g_free(names[i]);
        }
        tb_delete_ok(bus, g_hash_table_lookup(again, root_name));
        g_assert_true(tb_wait_link_gone(root_name));
        g_free(root_name);
        g_autoptr(GHashTable) records_left = record_files(env);
        g_assert_cmpuint(g_hash_table_size(records_left), ==, 0);
}

/* The same through the fd store, for a device that only the stored fd finds again: moved to
 * another network namespace. Its adoption fails past the limit; the stored fd and the record
 * stay, and the next start with room manages it again. */
static void test_stored_fd_adoption_past_limit_kept(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        const TbUser *owner = tb_env_user(env, TB_ROLE_NOBODY);
        g_autofree char *name = tb_ifname("sf"), *ns = tb_ifname("sns");

        tb_tund_keep_fd_store(env);
        g_autofree char *path G_GNUC_UNUSED = tb_create_ok(bus, name, tb_options(
                "Persistent", g_variant_new_boolean(TRUE),
                "Owner", g_variant_new_uint32(owner->uid), NULL));
        int ifindex = tb_link_ifindex(name);
        const char *add_ns[] = { "ip", "netns", "add", ns, NULL };
        const char *move[] = { "ip", "link", "set", name, "netns", ns, NULL };
        const char *show[] = { "ip", "-n", ns, "-o", "link", "show", name, NULL };
        const char *del_ns[] = { "ip", "netns", "delete", ns, NULL };
        g_assert_cmpint(tb_run(add_ns, NULL, NULL), ==, 0);
        g_assert_cmpint(tb_run(move, NULL, NULL), ==, 0);
        g_assert_false(tb_link_exists(name));
        g_autoptr(GHashTable) records = record_files(env);
        g_autoptr(GHashTable) stored = tb_tund_fd_store_names(env);
        g_assert_cmpuint(g_hash_table_size(records), ==, 1);
        tb_assert_sets_equal(stored, records);

        const char *args[] = { "--max-devices-per-user=0", NULL };
        restart_tund(env, args);
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_false(g_hash_table_contains(devices, name));
        g_autoptr(GHashTable) records_kept = record_files(env);
        g_autoptr(GHashTable) stored_kept = tb_tund_fd_store_names(env);
        tb_assert_sets_equal(records_kept, records);
        tb_assert_sets_equal(stored_kept, records);
        g_assert_cmpint(tb_run(show, NULL, NULL), ==, 0);

        restart_tund(env, NULL);
        g_autoptr(GHashTable) again = tb_list_devices(bus);
        const char *again_path = g_hash_table_lookup(again, name);
        if (!again_path)
                g_error("%s (in namespace %s) was not managed again from its stored fd after a start with room for it", name, ns);
        g_autoptr(GVariant) uid = tb_get_property(bus, again_path, TB_DEVICE_IFACE, "Owner");
        g_assert_cmpuint(g_variant_get_uint32(uid), ==, owner->uid);
        g_test_message("%s was ifindex %d here, managed again in %s", name, ifindex, ns);
        g_autoptr(TbCaller) o = tb_caller_new(env, owner);
        tb_caller_expect(o, false, again_path, TB_DEVICE_IFACE, "Delete", NULL, NULL);
        g_autofree char *out = NULL;
        g_assert_cmpint(tb_run(show, &out, NULL), !=, 0);
        g_autoptr(GHashTable) records_left = record_files(env);
        g_autoptr(GHashTable) stored_left = tb_tund_fd_store_names(env);
        g_assert_cmpuint(g_hash_table_size(records_left), ==, 0);
        g_assert_cmpuint(g_hash_table_size(stored_left), ==, 0);
        g_assert_cmpint(tb_run(del_ns, NULL, NULL), ==, 0);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/attack/forged-name-owner-changed", test_forged_name_owner_changed);
        g_test_add_func("/attack/forged-name-owner-changed-pending-check", test_forged_name_owner_changed_pending_check);
        g_test_add_func("/attack/limits/devices-per-user", test_devices_per_user);
        g_test_add_func("/attack/limits/packet-fds-per-device", test_packet_fds_per_device);
        g_test_add_func("/attack/limits/packet-fds-per-user", test_packet_fds_per_user);
        g_test_add_func("/attack/limits/packet-fd-churn", test_packet_fd_churn);
        g_test_add_func("/attack/limits/burst-before-uid-known", test_burst_before_uid_known);
        g_test_add_func("/attack/polkit-stalled/other-user-answered", test_polkit_stalled_other_user_answered);
        g_test_add_func("/attack/polkit-stalled/leaving-frees-checks", test_polkit_stalled_leaving_frees_checks);
        g_test_add_func("/attack/polkit-stalled/total-held-until-answered", test_polkit_stalled_total_held_until_answered);
        g_test_add_func("/attack/polkit-stalled/agent-that-never-answers", test_stalling_agent);
        g_test_add_func("/attack/forged-polkit-reply", test_forged_polkit_reply);
        g_test_add_func("/attack/exec-setuid-after-calls", test_exec_setuid_after_calls);
        g_test_add_func("/attack/interactive-flag", test_interactive_flag);
        g_test_add_func("/attack/adoption-past-limit-kept", test_adoption_past_limit_kept);
        g_test_add_func("/attack/stored-fd-adoption-past-limit-kept", test_stored_fd_adoption_past_limit_kept);
        return tb_test_run();
}
