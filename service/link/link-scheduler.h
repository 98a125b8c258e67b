/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* When to probe what: every entry once per interval, a batch at a time, and the entries
 * marked for a recheck sooner (at once, or backing off while a namespace is torn down).
 * Probing and applying are the owner's, through callbacks: the answers of a batch are
 * applied together after ops->flush, so that what netlink queued meanwhile goes first. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* Embedded in what is probed. */
typedef struct LinkProbeEntry {
        struct LinkProbeEntry *prev, *next;
        struct LinkProbeEntry *ready_prev, *ready_next;
        bool in_ready;
        bool recheck;                   /* probe at the next recheck */
        bool retired;                   /* probed no more, but still listed */
} LinkProbeEntry;

typedef struct LinkSchedulerOps {
        /* Probes e; true when it has an answer to apply. */
        bool (*probe)(LinkProbeEntry *e, void *userdata);
        /* Runs before a batch's answers are applied. */
        void (*flush)(void *userdata);
        /* Applies e's answer. May remove (and free) any entry. */
        void (*apply)(LinkProbeEntry *e, void *userdata);
} LinkSchedulerOps;

typedef struct LinkScheduler {
        sd_event *event;
        const LinkSchedulerOps *ops;
        void *userdata;

        sd_event_source *probe_timer;
        uint64_t probe_interval;
        sd_event_source *recheck_timer;
        uint64_t recheck_delay;         /* the backoff's last delay, 0 when not backing off */

        LinkProbeEntry *entries;
        LinkProbeEntry *cursor;         /* the next entry the running round takes */
        LinkProbeEntry *ready, *ready_tail;     /* answers not applied yet */
} LinkScheduler;

int link_scheduler_init(LinkScheduler *s, sd_event *e, uint64_t interval, const LinkSchedulerOps *ops,
                        void *userdata);
/* Safe on a zeroed struct too. */
void link_scheduler_deinit(LinkScheduler *s);
int link_scheduler_set_interval(LinkScheduler *s, uint64_t usec);

/* Newest first: rounds and rechecks take entries in that order. */
void link_scheduler_add(LinkScheduler *s, LinkProbeEntry *e);
void link_scheduler_remove(LinkScheduler *s, LinkProbeEntry *e);
/* Skipped from now on. */
void link_scheduler_retire(LinkProbeEntry *e);

/* For the next recheck, which e.g. link_scheduler_recheck_in() schedules. */
void link_scheduler_mark(LinkProbeEntry *e);
/* Every entry, at once. */
void link_scheduler_mark_all(LinkScheduler *s);
/* The recheck in delay usec, or sooner if it is due sooner already. */
void link_scheduler_recheck_in(LinkScheduler *s, uint64_t delay);
/* Rechecks starting soon and backing off, up to the probe interval, while entries are
 * marked again. */
void link_scheduler_recheck_backoff(LinkScheduler *s);
/* The backoff reached the probe interval: waiting longer is the round's job. */
bool link_scheduler_backoff_exhausted(const LinkScheduler *s);

/* Probes the marked entries now and applies the answers. Callbacks run from here. */
void link_scheduler_run_marked(LinkScheduler *s);
