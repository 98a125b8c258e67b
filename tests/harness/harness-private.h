/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the harness's parts share among themselves; tests use harness.h only. */

#include "harness.h"

#define POLKITD "/usr/lib/polkit-1/polkitd"
#define RULES_DIR "/etc/polkit-1/rules.d"
#define ACTIONS_DIR "/usr/share/polkit-1/actions"

struct TbEnv {
        char *dir;              /* /tmp/tbXXXXXX, world-searchable: holds the bus socket */
        char *state_dir;        /* tund's --state-directory, kept across restarts */
        char *address;
        GSubprocess *dbus;
        GSubprocess *polkitd;
        GSubprocess *tund;
        GSubprocess *netns_helper;      /* systemd-socket-activate running the helper */
        char *netns_helper_socket;
        GDBusConnection *bus;
        TbUser users[_TB_ROLE_MAX];
        TbUser service_user;    /* tund's own, which tund started as root drops to */
        const char *caller_path;        /* a copy of tb-caller that test users can run */
        GHashTable *user_programs;      /* built path → its copy below dir/bin */
        GPtrArray *callers;     /* borrowed TbCaller, so that they are stopped at the end */
        char *notify_path;
        int notify_fd;
        GPtrArray *notifications;
        guint notify_source;
        GHashTable *fd_store;   /* FDNAME → fd, once tb_tund_keep_fd_store() was called */
        pid_t reaper;
        int reaper_fd;
};

/* Spawns ARGV with the bus address and EXTRA_ENV (NULL or KEY, VALUE, ..., NULL) set, and
 * SIGTERM for it when the test process dies. */
GSubprocess *tb_spawn(TbEnv *env, GSubprocessFlags flags, const char *const *argv,
                      const char *const *extra_env);
/* The same with FDS passed on as fds 3, 4, ... (copies; the caller keeps its own). */
GSubprocess *tb_spawn_with_fds(TbEnv *env, GSubprocessFlags flags, const char *const *argv,
                               const char *const *extra_env, const int *fds, size_t n_fds);
/* Waits for the exit of PROC (SIGKILL after a hang); returns the wait status, -1 on a hang. */
int tb_subprocess_wait(GSubprocess *proc);
int tb_subprocess_stop(GSubprocess *proc);
bool tb_wait_name(GDBusConnection *bus, const char *name, GSubprocess *proc);
/* Writes the PIDs the reaper must stop, should the test process die. */
void tb_env_write_pids(TbEnv *env);

/* netns-helper.c */
void tb_netns_helper_start(TbEnv *env);
void tb_netns_helper_stop(TbEnv *env);
/* "--netns-helper-socket=PATH" for tund ("" when none runs: not the system's). */
char *tb_netns_helper_socket_arg(TbEnv *env);

/* reaper.c */
char *tb_user_name(pid_t pid, TbRole role);
char *tb_rules_path(pid_t pid);
char *tb_actions_path(pid_t pid);
void tb_clean_stale(void);
/* Forks the reaper for this test process; closing *RET_FD makes it clean up and exit. */
pid_t tb_reaper_start(const char *dir, int *ret_fd);
gboolean tb_tund_read_notifications(int fd, GIOCondition condition, gpointer env);
/* Closes the fds of the emulated fd store. */
void tb_tund_fd_store_free(TbEnv *env);
