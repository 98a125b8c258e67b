/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "macro.h"
#include "offload-names.h"

static const struct {
        Offload offload;
        const char *name;
} offload_table[] = {
        { OFFLOAD_CSUM,    "csum"    },
        { OFFLOAD_TSO4,    "tso4"    },
        { OFFLOAD_TSO6,    "tso6"    },
        { OFFLOAD_TSO_ECN, "tso-ecn" },
        { OFFLOAD_USO4,    "uso4"    },
        { OFFLOAD_USO6,    "uso6"    },
        { OFFLOAD_GRO_TCP, "gro-tcp" },
        { OFFLOAD_GRO_UDP, "gro-udp" },
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
                return fail_because(ret_reason, "the kernel takes uso4 and uso6 only together: enable both or neither");
        if ((offloads & OFFLOAD_TSO_ECN) && !(offloads & (OFFLOAD_TSO4|OFFLOAD_TSO6)))
                return fail_because(ret_reason, "tso-ecn needs tso4 or tso6");
        if (!(offloads & OFFLOAD_CSUM))
                for (size_t i = 0; i < ELEMENTSOF(need_csum); i++)
                        if (offloads & need_csum[i].offload)
                                return fail_because(ret_reason, need_csum[i].reason);
        return true;
}
