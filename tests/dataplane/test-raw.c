/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Raw devices end to end, as root, through the bus test harness: OpenPacketFd hands over
 * queues of the kernel's TUN itself. A forwarder (dataplane-forward --single: plain
 * read/write, as a program written for an inherited TUN fd does) carries ping and TCP
 * between two namespaces over two raw devices' queues; two queues share the flows; with
 * VnetHeader the client sets its own offloads and reads super-packets; Delete, the creator
 * leaving and tund stopping remove the link, and the queues then fail with EBADFD; a
 * persistent raw device survives a restart; bad options get InvalidArgs. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "tb-netns.h"
#include "traffic.h"

#define MTU 1500u
#define INVALID_ARGS "org.freedesktop.DBus.Error.InvalidArgs"
#define NOT_SUPPORTED "org.freedesktop.DBus.Error.NotSupported"

static char *ns_a, *ns_b, *if_a, *if_b;

static bool need_forwarder(void) {
        if (!g_getenv("DATAPLANE_FORWARD")) {
                g_test_skip("needs DATAPLANE_FORWARD (set by meson test)");
                return false;
        }
        return true;
}

static GVariant *raw_options(bool vnet_header) {
        return tb_options("Raw", g_variant_new_boolean(TRUE),
                          "VnetHeader", g_variant_new_boolean(vnet_header), NULL);
}

static int open_queue(GDBusConnection *bus, const char *path) {
        g_autoptr(GError) error = NULL;
        int fd = tb_open_packet_fd(bus, path, NULL, &error);

        g_assert_no_error(error);
        g_assert_cmpint(fd, >=, 0);
        return fd;
}

static unsigned get_clients(GDBusConnection *bus, const char *path) {
        g_autoptr(GVariant) v = tb_get_property(bus, path, TB_DEVICE_IFACE, "Clients");
        return g_variant_get_uint32(v);
}

static uint64_t get_statistic(GDBusConnection *bus, const char *path, const char *key) {
        g_autoptr(GVariant) v = tb_get_property(bus, path, TB_DEVICE_IFACE, "Statistics");
        guint64 value = 0;

        g_assert_true(g_variant_lookup(v, key, "t", &value));
        return value;
}

static GHashTable *get_offloads(GDBusConnection *bus, const char *path) {
        g_autoptr(GVariant) v = tb_get_property(bus, path, TB_DEVICE_IFACE, "Offloads");
        return tb_variant_strv_set(v);
}

/* The fd is a queue of this device: IFF_MULTI_QUEUE, attached, in blocking mode. */
static void assert_queue_of(int fd, const char *ifname, bool vnet_header) {
        struct ifreq ifr = {};

        g_assert_cmpint(ioctl(fd, TUNGETIFF, &ifr), ==, 0);
        g_assert_cmpstr(ifr.ifr_name, ==, ifname);
        g_assert_true(ifr.ifr_flags & IFF_TUN);
        g_assert_true(ifr.ifr_flags & IFF_NO_PI);
        g_assert_true(ifr.ifr_flags & IFF_MULTI_QUEUE);
        g_assert_false(ifr.ifr_flags & IFF_DETACH_QUEUE);
        g_assert_cmpint(!!(ifr.ifr_flags & IFF_VNET_HDR), ==, vnet_header);
        g_assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
}

/* What the kernel does with the queue of a device that is gone. The link leaves the
 * namespace's list, and poll says POLLERR, a moment before the kernel detaches the queues
 * from it: a read blocked then fails with EFAULT (the socket's RCV_SHUTDOWN), every read
 * and write after that with EBADFD. */
static void assert_queue_dead(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char buf[2048] = { 0x45 };
        ssize_t n;

        g_assert_cmpint(poll(&p, 1, TB_HANG_SECONDS * 1000), ==, 1);
        g_assert_true(p.revents & POLLERR);
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EFAULT)
                n = read(fd, buf, sizeof(buf));
        g_assert_cmpint(n, ==, -1);
        g_assert_cmpint(errno, ==, EBADFD);
        g_assert_cmpint(write(fd, buf, sizeof(buf)), ==, -1);
        g_assert_cmpint(errno, ==, EBADFD);
}

static void assert_open_fails(GDBusConnection *bus, const char *path, GVariant *options, const char *error_name) {
        g_autoptr(GError) error = NULL;

        g_assert_cmpint(tb_open_packet_fd(bus, path, options, &error), ==, -1);
        tb_assert_error(error, error_name);
}

static void assert_create_fails(GDBusConnection *bus, const char *name, GVariant *options, const char *error_name) {
        g_autoptr(GError) error = NULL;
        g_autofree char *path = tb_create(bus, name, options, &error);

        g_assert_null(path);
        tb_assert_error(error, error_name);
        g_assert_false(tb_link_exists(name));
}

static void test_bad_options(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        const char *csum[] = { "csum", NULL }, *gro[] = { "csum", "gro-tcp", NULL };
        g_autoptr(GHashTable) none = g_hash_table_new(g_str_hash, g_str_equal);

        assert_create_fails(bus, if_a, tb_options("VnetHeader", g_variant_new_boolean(TRUE), NULL), INVALID_ARGS);
        assert_create_fails(bus, if_a, tb_options("Raw", g_variant_new_boolean(FALSE),
                                                  "VnetHeader", g_variant_new_boolean(TRUE), NULL), INVALID_ARGS);
        assert_create_fails(bus, if_a, tb_options("Raw", g_variant_new_string("yes"), NULL), INVALID_ARGS);
        assert_create_fails(bus, if_a, tb_options("Raw", g_variant_new_boolean(TRUE),
                                                  "Offloads", g_variant_new_strv(csum, -1), NULL), INVALID_ARGS);
        assert_create_fails(bus, if_a, tb_options("Raw", g_variant_new_boolean(TRUE),
                                                  "VnetHeader", g_variant_new_boolean(TRUE),
                                                  "Offloads", g_variant_new_strv(gro, -1), NULL), INVALID_ARGS);

        g_autofree char *raw = tb_create_ok(bus, if_a, raw_options(false));
        g_autofree char *plain = tb_create_ok(bus, if_b, NULL);
        g_autoptr(GHashTable) offloads = get_offloads(bus, raw);

        tb_assert_sets_equal(offloads, none);
        tb_call_expect(bus, raw, TB_DEVICE_IFACE, "SetOffloads", g_variant_new("(^as)", csum), INVALID_ARGS);
        tb_call_expect(bus, raw, TB_DEVICE_IFACE, "SetOffloads", g_variant_new("(^as)", (const char *[]) { NULL }), NULL);

        assert_open_fails(bus, raw, tb_options("Mode", g_variant_new_string("packet"), NULL), INVALID_ARGS);
        assert_open_fails(bus, raw, tb_options("Mode", g_variant_new_string("ring"), NULL), INVALID_ARGS);
        assert_open_fails(bus, raw, tb_options("Mode", g_variant_new_string("tun"),
                                               "Vnet", g_variant_new_boolean(TRUE), NULL), INVALID_ARGS);
        assert_open_fails(bus, plain, tb_options("Mode", g_variant_new_string("tun"), NULL), INVALID_ARGS);
        g_assert_cmpuint(get_clients(bus, raw), ==, 0);
        g_assert_cmpuint(get_clients(bus, plain), ==, 0);

        /* "tun" named or not: the same. */
        int q1 = open_queue(bus, raw);
        g_autoptr(GError) error = NULL;
        int q2 = tb_open_packet_fd(bus, raw, tb_options("Mode", g_variant_new_string("tun"), NULL), &error);
        g_assert_no_error(error);
        assert_queue_of(q1, if_a, false);
        assert_queue_of(q2, if_a, false);
        g_assert_cmpuint(get_clients(bus, raw), ==, 2);
        close(q1);
        close(q2);
        g_assert_cmpuint(get_clients(bus, raw), ==, 0);

        tb_delete_ok(bus, raw);
        tb_delete_ok(bus, plain);
        g_assert_true(tb_wait_link_gone(if_a));
        g_assert_true(tb_wait_link_gone(if_b));
}

/* The queue fds of a device outlive tund's own: Delete removes the link. */
static void test_delete_fails_queues(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, raw_options(true));
        int q = open_queue(bus, path);

        assert_queue_of(q, if_a, true);
        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(if_a));
        assert_queue_dead(q);
        close(q);
}

/* A non-persistent raw device goes with its creator and with tund, queues or not. */
static void test_creator_and_stop_remove(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        GDBusConnection *creator = tb_env_connect(env);
        g_autofree char *by_creator = tb_create_ok(creator, if_a, raw_options(false));
        int qa = open_queue(bus, by_creator);

        g_dbus_connection_close_sync(creator, NULL, NULL);
        g_object_unref(creator);
        g_assert_true(tb_wait_link_gone(if_a));
        assert_queue_dead(qa);
        close(qa);

        g_autofree char *path = tb_create_ok(bus, if_b, raw_options(false));
        int qb = open_queue(bus, path);
        g_assert_cmpint(tb_tund_stop(env), ==, 0);
        g_assert_false(tb_link_exists(if_b));
        assert_queue_dead(qb);
        close(qb);
        tb_tund_start(env);
}

typedef struct Change {
        const char *property;
        GVariant *value;
} Change;

static bool changes_property(GVariant *parameters, const void *data) {
        const Change *c = data;
        const char *iface;
        g_autoptr(GVariant) changed = NULL;

        g_variant_get(parameters, "(&s@a{sv}as)", &iface, &changed, NULL);
        if (strcmp(iface, TB_DEVICE_IFACE) != 0)
                return false;
        g_autoptr(GVariant) value = g_variant_lookup_value(changed, c->property, NULL);
        return value && g_variant_equal(value, c->value);
}

static void wait_changed(TbSignals *signals, const char *path, const char *property, GVariant *value) {
        Change c = { property, g_variant_ref_sink(value) };
        g_autoptr(GVariant) params = tb_signals_wait(signals, "PropertiesChanged", path, changes_property, &c);

        if (!params)
                g_error("no PropertiesChanged for %s on %s", property, path);
        g_variant_unref(c.value);
}

/* Up follows the link, client queues or not (the detached anchor keeps the carrier);
 * Clients follows the kernel's count, also when a client closes its queue, which tund only
 * learns by asking; the per-device limit counts queues. */
static void test_up_clients_limits(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, raw_options(false));
        g_autoptr(TbSignals) changes = tb_signals_new(bus, "org.freedesktop.DBus.Properties",
                                                      "PropertiesChanged", path);
        g_autoptr(TbSignals) up = tb_signals_new(bus, TB_DEVICE_IFACE, "LinkUp", path);
        g_autoptr(GVariant) before = tb_get_property(bus, path, TB_DEVICE_IFACE, "Up");
        int q[17];

        g_assert_false(g_variant_get_boolean(before));
        g_assert_cmpint(run_command("ip", "link", "set", if_a, "up", NULL), ==, 0);
        g_autoptr(GVariant) linkup = tb_signals_wait(up, "LinkUp", path, NULL, NULL);
        g_assert_nonnull(linkup);
        g_autoptr(GVariant) now = tb_get_property(bus, path, TB_DEVICE_IFACE, "Up");
        g_assert_true(g_variant_get_boolean(now));
        g_assert_cmpuint(get_clients(bus, path), ==, 0);

        q[0] = open_queue(bus, path);
        wait_changed(changes, path, "Clients", g_variant_new_uint32(1));
        close(q[0]);
        wait_changed(changes, path, "Clients", g_variant_new_uint32(0));

        /* The default max-packet-fds-per-device is 16. */
        for (unsigned i = 0; i < 16; i++)
                q[i] = open_queue(bus, path);
        g_assert_cmpuint(get_clients(bus, path), ==, 16);
        assert_open_fails(bus, path, NULL, "org.example.Tun1.Error.LimitsExceeded");
        close(q[15]);
        q[15] = open_queue(bus, path);
        for (unsigned i = 0; i < 16; i++)
                close(q[i]);
        wait_changed(changes, path, "Clients", g_variant_new_uint32(0));
        g_autoptr(GVariant) still = tb_get_property(bus, path, TB_DEVICE_IFACE, "Up");
        g_assert_true(g_variant_get_boolean(still));

        /* MTU and addresses as on any device. */
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "SetMTU", g_variant_new("(u)", 1400), NULL);
        g_assert_cmpuint(tb_link_mtu(if_a), ==, 1400);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "AddAddress",
                       g_variant_new("(sa{sv})", "10.96.0.1/24", NULL), NULL);
        g_autoptr(GVariant) addresses = tb_get_property(bus, path, TB_DEVICE_IFACE, "Addresses");
        g_autofree char *text = g_variant_print(addresses, FALSE);
        g_assert_nonnull(strstr(text, "10.96.0.1/24"));

        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(if_a));
}

/* OpenPacketFd on a raw device is authorized as on any: its owner and root, others with
 * manage-device. A queue handed to a user counts for it until closed. */
static void test_authorization(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        const TbUser *owner = tb_env_user(env, TB_ROLE_NOBODY);
        g_autofree char *path = tb_create_ok(bus, if_a, tb_options(
                "Raw", g_variant_new_boolean(TRUE), "Owner", g_variant_new_uint32(owner->uid), NULL));
        g_autoptr(TbCaller) as_owner = tb_caller_new(env, owner);
        g_autoptr(TbCaller) denied = tb_caller_new(env, tb_env_user(env, TB_ROLE_DENIED));
        g_autoptr(GError) error = NULL;

        g_autoptr(GVariant) reply = tb_caller_call(as_owner, false, path, TB_DEVICE_IFACE, "OpenPacketFd",
                                                   g_variant_new("(a{sv})", NULL), &error);
        g_assert_no_error(error);
        g_assert_nonnull(reply);
        g_assert_cmpuint(get_clients(bus, path), ==, 1);
        tb_caller_expect(denied, false, path, TB_DEVICE_IFACE, "OpenPacketFd",
                         g_variant_new("(a{sv})", NULL), "org.freedesktop.DBus.Error.AccessDenied");
        g_assert_cmpuint(get_clients(bus, path), ==, 1);

        /* The helper ends, and with it the queue it held. */
        g_clear_pointer(&as_owner, tb_caller_free);
        for (unsigned i = 0; i < TB_HANG_SECONDS * 50 && get_clients(bus, path) != 0; i++)
                g_usleep(20 * 1000);
        g_assert_cmpuint(get_clients(bus, path), ==, 0);

        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(if_a));
}

/* ---- Traffic through two raw devices ------------------------------------------------------- */

typedef struct Forwarder {
        pid_t pid;
        int out;
        char *report;
} Forwarder;

static void forwarder_run(Forwarder *f, const char *mode, int a, int b) {
        *f = (Forwarder) { .out = -1 };
        f->pid = forwarder_start(g_getenv("DATAPLANE_FORWARD"), mode, a, b, "--single",
                                 strcmp(mode, "packet") == 0 ? "--check" : NULL, &f->out);
        g_assert_cmpint(f->pid, >, 0);
        close(a);
        close(b);
}

/* After the devices are gone: both its reads fail (EBADFD) and it reports. */
static void forwarder_finish(Forwarder *f) {
        int status;

        f->report = read_all(f->out);
        close(f->out);
        g_assert_cmpint(waitpid(f->pid, &status, 0), ==, f->pid);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        g_test_message("forwarder: %s", f->report);
}

typedef struct Pair {
        GDBusConnection *bus;
        char *path_a, *path_b;
        Forwarder fwd[2];
        unsigned n_fwd;
} Pair;

/* Opens queues while the devices are in tund's namespace (TUNSETIFF finds them by name
 * there only), then moves the devices into their namespaces. */
static void pair_setup(TbEnv *env, Pair *p, bool vnet_header, unsigned n_queues, unsigned tun_offloads) {
        *p = (Pair) { .bus = tb_env_bus(env), .n_fwd = n_queues };
        p->path_a = tb_create_ok(p->bus, if_a, raw_options(vnet_header));
        p->path_b = tb_create_ok(p->bus, if_b, raw_options(vnet_header));

        int qa[2], qb[2];
        for (unsigned i = 0; i < n_queues; i++) {
                qa[i] = open_queue(p->bus, p->path_a);
                qb[i] = open_queue(p->bus, p->path_b);
                assert_queue_of(qa[i], if_a, vnet_header);
                if (tun_offloads) {
                        /* The client's own, on its fd: for the whole device. */
                        g_assert_cmpint(ioctl(qa[i], TUNSETOFFLOAD, tun_offloads), ==, 0);
                        g_assert_cmpint(ioctl(qb[i], TUNSETOFFLOAD, tun_offloads), ==, 0);
                }
        }
        g_assert_cmpuint(get_clients(p->bus, p->path_a), ==, n_queues);
        g_assert_cmpuint(get_clients(p->bus, p->path_b), ==, n_queues);

        g_assert_cmpint(netns_setup(ns_a, if_a, "10.95.0.1/24", "fd95::1/64", MTU), ==, 0);
        g_assert_cmpint(netns_setup(ns_b, if_b, "10.95.0.2/24", "fd95::2/64", MTU), ==, 0);
        for (unsigned i = 0; i < n_queues; i++)
                forwarder_run(&p->fwd[i], vnet_header ? "vnet" : "packet", qa[i], qb[i]);

        /* In another namespace tund cannot attach a queue; what it has keeps working. */
        assert_open_fails(p->bus, p->path_a, NULL, NOT_SUPPORTED);
        g_assert_cmpuint(get_clients(p->bus, p->path_a), ==, n_queues);
}

static void log_statistics(void *userdata) {
        Pair *p = userdata;
        const char *paths[] = { p->path_a, p->path_b };

        for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
                g_autoptr(GVariant) v = tb_get_property(p->bus, paths[i], TB_DEVICE_IFACE, "Statistics");
                g_autofree char *text = g_variant_print(v, FALSE);
                g_test_message("%s: %s", paths[i], text);
        }
}

static void transfer(Pair *p, int family) {
        Transfer t;
        pthread_t th[2];

        transfer_start(&t, th, family, ns_a, ns_b, family == AF_INET ? "10.95.0.2" : "fd95::2", 5001);
        transfer_join(&t, th);
        transfer_check(&t, log_statistics, p);
}

/* The kernel's counters, as clients see them: A's clients read what A's sender sent. */
static void check_statistics(Pair *p) {
        log_statistics(p);
        g_assert_cmpuint(get_statistic(p->bus, p->path_a, "rx_packets"), >, 0);
        g_assert_cmpuint(get_statistic(p->bus, p->path_a, "rx_bytes"), >=, TRANSFER_BYTES);
        g_assert_cmpuint(get_statistic(p->bus, p->path_b, "tx_bytes"), >=, TRANSFER_BYTES);
        g_assert_cmpuint(get_statistic(p->bus, p->path_b, "tx_packets"), >, 0);
        g_assert_cmpuint(get_statistic(p->bus, p->path_a, "tx_packets"), >, 0);
        g_assert_cmpuint(get_statistic(p->bus, p->path_a, "gso_split"), ==, 0);
}

/* Deletes both: the forwarders' reads fail and they report. */
static void pair_finish(Pair *p) {
        tb_delete_ok(p->bus, p->path_a);
        tb_delete_ok(p->bus, p->path_b);
        for (unsigned i = 0; i < p->n_fwd; i++)
                forwarder_finish(&p->fwd[i]);
        netns_remove(ns_a);
        netns_remove(ns_b);
}

static void pair_free(Pair *p) {
        for (unsigned i = 0; i < p->n_fwd; i++)
                g_free(p->fwd[i].report);
        g_free(p->path_a);
        g_free(p->path_b);
}

static void test_traffic(void) {
        TbEnv *env = tb_test_env();
        if (!env || !need_forwarder())
                return;
        Pair p;

        pair_setup(env, &p, false, 1, 0);
        ping_both(ns_a, "10.95.0.2", "fd95::2");
        transfer(&p, AF_INET);
        transfer(&p, AF_INET6);
        check_statistics(&p);
        pair_finish(&p);
        /* Whole, valid plain packets no longer than the MTU, both ways. */
        check_forwarder_report(p.fwd[0].report, true, MTU);
        pair_free(&p);
}

/* Several TCP flows over two queues per device: the kernel spreads them over both. */
static void test_two_queues(void) {
        TbEnv *env = tb_test_env();
        if (!env || !need_forwarder())
                return;
        enum { FLOWS = 8 };
        Transfer t[FLOWS];
        pthread_t th[FLOWS][2];
        Pair p;

        pair_setup(env, &p, false, 2, 0);
        for (unsigned i = 0; i < FLOWS; i++)
                transfer_start(&t[i], th[i], AF_INET, ns_a, ns_b, "10.95.0.2", 5001 + i);
        for (unsigned i = 0; i < FLOWS; i++) {
                transfer_join(&t[i], th[i]);
                transfer_check(&t[i], log_statistics, &p);
        }
        pair_finish(&p);
        for (unsigned i = 0; i < 2; i++) {
                check_forwarder_report(p.fwd[i].report, true, MTU);
                g_assert_cmpuint(report_value(p.fwd[i].report, "a2b", "packets"), >, 0);
        }
        pair_free(&p);
}

/* With VnetHeader the client sets offloads on its own fd and reads super-packets, which it
 * writes to the other device as they are. tund's Offloads stays what tund set. */
static void test_vnet_header(void) {
        TbEnv *env = tb_test_env();
        if (!env || !need_forwarder())
                return;
        g_autoptr(GHashTable) none = g_hash_table_new(g_str_hash, g_str_equal);
        Pair p;

        pair_setup(env, &p, true, 1, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
        g_autoptr(GHashTable) offloads = get_offloads(p.bus, p.path_a);
        tb_assert_sets_equal(offloads, none);
        transfer(&p, AF_INET);
        transfer(&p, AF_INET6);
        check_statistics(&p);
        pair_finish(&p);
        check_forwarder_report(p.fwd[0].report, false, MTU);
        g_assert_cmpuint(report_value(p.fwd[0].report, "a2b", "gso"), >, 0);
        g_assert_cmpuint(report_value(p.fwd[0].report, "a2b", "maxlen"), >, MTU + 10);
        pair_free(&p);
}

/* SetOffloads on a VnetHeader device: the kernel's offloads, as for any device. */
static void test_vnet_set_offloads(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        const char *some[] = { "csum", "tso4", "tso6", NULL };
        g_autofree char *path = tb_create_ok(bus, if_a, tb_options(
                "Raw", g_variant_new_boolean(TRUE), "VnetHeader", g_variant_new_boolean(TRUE),
                "Offloads", g_variant_new_strv(some, -1), NULL));
        g_autoptr(GHashTable) want = tb_strv_set(some);
        g_autoptr(GHashTable) got = get_offloads(bus, path);
        g_autoptr(GHashTable) kernel = tb_link_kernel_offloads(if_a);

        tb_assert_sets_equal(got, want);
        tb_assert_sets_equal(kernel, want);
        tb_call_expect(bus, path, TB_DEVICE_IFACE, "SetOffloads",
                       g_variant_new("(^as)", (const char *[]) { "csum", NULL }), NULL);
        g_autoptr(GHashTable) csum = tb_strv_set((const char *[]) { "csum", NULL });
        g_autoptr(GHashTable) kernel2 = tb_link_kernel_offloads(if_a);
        tb_assert_sets_equal(kernel2, csum);
        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_link_gone(if_a));
}

/* ---- Persistence ------------------------------------------------------------------------------ */

static void restart(TbEnv *env) {
        int status = tb_tund_stop(env);

        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        tb_tund_start(env);
}

/* A persistent raw device and a client's queue outlive tund; the new tund manages the
 * device as raw again (queues, no data plane) and Delete removes it. */
static void check_persistent_restart(TbEnv *env, bool fd_store, bool vnet_header) {
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *path = tb_create_ok(bus, if_a, tb_options(
                "Raw", g_variant_new_boolean(TRUE), "VnetHeader", g_variant_new_boolean(vnet_header),
                "Persistent", g_variant_new_boolean(TRUE), NULL));
        int ifindex = tb_link_ifindex(if_a);
        int q = open_queue(bus, path);

        if (fd_store) {
                g_autoptr(GHashTable) names = tb_tund_fd_store_names(env);
                g_assert_cmpuint(g_hash_table_size(names), >=, 1);
        }
        restart(env);
        g_assert_cmpint(tb_link_ifindex(if_a), ==, ifindex);
        assert_queue_of(q, if_a, vnet_header);

        g_autofree char *again = tb_get_device_ok(bus, if_a);
        g_assert_cmpuint(get_clients(bus, again), ==, 1);
        assert_open_fails(bus, again, tb_options("Mode", g_variant_new_string("vnet"), NULL), INVALID_ARGS);
        int q2 = open_queue(bus, again);
        assert_queue_of(q2, if_a, vnet_header);
        g_assert_cmpuint(get_clients(bus, again), ==, 2);
        close(q2);

        tb_delete_ok(bus, again);
        g_assert_true(tb_wait_link_gone(if_a));
        assert_queue_dead(q);
        close(q);
}

static void test_persistent_restart(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        check_persistent_restart(env, false, false);
}

static void test_persistent_restart_fd_store(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        tb_tund_keep_fd_store(env);
        check_persistent_restart(env, true, true);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        signal(SIGPIPE, SIG_IGN);

        ns_a = tb_ifname("na");
        ns_b = tb_ifname("nb");
        if_a = tb_ifname("ra");
        if_b = tb_ifname("rb");

        g_test_add_func("/raw/bad-options", test_bad_options);
        g_test_add_func("/raw/delete-fails-queues", test_delete_fails_queues);
        g_test_add_func("/raw/creator-and-stop-remove", test_creator_and_stop_remove);
        g_test_add_func("/raw/up-clients-limits", test_up_clients_limits);
        g_test_add_func("/raw/authorization", test_authorization);
        g_test_add_func("/raw/traffic", test_traffic);
        g_test_add_func("/raw/two-queues", test_two_queues);
        g_test_add_func("/raw/vnet-header", test_vnet_header);
        g_test_add_func("/raw/vnet-set-offloads", test_vnet_set_offloads);
        g_test_add_func("/raw/persistent-restart", test_persistent_restart);
        g_test_add_func("/raw/persistent-restart-fd-store", test_persistent_restart_fd_store);
        return tb_test_run();
}
