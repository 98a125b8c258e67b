/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>

#include "link-index.h"

static uint64_t link_key_hash(const void *key) {
        const LinkKey *k = key;
        uint64_t v = (uint64_t) (uint32_t) k->nsid << 32 | (uint32_t) k->ifindex;

        return uint64_hash_ops.hash(&v);
}

static bool link_key_equal(const void *a, const void *b) {
        const LinkKey *x = a, *y = b;

        return x->nsid == y->nsid && x->ifindex == y->ifindex;
}

static const HashOps link_key_hash_ops = { .hash = link_key_hash, .equal = link_key_equal };

int link_index_init(LinkIndex *idx) {
        *idx = (LinkIndex) {};
        return hashmap_new(&idx->map, &link_key_hash_ops);
}

void link_index_deinit(LinkIndex *idx) {
        idx->map = hashmap_free(idx->map);
}

void link_index_entry_init(LinkIndex *idx, LinkIndexEntry *e) {
        *e = (LinkIndexEntry) { .seq = idx->next_seq++ };
}

/* Behind the first entry of the chain from head that is older than e. */
static void chain_insert_after(LinkIndexEntry *head, LinkIndexEntry *e) {
        LinkIndexEntry *p = head;

        while (p->same_next && p->same_next->seq > e->seq)
                p = p->same_next;
        e->same_prev = p;
        e->same_next = p->same_next;
        if (e->same_next)
                e->same_next->same_prev = e;
        p->same_next = e;
}

int link_index_add(LinkIndex *idx, LinkIndexEntry *e) {
        LinkIndexEntry *head;
        int r;

        if (e->indexed)
                return 0;
        head = hashmap_get(idx->map, &e->key);
        if (!head) {
                r = hashmap_put(idx->map, &e->key, e);
                if (r < 0)
                        return r;
        } else if (e->seq > head->seq) {
                e->same_next = head;
                head->same_prev = e;
                (void) hashmap_replace(idx->map, &e->key, e);
        } else
                chain_insert_after(head, e);
        e->indexed = true;
        return 0;
}

void link_index_remove(LinkIndex *idx, LinkIndexEntry *e) {
        if (!e->indexed)
                return;
        if (e->same_prev)
                e->same_prev->same_next = e->same_next;
        else if (e->same_next)
                (void) hashmap_replace(idx->map, &e->same_next->key, e->same_next);
        else
                (void) hashmap_remove(idx->map, &e->key);
        if (e->same_next)
                e->same_next->same_prev = e->same_prev;
        e->same_prev = e->same_next = NULL;
        e->indexed = false;
}

LinkIndexEntry *link_index_first(const LinkIndex *idx, int nsid, int ifindex) {
        LinkKey key = { .nsid = nsid, .ifindex = ifindex };

        return hashmap_get(idx->map, &key);
}
