/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Separate chaining over a power-of-two bucket array, doubled when the entries outnumber
 * the buckets. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

#define BUCKETS_MIN 16u

typedef struct Entry {
        const void *key;
        void *value;
        uint64_t hash;
        struct Entry *next;
} Entry;

struct Hashmap {
        const HashOps *ops;
        Entry **buckets;
        size_t n_buckets, n_entries;
};

/* FNV-1a, then a final mix so that the low bits (the bucket) depend on every byte. */
static uint64_t mix(uint64_t h) {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        return h;
}

static uint64_t string_hash(const void *key) {
        uint64_t h = 0xcbf29ce484222325ull;

        for (const unsigned char *p = key; *p; p++)
                h = (h ^ *p) * 0x100000001b3ull;
        return mix(h);
}

static bool string_equal(const void *a, const void *b) {
        return strcmp(a, b) == 0;
}

static uint64_t uint64_hash(const void *key) {
        return mix(*(const uint64_t *) key);
}

static bool uint64_equal(const void *a, const void *b) {
        return *(const uint64_t *) a == *(const uint64_t *) b;
}

const HashOps string_hash_ops = { .hash = string_hash, .equal = string_equal };
const HashOps uint64_hash_ops = { .hash = uint64_hash, .equal = uint64_equal };

int hashmap_new(Hashmap **ret, const HashOps *ops) {
        Hashmap *h = calloc(1, sizeof(*h));

        if (!h)
                return -ENOMEM;
        h->buckets = calloc(BUCKETS_MIN, sizeof(Entry *));
        if (!h->buckets) {
                free(h);
                return -ENOMEM;
        }
        h->ops = ops;
        h->n_buckets = BUCKETS_MIN;
        *ret = h;
        return 0;
}

Hashmap *hashmap_free(Hashmap *h) {
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n_buckets; i++)
                for (Entry *e = h->buckets[i], *next; e; e = next) {
                        next = e->next;
                        free(e);
                }
        free(h->buckets);
        free(h);
        return NULL;
}

static Entry **hashmap_slot(const Hashmap *h, const void *key, uint64_t hash) {
        Entry **slot = &h->buckets[hash & (h->n_buckets - 1)];

        for (; *slot; slot = &(*slot)->next)
                if ((*slot)->hash == hash && h->ops->equal((*slot)->key, key))
                        break;
        return slot;
}

/* A failed resize leaves the table as it was: only slower. */
static void hashmap_grow(Hashmap *h) {
        size_t n = h->n_buckets * 2;
        Entry **buckets = calloc(n, sizeof(Entry *));

        if (!buckets)
                return;
        for (size_t i = 0; i < h->n_buckets; i++)
                for (Entry *e = h->buckets[i], *next; e; e = next) {
                        next = e->next;
                        e->next = buckets[e->hash & (n - 1)];
                        buckets[e->hash & (n - 1)] = e;
                }
        free(h->buckets);
        h->buckets = buckets;
        h->n_buckets = n;
}

int hashmap_put(Hashmap *h, const void *key, void *value) {
        uint64_t hash = h->ops->hash(key);
        Entry **slot = hashmap_slot(h, key, hash);
        Entry *e;

        if (*slot)
                return -EEXIST;
        e = malloc(sizeof(*e));
        if (!e)
                return -ENOMEM;
        *e = (Entry) { .key = key, .value = value, .hash = hash };
        *slot = e;
        if (++h->n_entries > h->n_buckets)
                hashmap_grow(h);
        return 0;
}

void *hashmap_get(const Hashmap *h, const void *key) {
        Entry *e = *hashmap_slot(h, key, h->ops->hash(key));

        return e ? e->value : NULL;
}

int hashmap_replace(Hashmap *h, const void *key, void *value) {
        Entry *e = *hashmap_slot(h, key, h->ops->hash(key));

        if (!e)
                return -ENOENT;
        e->key = key;
        e->value = value;
        return 0;
}

void *hashmap_remove(Hashmap *h, const void *key) {
        Entry **slot = hashmap_slot(h, key, h->ops->hash(key));
        Entry *e = *slot;
        void *value;

        if (!e)
                return NULL;
        *slot = e->next;
        value = e->value;
        free(e);
        h->n_entries--;
        return value;
}

size_t hashmap_size(const Hashmap *h) {
        return h->n_entries;
}
