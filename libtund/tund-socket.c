/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Modes packet, batch and vnet: a packet (or vnet message) per seqpacket message, moved
 * with recvmmsg/sendmmsg, or in batch mode many per message as 2-byte length records
 * (API.md, "Packet fds"). Every system call here is MSG_DONTWAIT: whether one blocks never
 * depends on the fd's file status flags; only tund_wait and tund_wait_send sleep, in poll. */

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "tund-internal.h"

struct SocketRx {
        struct mmsghdr msgs[TUND_SOCKET_BURST];
        struct iovec iov[TUND_SOCKET_BURST];
        /* Batch mode: messages received and not yet handed out in full. */
        uint8_t *buf;                           /* TUND_BATCH_MESSAGES x TUND_BATCH_MESSAGE_MAX */
        unsigned cur, count;                    /* message being parsed, messages held */
        size_t off;                             /* next record in message cur */
        bool eof;                               /* end-of-file after those */
};

struct SocketTx {
        struct mmsghdr msgs[TUND_SOCKET_BURST];
        struct iovec iov[TUND_SOCKET_BURST];
        uint8_t *buf;                           /* batch mode, as SocketRx.buf */
        unsigned packets[TUND_BATCH_MESSAGES];  /* records in each message being built */
};

static uint8_t *message_buf(uint8_t *buf, unsigned i) {
        return buf + (size_t) i * TUND_BATCH_MESSAGE_MAX;
}

int tund_socket_init(tund_fd *t) {
        t->srx = calloc(1, sizeof(SocketRx));
        t->stx = calloc(1, sizeof(SocketTx));
        if (!t->srx || !t->stx)
                return -ENOMEM;
        if (t->mode == TUND_MODE_BATCH) {
                t->srx->buf = malloc((size_t) TUND_BATCH_MESSAGES * TUND_BATCH_MESSAGE_MAX);
                t->stx->buf = malloc((size_t) TUND_BATCH_MESSAGES * TUND_BATCH_MESSAGE_MAX);
                if (!t->srx->buf || !t->stx->buf)
                        return -ENOMEM;
        }
        return 0;
}

void tund_socket_done(tund_fd *t) {
        if (t->srx)
                free(t->srx->buf);
        if (t->stx)
                free(t->stx->buf);
        free(t->srx);
        free(t->stx);
        t->srx = NULL;
        t->stx = NULL;
}

/* A failed receive: nothing waiting is not an error, the peer's end is -EPIPE. */
static int recv_failed(tund_fd *t, int error) {
        if (error == EAGAIN || error == EINTR)
                return 0;
        if (error == ECONNRESET || error == EPIPE)
                return tund_fd_fail(t, -EPIPE);
        return tund_fd_fail(t, -error);
}

static int send_failed(tund_fd *t, int error) {
        if (error == EAGAIN || error == EINTR || error == ENOBUFS)
                return 0;
        if (error == ECONNRESET || error == EPIPE || error == ENOTCONN)
                return tund_fd_fail(t, -EPIPE);
        return tund_fd_fail(t, -error);
}

static void swap_packets(struct tund_packet *a, struct tund_packet *b) {
        struct tund_packet x = *a;

        *a = *b;
        *b = x;
}

/* Modes packet and vnet: straight into the caller's buffers. */
static int recv_messages(tund_fd *t, struct tund_packet *pkts, unsigned n) {
        SocketRx *s = t->srx;
        unsigned out = 0;
        int r;

        if (s->eof)
                return tund_fd_fail(t, -EPIPE);
        if (n > TUND_SOCKET_BURST)
                n = TUND_SOCKET_BURST;
        for (unsigned i = 0; i < n; i++) {
                s->iov[i] = (struct iovec) { .iov_base = pkts[i].data, .iov_len = pkts[i].size };
                s->msgs[i] = (struct mmsghdr) { .msg_hdr = { .msg_iov = &s->iov[i], .msg_iovlen = 1 } };
        }
        t->rx_syscalls++;
        r = recvmmsg(t->fd, s->msgs, n, MSG_DONTWAIT, NULL);
        if (r < 0)
                return recv_failed(t, errno);
        if (r == 0)
                return tund_fd_fail(t, -EPIPE);
        for (int i = 0; i < r; i++) {
                size_t len = s->msgs[i].msg_len;

                if (len == 0) {         /* end-of-file: tund sends no empty message */
                        s->eof = true;
                        break;
                }
                if (s->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
                        t->rx_truncated++;
                        continue;
                }
                if (len < t->min_len || len > t->max_len)
                        return tund_fd_fail(t, -EBADMSG);
                /* Packets first: a dropped one's buffer moves behind them. */
                if ((unsigned) i != out)
                        swap_packets(&pkts[out], &pkts[i]);
                pkts[out].len = len;
                t->rx_packets++;
                t->rx_bytes += len;
                out++;
        }
        if (out == 0 && s->eof)
                return tund_fd_fail(t, -EPIPE);
        return (int) out;
}

/* Batch mode: whether the records of a message add up exactly, each a packet. */
static bool records_valid(const uint8_t *msg, size_t len) {
        for (size_t off = 0; off < len;) {
                size_t rec;

                if (len - off < 2)
                        return false;
                rec = (size_t) msg[off] << 8 | msg[off + 1];
                if (rec == 0 || rec > len - off - 2)
                        return false;
                off += 2 + rec;
        }
        return len > 0;
}

static int fill_batch(tund_fd *t) {
        SocketRx *s = t->srx;
        int r;

        for (unsigned i = 0; i < TUND_BATCH_MESSAGES; i++) {
                s->iov[i] = (struct iovec) { .iov_base = message_buf(s->buf, i), .iov_len = TUND_BATCH_MESSAGE_MAX };
                s->msgs[i] = (struct mmsghdr) { .msg_hdr = { .msg_iov = &s->iov[i], .msg_iovlen = 1 } };
        }
        t->rx_syscalls++;
        r = recvmmsg(t->fd, s->msgs, TUND_BATCH_MESSAGES, MSG_DONTWAIT, NULL);
        if (r < 0)
                return recv_failed(t, errno);
        if (r == 0)
                return tund_fd_fail(t, -EPIPE);
        s->cur = 0;
        s->off = 0;
        s->count = 0;
        for (int i = 0; i < r; i++) {
                if (s->msgs[i].msg_len == 0) {
                        s->eof = true;
                        break;
                }
                /* The whole message is checked before any record of it is used; the
                 * buffer is private, so what was checked is what is handed out. */
                if ((s->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ||
                    !records_valid(message_buf(s->buf, i), s->msgs[i].msg_len))
                        return tund_fd_fail(t, -EBADMSG);
                s->count++;
        }
        if (s->count == 0 && s->eof)
                return tund_fd_fail(t, -EPIPE);
        return (int) s->count;
}

static int recv_batch(tund_fd *t, struct tund_packet *pkts, unsigned n) {
        SocketRx *s = t->srx;
        bool filled = false;
        unsigned out = 0;

        while (out < n) {
                if (s->cur == s->count) {
                        if (s->eof)
                                return out > 0 ? (int) out : tund_fd_fail(t, -EPIPE);
                        if (filled)     /* one system call per burst at most */
                                break;
                        filled = true;
                        int r = fill_batch(t);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                break;
                }
                const uint8_t *msg = message_buf(s->buf, s->cur);
                size_t rec = (size_t) msg[s->off] << 8 | msg[s->off + 1];
                const uint8_t *pkt = msg + s->off + 2;

                s->off += 2 + rec;
                if (s->off == s->msgs[s->cur].msg_len) {
                        s->cur++;
                        s->off = 0;
                }
                if (rec > pkts[out].size) {
                        t->rx_truncated++;
                        continue;
                }
                memcpy(pkts[out].data, pkt, rec);
                pkts[out].len = rec;
                t->rx_packets++;
                t->rx_bytes += rec;
                out++;
        }
        return (int) out;
}

int tund_socket_recv(tund_fd *t, struct tund_packet *pkts, unsigned n) {
        return t->mode == TUND_MODE_BATCH ? recv_batch(t, pkts, n) : recv_messages(t, pkts, n);
}

static bool len_valid(const tund_fd *t, size_t len) {
        return len >= t->min_len && len <= t->max_len;
}

static int send_messages(tund_fd *t, const struct tund_packet *pkts, unsigned n) {
        SocketTx *s = t->stx;
        unsigned m = 0;
        int r;

        if (n > TUND_SOCKET_BURST)
                n = TUND_SOCKET_BURST;
        for (; m < n && len_valid(t, pkts[m].len); m++) {
                s->iov[m] = (struct iovec) { .iov_base = pkts[m].data, .iov_len = pkts[m].len };
                s->msgs[m] = (struct mmsghdr) { .msg_hdr = { .msg_iov = &s->iov[m], .msg_iovlen = 1 } };
        }
        if (m == 0)
                return -EMSGSIZE;
        t->tx_syscalls++;
        r = sendmmsg(t->fd, s->msgs, m, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r < 0)
                return send_failed(t, errno);
        for (int i = 0; i < r; i++)
                t->tx_bytes += pkts[i].len;
        t->tx_packets += (unsigned) r;
        return r;
}

static int send_batch(tund_fd *t, const struct tund_packet *pkts, unsigned n) {
        SocketTx *s = t->stx;
        unsigned m = 0, i = 0;
        size_t used = 0;
        int r;

        memset(s->packets, 0, sizeof(s->packets));
        for (; i < n && len_valid(t, pkts[i].len); i++) {
                size_t len = pkts[i].len;

                if (used + 2 + len > TUND_BATCH_MESSAGE_MAX) {
                        s->iov[m] = (struct iovec) { .iov_base = message_buf(s->buf, m), .iov_len = used };
                        if (++m == TUND_BATCH_MESSAGES)
                                break;
                        used = 0;
                }
                uint8_t *rec = message_buf(s->buf, m) + used;
                rec[0] = (uint8_t) (len >> 8);
                rec[1] = (uint8_t) len;
                memcpy(rec + 2, pkts[i].data, len);
                used += 2 + len;
                s->packets[m]++;
        }
        if (i == 0)
                return -EMSGSIZE;
        if (m < TUND_BATCH_MESSAGES && used > 0) {
                s->iov[m] = (struct iovec) { .iov_base = message_buf(s->buf, m), .iov_len = used };
                m++;
        }
        for (unsigned k = 0; k < m; k++)
                s->msgs[k] = (struct mmsghdr) { .msg_hdr = { .msg_iov = &s->iov[k], .msg_iovlen = 1 } };

        t->tx_syscalls++;
        r = sendmmsg(t->fd, s->msgs, m, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r < 0)
                return send_failed(t, errno);
        unsigned sent = 0;
        for (int k = 0; k < r; k++)
                sent += s->packets[k];
        for (unsigned k = 0; k < sent; k++)
                t->tx_bytes += pkts[k].len;
        t->tx_packets += sent;
        return (int) sent;
}

int tund_socket_send(tund_fd *t, const struct tund_packet *pkts, unsigned n) {
        return t->mode == TUND_MODE_BATCH ? send_batch(t, pkts, n) : send_messages(t, pkts, n);
}

int tund_socket_wait(tund_fd *t, int timeout_ms) {
        SocketRx *s = t->srx;
        int r;

        if (s->cur < s->count)
                return 1;
        if (s->eof)
                return tund_fd_fail(t, -EPIPE);
        t->rx_syscalls++;
        r = tund_poll_one(t->fd, POLLIN | POLLRDHUP, timeout_ms);
        if (r < 0)
                return tund_fd_fail(t, r);
        if (r & POLLNVAL)
                return tund_fd_fail(t, -EBADF);
        if (r & POLLIN)
                return 1;       /* packets, or the end-of-file that tund_recv_burst reports */
        if (r & (POLLHUP | POLLRDHUP | POLLERR))
                return tund_fd_fail(t, -EPIPE);
        return 0;
}

int tund_socket_wait_send(tund_fd *t, int timeout_ms) {
        int r;

        t->tx_syscalls++;
        r = tund_poll_one(t->fd, POLLOUT, timeout_ms);
        if (r < 0)
                return tund_fd_fail(t, r);
        if (r & POLLNVAL)
                return tund_fd_fail(t, -EBADF);
        if (r & (POLLHUP | POLLERR))
                return tund_fd_fail(t, -EPIPE);
        return r & POLLOUT ? 1 : 0;
}
