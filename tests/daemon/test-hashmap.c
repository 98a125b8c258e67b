/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hash table behind lookups by name and id: put, get, remove, growth, and keys that
 * live in their values. */

#include <glib.h>

#include "hashmap.h"

typedef struct Item {
        uint64_t id;
        char name[16];
} Item;

static void test_strings(void) {
        Hashmap *h = NULL;
        g_assert_cmpint(hashmap_new(&h, &string_hash_ops), ==, 0);
        Item a = { .name = "tun0" }, b = { .name = "tun1" };

        g_assert_cmpint(hashmap_put(h, a.name, &a), ==, 0);
        g_assert_cmpint(hashmap_put(h, b.name, &b), ==, 0);
        g_assert_cmpint(hashmap_put(h, "tun0", &b), ==, -EEXIST);
        g_assert_true(hashmap_get(h, "tun0") == &a);
        g_assert_true(hashmap_get(h, "tun1") == &b);
        g_assert_null(hashmap_get(h, "tun2"));
        g_assert_cmpuint(hashmap_size(h), ==, 2);

        /* A rename: out under the old key, in under the new one. */
        g_assert_true(hashmap_remove(h, a.name) == &a);
        g_strlcpy(a.name, "vpn0", sizeof(a.name));
        g_assert_cmpint(hashmap_put(h, a.name, &a), ==, 0);
        g_assert_null(hashmap_get(h, "tun0"));
        g_assert_true(hashmap_get(h, "vpn0") == &a);
        g_assert_null(hashmap_remove(h, "tun0"));
        hashmap_free(h);
}

static void test_many_ids(void) {
        enum { N = 5000 };
        Hashmap *h = NULL;
        g_assert_cmpint(hashmap_new(&h, &uint64_hash_ops), ==, 0);
        Item *items = g_new0(Item, N);

        for (uint64_t i = 0; i < N; i++) {
                items[i].id = i * 7919;
                g_assert_cmpint(hashmap_put(h, &items[i].id, &items[i]), ==, 0);
        }
        g_assert_cmpuint(hashmap_size(h), ==, N);
        for (uint64_t i = 0; i < N; i++) {
                uint64_t id = i * 7919, missing = id + 1;
                g_assert_true(hashmap_get(h, &id) == &items[i]);
                g_assert_null(hashmap_get(h, &missing));
        }
        for (uint64_t i = 0; i < N; i += 2)
                g_assert_true(hashmap_remove(h, &items[i].id) == &items[i]);
        g_assert_cmpuint(hashmap_size(h), ==, N / 2);
        for (uint64_t i = 0; i < N; i++)
                g_assert_true(hashmap_get(h, &items[i].id) == (i % 2 ? &items[i] : NULL));
        hashmap_free(h);
        g_free(items);
}

/* Two items with equal keys: the entry moves from the one to the other in place. */
static void test_replace(void) {
        Hashmap *h = NULL;
        g_assert_cmpint(hashmap_new(&h, &uint64_hash_ops), ==, 0);
        Item a = { .id = 7 }, b = { .id = 7 }, c = { .id = 8 };

        g_assert_cmpint(hashmap_put(h, &a.id, &a), ==, 0);
        g_assert_cmpint(hashmap_replace(h, &b.id, &b), ==, 0);
        g_assert_cmpint(hashmap_replace(h, &c.id, &c), ==, -ENOENT);
        a.id = 9;       /* the entry no longer borrows a's key */
        g_assert_true(hashmap_get(h, &b.id) == &b);
        g_assert_cmpuint(hashmap_size(h), ==, 1);
        g_assert_true(hashmap_remove(h, &b.id) == &b);
        hashmap_free(h);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/hashmap/strings", test_strings);
        g_test_add_func("/hashmap/many-ids", test_many_ids);
        g_test_add_func("/hashmap/replace", test_replace);
        return g_test_run();
}
