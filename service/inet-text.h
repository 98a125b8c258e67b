/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* IPv4 and IPv6 addresses and prefixes as the bus carries them: "10.8.0.2", "fd00::/8".
 * Pure text, no I/O. */

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>

#include "rtnl-addr.h"

/* "ADDRESS/PREFIX" and the room for it. */
#define INET_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

/* Parses an address; on failure *ret_reason says why. -EINVAL when unparsable. */
int inet_addr_parse(const char *s, int *ret_family, InAddr *ret, const char **ret_reason);
/* Parses "ADDRESS/PREFIX" with the prefix length in range for the family (0 allowed). */
int inet_prefix_parse(const char *s, int *ret_family, InAddr *ret, uint8_t *ret_prefixlen,
                      const char **ret_reason);

bool inet_addr_is_unspecified(int family, const InAddr *a);
bool inet_addr_is_multicast(int family, const InAddr *a);
/* Whether bits past the prefix are set (10.0.0.1/8), which a route destination may not have. */
bool inet_addr_has_host_bits(int family, const InAddr *a, uint8_t prefixlen);

const char *inet_addr_format(int family, const InAddr *a, char buf[static INET6_ADDRSTRLEN]);
const char *inet_prefix_format(int family, const InAddr *a, uint8_t prefixlen,
                               char buf[static INET_PREFIX_STRLEN]);
