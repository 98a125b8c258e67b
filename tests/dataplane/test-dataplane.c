/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The data plane end to end, as root: two namespaces, a TUN in each opened as tund opens
 * it, a Dataplane on each, and a forwarding client (dataplane-forward) between their packet
 * fds; real TCP, UDP and ping through it. */

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dataplane.h"
#include "harness.h"
#include "offload-names.h"
#include "packet-check.h"
#include "tb-netns.h"
#include "traffic.h"

#define MTU 1500u
#define ALL_OFFLOADS (OFFLOADS_KERNEL | OFFLOADS_TUND)

static const char *forwarder_path;

typedef struct Side {
        const char *ns, *ifname, *addr4, *addr6;
        int tun_fd;
        Dataplane *dp;
        unsigned clients_reported;
        unsigned clients_changed_calls;
} Side;

typedef struct Fixture {
        sd_event *loop;
        Side side[3];
        size_t n_sides;
        pid_t forwarder;
        int forwarder_out;
        char *report;
} Fixture;

/* Namespaces and devices carry the PID (set in main()): test runs of other worktrees on
 * the same machine use other names. */
static char *ns_a, *ns_b, *ns_c, *if_a, *if_b, *if_c;

static Side side_template(size_t i) {
        switch (i) {
        case 0: return (Side) { .ns = ns_a, .ifname = if_a, .addr4 = "10.77.0.1/24", .addr6 = "fd77::1/64" };
        case 1: return (Side) { .ns = ns_b, .ifname = if_b, .addr4 = "10.77.0.2/24", .addr6 = "fd77::2/64" };
        default: return (Side) { .ns = ns_c, .ifname = if_c, .addr4 = "10.78.0.1/24", .addr6 = NULL };
        }
}

static bool need_root(void) {
        if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) < 0) {
                g_test_skip("needs root and /dev/net/tun");
                return false;
        }
        return true;
}

static void on_clients_changed(Dataplane *dp, unsigned n, void *userdata) {
        Side *s = userdata;

        s->clients_reported = n;
        s->clients_changed_calls++;
}

static void pump(Fixture *fx, unsigned ms) {
        (void) sd_event_run(fx->loop, (uint64_t) ms * 1000);
}

/* Runs the control loop until cond(fx, data) holds, for at most about 10 s. */
static bool pump_until(Fixture *fx, bool (*cond)(Fixture *, void *), void *data) {
        for (unsigned i = 0; i < 1000; i++) {
                if (cond(fx, data))
                        return true;
                pump(fx, 10);
        }
        return cond(fx, data);
}

static void fixture_add_side(Fixture *fx, unsigned i) {
        Side *s = &fx->side[i];
        int r;

        *s = side_template(i);
        s->tun_fd = tun_open(s->ifname);
        g_assert_cmpint(s->tun_fd, >=, 0);
        g_assert_cmpint(netns_setup(s->ns, s->ifname, s->addr4, s->addr6, MTU), ==, 0);
        r = dataplane_new(&s->dp, fx->loop, s->tun_fd, MTU, ALL_OFFLOADS, on_clients_changed, s);
        g_assert_cmpint(r, ==, 0);
        fx->n_sides = MAX(fx->n_sides, i + 1);
}

static void fixture_setup(Fixture *fx, unsigned n_sides) {
        *fx = (Fixture) { .forwarder = -1, .forwarder_out = -1 };
        g_assert_cmpint(sd_event_new(&fx->loop), >=, 0);
        for (unsigned i = 0; i < n_sides; i++)
                fixture_add_side(fx, i);
}

static void fixture_start_forwarder(Fixture *fx, ClientMode mode, bool check) {
        int a, b;

        g_assert_cmpint(dataplane_open_client(fx->side[0].dp, mode, &a), ==, 0);
        g_assert_cmpint(dataplane_open_client(fx->side[1].dp, mode, &b), ==, 0);
        fx->forwarder = forwarder_start(forwarder_path, client_mode_to_string(mode), a, b,
                                        check ? "--check" : NULL, NULL, &fx->forwarder_out);
        close(a);
        close(b);
        g_assert_cmpint(fx->forwarder, >, 0);
}

/* Frees the data planes (every client fd reads end-of-file, so the forwarder ends), waits
 * for the forwarder, removes devices and namespaces. */
static void fixture_teardown(Fixture *fx) {
        for (size_t i = 0; i < fx->n_sides; i++)
                fx->side[i].dp = dataplane_free(fx->side[i].dp);
        if (fx->forwarder > 0) {
                int status;
                fx->report = read_all(fx->forwarder_out);
                close(fx->forwarder_out);
                g_assert_cmpint(waitpid(fx->forwarder, &status, 0), ==, fx->forwarder);
                g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                fx->forwarder = -1;
        }
        for (size_t i = 0; i < fx->n_sides; i++) {
                close(fx->side[i].tun_fd);
                netns_remove(fx->side[i].ns);
        }
        fx->loop = sd_event_unref(fx->loop);
}

/* ---- Traffic -------------------------------------------------------------------------------- */

static bool transfer_done(Fixture *fx, void *data) {
        return transfer_is_done(data);
}

static void log_sides(void *userdata) {
        Fixture *fx = userdata;

        for (size_t i = 0; i < fx->n_sides; i++) {
                DataplaneStats st;
                dataplane_get_stats(fx->side[i].dp, &st);
                g_test_message("side %zu: clients %u rx %" G_GUINT64_FORMAT " tx %" G_GUINT64_FORMAT
                               " invalid %" G_GUINT64_FORMAT " queue-full %" G_GUINT64_FORMAT
                               " write-error %" G_GUINT64_FORMAT " refused %" G_GUINT64_FORMAT,
                               i, dataplane_n_clients(fx->side[i].dp), st.rx_packets, st.tx_packets,
                               st.drops_invalid, st.drops_queue_full, st.drops_write_error, st.gro_refused);
        }
}

static void transfer_finish(Fixture *fx, Transfer *t, pthread_t th[2]) {
        /* The threads end by themselves (socket timeouts); the loop runs meanwhile. */
        while (!transfer_done(fx, t))
                pump(fx, 10);
        transfer_join(t, th);
        transfer_check(t, log_sides, fx);
}

static void transfer(Fixture *fx, int family) {
        Transfer t;
        pthread_t th[2];

        transfer_start(&t, th, family, ns_a, ns_b, family == AF_INET ? "10.77.0.2" : "fd77::2", 5001);
        transfer_finish(fx, &t, th);
}

/* ---- Tests ---------------------------------------------------------------------------------- */

static void check_report(Fixture *fx, bool plain) {
        g_test_message("forwarder: %s", fx->report);
        check_forwarder_report(fx->report, plain, MTU);
}

static void run_mode(ClientMode mode) {
        Fixture fx;
        DataplaneStats a, b;

        if (!need_root())
                return;
        fixture_setup(&fx, 2);
        fixture_start_forwarder(&fx, mode, true);

        ping_both(ns_a, "10.77.0.2", "fd77::2");
        transfer(&fx, AF_INET);
        transfer(&fx, AF_INET6);
        udp_sizes(AF_INET, ns_a, ns_b, "10.77.0.2", 6001);
        udp_sizes(AF_INET6, ns_a, ns_b, "fd77::2", 6001);

        dataplane_get_stats(fx.side[0].dp, &a);
        dataplane_get_stats(fx.side[1].dp, &b);
        g_test_message("A: rx %" G_GUINT64_FORMAT " tx %" G_GUINT64_FORMAT " split %" G_GUINT64_FORMAT
                       " merged %" G_GUINT64_FORMAT " invalid %" G_GUINT64_FORMAT " queue-full %" G_GUINT64_FORMAT,
                       a.rx_packets, a.tx_packets, a.gso_split, a.gro_merged, a.drops_invalid, a.drops_queue_full);
        g_test_message("B: rx %" G_GUINT64_FORMAT " tx %" G_GUINT64_FORMAT " split %" G_GUINT64_FORMAT
                       " merged %" G_GUINT64_FORMAT " invalid %" G_GUINT64_FORMAT " queue-full %" G_GUINT64_FORMAT,
                       b.rx_packets, b.tx_packets, b.gso_split, b.gro_merged, b.drops_invalid, b.drops_queue_full);
        g_assert_cmpuint(a.rx_packets, >, 0);
        g_assert_cmpuint(b.tx_packets, >, 0);
        g_assert_cmpuint(a.drops_invalid + b.drops_invalid, ==, 0);
        if (mode == CLIENT_MODE_VNET) {
                g_assert_cmpuint(a.gso_split + b.gso_split, ==, 0);
                g_assert_cmpuint(a.gro_merged + b.gro_merged, ==, 0);
        } else {
                /* A's sender hands over TCP super-packets; B gets them back coalesced. */
                g_assert_cmpuint(a.gso_split, >, 0);
                g_assert_cmpuint(b.gro_merged, >, 0);
        }

        fixture_teardown(&fx);
        check_report(&fx, mode != CLIENT_MODE_VNET);
        g_free(fx.report);
}

static void test_packet_mode(void) {
        run_mode(CLIENT_MODE_PACKET);
}

static void test_batch_mode(void) {
        run_mode(CLIENT_MODE_BATCH);
}

static void test_vnet_mode(void) {
        run_mode(CLIENT_MODE_VNET);
}

static bool stalled_side_dropped(Fixture *fx, void *data) {
        DataplaneStats c;

        dataplane_get_stats(fx->side[2].dp, &c);
        return c.drops_queue_full > 0;
}

/* A client that stops reading on device C loses its own packets; the transfer between A
 * and B is not held up by it. */
static void test_stalled_client(void) {
        Fixture fx;
        DataplaneStats c;
        Blast blast;
        int stalled;

        if (!need_root())
                return;
        fixture_setup(&fx, 3);
        fixture_start_forwarder(&fx, CLIENT_MODE_PACKET, false);
        g_assert_cmpint(dataplane_open_client(fx.side[2].dp, CLIENT_MODE_PACKET, &stalled), ==, 0);
        blast_start(&blast, ns_c, "10.78.0.2");

        transfer(&fx, AF_INET);

        /* However fast the transfer was, C's queue fills up in the end. */
        g_assert_true(pump_until(&fx, stalled_side_dropped, NULL));
        blast_stop(&blast);
        dataplane_get_stats(fx.side[2].dp, &c);
        g_test_message("stalled device: rx %" G_GUINT64_FORMAT " queue-full %" G_GUINT64_FORMAT,
                       c.rx_packets, c.drops_queue_full);
        g_assert_cmpuint(c.drops_queue_full, >, 0);

        close(stalled);
        fixture_teardown(&fx);
        g_free(fx.report);
}

static bool side0_has_one_client(Fixture *fx, void *data) {
        return dataplane_n_clients(fx->side[0].dp) == 1 && fx->side[0].clients_reported == 1;
}

static bool fds_back_to(Fixture *fx, void *data) {
        return count_open_fds() == *(unsigned *) data;
}

/* Opening and closing fds while traffic flows: the transfer completes, and every fd and
 * thread held for a closed client is released. */
static void test_reopen(void) {
        Fixture fx;
        Transfer t;
        pthread_t th[2];
        unsigned fds_before;

        if (!need_root())
                return;
        fixture_setup(&fx, 2);
        fixture_start_forwarder(&fx, CLIENT_MODE_PACKET, false);
        g_assert_true(pump_until(&fx, side0_has_one_client, NULL));
        fds_before = count_open_fds();

        transfer_start(&t, th, AF_INET, ns_a, ns_b, "10.77.0.2", 5002);
        for (unsigned i = 0; i < 100; i++) {
                int fd;
                g_assert_cmpint(dataplane_open_client(fx.side[0].dp, i % _CLIENT_MODE_MAX, &fd), ==, 0);
                pump(&fx, 1);
                close(fd);
                pump(&fx, 1);
        }
        g_assert_true(pump_until(&fx, side0_has_one_client, NULL));
        transfer_finish(&fx, &t, th);

        /* The transfer's own sockets are closed again too. */
        g_assert_true(pump_until(&fx, fds_back_to, &fds_before));
        g_assert_cmpuint(count_open_fds(), ==, fds_before);
        g_assert_cmpuint(fx.side[0].clients_changed_calls, >=, 2);

        fixture_teardown(&fx);
        g_free(fx.report);
}

static bool clients_reported_2(Fixture *fx, void *data) {
        return fx->side[0].clients_reported == 2;
}

static bool clients_reported_all(Fixture *fx, void *data) {
        return fx->side[0].clients_reported == _CLIENT_MODE_MAX;
}

static bool clients_reported_all_but_one(Fixture *fx, void *data) {
        return fx->side[0].clients_reported == _CLIENT_MODE_MAX - 1;
}

/* Every client fd reads end-of-file when the data plane goes; the Clients count follows
 * opens and closes, reported on the control loop. */
static void test_free_eof(void) {
        Fixture fx;
        int fd[_CLIENT_MODE_MAX + 1];

        if (!need_root())
                return;
        fixture_setup(&fx, 1);
        for (ClientMode m = 0; m < _CLIENT_MODE_MAX; m++)
                g_assert_cmpint(dataplane_open_client(fx.side[0].dp, m, &fd[m]), ==, 0);
        g_assert_cmpint(dataplane_open_client(fx.side[0].dp, _CLIENT_MODE_MAX, &fd[_CLIENT_MODE_MAX]), ==, -EINVAL);
        g_assert_true(pump_until(&fx, clients_reported_all, NULL));
        g_assert_cmpuint(dataplane_n_clients(fx.side[0].dp), ==, _CLIENT_MODE_MAX);

        close(fd[2]);
        g_assert_true(pump_until(&fx, clients_reported_all_but_one, NULL));

        fx.side[0].dp = dataplane_free(fx.side[0].dp);
        g_assert_true(drains_to_eof(fd[0], 10));
        g_assert_true(drains_to_eof(fd[1], 10));
        g_assert_true(drains_to_eof(fd[CLIENT_MODE_RING], 10));     /* the first message, then EOF */
        close(fd[0]);
        close(fd[1]);
        close(fd[CLIENT_MODE_RING]);
        fixture_teardown(&fx);
}

static bool clients_reported_0(Fixture *fx, void *data) {
        return fx->side[0].clients_reported == 0;
}

/* The device deleted behind the data plane's back: every client reads end-of-file and
 * leaves, and no new client can open. */
static void test_device_deleted(void) {
        Fixture fx;
        int fd[2], extra;

        if (!need_root())
                return;
        fixture_setup(&fx, 1);
        g_assert_cmpint(dataplane_open_client(fx.side[0].dp, CLIENT_MODE_PACKET, &fd[0]), ==, 0);
        g_assert_cmpint(dataplane_open_client(fx.side[0].dp, CLIENT_MODE_VNET, &fd[1]), ==, 0);
        g_assert_true(pump_until(&fx, clients_reported_2, NULL));

        g_assert_cmpint(run_command("ip", "-n", ns_a, "link", "del", if_a, NULL), ==, 0);
        g_assert_true(drains_to_eof(fd[0], 10));
        g_assert_true(drains_to_eof(fd[1], 10));
        g_assert_true(pump_until(&fx, clients_reported_0, NULL));
        g_assert_cmpint(dataplane_open_client(fx.side[0].dp, CLIENT_MODE_PACKET, &extra), ==, -ENODEV);

        close(fd[0]);
        close(fd[1]);
        fixture_teardown(&fx);
}

static bool stats_invalid_at_least(Fixture *fx, void *data) {
        DataplaneStats s;

        dataplane_get_stats(fx->side[0].dp, &s);
        return s.drops_invalid >= *(uint64_t *) data;
}

/* Invalid input from clients is dropped and counted: a batch message whose records do not
 * add up, an empty message, a packet with a bad checksum. */
static void test_invalid_input(void) {
        static const uint8_t src[4] = { 10, 77, 0, 2 }, dst[4] = { 10, 77, 0, 1 };
        Fixture fx;
        uint8_t bad_batch[] = { 0x00, 0x30, 0x45, 0x00, 0x00, 0x1c };
        uint8_t pkt[128];
        size_t len;
        uint64_t want;
        int batch, packet;

        if (!need_root())
                return;
        fixture_setup(&fx, 1);
        g_assert_cmpint(dataplane_open_client(fx.side[0].dp, CLIENT_MODE_BATCH, &batch), ==, 0);
        g_assert_cmpint(dataplane_open_client(fx.side[0].dp, CLIENT_MODE_PACKET, &packet), ==, 0);

        g_assert_cmpint(send(batch, bad_batch, sizeof(bad_batch), 0), ==, sizeof(bad_batch));
        want = 1;
        g_assert_true(pump_until(&fx, stats_invalid_at_least, &want));

        g_assert_cmpint(send(packet, "", 0, 0), ==, 0);
        want = 2;
        g_assert_true(pump_until(&fx, stats_invalid_at_least, &want));

        len = packet_build_udp4(pkt, src, dst, 6000, 7000, "hello", 5);
        pkt[len - 1] ^= 0x55;   /* payload changed after the checksum was computed */
        g_assert_cmpint(send(packet, pkt, len, 0), ==, (ssize_t) len);
        want = 3;
        g_assert_true(pump_until(&fx, stats_invalid_at_least, &want));

        close(batch);
        close(packet);
        fixture_teardown(&fx);
}

/* A batch message with more records than the data plane takes in one go (2000 small
 * packets): every one of them reaches the device. */
static void test_batch_many_records(void) {
        static const uint8_t src[4] = { 10, 77, 0, 2 }, dst[4] = { 10, 77, 0, 1 };
        enum { N = 2000 };
        Fixture fx;
        struct sockaddr_storage ss;
        socklen_t sl;
        uint8_t *msg = g_malloc(65535);
        bool *seen = g_new0(bool, N);
        size_t off = 0;
        int fd, rx, size = 8 << 20;
        unsigned n_seen = 0;

        if (!need_root())
                return;
        fixture_setup(&fx, 1);
        g_assert_cmpint(dataplane_open_client(fx.side[0].dp, CLIENT_MODE_BATCH, &fd), ==, 0);

        rx = socket_in_netns(ns_a, AF_INET, SOCK_DGRAM, 0);
        g_assert_cmpint(rx, >=, 0);
        g_assert_cmpint(setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)), ==, 0);
        sl = make_addr(AF_INET, "10.77.0.1", 7002, &ss);
        g_assert_cmpint(bind(rx, (struct sockaddr *) &ss, sl), ==, 0);
        set_timeouts(rx, 5);

        for (uint16_t i = 0; i < N; i++) {
                size_t len = packet_build_udp4(msg + off + 2, src, dst, 6000, 7002, &i, sizeof(i));
                msg[off] = len >> 8;
                msg[off + 1] = len & 0xff;
                off += 2 + len;
        }
        g_assert_cmpuint(off, <=, 65535);
        g_assert_cmpint(send(fd, msg, off, 0), ==, (ssize_t) off);

        while (n_seen < N) {
                uint16_t i;
                g_assert_cmpint(recv_retry(rx, &i, sizeof(i), 0), ==, sizeof(i));
                g_assert_cmpuint(i, <, N);
                g_assert_false(seen[i]);
                seen[i] = true;
                n_seen++;
        }

        DataplaneStats st;
        dataplane_get_stats(fx.side[0].dp, &st);
        g_assert_cmpuint(st.tx_packets, ==, N);
        g_assert_cmpuint(st.drops_invalid, ==, 0);

        close(rx);
        close(fd);
        g_free(msg);
        g_free(seen);
        fixture_teardown(&fx);
}

/* Several fds on one device: the kernel's packets spread by flow (one flow, one fd), and
 * what any fd writes reaches the device. */
static void test_flow_spreading(void) {
        static const uint8_t src[4] = { 10, 77, 0, 2 }, dst[4] = { 10, 77, 0, 1 };
        enum { N_FDS = 4, N_FLOWS = 32 };
        Fixture fx;
        int fds[N_FDS], senders[N_FLOWS], rx;
        int owner[N_FLOWS];
        unsigned used[N_FDS] = {};
        struct sockaddr_storage ss;
        socklen_t sl;

        if (!need_root())
                return;
        fixture_setup(&fx, 1);
        for (unsigned i = 0; i < N_FDS; i++)
                g_assert_cmpint(dataplane_open_client(fx.side[0].dp, CLIENT_MODE_PACKET, &fds[i]), ==, 0);
        pump(&fx, 10);

        sl = make_addr(AF_INET, "10.77.0.2", 7000, &ss);
        for (unsigned f = 0; f < N_FLOWS; f++) {
                senders[f] = socket_in_netns(ns_a, AF_INET, SOCK_DGRAM, 0);
                g_assert_cmpint(senders[f], >=, 0);
                owner[f] = -1;
                for (unsigned k = 0; k < 3; k++)
                        g_assert_cmpint(sendto(senders[f], &f, sizeof(f), 0, (struct sockaddr *) &ss, sl), ==, sizeof(f));
        }

        /* Each fd: which flows (by the payload's flow number) it got. */
        unsigned got = 0;
        for (unsigned round = 0; round < 1000 && got < 3 * N_FLOWS; round++) {
                struct pollfd p[N_FDS];
                for (unsigned i = 0; i < N_FDS; i++)
                        p[i] = (struct pollfd) { .fd = fds[i], .events = POLLIN };
                if (poll(p, N_FDS, 100) <= 0)
                        continue;
                for (unsigned i = 0; i < N_FDS; i++) {
                        uint8_t buf[2048];
                        ssize_t n;
                        while ((n = recv_retry(fds[i], buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
                                unsigned f;
                                if (n != 28 + sizeof(f) || buf[0] != 0x45 || buf[9] != 17)
                                        continue;       /* not ours (no other traffic expected) */
                                memcpy(&f, buf + 28, sizeof(f));
                                g_assert_cmpuint(f, <, N_FLOWS);
                                if (owner[f] < 0) {
                                        owner[f] = i;
                                        used[i]++;
                                }
                                g_assert_cmpint(owner[f], ==, (int) i);
                                got++;
                        }
                }
        }
        g_assert_cmpuint(got, ==, 3 * N_FLOWS);
        unsigned fds_used = 0;
        for (unsigned i = 0; i < N_FDS; i++)
                fds_used += used[i] > 0;
        g_assert_cmpuint(fds_used, >=, 2);

        /* Writes from every fd reach the device. */
        rx = socket_in_netns(ns_a, AF_INET, SOCK_DGRAM, 0);
        sl = make_addr(AF_INET, "10.77.0.1", 7001, &ss);
        g_assert_cmpint(bind(rx, (struct sockaddr *) &ss, sl), ==, 0);
        set_timeouts(rx, 5);
        for (unsigned i = 0; i < N_FDS; i++) {
                uint8_t pkt[128];
                size_t len = packet_build_udp4(pkt, src, dst, 6000 + i, 7001, &i, sizeof(i));
                g_assert_cmpint(send(fds[i], pkt, len, 0), ==, (ssize_t) len);
        }
        bool seen[N_FDS] = {};
        for (unsigned k = 0; k < N_FDS; k++) {
                unsigned i;
                g_assert_cmpint(recv_retry(rx, &i, sizeof(i), 0), ==, sizeof(i));
                g_assert_cmpuint(i, <, N_FDS);
                seen[i] = true;
        }
        for (unsigned i = 0; i < N_FDS; i++)
                g_assert_true(seen[i]);

        close(rx);
        for (unsigned f = 0; f < N_FLOWS; f++)
                close(senders[f]);
        for (unsigned i = 0; i < N_FDS; i++)
                close(fds[i]);
        fixture_teardown(&fx);
}

/* Offloads and MTU changed while a transfer runs: it completes and verifies, and the
 * clients stay. */
static void test_change_while_flowing(void) {
        Fixture fx;
        Transfer t;
        pthread_t th[2];

        if (!need_root())
                return;
        fixture_setup(&fx, 2);
        fixture_start_forwarder(&fx, CLIENT_MODE_PACKET, true);

        transfer_start(&t, th, AF_INET, ns_a, ns_b, "10.77.0.2", 5003);
        for (unsigned i = 0; i < 20 && !transfer_done(&fx, &t); i++) {
                bool on = i % 2;
                for (size_t s = 0; s < 2; s++) {
                        dataplane_set_offloads(fx.side[s].dp, on ? ALL_OFFLOADS : OFFLOAD_CSUM);
                        g_assert_cmpint(tun_set_offloads(fx.side[s].tun_fd, on ? tun_all_offloads() : TUN_F_CSUM), ==, 0);
                }
                g_assert_cmpint(run_command("ip", "-n", ns_a, "link", "set", if_a, "mtu",
                                            on ? "1500" : "1400", NULL), ==, 0);
                dataplane_set_mtu(fx.side[0].dp, on ? 1500 : 1400);
                pump(&fx, 20);
        }
        transfer_finish(&fx, &t, th);
        g_assert_cmpuint(dataplane_n_clients(fx.side[0].dp), ==, 1);
        g_assert_cmpuint(dataplane_n_clients(fx.side[1].dp), ==, 1);

        fixture_teardown(&fx);
        check_report(&fx, true);
        g_free(fx.report);
}

static void test_mode_names(void) {
        for (ClientMode m = 0; m < _CLIENT_MODE_MAX; m++)
                g_assert_cmpint(client_mode_from_string(client_mode_to_string(m)), ==, m);
        g_assert_cmpint(client_mode_from_string("tun"), ==, _CLIENT_MODE_INVALID);
        g_assert_cmpint(client_mode_from_string(""), ==, _CLIENT_MODE_INVALID);
        g_assert_null(client_mode_to_string(_CLIENT_MODE_MAX));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        tb_reap_at_exit();

        ns_a = tb_ifname("tpta");
        ns_b = tb_ifname("tptb");
        ns_c = tb_ifname("tptc");
        if_a = tb_ifname("tpt0");
        if_b = tb_ifname("tpt1");
        if_c = tb_ifname("tpt2");

        forwarder_path = g_getenv("DATAPLANE_FORWARD");
        if (!forwarder_path)
                forwarder_path = "dataplane-forward";
        signal(SIGPIPE, SIG_IGN);

        g_test_add_func("/dataplane/mode-names", test_mode_names);
        g_test_add_func("/dataplane/free-eof", test_free_eof);
        g_test_add_func("/dataplane/device-deleted", test_device_deleted);
        g_test_add_func("/dataplane/invalid-input", test_invalid_input);
        g_test_add_func("/dataplane/flow-spreading", test_flow_spreading);
        g_test_add_func("/dataplane/batch-many-records", test_batch_many_records);
        g_test_add_func("/dataplane/packet-mode", test_packet_mode);
        g_test_add_func("/dataplane/batch-mode", test_batch_mode);
        g_test_add_func("/dataplane/vnet-mode", test_vnet_mode);
        g_test_add_func("/dataplane/stalled-client", test_stalled_client);
        g_test_add_func("/dataplane/reopen", test_reopen);
        g_test_add_func("/dataplane/change-while-flowing", test_change_while_flowing);
        return g_test_run();
}
