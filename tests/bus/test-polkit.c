/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Authorization through the real polkitd: denied, allowed by the test rules, the owner's own
 * devices, others' devices, the Owner option, ALLOW_INTERACTIVE_AUTHORIZATION, and a loop
 * that keeps serving while polkit waits for an authentication agent.
 *
 * The harness's rules file: user "…c" may create devices, "…m" may create and manage any,
 * "…d" gets a plain NO, "…n" has no rule (the actions' defaults, auth_admin, apply). */

#include "harness.h"

#include <signal.h>

/* The error tund must answer with when polkit gives ANSWER to a call that did (INTERACTIVE)
 * or did not allow interactive authorization; NULL: success. The D-Bus specification:
 * InteractiveAuthorizationRequired tells a caller that it might succeed with the flag, so a
 * caller that set it gets AccessDenied. */
static const char *answer_error(TbAnswer answer, bool interactive) {
        switch (answer) {
        case TB_ANSWER_YES:
                return NULL;
        case TB_ANSWER_CHALLENGE:
                return interactive ? TB_ACCESS_DENIED : TB_INTERACTIVE;
        case TB_ANSWER_NO:
                return TB_ACCESS_DENIED;
        }
        g_assert_not_reached();
}

/* CreateDevice as C, expecting ERROR_NAME (NULL: success). */
static void caller_create_expect(TbCaller *c, bool interactive, const char *name, GVariant *options,
                                 const char *error_name) {
        tb_caller_expect(c, interactive, TB_MANAGER_PATH, TB_MANAGER_IFACE, "CreateDevice",
                         tb_create_args(name, options), error_name);
}

static char *created_path(GVariant *r) {
        char *path;
        g_variant_get(r, "(o)", &path);
        return path;
}

/* CreateDevice as C, asserting success: the new device's path. */
static char *caller_create_ok(TbCaller *c, bool interactive, const char *name, GVariant *options) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = tb_caller_call(c, interactive, TB_MANAGER_PATH, TB_MANAGER_IFACE, "CreateDevice",
                                               tb_create_args(name, options), &error);
        g_assert_no_error(error);
        return created_path(r);
}

static void caller_device_expect(TbCaller *c, const char *path, const char *method, GVariant *args,
                                 const char *error_name) {
        tb_caller_expect(c, false, path, TB_DEVICE_IFACE, method, args, error_name);
}

/* C sets the MTU and one offload of the device NAME at PATH, and deletes it: all allowed. */
static void change_and_delete(TbCaller *c, const char *path, const char *name, guint32 mtu,
                              const char *offload) {
        caller_device_expect(c, path, "SetMTU", g_variant_new("(u)", mtu), NULL);
        g_assert_cmpuint(tb_link_mtu(name), ==, mtu);
        caller_device_expect(c, path, "SetOffloads", g_variant_new("(^as)", (const char *[]) { offload, NULL }), NULL);
        caller_device_expect(c, path, "Delete", NULL, NULL);
        g_assert_true(tb_wait_link_gone(name));
}

static void test_create_allowed(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        const TbRole roles[] = { TB_ROLE_CREATE, TB_ROLE_MANAGE };
        for (size_t i = 0; i < G_N_ELEMENTS(roles); i++)
                for (int interactive = 0; interactive <= 1; interactive++) {
                        const TbUser *user = tb_env_user(env, roles[i]);
                        g_autoptr(TbCaller) c = tb_caller_new(env, user);
                        g_autofree char *name = tb_ifname("a");
                        g_autofree char *path = caller_create_ok(c, interactive, name, NULL);
                        g_assert_true(tb_link_exists(name));
                        g_autoptr(GVariant) owner = tb_get_property(bus, path, TB_DEVICE_IFACE, "Owner");
                        g_assert_cmpuint(g_variant_get_uint32(owner), ==, user->uid);
                        tb_delete_ok(bus, path);
                        g_assert_true(tb_wait_link_gone(name));
                }
}

static void test_create_denied(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autoptr(TbCaller) c = tb_caller_new(env, tb_env_user(env, TB_ROLE_DENIED));
        g_autofree char *name = tb_ifname("d");
        for (int interactive = 0; interactive <= 1; interactive++) {
                g_assert_cmpint(tb_polkit_answer(env, tb_caller_unique_name(c), TB_ACTION_CREATE, interactive), ==, TB_ANSWER_NO);
                caller_create_expect(c, interactive, name, NULL, TB_ACCESS_DENIED);
                g_assert_false(tb_link_exists(name));
        }
        g_autoptr(GHashTable) devices = tb_list_devices(tb_env_bus(env));
        g_assert_false(g_hash_table_contains(devices, name));
}

/* No rule: polkit's answer is the action's default, auth_admin, which with no agent to ask
 * is a challenge whether or not the caller allowed interaction. */
static void test_create_challenge(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autoptr(TbCaller) c = tb_caller_new(env, tb_env_user(env, TB_ROLE_NOBODY));
        g_autofree char *name = tb_ifname("n");
        for (int interactive = 0; interactive <= 1; interactive++) {
                TbAnswer answer = tb_polkit_answer(env, tb_caller_unique_name(c), TB_ACTION_CREATE, interactive);
                g_assert_cmpint(answer, !=, TB_ANSWER_YES);
                caller_create_expect(c, interactive, name, NULL, answer_error(answer, interactive));
                g_assert_false(tb_link_exists(name));
        }
}

/* The owner changes and deletes its device with no polkit check: the owner here is a user
 * whom polkit would not allow manage-device. */
static void test_owner_needs_no_polkit(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        const TbRole roles[] = { TB_ROLE_NOBODY, TB_ROLE_DENIED, TB_ROLE_CREATE };
        for (size_t i = 0; i < G_N_ELEMENTS(roles); i++) {
                const TbUser *user = tb_env_user(env, roles[i]);
                g_autoptr(TbCaller) c = tb_caller_new(env, user);
                g_assert_cmpint(tb_polkit_answer(env, tb_caller_unique_name(c), TB_ACTION_MANAGE, false), !=, TB_ANSWER_YES);

                g_autofree char *name = tb_ifname("o");
                /* Created by the owner itself, or given to it by root. */
                g_autofree char *path = roles[i] == TB_ROLE_CREATE ?
                        caller_create_ok(c, false, name, NULL) :
                        tb_create_ok(bus, name, tb_options("Owner", g_variant_new_uint32(user->uid), NULL));
                change_and_delete(c, path, name, 1300, "csum");
        }
}

static void test_others_devices(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("x");
        /* Owned by root; then by a test user, for whom the others are just as foreign. */
        const uid_t owners[] = { 0, tb_env_user(env, TB_ROLE_NOBODY)->uid };

        for (size_t o = 0; o < G_N_ELEMENTS(owners); o++) {
                g_autofree char *path = tb_create_ok(bus, name, tb_options("Owner", g_variant_new_uint32(owners[o]), NULL));
                const TbRole refused[] = { TB_ROLE_CREATE, TB_ROLE_DENIED, TB_ROLE_NOBODY };
                for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
                        const TbUser *user = tb_env_user(env, refused[i]);
                        if (user->uid == owners[o])
                                continue;
                        g_autoptr(TbCaller) c = tb_caller_new(env, user);
                        TbAnswer answer = tb_polkit_answer(env, tb_caller_unique_name(c), TB_ACTION_MANAGE, false);
                        g_assert_cmpint(answer, !=, TB_ANSWER_YES);
                        struct {
                                const char *method;
                                GVariant *args;
                        } calls[] = {
                                { "SetMTU", g_variant_new("(u)", 1280) },
                                { "SetOffloads", g_variant_new("(^as)", (const char *[]) { NULL }) },
                                { "Delete", NULL },
                        };
                        for (size_t j = 0; j < G_N_ELEMENTS(calls); j++) {
                                g_test_message("%s on a device of uid %u as %s", calls[j].method,
                                               (unsigned) owners[o], user->name);
                                caller_device_expect(c, path, calls[j].method, calls[j].args, answer_error(answer, false));
                        }
                        g_assert_cmpuint(tb_link_mtu(name), ==, 1500);
                        g_autoptr(GVariant) offloads = tb_get_property(bus, path, TB_DEVICE_IFACE, "Offloads");
                        g_assert_cmpuint(g_variant_n_children(offloads), >, 0);
                }

                /* manage-device allows all of it. */
                g_autoptr(TbCaller) m = tb_caller_new(env, tb_env_user(env, TB_ROLE_MANAGE));
                change_and_delete(m, path, name, 1280, "gro-tcp");
        }
}

static void test_owner_option(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("w");
        const TbUser *other = tb_env_user(env, TB_ROLE_NOBODY);

        /* create-device alone does not let a caller give a device away... */
        g_autoptr(TbCaller) c = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        TbAnswer answer = tb_polkit_answer(env, tb_caller_unique_name(c), TB_ACTION_MANAGE, false);
        g_assert_cmpint(answer, !=, TB_ANSWER_YES);
        caller_create_expect(c, false, name, tb_options("Owner", g_variant_new_uint32(other->uid), NULL), answer_error(answer, false));
        g_assert_false(tb_link_exists(name));

        /* ...but naming its own uid is the default and needs nothing more. */
        g_autofree char *own_path = caller_create_ok(c, false, name, tb_options("Owner", g_variant_new_uint32(tb_env_user(env, TB_ROLE_CREATE)->uid), NULL));
        tb_delete_ok(bus, own_path);
        g_assert_true(tb_wait_link_gone(name));

        /* manage-device does. */
        g_autoptr(TbCaller) m = tb_caller_new(env, tb_env_user(env, TB_ROLE_MANAGE));
        g_autofree char *path = caller_create_ok(m, false, name, tb_options("Owner", g_variant_new_uint32(other->uid), NULL));
        g_autoptr(GVariant) owner = tb_get_property(bus, path, TB_DEVICE_IFACE, "Owner");
        g_assert_cmpuint(g_variant_get_uint32(owner), ==, other->uid);
        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(name));
}

static void test_reading_is_open(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("r");
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        g_autoptr(TbCaller) c = tb_caller_new(env, tb_env_user(env, TB_ROLE_DENIED));
        g_autoptr(GError) error = NULL;

        tb_caller_expect(c, false, TB_MANAGER_PATH, TB_MANAGER_IFACE, "ListDevices", NULL, NULL);
        g_autoptr(GVariant) get = tb_caller_call(c, false, TB_MANAGER_PATH, TB_MANAGER_IFACE, "GetDevice",
                                                 g_variant_new("(s)", name), &error);
        g_assert_no_error(error);
        const char *got;
        g_variant_get(get, "(&o)", &got);
        g_assert_cmpstr(got, ==, path);
        tb_caller_expect(c, false, TB_MANAGER_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                         g_variant_new("(s)", TB_MANAGER_IFACE), NULL);
        tb_caller_expect(c, false, path, "org.freedesktop.DBus.Properties", "GetAll",
                         g_variant_new("(s)", TB_DEVICE_IFACE), NULL);
        tb_caller_expect(c, false, TB_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                         NULL, NULL);
        tb_caller_expect(c, false, path, "org.freedesktop.DBus.Introspectable", "Introspect", NULL, NULL);

        tb_delete_ok(bus, path);
}

/* A polkit authentication agent that never answers until told to. */

static const char agent_xml[] =
        "<node><interface name='org.freedesktop.PolicyKit1.AuthenticationAgent'>"
        "<method name='BeginAuthentication'>"
        "<arg type='s' name='action_id' direction='in'/><arg type='s' name='message' direction='in'/>"
        "<arg type='s' name='icon_name' direction='in'/><arg type='a{ss}' name='details' direction='in'/>"
        "<arg type='s' name='cookie' direction='in'/><arg type='a(sa{sv})' name='identities' direction='in'/>"
        "</method>"
        "<method name='CancelAuthentication'><arg type='s' name='cookie' direction='in'/></method>"
        "</interface></node>";
#define AGENT_PATH "/org/example/Tun1Tests/Agent"

typedef struct Agent {
        GDBusConnection *bus;
        GDBusNodeInfo *info;
        guint registration;
        GVariant *subject;
        GDBusMethodInvocation *pending;
        char *action_id, *cookie;
        GVariant *identities;
} Agent;

static void agent_method(GDBusConnection *bus, const char *sender, const char *path, const char *iface,
                         const char *method, GVariant *params, GDBusMethodInvocation *invocation,
                         gpointer data) {
        Agent *a = data;
        if (strcmp(method, "BeginAuthentication") == 0) {
                g_assert_null(a->pending);
                g_variant_get(params, "(s&s&s@a{ss}s@a(sa{sv}))", &a->action_id, NULL, NULL, NULL,
                              &a->cookie, &a->identities);
                a->pending = invocation;        /* answered by the test, later */
                return;
        }
        g_dbus_method_invocation_return_value(invocation, NULL);
}

static GVariant *process_subject(pid_t pid, uid_t uid) {
        GVariantBuilder b;
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&b, "{sv}", "pid", g_variant_new_uint32(pid));
        g_variant_builder_add(&b, "{sv}", "start-time", g_variant_new_uint64(0));
        g_variant_builder_add(&b, "{sv}", "uid", g_variant_new_int32(uid));
        return g_variant_ref_sink(g_variant_new("(sa{sv})", "unix-process", &b));
}

/* Registers an agent of the test (uid 0 may register one for any process) for the process
 * of caller C, so that polkit asks it about C's interactive calls. */
static void agent_start(Agent *a, TbEnv *env, TbCaller *c, const TbUser *user) {
        static const GDBusInterfaceVTable vtable = { agent_method };
        g_autoptr(GError) error = NULL;
        *a = (Agent) { .bus = tb_env_bus(env) };
        a->info = g_dbus_node_info_new_for_xml(agent_xml, &error);
        g_assert_no_error(error);
        a->registration = g_dbus_connection_register_object(a->bus, AGENT_PATH, a->info->interfaces[0],
                                                            &vtable, a, NULL, &error);
        g_assert_no_error(error);
        a->subject = process_subject(tb_caller_pid(c), user->uid);
        g_autoptr(GVariant) r G_GNUC_UNUSED = g_dbus_connection_call_sync(
                a->bus, TB_POLKIT_NAME, TB_POLKIT_PATH, TB_POLKIT_IFACE, "RegisterAuthenticationAgent",
                g_variant_new("(@(sa{sv})ss)", a->subject, "C", AGENT_PATH),
                NULL, G_DBUS_CALL_FLAGS_NONE, TB_HANG_SECONDS * 1000, NULL, &error);
        g_assert_no_error(error);
}

static void agent_stop(Agent *a) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r G_GNUC_UNUSED = g_dbus_connection_call_sync(
                a->bus, TB_POLKIT_NAME, TB_POLKIT_PATH, TB_POLKIT_IFACE, "UnregisterAuthenticationAgent",
                g_variant_new("(@(sa{sv})s)", a->subject, AGENT_PATH),
                NULL, G_DBUS_CALL_FLAGS_NONE, TB_HANG_SECONDS * 1000, NULL, &error);
        g_assert_no_error(error);
        g_dbus_connection_unregister_object(a->bus, a->registration);
        g_dbus_node_info_unref(a->info);
        g_variant_unref(a->subject);
        g_clear_pointer(&a->identities, g_variant_unref);
        g_free(a->action_id);
        g_free(a->cookie);
}

static bool agent_asked(void *data) {
        Agent *a = data;
        if (!a->pending)
                g_main_context_iteration(NULL, TRUE);
        return a->pending != NULL;
}

static void agent_wait_asked(Agent *a) {
        if (!tb_wait_until(agent_asked, a))
                g_error("polkit never asked the authentication agent: did tund pass AllowUserInteraction?");
}

/* The user dismisses the dialog. */
static void agent_dismiss(Agent *a) {
        g_dbus_method_invocation_return_dbus_error(g_steal_pointer(&a->pending),
                                                   "org.freedesktop.PolicyKit1.Error.Cancelled",
                                                   "Dismissed by the test");
}

/* The user authenticates as the first identity polkit offered: what polkit-agent-helper-1
 * (running as root) reports after checking a password. */
static void agent_authenticate(Agent *a) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) identity = g_variant_get_child_value(a->identities, 0);
        g_autoptr(GVariant) r G_GNUC_UNUSED = g_dbus_connection_call_sync(
                a->bus, TB_POLKIT_NAME, TB_POLKIT_PATH, TB_POLKIT_IFACE, "AuthenticationAgentResponse2",
                g_variant_new("(us@(sa{sv}))", 0u, a->cookie, identity),
                NULL, G_DBUS_CALL_FLAGS_NONE, TB_HANG_SECONDS * 1000, NULL, &error);
        g_assert_no_error(error);
        g_dbus_method_invocation_return_value(g_steal_pointer(&a->pending), NULL);
}

/* Sends an interactive CreateDevice as C and waits until polkit asks the agent about it;
 * returns the call's id. */
static unsigned create_asking_agent(Agent *a, TbCaller *c, const char *name, GVariant *options) {
        unsigned id = tb_caller_send(c, true, TB_MANAGER_PATH, TB_MANAGER_IFACE, "CreateDevice",
                                     tb_create_args(name, options));
        agent_wait_asked(a);
        g_assert_cmpstr(a->action_id, ==, TB_ACTION_CREATE);
        return id;
}

static void test_loop_serves_while_polkit_decides(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        const TbUser *user = tb_env_user(env, TB_ROLE_NOBODY);
        g_autoptr(TbCaller) c = tb_caller_new(env, user);
        g_autoptr(GError) error = NULL;
        Agent agent;
        agent_start(&agent, env, c, user);

        /* The first call waits for the agent, which waits for the test. */
        g_autofree char *name = tb_ifname("l");
        unsigned create = create_asking_agent(&agent, c, name, tb_options("MTU", g_variant_new_uint32(1400), NULL));

        /* Meanwhile tund answers the same caller and others. */
        unsigned list = tb_caller_send(c, false, TB_MANAGER_PATH, TB_MANAGER_IFACE, "ListDevices", NULL);
        g_autoptr(GVariant) listed G_GNUC_UNUSED = tb_caller_wait(c, list, &error);
        g_assert_no_error(error);
        g_autofree char *other = tb_ifname("k");
        g_autofree char *path = tb_create_ok(bus, other, NULL);
        tb_delete_ok(bus, path);
        g_autoptr(TbCaller) d = tb_caller_new(env, tb_env_user(env, TB_ROLE_DENIED));
        caller_create_expect(d, false, other, NULL, TB_ACCESS_DENIED);
        g_assert_false(tb_caller_has_reply(c, create));

        /* Dismissed: polkit says no, and so does tund. */
        agent_dismiss(&agent);
        g_autoptr(GVariant) created = tb_caller_wait(c, create, &error);
        tb_assert_reply(created, error, TB_ACCESS_DENIED);
        g_assert_false(tb_link_exists(name));
        agent_stop(&agent);
}

/* auth_admin passed through an agent: the call goes through. */
static void test_agent_authenticates(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        const TbUser *user = tb_env_user(env, TB_ROLE_NOBODY);
        g_autoptr(TbCaller) c = tb_caller_new(env, user);
        g_autoptr(GError) error = NULL;
        Agent agent;
        agent_start(&agent, env, c, user);

        g_autofree char *name = tb_ifname("h");
        unsigned create = create_asking_agent(&agent, c, name, NULL);
        agent_authenticate(&agent);

        g_autoptr(GVariant) created = tb_caller_wait(c, create, &error);
        g_assert_no_error(error);
        g_autofree char *path = created_path(created);
        g_assert_true(tb_link_exists(name));
        g_autoptr(GVariant) owner = tb_get_property(bus, path, TB_DEVICE_IFACE, "Owner");
        g_assert_cmpuint(g_variant_get_uint32(owner), ==, user->uid);
        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(name));
        agent_stop(&agent);
}

/* Without ALLOW_INTERACTIVE_AUTHORIZATION tund must not make polkit ask an agent. */
static void test_no_agent_without_flag(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        const TbUser *user = tb_env_user(env, TB_ROLE_NOBODY);
        g_autoptr(TbCaller) c = tb_caller_new(env, user);
        Agent agent;
        agent_start(&agent, env, c, user);

        g_autofree char *name = tb_ifname("q");
        caller_create_expect(c, false, name, NULL, TB_INTERACTIVE);
        g_assert_null(agent.pending);
        agent_stop(&agent);
}

/* A name taken while polkit decides on a CreateDevice of that name: the call that waited
 * must get Exists when polkit says yes, and the device that won stays untouched. */
static void test_name_taken_while_polkit_decides(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autoptr(TbCaller) c = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        g_autofree char *name = tb_ifname("z");
        pid_t polkitd = tb_env_polkitd_pid(env);
        g_autoptr(GError) error = NULL;

        /* polkitd holds its answer while stopped. */
        g_assert_no_errno(kill(polkitd, SIGSTOP));
        unsigned create = tb_caller_send(c, false, TB_MANAGER_PATH, TB_MANAGER_IFACE, "CreateDevice",
                                         tb_create_args(name, NULL));
        /* tund handles one caller's messages in order: once this is answered, the
         * CreateDevice above waits for polkit. */
        unsigned list = tb_caller_send(c, false, TB_MANAGER_PATH, TB_MANAGER_IFACE, "ListDevices", NULL);
        g_autoptr(GVariant) listed G_GNUC_UNUSED = tb_caller_wait(c, list, &error);
        g_assert_no_error(error);
        g_autofree char *path = tb_create_ok(bus, name, tb_options("MTU", g_variant_new_uint32(1400), NULL));
        int ifindex = tb_link_ifindex(name);
        g_assert_false(tb_caller_has_reply(c, create));
        g_assert_no_errno(kill(polkitd, SIGCONT));

        g_autoptr(GVariant) created = tb_caller_wait(c, create, &error);
        tb_assert_reply(created, error, "org.example.Tun1.Error.Exists");
        g_assert_cmpint(tb_link_ifindex(name), ==, ifindex);
        g_assert_cmpuint(tb_link_mtu(name), ==, 1400);
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_cmpstr(g_hash_table_lookup(devices, name), ==, path);
        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(name));
}

/* Many callers at once, all through polkit: each distinct name is created once; of the
 * callers that asked for the same name, exactly one gets it and the others Exists. */
static void test_many_callers_at_once(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        enum { N = 8 };
        TbCaller *callers[N];
        unsigned distinct[N], same[N];
        g_autofree char *shared = tb_ifname("ms");
        char *names[N];

        for (int i = 0; i < N; i++)
                callers[i] = tb_caller_new(env, tb_env_user(env, i % 2 ? TB_ROLE_CREATE : TB_ROLE_MANAGE));
        for (int i = 0; i < N; i++) {
                g_autofree char *suffix = g_strdup_printf("m%d", i);
                names[i] = tb_ifname(suffix);
                distinct[i] = tb_caller_send(callers[i], false, TB_MANAGER_PATH, TB_MANAGER_IFACE, "CreateDevice",
                                             tb_create_args(names[i], NULL));
                same[i] = tb_caller_send(callers[i], false, TB_MANAGER_PATH, TB_MANAGER_IFACE, "CreateDevice",
                                         tb_create_args(shared, NULL));
        }

        unsigned winners = 0;
        for (int i = 0; i < N; i++) {
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) r G_GNUC_UNUSED = tb_caller_wait(callers[i], distinct[i], &error);
                g_assert_no_error(error);
                g_assert_true(tb_link_exists(names[i]));
                g_autoptr(GVariant) same_reply = tb_caller_wait(callers[i], same[i], &error);
                if (same_reply)
                        winners++;
                else
                        tb_assert_error(error, "org.example.Tun1.Error.Exists");
        }
        g_assert_cmpuint(winners, ==, 1);
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        g_assert_true(g_hash_table_contains(devices, shared));

        /* Their devices go with them. */
        for (int i = 0; i < N; i++)
                tb_caller_free(callers[i]);
        for (int i = 0; i < N; i++) {
                g_assert_true(tb_wait_link_gone(names[i]));
                g_free(names[i]);
        }
        g_assert_true(tb_wait_link_gone(shared));
}

/* The bus policy file: only root may own org.example.Tun1; everyone may call it. */
static void test_policy_only_root_owns_the_name(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        for (TbRole role = 0; role < _TB_ROLE_MAX; role++) {
                g_autoptr(TbCaller) c = tb_caller_new(env, tb_env_user(env, role));
                g_autoptr(GError) error = NULL;
                unsigned id = tb_caller_send_to(c, false, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                "org.freedesktop.DBus", "RequestName",
                                                g_variant_new("(su)", TB_BUS_NAME, 0u));
                g_autoptr(GVariant) r = tb_caller_wait(c, id, &error);
                tb_assert_reply(r, error, TB_ACCESS_DENIED);
        }
        g_assert_true(tb_name_has_owner(env, TB_BUS_NAME));
}

/* The user tund.service runs tund as, or NULL for root. */
static char *unit_user(void) {
        const char *unit = g_getenv("TB_UNIT");
        g_autofree char *contents = NULL;
        if (!unit || !g_file_get_contents(unit, &contents, NULL, NULL))
                return NULL;
        g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
        for (char **l = lines; *l; l++)
                if (g_str_has_prefix(*l, "User=") && strcmp(*l + strlen("User="), "root") != 0)
                        return g_strdup(*l + strlen("User="));
        return NULL;
}

/* polkitd answers a non-root tund about other callers only for actions that name tund's
 * user as their owner (see NOTES.md), so the unit's User= and the actions must agree. */
static void assert_owner_annotation(const char *id, GVariant *annotations) {
        g_autofree char *user = unit_user();
        if (!user)
                return;
        g_autofree char *want = g_strconcat("unix-user:", user, NULL);
        const char *owner = NULL;
        if (!g_variant_lookup(annotations, "org.freedesktop.policykit.owner", "&s", &owner) ||
            !strstr(owner, want))
                g_error("tund.service runs as %s, but action %s has owner annotation %s", user, id,
                        owner ? owner : "(none)");
}

/* The project's actions as polkitd read them, with API.md's defaults. */
static void test_actions_defaults(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        enum {  /* PolkitImplicitAuthorization */
                ADMIN_AUTHENTICATION_REQUIRED = 2,
                ADMIN_AUTHENTICATION_REQUIRED_RETAINED = 4,
        };
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = g_dbus_connection_call_sync(
                tb_env_bus(env), TB_POLKIT_NAME, TB_POLKIT_PATH, TB_POLKIT_IFACE, "EnumerateActions",
                g_variant_new("(s)", "C"), G_VARIANT_TYPE("(a(ssssssuuua{ss}))"),
                G_DBUS_CALL_FLAGS_NONE, TB_HANG_SECONDS * 1000, NULL, &error);
        g_assert_no_error(error);

        const char *ids[] = { TB_ACTION_CREATE, TB_ACTION_MANAGE };
        for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
                g_autoptr(GVariantIter) iter = NULL;
                const char *id, *description, *message;
                guint32 any, inactive, active;
                bool found = false;
                g_variant_get(r, "(a(ssssssuuua{ss}))", &iter);
                GVariant *annotations;
                while (g_variant_iter_loop(iter, "(&s&s&s&s&s&suuu@a{ss})", &id, &description, &message,
                                           NULL, NULL, NULL, &any, &inactive, &active, &annotations)) {
                        if (strcmp(id, ids[i]) != 0)
                                continue;
                        found = true;
                        g_test_message("%s: %s / %s", id, description, message);
                        g_assert_cmpstr(description, !=, "");
                        g_assert_cmpstr(message, !=, "");
                        g_assert_cmpuint(any, ==, ADMIN_AUTHENTICATION_REQUIRED);
                        g_assert_cmpuint(inactive, ==, ADMIN_AUTHENTICATION_REQUIRED);
                        g_assert_cmpuint(active, ==, ADMIN_AUTHENTICATION_REQUIRED_RETAINED);
                        assert_owner_annotation(id, annotations);
                }
                if (!found)
                        g_error("polkitd does not know %s", ids[i]);
        }
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/polkit/actions-defaults", test_actions_defaults);
        g_test_add_func("/polkit/policy-only-root-owns-the-name", test_policy_only_root_owns_the_name);
        g_test_add_func("/polkit/many-callers-at-once", test_many_callers_at_once);
        g_test_add_func("/polkit/create/allowed", test_create_allowed);
        g_test_add_func("/polkit/create/denied", test_create_denied);
        g_test_add_func("/polkit/create/challenge", test_create_challenge);
        g_test_add_func("/polkit/owner-needs-no-polkit", test_owner_needs_no_polkit);
        g_test_add_func("/polkit/others-devices", test_others_devices);
        g_test_add_func("/polkit/owner-option", test_owner_option);
        g_test_add_func("/polkit/reading-is-open", test_reading_is_open);
        g_test_add_func("/polkit/interactive/agent-not-asked-without-flag", test_no_agent_without_flag);
        g_test_add_func("/polkit/interactive/loop-serves-while-polkit-decides", test_loop_serves_while_polkit_decides);
        g_test_add_func("/polkit/interactive/agent-authenticates", test_agent_authenticates);
        g_test_add_func("/polkit/name-taken-while-polkit-decides", test_name_taken_while_polkit_decides);
        return tb_test_run();
}
