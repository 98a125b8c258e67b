/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tund itself: started on the private bus, stopped by PID, its sd_notify messages read. */

#include "harness-private.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

const char *tb_tund_path(void) {
        const char *path = g_getenv("TUND");
        return path && *path && access(path, X_OK) == 0 ? path : NULL;
}

void tb_tund_spawn_with_args(TbEnv *env, const char *const *extra_argv, const char *const *extra_env) {
        g_autofree char *state_arg = g_strconcat("--state-directory=", env->state_dir, NULL);
        g_autofree char *helper_arg = tb_netns_helper_socket_arg(env);
        g_autoptr(GPtrArray) argv = g_ptr_array_new();

        g_assert_nonnull(tb_tund_path());
        g_ptr_array_add(argv, (char *) tb_tund_path());
        g_ptr_array_add(argv, state_arg);
        g_ptr_array_add(argv, helper_arg);
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
        /* The stored fds, as systemd hands them over: LISTEN_PID must be tund's own PID,
         * which a shell that execs tund knows. */
        g_autoptr(GArray) fds = g_array_new(FALSE, FALSE, sizeof(int));
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        g_autofree char *n_fds = NULL, *fd_names = NULL;
        if (env->fd_store && g_hash_table_size(env->fd_store) > 0) {
                GHashTableIter iter;
                gpointer name, fd;
                g_hash_table_iter_init(&iter, env->fd_store);
                while (g_hash_table_iter_next(&iter, &name, &fd)) {
                        int i = GPOINTER_TO_INT(fd);
                        g_array_append_val(fds, i);
                        g_ptr_array_add(names, name);
                }
                g_ptr_array_add(names, NULL);
                n_fds = g_strdup_printf("%u", fds->len);
                fd_names = g_strjoinv(":", (char **) names->pdata);
                g_ptr_array_add(full_env, "LISTEN_FDS");
                g_ptr_array_add(full_env, n_fds);
                g_ptr_array_add(full_env, "LISTEN_FDNAMES");
                g_ptr_array_add(full_env, fd_names);
                const char *shell[] = { "sh", "-c", "export LISTEN_PID=$$; exec \"$0\" \"$@\"" };
                for (size_t i = 0; i < G_N_ELEMENTS(shell); i++)
                        g_ptr_array_insert(argv, (int) i, (char *) shell[i]);
        }
        g_ptr_array_add(full_env, NULL);
        env->tund = tb_spawn_with_fds(env, G_SUBPROCESS_FLAGS_NONE, (const char *const *) argv->pdata,
                                      (const char *const *) full_env->pdata,
                                      (const int *) fds->data, fds->len);
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
        g_autofree char *helper_arg = tb_netns_helper_socket_arg(env);
        const char *argv[] = { tb_tund_path(), state_arg, helper_arg, NULL };
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

static void fd_store_close(gpointer fd) {
        close(GPOINTER_TO_INT(fd));
}

void tb_tund_keep_fd_store(TbEnv *env) {
        if (!env->fd_store)
                env->fd_store = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, fd_store_close);
}

void tb_tund_fd_store_free(TbEnv *env) {
        g_clear_pointer(&env->fd_store, g_hash_table_unref);
}

GHashTable *tb_tund_fd_store_names(TbEnv *env) {
        read_notifications(env);
        GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        if (env->fd_store) {
                GHashTableIter iter;
                gpointer name;
                g_hash_table_iter_init(&iter, env->fd_store);
                while (g_hash_table_iter_next(&iter, &name, NULL))
                        g_hash_table_add(set, g_strdup(name));
        }
        return set;
}

/* What a service manager does with a notification's fd store fields; FDS are taken over. */
static void fd_store_update(TbEnv *env, const char *text, const int *fds, size_t n_fds) {
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        const char *name = "stored";    /* systemd's default FDNAME */
        bool store = false, remove = false;
        for (char **l = lines; *l; l++) {
                if (strcmp(*l, "FDSTORE=1") == 0)
                        store = true;
                else if (strcmp(*l, "FDSTOREREMOVE=1") == 0)
                        remove = true;
                else if (g_str_has_prefix(*l, "FDNAME="))
                        name = *l + strlen("FDNAME=");
        }
        if (env->fd_store && remove)
                g_hash_table_remove(env->fd_store, name);
        for (size_t i = 0; i < n_fds; i++) {
                if (env->fd_store && store && i == 0)
                        g_hash_table_replace(env->fd_store, g_strdup(name), GINT_TO_POINTER(fds[i]));
                else
                        close(fds[i]);
        }
}

static void read_notifications(TbEnv *env) {
        for (;;) {
                char buf[4096];
                union {
                        struct cmsghdr header;
                        char space[CMSG_SPACE(sizeof(int) * 16)];
                } control;
                struct iovec iov = { buf, sizeof(buf) - 1 };
                struct msghdr mh = {
                        .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = &control, .msg_controllen = sizeof(control),
                };
                int fds[16];
                size_t n_fds = 0;
                ssize_t n = recvmsg(env->notify_fd, &mh, MSG_CMSG_CLOEXEC);
                if (n < 0)
                        break;
                buf[n] = 0;
                g_ptr_array_add(env->notifications, g_strdup(buf));
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                                for (size_t j = 0; j < k && n_fds < G_N_ELEMENTS(fds); j++)
                                        memcpy(&fds[n_fds++], CMSG_DATA(c) + j * sizeof(int), sizeof(int));
                        }
                /* Read, a TUN fd would keep a deleted device alive: kept only as a store. */
                fd_store_update(env, buf, fds, n_fds);
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
