/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asynchronous authorization through polkit's CheckAuthorization. A method handler calls
 * polkit_verify() at its top; when polkit must be asked, it returns 0 and the handler
 * returns without replying. Once polkit answered, the same message is dispatched again,
 * the handler runs again from the start, and this time polkit_verify() returns the
 * answer. The event loop keeps serving other callers meanwhile.
 *
 * Checks are bounded (Limits): so many waiting per calling user, so many outstanding in
 * all, and each answers within the timeout (AccessDenied when polkit did not). A check
 * whose caller left the bus ends at once and its answer is never acted on. */

#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "tund-limits.h"

typedef struct PolkitRegistry PolkitRegistry;

/* limits is borrowed and read at each check. */
int polkit_registry_new(PolkitRegistry **ret, sd_event *event, const Limits *limits);
PolkitRegistry *polkit_registry_free(PolkitRegistry *reg);

/* actions: a NULL-terminated array of static action ids; all of them must be allowed. uid:
 * the caller's, as the bus reported it; uid 0 is allowed without asking. Returns 1 when
 * allowed, 0 when the answer is pending, or a negative errno with error set (AccessDenied,
 * InteractiveAuthorizationRequired, LimitsExceeded) when not allowed. */
int polkit_verify(PolkitRegistry *reg, sd_bus_message *m, uid_t uid,
                  const char *const *actions, sd_bus_error *error);

/* The bus peer NAME left: its checks end and are never acted on. */
void polkit_registry_peer_gone(PolkitRegistry *reg, const char *name);
