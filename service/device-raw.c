/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Raw devices: clients get queues of the kernel's TUN itself (IFF_MULTI_QUEUE), and no
 * packet passes through tund. tund's own fd of the device is a detached queue: it keeps the
 * device and answers its ioctls, and the kernel steers no packet to it.
 *
 * Counting queues. A queue fd is a file of the kernel's; once handed over, tund cannot see
 * the client close it (a dup kept to poll would keep the queue attached, and the kernel
 * would go on steering flows to it). What tund can see is the kernel's own count: the link's
 * IFLA_TUN_NUM_QUEUES and IFLA_TUN_NUM_DISABLED_QUEUES, every open file of the device,
 * attached or detached. Clients is that count less tund's anchor, read when asked (the
 * limits, the property) and every RAW_CLIENTS_POLL_USEC while it is not zero, so that
 * PropertiesChanged follows a client's close within that time. What the kernel cannot tell
 * is whose queue closed: a uid's share is the number handed to it, capped by what the device
 * still has, and forgotten when the device has none. The per-uid limit therefore never lets
 * a uid past it, and may count a closed queue of a uid against it while other queues of
 * the device stay open. */

#include <inttypes.h>
#include <stdlib.h>

#include "device.h"
#include "log.h"
#include "netns.h"
#include "tun.h"

#define RAW_CLIENTS_POLL_USEC (1ull * 1000000ull)

/* Queues of clients now, -errno when the kernel does not say. */
static int device_raw_count(Device *d) {
        TunCounters c;
        int r;

        r = netns_tun_get_counters(d->ctx->rtnl, d->tun_fd, &c);
        if (r < 0)
                return r;
        if (!c.have_queues)
                return -EOPNOTSUPP;
        /* tund's anchor is one of them. */
        return c.queues + c.disabled > 0 ? (int) (c.queues + c.disabled - 1) : 0;
}

static void device_raw_forget_owners(Device *d) {
        d->queue_owners = mfree(d->queue_owners);
        d->n_queue_owners = 0;
}

static int device_raw_on_poll(sd_event_source *s, uint64_t usec, void *userdata);

/* Takes the kernel's count; announces Clients when it changed. Polls while it is not 0. */
static void device_raw_update_clients(Device *d, int n) {
        int r;

        if (n < 0)
                return;
        if (n == 0)
                device_raw_forget_owners(d);
        if ((unsigned) n != d->raw_clients) {
                d->raw_clients = n;
                if (d->ctx->ops->properties_changed)
                        d->ctx->ops->properties_changed(d, (char *[]) { (char *) "Clients", NULL });
        }

        if (n == 0) {
                if (d->raw_clients_timer)
                        (void) sd_event_source_set_enabled(d->raw_clients_timer, SD_EVENT_OFF);
                return;
        }
        if (d->raw_clients_timer) {
                r = sd_event_source_set_time_relative(d->raw_clients_timer, RAW_CLIENTS_POLL_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(d->raw_clients_timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time_relative(d->ctx->event, &d->raw_clients_timer, CLOCK_MONOTONIC,
                                               RAW_CLIENTS_POLL_USEC, 0, device_raw_on_poll, d);
        if (r < 0)
                log_warning_errno(r, "Failed to watch the queues of %s; Clients changes only when asked: %m", d->name);
}

static int device_raw_on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Device *d = userdata;

        device_raw_update_clients(d, device_raw_count(d));
        return 0;
}

static int device_raw_add_owner(Device *d, uid_t uid) {
        RawQueueOwner *grown;

        for (size_t i = 0; i < d->n_queue_owners; i++)
                if (d->queue_owners[i].uid == uid) {
                        d->queue_owners[i].n++;
                        return 0;
                }
        grown = realloc(d->queue_owners, (d->n_queue_owners + 1) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        d->queue_owners = grown;
        d->queue_owners[d->n_queue_owners++] = (RawQueueOwner) { .uid = uid, .n = 1 };
        return 0;
}

int device_open_queue(Device *d, uid_t uid, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        LinkState ours, got;
        int r;

        if (!d->raw)
                return -EINVAL;
        /* TUNSETIFF finds the name in tund's namespace, and makes a device when none has it. */
        r = tun_in_own_netns(d->tun_fd);
        if (r < 0)
                return r;
        if (r == 0)
                return -EREMOTE;
        r = netns_tun_get_link(d->ctx->rtnl, d->tun_fd, &ours);
        if (r < 0)
                return r;
        r = tun_open_queue(ours.name, d->vnet_header, &fd);
        if (r < 0)
                return r;
        /* The device may have moved or been renamed meanwhile, and another taken its name:
         * closing fd then removes what TUNSETIFF made, or detaches from the other. */
        r = tun_in_own_netns(fd);
        if (r < 0)
                return r;
        if (r == 0)
                return -EREMOTE;
        r = netns_tun_get_link(d->ctx->rtnl, fd, &got);
        if (r < 0)
                return r;
        if (got.ifindex != ours.ifindex)
                return -EREMOTE;

        r = device_raw_add_owner(d, uid);
        if (r < 0)
                return r;
        r = device_raw_count(d);
        device_raw_update_clients(d, r >= 0 ? r : (int) d->raw_clients + 1);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

unsigned device_raw_n_clients(Device *d) {
        int n = device_raw_count(d);

        return n >= 0 ? (unsigned) n : d->raw_clients;
}

unsigned device_raw_n_clients_of(Device *d, uid_t uid) {
        int n = device_raw_count(d);

        if (n == 0)
                device_raw_forget_owners(d);
        for (size_t i = 0; i < d->n_queue_owners; i++)
                if (d->queue_owners[i].uid == uid)
                        return n >= 0 && (unsigned) n < d->queue_owners[i].n ? (unsigned) n : d->queue_owners[i].n;
        return 0;
}

/* The link's counters, as clients see them: what the link sent went to the clients. */
int device_raw_get_statistics(Device *d, DataplaneStats *ret) {
        TunCounters c;
        int r;

        *ret = (DataplaneStats) {};
        r = netns_tun_get_counters(d->ctx->rtnl, d->tun_fd, &c);
        if (r < 0)
                return r;
        if (!c.have_stats)
                return -ENODATA;
        *ret = (DataplaneStats) {
                .rx_packets = c.stats.tx_packets,
                .rx_bytes = c.stats.tx_bytes,
                .tx_packets = c.stats.rx_packets,
                .tx_bytes = c.stats.rx_bytes,
                /* What clients wrote and the kernel refused; what the kernel could not
                 * queue to a client (also while none was open). */
                .drops_invalid = c.stats.rx_dropped,
                .drops_queue_full = c.stats.tx_dropped,
        };
        return 0;
}

/* Before tund's fd closes: a non-persistent raw device is removed from the kernel here, as
 * the clients' queues would keep it otherwise; their fds then fail with EBADFD. */
void device_raw_done(Device *d) {
        int r;

        d->raw_clients_timer = sd_event_source_disable_unref(d->raw_clients_timer);
        device_raw_forget_owners(d);
        if (d->persistent || d->tun_fd < 0)
                return;
        r = netns_tun_delete(d->ctx->rtnl, d->tun_fd);
        if (r < 0 && r != -EBADFD && r != -ENODEV)
                log_warning_errno(r, "Failed to remove raw device %s; its clients' queues keep it: %m", d->name);
}
