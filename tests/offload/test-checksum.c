/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <glib.h>
#include <string.h>

#include "both-paths.h"
#include "checksum.h"
#include "packet-builder.h"

/* csum_fold's result as the two bytes it puts on the wire, read big-endian. */
static uint16_t wire_value(uint16_t folded) {
        uint8_t b[2];
        memcpy(b, &folded, 2);
        return (uint16_t) (b[0] << 8 | b[1]);
}

static void fill_random(uint8_t *p, size_t len, GRand *r) {
        for (size_t i = 0; i < len; i++)
                p[i] = (uint8_t) g_rand_int(r);
}

static void test_rfc1071_example(void) {
        /* RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d. */
        const uint8_t data[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
        g_assert_cmphex(wire_value(csum_fold(csum_partial(data, sizeof(data), 0))), ==, 0x220d);
}

static void test_matches_reference_all_lengths_and_alignments(void) {
        g_autoptr(GRand) r = g_rand_new_with_seed(1);
        g_autofree uint8_t *buf = g_malloc(70000 + 64);

        fill_random(buf, 70000 + 64, r);
        for (size_t len = 0; len <= 600; len++)
                for (size_t align = 0; align < 8; align++)
                        g_assert_cmphex(wire_value(csum_fold(csum_partial(buf + align, len, 0))), ==,
                                        ref_csum(buf + align, len, 0));

        const size_t big[] = { 1499, 1500, 1501, 4096, 65535, 65536, 70000 };
        for (size_t i = 0; i < G_N_ELEMENTS(big); i++)
                g_assert_cmphex(wire_value(csum_fold(csum_partial(buf + 3, big[i], 0))), ==,
                                ref_csum(buf + 3, big[i], 0));
}

static void test_all_ones_does_not_overflow(void) {
        /* 4 MiB of 0xff: enough to overflow any 32-bit lane kept too long. */
        size_t len = 4u << 20;
        g_autofree uint8_t *buf = g_malloc(len);
        memset(buf, 0xff, len);
        g_assert_cmphex(wire_value(csum_fold(csum_partial(buf, len, 0))), ==, ref_csum(buf, len, 0));
        /* The same through the copying path, which reduces in rounds on huge buffers;
         * and random data of that size. */
        g_autofree uint8_t *dst = g_malloc(len + 1);
        g_assert_cmphex(wire_value(csum_fold(csum_copy(dst + 1, buf, len - 3, 0))), ==, ref_csum(buf, len - 3, 0));
        g_autoptr(GRand) r = g_rand_new_with_seed(6);
        for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t) g_rand_int(r);
        g_assert_cmphex(wire_value(csum_fold(csum_copy(dst + 1, buf, len - 1, 0))), ==, ref_csum(buf, len - 1, 0));
        g_assert_cmpmem(dst + 1, len - 1, buf, len - 1);
        g_assert_cmphex(wire_value(csum_fold(csum_partial(buf + 1, len - 1, 0))), ==, ref_csum(buf + 1, len - 1, 0));
        memset(buf, 0xff, len);

        /* All zeros: the lanes' lowest values (every step moves a lane down by 65536). */
        g_autofree uint8_t *zero = g_malloc0(len);
        g_assert_cmphex(wire_value(csum_fold(csum_partial(zero, len, 0))), ==, 0xffff);
        g_assert_cmphex(wire_value(csum_fold(csum_copy(dst, zero, len, 0))), ==, 0xffff);

        /* An initial sum of 0xffffffff is 0xffff + 0xffff, i.e. ones' complement zero. */
        g_assert_cmphex(csum_fold(csum_partial(buf, len - 1, 0xffffffffu)), ==,
                        csum_fold(csum_partial(buf, len - 1, 0xffff)));
}

static void test_chained_even_chunks(void) {
        g_autoptr(GRand) r = g_rand_new_with_seed(2);
        uint8_t buf[3000];
        fill_random(buf, sizeof(buf), r);

        for (size_t cut = 0; cut <= sizeof(buf); cut += 2) {
                uint32_t s = csum_partial(buf, cut, 0);
                s = csum_partial(buf + cut, sizeof(buf) - cut, s);
                g_assert_cmphex(csum_fold(s), ==, csum_fold(csum_partial(buf, sizeof(buf), 0)));
        }
}

static void test_copy_copies_and_sums(void) {
        g_autoptr(GRand) r = g_rand_new_with_seed(3);
        g_autofree uint8_t *src = g_malloc(66000), *dst = g_malloc(66000 + 16);

        fill_random(src, 66000, r);
        const size_t lens[] = { 0, 1, 2, 31, 63, 64, 65, 127, 128, 1380, 1500, 9001, 65535, 66000 };
        for (size_t i = 0; i < G_N_ELEMENTS(lens); i++)
                for (size_t align = 0; align < 4; align++) {
                        memset(dst, 0xa5, 66000 + 16);
                        uint32_t s = csum_copy(dst + align, src, lens[i], 0x1234);
                        g_assert_cmpmem(dst + align, lens[i], src, lens[i]);
                        g_assert_cmpuint(dst[align + lens[i]], ==, 0xa5);
                        g_assert_cmphex(csum_fold(s), ==, csum_fold(csum_partial(src, lens[i], 0x1234)));
                }
}

static void test_copy_all_lengths_and_alignments(void) {
        g_autoptr(GRand) r = g_rand_new_with_seed(5);
        uint8_t src[800], dst[900];

        fill_random(src, sizeof(src), r);
        for (size_t len = 0; len <= 700; len++)
                for (size_t align = 0; align < 33; align += 3) {
                        memset(dst, 0xa5, sizeof(dst));
                        uint32_t s = csum_copy(dst + align, src + (len & 7), len, 0);
                        g_assert_cmpmem(dst + align, len, src + (len & 7), len);
                        for (size_t i = 0; i < align; i++)
                                g_assert_cmpuint(dst[i], ==, 0xa5);
                        g_assert_cmpuint(dst[align + len], ==, 0xa5);
                        g_assert_cmphex(wire_value(csum_fold(s)), ==, ref_csum(src + (len & 7), len, 0));
                }
}

static void test_pseudo_headers(void) {
        /* Pseudo-header sums equal the checksum of the pseudo-header laid out in memory. */
        const uint8_t s4[4] = { 192, 0, 2, 1 }, d4[4] = { 198, 51, 100, 200 };
        uint8_t ph4[12];
        memcpy(ph4, s4, 4);
        memcpy(ph4 + 4, d4, 4);
        ph4[8] = 0;
        ph4[9] = 6;
        ph4[10] = 1500 >> 8;
        ph4[11] = 1500 & 0xff;
        g_assert_cmphex(csum_fold(csum_pseudo_ipv4(s4, d4, 6, 1500)), ==, csum_fold(csum_partial(ph4, 12, 0)));

        uint8_t s6[16], d6[16], ph6[40] = {};
        for (int i = 0; i < 16; i++) {
                s6[i] = (uint8_t) (0x20 + i * 7);
                d6[i] = (uint8_t) (0xfe - i * 3);
        }
        memcpy(ph6, s6, 16);
        memcpy(ph6 + 16, d6, 16);
        uint32_t l = 70000;     /* a 32-bit length, as IPv6 jumbograms could have */
        ph6[32] = (uint8_t) (l >> 24);
        ph6[33] = (uint8_t) (l >> 16);
        ph6[34] = (uint8_t) (l >> 8);
        ph6[35] = (uint8_t) l;
        ph6[39] = 17;
        g_assert_cmphex(csum_fold(csum_pseudo_ipv6(s6, d6, 17, l)), ==, csum_fold(csum_partial(ph6, 40, 0)));
}

static void test_inline_header_helpers(void) {
        g_autoptr(GRand) r = g_rand_new_with_seed(8);
        uint8_t hdr[60];

        for (int k = 0; k < 100; k++) {
                fill_random(hdr, sizeof(hdr), r);
                for (size_t len = 0; len <= 60; len += 4)
                        g_assert_cmphex(csum_fold_inline(csum_fold64(csum_words32(hdr, len))), ==,
                                        csum_fold(csum_partial(hdr, len, 0)));

                /* Taking a word out with csum_neg_word() and putting another in with
                 * csum_be16() gives the sum of the changed header. */
                uint64_t s = csum_words32(hdr, 20) + csum_neg_word(hdr + 4);
                uint16_t v = (uint16_t) g_rand_int(r);
                hdr[4] = (uint8_t) (v >> 8);
                hdr[5] = (uint8_t) v;
                g_assert_cmphex(csum_fold_inline(csum_fold64(s + csum_be16(v))), ==,
                                csum_fold(csum_partial(hdr, 20, 0)));
        }
}

static void test_verifies_to_zero(void) {
        /* A buffer holding its own checksum sums to zero. */
        g_autoptr(GRand) r = g_rand_new_with_seed(4);
        uint8_t buf[1500];
        fill_random(buf, sizeof(buf), r);
        buf[16] = buf[17] = 0;
        uint16_t c = csum_fold(csum_partial(buf, sizeof(buf), 0));
        memcpy(buf + 16, &c, 2);
        g_assert_cmphex(csum_fold(csum_partial(buf, sizeof(buf), 0)), ==, 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        add_test_both_paths("/checksum/rfc1071-example", test_rfc1071_example);
        add_test_both_paths("/checksum/matches-reference", test_matches_reference_all_lengths_and_alignments);
        add_test_both_paths("/checksum/all-ones", test_all_ones_does_not_overflow);
        add_test_both_paths("/checksum/chained-even-chunks", test_chained_even_chunks);
        add_test_both_paths("/checksum/copy", test_copy_copies_and_sums);
        add_test_both_paths("/checksum/copy-all-lengths-and-alignments", test_copy_all_lengths_and_alignments);
        add_test_both_paths("/checksum/pseudo-headers", test_pseudo_headers);
        add_test_both_paths("/checksum/inline-header-helpers", test_inline_header_helpers);
        add_test_both_paths("/checksum/verifies-to-zero", test_verifies_to_zero);
        return g_test_run();
}
