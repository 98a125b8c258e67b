/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The namespace helper on its own socket, started by socket activation as the harness
 * starts it for tund: one request per connection, and the refusals — another user, another
 * device, another namespace, an operation it does not do, a malformed request. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "netns-helper-protocol.h"
#include "tb-netns.h"

typedef struct Fixture {
        char *name, *netns;
        int tun_fd, netns_fd;
        int ifindex;            /* in netns */
        const char *socket;
} Fixture;

static int open_netns(const char *netns) {
        g_autofree char *path = g_strdup_printf("/run/netns/%s", netns);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        return fd;
}

static bool fixture_set_up(Fixture *f, TbEnv *env) {
        f->socket = tb_env_netns_helper_socket(env);
        g_assert_nonnull(f->socket);
        f->name = tb_ifname("h");
        f->netns = tb_ifname("nh");
        f->tun_fd = tun_open_flags(f->name, IFF_TUN | IFF_NO_PI);
        g_assert_cmpint(f->tun_fd, >=, 0);
        if (netns_setup(f->netns, f->name, "10.77.0.1/24", NULL, 1400) < 0) {
                g_test_skip("cannot set up a network namespace");
                return false;
        }
        f->netns_fd = open_netns(f->netns);
        g_autofree char *out = NULL;
        const char *argv[] = { "ip", "-n", f->netns, "-o", "link", "show", "dev", f->name, NULL };
        g_assert_cmpint(tb_run(argv, &out, NULL), ==, 0);
        f->ifindex = atoi(out);
        g_assert_cmpint(f->ifindex, >, 0);
        return true;
}

static void fixture_tear_down(Fixture *f) {
        if (f->netns_fd > 0)
                close(f->netns_fd);
        if (f->tun_fd >= 0)
                close(f->tun_fd);
        netns_remove(f->netns);
        g_free(f->name);
        g_free(f->netns);
}

static NetnsHelperRequest request(const Fixture *f, NetnsHelperOp op) {
        return (NetnsHelperRequest) { .magic = NETNS_HELPER_MAGIC, .op = op, .ifindex = f->ifindex };
}

/* Sends SIZE bytes of REQ with N_FDS of FDS; returns the reply's error, or -1000 - errno
 * when no reply came. After setting UID when it is not 0 (in a child process). */
static int exchange_as(const char *socket_path, const void *req, size_t size, const int *fds, size_t n_fds,
                       NetnsHelperReply *reply) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        union {
                struct cmsghdr h;
                uint8_t space[CMSG_SPACE(4 * sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = (void *) req, .iov_len = size };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -1000 - errno;
        g_strlcpy(sa.sun_path, socket_path, sizeof(sa.sun_path));
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int e = errno;
                close(fd);
                return -1000 - e;
        }
        if (n_fds > 0) {
                msg.msg_control = &control;
                msg.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
                struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
                memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
        }
        struct timeval tv = { .tv_sec = 10 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0) {
                int e = errno;
                close(fd);
                return -1000 - e;
        }
        ssize_t n = recv(fd, reply, NETNS_HELPER_REPLY_MAX, 0);
        int e = errno;
        close(fd);
        if (n < (ssize_t) sizeof(*reply))
                return -1000 - (n < 0 ? e : EBADMSG);
        g_assert_cmpuint(reply->magic, ==, NETNS_HELPER_MAGIC);
        return reply->error;
}

static int exchange(const Fixture *f, const void *req, size_t size, const int *fds, size_t n_fds) {
        g_autofree NetnsHelperReply *reply = g_malloc0(NETNS_HELPER_REPLY_MAX);
        return exchange_as(f->socket, req, size, fds, n_fds, reply);
}

static int call(const Fixture *f, const NetnsHelperRequest *req) {
        int fds[] = { f->tun_fd, f->netns_fd };
        return exchange(f, req, sizeof(*req), fds, 2);
}

static bool link_shows(const Fixture *f, const char *what, const char *args) {
        g_autofree char *line = g_strdup_printf("ip -n %s %s dev %s", f->netns, args, f->name);
        g_auto(GStrv) argv = g_strsplit(line, " ", -1);
        g_autofree char *out = NULL;
        g_assert_cmpint(tb_run((const char *const *) argv, &out, NULL), ==, 0);
        return strstr(out, what) != NULL;
}

static void test_acts(void) {
        TbEnv *env = tb_test_bus_env();
        Fixture f = { .tun_fd = -1 };
        if (!env || !fixture_set_up(&f, env))
                return;

        NetnsHelperRequest req = request(&f, NETNS_HELPER_SET_MTU);
        req.mtu = 1280;
        g_assert_cmpint(call(&f, &req), ==, 0);
        g_assert_true(link_shows(&f, "mtu 1280", "link show"));

        req = request(&f, NETNS_HELPER_ADD_ADDRESS);
        req.address = (NetAddress) { .family = AF_INET, .prefixlen = 24 };
        inet_pton(AF_INET, "10.78.0.1", &req.address.local);
        g_assert_cmpint(call(&f, &req), ==, 0);
        g_assert_true(link_shows(&f, "10.78.0.1/24", "address show"));
        g_assert_cmpint(call(&f, &req), ==, -EEXIST);

        NetnsHelperRequest route = request(&f, NETNS_HELPER_ADD_ROUTE);
        route.route = (NetRoute) { .family = AF_INET, .dst_len = 16, .table = 254 };
        inet_pton(AF_INET, "10.79.0.0", &route.route.dst);
        g_assert_cmpint(call(&f, &route), ==, 0);
        g_assert_true(link_shows(&f, "10.79.0.0/16", "route show"));

        g_autofree NetnsHelperReply *reply = g_malloc0(NETNS_HELPER_REPLY_MAX);
        NetnsHelperRequest dump = request(&f, NETNS_HELPER_DUMP_ROUTES);
        int fds[] = { f.tun_fd, f.netns_fd };
        g_assert_cmpint(exchange_as(f.socket, &dump, sizeof(dump), fds, 2, reply), ==, 0);
        /* 10.77.0.0/24 and 10.78.0.0/24 of the addresses, 10.79.0.0/16, and fe80::/64. */
        unsigned found = 0;
        for (uint32_t i = 0; i < reply->n_routes; i++)
                found += reply->routes[i].family == AF_INET && reply->routes[i].dst_len == 16 &&
                         memcmp(&reply->routes[i].dst, &route.route.dst, 4) == 0;
        g_assert_cmpuint(found, ==, 1);
        g_assert_cmpuint(reply->n_routes, >=, 3);
        g_assert_false(reply->truncated);

        route.op = NETNS_HELPER_REMOVE_ROUTE;
        g_assert_cmpint(call(&f, &route), ==, 0);
        g_assert_false(link_shows(&f, "10.79.0.0/16", "route show"));
        g_assert_cmpint(call(&f, &route), ==, -ESRCH);
        req.op = NETNS_HELPER_REMOVE_ADDRESS;
        g_assert_cmpint(call(&f, &req), ==, 0);
        g_assert_false(link_shows(&f, "10.78.0.1", "address show"));
        fixture_tear_down(&f);
}

static void test_refuses(void) {
        TbEnv *env = tb_test_bus_env();
        Fixture f = { .tun_fd = -1 };
        if (!env || !fixture_set_up(&f, env))
                return;
        NetnsHelperRequest req = request(&f, NETNS_HELPER_SET_MTU);
        req.mtu = 1300;

        /* Another device in that namespace: its lo. */
        NetnsHelperRequest lo = req;
        lo.ifindex = 1;
        g_assert_cmpint(call(&f, &lo), ==, -EPERM);
        /* Operations it does not do, and arguments out of range. */
        NetnsHelperRequest unknown = req;
        unknown.op = 99;
        g_assert_cmpint(call(&f, &unknown), ==, -EOPNOTSUPP);
        NetnsHelperRequest tiny = req;
        tiny.mtu = 20;
        g_assert_cmpint(call(&f, &tiny), ==, -EINVAL);
        NetnsHelperRequest local = request(&f, NETNS_HELPER_ADD_ROUTE);
        local.route = (NetRoute) { .family = AF_INET, .dst_len = 8, .table = 255 };
        g_assert_cmpint(call(&f, &local), ==, -EINVAL);
        NetnsHelperRequest bad_magic = req;
        bad_magic.magic = 0;
        g_assert_cmpint(call(&f, &bad_magic), ==, -EBADMSG);
        /* Malformed: short, one fd, no fds, three fds. */
        int fds[] = { f.tun_fd, f.netns_fd, f.netns_fd };
        g_assert_cmpint(exchange(&f, &req, sizeof(req) - 1, fds, 2), ==, -EBADMSG);
        g_assert_cmpint(exchange(&f, &req, sizeof(req), fds, 1), ==, -EBADMSG);
        g_assert_cmpint(exchange(&f, &req, sizeof(req), fds, 0), ==, -EBADMSG);
        g_assert_cmpint(exchange(&f, &req, sizeof(req), fds, 3), ==, -EBADMSG);
        /* The namespace fd of another namespace (the helper's own, here), or not one. */
        int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        g_assert_cmpint(own, >=, 0);
        int wrong_ns[] = { f.tun_fd, own };
        g_assert_cmpint(exchange(&f, &req, sizeof(req), wrong_ns, 2), ==, -EPERM);
        int not_tun[] = { own, f.netns_fd };
        g_assert_cmpint(exchange(&f, &req, sizeof(req), not_tun, 2), ==, -EPERM);
        int not_ns[] = { f.tun_fd, f.tun_fd };
        g_assert_cmpint(exchange(&f, &req, sizeof(req), not_ns, 2), ==, -EPERM);
        close(own);
        g_assert_true(link_shows(&f, "mtu 1400", "link show"));

        /* Another user, even where the socket's mode lets them connect. */
        const TbUser *u = tb_env_user(env, TB_ROLE_CREATE);
        g_assert_no_errno(chmod(f.socket, 0666));
        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                static uint8_t buf[NETNS_HELPER_REPLY_MAX];
                int child_fds[] = { f.tun_fd, f.netns_fd };
                if (setresgid(u->gid, u->gid, u->gid) < 0 || setresuid(u->uid, u->uid, u->uid) < 0)
                        _exit(100);
                int r = exchange_as(f.socket, &req, sizeof(req), child_fds, 2, (NetnsHelperReply *) buf);
                _exit(r == -EPERM ? 0 : r <= -1000 ? 101 : 102);
        }
        int status;
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_no_errno(chmod(f.socket, 0600));
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        g_assert_true(link_shows(&f, "mtu 1400", "link show"));
        /* And the socket as the harness made it (SocketMode=0600): not even a connection. */
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                static uint8_t buf[NETNS_HELPER_REPLY_MAX];
                if (setresgid(u->gid, u->gid, u->gid) < 0 || setresuid(u->uid, u->uid, u->uid) < 0)
                        _exit(100);
                int r = exchange_as(f.socket, &req, sizeof(req), NULL, 0, (NetnsHelperReply *) buf);
                _exit(r == -1000 - EACCES ? 0 : 103);
        }
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);

        /* After all that, it still serves tund. */
        g_assert_cmpint(call(&f, &req), ==, 0);
        g_assert_true(link_shows(&f, "mtu 1300", "link show"));
        fixture_tear_down(&f);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/netns-helper/acts", test_acts);
        g_test_add_func("/netns-helper/refuses", test_refuses);
        return tb_test_run();
}
