/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The client transport: how one client's packets travel between tund and the client's
 * fd. Each mode (packet, batch, vnet over SOCK_SEQPACKET; ring in shared memory) is one
 * TransportOps table. The data plane knows nothing of framing, and the
 * transports know nothing of TUN devices or the offload core: they move either plain IP
 * packets or vnet messages (virtio_net_hdr + packet), as TransportOps.vnet says. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "dataplane.h"

typedef struct Transport Transport;

/* What one flush or receive did, for the device's statistics. */
typedef struct TransportCounters {
        uint64_t packets, bytes;        /* delivered to / taken from the client */
        uint64_t drops_queue_full;      /* the client did not read fast enough */
        uint64_t drops_invalid;         /* malformed messages from the client */
        uint64_t drops_too_long;        /* packets the client's framing cannot carry */
} TransportCounters;

typedef struct TransportOps {
        ClientMode mode;
        bool vnet;      /* carries vnet messages as they come from / go to the TUN */
        bool shared;    /* receive() returns packets in memory the client may change */

        /* Creates the transport as o says (valid, of this table's mode); *ret_peer_fd is
         * the client's end, for the caller to hand over and close. */
        int (*new)(const ClientOptions *o, Transport **ret, int *ret_peer_fd);
        Transport *(*free)(Transport *t);

        /* Kernel -> client, on the device's reader thread. queue() borrows pkt until the
         * next flush(); it returns -ENOBUFS when the transport has no room left (flush,
         * then queue again), -EMSGSIZE for a packet its framing cannot carry. flush()
         * never blocks: what the client has no room for is dropped and counted. */
        int (*queue)(Transport *t, const uint8_t *pkt, size_t len);
        void (*flush)(Transport *t, TransportCounters *c);
        /* Optional, on the reader thread: whether t is now the device's only client. A
         * transport that waits for the client to make room may then wait longer, since no
         * other client's packets wait behind it. */
        void (*set_sole)(Transport *t, bool sole);

        /* Optional (NULL where the transport has no memory of its own to offer), on the
         * reader thread: room for packets written straight into the transport, packet i
         * at *ret_buf + i * *ret_stride, at most the returned number of them (0: none
         * now). commit() then queues the first n written there, as queue() would, and
         * nothing else may come between the two. */
        size_t (*reserve)(Transport *t, uint8_t **ret_buf, size_t *ret_stride);
        void (*commit)(Transport *t, const struct iovec *pkts, size_t n);

        /* Optional, on the reader thread, for transports of vnet messages: room for one
         * message of up to max_len bytes read straight into the transport, in one piece
         * or two (iov[1] where the room wraps). Returns the pieces, or 0 when there is
         * not room enough now (queue() then waits or drops as ever). commit_message()
         * then queues the first len bytes written there (len <= max_len), and nothing
         * else may come between the two. */
        size_t (*reserve_message)(Transport *t, size_t max_len, struct iovec iov[static 2]);
        void (*commit_message)(Transport *t, size_t len);

        /* Client -> kernel, on the client's own thread. With wait, waits until the
         * client sends; without, takes only what is already there. Returns the packets
         * taken (pointing into the transport, valid until the next call), 0 when the
         * client is gone or shutdown() was called, -EAGAIN when there was nothing (only
         * without wait) or all it took was refused, or another negative errno.
         * Malformed input is counted in c, never returned. The packets of a shared
         * transport point into memory the client may change at any time: vnet messages
         * are for writing to the TUN as they are, never to be parsed; plain packets for
         * gro_batch_add_shared(), which copies what it parses first. */
        int (*receive)(Transport *t, bool wait, const struct iovec **ret_pkts, TransportCounters *c);
        /* After receive() returned 0, on the client's thread: waits until the client has
         * closed its fd entirely or shutdown() was called. A client that shut down only its
         * writing side goes on receiving meanwhile. */
        void (*wait_closed)(Transport *t);

        /* Any thread: the client reads end-of-file and a waiting receive() returns 0. */
        void (*shutdown)(Transport *t);
} TransportOps;

const TransportOps *transport_ops_for(const ClientOptions *o);

extern const TransportOps transport_socket_packet_ops;
extern const TransportOps transport_socket_batch_ops;
extern const TransportOps transport_socket_vnet_ops;
extern const TransportOps transport_ring_ops;
extern const TransportOps transport_ring_vnet_ops;
