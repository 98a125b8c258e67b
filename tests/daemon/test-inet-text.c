/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <glib.h>
#include <sys/socket.h>

#include "inet-text.h"

static void test_prefix_round_trip(void) {
        static const struct {
                const char *in, *out;
                int family;
                unsigned prefixlen;
        } cases[] = {
                { "10.8.0.2/24", "10.8.0.2/24", AF_INET, 24 },
                { "0.0.0.0/0", "0.0.0.0/0", AF_INET, 0 },
                { "255.255.255.255/32", "255.255.255.255/32", AF_INET, 32 },
                { "fd00:8::2/64", "fd00:8::2/64", AF_INET6, 64 },
                { "FD00:0:0::1/128", "fd00::1/128", AF_INET6, 128 },
                { "::/0", "::/0", AF_INET6, 0 },
                { "10.8.0.2/007", "10.8.0.2/7", AF_INET, 7 },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                char buf[INET_PREFIX_STRLEN];
                const char *reason = NULL;
                uint8_t prefixlen;
                int family;
                InAddr a;

                g_assert_cmpint(inet_prefix_parse(cases[i].in, &family, &a, &prefixlen, &reason), ==, 0);
                g_assert_null(reason);
                g_assert_cmpint(family, ==, cases[i].family);
                g_assert_cmpuint(prefixlen, ==, cases[i].prefixlen);
                g_assert_cmpstr(inet_prefix_format(family, &a, prefixlen, buf), ==, cases[i].out);
        }
}

static void test_prefix_invalid(void) {
        static const char *const cases[] = {
                "", "/", "10.8.0.2", "10.8.0.2/", "10.8.0.2/33", "fd00::1/129", "10.8.0.2/-1",
                "10.8.0.2/+1", "10.8.0.2/ 1", "10.8.0.2/24/1", "10.8.0.256/24", "10.8.0/24",
                "nonsense/8", "fd00::1::2/64", "10.8.0.2/1000", " 10.8.0.2/24",
                "0123456789012345678901234567890123456789012345678901234567890123/8",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                const char *reason = NULL;
                uint8_t prefixlen;
                int family;
                InAddr a;

                g_assert_cmpint(inet_prefix_parse(cases[i], &family, &a, &prefixlen, &reason), <, 0);
                g_assert_nonnull(reason);
        }
}

static void test_kinds(void) {
        const char *reason = NULL;
        int family;
        InAddr a;

        g_assert_cmpint(inet_addr_parse("224.0.0.1", &family, &a, &reason), ==, 0);
        g_assert_true(inet_addr_is_multicast(family, &a));
        g_assert_cmpint(inet_addr_parse("239.255.255.255", &family, &a, &reason), ==, 0);
        g_assert_true(inet_addr_is_multicast(family, &a));
        g_assert_cmpint(inet_addr_parse("223.255.255.255", &family, &a, &reason), ==, 0);
        g_assert_false(inet_addr_is_multicast(family, &a));
        g_assert_cmpint(inet_addr_parse("ff02::1", &family, &a, &reason), ==, 0);
        g_assert_true(inet_addr_is_multicast(family, &a));
        g_assert_cmpint(inet_addr_parse("0.0.0.0", &family, &a, &reason), ==, 0);
        g_assert_true(inet_addr_is_unspecified(family, &a));
        g_assert_cmpint(inet_addr_parse("::", &family, &a, &reason), ==, 0);
        g_assert_true(inet_addr_is_unspecified(family, &a));
        g_assert_cmpint(inet_addr_parse("::1", &family, &a, &reason), ==, 0);
        g_assert_false(inet_addr_is_unspecified(family, &a));

        g_assert_cmpint(inet_addr_parse("10.0.0.1", &family, &a, &reason), ==, 0);
        g_assert_true(inet_addr_has_host_bits(family, &a, 8));
        g_assert_false(inet_addr_has_host_bits(family, &a, 32));
        g_assert_cmpint(inet_addr_parse("10.128.0.0", &family, &a, &reason), ==, 0);
        g_assert_false(inet_addr_has_host_bits(family, &a, 9));
        g_assert_true(inet_addr_has_host_bits(family, &a, 8));
        g_assert_cmpint(inet_addr_parse("fd00::", &family, &a, &reason), ==, 0);
        g_assert_false(inet_addr_has_host_bits(family, &a, 8));
        g_assert_true(inet_addr_has_host_bits(family, &a, 7));
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/inet-text/prefix-round-trip", test_prefix_round_trip);
        g_test_add_func("/inet-text/prefix-invalid", test_prefix_invalid);
        g_test_add_func("/inet-text/kinds", test_kinds);
        return g_test_run();
}
