/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The kernel as referee. Two TUN devices with offloads on, each moved into a network
 * namespace of its own; this process forwards between them. Real TCP and UDP traffic
 * (UDP super-packets through UDP_SEGMENT) makes the kernel hand over super-packets; the
 * core splits each, every segment's checksums are verified here, and the segments are
 * written to the other device either one by one (the receiving kernel checks every
 * checksum) or coalesced again by the GRO side (the kernel must accept our super-packets).
 * The transfers must complete with every byte intact. Needs root; skipped otherwise. */

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <linux/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "offload.h"
#include "packet-builder.h"
#include "tun-compat.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define MTU 1500
#define TCP_BYTES (6u << 20)
#define UDP_SEG 1200
#define UDP_SEGS_PER_SEND 40
#define UDP_SENDS 25
#define TIMEOUT_S 60

typedef enum ForwardMode {
        FORWARD_SEGMENTS,       /* write every split segment on its own */
        FORWARD_COALESCED,      /* coalesce the segments again and write super-packets */
} ForwardMode;

typedef struct Referee {
        char ns[2][32];
        char dev[2][IFNAMSIZ];
        int fd[2];
        bool uso;
        /* what was seen */
        unsigned supers[8];     /* by gso_type (without the ECN bit) */
        unsigned segments;
        unsigned bad_segments;
        unsigned split_failures;
        unsigned refused_writes;
        unsigned coalesced_writes;
        OffloadDrop last_drop;
        uint32_t split_mtu;     /* what the core splits to (the device MTU, or less) */
} Referee;

static Referee ref;

static int run(const char *cmd) {
        int status = 0;
        g_autoptr(GError) error = NULL;
        g_autofree char *err = NULL;
        if (!g_spawn_command_line_sync(cmd, NULL, &err, &status, &error)) {
                g_printerr("%s: %s\n", cmd, error->message);
                return -1;
        }
        if (!g_spawn_check_wait_status(status, NULL)) {
                g_printerr("%s failed: %s\n", cmd, err);
                return -1;
        }
        return 0;
}

static int tun_open(const char *name, bool *uso) {
        struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR };
        int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        g_strlcpy(ifr.ifr_name, name, IFNAMSIZ);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                goto fail;
        unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
        *uso = ioctl(fd, TUNSETOFFLOAD, off | TUN_F_USO4 | TUN_F_USO6) == 0;
        if (!*uso && ioctl(fd, TUNSETOFFLOAD, off) < 0)
                goto fail;
        return fd;
fail:;
        int r = -errno;
        close(fd);
        return r;
}

static void referee_cleanup(void) {
        for (int i = 0; i < 2; i++) {
                if (ref.fd[i] >= 0)
                        close(ref.fd[i]);       /* a non-persistent TUN goes with its fd */
                ref.fd[i] = -1;
                if (ref.ns[i][0]) {
                        g_autofree char *cmd = g_strdup_printf("ip netns del %s", ref.ns[i]);
                        (void) run(cmd);
                        ref.ns[i][0] = 0;
                }
        }
}

static bool referee_setup(void) {
        static const char *const v4[2] = { "10.77.0.1/24", "10.77.0.2/24" };
        static const char *const v6[2] = { "fd00:77::1/64", "fd00:77::2/64" };

        memset(&ref, 0, sizeof(ref));
        ref.fd[0] = ref.fd[1] = -1;
        for (int i = 0; i < 2; i++) {
                g_snprintf(ref.ns[i], sizeof(ref.ns[i]), "to-%c-%d", 'a' + i, (int) getpid());
                g_snprintf(ref.dev[i], sizeof(ref.dev[i]), "to%c%d", 'a' + i, (int) getpid());
                g_autofree char *add = g_strdup_printf("ip netns add %s", ref.ns[i]);
                if (run(add) < 0) {
                        ref.ns[i][0] = 0;
                        return false;
                }
                bool uso;
                ref.fd[i] = tun_open(ref.dev[i], &uso);
                if (ref.fd[i] < 0)
                        return false;
                ref.uso = i == 0 ? uso : ref.uso && uso;

                g_autofree char *mv = g_strdup_printf("ip link set %s netns %s", ref.dev[i], ref.ns[i]);
                g_autofree char *a4 = g_strdup_printf("ip -n %s addr add %s dev %s", ref.ns[i], v4[i], ref.dev[i]);
                g_autofree char *a6 = g_strdup_printf("ip -n %s addr add %s dev %s nodad", ref.ns[i], v6[i], ref.dev[i]);
                g_autofree char *up = g_strdup_printf("ip -n %s link set %s mtu %d up", ref.ns[i], ref.dev[i], MTU);
                g_autofree char *lo = g_strdup_printf("ip -n %s link set lo up", ref.ns[i]);
                if (run(mv) < 0 || run(a4) < 0 || run(a6) < 0 || run(up) < 0 || run(lo) < 0)
                        return false;
        }
        return true;
}

static void enter_ns(const char *ns) {
        g_autofree char *path = g_strdup_printf("/run/netns/%s", ns);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
                _exit(90);
        close(fd);
}

static uint8_t pattern_byte(size_t i) {
        return (uint8_t) (i * 7 + i / 251);
}

static int make_addr(int family, int host, uint16_t port, struct sockaddr_storage *ss) {
        memset(ss, 0, sizeof(*ss));
        if (family == AF_INET) {
                struct sockaddr_in *s = (struct sockaddr_in *) ss;
                s->sin_family = AF_INET;
                s->sin_port = htons(port);
                g_assert(inet_pton(AF_INET, host ? "10.77.0.2" : "10.77.0.1", &s->sin_addr) == 1);
                return sizeof(*s);
        }
        struct sockaddr_in6 *s = (struct sockaddr_in6 *) ss;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons(port);
        g_assert(inet_pton(AF_INET6, host ? "fd00:77::2" : "fd00:77::1", &s->sin6_addr) == 1);
        return sizeof(*s);
}

/* ---- the children: servers in namespace b, clients in namespace a ---- */

static int tcp_server(int family, int ready_fd) {
        struct sockaddr_storage ss;
        socklen_t sl = (socklen_t) make_addr(family, 1, 5201, &ss);
        int one = 1, s = socket(family, SOCK_STREAM, 0);
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(s, (struct sockaddr *) &ss, sl) < 0 || listen(s, 1) < 0)
                return 10;
        (void) !write(ready_fd, "r", 1);
        int c = accept(s, NULL, NULL);
        if (c < 0)
                return 11;
        static uint8_t buf[65536];
        size_t total = 0;
        for (;;) {
                ssize_t n = read(c, buf, sizeof(buf));
                if (n < 0)
                        return 12;
                if (n == 0)
                        break;
                for (ssize_t i = 0; i < n; i++)
                        if (buf[i] != pattern_byte(total + (size_t) i))
                                return 13;
                total += (size_t) n;
        }
        return total == TCP_BYTES ? 0 : 14;
}

static int tcp_client(int family) {
        struct sockaddr_storage ss;
        socklen_t sl = (socklen_t) make_addr(family, 1, 5201, &ss);
        int s = socket(family, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *) &ss, sl) < 0)
                return 20;
        static uint8_t buf[TCP_BYTES];
        for (size_t i = 0; i < TCP_BYTES; i++)
                buf[i] = pattern_byte(i);
        for (size_t off = 0; off < TCP_BYTES;) {
                ssize_t n = write(s, buf + off, TCP_BYTES - off);
                if (n <= 0)
                        return 21;
                off += (size_t) n;
        }
        close(s);
        return 0;
}

static int udp_server(int family, int ready_fd) {
        struct sockaddr_storage ss;
        socklen_t sl = (socklen_t) make_addr(family, 1, 5300, &ss);
        int s = socket(family, SOCK_DGRAM, 0);
        int rcvbuf = 8 << 20;
        struct timeval tv = { .tv_sec = 5 };
        setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (bind(s, (struct sockaddr *) &ss, sl) < 0)
                return 30;
        (void) !write(ready_fd, "r", 1);
        uint8_t buf[2048];
        for (unsigned k = 0; k < UDP_SENDS * UDP_SEGS_PER_SEND; k++) {
                ssize_t n = recv(s, buf, sizeof(buf), 0);
                if (n != UDP_SEG)
                        return 31;
                for (size_t i = 1; i < UDP_SEG; i++)
                        if (buf[i] != pattern_byte(i + buf[0]))
                                return 32;
        }
        return 0;
}

static int udp_client(int family) {
        struct sockaddr_storage ss;
        socklen_t sl = (socklen_t) make_addr(family, 1, 5300, &ss);
        int s = socket(family, SOCK_DGRAM, 0), seg = UDP_SEG;
        if (setsockopt(s, IPPROTO_UDP, UDP_SEGMENT, &seg, sizeof(seg)) < 0)
                return 40;
        if (connect(s, (struct sockaddr *) &ss, sl) < 0)
                return 41;
        static uint8_t buf[UDP_SEG * UDP_SEGS_PER_SEND];
        for (unsigned k = 0; k < UDP_SENDS; k++) {
                for (size_t d = 0; d < UDP_SEGS_PER_SEND; d++) {
                        uint8_t *p = buf + d * UDP_SEG;
                        uint8_t first = (uint8_t) (k * 3 + d);
                        p[0] = first;   /* a tag; the rest follows from it */
                        for (size_t i = 1; i < UDP_SEG; i++)
                                p[i] = pattern_byte(i + first);
                }
                if (send(s, buf, sizeof(buf), 0) != (ssize_t) sizeof(buf))
                        return 42;
                usleep(20000);
        }
        return 0;
}

/* ---- the forwarder ---- */

static uint8_t rx_buf[VNET_MSG_MAX];
static uint8_t seg_buf[4u << 20];
static struct iovec segs[4096];
static GroBatch *gro;

static void write_msg(int fd, const void *p, size_t len) {
        if (write(fd, p, len) < 0)
                ref.refused_writes++;
}

static void forward_one(int from, ForwardMode mode) {
        ssize_t n = read(ref.fd[from], rx_buf, sizeof(rx_buf));
        if (n <= 0)
                return;
        int to = ref.fd[!from];

        VnetHdr h;
        memcpy(&h, rx_buf, sizeof(h));
        ref.supers[h.gso_type & 7]++;

        SplitOutput out = { .buf = seg_buf, .buf_size = sizeof(seg_buf), .segs = segs, .max_segs = G_N_ELEMENTS(segs) };
        int k = offload_split(rx_buf, (size_t) n, ref.split_mtu, &out);
        if (k < 0) {
                ref.split_failures++;
                ref.last_drop = out.drop;
                return;
        }

        for (int i = 0; i < k; i++) {
                ref.segments++;
                if (segs[i].iov_len > ref.split_mtu || !packet_checksums_ok(segs[i].iov_base, segs[i].iov_len))
                        ref.bad_segments++;
        }

        if (mode == FORWARD_SEGMENTS) {
                static const uint8_t zero[VNET_HDR_LEN];
                for (int i = 0; i < k; i++) {
                        struct iovec iov[2] = { { (void *) zero, VNET_HDR_LEN }, segs[i] };
                        if (writev(to, iov, 2) < 0)
                                ref.refused_writes++;
                }
                return;
        }

        const struct iovec *msgs, *orig;
        gro_batch_reset(gro);
        for (int i = 0; i < k; i++)
                if (gro_batch_add(gro, segs[i].iov_base, segs[i].iov_len) < 0)
                        ref.bad_segments++;
        size_t m = gro_batch_finish(gro, &msgs);
        for (size_t i = 0; i < m; i++) {
                VnetHdr gh;
                memcpy(&gh, msgs[i].iov_base, sizeof(gh));
                if (gh.gso_type != VIRTIO_NET_HDR_GSO_NONE)
                        ref.coalesced_writes++;
                if (write(to, msgs[i].iov_base, msgs[i].iov_len) >= 0)
                        continue;
                ref.refused_writes++;
                size_t u = gro_batch_unmerge(gro, i, &orig);
                for (size_t j = 0; j < u; j++)
                        write_msg(to, orig[j].iov_base, orig[j].iov_len);
        }
}

static pid_t spawn(const char *ns, int (*fn)(int, int), int family, int ready_fd) {
        pid_t pid = fork();
        g_assert(pid >= 0);
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                enter_ns(ns);
                _exit(fn(family, ready_fd));
        }
        return pid;
}

static int tcp_client_fn(int family, int unused) {
        return tcp_client(family);
}

static int udp_client_fn(int family, int unused) {
        return udp_client(family);
}

/* Runs one server/client pair while forwarding; returns when both ended (or time ran out,
 * then both are killed by PID). */
static void run_transfer(int (*server)(int, int), int (*client)(int, int), int family, ForwardMode mode,
                         int *ret_server_status, int *ret_client_status) {
        int ready[2];
        g_assert(pipe2(ready, O_CLOEXEC) == 0);
        pid_t srv = spawn(ref.ns[1], server, family, ready[1]);
        close(ready[1]);
        char c;
        ssize_t n = read(ready[0], &c, 1);
        close(ready[0]);
        if (n != 1) {
                /* The server ended before it was ready: report its status, start nothing
                 * more (the caller cleans up before it asserts). */
                waitpid(srv, ret_server_status, 0);
                *ret_client_status = -1;
                return;
        }
        pid_t cli = spawn(ref.ns[0], client, family, -1);

        pid_t pids[2] = { srv, cli };
        int status[2] = { -1, -1 };
        int alive = 2;
        time_t deadline = time(NULL) + TIMEOUT_S;
        while (alive > 0 && time(NULL) < deadline) {
                struct pollfd p[2] = { { ref.fd[0], POLLIN, 0 }, { ref.fd[1], POLLIN, 0 } };
                if (poll(p, 2, 20) > 0)
                        for (int i = 0; i < 2; i++)
                                if (p[i].revents & POLLIN)
                                        for (int burst = 0; burst < 64; burst++)
                                                forward_one(i, mode);
                for (int i = 0; i < 2; i++)
                        if (pids[i] > 0 && waitpid(pids[i], &status[i], WNOHANG) == pids[i]) {
                                pids[i] = 0;
                                alive--;
                        }
        }
        for (int i = 0; i < 2; i++)
                if (pids[i] > 0) {
                        kill(pids[i], SIGKILL);
                        waitpid(pids[i], &status[i], 0);
                        status[i] = -1;
                }
        *ret_server_status = status[0];
        *ret_client_status = status[1];
}

typedef struct Case {
        const char *name;
        bool tcp;
        int family;
        ForwardMode mode;
        uint8_t gso_type;
        uint32_t split_mtu;     /* 0: the device MTU; less makes the core cut TCP segments */
} Case;

static void test_case(gconstpointer data) {
        const Case *c = data;

        if (geteuid() != 0) {
                g_test_skip("needs root for TUN devices and network namespaces");
                return;
        }
        if (!referee_setup()) {
                referee_cleanup();
                g_test_skip("could not set up TUN devices in network namespaces");
                return;
        }
        if (!c->tcp && !ref.uso) {
                referee_cleanup();
                g_test_skip("the kernel does not accept TUN_F_USO4/6");
                return;
        }
        g_assert_cmpint(gro_batch_new(&gro, G_N_ELEMENTS(segs)), ==, 0);
        ref.split_mtu = c->split_mtu ? c->split_mtu : MTU;

        int ss, cs;
        run_transfer(c->tcp ? tcp_server : udp_server, c->tcp ? tcp_client_fn : udp_client_fn,
                     c->family, c->mode, &ss, &cs);

        g_test_message("%s: super-packets tcp4 %u tcp6 %u udp %u, plain %u; segments %u, bad %u; "
                       "split failures %u (%s); coalesced writes %u, refused %u",
                       c->name, ref.supers[VIRTIO_NET_HDR_GSO_TCPV4], ref.supers[VIRTIO_NET_HDR_GSO_TCPV6],
                       ref.supers[VIRTIO_NET_HDR_GSO_UDP_L4], ref.supers[0], ref.segments, ref.bad_segments,
                       ref.split_failures, offload_drop_to_string(ref.last_drop), ref.coalesced_writes,
                       ref.refused_writes);
        gro = gro_batch_free(gro);
        referee_cleanup();

        g_assert_true(WIFEXITED(ss) && WIFEXITED(cs));
        g_assert_cmpint(WEXITSTATUS(cs), ==, 0);
        g_assert_cmpint(WEXITSTATUS(ss), ==, 0);
        g_assert_cmpuint(ref.supers[c->gso_type], >, 0);
        g_assert_cmpuint(ref.bad_segments, ==, 0);
        g_assert_cmpuint(ref.split_failures, ==, 0);
        g_assert_cmpuint(ref.refused_writes, ==, 0);
        if (c->mode == FORWARD_COALESCED)
                g_assert_cmpuint(ref.coalesced_writes, >, 0);
}

static const Case cases[] = {
        { "/kernel-referee/tcp4-segments", true, AF_INET, FORWARD_SEGMENTS, VIRTIO_NET_HDR_GSO_TCPV4 },
        { "/kernel-referee/tcp6-segments", true, AF_INET6, FORWARD_SEGMENTS, VIRTIO_NET_HDR_GSO_TCPV6 },
        { "/kernel-referee/udp4-segments", false, AF_INET, FORWARD_SEGMENTS, VIRTIO_NET_HDR_GSO_UDP_L4 },
        { "/kernel-referee/udp6-segments", false, AF_INET6, FORWARD_SEGMENTS, VIRTIO_NET_HDR_GSO_UDP_L4 },
        { "/kernel-referee/tcp4-coalesced", true, AF_INET, FORWARD_COALESCED, VIRTIO_NET_HDR_GSO_TCPV4 },
        { "/kernel-referee/tcp6-coalesced", true, AF_INET6, FORWARD_COALESCED, VIRTIO_NET_HDR_GSO_TCPV6 },
        { "/kernel-referee/udp4-coalesced", false, AF_INET, FORWARD_COALESCED, VIRTIO_NET_HDR_GSO_UDP_L4 },
        { "/kernel-referee/udp6-coalesced", false, AF_INET6, FORWARD_COALESCED, VIRTIO_NET_HDR_GSO_UDP_L4 },
        /* The core cuts the kernel's segments to a smaller MTU than the MSS was made for. */
        { "/kernel-referee/tcp4-cut-to-1280", true, AF_INET, FORWARD_SEGMENTS, VIRTIO_NET_HDR_GSO_TCPV4, 1280 },
        { "/kernel-referee/tcp6-cut-to-1280", true, AF_INET6, FORWARD_SEGMENTS, VIRTIO_NET_HDR_GSO_TCPV6, 1280 },
        { "/kernel-referee/tcp4-cut-coalesced", true, AF_INET, FORWARD_COALESCED, VIRTIO_NET_HDR_GSO_TCPV4, 1000 },
};

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
                g_test_add_data_func(cases[i].name, &cases[i], test_case);
        return g_test_run();
}
