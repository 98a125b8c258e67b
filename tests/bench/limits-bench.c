/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* limits-bench: what tund costs at each of its limits, and how a user flooding calls that
 * need polkit slows others, one figure per line as `NAME VALUE UNIT`. Run as root; it
 * starts its own private system bus, polkitd and tund through the bus test harness.
 *
 *   build/tests/bench/limits-bench [--calls N] [--flood-outstanding N]
 *
 * Each limit is reached for real, the way a hostile user would: CreateDevice, then
 * OpenPacketFd, until LimitsExceeded, as an unprivileged test user; with polkitd stopped
 * (SIGSTOP), calls that need it until the per-user and then the total limit of pending
 * checks. At each, tund's VmRSS and thread count. Then the latency of ListDevices (open to
 * all) and CreateDevice (through polkit) as another user, N calls each (default 200), on
 * the idle service and again while a user floods calls that need polkit (64 outstanding,
 * or --flood-outstanding).
 *
 * With --flood PATH it is that flooding user instead (started by the benchmark itself as
 * the test user, via setpriv): SetMTU on root's device at PATH, which needs polkit, with
 * that many calls outstanding at all times, until its stdin closes; then it prints how many calls
 * were answered. */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "harness.h"

#define LIMITS_EXCEEDED "org.example.Tun1.Error.LimitsExceeded"
static unsigned flood_outstanding = 64;

/* tund's defaults (tund(8)), given explicitly so that the figures name what they measure. */
static const struct {
        const char *name;
        unsigned value;
        const char *unit;
} limits[] = {
        { "max-devices-per-user", 16, "devices" },
        { "max-packet-fds-per-device", 16, "fds" },
        { "max-packet-fds-per-user", 64, "fds" },
        { "max-pending-checks-per-user", 16, "checks" },
        { "max-pending-checks", 64, "checks" },
};
enum { DEVICES_PER_USER, FDS_PER_DEVICE, FDS_PER_USER, CHECKS_PER_USER, CHECKS };

static void figure(const char *name, double value, const char *unit) {
        printf("%s %.*f %s\n", name, value == (double) (long) value ? 0 : 2, value, unit);
        fflush(stdout);
}

/* ---- The flooding user ----------------------------------------------------------------- */

typedef struct Flood {
        sd_bus *bus;
        const char *path;
        unsigned long answered, refused;
} Flood;

static int flood_send(Flood *f);

static int flood_on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Flood *f = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        f->answered++;
        if (e && strcmp(e->name, LIMITS_EXCEEDED) == 0)
                f->refused++;
        return flood_send(f);
}

static int flood_send(Flood *f) {
        return sd_bus_call_method_async(f->bus, NULL, "org.example.Tun1", f->path, "org.example.Tun1.Device",
                                        "SetMTU", flood_on_reply, f, "u", 1280u);
}

static int flood_on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        char buf[64];
        if (read(fd, buf, sizeof(buf)) <= 0)
                return sd_event_exit(sd_event_source_get_event(s), 0);
        return 0;
}

static int run_flood(const char *path) {
        sd_event *event = NULL;
        Flood f = { .path = path };
        int r;

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_bus_open_system(&f.bus);
        if (r >= 0)
                r = sd_bus_attach_event(f.bus, event, 0);
        if (r >= 0)
                r = sd_event_add_io(event, NULL, STDIN_FILENO, EPOLLIN, flood_on_stdin, NULL);
        for (unsigned i = 0; r >= 0 && i < flood_outstanding; i++)
                r = flood_send(&f);
        if (r < 0) {
                fprintf(stderr, "flood: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        printf("ready\n");
        fflush(stdout);
        r = sd_event_loop(event);
        printf("%lu %lu\n", f.answered, f.refused);
        fflush(stdout);
        sd_bus_flush_close_unref(f.bus);
        sd_event_unref(event);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static void child_setup(gpointer data) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
}

/* This program, run as USER with --flood PATH. */
static GSubprocess *flood_start(TbEnv *env, const TbUser *user, const char *path, GDataInputStream **ret_out) {
        g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
        g_assert_nonnull(self);
        const char *copy = tb_env_user_program(env, self);
        g_autoptr(GError) error = NULL;
        g_autofree char *reuid = g_strdup_printf("--reuid=%u", (unsigned) user->uid);
        g_autofree char *regid = g_strdup_printf("--regid=%u", (unsigned) user->gid);
        g_autofree char *outstanding = g_strdup_printf("--flood-outstanding=%u", flood_outstanding);
        const char *argv[] = { "setpriv", reuid, regid, "--clear-groups", "--", copy, outstanding,
                               "--flood", path, NULL };
        g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
        g_subprocess_launcher_setenv(l, "DBUS_SYSTEM_BUS_ADDRESS", tb_env_address(env), TRUE);
        g_subprocess_launcher_set_child_setup(l, child_setup, NULL, NULL);
        GSubprocess *p = g_subprocess_launcher_spawnv(l, argv, &error);
        g_assert_no_error(error);
        *ret_out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(p));
        g_autofree char *ready = g_data_input_stream_read_line(*ret_out, NULL, NULL, &error);
        if (g_strcmp0(ready, "ready") != 0)
                g_error("the flooding user did not start: %s", error ? error->message : "no output");
        return p;
}

/* Ends the flood; the number of calls answered and of those refused with LimitsExceeded. */
static void flood_stop(GSubprocess *p, GDataInputStream *out, unsigned long *answered, unsigned long *refused) {
        g_autoptr(GError) error = NULL;
        g_output_stream_close(g_subprocess_get_stdin_pipe(p), NULL, NULL);
        g_autofree char *line = g_data_input_stream_read_line(out, NULL, NULL, &error);
        g_assert_true(g_subprocess_wait(p, NULL, &error));
        if (!line || sscanf(line, "%lu %lu", answered, refused) != 2)
                g_error("the flooding user said nothing at its end");
        g_object_unref(out);
        g_object_unref(p);
}

/* ---- tund's figures -------------------------------------------------------------------- */

static unsigned long proc_status(TbEnv *env, const char *field) {
        g_autofree char *path = g_strdup_printf("/proc/%d/status", (int) tb_tund_pid(env));
        g_autofree char *status = NULL;
        g_autofree char *key = g_strdup_printf("\n%s:", field);
        g_assert_true(g_file_get_contents(path, &status, NULL, NULL));
        const char *line = strstr(status, key);
        g_assert_nonnull(line);
        return strtoul(line + strlen(key), NULL, 10);
}

/* At a limit: the limit's value, how many calls got through before LimitsExceeded, and
 * tund's memory and threads. */
static void at_limit(TbEnv *env, unsigned which, unsigned reached) {
        g_autofree char *limit = g_strdup_printf("limit-%s", limits[which].name);
        g_autofree char *got = g_strdup_printf("reached-%s", limits[which].name);
        g_autofree char *rss = g_strdup_printf("rss-at-%s", limits[which].name);
        g_autofree char *threads = g_strdup_printf("threads-at-%s", limits[which].name);
        figure(limit, limits[which].value, limits[which].unit);
        figure(got, reached, limits[which].unit);
        figure(rss, proc_status(env, "VmRSS"), "KiB");
        figure(threads, proc_status(env, "Threads"), "threads");
}

static bool is_limits_error(const GError *error) {
        g_autofree char *remote = error ? g_dbus_error_get_remote_error(error) : NULL;
        return g_strcmp0(remote, LIMITS_EXCEEDED) == 0;
}

static char *create_path(GVariant *r) {
        char *path;
        g_variant_get(r, "(o)", &path);
        return path;
}

/* Calls as C until one is refused with LimitsExceeded; how many were not. */
static unsigned until_limit(TbCaller *c, const char *what, unsigned bound,
                            GVariant *(*call)(TbCaller *c, unsigned i, void *data), void *data) {
        for (unsigned i = 0; i < bound; i++) {
                g_autoptr(GVariant) r = call(c, i, data);
                if (!r)
                        return i;
        }
        g_error("%s: no LimitsExceeded after %u calls", what, bound);
}

typedef struct Devices {
        char *paths[256];
        unsigned n;
} Devices;

static GVariant *create_one(TbCaller *c, unsigned i, void *data) {
        Devices *d = data;
        g_autofree char *suffix = g_strdup_printf("b%u", i);
        g_autofree char *name = tb_ifname(suffix);
        g_autoptr(GError) error = NULL;
        GVariant *r = tb_caller_call(c, false, "/org/example/Tun1", TB_MANAGER_IFACE, "CreateDevice",
                                     tb_create_args(name, NULL), &error);
        if (!r && !is_limits_error(error))
                g_error("CreateDevice: %s", error->message);
        if (r)
                d->paths[d->n++] = create_path(r);
        return r;
}

typedef struct FdTarget {
        Devices *devices;
        unsigned first;         /* device to open on, then the next ones in turn */
        bool spread;
} FdTarget;

static GVariant *open_one(TbCaller *c, unsigned i, void *data) {
        FdTarget *t = data;
        unsigned device = t->spread ? t->first + i / (limits[FDS_PER_DEVICE].value) : t->first;
        g_autoptr(GError) error = NULL;
        if (device >= t->devices->n)
                g_error("not enough devices to reach max-packet-fds-per-user");
        GVariant *r = tb_caller_call(c, false, t->devices->paths[device], TB_DEVICE_IFACE, "OpenPacketFd",
                                     g_variant_new("(a{sv})", NULL), &error);
        if (!r && !is_limits_error(error))
                g_error("OpenPacketFd: %s", error->message);
        return r;
}

/* Calls that need polkit, sent while it is stopped: until one is refused at once. */
static unsigned fill_checks(TbCaller *c, const char *root_path, unsigned bound) {
        for (unsigned i = 0; i < bound; i++) {
                unsigned id = tb_caller_send(c, false, root_path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1280));
                /* Answered before the next call once tund has handled it (its uid is known). */
                unsigned ping = tb_caller_send(c, false, "/org/example/Tun1", "org.freedesktop.DBus.Peer", "Ping", NULL);
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) pong G_GNUC_UNUSED = tb_caller_wait(c, ping, &error);
                g_assert_no_error(error);
                if (tb_caller_has_reply(c, id)) {
                        g_autoptr(GVariant) r G_GNUC_UNUSED = tb_caller_wait(c, id, &error);
                        if (!is_limits_error(error))
                                g_error("SetMTU while polkit is stopped: %s", error ? error->message : "success");
                        return i;
                }
        }
        g_error("no LimitsExceeded after %u calls that need polkit", bound);
}

/* ---- Latency --------------------------------------------------------------------------- */

static int compare_doubles(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

typedef struct Latency {
        double median, worst;
} Latency;

static Latency latency_figures(const char *name, const char *state, double *us, unsigned n) {
        qsort(us, n, sizeof(*us), compare_doubles);
        Latency l = { n % 2 ? us[n / 2] : (us[n / 2 - 1] + us[n / 2]) / 2, us[n - 1] };
        g_autofree char *median = g_strdup_printf("latency-%s-%s-median", name, state);
        g_autofree char *worst = g_strdup_printf("latency-%s-%s-worst", name, state);
        figure(median, l.median, "us");
        figure(worst, l.worst, "us");
        return l;
}

/* How many times slower under the flood than idle. */
static void latency_ratios(const char *name, Latency idle, Latency flood) {
        g_autofree char *median = g_strdup_printf("latency-%s-flood-vs-idle-median", name);
        g_autofree char *worst = g_strdup_printf("latency-%s-flood-vs-idle-worst", name);
        figure(median, flood.median / idle.median, "x");
        figure(worst, flood.worst / idle.worst, "x");
}

/* ListDevices and CreateDevice (then Delete, as the owner) as C, N calls each, one at a
 * time; the time from sending to the reply, through the tb-caller helper. */
static void measure_latency(TbCaller *c, const char *state, unsigned n, Latency *ret_list, Latency *ret_create) {
        g_autofree double *list = g_new(double, n), *create = g_new(double, n);
        g_autofree char *name = tb_ifname("lat");
        for (unsigned i = 0; i < n; i++) {
                g_autoptr(GError) error = NULL;
                gint64 t0 = g_get_monotonic_time();
                g_autoptr(GVariant) l G_GNUC_UNUSED = tb_caller_call(c, false, "/org/example/Tun1", TB_MANAGER_IFACE, "ListDevices", NULL, &error);
                list[i] = (double) (g_get_monotonic_time() - t0);
                g_assert_no_error(error);

                t0 = g_get_monotonic_time();
                g_autoptr(GVariant) r = tb_caller_call(c, false, "/org/example/Tun1", TB_MANAGER_IFACE, "CreateDevice",
                                                       tb_create_args(name, NULL), &error);
                create[i] = (double) (g_get_monotonic_time() - t0);
                if (!r)
                        g_error("CreateDevice (%s): %s", state, error->message);
                g_autofree char *path = create_path(r);
                tb_caller_expect(c, false, path, TB_DEVICE_IFACE, "Delete", NULL, NULL);
        }
        *ret_list = latency_figures("list-devices", state, list, n);
        *ret_create = latency_figures("create-device", state, create, n);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "calls", required_argument, NULL, 'n' },
                { "flood", required_argument, NULL, 'f' },
                { "flood-outstanding", required_argument, NULL, 'o' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        unsigned calls = 200;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        calls = (unsigned) strtoul(optarg, NULL, 10);
                        if (calls == 0)
                                calls = 1;
                        break;
                case 'o':
                        flood_outstanding = (unsigned) strtoul(optarg, NULL, 10);
                        if (flood_outstanding == 0)
                                flood_outstanding = 1;
                        break;
                case 'f':
                        return run_flood(optarg);
                case 'h':
                        printf("Usage: limits-bench [--calls N] [--flood-outstanding N]   (as root; see tests/bench/README.md)\n");
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }

        if (geteuid() != 0) {
                fprintf(stderr, "limits-bench needs root (private bus, polkitd, TUN devices, test users).\n");
                return EXIT_FAILURE;
        }
        /* Where meson built things, unless the environment says otherwise (as for tests). */
        g_setenv("TUND", LB_TUND, FALSE);
        g_setenv("TB_CALLER", LB_CALLER, FALSE);
        g_setenv("TB_SOURCE_ROOT", LB_SOURCE_ROOT, FALSE);
        if (!tb_tund_path()) {
                fprintf(stderr, "tund is not built at %s.\n", g_getenv("TUND"));
                return EXIT_FAILURE;
        }

        TbEnv *env = tb_env_new();
        GPtrArray *argv_limits = g_ptr_array_new_with_free_func(g_free);
        for (size_t i = 0; i < G_N_ELEMENTS(limits); i++)
                g_ptr_array_add(argv_limits, g_strdup_printf("--%s=%u", limits[i].name, limits[i].value));
        g_ptr_array_add(argv_limits, g_strdup("--polkit-timeout=25"));
        g_ptr_array_add(argv_limits, NULL);
        tb_tund_start_with_args(env, (const char *const *) argv_limits->pdata);
        GDBusConnection *bus = tb_env_bus(env);

        figure("rss-idle", proc_status(env, "VmRSS"), "KiB");
        figure("threads-idle", proc_status(env, "Threads"), "threads");

        /* Devices, then packet fds, as one user. */
        TbCaller *holder = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        Devices devices = {};
        at_limit(env, DEVICES_PER_USER, until_limit(holder, "CreateDevice", 256, create_one, &devices));
        FdTarget one = { &devices, 0, false };
        at_limit(env, FDS_PER_DEVICE, until_limit(holder, "OpenPacketFd", 1024, open_one, &one));
        FdTarget spread = { &devices, 1, true };
        unsigned more = until_limit(holder, "OpenPacketFd", 1024, open_one, &spread);
        at_limit(env, FDS_PER_USER, limits[FDS_PER_DEVICE].value + more);
        tb_caller_free(holder);
        for (unsigned i = 0; i < devices.n; i++)
                g_free(devices.paths[i]);

        /* Pending checks, polkitd stopped: one user, then every test user. */
        g_autofree char *root_name = tb_ifname("root");
        g_autofree char *root_path = tb_create_ok(bus, root_name, NULL);
        TbCaller *checkers[_TB_ROLE_MAX];
        for (TbRole r = 0; r < _TB_ROLE_MAX; r++) {
                checkers[r] = tb_caller_new(env, tb_env_user(env, r));
                /* tund learns its uid, so that its calls are handled in order. */
                g_autoptr(GError) error = NULL;
                g_autoptr(GVariant) known G_GNUC_UNUSED = tb_caller_call(checkers[r], false, root_path, TB_DEVICE_IFACE,
                                                                         "SetMTU", g_variant_new("(u)", 1280), &error);
        }
        pid_t polkitd = tb_env_polkitd_pid(env);
        g_assert_no_errno(kill(polkitd, SIGSTOP));
        unsigned total = fill_checks(checkers[0], root_path, 1024);
        at_limit(env, CHECKS_PER_USER, total);
        for (TbRole r = 1; r < _TB_ROLE_MAX; r++)
                total += fill_checks(checkers[r], root_path, 1024);
        at_limit(env, CHECKS, total);
        g_assert_no_errno(kill(polkitd, SIGCONT));
        for (TbRole r = 0; r < _TB_ROLE_MAX; r++)
                tb_caller_free(checkers[r]);

        /* Latency, idle and flooded, in this run, once polkitd has caught up. */
        g_usleep(G_USEC_PER_SEC);
        tb_drain();
        TbCaller *probe = tb_caller_new(env, tb_env_user(env, TB_ROLE_CREATE));
        Latency list_idle, create_idle, list_flood, create_flood;
        measure_latency(probe, "idle", calls, &list_idle, &create_idle);
        GDataInputStream *out;
        GSubprocess *flooder = flood_start(env, tb_env_user(env, TB_ROLE_NOBODY), root_path, &out);
        gint64 t0 = g_get_monotonic_time();
        measure_latency(probe, "flood", calls, &list_flood, &create_flood);
        double seconds = (double) (g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
        unsigned long answered, refused;
        flood_stop(flooder, out, &answered, &refused);
        latency_ratios("list-devices", list_idle, list_flood);
        latency_ratios("create-device", create_idle, create_flood);
        figure("flood-calls-outstanding", flood_outstanding, "calls");
        figure("flood-calls-answered-per-second", answered / seconds, "calls/s");
        figure("flood-calls-refused-per-second", refused / seconds, "calls/s");
        tb_caller_free(probe);

        tb_delete_ok(bus, root_path);
        g_ptr_array_unref(argv_limits);
        tb_env_free(env);
        return EXIT_SUCCESS;
}
