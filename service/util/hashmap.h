/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A hash table of borrowed keys to values, for lookups by index rather than by scanning a
 * list. A key usually lives in its value (a device's name, its id), so it must not change
 * while the entry is in the table: remove, change, put again. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct HashOps {
        uint64_t (*hash)(const void *key);
        bool (*equal)(const void *a, const void *b);
} HashOps;

extern const HashOps string_hash_ops;   /* const char * */
extern const HashOps uint64_hash_ops;   /* const uint64_t * */

typedef struct Hashmap Hashmap;

int hashmap_new(Hashmap **ret, const HashOps *ops);
Hashmap *hashmap_free(Hashmap *h);

/* -EEXIST when the key is there already. */
int hashmap_put(Hashmap *h, const void *key, void *value);
void *hashmap_get(const Hashmap *h, const void *key);
/* Points the entry whose key equals key at key and value instead, without allocating: for
 * an entry whose key moves to another value. -ENOENT when there is none. */
int hashmap_replace(Hashmap *h, const void *key, void *value);
/* Returns the value that was there, or NULL. */
void *hashmap_remove(Hashmap *h, const void *key);
size_t hashmap_size(const Hashmap *h);

static inline void hashmap_freep(Hashmap **h) {
        hashmap_free(*h);
}
