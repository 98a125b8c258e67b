/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The internet checksum. Sums are kept in the "native load" domain: the buffer is read as
 * 16-bit words in host byte order, so a folded sum stored back with a plain 16-bit store
 * lands in the packet in the right byte order on either endianness.
 *
 * On x86-64 with AVX2 (checked at run time) 256 bytes are summed per step with vpmaddwd
 * (see madd_step), reduced once per packet-sized buffer (once per AVX2_CHUNK bytes of
 * huge ones) so no lane overflows. Everything else uses a portable 64-bit loop. */

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "checksum.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
#endif

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

/* A sum taken over data that really starts at an odd offset: its bytes swap roles. */
static inline uint64_t swap_sum_bytes(uint64_t s) {
        uint32_t x = csum_fold64(s);
        x = (x & 0xffff) + (x >> 16);
        x = (x & 0xffff) + (x >> 16);
        return (uint64_t) (((x & 0xff) << 8) | (x >> 8));
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
/* vpmaddwd adds pairs of *signed* 16-bit words into 32-bit lanes. Flipping each word's top
 * bit first makes every word w read as w - 32768, so each lane gains exactly
 * (w0 + w1 - 65536) per step: three instructions per 32 bytes, and the 65536s are added
 * back at the end. */
__attribute__((target("avx2")))
static inline __m256i madd_step(__m256i acc, __m256i v) {
        const __m256i flip = _mm256_set1_epi16((short) 0x8000);
        const __m256i ones = _mm256_set1_epi16(1);
        return _mm256_add_epi32(_mm256_madd_epi16(_mm256_xor_si256(v, flip), ones), acc);
}

/* A vector's contribution to an accumulator, as madd_step() adds it: sums of vectors may
 * be added up before an accumulator takes them. */
__attribute__((target("avx2")))
static inline __m256i madd_words(__m256i v) {
        return madd_step(_mm256_setzero_si256(), v);
}

/* A step moves a lane by at least -65536 and at most 65534, so after n steps (spread over
 * any accumulators, added lane by lane) the 8 lanes together stay within +-8 * 65536 * n:
 * below 2^31 for n < 4096, and the lanes can be added up in 32 bits. */
#define AVX2_CHUNK (500u * 256u)
/* A chunk's 256-byte steps, the head, seven 32-byte steps and the tail. */
_Static_assert(8 * (AVX2_CHUNK / 256) + 9 < 4096, "lanes could overflow");

/* The true (non-negative) sum of accumulator a after n_steps (< 4096) madd_steps. */
__attribute__((target("avx2")))
static inline uint64_t reduce_avx2(__m256i a, size_t n_steps) {
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
        return (uint64_t) ((int64_t) _mm_cvtsi128_si32(s) + (int64_t) n_steps * 8 * 65536);
}

/* loadu(head_mask + 32 - r) keeps the first r bytes of a vector and clears the others. */
static const uint8_t head_mask[64] __attribute__((aligned(64))) = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* loadu(tail_mask + r) keeps the last r bytes of a vector and clears the others. */
static const uint8_t tail_mask[64] __attribute__((aligned(64))) = {
        [32] = 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* Sums len bytes of src (len <= AVX2_CHUNK) and, when copy is set, copies them to dst
 * (32-byte aligned there). At least 32 bytes must precede src + len in the buffer: the last
 * vector reaches back into bytes already done, masked off in the sum and stored again with
 * the values they have. acc holds n_steps madd_steps already taken. 256 bytes a step, their
 * sums added up before two accumulators take them (the compiler copies registers for each
 * accumulator); the chunk is reduced once. Inlined with copy constant, so each
 * caller gets its own loop. */
__attribute__((target("avx2"), always_inline))
static inline uint64_t sum_chunk_avx2(uint8_t *dst, const uint8_t *src, size_t len, __m256i a, size_t n_steps,
                                      bool copy) {
        __m256i b = _mm256_setzero_si256();
        uint64_t total = 0;
        size_t i = 0;           /* offsets, not pointers: dst is NULL when not copying */

        for (; len - i >= 256; i += 256, n_steps += 8) {
                const uint8_t *p = src + i;
                __m256i v0 = _mm256_loadu_si256((const __m256i *) p);
                __m256i v1 = _mm256_loadu_si256((const __m256i *) (p + 32));
                __m256i v2 = _mm256_loadu_si256((const __m256i *) (p + 64));
                __m256i v3 = _mm256_loadu_si256((const __m256i *) (p + 96));
                __m256i v4 = _mm256_loadu_si256((const __m256i *) (p + 128));
                __m256i v5 = _mm256_loadu_si256((const __m256i *) (p + 160));
                __m256i v6 = _mm256_loadu_si256((const __m256i *) (p + 192));
                __m256i v7 = _mm256_loadu_si256((const __m256i *) (p + 224));
                if (copy) {
                        uint8_t *q = dst + i;
                        _mm256_store_si256((__m256i *) q, v0);
                        _mm256_store_si256((__m256i *) (q + 32), v1);
                        _mm256_store_si256((__m256i *) (q + 64), v2);
                        _mm256_store_si256((__m256i *) (q + 96), v3);
                        _mm256_store_si256((__m256i *) (q + 128), v4);
                        _mm256_store_si256((__m256i *) (q + 160), v5);
                        _mm256_store_si256((__m256i *) (q + 192), v6);
                        _mm256_store_si256((__m256i *) (q + 224), v7);
                }
                a = _mm256_add_epi32(a, _mm256_add_epi32(_mm256_add_epi32(madd_words(v0), madd_words(v1)),
                                                         _mm256_add_epi32(madd_words(v2), madd_words(v3))));
                b = _mm256_add_epi32(b, _mm256_add_epi32(_mm256_add_epi32(madd_words(v4), madd_words(v5)),
                                                         _mm256_add_epi32(madd_words(v6), madd_words(v7))));
        }
        a = _mm256_add_epi32(a, b);
        for (; len - i >= 32; i += 32, n_steps++) {
                __m256i v = _mm256_loadu_si256((const __m256i *) (src + i));
                if (copy)
                        _mm256_store_si256((__m256i *) (dst + i), v);
                a = madd_step(a, v);
        }
        if ((len - i) & 1) {    /* the last byte starts a word of its own */
                len--;
                if (copy)
                        dst[len] = src[len];
                total += odd_byte(src[len]);
        }
        if (len > i) {
                __m256i v = _mm256_loadu_si256((const __m256i *) (src + len - 32));
                if (copy)
                        _mm256_storeu_si256((__m256i *) (dst + len - 32), v);
                __m256i m = _mm256_loadu_si256((const __m256i *) (tail_mask + (len - i)));
                a = madd_step(a, _mm256_and_si256(v, m));
                n_steps++;
        }
        return total + reduce_avx2(a, n_steps);
}

/* A huge buffer goes in chunks, each reduced on its own (a chunk is a whole number of
 * vectors, so alignment and word boundaries carry over). Out of line, so that the
 * packet-sized path keeps fewer registers. */
__attribute__((target("avx2"), always_inline))
static inline uint64_t sum_huge_avx2(uint8_t *dst, const uint8_t *src, size_t len, bool copy) {
        uint64_t total = 0;

        while (len > AVX2_CHUNK) {
                total += sum_chunk_avx2(dst, src, AVX2_CHUNK, _mm256_setzero_si256(), 0, copy);
                src += AVX2_CHUNK;
                if (copy)
                        dst += AVX2_CHUNK;
                len -= AVX2_CHUNK;
        }
        return total + sum_chunk_avx2(dst, src, len, _mm256_setzero_si256(), 0, copy);
}

__attribute__((target("avx2"), noinline))
static uint64_t sum_huge_copy_avx2(uint8_t *dst, const uint8_t *src, size_t len) {
        return sum_huge_avx2(dst, src, len, true);
}

__attribute__((target("avx2"), noinline))
static uint64_t sum_huge_only_avx2(const uint8_t *src, size_t len) {
        return sum_huge_avx2(NULL, src, len, false);
}

/* acc holds n_steps madd_steps already taken. */
__attribute__((target("avx2"), always_inline))
static inline uint64_t sum_body_avx2(uint8_t *dst, const uint8_t *src, size_t len, __m256i a, size_t n_steps,
                                     bool copy) {
        if (__builtin_expect(len <= AVX2_CHUNK, 1))
                return sum_chunk_avx2(dst, src, len, a, n_steps, copy);
        uint64_t first = reduce_avx2(a, n_steps);
        return first + (copy ? sum_huge_copy_avx2(dst, src, len) : sum_huge_only_avx2(src, len));
}

/* len at least 32. */
__attribute__((target("avx2")))
static uint64_t sum_avx2(const uint8_t *p, size_t len) {
        uint64_t s = sum_body_avx2(NULL, p, len, _mm256_setzero_si256(), 0, false);
        /* Dirty upper halves slow down the SSE code that runs next; not every compiler
         * clears them on its own. */
        _mm256_zeroupper();
        return s;
}

/* Stores that straddle cache lines are slow: the first vector is copied unaligned and only
 * its first `head` bytes summed, the rest runs with aligned stores; if head is odd the
 * rest's bytes swap roles in the sum. len at least 64. */
__attribute__((target("avx2")))
static uint64_t csum_copy_avx2(uint8_t *dst, const uint8_t *src, size_t len) {
        size_t head = (size_t) (-(uintptr_t) dst) & 31;
        __m256i v = _mm256_loadu_si256((const __m256i *) src);
        _mm256_storeu_si256((__m256i *) dst, v);
        __m256i m = _mm256_loadu_si256((const __m256i *) (head_mask + 32 - head));
        __m256i head_sum = madd_step(_mm256_setzero_si256(), _mm256_and_si256(v, m));
        uint64_t s;

        if (!(head & 1))        /* same word boundaries: one set of accumulators */
                s = sum_body_avx2(dst + head, src + head, len - head, head_sum, 1, true);
        else
                s = reduce_avx2(head_sum, 1) +
                    swap_sum_bytes(sum_body_avx2(dst + head, src + head, len - head, _mm256_setzero_si256(), 0, true));
        _mm256_zeroupper();
        return s;
}

static bool portable_only;

static inline bool have_avx2(void) {
        return !portable_only && __builtin_cpu_supports("avx2");
}
#endif

void csum_force_portable(bool force) {
#ifdef HAVE_AVX2_PATH
        portable_only = force;
#else
        (void) force;
#endif
}

uint32_t csum_partial(const void *buf, size_t len, uint32_t sum) {
        uint64_t s;

#ifdef HAVE_AVX2_PATH
        if (len >= 64 && have_avx2())
                s = sum_avx2(buf, len);
        else
#endif
                s = sum_generic(buf, len);

        return csum_fold64(csum_fold64(s) + (uint64_t) sum);
}

uint32_t csum_copy(void *dst, const void *src, size_t len, uint32_t sum) {
        uint64_t s;

#ifdef HAVE_AVX2_PATH
        if (len >= 64 && have_avx2())
                s = csum_copy_avx2(dst, src, len);
        else
#endif
                s = sum_copy_generic(dst, src, len);

        return csum_fold64(csum_fold64(s) + (uint64_t) sum);
}

uint16_t csum_fold(uint32_t sum) {
        return csum_fold_inline(sum);
}

/* A 32-bit network-order value as two native-domain words. */
static inline uint32_t sum_be32(uint32_t host_value) {
        uint32_t be = htobe32(host_value);
        return (be & 0xffff) + (be >> 16);
}

uint32_t csum_pseudo_ipv4(const void *saddr, const void *daddr, uint8_t proto, uint32_t l4_len) {
        uint64_t s = sum_tail(saddr, 4) + sum_tail(daddr, 4) + sum_be32(proto) + sum_be32(l4_len);
        return csum_fold64(s);
}

uint32_t csum_pseudo_ipv6(const void *saddr, const void *daddr, uint8_t proto, uint32_t l4_len) {
        uint64_t s = sum_tail(saddr, 16) + sum_tail(daddr, 16) + sum_be32(proto) + sum_be32(l4_len);
        return csum_fold64(s);
}
