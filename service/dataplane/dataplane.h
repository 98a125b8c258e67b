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

typedef struct Dataplane Dataplane;

typedef enum ClientMode {
        CLIENT_MODE_PACKET,     /* one plain packet per seqpacket message */
        CLIENT_MODE_BATCH,      /* many plain packets per message, 2-byte length records */
        CLIENT_MODE_VNET,       /* virtio_net_hdr + packet per message, no offload work */
        _CLIENT_MODE_MAX,
        _CLIENT_MODE_INVALID = -EINVAL,
} ClientMode;

const char *client_mode_to_string(ClientMode m);
ClientMode client_mode_from_string(const char *s);

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

unsigned dataplane_n_clients(Dataplane *dp);
void dataplane_get_stats(Dataplane *dp, DataplaneStats *ret);

/* Take effect while packets flow, without losing clients. */
void dataplane_set_mtu(Dataplane *dp, uint32_t mtu);
void dataplane_set_offloads(Dataplane *dp, unsigned offloads);
