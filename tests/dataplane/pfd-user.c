/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A packet fd client for the authorization tests, run as a test user via setpriv:
 *
 *   pfd-user DEVICE-PATH [LOCAL-IPV4 PEER-IPV4 PORT]
 *
 * Calls OpenPacketFd on the device over $DBUS_SYSTEM_BUS_ADDRESS and prints
 * "error NAME" (and exits 0) or "opened". With addresses it then uses the fd as a TUN fd:
 * it writes a UDP datagram "pfd-user" from LOCAL:PORT+1 to PEER:PORT until a valid UDP
 * packet "pfd-reply" to LOCAL:PORT+1 comes back on the fd, prints "received" and exits 0.
 * It gives up after about a minute (exit 1). */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "packet-check.h"

#define REQUEST "pfd-user"
#define REPLY "pfd-reply"

static int open_packet_fd(const char *path) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus *bus = NULL;
        int fd = -1, r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "Failed to connect to the system bus: %s\n", strerror(-r));
                exit(EXIT_FAILURE);
        }
        r = sd_bus_call_method(bus, "org.example.Tun1", path, "org.example.Tun1.Device", "OpenPacketFd",
                               &error, &reply, "a{sv}", 0);
        if (r < 0)
                printf("error %s\n", error.name ? error.name : "(none)");
        else if (sd_bus_message_read(reply, "h", &fd) > 0)
                fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);     /* the message owns the one it read */
        else
                printf("error (bad-reply)\n");
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_flush_close_unref(bus);
        return fd;
}

static bool is_reply(const uint8_t *pkt, ssize_t len, const uint8_t local[4], uint16_t port) {
        if (len < 28 || packet_check(pkt, len) != NULL)
                return false;
        size_t ihl = (pkt[0] & 0x0f) * 4;
        const uint8_t *udp = pkt + ihl;
        return (pkt[0] >> 4) == 4 && pkt[9] == 17 && memcmp(pkt + 16, local, 4) == 0 &&
                (size_t) len == ihl + 8 + strlen(REPLY) &&
                ((udp[2] << 8) | udp[3]) == port && memcmp(udp + 8, REPLY, strlen(REPLY)) == 0;
}

static int exchange(int fd, const char *local_s, const char *peer_s, uint16_t port) {
        uint8_t local[4], peer[4], out[64], in[65536];
        size_t len;

        if (inet_pton(AF_INET, local_s, local) != 1 || inet_pton(AF_INET, peer_s, peer) != 1)
                return EXIT_FAILURE;
        len = packet_build_udp4(out, local, peer, port + 1, port, REQUEST, strlen(REQUEST));
        for (unsigned i = 0; i < 300; i++) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (send(fd, out, len, 0) != (ssize_t) len) {
                        printf("send failed: %s\n", strerror(errno));
                        return EXIT_FAILURE;
                }
                while (poll(&p, 1, 200) > 0) {
                        ssize_t n = recv(fd, in, sizeof(in), 0);
                        if (n <= 0) {
                                printf("recv: %s\n", n == 0 ? "end-of-file" : strerror(errno));
                                return EXIT_FAILURE;
                        }
                        if (is_reply(in, n, local, port + 1)) {
                                printf("received\n");
                                return EXIT_SUCCESS;
                        }
                }
        }
        printf("no reply\n");
        return EXIT_FAILURE;
}

int main(int argc, char *argv[]) {
        int fd, r = EXIT_SUCCESS;

        if (argc != 2 && argc != 5) {
                fprintf(stderr, "Usage: %s DEVICE-PATH [LOCAL-IPV4 PEER-IPV4 PORT]\n", argv[0]);
                return EXIT_FAILURE;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        fd = open_packet_fd(argv[1]);
        if (fd < 0)
                return EXIT_SUCCESS;
        printf("opened\n");
        if (argc == 5)
                r = exchange(fd, argv[2], argv[3], (uint16_t) atoi(argv[4]));
        close(fd);
        return r;
}
