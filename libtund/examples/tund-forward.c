/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tund-forward: connects two devices' packet fds and forwards bursts of packets both ways,
 * one thread each direction, with libtund. The mode is one option; nothing else in the
 * program depends on it.
 *
 *   tund-forward [--mode=packet|batch|vnet|ring|ring-vnet] [--in-place] [--burst=N] A B
 *
 * A and B name the devices: an interface name or an object path (opened over the system
 * bus, $DBUS_SYSTEM_BUS_ADDRESS), or fd:N for a packet fd of that mode inherited as fd N.
 * --in-place (mode ring): packets are forwarded from the slots they arrived in
 * (tund_ring_peek) straight into slots of the other ring (tund_ring_reserve/_submit), one
 * copy each. It runs until either fd ends (a device deleted, the service stopped), then
 * prints one line per direction:
 *   DIR packets=N bytes=N bad=N maxlen=N reads=N messages=N
 * (reads: sleeps in tund_wait, messages: bursts). Built with TUND_FORWARD_CHECK, --check
 * also verifies every plain packet with check_packet() (the tests' referee). */

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tund.h>

#ifdef TUND_FORWARD_CHECK
const char *packet_check(const uint8_t *pkt, size_t len);
#endif

#define BURST_MAX 256u

typedef struct Direction {
        const char *name;
        tund_fd *in, *out;
        unsigned burst;
        bool in_place, check;
        uint64_t packets, bytes, bad, maxlen, sleeps, bursts;
        int error;                      /* what ended it, other than the peer's end */
        char first_bad[128];
} Direction;

static int stopping;                    /* __atomic: one direction ended, so does the other */

static bool stop_requested(void) {
        return __atomic_load_n(&stopping, __ATOMIC_RELAXED);
}

static void account(Direction *d, const struct tund_packet *p) {
        d->packets++;
        d->bytes += p->len;
        if (p->len > d->maxlen)
                d->maxlen = p->len;
#ifdef TUND_FORWARD_CHECK
        if (d->check) {
                const char *why = packet_check(p->data, p->len);
                if (why && d->bad++ == 0)
                        snprintf(d->first_bad, sizeof(d->first_bad), "%s (length %zu)", why, p->len);
        }
#endif
}

/* Waits up to 100 ms for room to send, unless asked to stop. */
static int wait_for_room(Direction *d) {
        if (stop_requested())
                return -ECANCELED;
        return tund_wait_send(d->out, 100);
}

/* Sends all N packets, waiting for room as needed. 0, or negative errno. */
static int send_all(Direction *d, struct tund_packet *pkts, unsigned n) {
        for (unsigned sent = 0; sent < n;) {
                int r = tund_send_burst(d->out, pkts + sent, n - sent);
                if (r < 0)
                        return r;
                sent += (unsigned) r;
                if (r == 0) {
                        r = wait_for_room(d);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* In place: each packet from its slot in one ring into a slot of the other. Packets longer
 * than a slot (vnet messages chained over several) go by tund_send_burst. */
static int send_in_place(Direction *d, struct tund_packet *pkts, unsigned n) {
        struct tund_packet slots[BURST_MAX];
        size_t slot_size = tund_get_slot_size(d->out);

        for (unsigned i = 0; i < n;) {
                unsigned fit = 0;
                int r;

                while (i + fit < n && pkts[i + fit].len <= slot_size)
                        fit++;
                if (fit == 0) {
                        r = send_all(d, pkts + i, 1);
                        if (r < 0)
                                return r;
                        i++;
                        continue;
                }
                r = tund_ring_reserve(d->out, slots, fit);
                if (r < 0)
                        return r;
                if (r == 0) {
                        r = wait_for_room(d);
                        if (r < 0)
                                return r;
                        continue;
                }
                for (int k = 0; k < r; k++) {
                        memcpy(slots[k].data, pkts[i + k].data, pkts[i + k].len);
                        slots[k].len = pkts[i + k].len;
                }
                r = tund_ring_submit(d->out, slots, (unsigned) r);
                if (r < 0)
                        return r;
                i += (unsigned) r;
        }
        return 0;
}

static void *forward(void *userdata) {
        Direction *d = userdata;
        struct tund_packet pkts[BURST_MAX];
        size_t size = tund_get_max_packet(d->in);
        uint8_t *buf = NULL;
        int r = 0;

        if (!d->in_place) {
                buf = malloc(size * d->burst);
                if (!buf) {
                        d->error = -ENOMEM;
                        goto finish;
                }
        }
        for (;;) {
                int n;

                if (d->in_place)
                        n = tund_ring_peek(d->in, pkts, d->burst);
                else {
                        for (unsigned i = 0; i < d->burst; i++)
                                pkts[i] = (struct tund_packet) { .data = buf + i * size, .size = size };
                        n = tund_recv_burst(d->in, pkts, d->burst);
                }
                if (n < 0) {
                        r = n;
                        break;
                }
                if (n == 0) {
                        if (stop_requested())
                                break;
                        d->sleeps++;
                        r = tund_wait(d->in, 100);
                        if (r < 0)
                                break;
                        continue;
                }
                d->bursts++;
                for (int i = 0; i < n; i++)
                        account(d, &pkts[i]);
                r = d->in_place ? send_in_place(d, pkts, (unsigned) n) : send_all(d, pkts, (unsigned) n);
                if (d->in_place && r >= 0)
                        r = tund_ring_release(d->in);
                if (r < 0)
                        break;
        }
        /* The peer's end, on either fd, or the other direction's, is how this ends. */
        if (r < 0 && r != -EPIPE && r != -ECANCELED)
                d->error = r;
finish:
        __atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
        free(buf);
        return NULL;
}

static int open_device(const char *spec, const struct tund_options *o, tund_fd **ret) {
        if (strncmp(spec, "fd:", 3) == 0) {
                char *end;
                long fd = strtol(spec + 3, &end, 10);
                if (*end || end == spec + 3 || fd < 0 || fd > INT32_MAX)
                        return -EINVAL;
                return tund_fd_from_fd((int) fd, o, ret);
        }
        return tund_open(NULL, spec, o, ret);
}

static void usage(FILE *f, const char *arg0) {
        fprintf(f, "Usage: %s [--mode=packet|batch|vnet|ring|ring-vnet] [--in-place] [--burst=N]%s A B\n"
                   "A, B: a device's name, its object path, or fd:N\n", arg0,
#ifdef TUND_FORWARD_CHECK
                " [--check]"
#else
                ""
#endif
                );
}

int main(int argc, char *argv[]) {
        struct tund_options o = tund_options_init(TUND_MODE_PACKET);
        const char *spec[2] = {};
        unsigned n_spec = 0, burst = 64;
        bool in_place = false, check = false;
        tund_fd *t[2] = {};
        Direction d[2];
        pthread_t th[2];
        int r, status = 0;

        for (int i = 1; i < argc; i++) {
                if (strncmp(argv[i], "--mode=", 7) == 0) {
                        if (tund_options_parse_mode(&o, argv[i] + 7) < 0) {
                                fprintf(stderr, "Unknown mode %s\n", argv[i] + 7);
                                return 2;
                        }
                } else if (strncmp(argv[i], "--burst=", 8) == 0) {
                        burst = (unsigned) strtoul(argv[i] + 8, NULL, 10);
                        if (burst == 0 || burst > BURST_MAX) {
                                fprintf(stderr, "--burst takes 1 to %u\n", BURST_MAX);
                                return 2;
                        }
                } else if (strcmp(argv[i], "--in-place") == 0)
                        in_place = true;
#ifdef TUND_FORWARD_CHECK
                else if (strcmp(argv[i], "--check") == 0)
                        check = true;
#endif
                else if (strcmp(argv[i], "--help") == 0) {
                        usage(stdout, argv[0]);
                        return 0;
                } else if (argv[i][0] == '-' && argv[i][1] == '-') {
                        usage(stderr, argv[0]);
                        return 2;
                } else if (n_spec < 2)
                        spec[n_spec++] = argv[i];
                else {
                        usage(stderr, argv[0]);
                        return 2;
                }
        }
        if (n_spec != 2) {
                usage(stderr, argv[0]);
                return 2;
        }
        if (in_place && o.mode != TUND_MODE_RING) {
                fprintf(stderr, "--in-place needs mode ring or ring-vnet\n");
                return 2;
        }

        for (unsigned i = 0; i < 2; i++) {
                r = open_device(spec[i], &o, &t[i]);
                if (r < 0) {
                        fprintf(stderr, "Failed to open a packet fd of %s: %s\n", spec[i], strerror(-r));
                        tund_fd_free(t[0]);
                        return 1;
                }
        }

        bool plain = !tund_get_vnet(t[0]);
        d[0] = (Direction) { .name = "a2b", .in = t[0], .out = t[1], .burst = burst, .in_place = in_place, .check = check && plain };
        d[1] = (Direction) { .name = "b2a", .in = t[1], .out = t[0], .burst = burst, .in_place = in_place, .check = check && plain };
        for (unsigned i = 0; i < 2; i++)
                if (pthread_create(&th[i], NULL, forward, &d[i]) != 0) {
                        fprintf(stderr, "Failed to start a thread\n");
                        return 1;
                }
        for (unsigned i = 0; i < 2; i++)
                pthread_join(th[i], NULL);

        for (unsigned i = 0; i < 2; i++) {
                printf("%s packets=%llu bytes=%llu bad=%llu maxlen=%llu reads=%llu messages=%llu\n", d[i].name,
                       (unsigned long long) d[i].packets, (unsigned long long) d[i].bytes,
                       (unsigned long long) d[i].bad, (unsigned long long) d[i].maxlen,
                       (unsigned long long) d[i].sleeps, (unsigned long long) d[i].bursts);
                if (d[i].bad)
                        printf("%s first-bad: %s\n", d[i].name, d[i].first_bad);
                if (d[i].error) {
                        fprintf(stderr, "%s: %s\n", d[i].name, strerror(-d[i].error));
                        status = 1;
                }
        }
        for (unsigned i = 0; i < 2; i++)
                tund_fd_free(t[i]);
        return status;
}
