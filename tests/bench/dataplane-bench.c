/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The data plane's benchmark (not a test; run as root, on a quiet machine):
 *
 *   dataplane-bench [SECONDS [ROUNDS [VARIANT]]]   (default: 5 s, 1 round, every variant)
 *
 * iperf3, one TCP stream, MTU 1500, between two namespaces, through:
 *   packet-mmsg    tund packet mode, client batching with recvmmsg/sendmmsg
 *   packet-single  tund packet mode, client with one read/write per packet
 *   batch          tund batch mode (length-prefixed records)
 *   vnet           tund vnet mode (super-packets, no split/coalesce)
 *   ring           tund ring mode (plain packets through shared memory)
 *   ring-vnet      tund ring mode with option Vnet (super-packets through shared memory)
 * and, in the same run, the baselines:
 *   plain-tun      two TUNs without vnet header, a forwarder with one read/write per packet
 *   vnet-tun       two TUNs with vnet header + TSO, super-packets passed through unchanged
 *   veth           a veth pair
 * Prints NAME VALUE UNIT lines: Gbit/s, CPU per packet of tund (this process) and of the
 * client (dataplane-forward), a "packet" being 1448 bytes of TCP payload, and the ratios
 * to plain-tun and vnet-tun; the machine's busy CPU per packet, and from it each mode's
 * ceiling (see print_ceiling); and what one seqpacket message costs the kernel to send and
 * receive (1500 B and 64 KiB, two threads in batches, measured once a round). With several
 * rounds (every variant once per round, so that
 * the load of a shared machine falls on all of them alike) it prints each variant's median
 * run. */

#include <errno.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dataplane.h"
#include "harness.h"
#include "offload-names.h"
#include "seqpacket-cost.h"
#include "tb-netns.h"

/* Names unique to this process (tb_ifname()), which the harness's reaper removes. */
static char *ns_a_name, *ns_b_name, *tun_a_name, *tun_b_name, *veth_a_name, *veth_b_name;
#define ADDR_B "10.79.0.2"
#define MSS_BYTES 1448.0

static const char *forwarder_path = DATAPLANE_FORWARD_PATH;    /* built in by meson */
static const char *seconds = "5";

typedef struct Result {
        double gbps;
        double tund_ns, client_ns;      /* CPU per packet, < 0 when not applicable */
        double system_ns;               /* busy CPU per packet of the whole machine */
} Result;

static double cpu_seconds_self(void) {
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double cpu_seconds_of(pid_t pid) {
        char path[64], buf[1024];
        unsigned long ut = 0, st = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return 0;
        if (fgets(buf, sizeof(buf), f)) {
                const char *p = strrchr(buf, ')');
                /* fields after the command: state(3) ... utime(14) stime(15) */
                if (p)
                        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
        }
        fclose(f);
        return (double) (ut + st) / sysconf(_SC_CLK_TCK);
}

/* Busy CPU seconds of the whole machine so far (time stolen by the host not included). */
static double cpu_seconds_busy(void) {
        unsigned long long user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
        FILE *f = fopen("/proc/stat", "re");

        if (!f)
                return 0;
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle, &iowait, &irq, &softirq) != 7)
                user = nice = sys = irq = softirq = 0;
        fclose(f);
        return (double) (user + nice + sys + irq + softirq) / sysconf(_SC_CLK_TCK);
}

static double packets_moved(double gbps) {
        return gbps * 1e9 / 8 * atof(seconds) / MSS_BYTES;
}

static void setup_namespaces(const char *if_a, const char *if_b) {
        if (netns_setup(ns_a_name, if_a, "10.79.0.1/24", NULL, 1500) < 0 ||
            netns_setup(ns_b_name, if_b, ADDR_B "/24", NULL, 1500) < 0) {
                fprintf(stderr, "Failed to set up the namespaces\n");
                exit(1);
        }
}

static void teardown_namespaces(void) {
        netns_remove(ns_a_name);
        netns_remove(ns_b_name);
}

/* Runs iperf3 from A to B; returns the received Gbit/s, or a negative value. */
static double run_iperf(void) {
        char *out = NULL, *p;
        double bps = -1;
        pid_t server;

        server = spawn_command("ip", "netns", "exec", ns_b_name, "iperf3", "-s", "-1", "-B", ADDR_B, NULL);
        if (server < 0)
                return -1;
        for (unsigned attempt = 0; attempt < 50; attempt++) {
                usleep(100 * 1000);
                free(out);
                out = NULL;
                if (run_command_capture(&out, "ip", "netns", "exec", ns_a_name, "iperf3", "-c", ADDR_B,
                                        "-t", seconds, "-J", NULL) == 0)
                        break;
                if (out && !strstr(out, "unable to connect"))
                        break;
        }
        if (out && (p = strstr(out, "\"sum_received\"")) && (p = strstr(p, "\"bits_per_second\":")))
                bps = strtod(p + strlen("\"bits_per_second\":"), NULL);
        /* What limited TCP: the sender's window and the round trip through the path. */
        if (out && (p = strstr(out, "\"end\"")) && (p = strstr(p, "\"max_snd_cwnd\":"))) {
                unsigned long cwnd = strtoul(p + strlen("\"max_snd_cwnd\":"), NULL, 10);
                const char *q = strstr(p, "\"mean_rtt\":");
                const char *rx = strstr(p, "\"retransmits\":");
                fprintf(stderr, "# iperf3: max cwnd %lu KiB, mean rtt %lu us, retransmits %lu\n", cwnd / 1024,
                        q ? strtoul(q + strlen("\"mean_rtt\":"), NULL, 10) : 0,
                        rx ? strtoul(rx + strlen("\"retransmits\":"), NULL, 10) : 0);
        }
        free(out);

        if (waitpid(server, NULL, WNOHANG) == 0) {
                kill(server, SIGTERM);
                waitpid(server, NULL, 0);
        }
        return bps / 1e9;
}

/* Runs iperf3 and fills in the throughput and the machine's busy CPU per packet. */
static void measure_iperf(Result *res) {
        double busy0 = cpu_seconds_busy();

        res->gbps = run_iperf();
        if (res->gbps > 0)
                res->system_ns = (cpu_seconds_busy() - busy0) * 1e9 / packets_moved(res->gbps);
}

/* Passes the forwarder's report on as comment lines. */
static Result run_tund_with(ClientOptions o, const char *name, bool single);

static void finish_forwarder(pid_t pid, int out_fd) {
        char line[512];
        FILE *f = fdopen(out_fd, "re");

        if (f) {
                while (fgets(line, sizeof(line), f))
                        fprintf(stderr, "# %s%s", line, strchr(line, '\n') ? "" : "\n");
                fclose(f);
        } else
                close(out_fd);
        waitpid(pid, NULL, 0);
}

static Result run_tund_with(ClientOptions o, const char *name, bool single) {
        Result res = { .tund_ns = -1, .client_ns = -1 };
        sd_event *loop = NULL;
        Dataplane *dp_a = NULL, *dp_b = NULL;
        unsigned all = OFFLOADS_KERNEL | OFFLOADS_TUND;
        int tun_a, tun_b, fd_a, fd_b, out_fd;
        double self0, client0, self1, client1;
        pid_t fwd;

        tun_a = tun_open(tun_a_name);
        tun_b = tun_open(tun_b_name);
        if (tun_a < 0 || tun_b < 0 || sd_event_new(&loop) < 0) {
                fprintf(stderr, "Failed to open the TUN devices\n");
                exit(1);
        }
        setup_namespaces(tun_a_name, tun_b_name);
        if (dataplane_new(&dp_a, loop, tun_a, 1500, all, NULL, NULL) < 0 ||
            dataplane_new(&dp_b, loop, tun_b, 1500, all, NULL, NULL) < 0 ||
            dataplane_open_client_with(dp_a, &o, 0, &fd_a) < 0 ||
            dataplane_open_client_with(dp_b, &o, 0, &fd_b) < 0) {
                fprintf(stderr, "Failed to start the data planes\n");
                exit(1);
        }
        fwd = forwarder_start(forwarder_path, name, fd_a, fd_b,
                              single ? "--single" : getenv("DATAPLANE_BENCH_CLIENT_ARG"), NULL, &out_fd);
        close(fd_a);
        close(fd_b);
        if (fwd < 0) {
                fprintf(stderr, "Failed to start %s\n", forwarder_path);
                exit(1);
        }

        self0 = cpu_seconds_self();
        client0 = cpu_seconds_of(fwd);
        measure_iperf(&res);
        self1 = cpu_seconds_self();
        client1 = cpu_seconds_of(fwd);

        if (res.gbps > 0) {
                res.tund_ns = (self1 - self0) * 1e9 / packets_moved(res.gbps);
                res.client_ns = (client1 - client0) * 1e9 / packets_moved(res.gbps);
        }

        for (unsigned i = 0; i < 2; i++) {
                DataplaneStats st;
                dataplane_get_stats(i == 0 ? dp_a : dp_b, &st);
                fprintf(stderr, "# %s %s: rx %llu tx %llu split %llu merged %llu refused %llu "
                        "invalid %llu queue-full %llu write-error %llu\n",
                        name, i == 0 ? "A" : "B",
                        (unsigned long long) st.rx_packets, (unsigned long long) st.tx_packets,
                        (unsigned long long) st.gso_split, (unsigned long long) st.gro_merged,
                        (unsigned long long) st.gro_refused, (unsigned long long) st.drops_invalid,
                        (unsigned long long) st.drops_queue_full, (unsigned long long) st.drops_write_error);
        }

        dataplane_free(dp_a);
        dataplane_free(dp_b);
        finish_forwarder(fwd, out_fd);
        close(tun_a);
        close(tun_b);
        teardown_namespaces();
        sd_event_unref(loop);
        return res;
}

static Result run_tund(ClientMode mode, bool single) {
        return run_tund_with((ClientOptions) { .mode = mode }, client_mode_to_string(mode), single);
}

/* Two TUNs bridged by dataplane-forward --single: plain packets, or with vnet + TSO. */
static Result run_tun_bridge(bool vnet) {
        Result res = { .tund_ns = -1, .client_ns = -1 };
        int flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
        int tun_a, tun_b, out_fd;
        double client0, client1;
        pid_t fwd;

        tun_a = vnet ? tun_open(tun_a_name) : tun_open_flags(tun_a_name, flags);
        tun_b = vnet ? tun_open(tun_b_name) : tun_open_flags(tun_b_name, flags);
        if (tun_a < 0 || tun_b < 0) {
                fprintf(stderr, "Failed to open the TUN devices\n");
                exit(1);
        }
        setup_namespaces(tun_a_name, tun_b_name);
        fwd = forwarder_start(forwarder_path, vnet ? "vnet" : "packet", tun_a, tun_b, "--single", NULL, &out_fd);
        if (fwd < 0)
                exit(1);

        client0 = cpu_seconds_of(fwd);
        measure_iperf(&res);
        client1 = cpu_seconds_of(fwd);
        if (res.gbps > 0)
                res.client_ns = (client1 - client0) * 1e9 / packets_moved(res.gbps);

        /* The forwarder ends when the devices go (EBADFD on read). */
        kill(fwd, SIGTERM);
        finish_forwarder(fwd, out_fd);
        close(tun_a);
        close(tun_b);
        teardown_namespaces();
        return res;
}

static Result run_veth(void) {
        Result res = { .tund_ns = -1, .client_ns = -1 };

        if (run_command("ip", "link", "add", veth_a_name, "type", "veth", "peer", "name", veth_b_name, NULL) != 0) {
                fprintf(stderr, "Failed to create the veth pair\n");
                exit(1);
        }
        setup_namespaces(veth_a_name, veth_b_name);
        measure_iperf(&res);
        teardown_namespaces();  /* removes the pair with them */
        return res;
}

static void print_result(const char *name, Result r, const char *baseline, double baseline_gbps,
                         double target) {
        printf("%s-throughput %.2f Gbit/s\n", name, r.gbps);
        if (baseline && baseline_gbps > 0) {
                printf("%s-baseline-%s %.2f Gbit/s\n", name, baseline, baseline_gbps);
                printf("%s-vs-%s %.2f x\n", name, baseline, r.gbps / baseline_gbps);
                if (target > 0)
                        printf("%s-target-vs-%s %.2f x\n", name, baseline, target);
        }
        if (r.tund_ns >= 0)
                printf("%s-tund-cpu %.0f ns/packet\n", name, r.tund_ns);
        if (r.client_ns >= 0)
                printf("%s-client-cpu %.0f ns/packet\n", name, r.client_ns);
        if (r.system_ns > 0)
                printf("%s-system-cpu %.0f ns/packet\n", name, r.system_ns);
        fflush(stdout);
}

/* The mode's ceiling on this machine, against its baseline. tund sends and receives the
 * same seqpacket messages as the client (what one sends, the other receives), so it costs
 * at least what the client costs (client_ns: a client batching with recvmmsg/sendmmsg),
 * plus the TUN reads and writes of super-packets that the vnet-tun forwarder pays. With
 * tund at that least and the rest of the machine's work per packet as measured, the ratio
 * of CPU per packet to the baseline's (both runs keep the machine busy) bounds the ratio
 * of throughput: a target above the ceiling cannot be met through seqpacket sockets. */
static void print_ceiling(const char *name, Result r, double client_ns, Result vnet_tun,
                          const char *baseline, Result base) {
        double tund_least_ns, least_ns;

        if (r.system_ns <= 0 || r.tund_ns < 0 || client_ns < 0 || vnet_tun.client_ns <= 0 || base.system_ns <= 0)
                return;
        tund_least_ns = client_ns + vnet_tun.client_ns;
        least_ns = r.system_ns - r.tund_ns + tund_least_ns;
        printf("%s-tund-least-cpu %.0f ns/packet\n", name, tund_least_ns);
        printf("%s-ceiling %.2f Gbit/s\n", name, base.gbps * base.system_ns / least_ns);
        printf("%s-ceiling-vs-%s %.2f x\n", name, baseline, base.system_ns / least_ns);
}

static Result run_variant(unsigned i) {
        switch (i) {
        case 0: return run_tund(CLIENT_MODE_PACKET, false);
        case 1: return run_tund(CLIENT_MODE_PACKET, true);
        case 2: return run_tund(CLIENT_MODE_BATCH, false);
        case 3: return run_tund(CLIENT_MODE_VNET, false);
        case 4: return run_tun_bridge(false);
        case 5: return run_tun_bridge(true);
        case 6: return run_veth();
        case 7: return run_tund_with((ClientOptions) { .mode = CLIENT_MODE_RING }, "ring", false);
        default: return run_tund_with((ClientOptions) { .mode = CLIENT_MODE_RING, .vnet = true }, "ring-vnet", false);
        }
}

static int compare_gbps(const void *a, const void *b) {
        double x = ((const Result *) a)->gbps, y = ((const Result *) b)->gbps;
        return (x > y) - (x < y);
}

#define MAX_ROUNDS 15
#define N_VARIANTS 9
typedef struct MessageCost {
        double small, large;            /* ns per 1500 B / 64 KiB message, sent and received */
} MessageCost;

static int compare_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static MessageCost median_cost(MessageCost *costs, unsigned n) {
        double small[MAX_ROUNDS], large[MAX_ROUNDS];

        for (unsigned i = 0; i < n; i++) {
                small[i] = costs[i].small;
                large[i] = costs[i].large;
        }
        qsort(small, n, sizeof(double), compare_double);
        qsort(large, n, sizeof(double), compare_double);
        return (MessageCost) { small[n / 2], large[n / 2] };
}

int main(int argc, char *argv[]) {
        static const char *const names[N_VARIANTS] = {
                "packet-mmsg", "packet-single", "batch", "vnet", "plain-tun", "vnet-tun", "veth",
                "ring", "ring-vnet" };
        /* Baselines first, then tund's modes, in every round. */
        static const unsigned order[N_VARIANTS] = { 4, 5, 6, 0, 1, 2, 3, 7, 8 };
        /* packet-mmsg, packet-single and batch against plain-tun; vnet against vnet-tun */
        static const double targets[4] = { 1.8, 1.7, 4.5, 0.9 };
        Result runs[N_VARIANTS][MAX_ROUNDS] = {}, r[N_VARIANTS] = {};
        MessageCost costs[MAX_ROUNDS], cost;
        const char *only = NULL;
        unsigned rounds = 1;

        if (argc > 1 && argv[1][0] == '-') {
                fprintf(stderr, "Usage: dataplane-bench [SECONDS [ROUNDS [VARIANT]]] (see the comment at the top of\n"
                                "tests/bench/dataplane-bench.c); default 5 s, 1 round, every variant.\n");
                return strcmp(argv[1], "--help") == 0 ? 0 : 2;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "Needs root.\n");
                return 77;
        }
        if (argc > 1)
                seconds = argv[1];
        if (argc > 2)
                rounds = MAX(1, MIN(MAX_ROUNDS, atoi(argv[2])));
        if (argc > 3)
                only = argv[3];
        tb_reap_at_exit();
        ns_a_name = tb_ifname("pba");
        ns_b_name = tb_ifname("pbb");
        tun_a_name = tb_ifname("pb0");
        tun_b_name = tb_ifname("pb1");
        veth_a_name = tb_ifname("pbv0");
        veth_b_name = tb_ifname("pbv1");
        if (getenv("DATAPLANE_FORWARD"))
                forwarder_path = getenv("DATAPLANE_FORWARD");
        signal(SIGPIPE, SIG_IGN);

        for (unsigned k = 0; k < rounds; k++) {
                costs[k].small = seqpacket_cpu_per_message(1500, 1);
                costs[k].large = seqpacket_cpu_per_message(65535, 1);
                fprintf(stderr, "# round %u seqpacket message: %.0f ns (1500 B), %.0f ns (64 KiB)\n",
                        k + 1, costs[k].small, costs[k].large);
                for (unsigned j = 0; j < N_VARIANTS; j++) {
                        unsigned i = order[j];
                        if (only && strcmp(only, names[i]) != 0)
                                continue;
                        runs[i][k] = run_variant(i);
                        fprintf(stderr, "# round %u %s %.2f Gbit/s\n", k + 1, names[i], runs[i][k].gbps);
                }
        }
        cost = median_cost(costs, rounds);

        /* The median run of each variant: the machine is shared, single runs are noisy. */
        for (unsigned j = 0; j < N_VARIANTS; j++) {
                unsigned i = order[j];
                qsort(runs[i], rounds, sizeof(Result), compare_gbps);
                r[i] = runs[i][rounds / 2];
        }
        /* Each of tund's modes beside the baseline its target is set against (issue 5). */
        for (unsigned j = 0; j < N_VARIANTS; j++) {
                unsigned i = order[j], base = i == 3 ? 5 : 4;
                if (only && strcmp(only, names[i]) != 0)
                        continue;
                if (i == 7 || i == 8)   /* no target yet: beside both baselines */
                        base = i == 8 ? 5 : 4;
                print_result(names[i], r[i], i < 4 || i > 6 ? names[base] : NULL, r[base].gbps,
                             i < 4 ? targets[i] : 0);
        }

        printf("seqpacket-1500-cpu %.0f ns/message\n", cost.small);
        printf("seqpacket-64k-cpu %.0f ns/message\n", cost.large);
        for (unsigned i = 0; i < 4; i++) {
                if (only && strcmp(only, names[i]) != 0)
                        continue;
                /* packet-single's tund batches as packet-mmsg's does */
                double client_ns = i == 1 && r[0].gbps > 0 ? r[0].client_ns : r[i].client_ns;
                print_ceiling(names[i], r[i], client_ns, r[5],
                              names[i == 3 ? 5 : 4], r[i == 3 ? 5 : 4]);
        }

        /* And against the other baseline, for the record. */
        for (unsigned i = 0; i < N_VARIANTS; i++) {
                unsigned other = i == 3 || i == 8 ? 4 : 5;
                if (i >= 4 && i <= 6)
                        continue;
                if (only && strcmp(only, names[i]) != 0)
                        continue;
                if (r[other].gbps > 0)
                        printf("%s-vs-%s %.2f x\n", names[i], names[other], r[i].gbps / r[other].gbps);
        }
        return 0;
}
