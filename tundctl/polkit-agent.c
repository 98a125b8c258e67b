/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "polkit-agent.h"

#ifndef POLKIT_AGENT_BINARY_PATH
#define POLKIT_AGENT_BINARY_PATH "/usr/bin/pkttyagent"
#endif

/* How long the agent may take to register before the call goes ahead without it. */
#define AGENT_REGISTER_TIMEOUT_MS (10 * 1000)

static pid_t agent_pid;

/* The child: a clean signal mask, a terminal on stdout, no fds of ours but the notify fd. */
static void agent_exec(int notify_fd) {
        char fd_text[16];
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (!isatty(STDOUT_FILENO)) {
                int tty = open("/dev/tty", O_WRONLY | O_NOCTTY);
                if (tty >= 0) {
                        dup2(tty, STDOUT_FILENO);
                        dup2(tty, STDERR_FILENO);
                        if (tty > STDERR_FILENO)
                                close(tty);
                }
        }
        for (int fd = STDERR_FILENO + 1; fd < 1024; fd++)
                if (fd != notify_fd)
                        close(fd);
        snprintf(fd_text, sizeof(fd_text), "%d", notify_fd);
        execl(POLKIT_AGENT_BINARY_PATH, POLKIT_AGENT_BINARY_PATH, "--notify-fd", fd_text,
              "--fallback", (char *) NULL);
        _exit(EXIT_FAILURE);
}

int polkit_agent_open(void) {
        _cleanup_close_ int read_fd = -EBADF;
        int fds[2];

        if (agent_pid > 0 || geteuid() == 0 || !isatty(STDIN_FILENO))
                return 0;
        if (access(POLKIT_AGENT_BINARY_PATH, X_OK) < 0)
                return 0;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        read_fd = fds[0];
        fflush(stdout);
        fflush(stderr);
        agent_pid = fork();
        if (agent_pid < 0) {
                agent_pid = 0;
                safe_close(fds[1]);
                return negative_errno();
        }
        if (agent_pid == 0) {
                int fd = fcntl(fds[1], F_DUPFD, 3);     /* without O_CLOEXEC */
                agent_exec(fd);
        }
        safe_close(fds[1]);

        /* The agent closes its end once it is registered (or when it dies). */
        struct pollfd p = { .fd = read_fd, .events = POLLIN };
        (void) poll(&p, 1, AGENT_REGISTER_TIMEOUT_MS);
        return 1;
}

void polkit_agent_close(void) {
        if (agent_pid <= 0)
                return;
        (void) kill(agent_pid, SIGTERM);
        (void) kill(agent_pid, SIGCONT);
        (void) waitpid(agent_pid, NULL, 0);
        agent_pid = 0;
}
