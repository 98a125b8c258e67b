/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The internet checksum. Sums are kept in the "native load" domain: the buffer is read as
 * 16-bit words in host byte order, so a folded sum stored back with a plain 16-bit store
 * lands in the packet in the right byte order on either endianness.
 *
 * On x86-64 with AVX2 (checked at run time) 64 bytes are summed per step: each 32-bit
 * lane gathers its low and high 16-bit halves in separate accumulators, reduced to 64
 * bits every AVX2_MAX_STEPS steps so no lane overflows. Everything else uses a portable 64-bit loop. */

#include <endian.h>
#include <stdbool.h>
#include <string.h>

#include "checksum.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
#endif

static inline uint32_t fold64_to_32(uint64_t s) {
        s = (s & 0xffffffffu) + (s >> 32);
        s = (s & 0xffffffffu) + (s >> 32);
        return (uint32_t) s;
}

static inline uint64_t load64(const uint8_t *p) {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return v;
}

static inline uint32_t load32(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, sizeof(v));
        return v;
}

static inline uint16_t load16(const uint8_t *p) {
        uint16_t v;
        memcpy(&v, p, sizeof(v));
        return v;
}

/* The last odd byte counts as the first byte of a word whose second byte is zero. */
static inline uint64_t odd_byte(uint8_t b) {
#if __BYTE_ORDER == __LITTLE_ENDIAN
        return b;
#else
        return (uint64_t) b << 8;
#endif
}

static uint64_t sum_tail(const uint8_t *p, size_t len) {
        uint64_t s = 0;

        for (; len >= 8; p += 8, len -= 8) {
                uint64_t v = load64(p);
                s += (v & 0xffffffffu) + (v >> 32);
        }
        if (len >= 4) {
                s += load32(p);
                p += 4;
                len -= 4;
        }
        if (len >= 2) {
                s += load16(p);
                p += 2;
                len -= 2;
        }
        if (len > 0)
                s += odd_byte(*p);
        return s;
}

static uint64_t sum_generic(const uint8_t *p, size_t len) {
        uint64_t a = 0, b = 0, c = 0, d = 0;

        for (; len >= 32; p += 32, len -= 32) {
                uint64_t v0 = load64(p), v1 = load64(p + 8), v2 = load64(p + 16), v3 = load64(p + 24);
                a += (v0 & 0xffffffffu) + (v0 >> 32);
                b += (v1 & 0xffffffffu) + (v1 >> 32);
                c += (v2 & 0xffffffffu) + (v2 >> 32);
                d += (v3 & 0xffffffffu) + (v3 >> 32);
        }
        return a + b + c + d + sum_tail(p, len);
}

static uint64_t sum_copy_generic(uint8_t *dst, const uint8_t *src, size_t len) {
        memcpy(dst, src, len);
        return sum_generic(src, len);
}

#ifdef HAVE_AVX2_PATH
/* Steps of 64 bytes per round: each lane then holds at most 16384 * 0xffff. */
#define AVX2_MAX_STEPS 16384u

/* Four accumulators of at most 16384 steps each add up without overflowing a 32-bit lane. */
__attribute__((target("avx2")))
static inline uint64_t reduce_avx2(__m256i lo0, __m256i hi0, __m256i lo1, __m256i hi1) {
        __m256i s32 = _mm256_add_epi32(_mm256_add_epi32(lo0, hi0), _mm256_add_epi32(lo1, hi1));
        __m256i s64 = _mm256_add_epi64(_mm256_unpacklo_epi32(s32, _mm256_setzero_si256()),
                                       _mm256_unpackhi_epi32(s32, _mm256_setzero_si256()));
        __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s64), _mm256_extracti128_si256(s64, 1));
        return (uint64_t) _mm_cvtsi128_si64(t) + (uint64_t) _mm_extract_epi64(t, 1);
}

__attribute__((target("avx2")))
static uint64_t sum_avx2(const uint8_t *p, size_t len) {
        const __m256i mask = _mm256_set1_epi32(0xffff);
        uint64_t total = 0;

        while (len >= 64) {
                size_t steps = len / 64;
                if (steps > AVX2_MAX_STEPS)
                        steps = AVX2_MAX_STEPS;

                __m256i lo0 = _mm256_setzero_si256(), hi0 = _mm256_setzero_si256();
                __m256i lo1 = _mm256_setzero_si256(), hi1 = _mm256_setzero_si256();
                for (size_t i = 0; i < steps; i++, p += 64) {
                        __m256i v0 = _mm256_loadu_si256((const __m256i *) p);
                        __m256i v1 = _mm256_loadu_si256((const __m256i *) (p + 32));
                        lo0 = _mm256_add_epi32(lo0, _mm256_and_si256(v0, mask));
                        hi0 = _mm256_add_epi32(hi0, _mm256_srli_epi32(v0, 16));
                        lo1 = _mm256_add_epi32(lo1, _mm256_and_si256(v1, mask));
                        hi1 = _mm256_add_epi32(hi1, _mm256_srli_epi32(v1, 16));
                }
                len -= steps * 64;
                total += reduce_avx2(lo0, hi0, lo1, hi1);
        }
        return total + sum_tail(p, len);
}

__attribute__((target("avx2")))
static uint64_t sum_copy_avx2(uint8_t *dst, const uint8_t *src, size_t len) {
        const __m256i mask = _mm256_set1_epi32(0xffff);
        uint64_t total = 0;

        while (len >= 64) {
                size_t steps = len / 64;
                if (steps > AVX2_MAX_STEPS)
                        steps = AVX2_MAX_STEPS;

                __m256i lo0 = _mm256_setzero_si256(), hi0 = _mm256_setzero_si256();
                __m256i lo1 = _mm256_setzero_si256(), hi1 = _mm256_setzero_si256();
                for (size_t i = 0; i < steps; i++, src += 64, dst += 64) {
                        __m256i v0 = _mm256_loadu_si256((const __m256i *) src);
                        __m256i v1 = _mm256_loadu_si256((const __m256i *) (src + 32));
                        _mm256_storeu_si256((__m256i *) dst, v0);
                        _mm256_storeu_si256((__m256i *) (dst + 32), v1);
                        lo0 = _mm256_add_epi32(lo0, _mm256_and_si256(v0, mask));
                        hi0 = _mm256_add_epi32(hi0, _mm256_srli_epi32(v0, 16));
                        lo1 = _mm256_add_epi32(lo1, _mm256_and_si256(v1, mask));
                        hi1 = _mm256_add_epi32(hi1, _mm256_srli_epi32(v1, 16));
                }
                len -= steps * 64;
                total += reduce_avx2(lo0, hi0, lo1, hi1);
        }
        memcpy(dst, src, len);
        return total + sum_tail(src, len);
}

static inline bool have_avx2(void) {
        return __builtin_cpu_supports("avx2");
}
#endif

uint32_t csum_partial(const void *buf, size_t len, uint32_t sum) {
        uint64_t s;

#ifdef HAVE_AVX2_PATH
        if (len >= 64 && have_avx2())
                s = sum_avx2(buf, len);
        else
#endif
                s = sum_generic(buf, len);

        return fold64_to_32(fold64_to_32(s) + (uint64_t) sum);
}

uint32_t csum_copy(void *dst, const void *src, size_t len, uint32_t sum) {
        uint64_t s;

#ifdef HAVE_AVX2_PATH
        if (len >= 64 && have_avx2())
                s = sum_copy_avx2(dst, src, len);
        else
#endif
                s = sum_copy_generic(dst, src, len);

        return fold64_to_32(fold64_to_32(s) + (uint64_t) sum);
}

uint16_t csum_fold(uint32_t sum) {
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t) ~sum;
}

/* A 32-bit network-order value as two native-domain words. */
static inline uint32_t sum_be32(uint32_t host_value) {
        uint32_t be = htobe32(host_value);
        return (be & 0xffff) + (be >> 16);
}

uint32_t csum_pseudo_ipv4(const void *saddr, const void *daddr, uint8_t proto, uint32_t l4_len) {
        uint64_t s = sum_tail(saddr, 4) + sum_tail(daddr, 4) + sum_be32(proto) + sum_be32(l4_len);
        return fold64_to_32(s);
}

uint32_t csum_pseudo_ipv6(const void *saddr, const void *daddr, uint8_t proto, uint32_t l4_len) {
        uint64_t s = sum_tail(saddr, 16) + sum_tail(daddr, 16) + sum_be32(proto) + sum_be32(l4_len);
        return fold64_to_32(s);
}
