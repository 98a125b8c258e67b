/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Creates one non-persistent device and keeps its bus connection (and so the device) until
 * it gets SIGTERM, its parent dies, or SECONDS pass. Prints the device's object
 * path once it exists. Used inside the container of test-systemd, where no client stays
 * connected otherwise (busctl and dbus-send exit after their call).
 *
 * usage: tund-holder NAME SECONDS */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

int main(int argc, char **argv) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus *bus = NULL;
        const char *path;
        char *end;
        long seconds;
        int r, ret = EXIT_FAILURE;

        if (argc != 3) {
                fprintf(stderr, "usage: %s NAME SECONDS\n", argv[0]);
                return EXIT_FAILURE;
        }
        seconds = strtol(argv[2], &end, 10);
        if (*end || seconds <= 0 || seconds > 3600) {
                fprintf(stderr, "bad SECONDS: %s\n", argv[2]);
                return EXIT_FAILURE;
        }
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
                return EXIT_FAILURE;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "cannot connect to the system bus: %s\n", strerror(-r));
                goto out;
        }
        r = sd_bus_call_method(bus, "org.example.Tun1", "/org/example/Tun1",
                               "org.example.Tun1.Manager", "CreateDevice", &error, &reply,
                               "sa{sv}", argv[1], 0);
        if (r < 0) {
                fprintf(stderr, "CreateDevice: %s\n", error.message ? error.message : strerror(-r));
                goto out;
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0) {
                fprintf(stderr, "CreateDevice's reply: %s\n", strerror(-r));
                goto out;
        }
        printf("%s\n", path);
        fflush(stdout);

        /* SIGTERM (also from PR_SET_PDEATHSIG) ends it at once, by its default action. */
        for (unsigned left = (unsigned) seconds; left > 0;)
                left = sleep(left);
        ret = EXIT_SUCCESS;
out:
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_flush_close_unref(bus);
        return ret;
}
