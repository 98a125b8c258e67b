/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* BusPeers in-process against a real private system bus: the uid of callers asked of the
 * bus without waiting, and a caller's departure, believed only from the bus driver. */

#include "test-service.h"

static uint32_t caller_uid(TbCaller *c) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = tb_caller_call(c, false, TS_PATH, TS_IFACE, "Uid", NULL, &error);
        uint32_t uid;

        g_assert_no_error(error);
        g_variant_get(reply, "(u)", &uid);
        return uid;
}

/* A round trip to the bus driver. The bus passes a connection's messages on in order: once
 * it answered this, whatever the caller sent before is on its way to its destination, even
 * while the service reads nothing (ts_detach). */
static void bus_sync(TbCaller *c) {
        g_autoptr(GError) error = NULL;
        unsigned id = tb_caller_send_to(c, false, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "GetId", NULL);
        g_autoptr(GVariant) reply = tb_caller_wait(c, id, &error);

        tb_assert_reply(reply, error, NULL);
}

static void test_user_uid(void) {
        g_autoptr(TestService) s = ts_new(NULL);
        if (!s)
                return;
        const TbUser *user = tb_env_user(s->env, TB_ROLE_CREATE);
        g_autoptr(TbCaller) c = tb_caller_new(s->env, user);
        const char *name = tb_caller_unique_name(c);

        /* The first call waits for the bus's answer and runs again with it. */
        g_assert_cmpuint(caller_uid(c), ==, user->uid);
        ts_assert_events(s, name, "uid-wait uid-known");

        /* The second is answered at once. */
        g_assert_cmpuint(caller_uid(c), ==, user->uid);
        ts_assert_events(s, name, "uid-wait uid-known uid-known");
}

static void test_root_uid(void) {
        g_autoptr(TestService) s = ts_new(NULL);
        if (!s)
                return;
        g_autoptr(GDBusConnection) root = tb_env_connect(s->env);
        const char *name = g_dbus_connection_get_unique_name(root);
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = ts_root_call(root, "Uid", NULL, &error);
        uint32_t uid = 1;

        g_assert_no_error(error);
        g_variant_get(reply, "(u)", &uid);
        g_assert_cmpuint(uid, ==, 0);
        ts_assert_events(s, name, "uid-wait uid-known");
        g_dbus_connection_close_sync(root, NULL, NULL);
}

static void test_gone_once(void) {
        g_autoptr(TestService) s = ts_new(NULL);
        if (!s)
                return;
        TbCaller *c = ts_caller_new(s, TB_ROLE_NOBODY);
        g_autoptr(TbCaller) stranger = ts_caller_new(s, TB_ROLE_DENIED);
        g_autoptr(TbCaller) witness = ts_caller_new(s, TB_ROLE_CREATE);
        g_autofree char *name = g_strdup(tb_caller_unique_name(c));
        g_autofree char *stranger_name = g_strdup(tb_caller_unique_name(stranger));

        caller_uid(c);
        caller_uid(witness);
        tb_caller_free(c);
        g_assert_true(ts_wait_count(s, name, "gone", 1));

        /* A peer that never called leaves unnoticed. */
        g_clear_pointer(&stranger, tb_caller_free);
        caller_uid(witness);
        caller_uid(witness);
        ts_assert_events(s, name, "uid-wait uid-known gone");
        ts_assert_events(s, stranger_name, "");
        ts_assert_events(s, tb_caller_unique_name(witness), "uid-wait uid-known uid-known uid-known");
}

/* A test user sends NameOwnerChanged saying that VICTIM left, to DESTINATION (NULL:
 * broadcast). */
static void forge_departure(TbCaller *forger, const char *destination, const char *victim) {
        g_autoptr(GError) error = NULL;
        unsigned id = tb_caller_emit_signal(forger, destination, "/org/freedesktop/DBus",
                                            "org.freedesktop.DBus", "NameOwnerChanged",
                                            g_variant_new("(sss)", victim, victim, ""));
        g_autoptr(GVariant) reply = tb_caller_wait(forger, id, &error);

        tb_assert_reply(reply, error, NULL);
        bus_sync(forger);
}

/* The forged news arrive right before a call of the peer they name: had BusPeers believed
 * them, that call would find the peer leaving. */
static void test_forged_departure(void) {
        g_autoptr(TestService) s = ts_new(NULL);
        if (!s)
                return;
        const TbUser *user = tb_env_user(s->env, TB_ROLE_CREATE);
        g_autoptr(TbCaller) victim = tb_caller_new(s->env, user);
        g_autoptr(TbCaller) forger = ts_caller_new(s, TB_ROLE_DENIED);
        const char *name = tb_caller_unique_name(victim);
        const char *service_name = NULL;
        g_autoptr(GError) error = NULL;
        uint32_t uid;

        g_assert_cmpint(sd_bus_get_unique_name(s->bus, &service_name), >=, 0);
        caller_uid(victim);
        ts_detach(s);
        forge_departure(forger, service_name, name);
        forge_departure(forger, NULL, name);
        unsigned id = tb_caller_send(victim, false, TS_PATH, TS_IFACE, "Uid", NULL);
        bus_sync(victim);
        ts_attach(s);

        /* Still served, and still known: answered at once. */
        g_autoptr(GVariant) reply = tb_caller_wait(victim, id, &error);
        tb_assert_reply(reply, error, NULL);
        g_variant_get(reply, "(u)", &uid);
        g_assert_cmpuint(uid, ==, user->uid);
        g_assert_cmpuint(caller_uid(victim), ==, user->uid);
        ts_assert_events(s, name, "uid-wait uid-known uid-known uid-known");
}

/* The call arrives, the service asks the bus for the uid, and the caller's departure is
 * already waiting behind the call: the call ends unanswered, and nothing of it stays. */
static void test_gone_while_asking(void) {
        g_autoptr(TestService) s = ts_new(NULL);
        if (!s)
                return;
        TbCaller *c = ts_caller_new(s, TB_ROLE_CREATE);
        g_autoptr(TbCaller) witness = ts_caller_new(s, TB_ROLE_NOBODY);
        g_autofree char *name = g_strdup(tb_caller_unique_name(c));

        ts_detach(s);
        tb_caller_send(c, false, TS_PATH, TS_IFACE, "Uid", NULL);
        bus_sync(c);
        /* Once the bus says the name has no owner, it has sent the service the news of the
         * departure: the service's question about the uid comes after it. */
        tb_caller_free(c);
        g_assert_true(tb_wait_name_released(s->env, name));
        ts_attach(s);

        g_assert_true(ts_wait_count(s, name, "gone", 1));
        caller_uid(witness);
        ts_assert_events(s, name, "uid-wait gone");
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/bus-peers/user-uid", test_user_uid);
        g_test_add_func("/bus-peers/root-uid", test_root_uid);
        g_test_add_func("/bus-peers/gone-once", test_gone_once);
        g_test_add_func("/bus-peers/forged-departure", test_forged_departure);
        g_test_add_func("/bus-peers/gone-while-asking", test_gone_while_asking);
        return tb_test_run();
}
