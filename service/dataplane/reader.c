/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Kernel -> clients: one thread per device reads the TUN until it has nothing left (or a
 * batch is full), picks each message's client by flow, splits it for clients of plain
 * packets and queues the result on the client's transport; every 128 KiB read, and when
 * the TUN is empty, it flushes every transport without blocking. All buffers are
 * allocated once. */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dataplane-internal.h"
#include "flow.h"
#include "log.h"
#include "macro.h"
#include "offload.h"

#define READ_BATCH       32u
#define READ_SLOT_SIZE   (VNET_HDR_LEN + 65535u + 1u)
#define ARENA_SIZE       ((size_t) READ_BATCH * 80u * 1024u)    /* split output of a batch */
#define ARENA_SEGS       8192u
#define ARENA_MAX_SIZE   ((size_t) 64u << 20)   /* a super-packet of tiny segments needs more */
#define ARENA_MAX_SEGS   65536u
/* Hand over what is queued once this much came from the TUN, rather than at the end of the
 * batch: the client starts on it while the next super-packets are read and split. */
#define FLUSH_BYTES      (128u * 1024u)

typedef struct Reader {
        Dataplane *dp;
        uint32_t mtu;

        uint8_t *slots;                 /* READ_BATCH messages from the TUN */
        unsigned next_slot;             /* back to 0 after each flush: the slots in use stay in cache */

        uint8_t *arena;                 /* split output, referenced by queued packets */
        size_t arena_size, arena_used;
        struct iovec *segs;
        size_t max_segs, segs_used;

        Client **clients;
        size_t n_clients;
        uint64_t generation;

        DataplaneStats delta;
} Reader;

static void reader_done(Reader *r) {
        dataplane_release_clients(r->clients, r->n_clients);
        free(r->slots);
        free(r->arena);
        free(r->segs);
}

static int reader_init(Reader *r, Dataplane *dp) {
        *r = (Reader) {
                .dp = dp,
                .slots = malloc((size_t) READ_BATCH * READ_SLOT_SIZE),
                .arena = malloc(ARENA_SIZE),
                .arena_size = ARENA_SIZE,
                .segs = calloc(ARENA_SEGS, sizeof(struct iovec)),
                .max_segs = ARENA_SEGS,
        };
        if (!r->slots || !r->arena || !r->segs)
                return -ENOMEM;
        return 0;
}

static void flush_client(Reader *r, Client *c) {
        TransportCounters tc = {};

        c->ops->flush(c->transport, &tc);
        r->delta.rx_packets += tc.packets;
        r->delta.rx_bytes += tc.bytes;
        r->delta.drops_queue_full += tc.drops_queue_full;
        r->delta.drops_too_long += tc.drops_too_long;
        r->delta.drops_invalid += tc.drops_invalid;
}

/* Gives back what one super-packet of tiny segments needed (grow_arena), once it is sent. */
static void shrink_arena(Reader *r) {
        uint8_t *a = realloc(r->arena, ARENA_SIZE);
        struct iovec *s = reallocarray(r->segs, ARENA_SEGS, sizeof(struct iovec));

        if (a) {
                r->arena = a;
                r->arena_size = ARENA_SIZE;
        }
        if (s) {
                r->segs = s;
                r->max_segs = ARENA_SEGS;
        }
}

/* Sends everything queued; afterwards nothing refers to the arena any more. */
static void flush_all(Reader *r) {
        for (size_t i = 0; i < r->n_clients; i++)
                flush_client(r, r->clients[i]);
        r->arena_used = 0;
        r->segs_used = 0;
        r->next_slot = 0;
        if (r->arena_size > ARENA_SIZE || r->max_segs > ARENA_SEGS)
                shrink_arena(r);
}

static void queue_to_client(Reader *r, Client *c, const uint8_t *pkt, size_t len) {
        int q = c->ops->queue(c->transport, pkt, len);

        if (q == -ENOBUFS) {
                flush_client(r, c);
                q = c->ops->queue(c->transport, pkt, len);
        }
        if (q == -EMSGSIZE)
                r->delta.drops_too_long++;      /* e.g. 65534 bytes: more than a batch record holds */
        else if (q < 0)
                r->delta.drops_invalid++;
}

/* Makes room for a split that needs more than the arena has, when it is empty. */
static int grow_arena(Reader *r, size_t bytes, size_t segs) {
        if (bytes > ARENA_MAX_SIZE || segs > ARENA_MAX_SEGS)
                return -E2BIG;
        if (bytes > r->arena_size) {
                uint8_t *a = realloc(r->arena, bytes);
                if (!a)
                        return -ENOMEM;
                r->arena = a;
                r->arena_size = bytes;
        }
        if (segs > r->max_segs) {
                struct iovec *s = reallocarray(r->segs, segs, sizeof(struct iovec));
                if (!s)
                        return -ENOMEM;
                r->segs = s;
                r->max_segs = segs;
        }
        return 0;
}

static int split_into_arena(Reader *r, const uint8_t *msg, size_t len, SplitOutput *out) {
        for (unsigned attempt = 0;; attempt++) {
                int k;

                *out = (SplitOutput) {
                        .buf = r->arena + r->arena_used,
                        .buf_size = r->arena_size - r->arena_used,
                        .segs = r->segs + r->segs_used,
                        .max_segs = r->max_segs - r->segs_used,
                };
                k = offload_split(msg, len, r->mtu, out);
                if (k != -ENOBUFS || attempt >= 2)
                        return k;

                if (r->arena_used > 0 || r->segs_used > 0)
                        flush_all(r);
                else if (grow_arena(r, out->needed_bytes, out->needed_segs) < 0)
                        return -ENOBUFS;
        }
}

/* Splits straight into the client's ring slots, copy and checksum in one pass. Returns
 * the split's result, or -ENOBUFS when the transport has not room enough at hand (the
 * caller splits into the arena and queues, which waits or drops as a full ring says). */
static int split_into_transport(Reader *r, Client *c, const uint8_t *msg, size_t len) {
        SplitOutput out = {
                .segs = r->segs + r->segs_used,
                .max_segs = r->max_segs - r->segs_used,
        };
        size_t room;
        int k;

        if (!c->ops->reserve)
                return -ENOBUFS;
        room = c->ops->reserve(c->transport, &out.buf, &out.stride);
        if (room == 0 || out.stride < r->mtu)
                return -ENOBUFS;
        out.buf_size = room * out.stride;
        out.max_segs = MIN(out.max_segs, room);
        k = offload_split(msg, len, r->mtu, &out);
        if (k > 0)
                c->ops->commit(c->transport, out.segs, out.n_segs);
        return k;
}

static void deliver_split(Reader *r, Client *c, const uint8_t *msg, size_t len) {
        const VnetHdr *h = (const VnetHdr *) msg;
        SplitOutput out;
        int k;

        k = split_into_transport(r, c, msg, len);
        if (k != -ENOBUFS) {
                if (k < 0)
                        r->delta.drops_invalid++;
                else if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE)
                        r->delta.gso_split++;
                return;
        }

        k = split_into_arena(r, msg, len, &out);
        if (k < 0) {
                r->delta.drops_invalid++;
                return;
        }
        if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE)
                r->delta.gso_split++;

        for (size_t i = 0; i < out.n_segs; i++) {
                const uint8_t *end = (const uint8_t *) out.segs[i].iov_base + out.segs[i].iov_len;
                if ((size_t) (end - r->arena) > r->arena_used)
                        r->arena_used = end - r->arena;
        }
        r->segs_used += out.n_segs;

        for (size_t i = 0; i < out.n_segs; i++)
                queue_to_client(r, c, out.segs[i].iov_base, out.segs[i].iov_len);
}

static void deliver(Reader *r, const uint8_t *msg, size_t len) {
        Client *c;

        if (len <= VNET_HDR_LEN) {
                r->delta.drops_invalid++;
                return;
        }
        if (r->n_clients == 0) {
                r->delta.drops_no_client++;
                return;
        }

        c = r->clients[flow_hash(msg + VNET_HDR_LEN, len - VNET_HDR_LEN) % r->n_clients];
        if (c->ops->vnet)
                queue_to_client(r, c, msg, len);
        else
                deliver_split(r, c, msg, len);
}

/* The client that takes every message, where it lets them be read straight into its own
 * memory: with a single client, the flow needs no choosing. */
static Client *direct_client(Reader *r) {
        if (r->n_clients != 1 || !r->clients[0]->ops->reserve_message)
                return NULL;
        return r->clients[0];
}

/* Reads one message straight into c's transport. Returns its length, -ENOBUFS when the
 * transport has no room at hand (the caller reads it the usual way), or negative errno
 * as read() says. */
static ssize_t read_direct(Reader *r, Client *c) {
        struct iovec iov[2];
        size_t n = c->ops->reserve_message(c->transport, READ_SLOT_SIZE, iov);
        ssize_t len;

        if (n == 0)
                return -ENOBUFS;
        len = readv(r->dp->tun_fd, iov, (int) n);
        if (len < 0)
                return -errno;
        if (len <= VNET_HDR_LEN)
                r->delta.drops_invalid++;
        else if ((size_t) len >= READ_SLOT_SIZE)
                r->delta.drops_too_long++;      /* cut, as in read_one() */
        else
                c->ops->commit_message(c->transport, len);
        return len;
}

/* Reads one message from the TUN and delivers it. Returns its length, or negative errno
 * as read() says. */
static ssize_t read_one(Reader *r) {
        Client *direct = direct_client(r);
        uint8_t *slot;
        ssize_t len;

        if (direct) {
                len = read_direct(r, direct);
                if (len != -ENOBUFS)
                        return len;
        }

        slot = r->slots + (size_t) r->next_slot * READ_SLOT_SIZE;
        len = read(r->dp->tun_fd, slot, READ_SLOT_SIZE);
        if (len < 0)
                return -errno;
        if ((size_t) len >= READ_SLOT_SIZE) {
                /* A full slot: the packet was longer than an IP packet's 65535 bytes (a
                 * device with a gso_max_size above 64 KiB) and is cut. */
                r->delta.drops_too_long++;
                return len;
        }
        r->next_slot++;         /* before deliver(), which may flush */
        deliver(r, slot, len);
        return len;
}

/* Reads and delivers up to a batch of messages. Returns the number read, -EAGAIN when the
 * TUN had none, or another negative errno when it is unusable. */
static int read_batch(Reader *r) {
        size_t unflushed = 0;
        unsigned n = 0;

        r->mtu = dataplane_mtu(r->dp);

        while (n < READ_BATCH) {
                ssize_t len = read_one(r);

                if (len == -EINTR)
                        continue;
                if (len == -EAGAIN && n > 0)
                        break;
                if (len == -EAGAIN || len == -EBADFD)
                        return (int) len;       /* nothing to read; the device is gone */
                n++;
                if (len < 0) {
                        /* The kernel dropped that one packet (e.g. EINVAL: a GSO type it
                         * cannot describe in a virtio_net_hdr); the next may be fine. */
                        r->delta.drops_invalid++;
                        continue;
                }
                unflushed += len;
                if (unflushed >= FLUSH_BYTES) {
                        flush_all(r);
                        unflushed = 0;
                }
        }
        return n;
}

/* Waits for the TUN or the wake-up eventfd. Returns false when the reader should stop. */
static bool wait_for_work(Reader *r) {
        struct pollfd p[2] = {
                { .fd = r->dp->tun_fd, .events = POLLIN },
                { .fd = r->dp->wake_fd, .events = POLLIN },
        };

        if (poll(p, 2, -1) < 0 && errno != EINTR)
                return false;
        if (p[1].revents & POLLIN) {
                uint64_t v;
                (void) !read(r->dp->wake_fd, &v, sizeof(v));
        }
        if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))
                return false;
        return !dataplane_stopping(r->dp);
}

static void refresh_clients(Reader *r) {
        uint64_t seen = r->generation;

        dataplane_refresh_clients(r->dp, &r->clients, &r->n_clients, &r->generation);
        if (r->generation == seen)
                return;
        for (size_t i = 0; i < r->n_clients; i++)
                if (r->clients[i]->ops->set_sole)
                        r->clients[i]->ops->set_sole(r->clients[i]->transport, r->n_clients == 1);
}

void *reader_main(void *userdata) {
        Dataplane *dp = userdata;
        Reader r;
        int k;

        k = reader_init(&r, dp);
        if (k < 0) {
                log_error_errno(k, "Failed to set up the device's reader: %m");
                dataplane_mark_broken(dp);
                goto finish;
        }

        while (!dataplane_stopping(dp)) {
                refresh_clients(&r);

                k = read_batch(&r);
                flush_all(&r);
                dataplane_stats_add(dp, &r.delta);
                r.delta = (DataplaneStats) {};

                if (k >= 0)
                        continue;
                if (k == -EAGAIN) {
                        if (wait_for_work(&r))
                                continue;
                        if (dataplane_stopping(dp))
                                break;
                        k = -ENODEV;
                }
                /* EBADFD, or an error poll reported: the device is gone. */
                log_debug_errno(k, "TUN device unusable, closing its clients: %m");
                dataplane_mark_broken(dp);
                break;
        }

finish:
        reader_done(&r);
        return NULL;
}
