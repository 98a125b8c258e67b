/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tund itself: started on the private bus, stopped by PID, its sd_notify messages read. */

#include "harness-private.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

const char *tb_tund_path(void) {
        const char *path = g_getenv("TUND");
        return path && *path && access(path, X_OK) == 0 ? path : NULL;
}

void tb_tund_spawn_with_args(TbEnv *env, const char *const *extra_argv, const char *const *extra_env) {
        g_autofree char *state_arg = g_strconcat("--state-directory=", env->state_dir, NULL);
        g_autoptr(GPtrArray) argv = g_ptr_array_new();

        g_assert_nonnull(tb_tund_path());
        g_ptr_array_add(argv, (char *) tb_tund_path());
        g_ptr_array_add(argv, state_arg);
        for (; extra_argv && extra_argv[0]; extra_argv++)
                g_ptr_array_add(argv, (char *) extra_argv[0]);
        g_ptr_array_add(argv, NULL);
        g_assert_true(env->tund == NULL || !g_subprocess_get_identifier(env->tund));
        g_clear_object(&env->tund);

        g_autoptr(GPtrArray) full_env = g_ptr_array_new();
        g_ptr_array_add(full_env, "NOTIFY_SOCKET");
        g_ptr_array_add(full_env, env->notify_path);
        for (; extra_env && extra_env[0]; extra_env += 2) {
                g_ptr_array_add(full_env, (char *) extra_env[0]);
                g_ptr_array_add(full_env, (char *) extra_env[1]);
        }
        g_ptr_array_add(full_env, NULL);
        env->tund = tb_spawn(env, G_SUBPROCESS_FLAGS_NONE, (const char *const *) argv->pdata,
                             (const char *const *) full_env->pdata);
        tb_env_write_pids(env);
}

void tb_tund_spawn_with_env(TbEnv *env, const char *const *extra_env) {
        tb_tund_spawn_with_args(env, NULL, extra_env);
}

void tb_tund_spawn(TbEnv *env) {
        tb_tund_spawn_with_env(env, NULL);
}

void tb_tund_start(TbEnv *env) {
        tb_tund_start_with_args(env, NULL);
}

void tb_tund_start_with_args(TbEnv *env, const char *const *extra_argv) {
        tb_tund_spawn_with_args(env, extra_argv, NULL);
        if (!tb_wait_name(env->bus, TB_BUS_NAME, env->tund)) {
                if (!g_subprocess_get_identifier(env->tund))
                        g_error("tund exited before owning %s (wait status %d)", TB_BUS_NAME,
                                g_subprocess_get_status(env->tund));
                g_error("tund did not own %s", TB_BUS_NAME);
        }
}

int tb_tund_run_second(TbEnv *env) {
        g_autofree char *state_arg = g_strconcat("--state-directory=", env->state_dir, NULL);
        const char *argv[] = { tb_tund_path(), state_arg, NULL };
        g_autoptr(GSubprocess) second = tb_spawn(env, G_SUBPROCESS_FLAGS_NONE, argv, NULL);
        return tb_subprocess_wait(second);
}

pid_t tb_tund_pid(TbEnv *env) {
        const char *id = env->tund ? g_subprocess_get_identifier(env->tund) : NULL;
        return id ? (pid_t) atoi(id) : 0;
}

int tb_tund_stop(TbEnv *env) {
        g_assert_nonnull(env->tund);
        int status = tb_subprocess_stop(env->tund);
        tb_env_write_pids(env);
        return status;
}

int tb_tund_wait_exit(TbEnv *env) {
        g_assert_nonnull(env->tund);
        int status = tb_subprocess_wait(env->tund);
        tb_env_write_pids(env);
        return status;
}

static void read_notifications(TbEnv *env);

gboolean tb_tund_read_notifications(int fd, GIOCondition condition, gpointer env) {
        read_notifications(env);
        return G_SOURCE_CONTINUE;
}

static void read_notifications(TbEnv *env) {
        char buf[4096];
        ssize_t n;
        while ((n = recv(env->notify_fd, buf, sizeof(buf) - 1, 0)) >= 0) {
                buf[n] = 0;
                g_ptr_array_add(env->notifications, g_strdup(buf));
        }
        g_assert_true(errno == EAGAIN || errno == EINTR);
}

GPtrArray *tb_tund_notifications(TbEnv *env) {
        read_notifications(env);
        return env->notifications;
}

typedef struct NotifyWait {
        TbEnv *env;
        const char *line;
} NotifyWait;

static bool has_notification(void *data) {
        NotifyWait *w = data;
        read_notifications(w->env);
        for (unsigned i = 0; i < w->env->notifications->len; i++) {
                g_auto(GStrv) lines = g_strsplit(w->env->notifications->pdata[i], "\n", -1);
                if (g_strv_contains((const char *const *) lines, w->line))
                        return true;
        }
        g_usleep(10 * 1000);
        return false;
}

bool tb_tund_wait_notification(TbEnv *env, const char *line) {
        NotifyWait w = { env, line };
        return tb_wait_until(has_notification, &w);
}
