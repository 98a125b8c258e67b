/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Connects to a SOCK_SEQPACKET unix socket and says whether it could: what a local user
 * tries against the namespace helper's socket inside the container of test-systemd.
 *
 * usage: seqpacket-connect PATH
 * Exit status 0 when connected, 2 on EACCES, 1 on any other failure. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "usage: %s PATH\n", argv[0]);
                return EXIT_FAILURE;
        }
        strcpy(sa.sun_path, argv[1]);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;
                printf("%s: %s\n", argv[1], strerror(e));
                return e == EACCES ? 2 : EXIT_FAILURE;
        }
        printf("%s: connected\n", argv[1]);
        close(fd);
        return EXIT_SUCCESS;
}
