/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The internet checksum (RFC 1071), the one routine everything in tund uses. */

#include <stddef.h>
#include <stdint.h>

/* Adds the 16-bit ones' complement sum of buf to sum (a 32-bit accumulator, not folded). */
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum);

/* Copies len bytes from src to dst and returns csum_partial(src, len, sum). */
uint32_t csum_copy(void *dst, const void *src, size_t len, uint32_t sum);

/* Folds a 32-bit accumulator to 16 bits and complements it: the value for the wire
 * (in network byte order when the sum was taken over network-order data). */
uint16_t csum_fold(uint32_t sum);

/* Pseudo-header sums (addresses in network byte order as they sit in the packet). */
uint32_t csum_pseudo_ipv4(const void *saddr, const void *daddr, uint8_t proto, uint32_t l4_len);
uint32_t csum_pseudo_ipv6(const void *saddr, const void *daddr, uint8_t proto, uint32_t l4_len);
