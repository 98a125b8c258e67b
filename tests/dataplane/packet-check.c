/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "packet-check.h"

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum) {
        for (size_t i = 0; i + 1 < len; i += 2)
                sum += (uint32_t) p[i] << 8 | p[i + 1];
        if (len & 1)
                sum += (uint32_t) p[len - 1] << 8;
        return sum;
}

static uint16_t fold(uint32_t sum) {
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t) sum;
}

/* Ones' complement of the folded sum, in host order. */
uint16_t check_csum(const void *buf, size_t len, uint32_t sum) {
        return (uint16_t) ~fold(sum16(buf, len, sum));
}

static const char *check_l4(uint8_t proto, const uint8_t *l4, size_t l4_len, uint32_t pseudo) {
        switch (proto) {
        case 6:
                if (l4_len < 20 || (size_t) (l4[12] >> 4) * 4 > l4_len || (l4[12] >> 4) < 5)
                        return "truncated TCP header";
                return check_csum(l4, l4_len, pseudo) == 0 ? NULL : "bad TCP checksum";
        case 17:
                if (l4_len < 8 || ((size_t) l4[4] << 8 | l4[5]) != l4_len)
                        return "bad UDP length";
                if (l4[6] == 0 && l4[7] == 0)
                        return NULL;    /* no checksum (IPv4 only, caller checks) */
                return check_csum(l4, l4_len, pseudo) == 0 ? NULL : "bad UDP checksum";
        default:
                return NULL;
        }
}

static const char *check_ipv4(const uint8_t *p, size_t len) {
        size_t ihl, tot;
        uint32_t pseudo;

        if (len < 20)
                return "truncated IPv4 header";
        ihl = (size_t) (p[0] & 0x0f) * 4;
        tot = (size_t) p[2] << 8 | p[3];
        if (ihl < 20 || ihl > len)
                return "bad IPv4 header length";
        if (tot != len)
                return "IPv4 total length does not match";
        if (check_csum(p, ihl, 0) != 0)
                return "bad IPv4 header checksum";
        if ((p[6] & 0x3f) || p[7])
                return NULL;    /* a fragment: no whole L4 to check */
        if (p[9] == 1)
                return check_csum(p + ihl, len - ihl, 0) == 0 ? NULL : "bad ICMP checksum";
        pseudo = sum16(p + 12, 8, 0) + p[9] + (uint32_t) (len - ihl);
        return check_l4(p[9], p + ihl, len - ihl, pseudo);
}

static const char *check_ipv6(const uint8_t *p, size_t len) {
        size_t plen;
        uint32_t pseudo;
        uint8_t next = p[6];

        if (len < 40)
                return "truncated IPv6 header";
        plen = (size_t) p[4] << 8 | p[5];
        if (plen + 40 != len)
                return "IPv6 payload length does not match";
        if (next != 6 && next != 17 && next != 58)
                return NULL;
        pseudo = sum16(p + 8, 32, 0) + next + (uint32_t) plen;
        if (next == 58)
                return check_csum(p + 40, plen, pseudo) == 0 ? NULL : "bad ICMPv6 checksum";
        if (next == 17 && plen >= 8 && p[46] == 0 && p[47] == 0)
                return "IPv6 UDP without checksum";
        return check_l4(next, p + 40, plen, pseudo);
}

const char *packet_check(const uint8_t *pkt, size_t len) {
        if (len < 1)
                return "empty";
        switch (pkt[0] >> 4) {
        case 4:
                return check_ipv4(pkt, len);
        case 6:
                return check_ipv6(pkt, len);
        default:
                return "not IPv4 or IPv6";
        }
}

size_t packet_build_udp4(uint8_t *buf, const uint8_t saddr[4], const uint8_t daddr[4],
                         uint16_t sport, uint16_t dport, const void *payload, size_t len) {
        size_t tot = 28 + len;
        uint16_t c;

        memset(buf, 0, 28);
        buf[0] = 0x45;
        buf[2] = tot >> 8;
        buf[3] = tot & 0xff;
        buf[6] = 0x40;          /* DF */
        buf[8] = 64;
        buf[9] = 17;
        memcpy(buf + 12, saddr, 4);
        memcpy(buf + 16, daddr, 4);
        c = check_csum(buf, 20, 0);
        buf[10] = c >> 8;
        buf[11] = c & 0xff;

        buf[20] = sport >> 8;
        buf[21] = sport & 0xff;
        buf[22] = dport >> 8;
        buf[23] = dport & 0xff;
        buf[24] = (8 + len) >> 8;
        buf[25] = (8 + len) & 0xff;
        memcpy(buf + 28, payload, len);
        c = check_csum(buf + 20, 8 + len, sum16(buf + 12, 8, 0) + 17 + (uint32_t) (8 + len));
        if (c == 0)
                c = 0xffff;
        buf[26] = c >> 8;
        buf[27] = c & 0xff;
        return tot;
}
