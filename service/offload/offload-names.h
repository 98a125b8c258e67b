/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Offload names of the D-Bus contract and the bits they map to (kernel/tun.c maps the
 * kernel's to TUN_F_* flags). Pure, like the rest of the offload core. */

#include <stdbool.h>
#include <stdint.h>

typedef enum Offload {
        OFFLOAD_CSUM    = 1u << 0,      /* TUN_F_CSUM */
        OFFLOAD_TSO4    = 1u << 1,      /* TUN_F_TSO4 */
        OFFLOAD_TSO6    = 1u << 2,      /* TUN_F_TSO6 */
        OFFLOAD_TSO_ECN = 1u << 3,      /* TUN_F_TSO_ECN */
        OFFLOAD_USO4    = 1u << 4,      /* TUN_F_USO4 */
        OFFLOAD_USO6    = 1u << 5,      /* TUN_F_USO6 */
        OFFLOAD_GRO_TCP = 1u << 6,      /* tund's own */
        OFFLOAD_GRO_UDP = 1u << 7,      /* tund's own */
        _OFFLOAD_ALL    = (1u << 8) - 1,
} Offload;

#define OFFLOADS_KERNEL (OFFLOAD_CSUM|OFFLOAD_TSO4|OFFLOAD_TSO6|OFFLOAD_TSO_ECN|OFFLOAD_USO4|OFFLOAD_USO6)
#define OFFLOADS_TUND   (OFFLOAD_GRO_TCP|OFFLOAD_GRO_UDP)

/* "csum", "tso4", ... for one bit; NULL for anything else. */
const char *offload_to_string(Offload o);
/* The bit of a name of the contract; 0 when the name is unknown. */
Offload offload_from_string(const char *s);

/* Checks the rules between offloads (tso4 needs csum, ...). Returns true when the set is
 * consistent; otherwise false, with *ret_reason (when non-NULL) saying what is wrong. */
bool offloads_consistent(unsigned offloads, const char **ret_reason);

/* Iterates over the single bits of _OFFLOAD_ALL, in the contract's order. */
#define FOREACH_OFFLOAD(o) \
        for (Offload o = OFFLOAD_CSUM; o & _OFFLOAD_ALL; o = (Offload) (o << 1))
