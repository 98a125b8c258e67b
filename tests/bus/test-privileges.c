/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tund started as root, as the harness starts it, drops to what tund.service grants it: the
 * user tund, CAP_NET_ADMIN and CAP_NET_BROADCAST only, no new privileges; and still does
 * its work. --keep-root keeps root; a missing user is an error. */

#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* CAP_NET_BROADCAST (11) | CAP_NET_ADMIN (12), as /proc/PID/status prints a set. */
#define KEPT_CAPS "0000000000001800"

/* The "Key:\tvalue" lines of /proc/PID/status as a table, values stripped. */
static GHashTable *proc_status(pid_t pid) {
        g_autofree char *path = g_strdup_printf("/proc/%d/status", (int) pid);
        g_autofree char *contents = NULL;
        g_autoptr(GError) error = NULL;
        g_assert_true(g_file_get_contents(path, &contents, NULL, &error));
        g_assert_no_error(error);

        GHashTable *status = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
        for (char **l = lines; *l; l++) {
                char *colon = strchr(*l, ':');
                if (colon)
                        g_hash_table_insert(status, g_strndup(*l, colon - *l),
                                            g_strstrip(g_strdup(colon + 1)));
        }
        return status;
}

static const char *strna0(const char *s) {
        return s ? s : "(missing)";
}

static void assert_status(GHashTable *status, const char *key, const char *expected) {
        const char *value = g_hash_table_lookup(status, key);
        if (g_strcmp0(value, expected) != 0)
                g_error("/proc/PID/status of tund: %s is '%s', not '%s'", key, strna0(value), expected);
}

/* "N\tN\tN\tN": real, effective, saved and filesystem ids. */
static char *ids_line(unsigned id) {
        return g_strdup_printf("%u\t%u\t%u\t%u", id, id, id, id);
}

static void assert_only_group(GHashTable *status, gid_t gid) {
        const char *groups = g_hash_table_lookup(status, "Groups");
        g_assert_nonnull(groups);
        g_auto(GStrv) list = g_strsplit_set(groups, " \t", -1);
        for (char **g = list; *g; g++)
                if (**g && strtoul(*g, NULL, 10) != gid)
                        g_error("tund is in the groups '%s', not only %u", groups, (unsigned) gid);
}

static void assert_owned_by(const char *path, const TbUser *u) {
        struct stat st;
        g_assert_no_errno(stat(path, &st));
        if (st.st_uid != u->uid || st.st_gid != u->gid)
                g_error("%s is owned by %u:%u, not %s (%u:%u)", path, (unsigned) st.st_uid,
                        (unsigned) st.st_gid, u->name, (unsigned) u->uid, (unsigned) u->gid);
}

/* The state directory and every file in it belong to tund's user. */
static void assert_state_dir_owned_by(TbEnv *env, const TbUser *u) {
        const char *dir = tb_env_state_dir(env);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *name;
        g_assert_nonnull(d);
        assert_owned_by(dir, u);
        while ((name = g_dir_read_name(d))) {
                g_autofree char *path = g_build_filename(dir, name, NULL);
                assert_owned_by(path, u);
        }
}

/* What tund needs its capabilities for still works: a device made (TUNSETIFF), its MTU set
 * (rtnetlink), its record written, and a packet fd opened on it. */
static void assert_devices_work(TbEnv *env, const char *suffix) {
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname(suffix);
        g_autofree char *path = tb_create_ok(bus, name, tb_options(
                "Persistent", g_variant_new_boolean(TRUE),
                "MTU", g_variant_new_uint32(1400),
                NULL));
        g_assert_true(tb_link_exists(name));
        g_assert_cmpuint(tb_link_mtu(name), ==, 1400);

        g_autoptr(GError) error = NULL;
        int fd = tb_open_packet_fd(bus, path, NULL, &error);
        g_assert_no_error(error);
        g_assert_cmpint(fd, >=, 0);
        close(fd);

        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(name));
}

static void start_tund(TbEnv *env, const char *const *argv) {
        if (tb_tund_pid(env) != 0)
                g_assert_cmpint(tb_tund_stop(env), ==, 0);
        tb_tund_start_with_args(env, argv);
}

static void test_dropped(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        const TbUser *tund = tb_env_service_user(env);
        g_autoptr(GHashTable) status = proc_status(tb_tund_pid(env));
        g_autofree char *uids = ids_line(tund->uid), *gids = ids_line(tund->gid);

        assert_status(status, "Uid", uids);
        assert_status(status, "Gid", gids);
        assert_only_group(status, tund->gid);
        assert_status(status, "CapEff", KEPT_CAPS);
        assert_status(status, "CapPrm", KEPT_CAPS);
        assert_status(status, "CapBnd", KEPT_CAPS);
        assert_status(status, "CapInh", KEPT_CAPS);
        assert_status(status, "CapAmb", KEPT_CAPS);
        assert_status(status, "NoNewPrivs", "1");

        assert_devices_work(env, "tpd");
        assert_state_dir_owned_by(env, tund);
}

static void test_keep_root(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        const char *argv[] = { "--keep-root", NULL };
        start_tund(env, argv);
        g_autoptr(GHashTable) status = proc_status(tb_tund_pid(env));

        assert_status(status, "Uid", "0\t0\t0\t0");
        assert_status(status, "NoNewPrivs", "0");
        assert_devices_work(env, "tpk");

        /* The next test's tund is the usual one again. */
        g_assert_cmpint(tb_tund_stop(env), ==, 0);
}

/* A persistent device a root tund made (its record and lock root's) is managed again by a
 * tund that drops: the state directory and its files become its user's first. */
static void test_root_records_adopted(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("tpr");
        const char *argv[] = { "--keep-root", NULL };
        start_tund(env, argv);
        g_autofree char *path G_GNUC_UNUSED = tb_create_ok(bus, name, tb_options(
                "Persistent", g_variant_new_boolean(TRUE), NULL));
        int ifindex = tb_link_ifindex(name);

        start_tund(env, NULL);
        g_autofree char *new_path = tb_get_device_ok(bus, name);
        g_assert_cmpint(tb_link_ifindex(name), ==, ifindex);
        assert_state_dir_owned_by(env, tb_env_service_user(env));
        tb_delete_ok(bus, new_path);
        g_assert_true(tb_wait_link_gone(name));
}

static void test_no_such_user(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *state = g_build_filename(tb_env_dir(env), "tp-no-such-user", NULL);
        g_autofree char *state_arg = g_strconcat("--state-directory=", state, NULL);
        g_autofree char *bus_arg = g_strconcat("DBUS_SYSTEM_BUS_ADDRESS=", tb_env_address(env), NULL);
        /* Bounded, and on the test's bus, should it run after all. */
        const char *argv[] = { "timeout", "30", "env", bus_arg, tb_tund_path(),
                               "--user=tund-no-such-user", state_arg, NULL };
        g_autofree char *err = NULL;

        int status = tb_run(argv, NULL, &err);
        g_test_message("tund: %s", err);
        g_assert_cmpint(status, !=, 0);
        g_assert_cmpint(status, !=, 124);       /* timeout's: it ran */
        g_assert_nonnull(strstr(err, "User 'tund-no-such-user' does not exist"));
        /* It stopped before touching anything. */
        g_assert_false(g_file_test(state, G_FILE_TEST_EXISTS));
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/privileges/dropped", test_dropped);
        g_test_add_func("/privileges/keep-root", test_keep_root);
        g_test_add_func("/privileges/root-records-adopted", test_root_records_adopted);
        g_test_add_func("/privileges/no-such-user", test_no_such_user);
        return tb_test_run();
}
