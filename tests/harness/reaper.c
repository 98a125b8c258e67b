/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Removing every trace of a test process: its processes, links, namespaces, polkit files,
 * users and folder. A reaper process does it when the test process ends, however it ends;
 * leftovers of a test process killed outright are removed by the next one. */

#include "harness-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <net/if.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char role_suffix[_TB_ROLE_MAX] = {
        [TB_ROLE_CREATE] = 'c',
        [TB_ROLE_MANAGE] = 'm',
        [TB_ROLE_DENIED] = 'd',
        [TB_ROLE_NOBODY] = 'n',
        [TB_ROLE_NETWORK] = 'w',
};

char *tb_user_name(pid_t pid, TbRole role) {
        return g_strdup_printf("tb%u%c", (unsigned) pid, role_suffix[role]);
}

char *tb_rules_path(pid_t pid) {
        return g_strdup_printf(RULES_DIR "/tb-%u.rules", (unsigned) pid);
}

char *tb_actions_path(pid_t pid) {
        return g_strdup_printf(ACTIONS_DIR "/tb%u-org.example.tun1.policy", (unsigned) pid);
}

/* The reaper runs after fork() in a process that may hold GLib state: plain syscalls only. */
static void reaper_run_argv(char *const argv[]) {
        pid_t pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                execvp(argv[0], argv);
                _exit(127);
        }
        if (pid > 0)
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
}

static bool process_gone(pid_t pid) {
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return true;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return true;
        buf[n] = 0;
        const char *p = strrchr(buf, ')');
        return p && p[1] == ' ' && p[2] == 'Z';
}

static void reaper_stop_pids(const char *dir) {
        char path[PATH_MAX];
        pid_t pids[64];
        int n = 0;

        snprintf(path, sizeof(path), "%s/pids", dir);
        FILE *f = fopen(path, "re");
        if (!f)
                return;
        int pid;
        while (n < 64 && fscanf(f, "%d", &pid) == 1)
                if (pid > 1)
                        pids[n++] = pid;
        fclose(f);

        for (int i = 0; i < n; i++)
                kill(pids[i], SIGTERM);
        for (int tries = 0; tries < 100; tries++) {
                bool all_gone = true;
                for (int i = 0; i < n; i++)
                        all_gone = all_gone && process_gone(pids[i]);
                if (all_gone)
                        return;
                usleep(100 * 1000);
        }
        for (int i = 0; i < n; i++)
                kill(pids[i], SIGKILL);
}

/* Whether NAME is one of OWNER's tb_ifname() names: tb12a is tb12's, not tb1's. */
static bool owned_name(const char *name, pid_t owner) {
        char prefix[32];
        size_t n = (size_t) snprintf(prefix, sizeof(prefix), "tb%u", (unsigned) owner);
        return strncmp(name, prefix, n) == 0 && !g_ascii_isdigit(name[n]);
}

/* Deletes up to 64 links of OWNER; returns how many it tried. */
static int reaper_delete_some_links(pid_t owner) {
        DIR *d = opendir("/sys/class/net");
        if (!d)
                return 0;
        char names[64][IFNAMSIZ + 1];
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)) && n < 64)
                if (owned_name(de->d_name, owner) && strlen(de->d_name) <= IFNAMSIZ)
                        strcpy(names[n++], de->d_name);
        closedir(d);
        for (int i = 0; i < n; i++)
                reaper_run_argv((char *[]) { "ip", "link", "delete", names[i], NULL });
        return n;
}

/* Persistent devices can be many (benchmarks make a thousand); the passes are bounded in
 * case a link refuses to go. */
static void reaper_delete_links(pid_t owner) {
        for (int pass = 0; pass < 64 && reaper_delete_some_links(owner) == 64; pass++)
                ;
}

static void reaper_delete_netns(pid_t owner) {
        DIR *d = opendir("/run/netns");
        if (!d)
                return;
        char names[16][256];
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)) && n < 16)
                if (owned_name(de->d_name, owner))
                        snprintf(names[n++], sizeof(names[0]), "%s", de->d_name);
        closedir(d);
        for (int i = 0; i < n; i++)
                reaper_run_argv((char *[]) { "ip", "netns", "delete", names[i], NULL });
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st; (void) flag; (void) ftw;
        remove(path);
        return 0;
}

/* Removes every trace of test process OWNER: its processes, links, namespaces, polkit
 * files, users, temporary folder. Safe to run for an owner that left nothing behind. */
static void reaper_clean(pid_t owner, const char *dir) {
        if (dir)
                reaper_stop_pids(dir);
        reaper_delete_netns(owner);
        reaper_delete_links(owner);

        g_autofree char *rules = tb_rules_path(owner);
        g_autofree char *actions = tb_actions_path(owner);
        unlink(rules);
        unlink(actions);

        for (TbRole r = 0; r < _TB_ROLE_MAX; r++) {
                char name[32];
                snprintf(name, sizeof(name), "tb%u%c", (unsigned) owner, role_suffix[r]);
                for (int tries = 0; tries < 20 && getpwnam(name); tries++) {
                        reaper_run_argv((char *[]) { "userdel", name, NULL });
                        if (getpwnam(name))
                                usleep(200 * 1000);     /* another process holds the passwd lock */
                }
                for (int tries = 0; tries < 20 && getgrnam(name); tries++) {
                        reaper_run_argv((char *[]) { "groupdel", name, NULL });
                        if (getgrnam(name))
                                usleep(200 * 1000);
                }
        }
        if (dir)
                nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool pid_alive(pid_t pid) {
        return kill(pid, 0) == 0 || errno == EPERM;
}

/* Leftovers of test processes that were killed before their reaper could run (SIGKILL). */
void tb_clean_stale(void) {
        g_autoptr(GHashTable) owners = g_hash_table_new(NULL, NULL);
        const char *dirs[] = { RULES_DIR, ACTIONS_DIR };
        for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
                g_autoptr(GDir) d = g_dir_open(dirs[i], 0, NULL);
                const char *name;
                unsigned pid;
                while (d && (name = g_dir_read_name(d)))
                        if (sscanf(name, "tb-%u.rules", &pid) == 1 || sscanf(name, "tb%u-", &pid) == 1)
                                g_hash_table_add(owners, GUINT_TO_POINTER(pid));
        }
        setpwent();
        struct passwd *pw;
        while ((pw = getpwent())) {
                unsigned pid;
                char role, end;
                if (sscanf(pw->pw_name, "tb%u%c%c", &pid, &role, &end) == 2)
                        g_hash_table_add(owners, GUINT_TO_POINTER(pid));
        }
        endpwent();
        /* Namespaces and links named by tb_ifname(). */
        const char *name_dirs[] = { "/run/netns", "/sys/class/net" };
        for (size_t i = 0; i < G_N_ELEMENTS(name_dirs); i++) {
                g_autoptr(GDir) d = g_dir_open(name_dirs[i], 0, NULL);
                const char *name;
                unsigned pid;
                while (d && (name = g_dir_read_name(d)))
                        if (sscanf(name, "tb%u", &pid) == 1 && pid > 1)
                                g_hash_table_add(owners, GUINT_TO_POINTER(pid));
        }

        GHashTableIter iter;
        gpointer key;
        g_hash_table_iter_init(&iter, owners);
        while (g_hash_table_iter_next(&iter, &key, NULL)) {
                pid_t pid = GPOINTER_TO_UINT(key);
                if (pid != getpid() && !pid_alive(pid)) {
                        g_test_message("removing leftovers of test process %d", (int) pid);
                        reaper_clean(pid, NULL);
                }
        }
}

pid_t tb_reaper_start(const char *dir, int *ret_fd) {
        int p[2];
        g_assert_no_errno(pipe2(p, O_CLOEXEC));
        pid_t owner = getpid();
        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                /* Outlive a killed process group, so that cleaning up still happens. */
                signal(SIGTERM, SIG_IGN);
                signal(SIGINT, SIG_IGN);
                setsid();
                int null = open("/dev/null", O_RDWR);
                dup2(null, STDIN_FILENO);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                close(p[1]);
                /* Waits for the end of the test process (or of its environment). */
                char c;
                ssize_t n;
                do
                        n = read(p[0], &c, 1);
                while (n < 0 && errno == EINTR);
                reaper_clean(owner, dir);
                _exit(0);
        }
        close(p[0]);
        *ret_fd = p[1];
        return pid;
}

static pid_t exit_reaper;
static int exit_reaper_fd = -1;

/* The normal end: the reaper cleans up before the process exits. */
static void reap_now(void) {
        close(exit_reaper_fd);
        while (waitpid(exit_reaper, NULL, 0) < 0 && errno == EINTR)
                ;
}

void tb_reap_at_exit(void) {
        if (exit_reaper_fd >= 0)
                return;
        tb_clean_stale();
        exit_reaper = tb_reaper_start(NULL, &exit_reaper_fd);
        g_assert_no_errno(atexit(reap_now));
}
