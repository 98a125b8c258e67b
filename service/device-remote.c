/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* What a device does in another network namespace: through the namespace helper
 * (netns-helper-client.h), which enters it for tund. */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device.h"
#include "log.h"
#include "netns-helper-client.h"
#include "netns.h"

/* How long a list of routes read there is shown again. */
#define REMOTE_ROUTES_FRESH_USEC 1000000ULL

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

void device_remote_forget(Device *d) {
        free(d->remote.routes);
        d->remote.routes = NULL;
        d->remote.n_routes = 0;
        d->remote_routes_usec = 0;
}

/* Sends request (its op and arguments) for d's link, numbered as the namespace it is in
 * now numbers it. */
static int remote_call(Device *d, NetnsHelperRequest *request, NetnsHelperReply **ret_reply) {
        LinkState s;
        int r;

        if (!d->ctx->netns_helper_socket)
                return -ECONNREFUSED;
        r = netns_tun_get_link(d->ctx->rtnl, d->tun_fd, &s);
        if (r < 0)
                return r;
        request->magic = NETNS_HELPER_MAGIC;
        request->ifindex = s.ifindex;

        r = netns_helper_call(d->ctx->netns_helper_socket, d->tun_fd, request, ret_reply);
        if (request->op != NETNS_HELPER_DUMP_ROUTES)
                device_remote_forget(d);        /* what changed there is read again */
        if (r < 0 && !netns_helper_error_is_transport(r))
                log_debug_errno(r, "The namespace helper's %s on %s: %m",
                                netns_helper_op_to_string(request->op), d->name);
        return r;
}

int device_remote_set_mtu(Device *d, uint32_t mtu) {
        return remote_call(d, &(NetnsHelperRequest) { .op = NETNS_HELPER_SET_MTU, .mtu = mtu }, NULL);
}

int device_remote_change_address(Device *d, bool add, const NetAddress *a) {
        NetnsHelperRequest request = {
                .op = add ? NETNS_HELPER_ADD_ADDRESS : NETNS_HELPER_REMOVE_ADDRESS,
                .address = *a,
        };

        return remote_call(d, &request, NULL);
}

int device_remote_change_route(Device *d, bool add, const NetRoute *route) {
        NetnsHelperRequest request = {
                .op = add ? NETNS_HELPER_ADD_ROUTE : NETNS_HELPER_REMOVE_ROUTE,
                .route = *route,
        };

        return remote_call(d, &request, NULL);
}

static int remote_routes_read(Device *d) {
        _cleanup_free_ NetnsHelperReply *reply = NULL;
        NetnsHelperRequest request = { .op = NETNS_HELPER_DUMP_ROUTES };
        NetRoute *routes = NULL;
        int r;

        r = remote_call(d, &request, &reply);
        if (r < 0)
                return r;
        if (reply->truncated)
                log_notice("%s has more than %u routes in its namespace; Routes shows the first %u.",
                           d->name, NETNS_HELPER_ROUTES_MAX, NETNS_HELPER_ROUTES_MAX);
        if (reply->n_routes > 0) {
                routes = malloc(reply->n_routes * sizeof(NetRoute));
                if (!routes)
                        return -ENOMEM;
                memcpy(routes, reply->routes, reply->n_routes * sizeof(NetRoute));
        }
        device_remote_forget(d);
        d->remote.routes = routes;
        d->remote.n_routes = reply->n_routes;
        d->remote_routes_usec = now_usec();
        return 0;
}

int device_remote_foreach_route(Device *d, void (*func)(const NetRoute *r, void *userdata), void *userdata) {
        int r;

        if (d->remote_routes_usec == 0 || now_usec() - d->remote_routes_usec >= REMOTE_ROUTES_FRESH_USEC) {
                r = remote_routes_read(d);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < d->remote.n_routes; i++)
                func(&d->remote.routes[i], userdata);
        return 0;
}
