/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "offload.h"

static const char *const drop_names[_OFFLOAD_DROP_MAX] = {
        [OFFLOAD_DROP_NONE]              = "none",
        [OFFLOAD_DROP_TRUNCATED]         = "truncated",
        [OFFLOAD_DROP_BAD_VERSION]       = "bad-version",
        [OFFLOAD_DROP_BAD_IP_HEADER]     = "bad-ip-header",
        [OFFLOAD_DROP_BAD_L4_HEADER]     = "bad-l4-header",
        [OFFLOAD_DROP_BAD_GSO]           = "bad-gso",
        [OFFLOAD_DROP_BAD_CSUM_OFFSETS]  = "bad-csum-offsets",
        [OFFLOAD_DROP_TOO_BIG]           = "too-big",
        [OFFLOAD_DROP_BAD_CHECKSUM]      = "bad-checksum",
};

const char *offload_drop_to_string(OffloadDrop d) {
        if ((unsigned) d >= _OFFLOAD_DROP_MAX)
                return NULL;
        return drop_names[d];
}
