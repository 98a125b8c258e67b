/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Benchmark of the link monitor itself (not a test; needs root):
 *   - latency from a link change (`ip link set up/down`, made with SIOCSIFFLAGS so that the
 *     clock starts at the change, not at ip's start-up) to the report, median
 *     and worst of N changes, through netlink and through the probe alone;
 *   - CPU time the loop spends while 1000 idle devices are watched, with the baseline of the
 *     same loop watching none.
 * Prints `NAME VALUE UNIT` lines. Usage: bench-link-monitor [CHANGES [DEVICES [SECONDS]]] */

#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "link-monitor.h"
#include "macro.h"

typedef struct Bench {
        sd_event *event;
        LinkMonitor *monitor;
        unsigned reports;
} Bench;

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static uint64_t cpu_usec(void) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (uint64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
                (uint64_t) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int open_tun(const char *name) {
        struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR };
        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

        if (fd < 0)
                return -errno;
        memcpy(ifr.ifr_name, name, strnlen(name, sizeof(ifr.ifr_name) - 1));
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static void on_changed(LinkWatch *w, const LinkState *state, void *userdata) {
        ((Bench *) userdata)->reports++;
}

static void on_gone(LinkWatch *w, void *userdata) {
}

static const LinkWatchOps ops = { .changed = on_changed, .gone = on_gone };

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static int bench_init(Bench *b, bool netlink) {
        int r;

        *b = (Bench) {};
        r = sd_event_new(&b->event);
        if (r < 0)
                return r;
        r = link_monitor_new(&b->monitor, b->event);
        if (r < 0)
                return r;
        return link_monitor_set_netlink(b->monitor, netlink);
}

static void bench_done(Bench *b) {
        link_monitor_free(b->monitor);
        sd_event_unref(b->event);
}

/* Toggles the device up and down n times, each time timing change → report. */
static int bench_latency(const char *path, bool netlink, unsigned n) {
        _cleanup_close_ int fd = -EBADF;
        LinkWatch *w = NULL;
        uint64_t *lat;
        Bench b;
        char name[IFNAMSIZ];
        int r;

        snprintf(name, sizeof(name), "tlb%u", (unsigned) getpid() % 100000);
        lat = calloc(n, sizeof(uint64_t));
        if (!lat)
                return -ENOMEM;
        r = bench_init(&b, netlink);
        if (r < 0)
                return r;
        fd = open_tun(name);
        if (fd < 0)
                return fd;
        r = link_monitor_watch(b.monitor, fd, &ops, &b, &w);
        if (r < 0)
                return r;

        srand(1);
        for (unsigned i = 0; i < n; i++) {
                unsigned want = b.reports + 1;
                struct ifreq ifr = {};
                int ioctl_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                uint64_t start;

                /* A random phase against the probe's timer. */
                usleep((useconds_t) ((uint64_t) rand() % LINK_PROBE_INTERVAL_USEC));
                snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
                if (ioctl(ioctl_fd, SIOCGIFFLAGS, &ifr) < 0) {
                        close(ioctl_fd);
                        return -errno;
                }
                ifr.ifr_flags = (short) ((i % 2 == 0) ? (ifr.ifr_flags | IFF_UP) : (ifr.ifr_flags & ~IFF_UP));
                start = now_usec();
                if (ioctl(ioctl_fd, SIOCSIFFLAGS, &ifr) < 0) {
                        close(ioctl_fd);
                        return -errno;
                }
                close(ioctl_fd);
                while (b.reports < want)
                        sd_event_run(b.event, UINT64_MAX);
                lat[i] = now_usec() - start;
        }
        qsort(lat, n, sizeof(uint64_t), cmp_u64);
        printf("%s_median %.3f ms\n", path, lat[n / 2] / 1000.0);
        printf("%s_worst %.3f ms\n", path, lat[n - 1] / 1000.0);

        link_watch_free(w);
        bench_done(&b);
        free(lat);
        return 0;
}

/* CPU of the loop over the given seconds with n idle devices watched. */
static int bench_idle(unsigned n, unsigned seconds, double *ret_percent) {
        int *fds = calloc(n ? n : 1, sizeof(int));
        LinkWatch **watches = calloc(n ? n : 1, sizeof(LinkWatch *));
        uint64_t start, cpu, end;
        Bench b;
        int r;

        if (!fds || !watches)
                return -ENOMEM;
        r = bench_init(&b, true);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < n; i++) {
                char name[32];
                /* tl, 4 digits of the pid, 5 of the index: within IFNAMSIZ - 1. */
                snprintf(name, IFNAMSIZ, "tl%04u%05u", (unsigned) getpid() % 10000, i % 100000);
                fds[i] = open_tun(name);
                if (fds[i] < 0)
                        return fds[i];
                r = link_monitor_watch(b.monitor, fds[i], &ops, &b, &watches[i]);
                if (r < 0)
                        return r;
        }
        /* Let creation's notifications pass before measuring. */
        end = now_usec() + 500 * 1000;
        while (now_usec() < end)
                sd_event_run(b.event, 100 * 1000);

        cpu = cpu_usec();
        start = now_usec();
        end = start + (uint64_t) seconds * 1000000;
        while (now_usec() < end)
                sd_event_run(b.event, end - now_usec());
        *ret_percent = 100.0 * (double) (cpu_usec() - cpu) / (double) (now_usec() - start);
        if (b.reports != 0)
                fprintf(stderr, "warning: %u reports while idle\n", b.reports);

        for (unsigned i = 0; i < n; i++) {
                link_watch_free(watches[i]);
                close(fds[i]);
        }
        bench_done(&b);
        free(fds);
        free(watches);
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned changes = argc > 1 ? (unsigned) atoi(argv[1]) : 100;
        unsigned devices = argc > 2 ? (unsigned) atoi(argv[2]) : 1000;
        unsigned seconds = argc > 3 ? (unsigned) atoi(argv[3]) : 10;
        struct rlimit rl = { .rlim_cur = 65536, .rlim_max = 65536 };
        double baseline, idle;
        int r;

        if (getuid() != 0) {
                fprintf(stderr, "needs root (TUN devices)\n");
                return 77;
        }
        (void) setrlimit(RLIMIT_NOFILE, &rl);

        r = bench_latency("link_latency_netlink", true, changes);
        if (r >= 0)
                r = bench_latency("link_latency_probe", false, changes);
        if (r >= 0)
                r = bench_idle(0, seconds, &baseline);
        if (r >= 0)
                r = bench_idle(devices, seconds, &idle);
        if (r < 0) {
                fprintf(stderr, "benchmark failed: %s\n", strerror(-r));
                return 1;
        }
        printf("link_idle_cpu_0_devices %.3f %%\n", baseline);
        printf("link_idle_cpu_%u_devices %.3f %%\n", devices, idle);
        printf("link_probe_interval %.0f ms\n", LINK_PROBE_INTERVAL_USEC / 1000.0);
        return 0;
}
