/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The data plane of one device: moves packets between its TUN fd and the packet fds of
 * its clients, running the offload core on the way. It runs on threads of its own; none of
 * these calls waits on packets or clients, so the control plane may call them from its
 * event loop. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "ring-layout.h"

typedef struct Dataplane Dataplane;

/* What one packet fd costs, whatever its client does.
 *
 * Memory of tund's own, at most DATAPLANE_CLIENT_MEMORY_MAX bytes. All of it is allocated
 * when the fd opens, as address space: pages are touched as far as the client's messages
 * and packets reach, so an idle fd touches a few pages, one of MTU-sized packets a few
 * pages a slot, and only a flood of 64 KiB messages the whole:
 *   - receive slots (transport-socket.c): one recvmmsg() takes DATAPLANE_RX_SLOTS messages
 *     from the client, each up to a vnet header + 65535 bytes + 1 (to see truncation);
 *   - coalescing room (writer.c, gro.c): DATAPLANE_GRO_BYTES, 16 runs of the largest IP
 *     packet (more of smaller UDP runs or lone packets); a batch that would need more is
 *     written out first;
 *   - tables, DATAPLANE_CLIENT_TABLES_BYTES: the transport's message and packet
 *     descriptors (under 100 KiB) and the coalescing batch's (256 packets: about 155 KiB);
 *   - its writer thread's stack, DATAPLANE_THREAD_STACK.
 * That is 3 933 504 bytes (3.75 MiB); 16 fds (a device's default limit) stay under
 * 64 MiB. A device adds its reader, shared by its fds: 32 slots of 64 KiB for the TUN's
 * messages and 2.5 MiB for their split packets (about 4.7 MiB; a super-packet of tiny
 * segments may need up to 64 MiB more for a moment, given back once it is sent).
 * A ring fd (mode "ring") has no receive slots but costs, besides the rest:
 *   - its memfd (transport-ring.c, ring-layout.c), shared with the client: two rings of
 *     RingSlots x SlotSize bytes (at most TUND_RING_BYTES_MAX each; 2 MiB each by
 *     default) with their indices and descriptors, at most RING_LAYOUT_MEMORY_MAX (8.3 MiB);
 *   - DATAPLANE_RING_RX_BYTES of private copies of the packets it takes from the client.
 * That is at most DATAPLANE_RING_CLIENT_MEMORY_MAX, 11 023 872 bytes (about 10.5 MiB), and
 * 6.3 MiB with the default sizes; its pages too are touched only as packets reach them.
 * Kernel memory: the socket's buffers, min(4 MiB, net.core.wmem_max) doubled (SO_SNDBUF)
 * in each direction, are the system's limits; packets queued there beyond them are dropped
 * (drops_queue_full) or wait in the client.
 *
 * Threads: one per fd (its writer), one per device (its reader), and tund's main thread:
 * 1 + devices + packet fds in all, which the control plane bounds by its limits on devices
 * and fds (tund(8)). The reader of a device is shared by all its fds. */
#define DATAPLANE_RX_SLOTS              32u
#define DATAPLANE_RX_SLOT_SIZE          (10u + 65535u + 1u)
#define DATAPLANE_GRO_BYTES             ((size_t) 16u * 65600u)  /* 16 * GRO_BATCH_MIN_BYTES */
#define DATAPLANE_CLIENT_TABLES_BYTES   ((size_t) 512u << 10)
#define DATAPLANE_THREAD_STACK          ((size_t) 256u << 10)
#define DATAPLANE_CLIENT_MEMORY_MAX                                                     \
        ((size_t) DATAPLANE_RX_SLOTS * DATAPLANE_RX_SLOT_SIZE + DATAPLANE_GRO_BYTES +    \
         DATAPLANE_CLIENT_TABLES_BYTES + DATAPLANE_THREAD_STACK)

#define DATAPLANE_RING_RX_BYTES         ((size_t) 512u << 10)
#define DATAPLANE_RING_CLIENT_MEMORY_MAX                                                \
        ((size_t) RING_LAYOUT_MEMORY_MAX + DATAPLANE_RING_RX_BYTES + DATAPLANE_GRO_BYTES + \
         DATAPLANE_CLIENT_TABLES_BYTES + DATAPLANE_THREAD_STACK)

typedef enum ClientMode {
        CLIENT_MODE_PACKET,     /* one plain packet per seqpacket message */
        CLIENT_MODE_BATCH,      /* many plain packets per message, 2-byte length records */
        CLIENT_MODE_VNET,       /* virtio_net_hdr + packet per message, no offload work */
        CLIENT_MODE_RING,       /* shared-memory rings (transport-ring.c, tund-ring(7)) */
        _CLIENT_MODE_MAX,
        _CLIENT_MODE_INVALID = -EINVAL,
} ClientMode;

const char *client_mode_to_string(ClientMode m);
ClientMode client_mode_from_string(const char *s);

/* How a packet fd is opened (OpenPacketFd's options). */
typedef struct ClientOptions {
        ClientMode mode;
        bool vnet;                      /* ring: vnet messages rather than plain packets */
        uint32_t ring_slots;            /* ring: entries per ring, 0 for the default */
        uint32_t slot_size;             /* ring: bytes per slot, 0 for the default */
        bool tun;                       /* Mode "tun": a raw device's queue, none of the data plane's */
        bool mode_given;                /* Mode was among the options (raw devices default to tun) */
} ClientOptions;

/* Whether o is within the documented bounds; says why not in *ret_reason. */
bool client_options_valid(const ClientOptions *o, const char **ret_reason);

typedef struct DataplaneStats {
        uint64_t rx_packets, rx_bytes;  /* delivered to clients */
        uint64_t tx_packets, tx_bytes;  /* taken from clients */
        uint64_t gso_split;             /* super-packets split */
        uint64_t gro_merged;            /* client packets merged into another */
        uint64_t gro_refused;           /* coalesced writes the kernel refused, resent */
        uint64_t drops_invalid;
        uint64_t drops_queue_full;      /* a client did not read fast enough */
        uint64_t drops_no_client;       /* packets from the kernel while no client was open */
        uint64_t drops_write_error;     /* the kernel refused a write (link down, ...) */
        uint64_t drops_too_long;        /* kernel packets too long for the client's mode */
} DataplaneStats;

/* Every field of DataplaneStats, for code that treats them all alike (X(name) each). */
#define DATAPLANE_STATS_FIELDS(X) \
        X(rx_packets) X(rx_bytes) X(tx_packets) X(tx_bytes) X(gso_split) X(gro_merged) \
        X(gro_refused) X(drops_invalid) X(drops_queue_full) X(drops_no_client) \
        X(drops_write_error) X(drops_too_long)

/* Called on the control plane's loop (see dataplane_new) when the number of clients
 * changed. */
typedef void (*DataplaneClientsChanged)(Dataplane *dp, unsigned n_clients, void *userdata);

/* tun_fd: the device's TUN fd (IFF_TUN|IFF_NO_PI|IFF_VNET_HDR), borrowed: it must stay
 * open until dataplane_free(). offloads: Offload bits (offloads.h). */
int dataplane_new(Dataplane **ret, sd_event *control_loop, int tun_fd, uint32_t mtu,
                  unsigned offloads, DataplaneClientsChanged cb, void *userdata);

/* Stops the threads; every client fd reads end-of-file. */
Dataplane *dataplane_free(Dataplane *dp);

/* Creates a client; *ret_fd is the client's end of its socket, for the caller to pass
 * on and close. */
int dataplane_open_client(Dataplane *dp, ClientMode mode, int *ret_fd);
/* The same for a client opened on behalf of uid, which dataplane_n_clients_of() counts. */
int dataplane_open_client_of(Dataplane *dp, ClientMode mode, uint32_t uid, int *ret_fd);
/* The same with every option; -EINVAL for options client_options_valid() refuses. */
int dataplane_open_client_with(Dataplane *dp, const ClientOptions *o, uint32_t uid, int *ret_fd);

unsigned dataplane_n_clients(Dataplane *dp);
unsigned dataplane_n_clients_of(Dataplane *dp, uint32_t uid);
void dataplane_get_stats(Dataplane *dp, DataplaneStats *ret);

/* Take effect while packets flow, without losing clients. */
void dataplane_set_mtu(Dataplane *dp, uint32_t mtu);
void dataplane_set_offloads(Dataplane *dp, unsigned offloads);
