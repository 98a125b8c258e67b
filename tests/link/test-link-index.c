/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The index of watched links by (nsid, ifindex): lookups, and entries sharing a key kept
 * newest first whatever order they come in. */

#include <glib.h>

#include "link-index.h"

static void test_lookup(void) {
        LinkIndex idx;
        LinkIndexEntry a, b;

        g_assert_cmpint(link_index_init(&idx), ==, 0);
        link_index_entry_init(&idx, &a);
        link_index_entry_init(&idx, &b);
        a.key = (LinkKey) { .nsid = -1, .ifindex = 5 };
        b.key = (LinkKey) { .nsid = 3, .ifindex = 5 };
        g_assert_cmpint(link_index_add(&idx, &a), ==, 0);
        g_assert_cmpint(link_index_add(&idx, &b), ==, 0);
        g_assert_cmpint(link_index_add(&idx, &b), ==, 0);
        g_assert_true(link_index_first(&idx, -1, 5) == &a);
        g_assert_true(link_index_first(&idx, 3, 5) == &b);
        g_assert_null(link_index_first(&idx, 3, 6));
        g_assert_null(a.same_next);

        link_index_remove(&idx, &a);
        link_index_remove(&idx, &a);
        g_assert_null(link_index_first(&idx, -1, 5));
        a.key.ifindex = 6;
        g_assert_cmpint(link_index_add(&idx, &a), ==, 0);
        g_assert_true(link_index_first(&idx, -1, 6) == &a);
        link_index_deinit(&idx);
}

static void test_shared_key(void) {
        enum { N = 4 };
        LinkIndex idx;
        LinkIndexEntry e[N];
        const unsigned order[N] = { 1, 3, 0, 2 };
        unsigned i;

        g_assert_cmpint(link_index_init(&idx), ==, 0);
        for (i = 0; i < N; i++) {
                link_index_entry_init(&idx, &e[i]);
                e[i].key = (LinkKey) { .nsid = 0, .ifindex = 9 };
        }
        for (i = 0; i < N; i++)
                g_assert_cmpint(link_index_add(&idx, &e[order[i]]), ==, 0);

        i = N;
        for (LinkIndexEntry *p = link_index_first(&idx, 0, 9); p; p = p->same_next)
                g_assert_true(p == &e[--i]);
        g_assert_cmpuint(i, ==, 0);

        /* Out from the head, the middle, the tail. */
        link_index_remove(&idx, &e[3]);
        g_assert_true(link_index_first(&idx, 0, 9) == &e[2]);
        g_assert_null(e[2].same_prev);
        link_index_remove(&idx, &e[1]);
        g_assert_true(e[2].same_next == &e[0] && e[0].same_prev == &e[2]);
        link_index_remove(&idx, &e[0]);
        g_assert_null(e[2].same_next);
        link_index_remove(&idx, &e[2]);
        g_assert_null(link_index_first(&idx, 0, 9));
        link_index_deinit(&idx);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/link-index/lookup", test_lookup);
        g_test_add_func("/link-index/shared-key", test_shared_key);
        return g_test_run();
}
