/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Benchmark (not a test; root): the real tund on the harness's private system bus.
 *   - latency from a link change (`ip link set up/down`, made with SIOCSIFFLAGS so that the
 *     clock starts at the change) to LinkUp/LinkDown arriving at a D-Bus client, median and
 *     worst of N changes: through netlink, then through the probe alone
 *     (TUND_LINK_NETLINK=0);
 *   - tund's CPU use while it watches 1000 idle devices, and with none as the baseline.
 * Prints `NAME VALUE UNIT` lines. Usage: bench-link-bus [CHANGES [DEVICES [SECONDS]]] */

#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static gboolean on_timeout(gpointer data) {
        *(bool *) data = true;
        return G_SOURCE_REMOVE;
}

static void run_for_usec(guint64 usec) {
        bool done = false;

        g_timeout_add(MAX(usec / 1000, 1), on_timeout, &done);
        while (!done)
                g_main_context_iteration(NULL, TRUE);
}

/* utime + stime of a process, in µs. */
static guint64 process_cpu_usec(pid_t pid) {
        g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int) pid);
        g_autofree char *stat = NULL;
        unsigned long utime, stime;
        const char *p;

        g_assert_true(g_file_get_contents(path, &stat, NULL, NULL));
        p = strrchr(stat, ')');
        g_assert_nonnull(p);
        /* After "pid (comm)": state, then fields 4..13, then utime (14) and stime (15). */
        g_assert_cmpint(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                               &utime, &stime), ==, 2);
        return (guint64) (utime + stime) * 1000000 / (guint64) sysconf(_SC_CLK_TCK);
}

static double tund_cpu_percent(TbEnv *env, unsigned seconds) {
        pid_t pid = tb_tund_pid(env);
        guint64 cpu = process_cpu_usec(pid), start = g_get_monotonic_time();

        run_for_usec((guint64) seconds * 1000000);
        return 100.0 * (double) (process_cpu_usec(pid) - cpu) / (double) (g_get_monotonic_time() - start);
}

static int cmp_u64(const void *a, const void *b) {
        guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
        return x < y ? -1 : x > y;
}

static void set_up(const char *name, bool up) {
        struct ifreq ifr = {};
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        g_assert_cmpint(fd, >=, 0);
        g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
        g_assert_cmpint(ioctl(fd, SIOCGIFFLAGS, &ifr), ==, 0);
        ifr.ifr_flags = (short) (up ? (ifr.ifr_flags | IFF_UP) : (ifr.ifr_flags & ~IFF_UP));
        g_assert_cmpint(ioctl(fd, SIOCSIFFLAGS, &ifr), ==, 0);
        close(fd);
}

static void bench_latency(TbEnv *env, const char *what, unsigned n) {
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *suffix = g_strdup_printf("b%c", what[0]);
        g_autofree char *name = tb_ifname(suffix);
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        g_autoptr(TbSignals) signals = tb_signals_new(bus, TB_DEVICE_IFACE, NULL, path);
        g_autofree guint64 *lat = g_new0(guint64, n);

        for (unsigned i = 0; i < n; i++) {
                bool up = i % 2 == 0;
                guint64 start;

                /* A random phase against tund's probe timer (1 s). */
                run_for_usec((guint64) g_random_int_range(0, 1000000));
                start = g_get_monotonic_time();
                set_up(name, up);
                g_autoptr(GVariant) p = tb_signals_wait(signals, up ? "LinkUp" : "LinkDown", path, NULL, NULL);
                g_assert_nonnull(p);
                lat[i] = (guint64) g_get_monotonic_time() - start;
        }
        run_for_usec(1500000);
        g_assert_cmpuint(tb_signals_count(signals, NULL, path), ==, 0);  /* one per change */

        qsort(lat, n, sizeof(guint64), cmp_u64);
        printf("link_signal_latency_%s_median %.3f ms\n", what, lat[n / 2] / 1000.0);
        printf("link_signal_latency_%s_worst %.3f ms\n", what, lat[n - 1] / 1000.0);
        fflush(stdout);
        tb_delete_ok(bus, path);
}

/* Persistent devices: tund tracks the creator of each other device with a match rule of
 * its own, and dbus-daemon allows 512 per connection. Should the benchmark abort, the
 * harness's reaper removes them (tb_ifname). */
static void bench_idle(TbEnv *env, unsigned devices, unsigned seconds) {
        GDBusConnection *bus = tb_env_bus(env);
        g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);

        printf("tund_idle_cpu_0_devices %.3f %%\n", tund_cpu_percent(env, seconds));
        for (unsigned i = 0; i < devices; i++) {
                g_autofree char *suffix = g_strdup_printf("i%u", i);
                g_autofree char *name = tb_ifname(suffix);
                g_ptr_array_add(paths, tb_create_ok(bus, name, tb_options("Persistent", g_variant_new_boolean(true), NULL)));
                /* Reads tund's FDSTORE=1 notifications: a full $NOTIFY_SOCKET blocks tund. */
                tb_drain();
        }
        run_for_usec(2000000);  /* creation's notifications pass */
        printf("tund_idle_cpu_%u_devices %.3f %%\n", devices, tund_cpu_percent(env, seconds));
        fflush(stdout);
        for (unsigned i = 0; i < paths->len; i++) {
                tb_delete_ok(bus, paths->pdata[i]);
                tb_drain();
        }
}

int main(int argc, char *argv[]) {
        unsigned changes = argc > 1 ? (unsigned) atoi(argv[1]) : 100;
        unsigned devices = argc > 2 ? (unsigned) atoi(argv[2]) : 1000;
        unsigned seconds = argc > 3 ? (unsigned) atoi(argv[3]) : 10;
        /* tund keeps one fd per device and inherits this limit. */
        struct rlimit rl = { .rlim_cur = 65536, .rlim_max = 65536 };
        TbEnv *env;

        if (geteuid() != 0 || !tb_tund_path()) {
                fprintf(stderr, "needs root, and TUND set to the tund binary\n");
                return 77;
        }
        (void) setrlimit(RLIMIT_NOFILE, &rl);

        env = tb_env_new();
        g_unsetenv("TUND_LINK_NETLINK");
        tb_tund_start(env);
        bench_latency(env, "netlink", changes);
        bench_idle(env, devices, seconds);

        g_assert_cmpint(tb_tund_stop(env), ==, 0);
        g_setenv("TUND_LINK_NETLINK", "0", TRUE);
        tb_tund_start(env);
        bench_latency(env, "probe", changes);
        g_unsetenv("TUND_LINK_NETLINK");

        tb_env_free(env);
        return 0;
}
