/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The Dataplane object: its threads, its clients, and its face to the control plane. The
 * control plane's calls only take a short lock or touch atomics; the end of a client is
 * reported through an eventfd on the control loop, where its thread is joined. */

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "dataplane-internal.h"
#include "log.h"
#include "macro.h"
#include "ring-layout.h"

static const char *const client_mode_names[_CLIENT_MODE_MAX] = {
        [CLIENT_MODE_PACKET] = "packet",
        [CLIENT_MODE_BATCH] = "batch",
        [CLIENT_MODE_VNET] = "vnet",
        [CLIENT_MODE_RING] = "ring",
};

const char *client_mode_to_string(ClientMode m) {
        if (m < 0 || m >= _CLIENT_MODE_MAX)
                return NULL;
        return client_mode_names[m];
}

ClientMode client_mode_from_string(const char *s) {
        if (!s)
                return _CLIENT_MODE_INVALID;
        for (ClientMode m = 0; m < _CLIENT_MODE_MAX; m++)
                if (strcmp(s, client_mode_names[m]) == 0)
                        return m;
        return _CLIENT_MODE_INVALID;
}

bool client_options_valid(const ClientOptions *o, const char **ret_reason) {
        if (o->mode < 0 || o->mode >= _CLIENT_MODE_MAX)
                return fail_because(ret_reason, "unknown mode");
        if (o->mode != CLIENT_MODE_RING) {
                if (o->vnet || o->ring_slots != 0 || o->slot_size != 0)
                        return fail_because(ret_reason, "Vnet, RingSlots and SlotSize are options of mode ring only");
                return true;
        }
        return ring_layout_sizes_valid(o->ring_slots ?: TUND_RING_SLOTS_DEFAULT,
                                       o->slot_size ?: TUND_RING_SLOT_SIZE_DEFAULT, ret_reason);
}

const TransportOps *transport_ops_for(const ClientOptions *o) {
        switch (o->mode) {
        case CLIENT_MODE_PACKET:
                return &transport_socket_packet_ops;
        case CLIENT_MODE_BATCH:
                return &transport_socket_batch_ops;
        case CLIENT_MODE_VNET:
                return &transport_socket_vnet_ops;
        case CLIENT_MODE_RING:
                return o->vnet ? &transport_ring_vnet_ops : &transport_ring_ops;
        default:
                return NULL;
        }
}

static void eventfd_signal(int fd) {
        uint64_t one = 1;

        /* Only fails when the counter is at its maximum, which still wakes the reader. */
        (void) !write(fd, &one, sizeof(one));
}

/* ---- Clients ------------------------------------------------------------------------------ */

Client *client_ref(Client *c) {
        __atomic_add_fetch(&c->n_ref, 1, __ATOMIC_RELAXED);
        return c;
}

Client *client_unref(Client *c) {
        if (!c || __atomic_sub_fetch(&c->n_ref, 1, __ATOMIC_ACQ_REL) > 0)
                return NULL;
        c->ops->free(c->transport);
        free(c);
        return NULL;
}

static void client_join(Client *c) {
        if (c->writer_started && !c->writer_joined) {
                (void) pthread_join(c->writer, NULL);
                c->writer_joined = true;
        }
}

/* Starts a thread with every signal blocked: signals belong to the control loop. */
static int start_thread(pthread_t *ret, const char *name, void *(*fn)(void *), void *userdata) {
        sigset_t all, saved;
        pthread_attr_t attr;
        int r;

        /* Their work takes little stack; the size is part of an fd's bound (dataplane.h),
         * whatever the system's default. */
        r = pthread_attr_init(&attr);
        if (r != 0)
                return -r;
        r = pthread_attr_setstacksize(&attr, DATAPLANE_THREAD_STACK);
        if (r == 0) {
                sigfillset(&all);
                (void) pthread_sigmask(SIG_SETMASK, &all, &saved);
                r = pthread_create(ret, &attr, fn, userdata);
                (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        }
        (void) pthread_attr_destroy(&attr);
        if (r == 0)
                (void) pthread_setname_np(*ret, name);  /* for top -H and perf */
        return -r;
}

static void clients_changed_locked(Dataplane *dp) {
        __atomic_add_fetch(&dp->generation, 1, __ATOMIC_RELEASE);
        eventfd_signal(dp->wake_fd);
        eventfd_signal(dp->notify_fd);
}

static int clients_add_locked(Dataplane *dp, Client *c) {
        if (dp->n_clients >= dp->n_clients_allocated) {
                size_t n = MAX(dp->n_clients_allocated * 2, (size_t) 4);
                Client **a = realloc(dp->clients, n * sizeof(Client *));
                if (!a)
                        return -ENOMEM;
                dp->clients = a;
                dp->n_clients_allocated = n;
        }
        dp->clients[dp->n_clients++] = c;
        clients_changed_locked(dp);
        return 0;
}

static bool clients_remove_locked(Dataplane *dp, Client *c) {
        for (size_t i = 0; i < dp->n_clients; i++)
                if (dp->clients[i] == c) {
                        dp->clients[i] = dp->clients[--dp->n_clients];
                        clients_changed_locked(dp);
                        return true;
                }
        return false;
}

void dataplane_client_ended(Dataplane *dp, Client *c) {
        pthread_mutex_lock(&dp->lock);
        /* The list's reference moves to the dead list; when dataplane_free() took the list
         * already, it joins and releases the client itself. */
        if (clients_remove_locked(dp, c)) {
                c->dead_next = dp->dead;
                dp->dead = c;
        }
        pthread_mutex_unlock(&dp->lock);
}

void dataplane_mark_broken(Dataplane *dp) {
        pthread_mutex_lock(&dp->lock);
        dp->broken = true;
        for (size_t i = 0; i < dp->n_clients; i++)
                dp->clients[i]->ops->shutdown(dp->clients[i]->transport);
        pthread_mutex_unlock(&dp->lock);
}

void dataplane_release_clients(Client **clients, size_t n) {
        for (size_t i = 0; i < n; i++)
                client_unref(clients[i]);
        free(clients);
}

void dataplane_refresh_clients(Dataplane *dp, Client ***clients, size_t *n, uint64_t *generation) {
        Client **copy = NULL;
        size_t n_copy;

        if (__atomic_load_n(&dp->generation, __ATOMIC_ACQUIRE) == *generation)
                return;

        pthread_mutex_lock(&dp->lock);
        n_copy = dp->n_clients;
        if (n_copy > 0) {
                copy = malloc(n_copy * sizeof(Client *));
                if (!copy) {
                        /* Keep the old list and try again with the next batch. */
                        pthread_mutex_unlock(&dp->lock);
                        return;
                }
        }
        for (size_t i = 0; i < n_copy; i++)
                copy[i] = client_ref(dp->clients[i]);
        *generation = dp->generation;
        pthread_mutex_unlock(&dp->lock);

        dataplane_release_clients(*clients, *n);
        *clients = copy;
        *n = n_copy;
}

/* ---- Statistics --------------------------------------------------------------------------- */

void dataplane_stats_add(Dataplane *dp, const DataplaneStats *delta) {
#define ADD(f) if (delta->f) __atomic_add_fetch(&dp->stats.f, delta->f, __ATOMIC_RELAXED);
        DATAPLANE_STATS_FIELDS(ADD)
#undef ADD
}

void dataplane_get_stats(Dataplane *dp, DataplaneStats *ret) {
#define LOAD(f) ret->f = __atomic_load_n(&dp->stats.f, __ATOMIC_RELAXED);
        DATAPLANE_STATS_FIELDS(LOAD)
#undef LOAD
}

/* ---- Control plane -------------------------------------------------------------------------- */

static void reap_dead_clients(Dataplane *dp) {
        Client *dead;

        pthread_mutex_lock(&dp->lock);
        dead = TAKE_PTR(dp->dead);
        pthread_mutex_unlock(&dp->lock);

        while (dead) {
                Client *c = dead;
                dead = c->dead_next;
                client_join(c);
                client_unref(c);
        }
}

static int on_notify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Dataplane *dp = userdata;
        uint64_t v;
        unsigned n;

        (void) !read(fd, &v, sizeof(v));
        reap_dead_clients(dp);

        n = dataplane_n_clients(dp);
        if (n != dp->n_clients_reported) {
                dp->n_clients_reported = n;
                if (dp->clients_changed)
                        dp->clients_changed(dp, n, dp->userdata);
        }
        return 0;
}

int dataplane_new(Dataplane **ret, sd_event *control_loop, int tun_fd, uint32_t mtu,
                  unsigned offloads, DataplaneClientsChanged cb, void *userdata) {
        Dataplane *dp;
        int flags, r;

        if (tun_fd < 0 || mtu < 68 || mtu > 65535 || !control_loop)
                return -EINVAL;

        /* The reader reads until the TUN has nothing left. */
        flags = fcntl(tun_fd, F_GETFL);
        if (flags < 0 || fcntl(tun_fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;

        dp = calloc(1, sizeof(Dataplane));
        if (!dp)
                return -ENOMEM;
        dp->tun_fd = tun_fd;
        dp->mtu = mtu;
        dp->offloads = offloads;
        dp->clients_changed = cb;
        dp->userdata = userdata;
        dp->generation = 1;
        pthread_mutex_init(&dp->lock, NULL);

        dp->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        dp->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (dp->notify_fd < 0 || dp->wake_fd < 0) {
                r = -errno;
                goto fail;
        }

        r = sd_event_add_io(control_loop, &dp->notify_source, dp->notify_fd, EPOLLIN, on_notify, dp);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(dp->notify_source, "dataplane-notify");

        r = start_thread(&dp->reader, "dp-reader", reader_main, dp);
        if (r < 0)
                goto fail;
        dp->reader_started = true;

        *ret = dp;
        return 0;

fail:
        dataplane_free(dp);
        return r;
}

Dataplane *dataplane_free(Dataplane *dp) {
        Client **clients;
        size_t n;

        if (!dp)
                return NULL;

        dp->notify_source = sd_event_source_disable_unref(dp->notify_source);

        if (dp->reader_started) {
                __atomic_store_n(&dp->stopping, true, __ATOMIC_RELEASE);
                eventfd_signal(dp->wake_fd);
                (void) pthread_join(dp->reader, NULL);
        }

        pthread_mutex_lock(&dp->lock);
        clients = TAKE_PTR(dp->clients);
        n = dp->n_clients;
        dp->n_clients = dp->n_clients_allocated = 0;
        pthread_mutex_unlock(&dp->lock);

        /* Every client reads end-of-file, and its thread returns. */
        for (size_t i = 0; i < n; i++)
                clients[i]->ops->shutdown(clients[i]->transport);
        for (size_t i = 0; i < n; i++)
                client_join(clients[i]);
        dataplane_release_clients(clients, n);
        reap_dead_clients(dp);

        safe_close(dp->notify_fd);
        safe_close(dp->wake_fd);
        pthread_mutex_destroy(&dp->lock);
        free(dp);
        return NULL;
}

int dataplane_open_client(Dataplane *dp, ClientMode mode, int *ret_fd) {
        return dataplane_open_client_of(dp, mode, 0, ret_fd);
}

int dataplane_open_client_of(Dataplane *dp, ClientMode mode, uint32_t uid, int *ret_fd) {
        return dataplane_open_client_with(dp, &(ClientOptions) { .mode = mode }, uid, ret_fd);
}

int dataplane_open_client_with(Dataplane *dp, const ClientOptions *o, uint32_t uid, int *ret_fd) {
        const TransportOps *ops;
        _cleanup_close_ int peer_fd = -EBADF;
        Client *c;
        int r;

        if (o->tun || !client_options_valid(o, NULL))
                return -EINVAL;
        ops = transport_ops_for(o);
        if (!ops)
                return -EINVAL;

        c = calloc(1, sizeof(Client));
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->dp = dp;
        c->ops = ops;
        c->uid = uid;

        r = ops->new(o, &c->transport, &peer_fd);
        if (r < 0) {
                free(c);
                return r;
        }

        pthread_mutex_lock(&dp->lock);
        r = dp->broken ? -ENODEV : 0;
        if (r >= 0)
                r = start_thread(&c->writer, "dp-writer", writer_main, c);
        if (r >= 0) {
                c->writer_started = true;
                r = clients_add_locked(dp, c);
                if (r < 0)
                        ops->shutdown(c->transport);  /* the thread ends at once */
        }
        pthread_mutex_unlock(&dp->lock);
        if (r < 0) {
                client_join(c);
                client_unref(c);
                return r;
        }

        *ret_fd = TAKE_FD(peer_fd);
        return 0;
}

unsigned dataplane_n_clients(Dataplane *dp) {
        unsigned n;

        pthread_mutex_lock(&dp->lock);
        n = dp->n_clients;
        pthread_mutex_unlock(&dp->lock);
        return n;
}

unsigned dataplane_n_clients_of(Dataplane *dp, uint32_t uid) {
        unsigned n = 0;

        pthread_mutex_lock(&dp->lock);
        for (size_t i = 0; i < dp->n_clients; i++)
                if (dp->clients[i]->uid == uid)
                        n++;
        pthread_mutex_unlock(&dp->lock);
        return n;
}

void dataplane_set_mtu(Dataplane *dp, uint32_t mtu) {
        __atomic_store_n(&dp->mtu, mtu, __ATOMIC_RELAXED);
}

void dataplane_set_offloads(Dataplane *dp, unsigned offloads) {
        __atomic_store_n(&dp->offloads, offloads, __ATOMIC_RELAXED);
}
