/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PolkitRegistry in-process against a real polkitd on a private system bus: checks pending
 * and answered on the next dispatch, uid 0 without asking, the limits, the timeout, and a
 * caller that leaves while its check waits. */

#include "test-service.h"

#include <string.h>
#include <sys/ioctl.h>

static unsigned send_check(TbCaller *c, bool interactive, const char *action) {
        return tb_caller_send(c, interactive, TS_PATH, TS_IFACE, "Check", g_variant_new("(s)", action));
}

/* The outcome of call ID: allowed when ERROR_NAME is NULL, else that error; returns the
 * error's message (NULL when allowed). */
static char *wait_check(TbCaller *c, unsigned id, const char *error_name) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = tb_caller_wait(c, id, &error);

        tb_assert_reply(reply, error, error_name);
        return error ? g_strdup(error->message) : NULL;
}

static void expect_check(TbCaller *c, bool interactive, const char *action, const char *error_name) {
        g_free(wait_check(c, send_check(c, interactive, action), error_name));
}

/* Two checks refused once polkit answered. */
#define TWO_REFUSED "uid-wait uid-known check-pending uid-known check-refused" \
        " uid-known check-pending uid-known check-refused"

static void test_root_not_asked(void) {
        g_autoptr(TestService) s = ts_new(NULL);
        if (!s)
                return;
        g_autoptr(GDBusConnection) root = tb_env_connect(s->env);
        const char *name = g_dbus_connection_get_unique_name(root);
        g_autoptr(GError) error = NULL;

        /* polkitd could not answer now: uid 0 needs no answer of it. */
        ts_polkitd_stop(s->env);
        g_autoptr(GVariant) reply = ts_root_call(root, "Check", g_variant_new("(s)", TB_ACTION_MANAGE), &error);
        ts_polkitd_cont(s->env);
        tb_assert_reply(reply, error, NULL);
        ts_assert_events(s, name, "uid-wait uid-known check-allowed");
        g_dbus_connection_close_sync(root, NULL, NULL);
}

static void test_allowed(void) {
        g_autoptr(TestService) s = ts_new(NULL);
        if (!s)
                return;
        g_autoptr(TbCaller) c = ts_caller_new(s, TB_ROLE_CREATE);
        const char *name = tb_caller_unique_name(c);

        expect_check(c, false, TB_ACTION_CREATE, NULL);
        ts_assert_events(s, name, "uid-wait uid-known check-pending uid-known check-allowed");
        /* Each call is a check of its own. */
        expect_check(c, false, TB_ACTION_CREATE, NULL);
        ts_assert_events(s, name, "uid-wait uid-known check-pending uid-known check-allowed"
                         " uid-known check-pending uid-known check-allowed");
}

static void test_denied(void) {
        g_autoptr(TestService) s = ts_new(NULL);
        if (!s)
                return;
        g_autoptr(TbCaller) c = ts_caller_new(s, TB_ROLE_DENIED);
        const char *name = tb_caller_unique_name(c);

        expect_check(c, false, TB_ACTION_CREATE, TB_ACCESS_DENIED);
        expect_check(c, true, TB_ACTION_CREATE, TB_ACCESS_DENIED);
        ts_assert_events(s, name, TWO_REFUSED);
}

/* No rule for this user: the action's default, authentication as an administrator, which
 * no agent can give here. */
static void test_challenge(void) {
        g_autoptr(TestService) s = ts_new(NULL);
        if (!s)
                return;
        g_autoptr(TbCaller) c = ts_caller_new(s, TB_ROLE_NOBODY);
        const char *name = tb_caller_unique_name(c);

        g_assert_cmpint(tb_polkit_answer(s->env, name, TB_ACTION_CREATE, false), ==, TB_ANSWER_CHALLENGE);
        expect_check(c, false, TB_ACTION_CREATE, TB_INTERACTIVE);
        /* Interactive, polkit finds no agent: a plain refusal, whatever polkit's flags say. */
        expect_check(c, true, TB_ACTION_CREATE, TB_ACCESS_DENIED);
        ts_assert_events(s, name, TWO_REFUSED);
}

static void assert_limit(const char *message, const char *limit) {
        g_autofree char *named = g_strdup_printf("Limit %s=", limit);

        g_assert_nonnull(strstr(message, named));
}

/* While polkitd cannot answer, checks pile up to the limits; the extra ones are refused at
 * once, the others complete once polkitd answers. */
static void test_limits(void) {
        Limits limits = LIMITS_DEFAULT;
        limits.pending_checks_per_user = 2;
        limits.pending_checks = 3;
        g_autoptr(TestService) s = ts_new(&limits);
        if (!s)
                return;
        g_autoptr(TbCaller) a = ts_caller_new(s, TB_ROLE_CREATE);
        g_autoptr(TbCaller) b = ts_caller_new(s, TB_ROLE_MANAGE);
        unsigned ida[3], idb[2];

        ts_polkitd_stop(s->env);
        for (unsigned i = 0; i < G_N_ELEMENTS(ida); i++)
                ida[i] = send_check(a, false, TB_ACTION_CREATE);
        g_autofree char *per_user = wait_check(a, ida[2], "org.example.Tun1.Error.LimitsExceeded");
        assert_limit(per_user, "max-pending-checks-per-user");

        for (unsigned i = 0; i < G_N_ELEMENTS(idb); i++)
                idb[i] = send_check(b, false, TB_ACTION_MANAGE);
        g_autofree char *in_all = wait_check(b, idb[1], "org.example.Tun1.Error.LimitsExceeded");
        assert_limit(in_all, "max-pending-checks");
        g_assert_cmpuint(ts_count(s, tb_caller_unique_name(a), "check-pending"), ==, 2);
        g_assert_cmpuint(ts_count(s, tb_caller_unique_name(b), "check-pending"), ==, 1);
        ts_polkitd_cont(s->env);

        g_free(wait_check(a, ida[0], NULL));
        g_free(wait_check(a, ida[1], NULL));
        g_free(wait_check(b, idb[0], NULL));
        /* Room again. */
        expect_check(b, false, TB_ACTION_MANAGE, NULL);
}

/* polkitd stopped: the check is refused after the registry's timeout, and uid 0 is served
 * meanwhile. */
static void test_timeout(void) {
        Limits limits = LIMITS_DEFAULT;
        limits.polkit_timeout_usec = 1000 * 1000;
        g_autoptr(TestService) s = ts_new(&limits);
        if (!s)
                return;
        g_autoptr(TbCaller) c = ts_caller_new(s, TB_ROLE_CREATE);
        g_autoptr(GDBusConnection) root = tb_env_connect(s->env);
        g_autoptr(GError) error = NULL;

        ts_polkitd_stop(s->env);
        unsigned id = send_check(c, false, TB_ACTION_CREATE);
        g_assert_true(ts_wait_count(s, tb_caller_unique_name(c), "check-pending", 1));
        g_autoptr(GVariant) reply = ts_root_call(root, "Check", g_variant_new("(s)", TB_ACTION_CREATE), &error);
        tb_assert_reply(reply, error, NULL);
        g_autofree char *message = wait_check(c, id, TB_ACCESS_DENIED);
        ts_polkitd_cont(s->env);

        g_assert_nonnull(strstr(message, "did not answer within 1 s"));
        /* polkitd's late answer to the old check is dropped; new checks are answered. */
        expect_check(c, false, TB_ACTION_CREATE, NULL);
        g_dbus_connection_close_sync(root, NULL, NULL);
}

/* The caller leaves while polkitd has its check: the check ends, and polkitd's answer, when
 * it comes, runs no handler. */
static void test_caller_gone(void) {
        g_autoptr(TestService) s = ts_new(NULL);
        if (!s)
                return;
        TbCaller *c = ts_caller_new(s, TB_ROLE_CREATE);
        g_autoptr(TbCaller) witness = ts_caller_new(s, TB_ROLE_CREATE);
        g_autofree char *name = g_strdup(tb_caller_unique_name(c));

        ts_polkitd_stop(s->env);
        send_check(c, false, TB_ACTION_CREATE);
        g_assert_true(ts_wait_count(s, name, "check-pending", 1));
        tb_caller_free(c);
        g_assert_true(ts_wait_count(s, name, "gone", 1));
        ts_polkitd_cont(s->env);

        /* polkitd answers in order of asking: once the witness is answered, so was the
         * departed caller's check (or its cancellation). */
        expect_check(witness, false, TB_ACTION_CREATE, NULL);
        expect_check(witness, false, TB_ACTION_CREATE, NULL);
        ts_assert_events(s, name, "uid-wait uid-known check-pending gone");
}

typedef struct Unread {
        TestService *s;
        int more_than;
} Unread;

static int unread_bytes(TestService *s) {
        int n = 0;

        g_assert_no_errno(ioctl(sd_bus_get_fd(s->bus), FIONREAD, &n));
        return n;
}

static bool more_unread(void *data) {
        Unread *u = data;

        if (unread_bytes(u->s) > u->more_than)
                return true;
        g_usleep(10 * 1000);
        return false;
}

/* The caller leaves while polkitd's answer is on its way: the news of its departure come
 * first, the answer right after, and the call dispatched again with the answer finds the
 * caller leaving (bus_peers_get_uid refuses it before polkit_verify runs). Nothing is done
 * for it. The answered check is never picked up: it stays in the registry until a later
 * check drops it as stale or the registry ends (ASan sees it freed then). */
static void test_caller_gone_answer_in_flight(void) {
        g_autoptr(TestService) s = ts_new(NULL);
        if (!s)
                return;
        TbCaller *c = ts_caller_new(s, TB_ROLE_CREATE);
        g_autofree char *name = g_strdup(tb_caller_unique_name(c));

        ts_polkitd_stop(s->env);
        send_check(c, false, TB_ACTION_CREATE);
        g_assert_true(ts_wait_count(s, name, "check-pending", 1));
        ts_detach(s);
        tb_caller_free(c);
        g_assert_true(tb_wait_name_released(s->env, name));
        /* The departure waits unread; polkitd's answer comes behind it. */
        Unread u = { s, unread_bytes(s) };
        g_assert_cmpint(u.more_than, >, 0);
        ts_polkitd_cont(s->env);
        g_assert_true(tb_wait_until(more_unread, &u));
        ts_attach(s);

        g_assert_true(ts_wait_count(s, name, "gone", 1));
        ts_assert_events(s, name, "uid-wait uid-known check-pending uid-refused gone");
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/polkit-registry/root-not-asked", test_root_not_asked);
        g_test_add_func("/polkit-registry/allowed", test_allowed);
        g_test_add_func("/polkit-registry/denied", test_denied);
        g_test_add_func("/polkit-registry/challenge", test_challenge);
        g_test_add_func("/polkit-registry/limits", test_limits);
        g_test_add_func("/polkit-registry/timeout", test_timeout);
        g_test_add_func("/polkit-registry/caller-gone", test_caller_gone);
        g_test_add_func("/polkit-registry/caller-gone-answer-in-flight", test_caller_gone_answer_in_flight);
        return tb_test_run();
}
