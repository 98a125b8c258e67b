/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "terminal.h"

static pid_t pager_pid;

bool stdout_is_tty(void) {
        static int cached = -1;
        if (cached < 0)
                cached = isatty(STDOUT_FILENO);
        return cached;
}

static bool term_is_dumb(void) {
        const char *t = getenv("TERM");
        return t && strcmp(t, "dumb") == 0;
}

bool colors_enabled(void) {
        static int cached = -1;
        if (cached < 0)
                cached = stdout_is_tty() && !getenv("NO_COLOR") && !term_is_dumb();
        return cached;
}

bool cursor_moves_enabled(void) {
        return stdout_is_tty() && !term_is_dumb();
}

/* False when the pager is turned off ("" or "cat"); *COMMAND is NULL for the default. */
static bool pager_wanted(const char **command) {
        const char *p = getenv("TUNDCTL_PAGER");
        if (!p)
                p = getenv("PAGER");
        if (p && (p[0] == '\0' || strcmp(p, "cat") == 0))
                return false;
        *command = p;
        return true;
}

static void pager_exec(int fd, const char *command) {
        sigset_t all;

        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (dup2(fd, STDIN_FILENO) < 0)
                _exit(EXIT_FAILURE);
        if (fd != STDIN_FILENO)
                close(fd);
        setenv("LESS", "FRSXMK", 0);
        if (!getenv("LESSCHARSET"))
                setenv("LESSCHARSET", "utf-8", 0);
        if (command)
                execl("/bin/sh", "sh", "-c", command, (char *) NULL);
        else {
                execlp("less", "less", (char *) NULL);
                execlp("more", "more", (char *) NULL);
        }
        /* No pager at all: copy through. */
        char buf[4096];
        ssize_t n;
        while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
                if (write(STDOUT_FILENO, buf, (size_t) n) != n)
                        break;
        _exit(EXIT_SUCCESS);
}

void pager_open(void) {
        const char *command = NULL;
        int fds[2];

        if (pager_pid > 0 || !stdout_is_tty() || !pager_wanted(&command))
                return;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return;
        fflush(stdout);
        pager_pid = fork();
        if (pager_pid < 0) {
                pager_pid = 0;
                close(fds[0]);
                close(fds[1]);
                return;
        }
        if (pager_pid == 0) {
                close(fds[1]);
                pager_exec(fds[0], command);
        }
        close(fds[0]);
        if (dup2(fds[1], STDOUT_FILENO) < 0)
                fprintf(stderr, "Failed to start the pager.\n");
        close(fds[1]);
}

void pager_close(void) {
        if (pager_pid <= 0)
                return;
        fflush(stdout);
        close(STDOUT_FILENO);
        (void) waitpid(pager_pid, NULL, 0);
        pager_pid = 0;
}
