/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "log.h"
#include "macro.h"
#include "netns-helper-client.h"
#include "netns.h"

static int helper_connect(const char *socket_path, int *ret_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (strlen(socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, socket_path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        r = netns_helper_set_timeouts(fd);
        if (r < 0)
                return r;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                r = negative_errno();
                log_warning_errno(r, "Failed to reach the namespace helper on %s: %m", socket_path);
                return -ECONNREFUSED;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int send_request(int fd, int tun_fd, int netns_fd, const NetnsHelperRequest *request) {
        union {
                struct cmsghdr header;
                uint8_t space[CMSG_SPACE(2 * sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = (void *) request, .iov_len = sizeof(*request) };
        struct msghdr msg = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        int fds[2] = { tun_fd, netns_fd };

        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(fds));
        memcpy(CMSG_DATA(c), fds, sizeof(fds));
        if (sendmsg(fd, &msg, MSG_NOSIGNAL) != (ssize_t) sizeof(*request))
                return errno == EAGAIN ? -ETIME : negative_errno();
        return 0;
}

static int receive_reply(int fd, NetnsHelperReply **ret) {
        _cleanup_free_ NetnsHelperReply *reply = NULL;
        ssize_t n;

        reply = calloc(1, NETNS_HELPER_REPLY_MAX);
        if (!reply)
                return -ENOMEM;
        n = recv(fd, reply, NETNS_HELPER_REPLY_MAX, MSG_TRUNC);
        if (n < 0)
                return errno == EAGAIN ? -ETIME : negative_errno();
        if ((size_t) n < sizeof(*reply) || (size_t) n > NETNS_HELPER_REPLY_MAX ||
            reply->magic != NETNS_HELPER_MAGIC || reply->error > 0 ||
            reply->n_routes > NETNS_HELPER_ROUTES_MAX ||
            (size_t) n != sizeof(*reply) + reply->n_routes * sizeof(NetRoute))
                return -EBADE;
        *ret = TAKE_PTR(reply);
        return 0;
}

int netns_helper_call(const char *socket_path, int tun_fd, const NetnsHelperRequest *request,
                      NetnsHelperReply **ret_reply) {
        _cleanup_free_ NetnsHelperReply *reply = NULL;
        _cleanup_close_ int fd = -EBADF, netns_fd = -EBADF;
        const char *op = netns_helper_op_to_string(request->op);
        int r;

        netns_fd = netns_open_of_tun(tun_fd);
        if (netns_fd < 0)
                return netns_fd;
        r = helper_connect(socket_path, &fd);
        if (r < 0)
                return r;
        r = send_request(fd, tun_fd, netns_fd, request);
        if (r >= 0)
                r = receive_reply(fd, &reply);
        if (r == -ECONNRESET || r == -EPIPE)
                r = -EBADE;             /* the helper went away without a reply */
        if (r < 0)
                return log_warning_errno(r, "The namespace helper on %s gave no answer to %s: %m",
                                         socket_path, strna(op));
        r = reply->error;
        if (r >= 0 && ret_reply)
                *ret_reply = TAKE_PTR(reply);
        return r;
}
