/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The private system bus, polkitd, and the files and users the tests install. */

#include "harness-private.h"

#include <glib-unix.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>


bool tb_can_run(void) {
        if (geteuid() != 0) {
                g_test_skip("bus tests need root (TUN devices, users, polkit files); not root");
                return false;
        }
        if (!tb_tund_path()) {
                g_test_skip("tund is not built (TUND is not set)");
                return false;
        }
        if (access("/dev/net/tun", R_OK | W_OK) < 0) {
                g_test_skip("/dev/net/tun is not usable");
                return false;
        }
        g_autofree char *dbus_daemon = g_find_program_in_path("dbus-daemon");
        if (access(POLKITD, X_OK) < 0 || !dbus_daemon) {
                g_test_skip("dbus-daemon or polkitd is not installed");
                return false;
        }
        return true;
}

char *tb_ifname(const char *suffix) {
        char *name = g_strdup_printf("tb%u%s", (unsigned) getpid(), suffix);
        g_assert_cmpuint(strlen(name), <=, 15);
        return name;
}

void tb_env_write_pids(TbEnv *env) {
        g_autoptr(GString) s = g_string_new(NULL);
        GSubprocess *procs[] = { env->tund, env->netns_helper, env->polkitd, env->dbus };
        for (size_t i = 0; i < G_N_ELEMENTS(procs); i++)
                if (procs[i] && g_subprocess_get_identifier(procs[i]))
                        g_string_append_printf(s, "%s\n", g_subprocess_get_identifier(procs[i]));
        for (unsigned i = 0; i < env->callers->len; i++)
                g_string_append_printf(s, "%d\n", (int) tb_caller_pid(env->callers->pdata[i]));
        g_autofree char *path = g_build_filename(env->dir, "pids", NULL);
        g_assert_true(g_file_set_contents(path, s->str, -1, NULL));
}

static void write_bus_config(TbEnv *env) {
        g_autofree char *policy_dir = g_build_filename(env->dir, "system.d", NULL);
        g_autofree char *project_policy = tb_source_path("dbus/org.example.Tun1.conf");
        g_autofree char *policy_copy = g_build_filename(policy_dir, "org.example.Tun1.conf", NULL);
        g_autofree char *contents = NULL;
        g_autoptr(GError) error = NULL;

        g_autofree char *services_dir = g_build_filename(env->dir, "services", NULL);

        g_assert_no_errno(mkdir(policy_dir, 0755));
        g_assert_no_errno(mkdir(services_dir, 0755));
        if (g_file_get_contents(project_policy, &contents, NULL, &error))
                g_assert_true(g_file_set_contents(policy_copy, contents, -1, NULL));
        else
                g_test_message("no project bus policy yet: %s", error->message);

        g_autofree char *config = g_strdup_printf(
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                "<busconfig>\n"
                "  <type>system</type>\n"
                "  <auth>EXTERNAL</auth>\n"
                "  <listen>unix:path=%s/bus</listen>\n"
                /* The default policy of /usr/share/dbus-1/system.conf. */
                "  <policy context=\"default\">\n"
                "    <allow user=\"*\"/>\n"
                "    <deny own=\"*\"/>\n"
                "    <deny send_type=\"method_call\"/>\n"
                "    <allow send_type=\"signal\"/>\n"
                "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
                "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
                "    <allow receive_type=\"method_call\"/>\n"
                "    <allow receive_type=\"method_return\"/>\n"
                "    <allow receive_type=\"error\"/>\n"
                "    <allow receive_type=\"signal\"/>\n"
                "    <allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus\"/>\n"
                "    <allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
                "    <allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus.Properties\"/>\n"
                "    <deny send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus\" send_member=\"UpdateActivationEnvironment\"/>\n"
                "    <deny send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus.Debug.Stats\"/>\n"
                "    <deny send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.systemd1.Activator\"/>\n"
                "  </policy>\n"
                "  <include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>\n"
                "  <includedir>%s</includedir>\n"
                /* Activation files; without <servicehelper> the bus runs Exec= itself. */
                "  <servicedir>%s/services</servicedir>\n"
                "</busconfig>\n",
                env->dir, policy_dir, env->dir);
        g_autofree char *path = g_build_filename(env->dir, "bus.conf", NULL);
        g_assert_true(g_file_set_contents(path, config, -1, NULL));
}

static void start_bus(TbEnv *env) {
        g_autofree char *config = g_build_filename(env->dir, "bus.conf", NULL);
        g_autofree char *config_arg = g_strconcat("--config-file=", config, NULL);
        const char *argv[] = { "dbus-daemon", config_arg, "--nofork", "--nopidfile", "--print-address=1", NULL };

        write_bus_config(env);
        env->dbus = tb_spawn(env, G_SUBPROCESS_FLAGS_STDOUT_PIPE, argv, NULL);
        tb_env_write_pids(env);

        g_autoptr(GDataInputStream) in = g_data_input_stream_new(g_subprocess_get_stdout_pipe(env->dbus));
        g_autoptr(GError) error = NULL;
        env->address = g_data_input_stream_read_line(in, NULL, NULL, &error);
        g_assert_no_error(error);
        g_assert_nonnull(env->address);

        env->bus = tb_env_connect(env);
}

GDBusConnection *tb_env_connect(TbEnv *env) {
        g_autoptr(GError) error = NULL;
        GDBusConnection *c = g_dbus_connection_new_for_address_sync(
                env->address,
                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                NULL, NULL, &error);
        g_assert_no_error(error);
        return c;
}

static bool name_has_owner(GDBusConnection *bus, const char *name) {
        g_autoptr(GVariant) r = g_dbus_connection_call_sync(
                bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "NameHasOwner", g_variant_new("(s)", name), G_VARIANT_TYPE("(b)"),
                G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
        gboolean owned = FALSE;
        if (r)
                g_variant_get(r, "(b)", &owned);
        return owned;
}

bool tb_name_has_owner(TbEnv *env, const char *name) {
        return name_has_owner(env->bus, name);
}

typedef struct NameWait {
        GDBusConnection *bus;
        const char *name;
        GSubprocess *proc;
} NameWait;

static bool name_owned_or_exited(void *data) {
        NameWait *w = data;
        if (w->proc && !g_subprocess_get_identifier(w->proc))
                return true;
        if (name_has_owner(w->bus, w->name))
                return true;
        g_usleep(20 * 1000);
        return false;
}

bool tb_wait_name(GDBusConnection *bus, const char *name, GSubprocess *proc) {
        NameWait w = { bus, name, proc };
        return tb_wait_until(name_owned_or_exited, &w) && name_has_owner(bus, name);
}

static bool name_released(void *data) {
        NameWait *w = data;
        if (!name_has_owner(w->bus, w->name))
                return true;
        g_usleep(10 * 1000);
        return false;
}

bool tb_wait_name_released(TbEnv *env, const char *name) {
        NameWait w = { env->bus, name, NULL };
        return tb_wait_until(name_released, &w);
}

static void install_polkit_files(TbEnv *env) {
        g_autofree char *actions = tb_source_path("polkit/org.example.tun1.policy");
        g_autofree char *contents = NULL;
        g_autoptr(GError) error = NULL;
        pid_t pid = getpid();

        if (g_file_get_contents(actions, &contents, NULL, &error)) {
                g_autofree char *dest = tb_actions_path(pid);
                g_assert_true(g_file_set_contents(dest, contents, -1, NULL));
                g_assert_no_errno(chmod(dest, 0644));
        } else
                g_test_message("no project polkit actions yet: %s", error->message);

        g_autofree char *rules = g_strdup_printf(
                "// Installed by tund's bus tests for their own users; removed when they end.\n"
                "polkit.addRule(function(action, subject) {\n"
                "        if (action.id.indexOf(\"org.example.tun1.\") != 0)\n"
                "                return polkit.Result.NOT_HANDLED;\n"
                "        if (subject.isInGroup(\"%s\"))\n"
                "                return polkit.Result.NO;\n"
                "        if (subject.isInGroup(\"%s\"))\n"
                "                return polkit.Result.YES;\n"
                "        if (subject.isInGroup(\"%s\") && action.id == \"" TB_ACTION_CREATE "\")\n"
                "                return polkit.Result.YES;\n"
                "        if (subject.isInGroup(\"%s\") &&\n"
                "            (action.id == \"" TB_ACTION_CREATE "\" || action.id == \"" TB_ACTION_NETWORK "\"))\n"
                "                return polkit.Result.YES;\n"
                "        return polkit.Result.NOT_HANDLED;\n"
                "});\n",
                env->users[TB_ROLE_DENIED].name, env->users[TB_ROLE_MANAGE].name,
                env->users[TB_ROLE_CREATE].name, env->users[TB_ROLE_NETWORK].name);
        g_autofree char *dest = tb_rules_path(pid);
        g_assert_true(g_file_set_contents(dest, rules, -1, NULL));
        g_assert_no_errno(chmod(dest, 0644));
}

/* useradd, tried again while another process holds the passwd lock. */
static struct passwd *useradd(const char *const *argv, const char *name) {
        struct passwd *pw = getpwnam(name);
        for (int tries = 0; !pw && tries < 20; tries++) {
                g_autofree char *err = NULL;
                if (tb_run(argv, NULL, &err) != 0) {
                        g_test_message("useradd %s: %s", name, err);
                        g_usleep(200 * 1000);
                }
                pw = getpwnam(name);
        }
        return pw;
}

/* tund, started as root, drops to its user, whom the bus policy also names (so before the
 * bus starts). Made as a package would make it, and left in place: it is no test user. */
static void ensure_service_user(TbEnv *env) {
        const char *argv[] = { "useradd", "--system", "--no-create-home", "--home-dir", "/",
                               "--shell", "/usr/sbin/nologin", "--user-group", TB_SERVICE_USER, NULL };
        struct passwd *pw = useradd(argv, TB_SERVICE_USER);
        g_assert_nonnull(pw);
        env->service_user = (TbUser) { g_strdup(TB_SERVICE_USER), pw->pw_uid, pw->pw_gid };
}

/* Where no udev runs /dev/net/tun may be 0600, which tund as its own user cannot open: it is
 * made 0666, as udev makes it, and left so. */
static void make_tun_usable(void) {
        struct stat st;
        g_assert_no_errno(stat("/dev/net/tun", &st));
        if ((st.st_mode & 0666) != 0666) {
                g_test_message("/dev/net/tun is %04o; making it 0666, as udev would",
                               (unsigned) (st.st_mode & 07777));
                g_assert_no_errno(chmod("/dev/net/tun", (st.st_mode & 07777) | 0666));
        }
}

/* tund as its user reaches the state directory (and the bus socket) through every folder
 * above; env->dir itself is made searchable, the ones above it are the system's. */
static void assert_dir_reachable(const char *dir) {
        g_autofree char *parent = g_path_get_dirname(dir);
        for (;;) {
                struct stat st;
                g_assert_no_errno(stat(parent, &st));
                if (!(st.st_mode & S_IXOTH))
                        g_error("%s (mode %04o) is not searchable by others: tund, which drops to user "
                                TB_SERVICE_USER ", could not reach %s; set TMPDIR elsewhere",
                                parent, (unsigned) (st.st_mode & 07777), dir);
                if (strcmp(parent, "/") == 0)
                        break;
                char *up = g_path_get_dirname(parent);
                g_free(parent);
                parent = up;
        }
}

static void create_users(TbEnv *env) {
        for (TbRole r = 0; r < _TB_ROLE_MAX; r++) {
                TbUser *u = &env->users[r];
                u->name = tb_user_name(getpid(), r);
                const char *argv[] = { "useradd", "--system", "--no-create-home",
                                       "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                                       "--user-group", u->name, NULL };
                struct passwd *pw = useradd(argv, u->name);
                g_assert_nonnull(pw);
                u->uid = pw->pw_uid;
                u->gid = pw->pw_gid;
        }
}

static void start_polkitd(TbEnv *env) {
        const char *argv[] = { POLKITD, "--no-debug", NULL };
        env->polkitd = tb_spawn(env, G_SUBPROCESS_FLAGS_NONE, argv, NULL);
        tb_env_write_pids(env);
        g_assert_true(tb_wait_name(env->bus, "org.freedesktop.PolicyKit1", env->polkitd));
}

static void make_notify_socket(TbEnv *env) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        env->notify_path = g_build_filename(env->dir, "notify", NULL);
        g_assert_cmpuint(strlen(env->notify_path), <, sizeof(sa.sun_path));
        strcpy(sa.sun_path, env->notify_path);
        env->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        g_assert_cmpint(env->notify_fd, >=, 0);
        g_assert_no_errno(bind(env->notify_fd, (struct sockaddr *) &sa, sizeof(sa)));
        /* Sending needs write access: tund's user's, as systemd's socket is its own. */
        g_assert_no_errno(chown(env->notify_path, env->service_user.uid, env->service_user.gid));
        g_assert_no_errno(chmod(env->notify_path, 0600));
        env->notifications = g_ptr_array_new_with_free_func(g_free);
        /* Read as they come: FDSTORE=1 messages carry TUN fds, which reading drops; left
         * in the queue they would keep deleted devices alive. */
        env->notify_source = g_unix_fd_add(env->notify_fd, G_IO_IN, tb_tund_read_notifications, env);
}

/* The build folder may sit where test users cannot reach it (a clone under a 0700 /root):
 * a program they run is copied into the environment's folder, once, and run from there. */
const char *tb_env_user_program(TbEnv *env, const char *path) {
        g_assert_nonnull(path);
        const char *copy = g_hash_table_lookup(env->user_programs, path);
        if (copy)
                return copy;

        g_autofree char *base = g_path_get_basename(path);
        g_autofree char *dir = g_build_filename(env->dir, "bin", NULL);
        g_assert_no_errno(g_mkdir_with_parents(dir, 0755));
        g_assert_no_errno(chmod(dir, 0755));
        char *to_path = g_build_filename(dir, base, NULL);
        g_assert_false(g_file_test(to_path, G_FILE_TEST_EXISTS));
        g_autoptr(GFile) from = g_file_new_for_path(path);
        g_autoptr(GFile) to = g_file_new_for_path(to_path);
        g_autoptr(GError) error = NULL;
        g_assert_true(g_file_copy(from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, &error));
        g_assert_no_error(error);
        g_assert_no_errno(chmod(to_path, 0755));
        g_hash_table_insert(env->user_programs, g_strdup(path), to_path);
        return to_path;
}

static void install_caller(TbEnv *env) {
        const char *helper = g_getenv("TB_CALLER");
        g_assert_nonnull(helper);
        env->caller_path = tb_env_user_program(env, helper);
}

TbEnv *tb_env_new(void) {
        TbEnv *env = g_new0(TbEnv, 1);

        tb_clean_stale();
        env->dir = g_dir_make_tmp("tbXXXXXX", NULL);
        g_assert_nonnull(env->dir);
        /* Test users reach the bus socket through this folder, and tund its state directory
         * (which tund gives to its user itself). */
        g_assert_no_errno(chmod(env->dir, 0755));
        assert_dir_reachable(env->dir);
        env->state_dir = g_build_filename(env->dir, "state", NULL);
        g_assert_no_errno(mkdir(env->state_dir, 0755));
        env->callers = g_ptr_array_new();
        env->user_programs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        env->reaper = tb_reaper_start(env->dir, &env->reaper_fd);

        install_caller(env);
        ensure_service_user(env);
        make_tun_usable();
        create_users(env);
        install_polkit_files(env);
        make_notify_socket(env);
        start_bus(env);
        start_polkitd(env);
        tb_netns_helper_start(env);
        return env;
}

void tb_env_stop_bus(TbEnv *env) {
        if (env->bus) {
                g_dbus_connection_close_sync(env->bus, NULL, NULL);
                g_clear_object(&env->bus);
        }
        if (env->dbus) {
                int status = tb_subprocess_stop(env->dbus);
                g_assert_cmpint(status, !=, -1);
                tb_env_write_pids(env);
        }
}

void tb_env_free(TbEnv *env) {
        if (!env)
                return;
        while (env->callers->len > 0)
                tb_caller_free(env->callers->pdata[env->callers->len - 1]);
        if (env->tund && g_subprocess_get_identifier(env->tund))
                g_assert_cmpint(tb_tund_stop(env), ==, 0);
        g_clear_object(&env->tund);
        tb_netns_helper_stop(env);
        if (env->polkitd) {
                tb_subprocess_stop(env->polkitd);
                g_clear_object(&env->polkitd);
        }
        tb_env_stop_bus(env);
        g_clear_object(&env->dbus);
        tb_env_write_pids(env);

        /* The reaper removes users, polkit files and the folder, and waits for nothing. */
        close(env->reaper_fd);
        while (waitpid(env->reaper, NULL, 0) < 0 && errno == EINTR)
                ;

        g_source_remove(env->notify_source);
        close(env->notify_fd);
        tb_tund_fd_store_free(env);
        g_ptr_array_unref(env->notifications);
        g_ptr_array_unref(env->callers);
        for (TbRole r = 0; r < _TB_ROLE_MAX; r++)
                g_free(env->users[r].name);
        g_free(env->service_user.name);
        g_free(env->notify_path);
        g_hash_table_unref(env->user_programs);
        g_free(env->state_dir);
        g_free(env->netns_helper_socket);
        g_free(env->address);
        g_free(env->dir);
        g_free(env);
}

const char *tb_env_address(TbEnv *env) {
        return env->address;
}

void tb_env_install_activation(TbEnv *env) {
        g_autofree char *built = g_build_filename(g_getenv("TB_BUILD_ROOT"), "dbus", "org.example.Tun1.service", NULL);
        g_autofree char *contents = NULL;
        g_autoptr(GError) error = NULL;
        g_assert_true(g_file_get_contents(built, &contents, NULL, &error));

        /* The shipped file as it is, but for where tund is and which bus and state directory
         * it uses: an activated service gets the bus daemon's environment, not the test's. */
        g_autoptr(GString) file = g_string_new(NULL);
        g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
        for (char **l = lines; *l; l++) {
                if (g_str_has_prefix(*l, "Exec=")) {
                        g_autofree char *helper_arg = tb_netns_helper_socket_arg(env);
                        g_string_append_printf(file, "Exec=/usr/bin/env DBUS_SYSTEM_BUS_ADDRESS=%s %s --state-directory=%s %s\n",
                                               env->address, tb_tund_path(), env->state_dir, helper_arg);
                } else if (**l)
                        g_string_append_printf(file, "%s\n", *l);
        }
        g_autofree char *dir = g_build_filename(env->dir, "services", NULL);
        g_autofree char *path = g_build_filename(dir, "org.example.Tun1.service", NULL);
        g_assert_true(g_file_set_contents(path, file->str, -1, NULL));

        GVariant *r = g_dbus_connection_call_sync(
                env->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "ReloadConfig", NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
        g_assert_no_error(error);
        g_variant_unref(r);
}

const char *tb_env_dir(TbEnv *env) {
        return env->dir;
}

const char *tb_env_state_dir(TbEnv *env) {
        return env->state_dir;
}

GDBusConnection *tb_env_bus(TbEnv *env) {
        return env->bus;
}

pid_t tb_env_polkitd_pid(TbEnv *env) {
        const char *id = g_subprocess_get_identifier(env->polkitd);
        g_assert_nonnull(id);
        return (pid_t) atoi(id);
}

const TbUser *tb_env_user(TbEnv *env, TbRole role) {
        return &env->users[role];
}

const TbUser *tb_env_service_user(TbEnv *env) {
        return &env->service_user;
}
