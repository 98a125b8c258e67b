/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <glib.h>
#include <linux/if_tun.h>

#include "offload-names.h"
#include "tun.h"

static void test_names(void) {
        unsigned all = 0;

        FOREACH_OFFLOAD(o) {
                const char *name = offload_to_string(o);

                g_assert_nonnull(name);
                g_assert_cmpuint(offload_from_string(name), ==, o);
                all |= o;
        }
        g_assert_cmpuint(all, ==, _OFFLOAD_ALL);
        g_assert_cmpuint(offload_from_string("tso"), ==, 0);
        g_assert_cmpuint(offload_from_string(""), ==, 0);
        g_assert_null(offload_to_string(0));
}

static void test_tun_flags(void) {
        g_assert_cmpuint(tun_flags_from_offloads(OFFLOAD_CSUM|OFFLOAD_TSO4|OFFLOAD_TSO6), ==, 0x07);
        g_assert_cmpuint(tun_flags_from_offloads(OFFLOAD_CSUM|OFFLOAD_TSO4|OFFLOAD_TSO_ECN), ==, 0x0b);
        g_assert_cmpuint(tun_flags_from_offloads(OFFLOAD_CSUM|OFFLOAD_USO4|OFFLOAD_USO6), ==, 0x61);
        g_assert_cmpuint(tun_flags_from_offloads(OFFLOADS_TUND), ==, 0);
}

static void test_consistent(void) {
        static const struct {
                unsigned set;
                gboolean ok;
        } cases[] = {
                { 0, TRUE },
                { OFFLOAD_CSUM, TRUE },
                { OFFLOADS_TUND, TRUE },
                { _OFFLOAD_ALL, TRUE },
                { OFFLOAD_CSUM|OFFLOAD_TSO4|OFFLOAD_TSO_ECN, TRUE },
                { OFFLOAD_CSUM|OFFLOAD_USO4|OFFLOAD_USO6, TRUE },
                { OFFLOAD_TSO4, FALSE },
                { OFFLOAD_TSO6|OFFLOAD_GRO_TCP, FALSE },
                { OFFLOAD_CSUM|OFFLOAD_TSO_ECN, FALSE },
                { OFFLOAD_CSUM|OFFLOAD_USO4, FALSE },
                { OFFLOAD_CSUM|OFFLOAD_USO6, FALSE },
                { OFFLOAD_USO4|OFFLOAD_USO6, FALSE },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                const char *reason = NULL;

                g_assert_cmpint(offloads_consistent(cases[i].set, &reason), ==, cases[i].ok);
                if (cases[i].ok)
                        g_assert_null(reason);
                else
                        g_assert_nonnull(reason);
        }
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/offloads/names", test_names);
        g_test_add_func("/offloads/tun-flags", test_tun_flags);
        g_test_add_func("/offloads/consistent", test_consistent);
        return g_test_run();
}
