/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "list.h"
#include "log.h"
#include "macro.h"
#include "polkit.h"

/* CheckAuthorization's flag AllowUserInteraction */
#define POLKIT_ALLOW_USER_INTERACTION 1u

typedef struct PolkitQuery PolkitQuery;

/* A query lives while its method call still wants the answer (request) or while its
 * CheckAuthorization is still outstanding at the bus (slot): the bus counts an unanswered
 * call against tund's quota even after tund stopped waiting for it. */
struct PolkitQuery {
        PolkitRegistry *registry;
        sd_bus_message *request;        /* the method call being authorized */
        char *sender;
        uid_t uid;
        const char *const *actions;
        size_t next_action;             /* index of the action being asked about */
        sd_bus_slot *slot;              /* the outstanding CheckAuthorization */
        char cancel_id[32];             /* its cancellation id */
        sd_event_source *timer;         /* polkit's time to answer */
        bool done;
        uint64_t done_usec;             /* CLOCK_MONOTONIC */
        int result;                     /* once done: 1, or a negative errno ... */
        sd_bus_error error;             /* ... with this error */
        PolkitQuery *prev, *next;
};

struct PolkitRegistry {
        sd_event *event;
        const Limits *limits;
        PolkitQuery *queries;
        uint64_t next_cancel_id;
};

int polkit_registry_new(PolkitRegistry **ret, sd_event *event, const Limits *limits) {
        PolkitRegistry *reg = calloc(1, sizeof(*reg));

        if (!reg)
                return -ENOMEM;
        reg->event = sd_event_ref(event);
        reg->limits = limits;
        *ret = reg;
        return 0;
}

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        LIST_REMOVE(q->registry->queries, q);
        sd_bus_slot_unref(q->slot);
        sd_event_source_disable_unref(q->timer);
        sd_bus_message_unref(q->request);
        sd_bus_error_free(&q->error);
        free(q->sender);
        free(q);
        return NULL;
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *reg) {
        if (!reg)
                return NULL;
        while (reg->queries)
                polkit_query_free(reg->queries);
        sd_event_unref(reg->event);
        free(reg);
        return NULL;
}

static void polkit_query_maybe_free(PolkitQuery *q) {
        if (!q->request && !q->slot)
                polkit_query_free(q);
}

/* Asks polkit to end the outstanding check at once (it may be waiting for an agent that
 * never answers), so that it stops counting against max-pending-checks. */
static void polkit_query_cancel(PolkitQuery *q) {
        sd_bus *bus;
        int r;

        if (!q->slot || !q->request)
                return;
        bus = sd_bus_message_get_bus(q->request);
        r = sd_bus_call_method_async(bus, NULL, "org.freedesktop.PolicyKit1",
                                     "/org/freedesktop/PolicyKit1/Authority",
                                     "org.freedesktop.PolicyKit1.Authority",
                                     "CancelCheckAuthorization", NULL, NULL, "s", q->cancel_id);
        if (r < 0)
                log_debug_errno(r, "Failed to cancel a polkit check: %m");
}

/* The method call no longer wants the answer. */
static void polkit_query_drop_request(PolkitQuery *q) {
        polkit_query_cancel(q);
        q->request = sd_bus_message_unref(q->request);
        q->timer = sd_event_source_disable_unref(q->timer);
        q->done = true;
        polkit_query_maybe_free(q);
}

static PolkitQuery *polkit_registry_find(PolkitRegistry *reg, sd_bus_message *m) {
        for (PolkitQuery *q = reg->queries; q; q = q->next)
                if (q->request == m)
                        return q;
        return NULL;
}

static unsigned polkit_registry_count(PolkitRegistry *reg, bool waiting_for_uid, uid_t uid) {
        unsigned n = 0;

        for (PolkitQuery *q = reg->queries; q; q = q->next)
                if (waiting_for_uid ? (!q->done && q->uid == uid) : q->slot != NULL)
                        n++;
        return n;
}

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
                if (q->done && q->request && now - q->done_usec > POLKIT_ANSWER_KEEP_USEC)
                        polkit_query_drop_request(q);
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
        q->timer = sd_event_source_disable_unref(q->timer);

        r = sd_bus_enqueue_for_read(bus, q->request);
        if (r < 0) {
                log_error_errno(r, "Failed to dispatch a method call again after polkit answered: %m");
                polkit_query_drop_request(q);
        }
}

static int polkit_query_ask(PolkitQuery *q);

static void polkit_query_deny(PolkitQuery *q, bool challenge) {
        const char *action = q->actions[q->next_action];

        /* The D-Bus specification: InteractiveAuthorizationRequired tells a caller that
         * did not allow interaction that it might succeed with it; a caller that did gets
         * a plain refusal. */
        if (challenge && sd_bus_message_get_allow_interactive_authorization(q->request) <= 0)
                sd_bus_error_setf(&q->error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                  "Authentication as an administrator is required for %s: call again allowing interactive authorization, with a polkit agent running.",
                                  action);
        else if (challenge)
                sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                  "Access denied: %s needs authentication as an administrator, and no polkit agent gave it.",
                                  action);
        else
                sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                  "Access denied: polkit does not allow %s for this caller.", action);
        polkit_query_finish(q, -EACCES);
}

static void polkit_query_fail(PolkitQuery *q, const char *why) {
        sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                          "Could not check authorization for %s: %s.", q->actions[q->next_action], why);
        polkit_query_finish(q, -EACCES);
}

static int polkit_query_handle_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const char *action = q->actions[q->next_action];
        const sd_bus_error *e;
        int authorized, challenge, r;

        q->slot = sd_bus_slot_unref(q->slot);
        if (q->done) {
                /* Too late: the caller left, or was answered when polkit took too long. */
                polkit_query_maybe_free(q);
                return 0;
        }

        e = sd_bus_message_get_error(reply);
        if (e) {
                log_warning("Could not ask polkit whether %s is allowed: %s", action, e->message);
                polkit_query_fail(q, e->message);
                return 0;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                log_warning_errno(r, "Failed to parse polkit's answer about %s: %m", action);
                polkit_query_fail(q, "polkit's answer was malformed");
                return 0;
        }

        if (!authorized) {
                polkit_query_deny(q, challenge);
                return 0;
        }
        q->next_action++;
        if (!q->actions[q->next_action]) {
                polkit_query_finish(q, 1);
                return 0;
        }
        r = polkit_query_ask(q);
        if (r < 0)
                polkit_query_fail(q, strerror(-r));
        return 0;
}

static int polkit_query_on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        PolkitQuery *q = userdata;
        char why[64];

        polkit_query_cancel(q);
        snprintf(why, sizeof(why), "polkit did not answer within %" PRIu64 " s",
                 q->registry->limits->polkit_timeout_usec / 1000000u);
        log_warning("Polkit did not answer about %s for %s in time; refusing.", q->actions[q->next_action], q->sender);
        polkit_query_fail(q, why);
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
                                  "system-bus-name", 1, "name", "s", q->sender,
                                  q->actions[q->next_action],
                                  0,
                                  flags,
                                  q->cancel_id);
        if (r < 0)
                return r;

        /* No timeout at the bus: the query stays counted until polkit really answers (or
         * cancelled: it then answers at once), as the bus keeps counting the call; the
         * caller's timeout is the timer's. */
        return sd_bus_call_async(bus, &q->slot, call, polkit_query_handle_reply, q, UINT64_MAX);
}

static int polkit_check_limits(PolkitRegistry *reg, uid_t uid, sd_bus_error *error) {
        char what[96];

        if (polkit_registry_count(reg, true, uid) >= reg->limits->pending_checks_per_user) {
                snprintf(what, sizeof(what), "uid %" PRIu32 " has that many authorization checks pending",
                         (uint32_t) uid);
                return limits_error(error, "max-pending-checks-per-user", reg->limits->pending_checks_per_user, what);
        }
        if (polkit_registry_count(reg, false, 0) >= reg->limits->pending_checks)
                return limits_error(error, "max-pending-checks", reg->limits->pending_checks,
                                    "that many authorization checks are waiting for polkit");
        return 0;
}

static int polkit_query_new(PolkitRegistry *reg, sd_bus_message *m, uid_t uid,
                            const char *const *actions, PolkitQuery **ret) {
        PolkitQuery *q;
        int r;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        *q = (PolkitQuery) {
                .registry = reg,
                .request = sd_bus_message_ref(m),
                .sender = strdup(sd_bus_message_get_sender(m) ?: ""),
                .uid = uid,
                .actions = actions,
                .error = SD_BUS_ERROR_NULL,
        };
        LIST_PREPEND(reg->queries, q);
        if (!q->sender) {
                polkit_query_free(q);
                return -ENOMEM;
        }
        snprintf(q->cancel_id, sizeof(q->cancel_id), "tund-%" PRIu64, reg->next_cancel_id++);

        r = sd_event_add_time_relative(reg->event, &q->timer, CLOCK_MONOTONIC,
                                       reg->limits->polkit_timeout_usec, 0,
                                       polkit_query_on_timeout, q);
        if (r >= 0)
                r = polkit_query_ask(q);
        if (r < 0) {
                polkit_query_free(q);
                return r;
        }
        *ret = q;
        return 0;
}

int polkit_verify(PolkitRegistry *reg, sd_bus_message *m, uid_t uid,
                  const char *const *actions, sd_bus_error *error) {
        PolkitQuery *q;
        int r;

        if (!actions || !actions[0] || uid == 0)
                return 1;

        polkit_registry_drop_stale(reg);

        q = polkit_registry_find(reg, m);
        if (q) {
                if (!q->done)
                        return 0;
                r = q->result;
                if (r < 0)
                        sd_bus_error_move(error, &q->error);
                polkit_query_drop_request(q);
                return r;
        }

        r = polkit_check_limits(reg, uid, error);
        if (r < 0)
                return r;
        r = polkit_query_new(reg, m, uid, actions, &q);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Could not ask polkit for authorization: %m");
        return 0;
}

void polkit_registry_peer_gone(PolkitRegistry *reg, const char *name) {
        PolkitQuery *next;

        for (PolkitQuery *q = reg->queries; q; q = next) {
                next = q->next;
                if (!q->request || strcmp(q->sender, name) != 0)
                        continue;
                /* Not dispatched again, or dispatched already: either way the call is
                 * refused before it reaches polkit_verify() again (bus_peers_get_uid() knows
                 * the caller is gone), so nothing is kept for it. */
                polkit_query_drop_request(q);
        }
}
