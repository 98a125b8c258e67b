/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The bus test harness: a private system-type dbus-daemon carrying the project's own policy
 * file, a real polkitd on it with the project's actions and a rules file for the test users,
 * and tund itself. Everything it starts it stops by PID; a reaper process removes what it
 * installed even when a test aborts. Names it makes start with "tb" and the test's PID. */

#include <gio/gio.h>
#include <stdbool.h>
#include <sys/types.h>

#define TB_BUS_NAME        "org.example.Tun1"
#define TB_MANAGER_PATH    "/org/example/Tun1"
#define TB_MANAGER_IFACE   "org.example.Tun1.Manager"
#define TB_DEVICE_IFACE    "org.example.Tun1.Device"
#define TB_ACTION_CREATE   "org.example.tun1.create-device"
#define TB_ACTION_MANAGE   "org.example.tun1.manage-device"
#define TB_ACTION_NETWORK  "org.example.tun1.configure-network"

#define TB_ACCESS_DENIED   "org.freedesktop.DBus.Error.AccessDenied"
#define TB_INTERACTIVE     "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"

#define TB_POLKIT_NAME     "org.freedesktop.PolicyKit1"
#define TB_POLKIT_PATH     "/org/freedesktop/PolicyKit1/Authority"
#define TB_POLKIT_IFACE    "org.freedesktop.PolicyKit1.Authority"
#define TB_POLKIT_ALLOW_USER_INTERACTION 1u

/* The user the bus policy and the unit name, which tund drops to (tund --user's default). */
#define TB_SERVICE_USER    "tund"

/* How long any wait may last before the test calls it a hang. Not a timing assertion. */
#define TB_HANG_SECONDS 60

/* Test users; each has a user-private group of the same name, which the rules file names. */
typedef enum TbRole {
        TB_ROLE_CREATE,         /* may create devices (polkit rule: YES for create-device) */
        TB_ROLE_MANAGE,         /* may create devices and manage others' (YES for both) */
        TB_ROLE_DENIED,         /* polkit rule: NO for both, no challenge */
        TB_ROLE_NOBODY,         /* no rule: the actions' defaults apply (auth_admin) */
        TB_ROLE_NETWORK,        /* may create devices and set their addresses and routes
                                 * (YES for create-device and configure-network) */
        _TB_ROLE_MAX,
} TbRole;

typedef struct TbUser {
        char *name;
        uid_t uid;
        gid_t gid;
} TbUser;

typedef struct TbEnv TbEnv;

/* Skips the current test with a message (g_test_skip) unless running as root with what the
 * bus tests need. Returns true when the test may run. */
bool tb_can_run(void);

/* Starts bus and polkitd (and installs files, creates users); tund is started separately. */
TbEnv *tb_env_new(void);
void tb_env_free(TbEnv *env);

const char *tb_env_address(TbEnv *env);
const char *tb_env_dir(TbEnv *env);
/* tund's --state-directory (where it keeps the records of persistent devices). */
const char *tb_env_state_dir(TbEnv *env);
/* Where the env's namespace helper listens, NULL when none was started. */
const char *tb_env_netns_helper_socket(TbEnv *env);
/* A copy of the program at PATH that the test users can run (mode 0755, in a folder they
 * can reach): the build folder may be under a home they cannot search, such as a 0700
 * /root. Made on the first call for PATH, removed with the environment. */
const char *tb_env_user_program(TbEnv *env, const char *path);
/* The shared uid 0 connection of the test. */
GDBusConnection *tb_env_bus(TbEnv *env);
/* A new uid 0 connection; closing it ends its lifetime on the bus. */
GDBusConnection *tb_env_connect(TbEnv *env);
const TbUser *tb_env_user(TbEnv *env, TbRole role);
/* The user tund drops to, started as root without --keep-root: TB_SERVICE_USER, made by the
 * harness when missing and kept afterwards (it is the system's service user). */
const TbUser *tb_env_service_user(TbEnv *env);
pid_t tb_env_polkitd_pid(TbEnv *env);
/* Installs the project's activation file (from the build) on the bus, so that a call to
 * org.example.Tun1 starts tund with this environment's state directory. */
void tb_env_install_activation(TbEnv *env);
/* Stops the bus daemon (tund then must exit on its own). */
void tb_env_stop_bus(TbEnv *env);

/* A name unique to this test process: "tb" PID SUFFIX, at most 15 bytes. Links and network
 * namespaces so named are removed when the test process ends, however it ends, once a reaper
 * runs for it: tb_env_new() starts one, tb_reap_at_exit() one alone. SUFFIX must not start
 * with a digit. */
char *tb_ifname(const char *suffix);
/* For tests and benchmarks that make links or namespaces without the bus environment; it
 * also removes what test processes that are gone left behind, as tb_env_new() does. */
void tb_reap_at_exit(void);

/* polkit */
typedef enum TbAnswer {
        TB_ANSWER_YES,
        TB_ANSWER_CHALLENGE,
        TB_ANSWER_NO,
} TbAnswer;
/* What polkitd itself answers about the caller behind a bus name. */
TbAnswer tb_polkit_answer(TbEnv *env, const char *bus_name, const char *action, bool interactive);

/* tund */
const char *tb_tund_path(void);
/* The built tund-netns-helper ($TUND_NETNS_HELPER), NULL when missing. */
const char *tb_netns_helper_path(void);
/* Starts tund on the bus, with $NOTIFY_SOCKET and a state directory that stays the same for
 * the whole test program, and waits until it owns its name. */
void tb_tund_start(TbEnv *env);
/* Only starts it; with EXTRA_ENV (NULL or KEY, VALUE, ..., NULL) in its environment. */
void tb_tund_spawn(TbEnv *env);
void tb_tund_spawn_with_env(TbEnv *env, const char *const *extra_env);
/* Both with EXTRA_ARGV (NULL or a NULL-terminated list, e.g. "--max-devices-per-user=2")
 * after tund's usual arguments. */
void tb_tund_spawn_with_args(TbEnv *env, const char *const *extra_argv, const char *const *extra_env);
void tb_tund_start_with_args(TbEnv *env, const char *const *extra_argv);
/* From now on, keeps the fds tund hands to $NOTIFY_SOCKET's fd store (FDSTORE=1 with
 * FDNAME=, FDSTOREREMOVE=1) as a service manager does, and hands copies to each tund started
 * afterwards (LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID). Without it they are dropped. */
void tb_tund_keep_fd_store(TbEnv *env);
/* The names of the fds in that store now (a set). */
GHashTable *tb_tund_fd_store_names(TbEnv *env);
/* Runs another tund on the same bus and state directory while the first runs, and waits for
 * it to exit (killed after a hang: -1); returns its wait status. */
int tb_tund_run_second(TbEnv *env);
pid_t tb_tund_pid(TbEnv *env);
/* Whether the bus name is owned now. */
bool tb_name_has_owner(TbEnv *env, const char *name);
/* Waits until nobody owns the bus name (a unique name: its connection is gone, and the bus
 * has told everyone so); false on a hang. */
bool tb_wait_name_released(TbEnv *env, const char *name);
/* Sends SIGTERM and waits for the exit; returns the wait status. */
int tb_tund_stop(TbEnv *env);
/* Waits for tund to exit on its own; returns the wait status, or -1 on a hang. */
int tb_tund_wait_exit(TbEnv *env);
/* The datagrams tund sent to $NOTIFY_SOCKET so far, in order, each one a string. */
GPtrArray *tb_tund_notifications(TbEnv *env);
/* Waits until tund has sent a notification holding LINE (e.g. "READY=1"). */
bool tb_tund_wait_notification(TbEnv *env, const char *line);

/* Iterates the default main context until PREDICATE(data) holds; false on a hang. */
bool tb_wait_until(bool (*predicate)(void *data), void *data);
/* Runs the default main context until idle. */
void tb_drain(void);

/* Calls on tund as the given connection. Return NULL and set ERROR on a D-Bus error. */
GVariant *tb_call(GDBusConnection *bus, const char *path, const char *iface, const char *method,
                  GVariant *args, const char *reply_type, GError **error);
GVariant *tb_call_flags(GDBusConnection *bus, GDBusCallFlags flags, const char *path,
                        const char *iface, const char *method, GVariant *args,
                        const char *reply_type, GError **error);
/* CreateDevice's arguments. OPTIONS may be NULL (floating ok). */
GVariant *tb_create_args(const char *name, GVariant *options);
/* CreateDevice; returns the object path or NULL with ERROR. OPTIONS may be NULL (floating ok). */
char *tb_create(GDBusConnection *bus, const char *name, GVariant *options, GError **error);
/* Like tb_create but asserts success. */
char *tb_create_ok(GDBusConnection *bus, const char *name, GVariant *options);
void tb_delete_ok(GDBusConnection *bus, const char *path);
GVariant *tb_get_property(GDBusConnection *bus, const char *path, const char *iface,
                          const char *name);
GVariant *tb_get_all(GDBusConnection *bus, const char *path, const char *iface);
char *tb_device_name(GDBusConnection *bus, const char *path);
/* ListDevices as a name → path table. */
GHashTable *tb_list_devices(GDBusConnection *bus);
/* OpenPacketFd on PATH (OPTIONS may be NULL; floating ok): the fd, or -1 with ERROR. */
int tb_open_packet_fd(GDBusConnection *bus, const char *path, GVariant *options, GError **error);
/* GetDevice, asserting success: the device's object path. */
char *tb_get_device_ok(GDBusConnection *bus, const char *name);
/* Asserts ERROR is the D-Bus error NAME with a non-empty message. */
void tb_assert_dbus_error(const GError *error, const char *name);
#define tb_assert_error(error, name) do {                                       \
                g_assert_nonnull(error);                                        \
                tb_assert_dbus_error((error), (name));                          \
        } while (0)
/* Asserts the outcome of a call: a reply when ERROR_NAME is NULL, else no reply and the
 * D-Bus error ERROR_NAME. */
void tb_assert_reply(GVariant *reply, const GError *error, const char *error_name);
/* Calls METHOD and asserts its outcome as tb_assert_reply does; the reply is dropped. */
void tb_call_expect(GDBusConnection *bus, const char *path, const char *iface, const char *method,
                    GVariant *args, const char *error_name);

/* Signals received by one subscription, in order. */
typedef struct TbSignals {
        GDBusConnection *bus;
        guint id;
        GPtrArray *received;    /* of GVariant "(sosv)": path, member, parameters */
} TbSignals;
TbSignals *tb_signals_new(GDBusConnection *bus, const char *iface, const char *member,
                          const char *path);
void tb_signals_free(TbSignals *s);
/* Waits for a signal with this member on this path (NULL: any) whose parameters satisfy
 * MATCH (NULL: any); removes and returns its parameters. NULL on a hang. */
GVariant *tb_signals_wait(TbSignals *s, const char *member, const char *path,
                          bool (*match)(GVariant *parameters, const void *data), const void *data);
/* The signals received so far that match, without waiting (after a tb_drain()). */
unsigned tb_signals_count(TbSignals *s, const char *member, const char *path);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TbSignals, tb_signals_free)

/* An unprivileged connection: the tb-caller helper run as USER via setpriv. Calls are
 * asynchronous; replies come back by id. fds in replies stay open in the helper until it
 * ends (tb_caller_free). */
typedef struct TbCaller TbCaller;
TbCaller *tb_caller_new(TbEnv *env, const TbUser *user);
void tb_caller_free(TbCaller *caller);
const char *tb_caller_unique_name(TbCaller *caller);
pid_t tb_caller_pid(TbCaller *caller);
/* Sends a call to tund; returns its id. */
unsigned tb_caller_send(TbCaller *caller, bool interactive, const char *path, const char *iface,
                        const char *method, GVariant *args);
/* Sends a call to another service. */
unsigned tb_caller_send_to(TbCaller *caller, bool interactive, const char *destination, const char *path,
                           const char *iface, const char *method, GVariant *args);
/* Emits a signal as CALLER, to DESTINATION (a unique name) or broadcast (NULL); ARGS is a
 * tuple (floating ok). Returns an id whose tb_caller_wait() answers "()" once the signal is
 * on its way to the bus. */
unsigned tb_caller_emit_signal(TbCaller *caller, const char *destination, const char *path,
                               const char *iface, const char *member, GVariant *args);
/* True when the reply to ID has arrived (it stays queued). */
bool tb_caller_has_reply(TbCaller *caller, unsigned id);
/* Waits for the reply to ID: its result tuple, or NULL and ERROR. */
GVariant *tb_caller_wait(TbCaller *caller, unsigned id, GError **error);
GVariant *tb_caller_call(TbCaller *caller, bool interactive, const char *path, const char *iface,
                         const char *method, GVariant *args, GError **error);
/* tb_call_expect as CALLER. */
void tb_caller_expect(TbCaller *caller, bool interactive, const char *path, const char *iface,
                      const char *method, GVariant *args, const char *error_name);
/* Sends DESTINATION method returns nobody asked for, carrying BODY, one for each reply
 * serial FIRST_SERIAL..LAST_SERIAL; returns an id whose reply comes once they are sent. */
unsigned tb_caller_forge_replies(TbCaller *caller, const char *destination, unsigned first_serial,
                                 unsigned last_serial, GVariant *body);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TbCaller, tb_caller_free)

/* The kernel's view, independent of tund. */
bool tb_link_exists(const char *ifname);
int tb_link_ifindex(const char *ifname);
/* The MTU as `ip link show` prints it; 0 when the link is missing. */
unsigned tb_link_mtu(const char *ifname);
/* Names of all links now. */
GHashTable *tb_links(void);
/* Waits until the link is gone; false on a hang. */
bool tb_wait_link_gone(const char *ifname);
/* Offload names (API.md) whose kernel features `ethtool -k` shows on for this TUN; tund's own
 * gro-* names are not visible to the kernel and never listed. */
GHashTable *tb_link_kernel_offloads(const char *ifname);
/* Offload names the running kernel accepts on a TUN with IFF_VNET_HDR, probed on a TUN the
 * harness creates itself, plus gro-tcp and gro-udp. */
GHashTable *tb_kernel_supported_offloads(void);

/* Utilities */
GHashTable *tb_strv_set(const char *const *strv);
bool tb_sets_equal(GHashTable *a, GHashTable *b);
char *tb_set_to_string(GHashTable *set);
#define tb_assert_sets_equal(a, b) do {                                         \
                if (!tb_sets_equal((a), (b))) {                                 \
                        g_autofree char *_sa = tb_set_to_string(a);             \
                        g_autofree char *_sb = tb_set_to_string(b);             \
                        g_error("%s:%d: sets differ: %s = [%s], %s = [%s]",     \
                                __FILE__, __LINE__, #a, _sa, #b, _sb);          \
                }                                                               \
        } while (0)
/* Source tree files (meson passes TB_SOURCE_ROOT). */
char *tb_source_path(const char *relative);
/* Runs ARGV, returns its exit status; stdout in *OUT when OUT is set. */
int tb_run(const char *const *argv, char **out, char **err);

/* The test program's environment, started on first use, with tund running (started again
 * if a test stopped it). NULL when the test was skipped (see tb_can_run). */
TbEnv *tb_test_env(void);
/* The same environment without starting tund, for tests that stand where tund would. */
TbEnv *tb_test_bus_env(void);
/* g_test_run(), then stops and removes everything the environment started. */
int tb_test_run(void);
/* An a{sv} from KEY, GVariant * (floating is fine) pairs ending with NULL. */
GVariant *tb_options(const char *first_key, ...) G_GNUC_NULL_TERMINATED;
/* The strings of an "as" value as a set. */
GHashTable *tb_variant_strv_set(GVariant *as);
