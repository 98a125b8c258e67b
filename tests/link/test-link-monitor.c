/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The link monitor against real TUN devices and real `ip link` changes, in our namespace
 * and in namespaces the test creates, with netlink and the probe together and the probe
 * alone. Every report is counted: one per change, none when idle. */

/* Before glib.h, which redefines MIN and MAX with its own. */
#include "log.h"

#include <fcntl.h>
#include <glib.h>
#include <linux/if_tun.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <string.h>
#include <sys/ioctl.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "harness.h"
#include "link-monitor.h"
#include "netns.h"

/* Short, so that the probe gets its chances during each test. */
#define PROBE_INTERVAL_USEC (100 * 1000ULL)
/* Long enough for several probes and any late netlink message. */
#define IDLE_USEC (4 * PROBE_INTERVAL_USEC)
/* A safety net for waiting, not a timing requirement. */
#define WAIT_LIMIT_USEC (15 * 1000 * 1000ULL)

typedef struct Fixture {
        sd_event *event;
        LinkMonitor *monitor;
        LinkWatch *watch;
        int tun_fd;
        char name[IFNAMSIZ];    /* the device's current name, for cleanup */
        char netns[32];         /* a namespace the test created, or "" */
        GArray *reports;        /* LinkState */
        unsigned gone;
} Fixture;

static void run_cmd(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static gboolean run_cmd_status(char **ret_stderr, const char *fmt, va_list ap) {
        g_autofree char *cmd = g_strdup_vprintf(fmt, ap);
        g_auto(GStrv) argv = NULL;
        g_autoptr(GError) error = NULL;
        int status;

        g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, &error));
        g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                                   NULL, NULL, NULL, ret_stderr, &status, &error));
        return g_spawn_check_wait_status(status, NULL);
}

static void run_cmd(const char *fmt, ...) {
        g_autofree char *err = NULL;
        va_list ap;
        gboolean ok;

        va_start(ap, fmt);
        ok = run_cmd_status(&err, fmt, ap);
        va_end(ap);
        if (!ok)
                g_error("command failed: %s", err);
}

static void run_cmd_quiet(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void run_cmd_quiet(const char *fmt, ...) {
        g_autofree char *err = NULL;
        va_list ap;

        va_start(ap, fmt);
        (void) run_cmd_status(&err, fmt, ap);
        va_end(ap);
}

static int open_tun(const char *name) {
        struct ifreq ifr = {};
        int fd;

        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
        g_assert_cmpint(fd, >=, 0);
        ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
        g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
        g_assert_cmpint(ioctl(fd, TUNSETIFF, &ifr), ==, 0);
        return fd;
}

static void on_changed(LinkWatch *w, const LinkState *state, void *userdata) {
        Fixture *f = userdata;

        g_assert_true(w == f->watch);
        g_assert_cmpuint(f->gone, ==, 0);
        g_array_append_val(f->reports, *state);
        g_strlcpy(f->name, state->name, sizeof(f->name));
}

static void on_gone(LinkWatch *w, void *userdata) {
        Fixture *f = userdata;

        g_assert_true(w == f->watch);
        f->gone++;
}

static const LinkWatchOps ops = {
        .changed = on_changed,
        .gone = on_gone,
};

/* Which sources run: both (as in tund), or one alone to show that each suffices. */
typedef enum Sources {
        SOURCES_BOTH,
        SOURCES_NETLINK,        /* the probe waits an hour */
        SOURCES_PROBE,
} Sources;

static const Sources both = SOURCES_BOTH, netlink_only = SOURCES_NETLINK, probe_only = SOURCES_PROBE;

static void fixture_setup(Fixture *f, gconstpointer data) {
        const Sources *sources = data;

        *f = (Fixture) { .tun_fd = -1 };
        if (getuid() != 0)
                return;
        f->reports = g_array_new(FALSE, TRUE, sizeof(LinkState));
        g_assert_cmpint(sd_event_new(&f->event), >=, 0);
        g_assert_cmpint(link_monitor_new(&f->monitor, f->event), >=, 0);
        g_assert_cmpint(link_monitor_set_probe_interval(f->monitor, *sources == SOURCES_NETLINK ?
                                                        3600 * 1000 * 1000ULL : PROBE_INTERVAL_USEC), >=, 0);
        if (*sources == SOURCES_PROBE)
                g_assert_cmpint(link_monitor_set_netlink(f->monitor, false), >=, 0);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        if (!f->event)
                return;
        link_watch_free(f->watch);
        link_monitor_free(f->monitor);
        sd_event_unref(f->event);
        if (f->tun_fd >= 0)
                close(f->tun_fd);       /* a non-persistent device goes with its fd */
        if (f->netns[0])
                run_cmd_quiet("ip netns delete %s", f->netns);
        g_array_unref(f->reports);
}

static bool skip_unless_root(void) {
        if (getuid() == 0)
                return false;
        g_test_skip("needs root: creates TUN devices and network namespaces");
        return true;
}

/* tb_ifname(): the harness's reaper removes namespaces so named that a failed test left. */
static void make_name(char *buf, size_t size, const char *what) {
        g_autofree char *name = tb_ifname(what);
        g_strlcpy(buf, name, size);
}

static void create_and_watch(Fixture *f, const char *what) {
        make_name(f->name, sizeof(f->name), what);
        f->tun_fd = open_tun(f->name);
        g_assert_cmpint(link_monitor_watch(f->monitor, f->tun_fd, &ops, f, &f->watch), >=, 0);

        const LinkState *s = link_watch_state(f->watch);
        g_assert_cmpstr(s->name, ==, f->name);
        g_assert_cmpint(s->ifindex, ==, (int) if_nametoindex(f->name));
        g_assert_cmpuint(s->mtu, ==, 1500);
        g_assert_false(s->up);
}

static void netns_add(const char *name) {
        run_cmd("ip netns add %s", name);
}

static void netns_delete(const char *name) {
        run_cmd("ip netns delete %s", name);
}

static void create_netns(Fixture *f, const char *what) {
        make_name(f->netns, sizeof(f->netns), what);
        netns_add(f->netns);
}

/* Runs the loop until the device was reported n times (or gone), then for IDLE_USEC more
 * to catch any extra report. */
static void expect_reports(Fixture *f, unsigned n) {
        uint64_t start, now;

        g_assert_cmpint(sd_event_now(f->event, CLOCK_MONOTONIC, &start), >=, 0);
        while (f->reports->len < n && f->gone == 0) {
                g_assert_cmpint(sd_event_run(f->event, 100 * 1000), >=, 0);
                g_assert_cmpint(sd_event_now(f->event, CLOCK_MONOTONIC, &now), >=, 0);
                if (now - start > WAIT_LIMIT_USEC)
                        g_error("waited in vain for report %u (have %u)", n, f->reports->len);
        }
        g_assert_cmpint(sd_event_now(f->event, CLOCK_MONOTONIC, &start), >=, 0);
        do {
                g_assert_cmpint(sd_event_run(f->event, IDLE_USEC), >=, 0);
                g_assert_cmpint(sd_event_now(f->event, CLOCK_MONOTONIC, &now), >=, 0);
        } while (now - start < IDLE_USEC);
        g_assert_cmpuint(f->reports->len, ==, n);
}

static void expect_gone(Fixture *f) {
        uint64_t start, now;
        unsigned reports = f->reports->len;

        g_assert_cmpint(sd_event_now(f->event, CLOCK_MONOTONIC, &start), >=, 0);
        while (f->gone == 0) {
                g_assert_cmpint(sd_event_run(f->event, 100 * 1000), >=, 0);
                g_assert_cmpint(sd_event_now(f->event, CLOCK_MONOTONIC, &now), >=, 0);
                if (now - start > WAIT_LIMIT_USEC)
                        g_error("waited in vain for the device to go");
        }
        g_assert_cmpint(sd_event_now(f->event, CLOCK_MONOTONIC, &start), >=, 0);
        do {
                g_assert_cmpint(sd_event_run(f->event, IDLE_USEC), >=, 0);
                g_assert_cmpint(sd_event_now(f->event, CLOCK_MONOTONIC, &now), >=, 0);
        } while (now - start < IDLE_USEC);
        g_assert_cmpuint(f->gone, ==, 1);
        g_assert_cmpuint(f->reports->len, ==, reports);
}

static const LinkState *last_report(Fixture *f) {
        g_assert_cmpuint(f->reports->len, >, 0);
        return &g_array_index(f->reports, LinkState, f->reports->len - 1);
}

/* Runs `ip link ...` in the namespace the device is in. */
static void ip_link(Fixture *f, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void ip_link(Fixture *f, const char *fmt, ...) {
        g_autofree char *args = NULL;
        va_list ap;

        va_start(ap, fmt);
        args = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        if (f->netns[0])
                run_cmd("ip -n %s link %s", f->netns, args);
        else
                run_cmd("ip link %s", args);
}

static void check_changes(Fixture *f) {
        unsigned n = f->reports->len;
        int ifindex = link_watch_state(f->watch)->ifindex;
        char renamed[IFNAMSIZ];
        const LinkState *s;

        /* Nothing happens: nothing is reported. */
        expect_reports(f, n);

        ip_link(f, "set %s up", f->name);
        expect_reports(f, ++n);
        s = last_report(f);
        g_assert_true(s->up);
        g_assert_cmpuint(s->mtu, ==, 1500);
        g_assert_cmpint(s->ifindex, ==, ifindex);

        ip_link(f, "set %s mtu 1400", f->name);
        expect_reports(f, ++n);
        s = last_report(f);
        g_assert_cmpuint(s->mtu, ==, 1400);
        g_assert_true(s->up);

        ip_link(f, "set %s down", f->name);
        expect_reports(f, ++n);
        g_assert_false(last_report(f)->up);

        make_name(renamed, sizeof(renamed), "ren");
        ip_link(f, "set %s name %s", f->name, renamed);
        expect_reports(f, ++n);
        s = last_report(f);
        g_assert_cmpstr(s->name, ==, renamed);
        g_assert_cmpint(s->ifindex, ==, ifindex);
        g_assert_cmpuint(s->mtu, ==, 1400);
        g_assert_false(s->up);

        /* Setting what is already set changes nothing. */
        ip_link(f, "set %s mtu 1400", f->name);
        ip_link(f, "set %s down", f->name);
        expect_reports(f, n);

        g_assert_true(memcmp(link_watch_state(f->watch), s, sizeof(*s)) == 0);
}

static void move_to_netns(Fixture *f, const char *what) {
        unsigned n = f->reports->len;

        create_netns(f, what);
        run_cmd("ip link set %s netns %s", f->name, f->netns);
        /* A move is not a deletion, and changes nothing here: the device is down, and a
         * fresh namespace has its ifindex free, so it keeps it. */
        expect_reports(f, n);
        g_assert_cmpuint(f->gone, ==, 0);
        g_assert_false(link_watch_state(f->watch)->up);
        g_assert_cmpstr(link_watch_state(f->watch)->name, ==, f->name);
}

static void test_root_changes(Fixture *f, gconstpointer data) {
        if (skip_unless_root())
                return;
        create_and_watch(f, "r");
        check_changes(f);
        run_cmd("ip link delete %s", f->name);
        expect_gone(f);
}

static void test_netns_changes(Fixture *f, gconstpointer data) {
        if (skip_unless_root())
                return;
        create_and_watch(f, "n");
        move_to_netns(f, "nsa");
        check_changes(f);
        run_cmd("ip -n %s link delete %s", f->netns, f->name);
        expect_gone(f);
}

static void test_move_while_up(Fixture *f, gconstpointer data) {
        if (skip_unless_root())
                return;
        create_and_watch(f, "u");
        run_cmd("ip link set %s up", f->name);
        expect_reports(f, 1);

        /* Moving closes the device: it goes down, once. */
        create_netns(f, "nsu");
        run_cmd("ip link set %s netns %s", f->name, f->netns);
        expect_reports(f, 2);
        g_assert_false(last_report(f)->up);

        run_cmd("ip -n %s link set %s up", f->netns, f->name);
        expect_reports(f, 3);
        g_assert_true(last_report(f)->up);
}

static void test_netns_destroyed(Fixture *f, gconstpointer data) {
        if (skip_unless_root())
                return;
        create_and_watch(f, "d");
        move_to_netns(f, "nsd");
        run_cmd("ip -n %s link set %s up", f->netns, f->name);
        expect_reports(f, f->reports->len + 1);

        netns_delete(f->netns);
        f->netns[0] = '\0';
        expect_gone(f);
}

/* Two moves: into a namespace, then from there into another one. The second namespace
 * gets its id from the monitor, not from `ip`. */
static void test_netns_to_netns(Fixture *f, gconstpointer data) {
        char second[32];

        if (skip_unless_root())
                return;
        create_and_watch(f, "t");
        move_to_netns(f, "nst1");
        make_name(second, sizeof(second), "nst2");
        netns_add(second);
        run_cmd("ip -n %s link set %s netns %s", f->netns, f->name, second);
        netns_delete(f->netns);
        g_strlcpy(f->netns, second, sizeof(f->netns));
        expect_reports(f, f->reports->len);
        g_assert_cmpuint(f->gone, ==, 0);

        check_changes(f);
        netns_delete(f->netns);
        f->netns[0] = '\0';
        expect_gone(f);
}

/* The daemon's way of acting on a device wherever it is: requests from its own namespace
 * addressed to the device's namespace by id. */
static void test_act_after_move(Fixture *f, gconstpointer data) {
        struct nl_sock *sk;
        LinkState s;
        int nsid;

        if (skip_unless_root())
                return;
        create_and_watch(f, "m");
        sk = nl_socket_alloc();
        g_assert_nonnull(sk);
        g_assert_cmpint(nl_connect(sk, NETLINK_ROUTE), ==, 0);
        g_assert_cmpint(netns_nsid_of_tun(sk, f->tun_fd, &nsid), ==, 0);
        g_assert_cmpint(nsid, ==, NETNS_NSID_SELF);
        g_assert_cmpint(netns_tun_set_mtu(sk, f->tun_fd, 1280), ==, 0);
        expect_reports(f, 1);
        g_assert_cmpuint(last_report(f)->mtu, ==, 1280);

        move_to_netns(f, "nsm");
        g_assert_cmpint(netns_nsid_of_tun(sk, f->tun_fd, &nsid), ==, 0);
        g_assert_cmpint(nsid, >=, 0);

        g_assert_cmpint(netns_link_get(sk, nsid, 0, f->name, &s), ==, 0);
        g_assert_true(memcmp(&s, link_watch_state(f->watch), sizeof(s)) == 0);
        g_assert_cmpint(netns_link_get(sk, nsid, s.ifindex, NULL, &s), ==, 0);
        g_assert_cmpstr(s.name, ==, f->name);
        g_assert_cmpint(netns_link_get(sk, nsid, 0, "tlnosuchlink", &s), ==, -ENODEV);

        g_assert_cmpint(netns_tun_get_link(sk, f->tun_fd, &s), ==, 0);
        g_assert_true(memcmp(&s, link_watch_state(f->watch), sizeof(s)) == 0);

        /* RTM_SETLINK does not reach into another namespace: the namespace helper's job. */
        g_assert_cmpint(netns_tun_set_mtu(sk, f->tun_fd, 9000), ==, -EREMOTE);
        expect_reports(f, f->reports->len);

        g_assert_cmpint(netns_tun_delete(sk, f->tun_fd), ==, 0);
        expect_gone(f);
        g_assert_cmpint(netns_nsid_of_tun(sk, f->tun_fd, &nsid), ==, -EBADFD);
        g_assert_cmpint(netns_tun_delete(sk, f->tun_fd), ==, -EBADFD);
        nl_socket_free(sk);
}

/* Many changes in a row while the probe runs often: each still reported exactly once. */
static void test_many_changes(Fixture *f, gconstpointer data) {
        unsigned n = 0;

        if (skip_unless_root())
                return;
        g_assert_cmpint(link_monitor_set_probe_interval(f->monitor, 1000), >=, 0);
        create_and_watch(f, "x");
        for (unsigned i = 0; i < 20; i++) {
                run_cmd("ip link set %s up", f->name);
                run_cmd("ip link set %s mtu %u", f->name, 1300 + i);
                run_cmd("ip link set %s down", f->name);
                n += 3;
                /* Let the loop see some of it now, the rest later. */
                if (i % 2 == 0)
                        for (unsigned j = 0; j < 5; j++)
                                g_assert_cmpint(sd_event_run(f->event, 2000), >=, 0);
        }
        expect_reports(f, n);
        for (unsigned i = 0; i < n; i++) {
                const LinkState *s = &g_array_index(f->reports, LinkState, i);
                g_assert_cmpint(s->up, ==, i % 3 == 0 || i % 3 == 1);
                g_assert_cmpuint(s->mtu, ==, i % 3 == 0 ? (i == 0 ? 1500 : 1300 + i / 3 - 1) : 1300 + i / 3);
        }
}

static void test_probe_only(Fixture *f, gconstpointer data) {
        if (skip_unless_root())
                return;
        create_and_watch(f, "p");
        check_changes(f);

        move_to_netns(f, "nsp");
        run_cmd("ip -n %s link set %s up", f->netns, f->name);
        expect_reports(f, f->reports->len + 1);
        g_assert_true(last_report(f)->up);
        run_cmd("ip -n %s link set %s down", f->netns, f->name);
        expect_reports(f, f->reports->len + 1);
        g_assert_false(last_report(f)->up);

        netns_delete(f->netns);
        f->netns[0] = '\0';
        expect_gone(f);
}

/* A persistent device that is up has no carrier while no fd is attached; attached again
 * (as by a restarted tund), it is up at once, with nothing reported while the kernel
 * catches up with IFF_RUNNING. A real change right then is still reported. */
static void test_reattached_up(Fixture *f, gconstpointer data) {
        if (skip_unless_root())
                return;
        make_name(f->name, sizeof(f->name), "ra");
        f->tun_fd = open_tun(f->name);
        g_assert_cmpint(ioctl(f->tun_fd, TUNSETPERSIST, 1), ==, 0);
        run_cmd("ip link set %s up", f->name);
        close(f->tun_fd);
        /* While no fd is attached the link is up but not running. */
        f->tun_fd = open_tun(f->name);
        g_assert_cmpint(ioctl(f->tun_fd, TUNSETPERSIST, 0), ==, 0);

        g_assert_cmpint(link_monitor_watch(f->monitor, f->tun_fd, &ops, f, &f->watch), >=, 0);
        g_assert_true(link_watch_state(f->watch)->up);
        expect_reports(f, 0);

        run_cmd("ip link set %s down", f->name);
        expect_reports(f, 1);
        g_assert_false(last_report(f)->up);
}

/* What tund changes itself is reported at once, after older changes still queued. */
static void test_refresh(Fixture *f, gconstpointer data) {
        if (skip_unless_root())
                return;
        create_and_watch(f, "f");
        run_cmd("ip link set %s up", f->name);
        run_cmd("ip link set %s mtu 1400", f->name);
        link_watch_refresh(f->watch);
        g_assert_cmpuint(f->reports->len, >=, 1);
        g_assert_cmpuint(last_report(f)->mtu, ==, 1400);
        g_assert_true(last_report(f)->up);
        expect_reports(f, f->reports->len);
        g_assert_cmpuint(f->reports->len, <=, 2);
        if (f->reports->len == 2) {
                g_assert_true(g_array_index(f->reports, LinkState, 0).up);
                g_assert_cmpuint(g_array_index(f->reports, LinkState, 0).mtu, ==, 1500);
        }
}

/* A watch that starts after changes were queued reports none of them. */
static void test_no_stale_reports(Fixture *f, gconstpointer data) {
        if (skip_unless_root())
                return;
        make_name(f->name, sizeof(f->name), "s");
        f->tun_fd = open_tun(f->name);
        run_cmd("ip link set %s up", f->name);
        run_cmd("ip link set %s mtu 1280", f->name);
        g_assert_cmpint(link_monitor_watch(f->monitor, f->tun_fd, &ops, f, &f->watch), >=, 0);
        g_assert_true(link_watch_state(f->watch)->up);
        g_assert_cmpuint(link_watch_state(f->watch)->mtu, ==, 1280);
        expect_reports(f, 0);
}

/* The kernel drops notifications when the socket overruns; the monitor then asks every
 * device. Some changes may be seen only as their sum, but the final state is reported,
 * no state twice in a row, and nothing when idle. */
static void test_overrun(Fixture *f, gconstpointer data) {
        const LinkState *prev = NULL;
        uint64_t start, now;

        if (skip_unless_root())
                return;
        create_and_watch(f, "o");
        g_assert_cmpint(link_monitor_set_netlink_buffer_size(f->monitor, 1), >=, 0);
        for (unsigned i = 0; i < 10; i++) {
                run_cmd("ip link set %s up", f->name);
                run_cmd("ip link set %s mtu %u", f->name, 1400 + i);
        }
        run_cmd("ip link set %s down", f->name);
        run_cmd("ip link set %s mtu 1300", f->name);

        g_assert_cmpint(sd_event_now(f->event, CLOCK_MONOTONIC, &start), >=, 0);
        while (f->reports->len == 0 || last_report(f)->mtu != 1300 || last_report(f)->up) {
                g_assert_cmpint(sd_event_run(f->event, 100 * 1000), >=, 0);
                g_assert_cmpint(sd_event_now(f->event, CLOCK_MONOTONIC, &now), >=, 0);
                g_assert_cmpuint(now - start, <, WAIT_LIMIT_USEC);
        }
        expect_reports(f, f->reports->len);
        g_assert_false(last_report(f)->up);
        for (unsigned i = 0; i < f->reports->len; i++) {
                const LinkState *s = &g_array_index(f->reports, LinkState, i);
                g_assert_true(!prev || memcmp(prev, s, sizeof(*s)) != 0);
                prev = s;
        }
}

/* Several devices in a namespace that is destroyed; each callback frees its watch, and
 * the first also frees the others' watches, as a daemon tearing down may. */
typedef struct Many {
        LinkMonitor *monitor;
        LinkWatch *watches[4];
        int fds[4];
        unsigned gone[4];
        unsigned changed[4];
} Many;

static void many_changed(LinkWatch *w, const LinkState *state, void *userdata) {
        Many *many = userdata;

        for (unsigned i = 0; i < G_N_ELEMENTS(many->watches); i++)
                if (many->watches[i] == w)
                        many->changed[i]++;
}

static void many_gone(LinkWatch *w, void *userdata) {
        Many *many = userdata;

        for (unsigned i = 0; i < G_N_ELEMENTS(many->watches); i++)
                if (many->watches[i] == w) {
                        many->gone[i]++;
                        many->watches[i] = link_watch_free(w);
                        if (i == 0)
                                many->watches[1] = link_watch_free(many->watches[1]);
                }
}

static const LinkWatchOps many_ops = {
        .changed = many_changed,
        .gone = many_gone,
};

static void test_many_devices_netns_destroyed(Fixture *f, gconstpointer data) {
        Many many = { .monitor = f->monitor };
        char names[4][IFNAMSIZ];
        uint64_t start, now;

        if (skip_unless_root())
                return;
        create_netns(f, "nsm4");
        for (unsigned i = 0; i < 4; i++) {
                char what[8];
                g_snprintf(what, sizeof(what), "m4%u", i);
                make_name(names[i], sizeof(names[i]), what);
                many.fds[i] = open_tun(names[i]);
                g_assert_cmpint(link_monitor_watch(f->monitor, many.fds[i], &many_ops, &many, &many.watches[i]), >=, 0);
                run_cmd("ip link set %s netns %s", names[i], f->netns);
        }
        run_cmd("ip -n %s link set %s up", f->netns, names[3]);
        netns_delete(f->netns);
        f->netns[0] = '\0';

        g_assert_cmpint(sd_event_now(f->event, CLOCK_MONOTONIC, &start), >=, 0);
        do {
                g_assert_cmpint(sd_event_run(f->event, 100 * 1000), >=, 0);
                g_assert_cmpint(sd_event_now(f->event, CLOCK_MONOTONIC, &now), >=, 0);
                g_assert_cmpuint(now - start, <, WAIT_LIMIT_USEC);
        } while (many.watches[0] || many.watches[2] || many.watches[3]);
        expect_reports(f, 0);   /* runs the loop a while longer */

        g_assert_cmpuint(many.gone[0], ==, 1);
        g_assert_cmpuint(many.gone[1], <=, 1);  /* its watch may have been freed first */
        g_assert_cmpuint(many.gone[2], ==, 1);
        g_assert_cmpuint(many.gone[3], ==, 1);
        /* Device 3 went up once, and nothing else changed. */
        g_assert_cmpuint(many.changed[0] + many.changed[1] + many.changed[2], ==, 0);
        g_assert_cmpuint(many.changed[3], <=, 1);
        for (unsigned i = 0; i < 4; i++)
                close(many.fds[i]);
}

/* A callback that starts another watch: the changes queued for that device before are not
 * reported, those after are, in order. */
typedef struct Chain {
        Fixture *f;
        int fd_b;
        LinkWatch *watch_b;
        GArray *reports_b;
} Chain;

static void chain_b_changed(LinkWatch *w, const LinkState *state, void *userdata) {
        Chain *c = userdata;
        g_array_append_val(c->reports_b, *state);
}

static const LinkWatchOps chain_b_ops = { .changed = chain_b_changed, .gone = on_gone };

static void chain_a_changed(LinkWatch *w, const LinkState *state, void *userdata) {
        Chain *c = userdata;

        g_array_append_val(c->f->reports, *state);
        if (!c->watch_b)
                g_assert_cmpint(link_monitor_watch(c->f->monitor, c->fd_b, &chain_b_ops, c, &c->watch_b), >=, 0);
}

static const LinkWatchOps chain_a_ops = { .changed = chain_a_changed, .gone = on_gone };

static void test_watch_from_callback(Fixture *f, gconstpointer data) {
        Chain c = { .f = f };
        char name_b[IFNAMSIZ];

        if (skip_unless_root())
                return;
        make_name(f->name, sizeof(f->name), "ca");
        make_name(name_b, sizeof(name_b), "cb");
        f->tun_fd = open_tun(f->name);
        c.fd_b = open_tun(name_b);
        c.reports_b = g_array_new(FALSE, TRUE, sizeof(LinkState));
        g_assert_cmpint(link_monitor_watch(f->monitor, f->tun_fd, &chain_a_ops, &c, &f->watch), >=, 0);

        run_cmd("ip link set %s up", f->name);
        run_cmd("ip link set %s up", name_b);
        run_cmd("ip link set %s mtu 1400", name_b);
        expect_reports(f, 1);
        g_assert_nonnull(c.watch_b);
        g_assert_cmpuint(c.reports_b->len, ==, 0);
        g_assert_true(link_watch_state(c.watch_b)->up);
        g_assert_cmpuint(link_watch_state(c.watch_b)->mtu, ==, 1400);

        run_cmd("ip link set %s mtu 1300", name_b);
        run_cmd("ip link set %s down", name_b);
        expect_reports(f, 1);
        g_assert_cmpuint(c.reports_b->len, ==, 2);
        g_assert_cmpuint(g_array_index(c.reports_b, LinkState, 0).mtu, ==, 1300);
        g_assert_true(g_array_index(c.reports_b, LinkState, 0).up);
        g_assert_false(g_array_index(c.reports_b, LinkState, 1).up);

        link_watch_free(c.watch_b);
        close(c.fd_b);
        g_array_unref(c.reports_b);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        if (getuid() == 0)
                tb_reap_at_exit();
        if (getenv("TL_DEBUG"))
                log_set_max_level(LOG_DEBUG);

#define ADD(path, sources, func) g_test_add(path, Fixture, &sources, fixture_setup, func, fixture_teardown)
        ADD("/link/root/changes", both, test_root_changes);
        ADD("/link/root/no-stale-reports", both, test_no_stale_reports);
        ADD("/link/root/reattached-up", both, test_reattached_up);
        ADD("/link/root/refresh", both, test_refresh);
        ADD("/link/probe-only/root/refresh", probe_only, test_refresh);
        ADD("/link/root/many-changes", both, test_many_changes);
        ADD("/link/netns/changes", both, test_netns_changes);
        ADD("/link/netns/move-while-up", both, test_move_while_up);
        ADD("/link/netns/destroyed", both, test_netns_destroyed);
        ADD("/link/netns/to-netns", both, test_netns_to_netns);
        ADD("/link/netns/act-after-move", both, test_act_after_move);
        ADD("/link/netns/many-devices-destroyed", both, test_many_devices_netns_destroyed);
        ADD("/link/root/overrun", both, test_overrun);
        ADD("/link/root/watch-from-callback", both, test_watch_from_callback);

        ADD("/link/netlink-only/root/changes", netlink_only, test_root_changes);
        ADD("/link/netlink-only/netns/changes", netlink_only, test_netns_changes);
        ADD("/link/netlink-only/netns/move-while-up", netlink_only, test_move_while_up);
        ADD("/link/netlink-only/netns/destroyed", netlink_only, test_netns_destroyed);
        ADD("/link/netlink-only/netns/to-netns", netlink_only, test_netns_to_netns);
        ADD("/link/netlink-only/netns/many-devices-destroyed", netlink_only, test_many_devices_netns_destroyed);
        ADD("/link/netlink-only/root/overrun", netlink_only, test_overrun);
        ADD("/link/netlink-only/root/reattached-up", netlink_only, test_reattached_up);
        ADD("/link/netlink-only/root/refresh", netlink_only, test_refresh);
        ADD("/link/probe-only/root/reattached-up", probe_only, test_reattached_up);
        ADD("/link/netlink-only/root/watch-from-callback", netlink_only, test_watch_from_callback);

        ADD("/link/probe-only/root-and-netns", probe_only, test_probe_only);
        ADD("/link/probe-only/netns/move-while-up", probe_only, test_move_while_up);
        ADD("/link/probe-only/netns/to-netns", probe_only, test_netns_to_netns);
        ADD("/link/probe-only/netns/many-devices-destroyed", probe_only, test_many_devices_netns_destroyed);

        return g_test_run();
}
