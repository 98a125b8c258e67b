/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Writes the fuzzers' seed corpus: fuzz-make-corpus DIR (creates DIR/fuzz-split/ and
 * DIR/fuzz-gro/). Seeds are small, valid inputs of each kind the core handles. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "packet-builder.h"

static void write_file(const char *dir, const char *target, const char *name, const uint8_t *p, size_t len) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, target);
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
                perror(path);
                exit(1);
        }
        snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
                perror(path);
                exit(1);
        }
}

static uint8_t payload[65536];

static void split_seed(const char *dir, const char *name, const PacketSpec *s, size_t payload_len,
                       uint16_t gso, bool ecn, uint16_t mtu) {
        static uint8_t buf[3 + VNET_MSG_MAX];
        buf[0] = (uint8_t) (mtu >> 8);
        buf[1] = (uint8_t) mtu;
        buf[2] = 0;
        size_t len = build_super(buf + 3, s, payload, payload_len, gso, ecn);
        write_file(dir, "fuzz-split", name, buf, 3 + len);
}

/* A batch: the switch byte, then length-prefixed packets. */
typedef struct Batch {
        uint8_t data[65536];
        size_t len;
} Batch;

static void batch_add(Batch *b, const PacketSpec *s, size_t payload_len, uint32_t seq_off, uint16_t id_off) {
        PacketSpec t = *s;
        t.seq += seq_off;
        t.ip_id = (uint16_t) (t.ip_id + id_off);
        size_t len = build_packet(b->data + b->len + 2, &t, payload, payload_len);
        b->data[b->len] = (uint8_t) (len >> 8);
        b->data[b->len + 1] = (uint8_t) len;
        b->len += 2 + len;
}

int main(int argc, char *argv[]) {
        if (argc != 2) {
                fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
                return 2;
        }
        const char *dir = argv[1];
        fill_pattern(payload, sizeof(payload), 1);

        const PacketSpec tcp4 = { .version = 4, .proto = 6, .sport = 40000, .dport = 5201, .seq = 1, .ack = 2,
                                  .tcp_opts_len = 12, .ip_id = 100, .df = true };
        const PacketSpec tcp6 = { .version = 6, .proto = 6, .sport = 40000, .dport = 5201, .seq = 1, .ack = 2,
                                  .flow_label = 5 };
        const PacketSpec udp4 = { .version = 4, .proto = 17, .sport = 4000, .dport = 53, .ip_id = 7 };
        const PacketSpec udp6 = { .version = 6, .proto = 17, .sport = 4000, .dport = 53 };
        PacketSpec t;

        split_seed(dir, "tcp4", &tcp4, 3000, 1000, false, 1500);
        split_seed(dir, "tcp6", &tcp6, 3001, 1000, false, 1500);
        split_seed(dir, "udp4", &udp4, 2500, 1000, false, 1500);
        split_seed(dir, "udp6", &udp6, 2000, 1000, false, 1500);
        split_seed(dir, "tcp4-cut-to-mtu", &tcp4, 3000, 1448, false, 576);
        split_seed(dir, "none-csum", &tcp6, 500, 0, false, 1500);
        t = tcp4;
        t.tcp_flags = 0x80 | 0x10 | 0x08;
        split_seed(dir, "tcp4-ecn", &t, 2100, 700, true, 1500);
        t = tcp6;
        t.ipv6_dstopts_len = 16;
        split_seed(dir, "tcp6-dstopts", &t, 2100, 700, false, 1500);
        t = tcp4;
        t.ipv4_opts_len = 8;
        split_seed(dir, "tcp4-ipopts", &t, 2100, 700, false, 1500);
        split_seed(dir, "tcp4-gso1", &tcp4, 5, 1, false, 1500);

        Batch b = { .data = { 0 }, .len = 1 };
        for (uint32_t i = 0; i < 4; i++)
                batch_add(&b, &tcp4, 500, i * 500, (uint16_t) i);
        write_file(dir, "fuzz-gro", "tcp4", b.data, b.len);

        b.len = 1;
        for (uint32_t i = 0; i < 3; i++)
                batch_add(&b, &tcp6, 400, i * 400, 0);
        batch_add(&b, &tcp6, 100, 1200, 0);
        write_file(dir, "fuzz-gro", "tcp6-short-last", b.data, b.len);

        b.len = 1;
        batch_add(&b, &tcp4, 500, 500, 1);
        batch_add(&b, &tcp4, 500, 0, 0);
        batch_add(&b, &tcp4, 500, 1000, 2);
        write_file(dir, "fuzz-gro", "tcp4-prepend", b.data, b.len);

        b.len = 1;
        for (uint16_t i = 0; i < 4; i++) {
                batch_add(&b, &udp4, 300, 0, i);
                batch_add(&b, &udp6, 200, 0, 0);
        }
        write_file(dir, "fuzz-gro", "udp-two-flows", b.data, b.len);

        b.len = 1;
        t = tcp4;
        for (uint32_t i = 0; i < 3; i++) {
                t.sport = 1;
                batch_add(&b, &t, 200, i * 200, (uint16_t) i);
                t.sport = 2;
                batch_add(&b, &t, 200, i * 200, (uint16_t) i);
        }
        t.tcp_flags = 0x18;
        batch_add(&b, &t, 200, 600, 3);
        b.data[0] = 4;  /* fix up checksums: mutations still reach the merge rules */
        write_file(dir, "fuzz-gro", "tcp4-interleaved-psh", b.data, b.len);
        return 0;
}
