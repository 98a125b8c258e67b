/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Watched links by (namespace id, ifindex), the address netlink messages carry. Entries
 * are embedded in what they index and may share a key (two watches of one device, or one
 * whose key is stale): those are chained, the newest first. */

#include <stdbool.h>
#include <stdint.h>

#include "hashmap.h"

typedef struct LinkKey {
        int nsid;
        int ifindex;
} LinkKey;

typedef struct LinkIndexEntry {
        LinkKey key;                    /* change only while not indexed */
        uint64_t seq;                   /* higher is newer */
        struct LinkIndexEntry *same_prev, *same_next;   /* others with the same key */
        bool indexed;
} LinkIndexEntry;

typedef struct LinkIndex {
        Hashmap *map;                   /* key → the newest entry with it */
        uint64_t next_seq;
} LinkIndex;

int link_index_init(LinkIndex *idx);
/* Safe on a zeroed struct too. */
void link_index_deinit(LinkIndex *idx);

/* Gives e its place in the order: newer than every entry before it. */
void link_index_entry_init(LinkIndex *idx, LinkIndexEntry *e);

int link_index_add(LinkIndex *idx, LinkIndexEntry *e);
/* Harmless on an entry not indexed. */
void link_index_remove(LinkIndex *idx, LinkIndexEntry *e);
/* The newest entry with this key, then on through same_next. */
LinkIndexEntry *link_index_first(const LinkIndex *idx, int nsid, int ifindex);
