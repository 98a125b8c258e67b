/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the data plane's files share: the device's Dataplane, its clients, and the two
 * kinds of threads that move packets (reader.c: kernel -> clients, one per device;
 * writer.c: client -> kernel, one per client, so a client with several fds gets several
 * threads). */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dataplane.h"
#include "transport.h"

typedef struct Client {
        unsigned n_ref;                 /* __atomic */
        Dataplane *dp;                  /* borrowed: the client never outlives it */
        const TransportOps *ops;
        Transport *transport;
        uint32_t uid;                   /* on whose behalf it was opened */
        pthread_t writer;
        bool writer_started;
        bool writer_joined;
        struct Client *dead_next;
} Client;

struct Dataplane {
        /* Control plane side */
        sd_event_source *notify_source;
        int notify_fd;                  /* eventfd: clients to reap or to report */
        DataplaneClientsChanged clients_changed;
        void *userdata;
        unsigned n_clients_reported;

        int tun_fd;                     /* borrowed */
        uint32_t mtu;                   /* __atomic */
        unsigned offloads;              /* __atomic */

        /* Held briefly, never across I/O or a join. */
        pthread_mutex_t lock;
        Client **clients;               /* each holds a reference */
        size_t n_clients, n_clients_allocated;
        Client *dead;                   /* writers that ended, to be joined on the control loop */
        uint64_t generation;            /* bumped when clients changes; __atomic */
        bool broken;                    /* the TUN device is gone */

        pthread_t reader;
        bool reader_started;
        int wake_fd;                    /* eventfd: wakes the reader to stop or see new clients */
        bool stopping;                  /* __atomic */

        DataplaneStats stats;           /* __atomic adds */
};

Client *client_ref(Client *c);
Client *client_unref(Client *c);

void *reader_main(void *userdata);
void *writer_main(void *userdata);

/* Called by a client's writer thread when it ends: the client leaves the device. */
void dataplane_client_ended(Dataplane *dp, Client *c);
/* Called by the reader when the TUN device is gone: every client reads end-of-file. */
void dataplane_mark_broken(Dataplane *dp);
/* Replaces *clients (references) with the current ones if the generation changed. */
void dataplane_refresh_clients(Dataplane *dp, Client ***clients, size_t *n, uint64_t *generation);
void dataplane_release_clients(Client **clients, size_t n);
void dataplane_stats_add(Dataplane *dp, const DataplaneStats *delta);

static inline uint32_t dataplane_mtu(Dataplane *dp) {
        return __atomic_load_n(&dp->mtu, __ATOMIC_RELAXED);
}

static inline unsigned dataplane_offloads(Dataplane *dp) {
        return __atomic_load_n(&dp->offloads, __ATOMIC_RELAXED);
}

static inline bool dataplane_stopping(Dataplane *dp) {
        return __atomic_load_n(&dp->stopping, __ATOMIC_ACQUIRE);
}
