/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The virtio_net_hdr that a TUN opened with IFF_VNET_HDR puts in front of every packet
 * (10 bytes, host byte order). */

#include <stdint.h>
#include <linux/virtio_net.h>

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

#define VNET_HDR_LEN 10u

typedef struct VnetHdr {
        uint8_t flags;          /* VIRTIO_NET_HDR_F_* */
        uint8_t gso_type;       /* VIRTIO_NET_HDR_GSO_*, possibly | VIRTIO_NET_HDR_GSO_ECN */
        uint16_t hdr_len;
        uint16_t gso_size;
        uint16_t csum_start;
        uint16_t csum_offset;
} __attribute__((packed)) VnetHdr;

_Static_assert(sizeof(VnetHdr) == VNET_HDR_LEN, "virtio_net_hdr is 10 bytes");
