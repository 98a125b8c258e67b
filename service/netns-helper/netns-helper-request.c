/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "log.h"
#include "macro.h"
#include "netns-helper-request.h"
#include "netns.h"
#include "rtnl.h"
#include "tun.h"

#define MTU_MIN 68u
#define MTU_MAX 65535u

static unsigned family_bits(int family) {
        return family == AF_INET ? 32 : family == AF_INET6 ? 128 : 0;
}

static int validate_address(const NetAddress *a) {
        unsigned bits = family_bits(a->family);

        return bits > 0 && a->prefixlen <= bits ? 0 : -EINVAL;
}

static int validate_route(const NetRoute *r) {
        unsigned bits = family_bits(r->family);

        if (bits == 0 || r->dst_len > bits)
                return -EINVAL;
        /* The local table holds the kernel's routes of addresses: never touched. */
        if (r->table == RT_TABLE_UNSPEC || r->table == RT_TABLE_LOCAL)
                return -EINVAL;
        return 0;
}

int netns_helper_request_validate(const NetnsHelperRequest *request) {
        if (request->magic != NETNS_HELPER_MAGIC)
                return -EBADMSG;
        if (request->ifindex <= 0)
                return -EINVAL;
        switch (request->op) {
        case NETNS_HELPER_SET_MTU:
                return request->mtu >= MTU_MIN && request->mtu <= MTU_MAX ? 0 : -EINVAL;
        case NETNS_HELPER_ADD_ADDRESS:
        case NETNS_HELPER_REMOVE_ADDRESS:
                return validate_address(&request->address);
        case NETNS_HELPER_ADD_ROUTE:
        case NETNS_HELPER_REMOVE_ROUTE:
                return validate_route(&request->route);
        case NETNS_HELPER_DUMP_ROUTES:
                return 0;
        default:
                return -EOPNOTSUPP;
        }
}

static int same_file(int a, int b) {
        struct stat sa, sb;

        if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
                return negative_errno();
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int netns_helper_check_fds(int tun_fd, int netns_fd) {
        _cleanup_close_ int tun_netns_fd = -EBADF;
        char name[IFNAMSIZ];
        int r;

        if (ioctl(netns_fd, NS_GET_NSTYPE) != CLONE_NEWNET)
                return log_error_errno(EPERM, "The namespace fd is not a network namespace.");
        if (tun_get_info(tun_fd, name, NULL) < 0)
                return log_error_errno(EPERM, "The device fd is not a TUN device's.");
        tun_netns_fd = netns_open_of_tun(tun_fd);
        if (tun_netns_fd < 0)
                return log_error_errno(EPERM, "Failed to find the namespace of %s: %s", name, strerror(-tun_netns_fd));
        r = same_file(tun_netns_fd, netns_fd);
        if (r < 0)
                return log_error_errno(r, "Failed to compare namespaces: %m");
        if (r == 0)
                return log_error_errno(EPERM, "The namespace fd is not the namespace %s lives in.", name);
        return 0;
}

/* In the namespace entered: whether the TUN is the link the request names. */
static int check_link(int tun_fd, int ifindex) {
        char name[IFNAMSIZ];
        int r;

        r = tun_get_info(tun_fd, name, NULL);
        if (r < 0)
                return log_error_errno(EPERM, "Failed to read the name of the TUN device: %s", strerror(-r));
        if ((int) if_nametoindex(name) != ifindex)
                return log_error_errno(EPERM, "Link %d is not the TUN device %s; refusing.", ifindex, name);
        return 0;
}

static int set_mtu(int ifindex, uint32_t mtu) {
        struct ifreq ifr = { .ifr_mtu = (int) mtu };
        _cleanup_close_ int fd = -EBADF;

        if (!if_indextoname((unsigned) ifindex, ifr.ifr_name))
                return negative_errno();
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        return ioctl(fd, SIOCSIFMTU, &ifr) < 0 ? negative_errno() : 0;
}

static void keep_route(const NetRoute *route, void *userdata) {
        NetnsHelperReply *reply = userdata;

        if (reply->n_routes >= NETNS_HELPER_ROUTES_MAX) {
                reply->truncated = 1;
                return;
        }
        reply->routes[reply->n_routes++] = *route;
}

static int change(const NetnsHelperRequest *request) {
        _cleanup_(rtnl_closep) struct nl_sock *rtnl = NULL;
        int r;

        r = rtnl_open(&rtnl);
        if (r < 0)
                return r;
        switch (request->op) {
        case NETNS_HELPER_ADD_ADDRESS:
                return rtnl_address_add(rtnl, request->ifindex, &request->address);
        case NETNS_HELPER_REMOVE_ADDRESS:
                return rtnl_address_remove(rtnl, request->ifindex, &request->address);
        case NETNS_HELPER_ADD_ROUTE:
                return rtnl_route_add(rtnl, request->ifindex, &request->route);
        case NETNS_HELPER_REMOVE_ROUTE:
                return rtnl_route_remove(rtnl, request->ifindex, &request->route);
        default:
                return -EOPNOTSUPP;
        }
}

static int run(const NetnsHelperRequest *request, int tun_fd, int netns_fd, NetnsHelperReply *reply) {
        int r;

        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return log_error_errno(errno, "Failed to enter the device's namespace: %m");
        r = check_link(tun_fd, request->ifindex);
        if (r < 0)
                return r;
        switch (request->op) {
        case NETNS_HELPER_SET_MTU:
                return set_mtu(request->ifindex, request->mtu);
        case NETNS_HELPER_DUMP_ROUTES:
                return rtnl_route_dump(request->ifindex, keep_route, reply);
        default:
                return change(request);
        }
}

size_t netns_helper_request_run(const NetnsHelperRequest *request, int tun_fd, int netns_fd,
                                NetnsHelperReply *reply) {
        reply->error = run(request, tun_fd, netns_fd, reply);
        if (reply->error < 0)
                reply->n_routes = 0;
        return sizeof(*reply) + reply->n_routes * sizeof(NetRoute);
}
