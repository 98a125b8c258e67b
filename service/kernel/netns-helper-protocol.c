/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What both ends of the namespace helper's connection share. */

#include <sys/socket.h>
#include <sys/time.h>

#include "macro.h"
#include "netns-helper-protocol.h"

const char *netns_helper_op_to_string(NetnsHelperOp op) {
        static const char *const names[_NETNS_HELPER_OP_MAX] = {
                [NETNS_HELPER_SET_MTU] = "set-mtu",
                [NETNS_HELPER_ADD_ADDRESS] = "add-address",
                [NETNS_HELPER_REMOVE_ADDRESS] = "remove-address",
                [NETNS_HELPER_ADD_ROUTE] = "add-route",
                [NETNS_HELPER_REMOVE_ROUTE] = "remove-route",
                [NETNS_HELPER_DUMP_ROUTES] = "dump-routes",
        };

        return op > 0 && op < _NETNS_HELPER_OP_MAX ? names[op] : NULL;
}

int netns_helper_set_timeouts(int fd) {
        struct timeval tv = {
                .tv_sec = NETNS_HELPER_TIMEOUT_USEC / 1000000,
                .tv_usec = NETNS_HELPER_TIMEOUT_USEC % 1000000,
        };

        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return negative_errno();
        return 0;
}
