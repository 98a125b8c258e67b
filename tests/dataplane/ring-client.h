/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A client of mode "ring" for the tests and the benchmark, written from tund-ring.h and
 * tund-ring(7) alone: it maps the memory the service sends and moves packets through its
 * two rings, sleeping on the socket only when its receive ring is empty. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tund-ring.h"

typedef struct RingSide {
        uint32_t *producer, *consumer, *need_wakeup, *need_room;
        struct tund_ring_desc *descs;
        uint8_t *slots;
} RingSide;

typedef struct RingClient {
        int fd;                         /* the packet fd, borrowed */
        uint8_t *mem;
        size_t size;
        struct tund_ring_header h;
        uint32_t mask, slot_size;
        RingSide rx, tx;                /* to the client, to the service */
        uint32_t rx_cons, rx_prod;      /* own consumer, producer last seen */
        uint32_t tx_prod, tx_cons;      /* own producer, consumer last seen */
        uint32_t tx_published;
} RingClient;

/* Receives the first message of fd and maps its memory. Returns 0 or negative errno
 * (-EPROTO: the header is not one this client knows). */
int ring_client_open(RingClient *c, int fd);
void ring_client_close(RingClient *c);

/* The next packet to the client, copied into buf (size >= its length): returns its
 * length, 0 when the ring is empty, -EBADMSG for descriptors the service should never
 * write. ring_client_release() then gives the entries back, waking the service if it waits for
 * room. */
int ring_client_recv(RingClient *c, uint8_t *buf, size_t size);
/* The same for a packet in one slot, read in place: *ret_pkt points into the slot until
 * ring_client_release(). Returns -EMSGSIZE, taking nothing, for a chained packet (use
 * ring_client_recv). */
int ring_client_peek(RingClient *c, const uint8_t **ret_pkt);
void ring_client_release(RingClient *c);

/* Puts one packet in the ring to the service: 0, or -ENOBUFS when there is no room.
 * ring_client_publish() then hands over all put so far, waking the service if it sleeps. */
int ring_client_send(RingClient *c, const uint8_t *pkt, size_t len);
void ring_client_publish(RingClient *c);

/* Sleeps until the ring to the client has packets, at most timeout_ms (-1: no limit).
 * Returns 1 when there may be some, 0 on timeout, -EPIPE when the socket reads
 * end-of-file. */
int ring_client_wait(RingClient *c, int timeout_ms);
