/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus-util.h"
#include "log.h"
#include "polkit.h"

/* CheckAuthorization's flag AllowUserInteraction */
#define POLKIT_ALLOW_USER_INTERACTION 1u

typedef struct PolkitQuery PolkitQuery;

struct PolkitQuery {
        PolkitRegistry *registry;
        sd_bus_message *request;        /* the method call being authorized */
        const char *const *actions;
        size_t next_action;             /* index of the action being asked about */
        sd_bus_slot *slot;              /* the pending CheckAuthorization */
        bool done;
        uint64_t done_usec;             /* CLOCK_MONOTONIC */
        int result;                     /* once done: 1, or a negative errno ... */
        sd_bus_error error;             /* ... with this error */
        PolkitQuery *prev, *next;
};

struct PolkitRegistry {
        PolkitQuery *queries;
};

int polkit_registry_new(PolkitRegistry **ret) {
        PolkitRegistry *reg = calloc(1, sizeof(*reg));

        if (!reg)
                return -ENOMEM;
        *ret = reg;
        return 0;
}

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        if (q->prev)
                q->prev->next = q->next;
        else
                q->registry->queries = q->next;
        if (q->next)
                q->next->prev = q->prev;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        sd_bus_error_free(&q->error);
        free(q);
        return NULL;
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *reg) {
        if (!reg)
                return NULL;
        while (reg->queries)
                polkit_query_free(reg->queries);
        free(reg);
        return NULL;
}

static PolkitQuery *polkit_registry_find(PolkitRegistry *reg, sd_bus_message *m) {
        for (PolkitQuery *q = reg->queries; q; q = q->next)
                if (q->request == m)
                        return q;
        return NULL;
}

static int polkit_query_ask(PolkitQuery *q);

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* An answered query is picked up as soon as its method call is dispatched again, unless
 * the call no longer reaches polkit_verify() (say, its device was deleted meanwhile).
 * Those are dropped after a while. */
#define POLKIT_ANSWER_KEEP_USEC (60u * 1000000u)

static void polkit_registry_drop_stale(PolkitRegistry *reg) {
        uint64_t now = now_usec();
        PolkitQuery *next;

        for (PolkitQuery *q = reg->queries; q; q = next) {
                next = q->next;
                if (q->done && now - q->done_usec > POLKIT_ANSWER_KEEP_USEC)
                        polkit_query_free(q);
        }
}

/* Ends the query and dispatches its method call again, so that the handler picks up the
 * result. */
static void polkit_query_finish(PolkitQuery *q, int result) {
        sd_bus *bus = sd_bus_message_get_bus(q->request);
        int r;

        q->done = true;
        q->done_usec = now_usec();
        q->result = result;
        q->slot = sd_bus_slot_unref(q->slot);

        r = sd_bus_enqueue_for_read(bus, q->request);
        if (r < 0) {
                log_error_errno(r, "Failed to dispatch a method call again after polkit answered: %m");
                polkit_query_free(q);
        }
}

static int polkit_query_handle_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const char *action = q->actions[q->next_action];
        const sd_bus_error *e;
        int authorized, challenge, r;

        e = sd_bus_message_get_error(reply);
        if (e) {
                log_warning("Could not ask polkit whether %s is allowed: %s", action, e->message);
                sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                  "Could not check authorization for %s: polkit is not available (%s).",
                                  action, e->message);
                polkit_query_finish(q, -EACCES);
                return 0;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                log_warning_errno(r, "Failed to parse polkit's answer about %s: %m", action);
                sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                  "Could not check authorization for %s: polkit's answer was malformed.", action);
                polkit_query_finish(q, -EACCES);
                return 0;
        }

        if (authorized) {
                q->next_action++;
                if (!q->actions[q->next_action]) {
                        polkit_query_finish(q, 1);
                        return 0;
                }
                q->slot = sd_bus_slot_unref(q->slot);
                r = polkit_query_ask(q);
                if (r < 0) {
                        sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                          "Could not check authorization for %s: %s.",
                                          q->actions[q->next_action], strerror(-r));
                        polkit_query_finish(q, -EACCES);
                }
                return 0;
        }

        if (challenge && sd_bus_message_get_allow_interactive_authorization(q->request) > 0)
                sd_bus_error_setf(&q->error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                  "Authentication as an administrator is required for %s, but no polkit agent could ask for it: run one, or ask an administrator.",
                                  action);
        else if (challenge)
                sd_bus_error_setf(&q->error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                  "Authentication as an administrator is required for %s: call again allowing interactive authorization.",
                                  action);
        else
                sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                  "Access denied: polkit does not allow %s for this caller.", action);
        polkit_query_finish(q, -EACCES);
        return 0;
}

static int polkit_query_ask(PolkitQuery *q) {
        sd_bus *bus = sd_bus_message_get_bus(q->request);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        uint32_t flags = 0;
        int r;

        if (sd_bus_message_get_allow_interactive_authorization(q->request) > 0)
                flags |= POLKIT_ALLOW_USER_INTERACTION;

        r = sd_bus_message_new_method_call(bus, &call,
                                           "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority",
                                           "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "(sa{sv})sa{ss}us",
                                  "system-bus-name", 1, "name", "s", sd_bus_message_get_sender(q->request),
                                  q->actions[q->next_action],
                                  0,
                                  flags,
                                  "");
        if (r < 0)
                return r;

        /* polkit may wait for a human: no timeout of our own. */
        return sd_bus_call_async(bus, &q->slot, call, polkit_query_handle_reply, q, UINT64_MAX);
}

int polkit_verify(PolkitRegistry *reg, sd_bus_message *m, const char *const *actions,
                  sd_bus_error *error) {
        PolkitQuery *q;
        uid_t uid;
        int r;

        if (!actions || !actions[0])
                return 1;

        r = bus_get_caller_uid(m, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Could not find out who is calling: %m");
        if (uid == 0)
                return 1;

        polkit_registry_drop_stale(reg);

        q = polkit_registry_find(reg, m);
        if (q) {
                if (!q->done)
                        return 0;
                r = q->result;
                if (r < 0)
                        sd_bus_error_move(error, &q->error);
                polkit_query_free(q);
                return r;
        }

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        *q = (PolkitQuery) {
                .registry = reg,
                .request = sd_bus_message_ref(m),
                .actions = actions,
                .error = SD_BUS_ERROR_NULL,
                .next = reg->queries,
        };
        if (reg->queries)
                reg->queries->prev = q;
        reg->queries = q;

        r = polkit_query_ask(q);
        if (r < 0) {
                polkit_query_free(q);
                return sd_bus_error_set_errnof(error, r, "Could not ask polkit for authorization: %m");
        }
        return 0;
}
