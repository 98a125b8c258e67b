/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An independent referee for the tests: checks that a plain IP packet is whole and that
 * its checksums verify, with a checksum routine of its own (not the offload core's). */

#include <stddef.h>
#include <stdint.h>

uint16_t check_csum(const void *buf, size_t len, uint32_t sum);

/* Returns NULL when the packet is whole (lengths match) and every checksum it carries
 * verifies, otherwise what is wrong. */
const char *packet_check(const uint8_t *pkt, size_t len);

/* Builds an IPv4 UDP packet with valid checksums into buf; returns its length. */
size_t packet_build_udp4(uint8_t *buf, const uint8_t saddr[4], const uint8_t daddr[4],
                         uint16_t sport, uint16_t dport, const void *payload, size_t len);
