/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "flow.h"

static uint32_t mix(uint32_t h, uint32_t v) {
        h ^= v * 0xcc9e2d51u;
        h = (h << 15) | (h >> 17);
        return h * 0x1b873593u + 0xe6546b64u;
}

static uint32_t finish(uint32_t h) {
        h ^= h >> 16;
        h *= 0x85ebca6bu;
        h ^= h >> 13;
        h *= 0xc2b2ae35u;
        return h ^ (h >> 16);
}

static uint32_t load32(const uint8_t *p) {
        uint32_t v;

        memcpy(&v, p, sizeof(v));
        return v;
}

static uint32_t hash_words(uint32_t h, const uint8_t *p, size_t n_words) {
        for (size_t i = 0; i < n_words; i++)
                h = mix(h, load32(p + 4 * i));
        return h;
}

static bool has_ports(uint8_t proto) {
        return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
                proto == IPPROTO_UDPLITE;
}

static uint32_t hash_ipv4(const uint8_t *p, size_t len) {
        size_t ihl;
        uint8_t proto;
        uint32_t h;

        if (len < 20)
                return 0;
        ihl = (size_t) (p[0] & 0x0f) * 4;
        proto = p[9];
        h = hash_words(mix(4, proto), p + 12, 2);

        /* Fragments carry no ports after the first: leave ports out for all of them. */
        bool fragment = (p[6] & 0x3f) != 0 || p[7] != 0;
        if (!fragment && has_ports(proto) && ihl >= 20 && len >= ihl + 4)
                h = mix(h, load32(p + ihl));
        return finish(h);
}

static uint32_t hash_ipv6(const uint8_t *p, size_t len) {
        uint8_t next;
        uint32_t h;

        if (len < 40)
                return 0;
        next = p[6];
        h = hash_words(mix(6, next), p + 8, 8);

        /* Extension headers (fragments among them): addresses and the first next header
         * are the flow. */
        if (has_ports(next) && len >= 44)
                h = mix(h, load32(p + 40));
        return finish(h);
}

uint32_t flow_hash(const uint8_t *pkt, size_t len) {
        if (len < 1)
                return 0;
        switch (pkt[0] >> 4) {
        case 4:
                return hash_ipv4(pkt, len);
        case 6:
                return hash_ipv6(pkt, len);
        default:
                return 0;
        }
}
