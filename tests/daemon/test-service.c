/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The in-process service of the BusPeers and PolkitRegistry tests (test-service.h). */

/* Before glib.h, which redefines MIN and MAX with its own. */
#include "log.h"

#include "test-service.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

/* sd-event as a GLib source: prepare, poll its epoll fd, wait without blocking, dispatch. */
typedef struct EventSource {
        GSource source;
        sd_event *event;
} EventSource;

static gboolean event_prepare(GSource *source, gint *timeout) {
        sd_event *e = ((EventSource *) source)->event;

        *timeout = -1;
        switch (sd_event_get_state(e)) {
        case SD_EVENT_PENDING:
                return TRUE;
        case SD_EVENT_ARMED:
                return sd_event_wait(e, 0) > 0;
        default:
                return sd_event_prepare(e) > 0;
        }
}

static gboolean event_check(GSource *source) {
        sd_event *e = ((EventSource *) source)->event;

        if (sd_event_get_state(e) == SD_EVENT_ARMED)
                return sd_event_wait(e, 0) > 0;
        return sd_event_get_state(e) == SD_EVENT_PENDING;
}

static gboolean event_dispatch(GSource *source, GSourceFunc callback, gpointer data) {
        g_assert_cmpint(sd_event_dispatch(((EventSource *) source)->event), >=, 0);
        return G_SOURCE_CONTINUE;
}

static GSourceFuncs event_funcs = {
        .prepare = event_prepare,
        .check = event_check,
        .dispatch = event_dispatch,
};

void ts_attach(TestService *s) {
        g_assert_null(s->source);
        s->source = g_source_new(&event_funcs, sizeof(EventSource));
        ((EventSource *) s->source)->event = s->event;
        g_source_add_unix_fd(s->source, sd_event_get_fd(s->event), G_IO_IN);
        g_source_attach(s->source, NULL);
}

void ts_detach(TestService *s) {
        g_source_destroy(s->source);
        g_clear_pointer(&s->source, g_source_unref);
}

TbCaller *ts_caller_new(TestService *s, TbRole role) {
        return tb_caller_new(s->env, tb_env_user(s->env, role));
}

static void ts_log(TestService *s, const char *sender, const char *event) {
        g_ptr_array_add(s->log, g_strdup_printf("%s %s", sender, event));
}

char *ts_events(TestService *s, const char *sender) {
        g_autoptr(GString) events = g_string_new(NULL);
        size_t n = strlen(sender);

        for (unsigned i = 0; i < s->log->len; i++) {
                const char *entry = s->log->pdata[i];
                if (strncmp(entry, sender, n) == 0 && entry[n] == ' ')
                        g_string_append_printf(events, "%s%s", events->len ? " " : "", entry + n + 1);
        }
        return g_string_free(g_steal_pointer(&events), FALSE);
}

unsigned ts_count(TestService *s, const char *sender, const char *event) {
        g_autofree char *entry = g_strdup_printf("%s %s", sender, event);
        unsigned n = 0;

        for (unsigned i = 0; i < s->log->len; i++)
                if (strcmp(s->log->pdata[i], entry) == 0)
                        n++;
        return n;
}

typedef struct CountWait {
        TestService *s;
        const char *sender, *event;
        unsigned n;
} CountWait;

static bool count_reached(void *data) {
        CountWait *w = data;

        if (ts_count(w->s, w->sender, w->event) >= w->n)
                return true;
        g_main_context_iteration(NULL, TRUE);
        return false;
}

bool ts_wait_count(TestService *s, const char *sender, const char *event, unsigned n) {
        CountWait w = { s, sender, event, n };

        return tb_wait_until(count_reached, &w);
}

/* bus_peers_get_uid() as tund's handlers call it, logged. */
static int ts_get_uid(TestService *s, sd_bus_message *m, uid_t *ret, sd_bus_error *error) {
        const char *sender = sd_bus_message_get_sender(m);
        int r = bus_peers_get_uid(s->peers, m, ret, error);

        ts_log(s, sender, r > 0 ? "uid-known" : r == 0 ? "uid-wait" : "uid-refused");
        return r;
}

static int method_uid(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        uid_t uid;
        int r;

        r = ts_get_uid(userdata, m, &uid, error);
        if (r <= 0)
                return r < 0 ? r : 1;   /* 0: the bus answers later, this runs again */
        return sd_bus_reply_method_return(m, "u", (uint32_t) uid);
}

static const char *const create_actions[] = { TB_ACTION_CREATE, NULL };
static const char *const manage_actions[] = { TB_ACTION_MANAGE, NULL };

/* polkit_verify() keeps the array: static ones only. */
static const char *const *actions_of(const char *action) {
        if (strcmp(action, TB_ACTION_CREATE) == 0)
                return create_actions;
        if (strcmp(action, TB_ACTION_MANAGE) == 0)
                return manage_actions;
        return NULL;
}

static int method_check(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        TestService *s = userdata;
        const char *action, *sender = sd_bus_message_get_sender(m);
        const char *const *actions;
        uid_t uid;
        int r;

        r = sd_bus_message_read(m, "s", &action);
        if (r < 0)
                return r;
        actions = actions_of(action);
        if (!actions)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "No action %s here.", action);
        r = ts_get_uid(s, m, &uid, error);
        if (r <= 0)
                return r < 0 ? r : 1;
        r = polkit_verify(s->polkit, m, uid, actions, error);
        ts_log(s, sender, r > 0 ? "check-allowed" : r == 0 ? "check-pending" : "check-refused");
        if (r <= 0)
                return r < 0 ? r : 1;   /* 0: polkit answers later, this runs again */
        return sd_bus_reply_method_return(m, NULL);
}

/* Unprivileged, as tund's methods: otherwise sd-bus itself refuses callers without
 * CAP_SYS_ADMIN before a handler runs. */
static const sd_bus_vtable test_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Uid", SD_BUS_NO_ARGS, SD_BUS_RESULT("u", uid), method_uid,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Check", SD_BUS_ARGS("s", action), SD_BUS_NO_RESULT, method_check,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* As tund's manager does: a caller that left has its checks ended. */
static void on_peer_gone(const char *name, void *userdata) {
        TestService *s = userdata;

        ts_log(s, name, "gone");
        polkit_registry_peer_gone(s->polkit, name);
}

static void ts_connect(TestService *s) {
        g_assert_cmpint(sd_event_new(&s->event), >=, 0);
        g_assert_cmpint(sd_bus_new(&s->bus), >=, 0);
        g_assert_cmpint(sd_bus_set_address(s->bus, tb_env_address(s->env)), >=, 0);
        g_assert_cmpint(sd_bus_set_bus_client(s->bus, true), >=, 0);
        g_assert_cmpint(sd_bus_start(s->bus), >=, 0);
        g_assert_cmpint(sd_bus_attach_event(s->bus, s->event, SD_EVENT_PRIORITY_NORMAL), >=, 0);
}

TestService *ts_new(const Limits *limits) {
        TbEnv *env = tb_test_bus_env();
        TestService *s;

        if (!env)
                return NULL;
        s = g_new0(TestService, 1);

        /* The modules' own debug messages go to stderr, beside the test's. */
        log_set_max_level(LOG_DEBUG);
        s->env = env;
        s->limits = limits ? *limits : LIMITS_DEFAULT;
        s->log = g_ptr_array_new_with_free_func(g_free);
        ts_connect(s);
        g_assert_cmpint(polkit_registry_new(&s->polkit, s->event, &s->limits), >=, 0);
        g_assert_cmpint(bus_peers_new(&s->peers, s->bus, on_peer_gone, s), >=, 0);
        g_assert_cmpint(sd_bus_add_object_vtable(s->bus, &s->object, TS_PATH, TS_IFACE, test_vtable, s), >=, 0);
        g_assert_cmpint(sd_bus_request_name(s->bus, TB_BUS_NAME, 0), >=, 0);
        ts_attach(s);
        return s;
}

void ts_free(TestService *s) {
        if (s->source)
                ts_detach(s);
        polkit_registry_free(s->polkit);
        bus_peers_free(s->peers);
        sd_bus_slot_unref(s->object);
        /* Released before closing, so that the next test's service gets the name at once. */
        g_assert_cmpint(sd_bus_release_name(s->bus, TB_BUS_NAME), >=, 0);
        sd_bus_flush_close_unref(s->bus);
        sd_event_unref(s->event);
        g_ptr_array_unref(s->log);
        g_free(s);
}

typedef struct RootCall {
        GVariant *reply;
        GError *error;
        bool done;
} RootCall;

static void on_root_reply(GObject *source, GAsyncResult *res, gpointer data) {
        RootCall *c = data;

        c->reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &c->error);
        c->done = true;
}

static bool root_call_done(void *data) {
        RootCall *c = data;

        if (!c->done)
                g_main_context_iteration(NULL, TRUE);
        return c->done;
}

GVariant *ts_root_call(GDBusConnection *bus, const char *method, GVariant *args, GError **error) {
        RootCall c = { 0 };

        g_dbus_connection_call(bus, TB_BUS_NAME, TS_PATH, TS_IFACE, method, args, NULL,
                               G_DBUS_CALL_FLAGS_NONE, TB_HANG_SECONDS * 1000, NULL, on_root_reply, &c);
        g_assert_true(tb_wait_until(root_call_done, &c));
        if (c.error)
                g_propagate_error(error, c.error);
        return c.reply;
}

void ts_polkitd_stop(TbEnv *env) {
        g_assert_no_errno(kill(tb_env_polkitd_pid(env), SIGSTOP));
}

void ts_polkitd_cont(TbEnv *env) {
        g_assert_no_errno(kill(tb_env_polkitd_pid(env), SIGCONT));
}
