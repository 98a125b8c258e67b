/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <string.h>

#include "macro.h"
#include "nl-util.h"
#include "rtnl.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put);

int rtnl_open(struct nl_sock **ret) {
        struct nl_sock *sk;
        int r;

        sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0) {
                nl_socket_free(sk);
                return nl_error_to_errno(r);
        }
        *ret = sk;
        return 0;
}

void rtnl_close(struct nl_sock *sk) {
        nl_socket_free(sk);     /* closes it too */
}

int rtnl_find_tun(struct nl_sock *sk, const char *name, int *ret_ifindex) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        const char *type;
        int r;

        r = rtnl_link_get_kernel(sk, 0, name, &link);
        if (r < 0)
                return nl_error_to_errno(r);
        type = rtnl_link_get_type(link);
        if (!type || strcmp(type, "tun") != 0)
                return -ENODEV;
        *ret_ifindex = rtnl_link_get_ifindex(link);
        return 0;
}
