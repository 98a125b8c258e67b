/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tund-netns-helper: does one thing tund may not do itself, inside the network namespace a
 * TUN device of tund's moved to, and exits. Started per connection by socket activation
 * (Accept=yes, tund-netns-helper.socket) on a socket only tund's user may connect to. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "log.h"
#include "macro.h"
#include "netns-helper-request.h"

#define FDS_MAX 4       /* room to see (and refuse) more fds than the two expected */

typedef struct Received {
        NetnsHelperRequest request;
        int fds[FDS_MAX];
        size_t n_fds;
} Received;

static void received_done(Received *r) {
        for (size_t i = 0; i < r->n_fds; i++)
                safe_close(r->fds[i]);
        r->n_fds = 0;
}

static void help(void) {
        printf("Usage: tund-netns-helper [OPTIONS...]\n"
               "\n"
               "Acts for tund inside the network namespace one of its TUN devices moved to:\n"
               "one request on the connection socket-activation hands over (fd 3), then exits.\n"
               "Not meant to be run by hand; see tund(8).\n"
               "\n"
               "  -h --help     Show this help and exit\n"
               "     --version  Show the version and exit\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100 };
        static const struct option options[] = {
                { "help",    no_argument, NULL, 'h'         },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("tund-netns-helper %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "tund-netns-helper takes no arguments.");
        return 1;
}

/* The peer must be the user who owns the listening socket (tund's), or root. */
static int check_peer(int fd) {
        struct sockaddr_un sa = {};
        socklen_t sa_len = sizeof(sa);
        struct ucred cred;
        socklen_t cred_len = sizeof(cred);
        struct stat st;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0)
                return log_error_errno(errno, "Failed to read the peer's credentials: %m");
        if (getsockname(fd, (struct sockaddr *) &sa, &sa_len) < 0)
                return log_error_errno(errno, "Failed to read the socket's address: %m");
        if (sa_len <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] != '/')
                return log_error_errno(EPERM, "The socket has no path whose owner could be checked; refusing.");
        if (stat(sa.sun_path, &st) < 0)
                return log_error_errno(errno, "Failed to stat %s: %m", sa.sun_path);
        if (cred.uid != 0 && cred.uid != st.st_uid)
                return log_error_errno(EPERM, "Peer %d (uid %u) is not the socket's owner %u; refusing.",
                                       (int) cred.pid, (unsigned) cred.uid, (unsigned) st.st_uid);
        return 0;
}

static void take_fds(struct msghdr *msg, Received *ret) {
        for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
                size_t n;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n && ret->n_fds < FDS_MAX; i++)
                        memcpy(&ret->fds[ret->n_fds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
}

/* One request: exactly the struct and two fds, or -EBADMSG. */
static int receive_request(int fd, Received *ret) {
        union {
                struct cmsghdr header;
                uint8_t space[CMSG_SPACE(FDS_MAX * sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = &ret->request, .iov_len = sizeof(ret->request) };
        struct msghdr msg = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        ssize_t n;

        n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_TRUNC);
        if (n < 0)
                return log_error_errno(errno, "Failed to read the request: %m");
        take_fds(&msg, ret);
        if (msg.msg_flags & MSG_CTRUNC)
                return log_error_errno(EBADMSG, "The request carried more fds than it may; refusing.");
        if ((size_t) n != sizeof(ret->request))
                return log_error_errno(EBADMSG, "The request is %zd bytes, not %zu; refusing.", n, sizeof(ret->request));
        if (ret->n_fds != 2)
                return log_error_errno(EBADMSG, "The request carried %zu fds, not 2; refusing.", ret->n_fds);
        return 0;
}

static int send_reply(int fd, const NetnsHelperReply *reply, size_t size) {
        if (send(fd, reply, size, MSG_NOSIGNAL) != (ssize_t) size)
                return log_error_errno(errno, "Failed to send the reply: %m");
        return 0;
}

static int serve(int fd) {
        _cleanup_free_ NetnsHelperReply *reply = NULL;
        _cleanup_(received_done) Received rcv = {};
        size_t size = sizeof(*reply);
        const char *op;
        int r;

        reply = calloc(1, NETNS_HELPER_REPLY_MAX);
        if (!reply)
                return log_oom();
        reply->magic = NETNS_HELPER_MAGIC;

        /* Read first, refuse after: closing with the request unread would reset the
         * connection, and the peer would see no answer. */
        r = receive_request(fd, &rcv);
        if (r >= 0)
                r = check_peer(fd);
        if (r >= 0)
                r = netns_helper_request_validate(&rcv.request);
        if (r >= 0)
                r = netns_helper_check_fds(rcv.fds[0], rcv.fds[1]);
        op = netns_helper_op_to_string(rcv.request.op);
        if (r < 0) {
                log_warning_errno(r, "Refused request %s for link %d: %m", strna(op), rcv.request.ifindex);
                reply->error = r;
        } else {
                size = netns_helper_request_run(&rcv.request, rcv.fds[0], rcv.fds[1], reply);
                if (reply->error < 0)
                        log_notice_errno(reply->error, "%s on link %d failed: %m", op, rcv.request.ifindex);
                else
                        log_debug("%s on link %d done.", op, rcv.request.ifindex);
        }
        return send_reply(fd, reply, size);
}

static int run(int argc, char *argv[]) {
        int n, r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        n = sd_listen_fds(true);
        if (n < 0)
                return log_error_errno(n, "Failed to read the fds socket activation passed: %m");
        if (n != 1)
                return log_error_errno(EINVAL, "Expected one connection from socket activation (Accept=yes), got %d fds.", n);
        r = sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_SEQPACKET, 0, NULL, 0);
        if (r <= 0)
                return log_error_errno(r < 0 ? r : EINVAL, "fd 3 is not a connected SOCK_SEQPACKET socket: %m");
        r = netns_helper_set_timeouts(SD_LISTEN_FDS_START);
        if (r < 0)
                return log_error_errno(r, "Failed to set the socket's timeouts: %m");
        return serve(SD_LISTEN_FDS_START);
}

int main(int argc, char *argv[]) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
