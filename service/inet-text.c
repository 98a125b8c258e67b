/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "inet-text.h"
#include "macro.h"

static unsigned family_bits(int family) {
        return family == AF_INET ? 32 : 128;
}

int inet_addr_parse(const char *s, int *ret_family, InAddr *ret, const char **ret_reason) {
        InAddr a = {};

        if (inet_pton(AF_INET, s, &a.in) == 1)
                *ret_family = AF_INET;
        else if (inet_pton(AF_INET6, s, &a.in6) == 1)
                *ret_family = AF_INET6;
        else {
                fail_because(ret_reason, "it is neither an IPv4 nor an IPv6 address");
                return -EINVAL;
        }
        *ret = a;
        return 0;
}

static int parse_prefixlen(const char *s, int family, uint8_t *ret, const char **ret_reason) {
        unsigned long n = 0;

        if (*s == '\0' || strlen(s) > 3) {
                fail_because(ret_reason, family == AF_INET ? "the prefix length must be 0 to 32"
                                                           : "the prefix length must be 0 to 128");
                return -EINVAL;
        }
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9') {
                        fail_because(ret_reason, "the prefix length is not a number");
                        return -EINVAL;
                }
                n = n * 10 + (unsigned long) (*p - '0');
        }
        if (n > family_bits(family)) {
                fail_because(ret_reason, family == AF_INET ? "the prefix length must be 0 to 32"
                                                           : "the prefix length must be 0 to 128");
                return -ERANGE;
        }
        *ret = (uint8_t) n;
        return 0;
}

int inet_prefix_parse(const char *s, int *ret_family, InAddr *ret, uint8_t *ret_prefixlen,
                      const char **ret_reason) {
        char buf[INET6_ADDRSTRLEN];
        const char *slash = strchr(s, '/');
        int family, r;
        InAddr a;

        if (!slash) {
                fail_because(ret_reason, "it has no prefix length (as in 10.8.0.2/24 or fd00:8::2/64)");
                return -EINVAL;
        }
        if ((size_t) (slash - s) >= sizeof(buf)) {
                fail_because(ret_reason, "it is neither an IPv4 nor an IPv6 address");
                return -EINVAL;
        }
        memcpy(buf, s, (size_t) (slash - s));
        buf[slash - s] = '\0';
        r = inet_addr_parse(buf, &family, &a, ret_reason);
        if (r < 0)
                return r;
        r = parse_prefixlen(slash + 1, family, ret_prefixlen, ret_reason);
        if (r < 0)
                return r;
        *ret_family = family;
        *ret = a;
        return 0;
}

bool inet_addr_is_unspecified(int family, const InAddr *a) {
        static const InAddr zero = {};

        return memcmp(a, &zero, family == AF_INET ? 4 : 16) == 0;
}

bool inet_addr_is_multicast(int family, const InAddr *a) {
        return family == AF_INET ? (a->bytes[0] & 0xf0) == 0xe0 : a->bytes[0] == 0xff;
}

bool inet_addr_has_host_bits(int family, const InAddr *a, uint8_t prefixlen) {
        for (unsigned bit = prefixlen; bit < family_bits(family); bit++)
                if (a->bytes[bit / 8] & (0x80 >> (bit % 8)))
                        return true;
        return false;
}

const char *inet_addr_format(int family, const InAddr *a, char buf[static INET6_ADDRSTRLEN]) {
        if (!inet_ntop(family, a, buf, INET6_ADDRSTRLEN))
                snprintf(buf, INET6_ADDRSTRLEN, "?");
        return buf;
}

const char *inet_prefix_format(int family, const InAddr *a, uint8_t prefixlen,
                               char buf[static INET_PREFIX_STRLEN]) {
        char addr[INET6_ADDRSTRLEN];

        snprintf(buf, INET_PREFIX_STRLEN, "%s/%u", inet_addr_format(family, a, addr), prefixlen);
        return buf;
}
