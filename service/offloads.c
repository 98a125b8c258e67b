/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "macro.h"
#include "offloads.h"
#include "tun-compat.h"

/* Debian 12's kernel headers predate these; the running kernel knows them. */
static const struct {
        Offload offload;
        const char *name;
        unsigned tun_flag;
} offload_table[] = {
        { OFFLOAD_CSUM,    "csum",    TUN_F_CSUM    },
        { OFFLOAD_TSO4,    "tso4",    TUN_F_TSO4    },
        { OFFLOAD_TSO6,    "tso6",    TUN_F_TSO6    },
        { OFFLOAD_TSO_ECN, "tso-ecn", TUN_F_TSO_ECN },
        { OFFLOAD_USO4,    "uso4",    TUN_F_USO4    },
        { OFFLOAD_USO6,    "uso6",    TUN_F_USO6    },
        { OFFLOAD_GRO_TCP, "gro-tcp", 0             },
        { OFFLOAD_GRO_UDP, "gro-udp", 0             },
};

const char *offload_to_string(Offload o) {
        for (size_t i = 0; i < ELEMENTSOF(offload_table); i++)
                if (offload_table[i].offload == o)
                        return offload_table[i].name;
        return NULL;
}

Offload offload_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(offload_table); i++)
                if (strcmp(offload_table[i].name, s) == 0)
                        return offload_table[i].offload;
        return 0;
}

unsigned offloads_to_tun_flags(unsigned offloads) {
        unsigned flags = 0;

        for (size_t i = 0; i < ELEMENTSOF(offload_table); i++)
                if (offloads & offload_table[i].offload)
                        flags |= offload_table[i].tun_flag;
        return flags;
}

static bool fail(const char **ret_reason, const char *reason) {
        if (ret_reason)
                *ret_reason = reason;
        return false;
}

bool offloads_consistent(unsigned offloads, const char **ret_reason) {
        static const struct {
                Offload offload;
                const char *reason;
        } need_csum[] = {
                { OFFLOAD_TSO4,    "tso4 needs csum"    },
                { OFFLOAD_TSO6,    "tso6 needs csum"    },
                { OFFLOAD_TSO_ECN, "tso-ecn needs csum" },
                { OFFLOAD_USO4,    "uso4 needs csum"    },
                { OFFLOAD_USO6,    "uso6 needs csum"    },
        };

        if (!!(offloads & OFFLOAD_USO4) != !!(offloads & OFFLOAD_USO6))
                return fail(ret_reason, "the kernel takes uso4 and uso6 only together: enable both or neither");
        if ((offloads & OFFLOAD_TSO_ECN) && !(offloads & (OFFLOAD_TSO4|OFFLOAD_TSO6)))
                return fail(ret_reason, "tso-ecn needs tso4 or tso6");
        if (!(offloads & OFFLOAD_CSUM))
                for (size_t i = 0; i < ELEMENTSOF(need_csum); i++)
                        if (offloads & need_csum[i].offload)
                                return fail(ret_reason, need_csum[i].reason);
        return true;
}
