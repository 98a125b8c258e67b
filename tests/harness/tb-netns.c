/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tb-netns.h"
#include "tun-compat.h"

extern char **environ;

static pid_t spawn_quiet(char *const argv[], const int *keep_fds, size_t n_keep, int out_fd) {
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int r;

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (out_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
        else
                posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        if (!getenv("DATAPLANE_TEST_VERBOSE"))
                posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        /* dup2 onto itself clears FD_CLOEXEC. */
        for (size_t i = 0; i < n_keep; i++)
                posix_spawn_file_actions_adddup2(&fa, keep_fds[i], keep_fds[i]);
        r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        return r == 0 ? pid : -1;
}

static int wait_pid(pid_t pid) {
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run_argv(char *argv[], char **ret_out) {
        int pipefd[2] = { -1, -1 };
        pid_t pid;

        if (ret_out && pipe2(pipefd, O_CLOEXEC) < 0)
                return -1;
        pid = spawn_quiet(argv, NULL, 0, pipefd[1]);
        if (pipefd[1] >= 0)
                close(pipefd[1]);
        if (pid < 0) {
                if (pipefd[0] >= 0)
                        close(pipefd[0]);
                return -1;
        }
        if (ret_out) {
                size_t size = 0, len = 0;
                char *out = NULL;
                for (;;) {
                        if (len + 4096 + 1 > size) {
                                size = size * 2 + 8192;
                                out = realloc(out, size);
                                if (!out)
                                        abort();
                        }
                        ssize_t k = read(pipefd[0], out + len, size - len - 1);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0)
                                break;
                        len += k;
                }
                out[len] = '\0';
                close(pipefd[0]);
                *ret_out = out;
        }
        return wait_pid(pid);
}

#define COLLECT_ARGV(argv, arg0)                                        \
        do {                                                            \
                size_t _n = 0;                                          \
                va_list _ap;                                            \
                argv[_n++] = (char *) arg0;                             \
                va_start(_ap, arg0);                                    \
                while (_n < 31 && (argv[_n] = va_arg(_ap, char *)))     \
                        _n++;                                           \
                va_end(_ap);                                            \
                argv[_n] = NULL;                                        \
        } while (0)

int run_command(const char *arg0, ...) {
        char *argv[32];

        COLLECT_ARGV(argv, arg0);
        return run_argv(argv, NULL);
}

int run_command_capture(char **ret_out, const char *arg0, ...) {
        char *argv[32];

        COLLECT_ARGV(argv, arg0);
        return run_argv(argv, ret_out);
}

pid_t spawn_command(const char *arg0, ...) {
        char *argv[32];

        COLLECT_ARGV(argv, arg0);
        return spawn_quiet(argv, NULL, 0, -1);
}

int tun_set_offloads(int fd, unsigned tun_flags) {
        return ioctl(fd, TUNSETOFFLOAD, tun_flags) < 0 ? -errno : 0;
}

unsigned tun_all_offloads(void) {
        return TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6;
}

int tun_open_flags(const char *name, int flags) {
        struct ifreq ifr = {};
        int fd, r;

        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ifr.ifr_flags = flags;
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int tun_open(const char *name) {
        int fd, r;

        fd = tun_open_flags(name, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR);
        if (fd < 0)
                return fd;
        /* Older kernels lack USO: fall back to TSO alone. */
        if (tun_set_offloads(fd, tun_all_offloads()) < 0 &&
            tun_set_offloads(fd, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

void netns_remove(const char *ns) {
        char path[128];

        snprintf(path, sizeof(path), "/run/netns/%s", ns);
        if (access(path, F_OK) == 0)
                (void) run_command("ip", "netns", "del", ns, NULL);
}

int netns_setup(const char *ns, const char *ifname, const char *addr4, const char *addr6, unsigned mtu) {
        char mtu_s[16];

        snprintf(mtu_s, sizeof(mtu_s), "%u", mtu);
        netns_remove(ns);
        if (run_command("ip", "netns", "add", ns, NULL) != 0 ||
            run_command("ip", "link", "set", ifname, "netns", ns, NULL) != 0 ||
            run_command("ip", "-n", ns, "link", "set", "lo", "up", NULL) != 0 ||
            run_command("ip", "-n", ns, "link", "set", ifname, "mtu", mtu_s, "up", NULL) != 0)
                return -1;
        if (addr4 && run_command("ip", "-n", ns, "addr", "add", addr4, "dev", ifname, NULL) != 0)
                return -1;
        if (addr6 && run_command("ip", "-n", ns, "addr", "add", addr6, "dev", ifname, "nodad", NULL) != 0)
                return -1;
        return 0;
}

int socket_in_netns(const char *ns, int domain, int type, int protocol) {
        char path[128];
        int ns_fd, self_fd, fd, saved;

        snprintf(path, sizeof(path), "/run/netns/%s", ns);
        ns_fd = open(path, O_RDONLY | O_CLOEXEC);
        self_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (ns_fd < 0 || self_fd < 0 || setns(ns_fd, CLONE_NEWNET) < 0) {
                saved = errno;
                if (ns_fd >= 0)
                        close(ns_fd);
                if (self_fd >= 0)
                        close(self_fd);
                errno = saved;
                return -1;
        }
        fd = socket(domain, type | SOCK_CLOEXEC, protocol);
        saved = errno;
        if (setns(self_fd, CLONE_NEWNET) < 0)
                abort();        /* this thread would be left in the wrong namespace */
        close(ns_fd);
        close(self_fd);
        errno = saved;
        return fd;
}

pid_t forwarder_start(const char *path, const char *mode, int fd_a, int fd_b, const char *extra1,
                      const char *extra2, int *ret_out) {
        char a[16], b[16];
        char *argv[8] = { (char *) path, (char *) mode, a, b, NULL };
        int keep[2] = { fd_a, fd_b };
        int pipefd[2];
        pid_t pid;

        snprintf(a, sizeof(a), "%d", fd_a);
        snprintf(b, sizeof(b), "%d", fd_b);
        argv[4] = (char *) extra1;
        argv[5] = extra1 ? (char *) extra2 : NULL;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -1;
        pid = spawn_quiet(argv, keep, 2, pipefd[1]);
        close(pipefd[1]);
        if (pid < 0) {
                close(pipefd[0]);
                return -1;
        }
        *ret_out = pipefd[0];
        return pid;
}

unsigned count_open_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        unsigned n = 0;

        if (!d)
                return 0;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1;   /* the directory's own fd */
}

ssize_t recv_retry(int fd, void *buf, size_t len, int flags) {
        ssize_t n;

        do
                n = recv(fd, buf, len, flags);
        while (n < 0 && errno == EINTR);
        return n;
}

int write_all(int fd, const void *buf, size_t len) {
        const uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                len -= n;
        }
        return 0;
}
