/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <limits.h>
#include <netlink/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "link-index.h"
#include "link-monitor.h"
#include "link-netlink.h"
#include "link-probe.h"
#include "link-scheduler.h"
#include "list.h"
#include "log.h"
#include "macro.h"
#include "netns.h"
#include "nl-util.h"
#include "tun.h"

#define NSID_UNKNOWN INT_MIN
/* How long a device that is up gets to become running after its watch began (below). */
#define SETTLE_USEC (2 * 1000 * 1000ULL)

typedef enum ProbeResult {
        PROBE_NONE,
        PROBE_STATE,
        PROBE_GONE,
} ProbeResult;

struct LinkWatch {
        LinkMonitor *monitor;
        LinkWatch *prev, *next;
        bool listed;                    /* in the monitor's list */
        LinkProbeEntry probe;
        LinkIndexEntry index;           /* (nsid, ifindex): what netlink messages about it carry */

        int tun_fd;
        const LinkWatchOps *ops;
        void *userdata;

        ino_t netns_ino;                /* where the device is */
        uint64_t first_gen;             /* datagrams read before the watch began are older than its state */
        uint64_t netlink_seen;          /* messages about it applied so far */

        LinkState state;                /* as last reported */
        uint64_t settle_until;          /* not running yet is no change before this */

        /* A probe's answer, applied unless netlink spoke about the device meanwhile. */
        ProbeResult probe_result;
        LinkState probe_state;
        bool probe_admin_up;
        uint64_t probe_netlink_seen;

        bool dying;                     /* its namespace is being destroyed */
        bool gone;
};

struct LinkMonitor {
        sd_event *event;
        ino_t self_netns_ino;
        int self_nsid;                  /* the id our namespace has in itself, usually none */
        int ioctl_fd;                   /* in our namespace */
        struct nl_sock *rtnl;           /* requests: namespace ids, links elsewhere */

        LinkListener listener;

        LinkScheduler scheduler;
        LinkWatch *watches;
        LinkIndex index;
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

static int watch_nsid(const LinkWatch *w) {
        return w->index.key.nsid;
}

/* Listed watches of devices not gone with an ifindex are indexed. */
static int watch_index(LinkWatch *w) {
        if (!w->listed || w->gone || w->index.key.ifindex <= 0)
                return 0;
        return link_index_add(&w->monitor->index, &w->index);
}

/* Netlink messages about the device come as (nsid, ifindex) from now on. */
static void watch_move(LinkWatch *w, int nsid, int ifindex) {
        if (watch_nsid(w) != nsid || w->index.key.ifindex != ifindex) {
                link_index_remove(&w->monitor->index, &w->index);
                w->index.key = (LinkKey) { .nsid = nsid, .ifindex = ifindex };
        }
        if (watch_index(w) < 0)
                log_oom();
}

static void watch_report_gone(LinkWatch *w) {
        if (w->gone)
                return;
        w->gone = true;
        link_index_remove(&w->monitor->index, &w->index);
        link_scheduler_retire(&w->probe);
        if (w->ops->gone)
                w->ops->gone(w, w->userdata);
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

        if (ino != w->netns_ino || watch_nsid(w) == NSID_UNKNOWN) {
                w->netns_ino = ino;
                watch_move(w, monitor_nsid_of(w->monitor, netns_fd, ino), 0);
        }
        return watch_nsid(w) == NSID_UNKNOWN ? -EAGAIN : 0;
}

/* In our namespace ioctls answer. Elsewhere they would need a socket inside that
 * namespace, so a request addressed to it by id asks instead (see netns.h). */
static int watch_read(LinkWatch *w, LinkState *ret, bool *ret_admin_up) {
        char name[IFNAMSIZ];
        unsigned flags;
        int r;

        if (watch_nsid(w) == LINK_NSID_SELF)
                return link_probe_read(w->tun_fd, w->monitor->ioctl_fd, ret, ret_admin_up);

        r = tun_get_info(w->tun_fd, name, NULL);
        if (r < 0)
                return r;
        r = netns_link_get_flags(w->monitor->rtnl, watch_nsid(w), 0, name, ret, &flags);
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
                else if (!link_scheduler_backoff_exhausted(&m->scheduler))
                        link_scheduler_mark(&w->probe);
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

        watch_move(w, watch_nsid(w), s.ifindex);
        w->probe_state = s;
        w->probe_admin_up = admin_up;
        w->probe_netlink_seen = w->netlink_seen;
        w->probe_result = PROBE_STATE;
}

static bool on_probe(LinkProbeEntry *e, void *userdata) {
        LinkWatch *w = container_of(e, LinkWatch, probe);

        watch_probe(w);
        return w->probe_result != PROBE_NONE;
}

/* Netlink messages queued meanwhile are handled before the probes' answers: a device
 * netlink spoke about since its probe keeps netlink's word, which is never older than the
 * probe's. */
static void on_probes_done(void *userdata) {
        LinkMonitor *m = userdata;

        link_listener_drain(&m->listener);
}

static void on_probe_answer(LinkProbeEntry *e, void *userdata) {
        LinkWatch *w = container_of(e, LinkWatch, probe);

        if (w->probe_result == PROBE_GONE)
                watch_report_gone(w);
        else if (w->probe_netlink_seen == w->netlink_seen)
                watch_report_state(w, &w->probe_state, w->probe_admin_up);
}

static const LinkSchedulerOps scheduler_ops = {
        .probe = on_probe,
        .flush = on_probes_done,
        .apply = on_probe_answer,
};

static LinkWatch *monitor_find(LinkMonitor *m, int nsid, int ifindex, uint64_t gen) {
        if (ifindex <= 0)
                return NULL;
        for (LinkIndexEntry *e = link_index_first(&m->index, nsid, ifindex); e; e = e->same_next) {
                LinkWatch *w = container_of(e, LinkWatch, index);

                if (gen >= w->first_gen)
                        return w;
        }
        return NULL;
}

static void handle_newlink(LinkWatch *w, const LinkEvent *ev) {
        LinkState s = w->state;

        w->netlink_seen++;
        s.ifindex = ev->ifindex;
        s.up = ev->state.up;
        if (ev->has_mtu)
                s.mtu = ev->state.mtu;
        if (ev->has_name)
                memcpy(s.name, ev->state.name, sizeof(s.name));
        watch_report_state(w, &s, ev->admin_up);
}

/* A deletion or a move to another namespace alike; the TUN fd tells which. */
static void handle_dellink(LinkWatch *w, const LinkEvent *ev) {
        w->netlink_seen++;
        /* Follow a move at once, so that messages from there match before the recheck. */
        if (ev->moved)
                watch_move(w, ev->new_nsid, ev->new_ifindex);
        else
                watch_move(w, watch_nsid(w), 0);
        link_scheduler_mark(&w->probe);
        link_scheduler_recheck_in(&w->monitor->scheduler, 0);
}

static void *on_link_find(int nsid, int ifindex, uint64_t gen, void *userdata) {
        return monitor_find(userdata, nsid, ifindex, gen);
}

static void on_link_event(void *target, const LinkEvent *ev, void *userdata) {
        LinkWatch *w = target;

        if (ev->deleted)
                handle_dellink(w, ev);
        else
                handle_newlink(w, ev);
}

/* An id vanishes only with its namespace, whose devices are deleted soon after. */
static void on_nsid_deleted(int dead, void *userdata) {
        LinkMonitor *m = userdata;

        for (LinkWatch *w = m->watches; w; w = w->next)
                if (!w->gone && watch_nsid(w) == dead) {
                        watch_move(w, NSID_UNKNOWN, 0);
                        w->dying = true;
                        link_scheduler_mark(&w->probe);
                }
        link_scheduler_recheck_backoff(&m->scheduler);
}

/* Messages were lost: nothing short of asking every device now is right. */
static void on_overrun(void *userdata) {
        LinkMonitor *m = userdata;

        link_scheduler_mark_all(&m->scheduler);
}

static const LinkListenerOps listener_ops = {
        .find = on_link_find,
        .link = on_link_event,
        .nsid_deleted = on_nsid_deleted,
        .overrun = on_overrun,
};

int link_monitor_set_netlink(LinkMonitor *m, bool enabled) {
        int r;

        if (enabled == link_listener_is_open(&m->listener))
                return 0;
        if (!enabled) {
                link_listener_close(&m->listener);
                return 0;
        }
        r = link_listener_open(&m->listener);
        if (r < 0)
                return r;
        /* Ids are needed now for the namespaces devices are in. */
        for (LinkWatch *w = m->watches; w; w = w->next)
                w->netns_ino = 0;
        link_scheduler_mark_all(&m->scheduler);
        return 0;
}

int link_monitor_set_netlink_buffer_size(LinkMonitor *m, int bytes) {
        return link_listener_set_buffer_size(&m->listener, bytes);
}

int link_monitor_set_probe_interval(LinkMonitor *m, uint64_t usec) {
        return link_scheduler_set_interval(&m->scheduler, usec);
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
        m->self_nsid = NSID_UNKNOWN;

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

        r = link_index_init(&m->index);
        if (r < 0)
                goto fail;
        r = link_scheduler_init(&m->scheduler, m->event, LINK_PROBE_INTERVAL_USEC, &scheduler_ops, m);
        if (r < 0)
                goto fail;
        r = link_listener_init(&m->listener, m->event, m->self_nsid, &listener_ops, m);
        if (r < 0)
                goto fail;
        r = link_listener_open(&m->listener);
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
        link_listener_deinit(&m->listener);
        link_scheduler_deinit(&m->scheduler);
        link_index_deinit(&m->index);
        if (m->rtnl)
                nl_socket_free(m->rtnl);
        safe_close(m->ioctl_fd);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int link_monitor_watch(LinkMonitor *m, int tun_fd, const LinkWatchOps *ops, void *userdata,
                       LinkWatch **ret) {
        LinkWatch *w;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        *w = (LinkWatch) {
                .monitor = m,
                .tun_fd = tun_fd,
                .ops = ops,
                .userdata = userdata,
        };
        link_index_entry_init(&m->index, &w->index);
        w->index.key.nsid = NSID_UNKNOWN;

        /* What is queued now is older than the state read below. */
        w->first_gen = link_listener_mark(&m->listener);

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

        w->listed = true;
        r = watch_index(w);
        if (r < 0) {
                free(w);
                return r;
        }
        LIST_PREPEND(m->watches, w);
        link_scheduler_add(&m->scheduler, &w->probe);

        *ret = w;
        return 0;
}

LinkWatch *link_watch_free(LinkWatch *w) {
        LinkMonitor *m;

        if (!w)
                return NULL;
        m = w->monitor;
        link_scheduler_remove(&m->scheduler, &w->probe);
        link_index_remove(&m->index, &w->index);
        LIST_REMOVE(m->watches, w);
        free(w);
        return NULL;
}

void link_watch_refresh(LinkWatch *w) {
        if (w->gone)
                return;
        link_scheduler_mark(&w->probe);
        link_scheduler_run_marked(&w->monitor->scheduler);
}

const LinkState *link_watch_state(LinkWatch *w) {
        return &w->state;
}
