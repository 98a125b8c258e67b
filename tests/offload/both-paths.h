/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Registers a test twice: as it runs by default (with the vector unit, where the machine
 * has one) and with the checksum forced onto its portable code, at PATH/portable.
 *
 * add_test_gro_paths() registers each of those once more with GRO's fast path off, at
 * PATH/slow-path and PATH/slow-path/portable: the test makes its batches with
 * test_gro_batch_new() or test_gro_batch_new_limited(), which turn it off in those; and
 * once at PATH/shared, where test_gro_add() adds packets with gro_batch_add_shared(). */

#include <glib.h>

#include "checksum.h"
#include "offload.h"

typedef struct PathVariant {
        GTestFunc func;
        bool portable;
        bool gro_slow_path;
        bool gro_shared;
} PathVariant;

/* Whether the test running takes GRO's full path only; adds as for shared memory. */
static bool variant_gro_slow_path, variant_gro_shared;

static inline void run_path_variant(gconstpointer data) {
        const PathVariant *v = data;
        csum_force_portable(v->portable);
        variant_gro_slow_path = v->gro_slow_path;
        variant_gro_shared = v->gro_shared;
        v->func();
        csum_force_portable(false);
        variant_gro_slow_path = variant_gro_shared = false;
}

static inline void add_test_variants(const char *path, GTestFunc func, bool gro) {
        for (int slow = 0; slow <= (int) gro; slow++)
                for (int portable = 0; portable <= 1; portable++) {
                        PathVariant *v = g_new(PathVariant, 1);
                        *v = (PathVariant) { .func = func, .portable = portable, .gro_slow_path = slow };
                        g_autofree char *full = g_strdup_printf("%s%s%s", path, slow ? "/slow-path" : "",
                                                                portable ? "/portable" : "");
                        g_test_add_data_func_full(full, v, run_path_variant, g_free);
                }
}

static inline void add_test_both_paths(const char *path, GTestFunc func) {
        add_test_variants(path, func, false);
}

static inline void add_test_gro_paths(const char *path, GTestFunc func) {
        PathVariant *v = g_new(PathVariant, 1);
        g_autofree char *shared = g_strdup_printf("%s/shared", path);

        add_test_variants(path, func, true);
        *v = (PathVariant) { .func = func, .gro_shared = true };
        g_test_add_data_func_full(shared, v, run_path_variant, g_free);
}

static inline int test_gro_add(GroBatch *b, const uint8_t *pkt, size_t len) {
        return variant_gro_shared ? gro_batch_add_shared(b, pkt, len) : gro_batch_add(b, pkt, len);
}

static inline int test_gro_batch_new_limited(GroBatch **ret, size_t max_packets, size_t max_bytes) {
        int r = gro_batch_new_limited(ret, max_packets, max_bytes);
        if (r >= 0)
                gro_batch_set_fast_path(*ret, !variant_gro_slow_path);
        return r;
}

static inline int test_gro_batch_new(GroBatch **ret, size_t max_packets) {
        int r = gro_batch_new(ret, max_packets);
        if (r >= 0)
                gro_batch_set_fast_path(*ret, !variant_gro_slow_path);
        return r;
}
