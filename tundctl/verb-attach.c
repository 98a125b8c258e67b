/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tundctl attach: a program runs with a packet fd of a device as its fd 3, opened through
 * libtund, so that one written for an inherited TUN fd needs neither root nor D-Bus. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "tund.h"
#include "tundctl.h"

#define ATTACH_FD 3

static const char *mode_name(enum tund_mode mode) {
        switch (mode) {
        case TUND_MODE_PACKET: return "packet";
        case TUND_MODE_BATCH:  return "batch";
        default:               return "vnet";
        }
}

/* FD as ATTACH_FD, kept across exec. */
static int move_to_attach_fd(int fd) {
        if (fd != ATTACH_FD && dup2(fd, ATTACH_FD) < 0)
                return negative_errno();
        return fcntl(ATTACH_FD, F_SETFD, 0) < 0 ? negative_errno() : 0;
}

static int set_environment(const char *device, enum tund_mode mode) {
        char fd[16];

        snprintf(fd, sizeof(fd), "%d", ATTACH_FD);
        if (setenv("TUND_FD", fd, 1) < 0 || setenv("TUND_MODE", mode_name(mode), 1) < 0 ||
            setenv("TUND_DEVICE", device, 1) < 0)
                return negative_errno();
        return 0;
}

int verb_attach(Ctl *ctl, int argc, char **argv) {
        struct tund_options o = tund_options_init(TUND_MODE_PACKET);
        tund_fd *t = NULL;
        int r;

        if (tund_options_parse_mode(&o, ctl->attach_mode ?: "packet") < 0 || o.mode == TUND_MODE_RING) {
                fprintf(stderr, "tundctl: attach: mode \"%s\" cannot be handed on (packet, batch or vnet; "
                        "a program that wants mode ring opens it with libtund itself).\n", ctl->attach_mode);
                return EXIT_INVALID;
        }

        /* libtund's own connection: it asks no password, so this is for the device's owner
         * (or whoever polkit allows without asking). */
        r = tund_open(NULL, argv[0], &o, &t);
        if (r < 0)
                return ctl_fail(r, NULL, "Failed to open a packet fd of %s", argv[0]);
        r = move_to_attach_fd(tund_get_fd(t));
        if (r >= 0)
                r = set_environment(argv[0], (enum tund_mode) o.mode);
        if (r < 0) {
                tund_fd_free(t);
                return ctl_fail(r, NULL, "Failed to hand on the packet fd of %s", argv[0]);
        }

        execvp(argv[1], argv + 1);
        /* As env(1) and the shells say it: 127 not found, 126 found but not run. */
        r = errno;
        tund_fd_free(t);
        fprintf(stderr, "tundctl: Failed to run %s: %s\n", argv[1], strerror(r));
        return r == ENOENT ? 127 : 126;
}
