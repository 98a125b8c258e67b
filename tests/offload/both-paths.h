/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Registers a test twice: as it runs by default (with the vector unit, where the machine
 * has one) and with the checksum forced onto its portable code, at PATH/portable. */

#include <glib.h>

#include "checksum.h"

typedef struct PathVariant {
        GTestFunc func;
        bool portable;
} PathVariant;

static inline void run_path_variant(gconstpointer data) {
        const PathVariant *v = data;
        csum_force_portable(v->portable);
        v->func();
        csum_force_portable(false);
}

static inline void add_test_both_paths(const char *path, GTestFunc func) {
        for (int portable = 0; portable <= 1; portable++) {
                PathVariant *v = g_new(PathVariant, 1);
                *v = (PathVariant) { .func = func, .portable = portable };
                g_autofree char *full = g_strdup_printf("%s%s", path, portable ? "/portable" : "");
                g_test_add_data_func_full(full, v, run_path_variant, g_free);
        }
}
