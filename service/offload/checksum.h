/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The internet checksum (RFC 1071), the one routine everything in tund uses. */

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Adds the 16-bit ones' complement sum of buf to sum (a 32-bit accumulator, not folded). */
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum);

/* Copies len bytes from src to dst and returns csum_partial(src, len, sum). */
uint32_t csum_copy(void *dst, const void *src, size_t len, uint32_t sum);

/* Makes every later call use the portable code even where a vector unit would be used.
 * For the tests, which check both; not to be called while other threads use checksums. */
void csum_force_portable(bool force);

/* Folds a 32-bit accumulator to 16 bits and complements it: the value for the wire
 * (in network byte order when the sum was taken over network-order data). */
uint16_t csum_fold(uint32_t sum);

/* Pseudo-header sums (addresses in network byte order as they sit in the packet). */
uint32_t csum_pseudo_ipv4(const void *saddr, const void *daddr, uint8_t proto, uint32_t l4_len);
uint32_t csum_pseudo_ipv6(const void *saddr, const void *daddr, uint8_t proto, uint32_t l4_len);

/* ---- Inline pieces of the same arithmetic, for fixed-size headers on per-packet paths
 * (a call per 20-byte header costs more than the sum). Same domain as csum_partial(). */

/* The ones' complement negation of the word at p: adding it takes the word out of a sum. */
static inline uint32_t csum_neg_word(const uint8_t *p) {
        uint16_t v;
        memcpy(&v, p, sizeof(v));
        return 0xffffu - (uint32_t) v;
}

/* Sum of len bytes, len a multiple of 4 (IP and L4 headers). */
static inline uint64_t csum_words32(const uint8_t *p, size_t len) {
        uint64_t s = 0;
        for (size_t i = 0; i < len; i += 4) {
                uint32_t v;
                memcpy(&v, p + i, sizeof(v));
                s += v;
        }
        return s;
}

static inline uint32_t csum_fold64(uint64_t s) {
        s = (s & 0xffffffffu) + (s >> 32);
        s = (s & 0xffffffffu) + (s >> 32);
        return (uint32_t) s;
}

/* csum_fold(), inlined for the per-packet paths. */
static inline uint16_t csum_fold_inline(uint32_t sum) {
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t) ~sum;
}

/* A 16-bit value as the word it adds to a sum when it sits in a packet in network order. */
static inline uint32_t csum_be16(uint16_t v) {
        return htobe16(v);
}
