/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The monitor's rtnetlink listener: RTNLGRP_LINK and RTNLGRP_NSID of its own namespace and,
 * through NETLINK_LISTEN_ALL_NSID, of every namespace that has an id in it. It parses what
 * it hears into events, numbered by generation (one per datagram), and hands them over
 * through callbacks in the order the kernel sent them. Datagrams may be read ahead of their
 * turn (link_listener_mark) into a backlog; they are handed over later, still in order. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "link-state.h"

struct nl_sock;

/* The id a datagram from the listener's own namespace carries (none at all, usually). */
#define LINK_NSID_SELF (-1)

/* RTM_NEWLINK or RTM_DELLINK about (nsid, ifindex). */
typedef struct LinkEvent {
        int nsid;                       /* where it comes from, LINK_NSID_SELF for our own */
        int ifindex;
        uint64_t gen;                   /* of its datagram */
        bool deleted;                   /* deleted, or moved to another namespace */

        /* !deleted: the state; mtu and name only when the message has them. */
        LinkState state;
        bool admin_up;                  /* IFF_UP */
        bool has_mtu, has_name;

        /* deleted from our own namespace into another: where to, in ids of ours. */
        bool moved;
        int new_nsid, new_ifindex;
} LinkEvent;

/* Run from link_listener_drain() and link_listener_mark() (overrun only). */
typedef struct LinkListenerOps {
        /* What messages about (nsid, ifindex) in a datagram of generation gen are for, or
         * NULL: a message is parsed only when it is for something. */
        void *(*find)(int nsid, int ifindex, uint64_t gen, void *userdata);
        void (*link)(void *target, const LinkEvent *ev, void *userdata);
        /* The id nsid vanished from our namespace: its namespace is being destroyed. */
        void (*nsid_deleted)(int nsid, void *userdata);
        /* The kernel dropped messages: none of what came before can be trusted to be all. */
        void (*overrun)(void *userdata);
} LinkListenerOps;

typedef struct LinkDatagram LinkDatagram;

/* Embedded in its owner; closed (no socket) after init. */
typedef struct LinkListener {
        sd_event *event;
        int self_nsid;                  /* the id our namespace has in itself, or none */
        const LinkListenerOps *ops;
        void *userdata;

        struct nl_sock *sk;             /* NULL while closed */
        sd_event_source *source;
        uint8_t *buffer;
        uint64_t next_gen;
        LinkDatagram *backlog, **backlog_tail;
} LinkListener;

int link_listener_init(LinkListener *l, sd_event *e, int self_nsid, const LinkListenerOps *ops,
                       void *userdata);
/* Safe on a zeroed struct too. */
void link_listener_deinit(LinkListener *l);

int link_listener_open(LinkListener *l);
/* Drops the backlog unread. Callbacks may call it. */
void link_listener_close(LinkListener *l);
bool link_listener_is_open(const LinkListener *l);

/* Reads what is queued now into the backlog and returns the generation the next datagram
 * will have: events of a lower one are older than anything learned after this call. */
uint64_t link_listener_mark(LinkListener *l);

/* Hands over the backlog, then what the socket has. Callbacks may close the listener. */
void link_listener_drain(LinkListener *l);

/* The socket's receive buffer, to provoke overruns in tests. -ENOTCONN while closed. */
int link_listener_set_buffer_size(LinkListener *l, int bytes);
