/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Client -> kernel: one thread per client takes what the client sends, coalesces plain
 * packets with the offload core (GRO), and writes the result to the TUN. Threads of
 * several clients write to the same TUN at once, each message with one write(). */

#include <errno.h>
#include <unistd.h>

#include "dataplane-internal.h"
#include "log.h"
#include "offload.h"
#include "offload-names.h"

#define GRO_BATCH_PACKETS 256u
_Static_assert(DATAPLANE_GRO_BYTES == 16 * GRO_BATCH_MIN_BYTES, "room for 16 runs of the largest IP packet");

typedef struct Writer {
        Client *client;
        Dataplane *dp;
        GroBatch *gro;
        /* gro_batch_add_shared() for packets in memory the client shares: read the one
         * safe way. */
        int (*gro_add)(GroBatch *b, const uint8_t *pkt, size_t len);
        unsigned offloads;
        size_t n_pending;               /* packets added to gro since it was written */
        GroStats gro_seen;              /* the GRO statistics already added to dp */
        DataplaneStats delta;
} Writer;

static int tun_write(Writer *w, const struct iovec *msg) {
        ssize_t n;

        do
                n = write(w->dp->tun_fd, msg->iov_base, msg->iov_len);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : 0;
}

static void write_counted(Writer *w, const struct iovec *msg) {
        int r = tun_write(w, msg);

        if (r == -EINVAL)
                w->delta.drops_invalid++;
        else if (r < 0)
                w->delta.drops_write_error++;
}

static void write_vnet_messages(Writer *w, const struct iovec *msgs, size_t n) {
        for (size_t i = 0; i < n; i++)
                write_counted(w, &msgs[i]);
}

/* Writes the coalesced messages of the batch; one the kernel refuses goes out again as the
 * packets it was made of. */
static void write_gro_batch(Writer *w) {
        const struct iovec *msgs;
        size_t n = gro_batch_finish(w->gro, &msgs);

        for (size_t i = 0; i < n; i++) {
                const struct iovec *orig;
                size_t n_orig;
                int r = tun_write(w, &msgs[i]);

                if (r >= 0)
                        continue;
                if (r != -EINVAL) {
                        w->delta.drops_write_error++;
                        continue;
                }
                n_orig = gro_batch_unmerge(w->gro, i, &orig);
                if (n_orig <= 1) {
                        w->delta.drops_invalid++;
                        continue;
                }
                w->delta.gro_refused++;
                for (size_t j = 0; j < n_orig; j++)
                        write_counted(w, &orig[j]);
        }
        gro_batch_reset(w->gro);
        w->n_pending = 0;
}

static void follow_offloads(Writer *w) {
        unsigned o = dataplane_offloads(w->dp);

        if (o == w->offloads)
                return;
        gro_batch_set_tcp(w->gro, o & OFFLOAD_GRO_TCP);
        gro_batch_set_udp(w->gro, o & OFFLOAD_GRO_UDP);
        w->offloads = o;
}

static void add_plain_packets(Writer *w, const struct iovec *pkts, size_t n) {
        follow_offloads(w);
        for (size_t i = 0; i < n; i++) {
                int r = w->gro_add(w->gro, pkts[i].iov_base, pkts[i].iov_len);
                if (r == -ENOBUFS) {
                        write_gro_batch(w);
                        r = w->gro_add(w->gro, pkts[i].iov_base, pkts[i].iov_len);
                        if (r == -ENOBUFS)      /* not even alone: never lost uncounted */
                                w->delta.drops_invalid++;
                }
                /* -EINVAL: refused and counted by the GRO statistics */
                w->n_pending++;
        }
}

static void write_plain_packets(Writer *w) {
        const GroStats *s;

        write_gro_batch(w);

        s = gro_batch_stats(w->gro);
        w->delta.gro_merged += s->merged - w->gro_seen.merged;
        w->delta.drops_invalid += s->invalid - w->gro_seen.invalid;
        w->gro_seen = *s;
}

void *writer_main(void *userdata) {
        Client *c = userdata;
        Writer w = {
                .client = c,
                .dp = c->dp,
                .offloads = ~0u,
                .gro_add = c->ops->shared ? gro_batch_add_shared : gro_batch_add,
        };
        int r;

        if (!c->ops->vnet) {
                r = gro_batch_new_limited(&w.gro, GRO_BATCH_PACKETS, DATAPLANE_GRO_BYTES);
                if (r < 0) {
                        log_error_errno(r, "Failed to set up coalescing for a client: %m");
                        c->ops->shutdown(c->transport);
                        goto finish;
                }
        }

        for (;;) {
                TransportCounters tc = {};
                const struct iovec *pkts;

                r = c->ops->receive(c->transport, true, &pkts, &tc);
                if (r > 0 && c->ops->vnet)
                        write_vnet_messages(&w, pkts, r);
                else if (r > 0) {
                        add_plain_packets(&w, pkts, r);
                        /* What the client has sent meanwhile joins the batch: coalescing
                         * merges more, and each TUN write (which runs the kernel's TCP
                         * receive) carries more. */
                        while (w.n_pending < GRO_BATCH_PACKETS) {
                                r = c->ops->receive(c->transport, false, &pkts, &tc);
                                if (r <= 0)
                                        break;
                                add_plain_packets(&w, pkts, r);
                        }
                        write_plain_packets(&w);
                }

                w.delta.tx_packets += tc.packets;
                w.delta.tx_bytes += tc.bytes;
                w.delta.drops_invalid += tc.drops_invalid;
                dataplane_stats_add(w.dp, &w.delta);
                w.delta = (DataplaneStats) {};

                if (r == 0) {
                        /* End-of-file: the client sends no more, but may still receive. */
                        w.gro = gro_batch_free(w.gro);
                        c->ops->wait_closed(c->transport);
                        break;
                }
                if (r < 0 && r != -EAGAIN) {
                        log_debug_errno(r, "Failed to receive from a client, closing it: %m");
                        c->ops->shutdown(c->transport);
                        break;
                }
        }

finish:
        gro_batch_free(w.gro);
        dataplane_client_ended(w.dp, c);
        return NULL;
}
