/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The namespace helper, started for real by socket activation (systemd-socket-activate
 * --accept, as tund-netns-helper.socket does under systemd) on a socket of the env's, with
 * the socket unit's owner and mode. */

#include "harness-private.h"

#include <errno.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#define SOCKET_ACTIVATE "/usr/bin/systemd-socket-activate"

const char *tb_netns_helper_path(void) {
        const char *path = g_getenv("TUND_NETNS_HELPER");
        return path && *path && access(path, X_OK) == 0 ? path : NULL;
}

static bool wait_socket(const char *path, GSubprocess *proc) {
        for (int i = 0; i < 500; i++) {
                struct stat st;
                if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
                        return true;
                if (!g_subprocess_get_identifier(proc))
                        return false;
                g_usleep(10 * 1000);
        }
        return false;
}

/* What SocketUser=tund and SocketMode=0600 make of it. */
static void own_socket(const char *path) {
        struct passwd *pw = getpwnam(TB_SERVICE_USER);
        if (pw)
                g_assert_no_errno(chown(path, pw->pw_uid, pw->pw_gid));
        g_assert_no_errno(chmod(path, 0600));
}

void tb_netns_helper_start(TbEnv *env) {
        const char *helper = tb_netns_helper_path();
        if (!helper || access(SOCKET_ACTIVATE, X_OK) != 0) {
                g_test_message("No namespace helper: TUND_NETNS_HELPER or %s missing", SOCKET_ACTIVATE);
                return;
        }
        g_assert_null(env->netns_helper);
        g_free(env->netns_helper_socket);
        env->netns_helper_socket = g_build_filename(env->dir, "netns-helper.socket", NULL);
        (void) unlink(env->netns_helper_socket);
        const char *argv[] = { SOCKET_ACTIVATE, "--accept", "--seqpacket", "-l", env->netns_helper_socket,
                               helper, NULL };
        env->netns_helper = tb_spawn(env, G_SUBPROCESS_FLAGS_NONE, argv, NULL);
        tb_env_write_pids(env);
        if (!wait_socket(env->netns_helper_socket, env->netns_helper))
                g_error("systemd-socket-activate did not listen on %s", env->netns_helper_socket);
        own_socket(env->netns_helper_socket);
}

void tb_netns_helper_stop(TbEnv *env) {
        if (!env->netns_helper)
                return;
        if (g_subprocess_get_identifier(env->netns_helper))
                tb_subprocess_stop(env->netns_helper);
        g_clear_object(&env->netns_helper);
        tb_env_write_pids(env);
        (void) unlink(env->netns_helper_socket);
}

const char *tb_env_netns_helper_socket(TbEnv *env) {
        return env->netns_helper ? env->netns_helper_socket : NULL;
}

char *tb_netns_helper_socket_arg(TbEnv *env) {
        return g_strconcat("--netns-helper-socket=", tb_env_netns_helper_socket(env) ?: "", NULL);
}
