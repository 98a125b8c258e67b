/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* offload-bench: speed of the offload core, one figure per line as `NAME VALUE UNIT`.
 * Each figure is the median of many short timed runs after a warm-up, the runs of all
 * figures taking turns; memcpy is measured in the same run as the baseline for the
 * checksum, and wireguard-go's figures for the same work on this machine (from the issue)
 * are printed as reference lines with our ratio.
 *
 *   build/tests/bench/offload-bench [--runs N] [--ms MS] [--only NAME] [--iters N]
 *
 * --iters N does N ops per run without calibration: the same work every time, for
 * counting instructions (valgrind --tool=callgrind).
 */

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "checksum.h"
#include "offload.h"
#include "packet-builder.h"

/* memcpy-1500 of this kind of machine in its quiet state, GB/s (see main()). */
#define QUIET_MEMCPY_1500 82.8
#define MSS 1380

/* Many short runs: a burst of other work on a shared machine spoils a few of them, which
 * the median leaves out, where it would spoil a whole long run. A run during which the
 * thread lost the CPU (a context switch) is not counted at all; rounds go on until every
 * figure has n_runs clean runs, or MAX_ROUNDS_FACTOR times as many rounds were made (then
 * the median takes the clean runs there are, or every run made if fewer than
 * MIN_CLEAN_RUNS were clean). */
#define MAX_RUNS 1000u
#define MAX_ROUNDS_FACTOR 4u
#define MIN_CLEAN_RUNS 5u
static unsigned n_runs = 41;
static const char *only;
static double run_ms = 2;
static size_t fixed_iters;

typedef struct Bench {
        const char *name;
        const char *unit;               /* "GB/s" (bytes per op / time) or "ns/packet" */
        double per_op;                  /* bytes (GB/s) or packets (ns/packet) per op */
        void (*op)(void);
} Bench;

static volatile uint32_t sink;
static void *(*volatile memcpy_fn)(void *, const void *, size_t) = memcpy;

static uint8_t src[65536 + 64], dst[65536 + 64];

static double now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

#define WARM_UP_MS 20.0

/* Warm-up (caches, branch predictors, clock speed) and calibration: how many ops fill one
 * run of about run_ms. */
static size_t calibrate(void (*op)(void)) {
        double start = now_ns();
        while (now_ns() - start < WARM_UP_MS * 1e6)
                op();

        size_t iters = 1;
        for (;;) {
                double t = now_ns();
                for (size_t i = 0; i < iters; i++)
                        op();
                double ms = (now_ns() - t) / 1e6;
                if (ms >= run_ms / 4)
                        break;
                iters *= 2;
        }
        return iters * 4;
}

static long context_switches(void) {
        struct rusage ru;
        if (getrusage(RUSAGE_THREAD, &ru) < 0)
                return 0;
        return ru.ru_nvcsw + ru.ru_nivcsw;
}

/* One timed run: ns per op; *ret_clean tells whether the thread kept the CPU throughout. */
static double timed_run(void (*op)(void), size_t iters, bool *ret_clean) {
        long switches = context_switches();
        double t = now_ns();
        for (size_t i = 0; i < iters; i++)
                op();
        double ns = (now_ns() - t) / (double) iters;
        *ret_clean = context_switches() == switches;
        return ns;
}

static double median(double *v, size_t n) {
        qsort(v, n, sizeof(double), cmp_double);
        return v[n / 2];
}

/* ---- the work ---- */

static void op_memcpy_64k(void) { memcpy_fn(dst, src, 65536); }
static void op_memcpy_1500(void) { memcpy_fn(dst, src, 1500); }
static void op_csum_1500(void) { sink += csum_partial(src, 1500, 0); }
static void op_csum_64k(void) { sink += csum_partial(src, 65536, 0); }
static void op_csum_copy_1500(void) { sink += csum_copy(dst, src, 1500, 0); }

static uint8_t super_tcp4[VNET_MSG_MAX], super_tcp6[VNET_MSG_MAX], super_udp4[VNET_MSG_MAX];
static size_t super_tcp4_len, super_tcp6_len, super_udp4_len;
static uint8_t split_buf[1u << 20];
static struct iovec split_segs[256];

static void split(const uint8_t *msg, size_t len) {
        SplitOutput out = { .buf = split_buf, .buf_size = sizeof(split_buf), .segs = split_segs, .max_segs = 256 };
        if (offload_split(msg, len, 1500, &out) <= 0)
                abort();
}

static void op_split_tcp4(void) { split(super_tcp4, super_tcp4_len); }
static void op_split_tcp6(void) { split(super_tcp6, super_tcp6_len); }
static void op_split_udp4(void) { split(super_udp4, super_udp4_len); }

typedef struct PacketSet {
        uint8_t *data[128];
        size_t len[128];
        size_t n;
} PacketSet;

static PacketSet tcp4_flow, tcp4_4flows, udp4_flow;
static GroBatch *gro;

static void gro_run(const PacketSet *s, size_t expect_msgs) {
        const struct iovec *msgs;
        gro_batch_reset(gro);
        for (size_t i = 0; i < s->n; i++)
                if (gro_batch_add(gro, s->data[i], s->len[i]) < 0)
                        abort();
        if (gro_batch_finish(gro, &msgs) != expect_msgs)
                abort();
}

static void op_gro_tcp4(void) { gro_run(&tcp4_flow, 1); }
static void op_gro_tcp4_4flows(void) { gro_run(&tcp4_4flows, 4); }
static void op_gro_udp4(void) { gro_run(&udp4_flow, 1); }

static void packet_set_add(PacketSet *s, const PacketSpec *spec, size_t payload_len) {
        static uint8_t payload[MSS];
        fill_pattern(payload, payload_len, (uint32_t) s->n);
        s->data[s->n] = malloc(payload_len + 128);
        if (!s->data[s->n])
                abort();
        s->len[s->n] = build_packet(s->data[s->n], spec, payload, payload_len);
        s->n++;
}

static void setup(void) {
        static uint8_t payload[65536];
        fill_pattern(src, sizeof(src), 1);
        fill_pattern(payload, sizeof(payload), 2);

        PacketSpec tcp4 = { .version = 4, .proto = 6, .sport = 40000, .dport = 5201, .seq = 1, .ack = 1,
                            .tcp_opts_len = 12, .df = true };
        PacketSpec tcp6 = { .version = 6, .proto = 6, .sport = 40000, .dport = 5201, .seq = 1, .ack = 1,
                            .tcp_opts_len = 12 };
        PacketSpec udp4 = { .version = 4, .proto = 17, .sport = 4000, .dport = 4001 };

        /* One 64 KiB super-packet each (the largest IP packet), MSS 1380. */
        super_tcp4_len = build_super(super_tcp4, &tcp4, payload, 65535 - spec_hdr_len(&tcp4), MSS, false);
        super_tcp6_len = build_super(super_tcp6, &tcp6, payload, 65535 - spec_hdr_len(&tcp6), MSS, false);
        super_udp4_len = build_super(super_udp4, &udp4, payload, 65535 - spec_hdr_len(&udp4), MSS, false);

        /* 44 in-order segments of one flow; 128 of 4 interleaved flows; 44 UDP datagrams. */
        for (size_t i = 0; i < 44; i++) {
                PacketSpec s = tcp4;
                s.seq = 1 + (uint32_t) (i * MSS);
                s.ip_id = (uint16_t) i;
                packet_set_add(&tcp4_flow, &s, MSS);
        }
        for (size_t i = 0; i < 32; i++)
                for (uint16_t f = 0; f < 4; f++) {
                        PacketSpec s = tcp4;
                        s.sport = (uint16_t) (40000 + f);
                        s.seq = 1 + (uint32_t) (i * MSS);
                        s.ip_id = (uint16_t) i;
                        packet_set_add(&tcp4_4flows, &s, MSS);
                }
        for (size_t i = 0; i < 44; i++) {
                PacketSpec s = udp4;
                s.ip_id = (uint16_t) i;
                packet_set_add(&udp4_flow, &s, MSS);
        }
        if (gro_batch_new(&gro, 128) < 0)
                abort();
}

/* wireguard-go's Go code on the same work, on this machine (quiet). */
static const struct {
        const char *name;
        double value;
        const char *unit;
} wireguard_go[] = {
        { "split-tcp4", 13.4, "GB/s" },
        { "split-tcp6", 13.8, "GB/s" },
        { "gro-tcp4", 158, "ns/packet" },
        { "checksum-1500", 31, "GB/s" },
};

/* Our figures against wireguard-go's, these taken at SPEED times the quiet machine's. */
static void print_against_wireguard_go(const Bench *benches, const double *value, size_t n,
                                       double speed, const char *suffix) {
        for (size_t r = 0; r < sizeof(wireguard_go) / sizeof(wireguard_go[0]); r++)
                for (size_t i = 0; i < n; i++) {
                        if (strcmp(benches[i].name, wireguard_go[r].name) != 0 || value[i] == 0)
                                continue;
                        bool faster_is_more = strcmp(wireguard_go[r].unit, "GB/s") == 0;
                        double theirs = faster_is_more ? wireguard_go[r].value * speed : wireguard_go[r].value / speed;
                        printf("wireguard-go%s-%s %.2f %s\n", suffix, wireguard_go[r].name, theirs, wireguard_go[r].unit);
                        printf("%s-vs-wireguard-go%s %.2f x\n", wireguard_go[r].name, suffix,
                               faster_is_more ? value[i] / theirs : theirs / value[i]);
                }
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "runs", required_argument, NULL, 'r' },
                { "ms", required_argument, NULL, 'm' },
                { "only", required_argument, NULL, 'o' },
                { "iters", required_argument, NULL, 'i' },
                {}
        };
        int c;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        n_runs = (unsigned) atoi(optarg);
                        if (n_runs < 1 || n_runs > MAX_RUNS / MAX_ROUNDS_FACTOR)
                                n_runs = 41;
                        break;
                case 'm':
                        run_ms = atof(optarg) > 0 ? atof(optarg) : 2;
                        break;
                case 'o':
                        only = optarg;
                        break;
                case 'i':
                        fixed_iters = (size_t) strtoull(optarg, NULL, 10);
                        break;
                default:
                        fprintf(stderr, "usage: %s [--runs N] [--ms MS] [--only NAME] [--iters N]\n", argv[0]);
                        return 2;
                }

        setup();

        const Bench benches[] = {
                { "memcpy-64k", "GB/s", 65536, op_memcpy_64k },
                { "memcpy-1500", "GB/s", 1500, op_memcpy_1500 },
                { "checksum-1500", "GB/s", 1500, op_csum_1500 },
                { "checksum-64k", "GB/s", 65536, op_csum_64k },
                { "checksum-copy-1500", "GB/s", 1500, op_csum_copy_1500 },
                { "split-tcp4", "GB/s", (double) super_tcp4_len, op_split_tcp4 },
                { "split-tcp6", "GB/s", (double) super_tcp6_len, op_split_tcp6 },
                { "split-udp4", "GB/s", (double) super_udp4_len, op_split_udp4 },
                { "gro-tcp4", "ns/packet", 44, op_gro_tcp4 },
                { "gro-tcp4-4flows", "ns/packet", 128, op_gro_tcp4_4flows },
                { "gro-udp4", "ns/packet", 44, op_gro_udp4 },
        };
        size_t n = sizeof(benches) / sizeof(benches[0]);
        double value[sizeof(benches) / sizeof(benches[0])];

        /* The runs of all figures take turns, so that a disturbance on this shared machine
         * falls on every figure alike and the ratios between them (checksum against
         * memcpy) stay fair; each figure is the median of its clean runs. */
        size_t iters[sizeof(benches) / sizeof(benches[0])];
        static double clean[sizeof(benches) / sizeof(benches[0])][MAX_RUNS];
        static double all[sizeof(benches) / sizeof(benches[0])][MAX_RUNS];
        size_t n_clean[sizeof(benches) / sizeof(benches[0])] = {}, n_all = 0;
        for (size_t i = 0; i < n; i++) {
                if (only && strcmp(only, benches[i].name) != 0)
                        iters[i] = 0;
                else if (fixed_iters > 0)
                        iters[i] = fixed_iters;
                else
                        iters[i] = calibrate(benches[i].op);
        }
        for (bool done = false; !done && n_all < (size_t) n_runs * MAX_ROUNDS_FACTOR; n_all++) {
                done = true;
                for (size_t i = 0; i < n; i++) {
                        if (iters[i] == 0)
                                continue;
                        bool ok;
                        all[i][n_all] = timed_run(benches[i].op, iters[i], &ok);
                        ok = ok || fixed_iters > 0;     /* the same work each time, timing aside */
                        if (ok && n_clean[i] < n_runs)
                                clean[i][n_clean[i]++] = all[i][n_all];
                        if (n_clean[i] < n_runs)
                                done = false;
                }
        }

        for (size_t i = 0; i < n; i++) {
                if (iters[i] == 0) {
                        value[i] = 0;
                        continue;
                }
                double ns = n_clean[i] >= MIN_CLEAN_RUNS ? median(clean[i], n_clean[i]) : median(all[i], n_all);
                value[i] = strcmp(benches[i].unit, "GB/s") == 0 ? benches[i].per_op / ns : ns / benches[i].per_op;
                printf("%s %.2f %s\n", benches[i].name, value[i], benches[i].unit);
        }

        print_against_wireguard_go(benches, value, n, 1.0, "");
        /* This machine runs in two states, and memcpy shows which: wireguard-go's figures
         * hold in the quiet one, where memcpy-1500 measures about QUIET_MEMCPY_1500. In the
         * slow one everything, memcpy too, takes longer; scaled by memcpy's speed of this
         * run, wireguard-go's figures compare with ours in the same state. */
        if (value[1] > 0) {
                printf("machine-speed-vs-quiet %.2f x\n", value[1] / QUIET_MEMCPY_1500);
                print_against_wireguard_go(benches, value, n, value[1] / QUIET_MEMCPY_1500, "-scaled");
        }

        /* The checksum against memcpy measured in this run (the target is at least 0.5). */
        if (value[1] > 0 && value[2] > 0)
                printf("checksum-1500-vs-memcpy-1500 %.2f x\n", value[2] / value[1]);
        if (value[0] > 0 && value[3] > 0)
                printf("checksum-64k-vs-memcpy-64k %.2f x\n", value[3] / value[0]);

        gro_batch_free(gro);
        return 0;
}
