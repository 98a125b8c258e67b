/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The checks and the work of one request to the namespace helper. */

#include "netns-helper-protocol.h"

/* 0 when the request is one the helper does, -EOPNOTSUPP for an operation it does not
 * know, -EINVAL for arguments out of range. Pure: no I/O. */
int netns_helper_request_validate(const NetnsHelperRequest *request);

/* Whether the two fds are a TUN device and the network namespace it lives in: 0, or
 * -EPERM (another namespace, not a TUN, not a namespace). */
int netns_helper_check_fds(int tun_fd, int netns_fd);

/* Enters the namespace of netns_fd, checks that the TUN of tun_fd is link ifindex there
 * (-EPERM otherwise), and does the request. Fills reply (DUMP_ROUTES: routes, room for
 * NETNS_HELPER_ROUTES_MAX) and returns its size. */
size_t netns_helper_request_run(const NetnsHelperRequest *request, int tun_fd, int netns_fd,
                                NetnsHelperReply *reply);
