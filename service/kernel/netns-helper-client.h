/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asking the namespace helper to act on a TUN device that lives in another network
 * namespace (netns-helper-protocol.h): what tund itself may not do there without
 * CAP_SYS_ADMIN. Each call connects, sends one request and waits for its reply, at most
 * NETNS_HELPER_TIMEOUT_USEC. */

#include "netns-helper-protocol.h"

/* Errors of the exchange itself (not of the operation), errnos that rtnetlink never
 * returns so that callers tell them apart: -ECONNREFUSED when nothing listens on
 * socket_path, -ETIME when the helper does not answer in time, -EBADE for no reply or a
 * malformed one. Otherwise the operation's own answer (0 or -errno). On success of
 * DUMP_ROUTES *ret_reply (when non-NULL) is the reply, to be freed. */
int netns_helper_call(const char *socket_path, int tun_fd, const NetnsHelperRequest *request,
                      NetnsHelperReply **ret_reply);

/* Whether r is one of the exchange's own errors above. */
static inline int netns_helper_error_is_transport(int r) {
        return r == -ECONNREFUSED || r == -ETIME || r == -EBADE;
}
