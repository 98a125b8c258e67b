/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asynchronous authorization through polkit's CheckAuthorization. A method handler calls
 * polkit_verify() at its top; when polkit must be asked, it returns 0 and the handler
 * returns without replying. Once polkit answered, the same message is dispatched again,
 * the handler runs again from the start, and this time polkit_verify() returns the
 * answer. The event loop keeps serving other callers meanwhile. */

#include <systemd/sd-bus.h>

typedef struct PolkitRegistry PolkitRegistry;

int polkit_registry_new(PolkitRegistry **ret);
PolkitRegistry *polkit_registry_free(PolkitRegistry *reg);

/* actions: a NULL-terminated array of static action ids; all of them must be allowed.
 * Callers with uid 0 are allowed without asking. Returns 1 when allowed, 0 when the
 * answer is pending, or a negative errno with error set (AccessDenied or
 * InteractiveAuthorizationRequired) when not allowed. */
int polkit_verify(PolkitRegistry *reg, sd_bus_message *m, const char *const *actions,
                  sd_bus_error *error);
