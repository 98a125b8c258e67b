/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which client a packet from the kernel goes to: a hash of its flow (addresses, protocol,
 * and ports where every packet of the flow carries them), so that one flow always reaches
 * the same client while the set of clients stays the same. */

#include <stddef.h>
#include <stdint.h>

/* pkt: a plain IP packet (or the start of one). Anything unparsable hashes to 0. */
uint32_t flow_hash(const uint8_t *pkt, size_t len);
