/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <glib.h>

#include "ifname.h"

static void test_valid(void) {
        static const char *const names[] = {
                "", "td0", "td%d", "%d", "a", "x-y_z.1", "0123456789abcde", "tun%dx", "é",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                const char *reason = NULL;

                g_assert_true(ifname_valid(names[i], &reason));
                g_assert_null(reason);
        }
}

static void test_invalid(void) {
        static const char *const names[] = {
                "0123456789abcdef", ".", "..", "a/b", "a:b", "a b", "a\tb", "a\nb",
                "td%d%d", "td%s", "td%", "%%d", "td%d%",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
                const char *reason = NULL;

                g_assert_false(ifname_valid(names[i], &reason));
                g_assert_nonnull(reason);
        }
}

static void test_pattern(void) {
        g_assert_true(ifname_is_pattern(""));
        g_assert_true(ifname_is_pattern("td%d"));
        g_assert_false(ifname_is_pattern("td0"));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/ifname/valid", test_valid);
        g_test_add_func("/ifname/invalid", test_invalid);
        g_test_add_func("/ifname/pattern", test_pattern);
        return g_test_run();
}
