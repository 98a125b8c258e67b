/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What tund asks the namespace helper (service/netns-helper/), over a SOCK_SEQPACKET
 * connection of its own per request: one request, one reply, then the helper exits.
 *
 * The request carries two fds (SCM_RIGHTS): the TUN fd of the device, and the network
 * namespace (nsfs) fd it lives in. The helper acts only on that device in that namespace:
 * the namespace must be the one the TUN is in, and the ifindex that TUN's there. Both sides
 * come from the same build, so the structs go as they are. */

#include <stdint.h>

#include "rtnl-addr.h"

#define NETNS_HELPER_MAGIC UINT32_C(0x746e6831)         /* "tnh1" */
#define NETNS_HELPER_ROUTES_MAX 1024u
/* How long either side waits for the other. */
#define NETNS_HELPER_TIMEOUT_USEC (5 * 1000000ULL)

typedef enum NetnsHelperOp {
        NETNS_HELPER_SET_MTU = 1,
        NETNS_HELPER_ADD_ADDRESS,
        NETNS_HELPER_REMOVE_ADDRESS,
        NETNS_HELPER_ADD_ROUTE,
        NETNS_HELPER_REMOVE_ROUTE,
        NETNS_HELPER_DUMP_ROUTES,
        _NETNS_HELPER_OP_MAX,
} NetnsHelperOp;

typedef struct NetnsHelperRequest {
        uint32_t magic;
        uint32_t op;                    /* NetnsHelperOp */
        int32_t ifindex;                /* in the namespace of the request */
        uint32_t mtu;                   /* SET_MTU */
        NetAddress address;             /* ADD_ADDRESS, REMOVE_ADDRESS */
        NetRoute route;                 /* ADD_ROUTE, REMOVE_ROUTE */
} NetnsHelperRequest;

typedef struct NetnsHelperReply {
        uint32_t magic;
        int32_t error;                  /* 0, or the -errno of the refusal or the kernel */
        uint32_t n_routes;              /* DUMP_ROUTES */
        uint32_t truncated;             /* more routes than NETNS_HELPER_ROUTES_MAX */
        NetRoute routes[];
} NetnsHelperReply;

#define NETNS_HELPER_REPLY_MAX (sizeof(NetnsHelperReply) + NETNS_HELPER_ROUTES_MAX * sizeof(NetRoute))

/* "set-mtu", ...; NULL for an unknown op. */
const char *netns_helper_op_to_string(NetnsHelperOp op);
/* Both directions of fd time out after NETNS_HELPER_TIMEOUT_USEC (EAGAIN). */
int netns_helper_set_timeouts(int fd);
