/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <limits.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "link-monitor.h"
#include "link-netlink.h"
#include "link-probe.h"
#include "list.h"
#include "log.h"
#include "macro.h"
#include "netns.h"
#include "nl-util.h"
#include "tun.h"

#define NSID_UNKNOWN INT_MIN
#define DATAGRAM_MAX (64 * 1024)
/* Watches probed per dispatch of the probe timer. */
#define PROBE_BATCH 128
/* How long a device that is up gets to become running after its watch began (below). */
#define SETTLE_USEC (2 * 1000 * 1000ULL)
/* First retry while a namespace that held a device is being destroyed. */
#define DYING_RECHECK_USEC (10 * 1000ULL)

/* A netlink datagram read ahead of its turn (see link_monitor_watch). */
typedef struct Datagram {
        struct Datagram *next;
        uint64_t gen;
        int nsid;
        size_t size;
        uint8_t data[];
} Datagram;

typedef enum ProbeResult {
        PROBE_NONE,
        PROBE_STATE,
        PROBE_GONE,
} ProbeResult;

struct LinkWatch {
        LinkMonitor *monitor;
        LinkWatch *prev, *next;
        LinkWatch *ready_prev, *ready_next;
        bool in_ready;

        int tun_fd;
        const LinkWatchOps *ops;
        void *userdata;

        /* Where the device is; netlink messages about it carry (nsid, ifindex). */
        ino_t netns_ino;
        int nsid;
        int ifindex;
        uint64_t first_gen;             /* datagrams read before the watch began are older than its state */
        uint64_t netlink_seen;          /* messages about it applied so far */

        LinkState state;                /* as last reported */
        uint64_t settle_until;          /* not running yet is no change before this */

        /* A probe's answer, applied unless netlink spoke about the device meanwhile. */
        ProbeResult probe_result;
        LinkState probe_state;
        bool probe_admin_up;
        uint64_t probe_netlink_seen;

        bool recheck;                   /* probe at the next recheck */
        bool dying;                     /* its namespace is being destroyed */
        bool gone;
};

struct LinkMonitor {
        sd_event *event;
        ino_t self_netns_ino;
        int self_nsid;                  /* the id our namespace has in itself, usually none */
        int ioctl_fd;                   /* in our namespace */
        struct nl_sock *rtnl;           /* requests: namespace ids, links elsewhere */

        struct nl_sock *listener;       /* NULL while netlink is off */
        sd_event_source *listener_source;
        uint8_t *buffer;
        uint64_t next_gen;
        Datagram *backlog, **backlog_tail;

        sd_event_source *probe_timer;
        uint64_t probe_interval;
        sd_event_source *recheck_timer;
        uint64_t recheck_delay;

        LinkWatch *watches;
        LinkWatch *probe_cursor;        /* the next watch the running probe round takes */
        LinkWatch *ready, *ready_tail;  /* probe answers not applied yet */
};

static bool link_state_equal(const LinkState *a, const LinkState *b) {
        return a->ifindex == b->ifindex &&
                a->mtu == b->mtu &&
                a->up == b->up &&
                strncmp(a->name, b->name, IFNAMSIZ) == 0;
}

/* A TUN has no carrier while no fd is attached, and the kernel's link watch sets
 * IFF_RUNNING up to a second after the carrier came (rate-limited work). A device that is
 * administratively up when its watch begins, typically as tund attaches it again after a
 * restart, is taken as up, and "up but not running yet" during the next SETTLE_USEC is no
 * change. */
static bool watch_settling(LinkWatch *w, const LinkState *s, bool admin_up) {
        uint64_t now;

        if (w->settle_until == 0)
                return false;
        if (s->up || !admin_up ||
            sd_event_now(w->monitor->event, CLOCK_MONOTONIC, &now) < 0 || now >= w->settle_until) {
                w->settle_until = 0;
                return false;
        }
        return true;
}

static void watch_report_state(LinkWatch *w, const LinkState *state, bool admin_up) {
        LinkState settled;
        const LinkState *s = state;

        if (watch_settling(w, state, admin_up)) {
                settled = *state;
                settled.up = w->state.up;
                s = &settled;
        }
        if (w->gone || link_state_equal(&w->state, s))
                return;
        w->state = *s;
        if (w->ops->changed)
                w->ops->changed(w, &w->state, w->userdata);
}

static void watch_report_gone(LinkWatch *w) {
        if (w->gone)
                return;
        w->gone = true;
        w->recheck = false;
        if (w->ops->gone)
                w->ops->gone(w, w->userdata);
}

static void ready_remove(LinkMonitor *m, LinkWatch *w) {
        if (!w->in_ready)
                return;
        if (w->ready_prev)
                w->ready_prev->ready_next = w->ready_next;
        else
                m->ready = w->ready_next;
        if (w->ready_next)
                w->ready_next->ready_prev = w->ready_prev;
        else
                m->ready_tail = w->ready_prev;
        w->ready_prev = w->ready_next = NULL;
        w->in_ready = false;
}

static void ready_append(LinkMonitor *m, LinkWatch *w) {
        if (w->in_ready)
                return;
        w->ready_prev = m->ready_tail;
        w->ready_next = NULL;
        if (m->ready_tail)
                m->ready_tail->ready_next = w;
        else
                m->ready = w;
        m->ready_tail = w;
        w->in_ready = true;
}

static void schedule_recheck(LinkMonitor *m, uint64_t delay) {
        uint64_t now, when;
        int enabled = SD_EVENT_OFF;
        int r;

        r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return (void) log_error_errno(r, "Failed to read the loop's clock: %m");
        when = now + delay;

        (void) sd_event_source_get_enabled(m->recheck_timer, &enabled);
        if (enabled != SD_EVENT_OFF) {
                uint64_t current;
                if (sd_event_source_get_time(m->recheck_timer, &current) >= 0 && current <= when)
                        return;
        }
        r = sd_event_source_set_time(m->recheck_timer, when);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->recheck_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Failed to schedule a link recheck: %m");
}

/* The id the namespace netns_fd has in ours: what netlink messages from there carry and
 * what requests to there name. */
static int monitor_nsid_of(LinkMonitor *m, int netns_fd, ino_t ino) {
        int nsid;

        if (ino == m->self_netns_ino)
                return LINK_NSID_SELF;
        nsid = netns_get_or_assign_nsid(m->rtnl, netns_fd);
        if (nsid < 0) {
                log_debug_errno(nsid, "Failed to get an id for a device's namespace: %m");
                return NSID_UNKNOWN;
        }
        return nsid == m->self_nsid ? LINK_NSID_SELF : nsid;
}

/* Finds the namespace the device is in now, and moves the watch there when it changed. */
static int watch_locate(LinkWatch *w) {
        _cleanup_close_ int netns_fd = -EBADF;
        ino_t ino;
        int r;

        netns_fd = netns_open_of_tun(w->tun_fd);
        if (netns_fd < 0)
                return netns_fd;
        r = netns_inode(netns_fd, &ino);
        if (r < 0)
                return r;

        if (ino != w->netns_ino || w->nsid == NSID_UNKNOWN) {
                w->netns_ino = ino;
                w->nsid = monitor_nsid_of(w->monitor, netns_fd, ino);
                w->ifindex = 0;
        }
        return w->nsid == NSID_UNKNOWN ? -EAGAIN : 0;
}

/* In our namespace ioctls answer. Elsewhere they would need a socket inside that
 * namespace, so a request addressed to it by id asks instead (see netns.h). */
static int watch_read(LinkWatch *w, LinkState *ret, bool *ret_admin_up) {
        char name[IFNAMSIZ];
        unsigned flags;
        int r;

        if (w->nsid == LINK_NSID_SELF)
                return link_probe_read(w->tun_fd, w->monitor->ioctl_fd, ret, ret_admin_up);

        r = tun_get_info(w->tun_fd, name, NULL);
        if (r < 0)
                return r;
        r = netns_link_get_flags(w->monitor->rtnl, w->nsid, 0, name, ret, &flags);
        /* ENODEV: renamed or moved meanwhile. */
        if (r < 0)
                return r == -ENODEV ? -EAGAIN : r;
        *ret_admin_up = flags & IFF_UP;
        return 0;
}

/* Whether a device whose namespace is going away lives elsewhere by now: moved out just
 * before its old namespace was deleted, it is not dying with it. */
static bool watch_left_its_namespace(LinkWatch *w) {
        _cleanup_close_ int netns_fd = -EBADF;
        ino_t ino;

        netns_fd = netns_open_of_tun(w->tun_fd);
        if (netns_fd < 0 || netns_inode(netns_fd, &ino) < 0)
                return false;
        return ino != w->netns_ino;
}

static void watch_probe(LinkWatch *w) {
        LinkMonitor *m = w->monitor;
        char name[IFNAMSIZ];
        LinkState s;
        bool admin_up;
        int r;

        w->probe_result = PROBE_NONE;

        if (w->dying && !watch_left_its_namespace(w)) {
                /* Only ask the TUN fd: the namespace is half torn down. */
                r = tun_get_info(w->tun_fd, name, NULL);
                if (r == -EBADFD)
                        w->probe_result = PROBE_GONE;
                else if (m->recheck_delay < m->probe_interval)
                        w->recheck = true;
                else
                        w->dying = false;
                return;
        }
        w->dying = false;

        r = watch_locate(w);
        if (r >= 0)
                r = watch_read(w, &s, &admin_up);
        if (r == -EBADFD) {
                w->probe_result = PROBE_GONE;
                return;
        }
        if (r < 0) {
                if (r != -EAGAIN)
                        log_debug_errno(r, "Failed to probe link %s: %m", w->state.name);
                return;
        }

        w->ifindex = s.ifindex;
        w->probe_state = s;
        w->probe_admin_up = admin_up;
        w->probe_netlink_seen = w->netlink_seen;
        w->probe_result = PROBE_STATE;
}

static void listener_drain(LinkMonitor *m);

static void watch_probe_into_ready(LinkWatch *w) {
        w->recheck = false;
        watch_probe(w);
        if (w->probe_result != PROBE_NONE)
                ready_append(w->monitor, w);
}

/* Applies the probes' answers. Netlink messages queued meanwhile are handled first: a
 * device netlink spoke about since its probe keeps netlink's word, which is never older
 * than the probe's. */
static void monitor_apply_probes(LinkMonitor *m) {
        LinkWatch *w;

        if (m->listener)
                listener_drain(m);

        /* Callbacks may free any watch; free takes it off the ready list. */
        while ((w = m->ready)) {
                ready_remove(m, w);
                if (w->probe_result == PROBE_GONE)
                        watch_report_gone(w);
                else if (w->probe_netlink_seen == w->netlink_seen)
                        watch_report_state(w, &w->probe_state, w->probe_admin_up);
        }
}

/* Probes the watches marked for a recheck (few) at once. */
static void monitor_probe_marked(LinkMonitor *m) {
        for (LinkWatch *w = m->watches; w; w = w->next)
                if (!w->gone && w->recheck)
                        watch_probe_into_ready(w);
        monitor_apply_probes(m);
}

static bool monitor_has_marked(LinkMonitor *m) {
        for (LinkWatch *w = m->watches; w; w = w->next)
                if (w->recheck && !w->gone)
                        return true;
        return false;
}

static int on_recheck(sd_event_source *s, uint64_t usec, void *userdata) {
        LinkMonitor *m = userdata;

        monitor_probe_marked(m);

        if (monitor_has_marked(m)) {
                m->recheck_delay = MIN(MAX(m->recheck_delay * 2, DYING_RECHECK_USEC), m->probe_interval);
                schedule_recheck(m, m->recheck_delay);
        } else
                m->recheck_delay = 0;
        return 0;
}

/* Every watch once per interval, PROBE_BATCH at a time: the rest of the loop gets its turn
 * between batches however many devices there are. */
static int on_probe_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        LinkMonitor *m = userdata;
        unsigned n = 0;
        int r;

        if (!m->probe_cursor)
                m->probe_cursor = m->watches;
        while (m->probe_cursor && n < PROBE_BATCH) {
                LinkWatch *w = m->probe_cursor;

                m->probe_cursor = w->next;
                if (w->gone)
                        continue;
                watch_probe_into_ready(w);
                n++;
        }
        monitor_apply_probes(m);        /* may free watches; free moves the cursor on */

        if (m->probe_cursor)
                r = sd_event_source_set_time(s, usec);  /* due at once, after what is pending */
        else
                r = sd_event_source_set_time_relative(s, m->probe_interval);
        if (r < 0)
                log_error_errno(r, "Failed to rearm the link probe: %m");
        return 0;
}

static void monitor_update_probe_timer(LinkMonitor *m) {
        int r;

        if (!m->watches) {
                (void) sd_event_source_set_enabled(m->probe_timer, SD_EVENT_OFF);
                return;
        }
        int enabled = SD_EVENT_OFF;
        (void) sd_event_source_get_enabled(m->probe_timer, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        r = sd_event_source_set_time_relative(m->probe_timer, m->probe_interval);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->probe_timer, SD_EVENT_ON);
        if (r < 0)
                log_error_errno(r, "Failed to start the link probe: %m");
}

static LinkWatch *monitor_find(LinkMonitor *m, int nsid, int ifindex, uint64_t gen) {
        for (LinkWatch *w = m->watches; w; w = w->next)
                if (!w->gone && w->nsid == nsid && w->ifindex == ifindex && ifindex > 0 && gen >= w->first_gen)
                        return w;
        return NULL;
}

static void mark_all_for_recheck(LinkMonitor *m) {
        for (LinkWatch *w = m->watches; w; w = w->next)
                w->recheck = true;
        schedule_recheck(m, 0);
}

static void handle_newlink(LinkMonitor *m, struct nlmsghdr *h, int nsid, uint64_t gen) {
        struct nlattr *tb[IFLA_MAX + 1];
        struct ifinfomsg *ifi = nlmsg_data(h);
        LinkWatch *w;
        LinkState s;

        w = monitor_find(m, nsid, ifi->ifi_index, gen);
        if (!w)
                return;
        if (nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
                return;

        w->netlink_seen++;
        s = w->state;
        s.ifindex = ifi->ifi_index;
        s.up = (ifi->ifi_flags & IFF_UP) && (ifi->ifi_flags & IFF_RUNNING);
        if (tb[IFLA_MTU])
                s.mtu = nla_get_u32(tb[IFLA_MTU]);
        if (tb[IFLA_IFNAME])
                nla_strlcpy(s.name, tb[IFLA_IFNAME], sizeof(s.name));
        watch_report_state(w, &s, ifi->ifi_flags & IFF_UP);
}

/* Sent for a deletion and for a move to another namespace alike; the TUN fd tells which. */
static void handle_dellink(LinkMonitor *m, struct nlmsghdr *h, int nsid, uint64_t gen) {
        struct nlattr *tb[IFLA_MAX + 1];
        struct ifinfomsg *ifi = nlmsg_data(h);
        LinkWatch *w;

        w = monitor_find(m, nsid, ifi->ifi_index, gen);
        if (!w)
                return;

        w->netlink_seen++;
        w->ifindex = 0;
        /* From our own namespace, the new namespace's id is one of ours: follow at once,
         * so that messages from there match before the recheck. */
        if (nsid == LINK_NSID_SELF && nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) >= 0 &&
            tb[IFLA_NEW_NETNSID] && tb[IFLA_NEW_IFINDEX]) {
                int new_nsid = (int32_t) nla_get_u32(tb[IFLA_NEW_NETNSID]);
                w->nsid = new_nsid == m->self_nsid ? LINK_NSID_SELF : new_nsid;
                w->ifindex = (int32_t) nla_get_u32(tb[IFLA_NEW_IFINDEX]);
        }
        w->recheck = true;
        schedule_recheck(m, 0);
}

/* An id vanishes only with its namespace, whose devices are deleted soon after. */
static void handle_delnsid(LinkMonitor *m, struct nlmsghdr *h, int nsid) {
        struct nlattr *tb[NETNSA_MAX + 1];
        int dead;

        if (nsid != LINK_NSID_SELF)
                return;         /* about ids another namespace gives */
        if (nlmsg_parse(h, sizeof(struct rtgenmsg), tb, NETNSA_MAX, NULL) < 0 || !tb[NETNSA_NSID])
                return;
        dead = (int32_t) nla_get_u32(tb[NETNSA_NSID]);

        for (LinkWatch *w = m->watches; w; w = w->next)
                if (!w->gone && w->nsid == dead) {
                        w->nsid = NSID_UNKNOWN;
                        w->ifindex = 0;
                        w->dying = true;
                        w->recheck = true;
                }
        m->recheck_delay = 0;
        schedule_recheck(m, DYING_RECHECK_USEC);
}

static void handle_datagram(LinkMonitor *m, const uint8_t *data, size_t size, int nsid, uint64_t gen) {
        int len = (int) size;

        for (struct nlmsghdr *h = (struct nlmsghdr *) data; nlmsg_ok(h, len); h = nlmsg_next(h, &len))
                switch (h->nlmsg_type) {
                case RTM_NEWLINK:
                        if (nlmsg_valid_hdr(h, sizeof(struct ifinfomsg)))
                                handle_newlink(m, h, nsid, gen);
                        break;
                case RTM_DELLINK:
                        if (nlmsg_valid_hdr(h, sizeof(struct ifinfomsg)))
                                handle_dellink(m, h, nsid, gen);
                        break;
                case RTM_DELNSID:
                        if (nlmsg_valid_hdr(h, sizeof(struct rtgenmsg)))
                                handle_delnsid(m, h, nsid);
                        break;
                default:
                        break;
                }
}

static int listener_receive(LinkMonitor *m, void *buf, int *ret_nsid) {
        int n;

        for (;;) {
                n = link_netlink_receive(m->listener, m->self_nsid, buf, DATAGRAM_MAX, ret_nsid);
                if (n != -ENOBUFS)
                        return n;
                /* Messages were lost: nothing short of asking every device now is right. */
                log_debug("Link notifications overran; probing every device.");
                mark_all_for_recheck(m);
        }
}

/* Reads what is queued now into the backlog, for later, in order. */
static void listener_read_ahead(LinkMonitor *m) {
        _cleanup_free_ uint8_t *buf = NULL;
        int n, nsid;

        buf = malloc(DATAGRAM_MAX);
        if (!buf)
                return (void) log_oom();
        while ((n = listener_receive(m, buf, &nsid)) >= 0) {
                Datagram *d = malloc(sizeof(Datagram) + (size_t) n);
                if (!d)
                        return (void) log_oom();
                *d = (Datagram) { .gen = m->next_gen++, .nsid = nsid, .size = (size_t) n };
                memcpy(d->data, buf, (size_t) n);
                *m->backlog_tail = d;
                m->backlog_tail = &d->next;
        }
        if (n != -EAGAIN)
                log_warning_errno(n, "Failed to read link notifications: %m");
}

/* Handles the backlog, then what the socket has, in the order read. A callback may start
 * a watch, which reads ahead into the backlog, or turn netlink off. */
static void listener_drain(LinkMonitor *m) {
        Datagram *d;
        int n, nsid;

        for (;;) {
                d = m->backlog;
                if (d) {
                        m->backlog = d->next;
                        if (!m->backlog)
                                m->backlog_tail = &m->backlog;
                        handle_datagram(m, d->data, d->size, d->nsid, d->gen);
                        free(d);
                        continue;
                }
                if (!m->listener)
                        return;
                n = listener_receive(m, m->buffer, &nsid);
                if (n < 0)
                        break;
                handle_datagram(m, m->buffer, (size_t) n, nsid, m->next_gen++);
        }
        if (n != -EAGAIN)
                log_warning_errno(n, "Failed to read link notifications: %m");
}

static int on_listener_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        listener_drain(userdata);
        return 0;
}

static void listener_close(LinkMonitor *m) {
        Datagram *d;

        m->listener_source = sd_event_source_disable_unref(m->listener_source);
        if (m->listener) {
                nl_socket_free(m->listener);
                m->listener = NULL;
        }
        while ((d = m->backlog)) {
                m->backlog = d->next;
                free(d);
        }
        m->backlog_tail = &m->backlog;
}

static int listener_open(LinkMonitor *m) {
        int r;

        r = link_netlink_open_listener(&m->listener);
        if (r < 0)
                return log_error_errno(r, "Failed to open the link notification socket: %m");
        r = sd_event_add_io(m->event, &m->listener_source, nl_socket_get_fd(m->listener), EPOLLIN,
                            on_listener_readable, m);
        if (r < 0)
                goto fail;
        /* Before the probe timers: a probe answer is applied after the messages queued. */
        r = sd_event_source_set_priority(m->listener_source, SD_EVENT_PRIORITY_NORMAL - 10);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(m->listener_source, "link-netlink");
        return 0;
fail:
        listener_close(m);
        return log_error_errno(r, "Failed to watch the link notification socket: %m");
}

int link_monitor_set_netlink(LinkMonitor *m, bool enabled) {
        int r;

        if (enabled == !!m->listener)
                return 0;
        if (!enabled) {
                listener_close(m);
                return 0;
        }
        r = listener_open(m);
        if (r < 0)
                return r;
        /* Ids are needed now for the namespaces devices are in. */
        for (LinkWatch *w = m->watches; w; w = w->next)
                w->netns_ino = 0;
        mark_all_for_recheck(m);
        return 0;
}

int link_monitor_set_netlink_buffer_size(LinkMonitor *m, int bytes) {
        if (!m->listener)
                return -ENOTCONN;
        if (setsockopt(nl_socket_get_fd(m->listener), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
                return negative_errno();
        return 0;
}

int link_monitor_set_probe_interval(LinkMonitor *m, uint64_t usec) {
        int enabled = SD_EVENT_OFF;

        if (usec == 0)
                return -EINVAL;
        m->probe_interval = usec;
        (void) sd_event_source_set_time_accuracy(m->probe_timer, MAX(usec / 10, 1));
        (void) sd_event_source_get_enabled(m->probe_timer, &enabled);
        if (enabled != SD_EVENT_OFF)
                return sd_event_source_set_time_relative(m->probe_timer, usec);
        return 0;
}

int link_monitor_new(LinkMonitor **ret, sd_event *e) {
        _cleanup_close_ int self_netns_fd = -EBADF;
        LinkMonitor *m;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(e);
        m->ioctl_fd = -EBADF;
        m->backlog_tail = &m->backlog;
        m->probe_interval = LINK_PROBE_INTERVAL_USEC;
        m->self_nsid = NSID_UNKNOWN;

        m->buffer = malloc(DATAGRAM_MAX);
        if (!m->buffer) {
                r = -ENOMEM;
                goto fail;
        }

        self_netns_fd = netns_open_self();
        if (self_netns_fd < 0) {
                r = log_error_errno(self_netns_fd, "Failed to open our network namespace: %m");
                goto fail;
        }
        r = netns_inode(self_netns_fd, &m->self_netns_ino);
        if (r < 0)
                goto fail;

        /* AF_UNIX: any socket answers SIOCGIF*, and tund.service allows only AF_UNIX and
         * AF_NETLINK. */
        m->ioctl_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (m->ioctl_fd < 0) {
                r = log_error_errno(errno, "Failed to open an interface ioctl socket: %m");
                goto fail;
        }

        m->rtnl = nl_socket_alloc();
        if (!m->rtnl) {
                r = -ENOMEM;
                goto fail;
        }
        r = nl_connect(m->rtnl, NETLINK_ROUTE);
        if (r < 0) {
                r = log_error_errno(nl_error_to_errno(r), "Failed to open an rtnetlink socket: %m");
                goto fail;
        }
        /* Our namespace rarely has an id of its own; if it has, our messages carry it. */
        r = netns_get_nsid(m->rtnl, self_netns_fd);
        if (r < 0 && r != -ENOENT)
                log_debug_errno(r, "Failed to get our own namespace's id: %m");
        m->self_nsid = r >= 0 ? r : NSID_UNKNOWN;

        r = sd_event_add_time_relative(m->event, &m->probe_timer, CLOCK_MONOTONIC, m->probe_interval,
                                       MAX(m->probe_interval / 10, 1), on_probe_timer, m);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(m->probe_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(m->probe_timer, "link-probe");

        r = sd_event_add_time_relative(m->event, &m->recheck_timer, CLOCK_MONOTONIC, 0, 1, on_recheck, m);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(m->recheck_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(m->recheck_timer, "link-recheck");

        r = listener_open(m);
        if (r < 0)
                goto fail;

        *ret = m;
        return 0;
fail:
        link_monitor_free(m);
        return r;
}

LinkMonitor *link_monitor_free(LinkMonitor *m) {
        if (!m)
                return NULL;
        while (m->watches)
                link_watch_free(m->watches);
        listener_close(m);
        sd_event_source_disable_unref(m->probe_timer);
        sd_event_source_disable_unref(m->recheck_timer);
        if (m->rtnl)
                nl_socket_free(m->rtnl);
        safe_close(m->ioctl_fd);
        free(m->buffer);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int link_monitor_watch(LinkMonitor *m, int tun_fd, const LinkWatchOps *ops, void *userdata,
                       LinkWatch **ret) {
        LinkWatch *w;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (LinkWatch) {
                .monitor = m,
                .tun_fd = tun_fd,
                .ops = ops,
                .userdata = userdata,
                .nsid = NSID_UNKNOWN,
        };

        /* What is queued now is older than the state read below. */
        if (m->listener)
                listener_read_ahead(m);
        w->first_gen = m->next_gen;

        /* A rename racing with the read asks for another try. */
        for (unsigned attempt = 0; attempt < 3 && w->probe_result == PROBE_NONE; attempt++)
                watch_probe(w);
        if (w->probe_result != PROBE_STATE) {
                ProbeResult result = w->probe_result;
                free(w);
                return result == PROBE_GONE ? -ENODEV : -EAGAIN;
        }
        w->state = w->probe_state;
        w->probe_result = PROBE_NONE;
        if (!w->state.up && w->probe_admin_up &&
            sd_event_now(m->event, CLOCK_MONOTONIC, &w->settle_until) >= 0) {
                w->settle_until += SETTLE_USEC;
                w->state.up = true;
        }

        LIST_PREPEND(m->watches, w);
        monitor_update_probe_timer(m);

        *ret = w;
        return 0;
}

LinkWatch *link_watch_free(LinkWatch *w) {
        LinkMonitor *m;

        if (!w)
                return NULL;
        m = w->monitor;
        ready_remove(m, w);
        if (m->probe_cursor == w)
                m->probe_cursor = w->next;
        LIST_REMOVE(m->watches, w);
        free(w);
        monitor_update_probe_timer(m);
        return NULL;
}

void link_watch_refresh(LinkWatch *w) {
        if (w->gone)
                return;
        w->recheck = true;
        monitor_probe_marked(w->monitor);
}

const LinkState *link_watch_state(LinkWatch *w) {
        return &w->state;
}
