/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Processes the harness starts: spawned with the bus address, waited for by PID. */

#include "harness-private.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>

static void child_setup_pdeathsig(gpointer data) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
}

GSubprocess *tb_spawn(TbEnv *env, GSubprocessFlags flags, const char *const *argv,
                      const char *const *extra_env) {
        return tb_spawn_with_fds(env, flags, argv, extra_env, NULL, 0);
}

GSubprocess *tb_spawn_with_fds(TbEnv *env, GSubprocessFlags flags, const char *const *argv,
                               const char *const *extra_env, const int *fds, size_t n_fds) {
        g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(flags);
        for (size_t i = 0; i < n_fds; i++) {
                int copy = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
                g_assert_cmpint(copy, >=, 0);
                g_subprocess_launcher_take_fd(l, copy, 3 + (int) i);
        }
        if (env->address)
                g_subprocess_launcher_setenv(l, "DBUS_SYSTEM_BUS_ADDRESS", env->address, TRUE);
        for (; extra_env && extra_env[0]; extra_env += 2)
                g_subprocess_launcher_setenv(l, extra_env[0], extra_env[1], TRUE);
        g_subprocess_launcher_set_child_setup(l, child_setup_pdeathsig, NULL, NULL);
        g_autoptr(GError) error = NULL;
        GSubprocess *p = g_subprocess_launcher_spawnv(l, argv, &error);
        g_assert_no_error(error);
        return p;
}

typedef struct WaitExit {
        GSubprocess *proc;
        bool done;
} WaitExit;

static void wait_exit_done(GObject *source, GAsyncResult *res, gpointer data) {
        WaitExit *w = data;
        g_subprocess_wait_finish(G_SUBPROCESS(source), res, NULL);
        w->done = true;
}

static bool wait_exit_predicate(void *data) {
        return ((WaitExit *) data)->done;
}

int tb_subprocess_wait(GSubprocess *proc) {
        WaitExit w = { proc, false };
        g_subprocess_wait_async(proc, NULL, wait_exit_done, &w);
        if (!tb_wait_until(wait_exit_predicate, &w)) {
                g_subprocess_force_exit(proc);
                while (!w.done)
                        g_main_context_iteration(NULL, TRUE);
                return -1;
        }
        return g_subprocess_get_status(proc);
}

int tb_subprocess_stop(GSubprocess *proc) {
        if (!g_subprocess_get_identifier(proc))
                return g_subprocess_get_status(proc);
        g_subprocess_send_signal(proc, SIGTERM);
        return tb_subprocess_wait(proc);
}
