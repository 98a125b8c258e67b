/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef TUND_H
#define TUND_H

/* libtund: the client library of tund (libtund(3)). It opens a device's packet fd over the
 * bus and moves packets in bursts the same way in every mode (packet, batch, vnet, ring),
 * so that a program changes mode with one option.
 *
 * Every call returns 0 or a count on success and a negative errno on failure. A peer that
 * ended (device deleted, service stopped) is -EPIPE; a peer that broke the protocol (a
 * descriptor, record or header that does not add up) is -EBADMSG. Either stays: every later
 * call on that tund_fd returns it again.
 *
 * Threads: one thread may receive (tund_recv_burst, tund_wait, tund_ring_peek,
 * tund_ring_release) while one other thread sends (tund_send_burst, tund_wait_send,
 * tund_ring_reserve, tund_ring_submit) on the same tund_fd; tund_get_* may be called from
 * any thread. Anything else needs the caller's own locking; tund_fd_free only when no other
 * call on it runs. Different tund_fds are independent. */

#include <stddef.h>
#include <stdint.h>

#include "tund-ring.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sd_bus sd_bus;
typedef struct tund_fd tund_fd;

enum tund_mode {
        TUND_MODE_PACKET = 0,   /* one plain packet per message */
        TUND_MODE_BATCH = 1,    /* plain packets as 2-byte length records, many per message */
        TUND_MODE_VNET = 2,     /* one vnet message (virtio_net_hdr, then a packet) per message */
        TUND_MODE_RING = 3,     /* shared-memory rings (tund-ring(7)): plain, or vnet with .vnet */
};

/* What tund_open() asks OpenPacketFd for; tund_fd_from_fd() uses mode and vnet only.
 * Start from zero (or tund_options_init()) and set size to sizeof(struct tund_options):
 * later versions append fields, which a zero leaves at their default. */
struct tund_options {
        uint32_t size;          /* sizeof(struct tund_options) */
        uint32_t mode;          /* enum tund_mode */
        uint32_t vnet;          /* ring only: 1 for vnet messages (option Vnet) */
        uint32_t ring_slots;    /* ring only: option RingSlots; 0: the service's default */
        uint32_t slot_size;     /* ring only: option SlotSize; 0: the service's default */
        uint32_t reserved[3];   /* 0 */
};

static inline struct tund_options tund_options_init(enum tund_mode mode) {
        struct tund_options o = { sizeof(struct tund_options), (uint32_t) mode, 0, 0, 0, { 0, 0, 0 } };
        return o;
}

/* Parses "packet", "batch", "vnet", "ring" or "ring-vnet" into *o (size, mode and vnet;
 * the rest is left alone). 0 or -EINVAL. */
int tund_options_parse_mode(struct tund_options *o, const char *name);

/* One packet of a burst. Receiving: data and size (the buffer's bytes) are the caller's,
 * len is set. Sending: data and len are the caller's, size is not looked at. Peeking and
 * reserving: data and size point into the ring. In modes vnet and ring with vnet, a packet
 * is a whole vnet message: the 10-byte virtio_net_hdr first. */
struct tund_packet {
        void *data;
        size_t size;
        size_t len;
};

/* Opens a packet fd of DEVICE, a device name ("tun0", looked up with GetDevice) or the
 * object path of a device ("/org/example/Tun1/device/3"), with OpenPacketFd. BUS: the
 * connection to use (borrowed), or NULL for a connection of tund_open's own to the system
 * bus ($DBUS_SYSTEM_BUS_ADDRESS, as sd_bus_open_system(3) finds it), closed before it
 * returns. OPTIONS NULL: mode packet with the service's defaults. Errors: -ENODEV (no such
 * device), -EINVAL (options the service or the library refuses), -EACCES (polkit said no),
 * -ENOSPC (a limit of the service), -EHOSTDOWN (tund is not on the bus), -EBADMSG (a
 * reply or ring header that does not add up), or what sd-bus returned. */
int tund_open(sd_bus *bus, const char *device, const struct tund_options *options, tund_fd **ret);

/* The negative errno tund_open() returns for NAME, the name of a D-Bus error of the
 * service's (sd_bus_error.name; mapped as tund_open(3) lists), or R when NAME is NULL or
 * unknown (-EIO when R is not negative either): for programs that call the service's other
 * methods themselves. */
int tund_errno_from_error_name(const char *name, int r);

/* Adopts FD, a packet fd obtained some other way (its mode and vnet in OPTIONS, NULL:
 * packet): on success the tund_fd owns it, on failure the caller still does. For mode ring
 * it reads the handshake (the ring memory) first, waiting for it at most 5 s. */
int tund_fd_from_fd(int fd, const struct tund_options *options, tund_fd **ret);

/* Closes the packet fd (which ends it for the service) and frees everything. NULL is fine.
 * Returns NULL. */
tund_fd *tund_fd_free(tund_fd *t);

/* The fd to poll for POLLIN (packets or wake-ups may be waiting; the peer's end reads so
 * too), for a program with an event loop of its own. Owned by the tund_fd. Poll it only
 * after tund_wait(t, 0) returned 0: in ring mode, that call is what tells the service to
 * wake the fd (need_wakeup), and the next receive or wait clears it again. In ring mode it
 * is an epoll fd over the packet fd and the library's own wake-up eventfd: never read it. */
int tund_get_fd(const tund_fd *t);
enum tund_mode tund_get_mode(const tund_fd *t);
/* 1 when packets are vnet messages (mode vnet, ring with vnet), else 0. */
int tund_get_vnet(const tund_fd *t);
/* The longest packet tund_recv_burst() can return and tund_send_burst() takes: 65535 (65533
 * in batch mode, whose records carry their length in a message of at most 65535 bytes),
 * 65545 for vnet messages. Receive buffers of this size never lose a packet. */
size_t tund_get_max_packet(const tund_fd *t);
/* Ring mode: the size of one slot (the longest packet tund_ring_reserve() hands out);
 * other modes: 0. */
size_t tund_get_slot_size(const tund_fd *t);

struct tund_counters {
        uint64_t rx_packets, rx_bytes;          /* handed to the caller */
        uint64_t rx_truncated;                  /* longer than the caller's buffer: dropped */
        uint64_t tx_packets, tx_bytes;          /* taken from the caller */
        uint64_t rx_syscalls, tx_syscalls;      /* system calls made by each side */
};
/* Copies the counters (at most SIZE bytes of them) to *RET. The receiving side's counters
 * are exact only when read on the receiving thread, the sending side's on the sending one. */
void tund_get_counters(const tund_fd *t, struct tund_counters *ret, size_t size);

/* Moves up to N packets that are waiting into the caller's buffers (pkts[i].data, .size),
 * setting pkts[i].len; never waits. Returns the count (0: nothing waiting). A packet longer
 * than its buffer is dropped and counted (rx_truncated). */
int tund_recv_burst(tund_fd *t, struct tund_packet *pkts, unsigned n);
/* Hands over up to N packets (pkts[i].data, .len); never waits. Returns how many were taken,
 * from the first on: fewer than N (0 too) when the socket or the ring is full — try again
 * after tund_wait_send(). A packet of length 0 or over tund_get_max_packet() stops the
 * burst; as the first, it is -EMSGSIZE. */
int tund_send_burst(tund_fd *t, const struct tund_packet *pkts, unsigned n);

/* Sleeps until packets may be waiting to be received, at most TIMEOUT_MS (-1: no limit,
 * 0: only look, and arm tund_get_fd()). Returns 1 (look with tund_recv_burst or
 * tund_ring_peek), 0 (timeout) or negative errno; -EPIPE once the peer ended and nothing
 * is left. It sleeps only when nothing is left: in ring mode it tells the service so
 * (need_wakeup), looks once more and only then polls the fd. */
int tund_wait(tund_fd *t, int timeout_ms);
/* Sleeps until tund_send_burst() may take a packet again, at most TIMEOUT_MS. Returns 1, 0
 * (timeout) or negative errno. In ring mode it says so (need_room), looks once more, and
 * sleeps until the service has made room and woken it. */
int tund_wait_send(tund_fd *t, int timeout_ms);

/* Ring mode only (others: -EOPNOTSUPP). */

/* Up to N received packets in place: pkts[i].data points into the ring's slots (a packet
 * chained over several slots is copied into the tund_fd's own memory first), .len its
 * length, .size = .len. They stay valid and the service cannot reuse their slots until
 * tund_ring_release(). Returns the count (0: nothing waiting). While packets are peeked,
 * tund_recv_burst() returns -EBUSY. */
int tund_ring_peek(tund_fd *t, struct tund_packet *pkts, unsigned n);
/* Gives every peeked packet's slots back to the service. Returns 0 or negative errno. */
int tund_ring_release(tund_fd *t);

/* Up to N free slots of the ring to the service: pkts[i].data and .size (the slot size)
 * are set. Write a packet into each slot used, set its .len, and hand over the first M with
 * tund_ring_submit(t, pkts, M); the rest go back. Returns the count (0: the ring is full, see
 * tund_wait_send()). While slots are reserved, tund_send_burst() returns -EBUSY. */
int tund_ring_reserve(tund_fd *t, struct tund_packet *pkts, unsigned n);
/* Publishes the first M reserved slots, in order, with their .len (1..slot size; in vnet
 * mode longer than the vnet header), waking the service if it sleeps, and ends the
 * reservation. pkts[i].data must be the slots tund_ring_reserve() gave, in that order.
 * Returns M, or -EINVAL (nothing is published then, and the reservation stands). */
int tund_ring_submit(tund_fd *t, const struct tund_packet *pkts, unsigned m);

#ifdef __cplusplus
}
#endif

#endif
