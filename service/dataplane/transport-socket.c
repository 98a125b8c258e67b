/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The SOCK_SEQPACKET transports: "packet" (one plain packet per message), "batch" (plain
 * packets as 2-byte big-endian length records, many per message) and "vnet" (one vnet
 * message per message). Both directions move many messages per system call
 * (sendmmsg/recvmmsg) from buffers allocated once per client. */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "macro.h"
#include "transport.h"
#include "vnet.h"

#define MAX_MESSAGE      65535u                 /* of packet or records, as API.md says */
#define RX_SLOT_SIZE     DATAPLANE_RX_SLOT_SIZE /* +1: sees truncation */
#define RX_MSGS          DATAPLANE_RX_SLOTS     /* messages per recvmmsg */
#define RX_PKTS          1024u                  /* packets returned per receive() */
#define TX_MSGS          1024u                  /* messages per sendmmsg (UIO_MAXIOV) */
#define TX_BATCH_MSGS    64u                    /* batch mode: messages per flush */
#define TX_BATCH_IOVS    4096u                  /* batch mode: record pieces per flush */
#define MSG_MAX_IOVS     1024u                  /* UIO_MAXIOV */
#define SOCKET_BUFFER    (4u << 20)             /* queue room per client and direction */
#define RX_BUF_SIZE      ((size_t) RX_MSGS * RX_SLOT_SIZE)

_Static_assert(RX_SLOT_SIZE == VNET_HDR_LEN + MAX_MESSAGE + 1, "a slot holds the largest message");

typedef enum Framing {
        FRAMING_PACKET,
        FRAMING_BATCH,
        FRAMING_VNET,
} Framing;

struct Transport {
        Framing framing;
        int fd;

        /* Client -> kernel */
        uint8_t *rx_buf;                        /* RX_MSGS slots of RX_SLOT_SIZE, a mapping */
        struct mmsghdr rx_msgs[RX_MSGS];
        struct iovec rx_iovs[RX_MSGS];
        unsigned rx_n, rx_next;                 /* messages received, next to hand out */
        size_t rx_next_off;                     /* batch: offset of next record in rx_next */
        struct iovec rx_pkts[RX_PKTS];

        /* Kernel -> client */
        struct mmsghdr *tx_msgs;                /* TX_MSGS */
        struct iovec *tx_iovs;                  /* TX_MSGS, or TX_BATCH_IOVS for batch */
        uint16_t *tx_lens;                      /* batch: record lengths, big-endian */
        uint16_t *tx_msg_pkts;                  /* batch: records per message */
        unsigned tx_n_msgs, tx_n_iovs;
        size_t tx_cur_bytes;                    /* batch: bytes in the open message */
};

static Transport *transport_socket_free(Transport *t) {
        if (!t)
                return NULL;
        safe_close(t->fd);
        if (t->rx_buf)
                (void) munmap(t->rx_buf, RX_BUF_SIZE);
        free(t->tx_msgs);
        free(t->tx_iovs);
        free(t->tx_lens);
        free(t->tx_msg_pkts);
        free(t);
        return NULL;
}

static void transport_socket_freep(Transport **t) {
        transport_socket_free(*t);
}

static void set_send_buffer(int fd) {
        int size = SOCKET_BUFFER;

        /* Within net.core.wmem_max, the administrator's limit (no SO_SNDBUFFORCE: a client
         * must not make tund hold more kernel memory than any socket may); a smaller one
         * only leaves less room for bursts. */
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

static int transport_socket_new(Framing framing, Transport **ret, int *ret_peer_fd) {
        _cleanup_(transport_socket_freep) Transport *t = NULL;
        int pair[2];

        t = calloc(1, sizeof(Transport));
        if (!t)
                return -ENOMEM;
        t->framing = framing;
        t->fd = -EBADF;

        /* Address space only: a slot's pages are touched as far as messages reach. */
        void *rx = mmap(NULL, RX_BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        t->rx_buf = rx == MAP_FAILED ? NULL : rx;
        t->tx_msgs = calloc(framing == FRAMING_BATCH ? TX_BATCH_MSGS : TX_MSGS, sizeof(struct mmsghdr));
        t->tx_iovs = calloc(framing == FRAMING_BATCH ? TX_BATCH_IOVS : TX_MSGS, sizeof(struct iovec));
        if (!t->rx_buf || !t->tx_msgs || !t->tx_iovs)
                return -ENOMEM;
        if (framing == FRAMING_BATCH) {
                t->tx_lens = calloc(TX_BATCH_IOVS / 2, sizeof(uint16_t));
                t->tx_msg_pkts = calloc(TX_BATCH_MSGS, sizeof(uint16_t));
                if (!t->tx_lens || !t->tx_msg_pkts)
                        return -ENOMEM;
        }

        for (unsigned i = 0; i < RX_MSGS; i++) {
                t->rx_iovs[i] = (struct iovec) {
                        .iov_base = t->rx_buf + (size_t) i * RX_SLOT_SIZE,
                        .iov_len = RX_SLOT_SIZE,
                };
                t->rx_msgs[i].msg_hdr = (struct msghdr) {
                        .msg_iov = &t->rx_iovs[i],
                        .msg_iovlen = 1,
                };
        }

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        t->fd = pair[0];
        set_send_buffer(pair[0]);
        set_send_buffer(pair[1]);

        *ret_peer_fd = pair[1];
        *ret = TAKE_PTR(t);
        return 0;
}

static int new_packet(const ClientOptions *o, Transport **ret, int *ret_peer_fd) {
        return transport_socket_new(FRAMING_PACKET, ret, ret_peer_fd);
}

static int new_batch(const ClientOptions *o, Transport **ret, int *ret_peer_fd) {
        return transport_socket_new(FRAMING_BATCH, ret, ret_peer_fd);
}

static int new_vnet(const ClientOptions *o, Transport **ret, int *ret_peer_fd) {
        return transport_socket_new(FRAMING_VNET, ret, ret_peer_fd);
}

/* ---- Kernel -> client ------------------------------------------------------------------ */

static int queue_message(Transport *t, const uint8_t *pkt, size_t len) {
        if (t->tx_n_msgs >= TX_MSGS)
                return -ENOBUFS;

        t->tx_iovs[t->tx_n_msgs] = (struct iovec) { .iov_base = (void *) pkt, .iov_len = len };
        t->tx_msgs[t->tx_n_msgs].msg_hdr = (struct msghdr) {
                .msg_iov = &t->tx_iovs[t->tx_n_msgs],
                .msg_iovlen = 1,
        };
        t->tx_n_msgs++;
        return 0;
}

static int queue_record(Transport *t, const uint8_t *pkt, size_t len) {
        struct mmsghdr *m;

        if (len > MAX_MESSAGE - 2)
                return -EMSGSIZE;

        /* Checked first: a message opened and then left empty would read as end-of-file. */
        if (t->tx_n_iovs + 2 > TX_BATCH_IOVS)
                return -ENOBUFS;

        m = t->tx_n_msgs > 0 ? &t->tx_msgs[t->tx_n_msgs - 1] : NULL;
        if (!m || t->tx_cur_bytes + 2 + len > MAX_MESSAGE || m->msg_hdr.msg_iovlen + 2 > MSG_MAX_IOVS) {
                if (t->tx_n_msgs >= TX_BATCH_MSGS)
                        return -ENOBUFS;
                m = &t->tx_msgs[t->tx_n_msgs];
                m->msg_hdr = (struct msghdr) { .msg_iov = &t->tx_iovs[t->tx_n_iovs] };
                t->tx_msg_pkts[t->tx_n_msgs] = 0;
                t->tx_n_msgs++;
                t->tx_cur_bytes = 0;
        }

        uint16_t *be_len = &t->tx_lens[t->tx_n_iovs / 2];
        *be_len = htobe16((uint16_t) len);
        t->tx_iovs[t->tx_n_iovs++] = (struct iovec) { .iov_base = be_len, .iov_len = 2 };
        t->tx_iovs[t->tx_n_iovs++] = (struct iovec) { .iov_base = (void *) pkt, .iov_len = len };
        m->msg_hdr.msg_iovlen += 2;
        t->tx_cur_bytes += 2 + len;
        t->tx_msg_pkts[t->tx_n_msgs - 1]++;
        return 0;
}

static int transport_socket_queue(Transport *t, const uint8_t *pkt, size_t len) {
        if (t->framing == FRAMING_BATCH)
                return queue_record(t, pkt, len);
        return queue_message(t, pkt, len);
}

static uint64_t packets_in(Transport *t, unsigned from, unsigned to) {
        uint64_t n = 0;

        if (t->framing != FRAMING_BATCH)
                return to - from;
        for (unsigned i = from; i < to; i++)
                n += t->tx_msg_pkts[i];
        return n;
}

static uint64_t bytes_in(Transport *t, unsigned from, unsigned to) {
        uint64_t n = 0;

        /* Only the packets count, not the record lengths. */
        for (unsigned i = from; i < to; i++)
                n += t->tx_msgs[i].msg_len;
        if (t->framing == FRAMING_BATCH)
                n -= 2 * packets_in(t, from, to);
        return n;
}

static void transport_socket_flush(Transport *t, TransportCounters *c) {
        unsigned sent = 0;

        while (sent < t->tx_n_msgs) {
                int r = sendmmsg(t->fd, t->tx_msgs + sent, t->tx_n_msgs - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0 && errno == EMSGSIZE) {
                        /* Longer than the socket's send buffer allows (a small
                         * net.core.wmem_max): that message alone is lost. */
                        c->drops_too_long += packets_in(t, sent, sent + 1);
                        sent++;
                        continue;
                }
                if (r < 0)
                        break;  /* EAGAIN: queue full; EPIPE etc.: the client is going away */
                c->packets += packets_in(t, sent, sent + r);
                c->bytes += bytes_in(t, sent, sent + r);
                sent += r;
        }
        c->drops_queue_full += packets_in(t, sent, t->tx_n_msgs);

        t->tx_n_msgs = t->tx_n_iovs = 0;
        t->tx_cur_bytes = 0;
}

/* ---- Client -> kernel ------------------------------------------------------------------ */

static bool peer_gone(Transport *t) {
        struct pollfd p = { .fd = t->fd, .events = POLLIN | POLLRDHUP };

        return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Receives the next messages. Returns > 0, 0 at end-of-file, or negative errno (-EAGAIN:
 * none waiting, without wait). */
static int receive_messages(Transport *t, bool wait) {
        int r;

        for (unsigned i = 0; i < RX_MSGS; i++)
                t->rx_msgs[i].msg_hdr.msg_flags = 0;

        do
                r = recvmmsg(t->fd, t->rx_msgs, RX_MSGS, wait ? MSG_WAITFORONE : MSG_DONTWAIT, NULL);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;

        /* A seqpacket socket reads end-of-file as empty messages, which only trail a
         * batch; an empty message a client really sent is followed by more, or by a
         * socket that is still open. */
        unsigned n = r;
        while (n > 0 && t->rx_msgs[n - 1].msg_len == 0)
                n--;
        if (n < (unsigned) r && peer_gone(t)) {
                if (n == 0)
                        return 0;
                r = n;
        }

        t->rx_n = r;
        t->rx_next = 0;
        t->rx_next_off = 0;
        return r;
}

/* Whether the records of a batch message add up to exactly its length. */
static bool records_add_up(const uint8_t *p, size_t len) {
        size_t off = 0;

        while (off + 2 <= len) {
                size_t rec = (size_t) p[off] << 8 | p[off + 1];
                if (rec == 0 || off + 2 + rec > len)
                        return false;
                off += 2 + rec;
        }
        return off == len;
}

/* Whether a message may be taken: whole, not empty, within the size limit, and for batch
 * framing made of records that add up to exactly its length. */
static bool message_acceptable(const Transport *t, const struct mmsghdr *m, const uint8_t *p) {
        size_t min = t->framing == FRAMING_VNET ? VNET_HDR_LEN + 1 : 1;
        size_t max = t->framing == FRAMING_VNET ? VNET_HDR_LEN + MAX_MESSAGE : MAX_MESSAGE;

        if ((m->msg_hdr.msg_flags & MSG_TRUNC) || m->msg_len < min || m->msg_len > max)
                return false;
        return t->framing != FRAMING_BATCH || records_add_up(p, m->msg_len);
}

static unsigned take_records(Transport *t, const uint8_t *p, size_t len, unsigned n_pkts,
                             TransportCounters *c) {
        while (t->rx_next_off < len && n_pkts < RX_PKTS) {
                size_t rec = (size_t) p[t->rx_next_off] << 8 | p[t->rx_next_off + 1];

                t->rx_pkts[n_pkts++] = (struct iovec) {
                        .iov_base = (uint8_t *) p + t->rx_next_off + 2,
                        .iov_len = rec,
                };
                c->packets++;
                c->bytes += rec;
                t->rx_next_off += 2 + rec;
        }
        return n_pkts;
}

static int transport_socket_receive(Transport *t, bool wait, const struct iovec **ret_pkts,
                                    TransportCounters *c) {
        unsigned n_pkts = 0;

        if (t->rx_next >= t->rx_n) {
                int r = receive_messages(t, wait);
                if (r <= 0)
                        return r;
        }

        while (t->rx_next < t->rx_n && n_pkts < RX_PKTS) {
                const struct mmsghdr *m = &t->rx_msgs[t->rx_next];
                const uint8_t *p = t->rx_iovs[t->rx_next].iov_base;

                if (t->rx_next_off == 0 && !message_acceptable(t, m, p)) {
                        c->drops_invalid++;
                        t->rx_next++;
                        continue;
                }

                if (t->framing == FRAMING_BATCH) {
                        n_pkts = take_records(t, p, m->msg_len, n_pkts, c);
                        if (t->rx_next_off < m->msg_len)
                                break;  /* out of room: the rest on the next call */
                } else {
                        t->rx_pkts[n_pkts++] = (struct iovec) {
                                .iov_base = (void *) p,
                                .iov_len = m->msg_len,
                        };
                        c->packets++;
                        c->bytes += m->msg_len;
                }
                t->rx_next++;
                t->rx_next_off = 0;
        }

        if (n_pkts == 0)
                return -EAGAIN; /* all refused, counted in c */
        *ret_pkts = t->rx_pkts;
        return (int) n_pkts;
}

static void transport_socket_wait_closed(Transport *t) {
        /* POLLHUP comes when both directions are shut: the client closed its end, or
         * shutdown() shut ours. */
        struct pollfd p = { .fd = t->fd };

        /* Nothing is received any more: the slots' pages go back meanwhile. */
        (void) madvise(t->rx_buf, RX_BUF_SIZE, MADV_DONTNEED);

        while (poll(&p, 1, -1) < 0 && errno == EINTR)
                ;
}

static void transport_socket_shutdown(Transport *t) {
        (void) shutdown(t->fd, SHUT_RDWR);
}

/* The three framings differ only in how a transport is made. */
#define SOCKET_OPS(m, v, n)                                     \
        {                                                       \
                .mode = (m),                                    \
                .vnet = (v),                                    \
                .new = (n),                                     \
                .free = transport_socket_free,                  \
                .queue = transport_socket_queue,                \
                .flush = transport_socket_flush,                \
                .receive = transport_socket_receive,            \
                .wait_closed = transport_socket_wait_closed,    \
                .shutdown = transport_socket_shutdown,          \
        }

const TransportOps transport_socket_packet_ops = SOCKET_OPS(CLIENT_MODE_PACKET, false, new_packet);
const TransportOps transport_socket_batch_ops = SOCKET_OPS(CLIENT_MODE_BATCH, false, new_batch);
const TransportOps transport_socket_vnet_ops = SOCKET_OPS(CLIENT_MODE_VNET, true, new_vnet);
