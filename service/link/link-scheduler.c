/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "link-scheduler.h"
#include "list.h"
#include "log.h"
#include "macro.h"

/* Entries probed per dispatch of the probe timer. */
#define PROBE_BATCH 128
/* The first recheck of a backoff. */
#define BACKOFF_FIRST_USEC (10 * 1000ULL)

static void ready_remove(LinkScheduler *s, LinkProbeEntry *e) {
        if (!e->in_ready)
                return;
        if (e->ready_prev)
                e->ready_prev->ready_next = e->ready_next;
        else
                s->ready = e->ready_next;
        if (e->ready_next)
                e->ready_next->ready_prev = e->ready_prev;
        else
                s->ready_tail = e->ready_prev;
        e->ready_prev = e->ready_next = NULL;
        e->in_ready = false;
}

static void ready_append(LinkScheduler *s, LinkProbeEntry *e) {
        if (e->in_ready)
                return;
        e->ready_prev = s->ready_tail;
        e->ready_next = NULL;
        if (s->ready_tail)
                s->ready_tail->ready_next = e;
        else
                s->ready = e;
        s->ready_tail = e;
        e->in_ready = true;
}

static void probe_into_ready(LinkScheduler *s, LinkProbeEntry *e) {
        e->recheck = false;
        if (s->ops->probe(e, s->userdata))
                ready_append(s, e);
}

/* Callbacks may remove any entry; removal takes it off the ready list. */
static void apply_ready(LinkScheduler *s) {
        LinkProbeEntry *e;

        s->ops->flush(s->userdata);
        while ((e = s->ready)) {
                ready_remove(s, e);
                s->ops->apply(e, s->userdata);
        }
}

void link_scheduler_recheck_in(LinkScheduler *s, uint64_t delay) {
        uint64_t now, when;
        int enabled = SD_EVENT_OFF;
        int r;

        r = sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return (void) log_error_errno(r, "Failed to read the loop's clock: %m");
        when = now + delay;

        (void) sd_event_source_get_enabled(s->recheck_timer, &enabled);
        if (enabled != SD_EVENT_OFF) {
                uint64_t current;
                if (sd_event_source_get_time(s->recheck_timer, &current) >= 0 && current <= when)
                        return;
        }
        r = sd_event_source_set_time(s->recheck_timer, when);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->recheck_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Failed to schedule a link recheck: %m");
}

void link_scheduler_recheck_backoff(LinkScheduler *s) {
        s->recheck_delay = 0;
        link_scheduler_recheck_in(s, BACKOFF_FIRST_USEC);
}

bool link_scheduler_backoff_exhausted(const LinkScheduler *s) {
        return s->recheck_delay >= s->probe_interval;
}

void link_scheduler_mark(LinkProbeEntry *e) {
        e->recheck = true;
}

void link_scheduler_mark_all(LinkScheduler *s) {
        for (LinkProbeEntry *e = s->entries; e; e = e->next)
                e->recheck = true;
        link_scheduler_recheck_in(s, 0);
}

void link_scheduler_retire(LinkProbeEntry *e) {
        e->retired = true;
        e->recheck = false;
}

/* The marked entries are few: probed all at once. */
void link_scheduler_run_marked(LinkScheduler *s) {
        for (LinkProbeEntry *e = s->entries; e; e = e->next)
                if (!e->retired && e->recheck)
                        probe_into_ready(s, e);
        apply_ready(s);
}

static bool has_marked(const LinkScheduler *s) {
        for (LinkProbeEntry *e = s->entries; e; e = e->next)
                if (e->recheck && !e->retired)
                        return true;
        return false;
}

static int on_recheck(sd_event_source *source, uint64_t usec, void *userdata) {
        LinkScheduler *s = userdata;

        link_scheduler_run_marked(s);

        if (has_marked(s)) {
                s->recheck_delay = MIN(MAX(s->recheck_delay * 2, BACKOFF_FIRST_USEC), s->probe_interval);
                link_scheduler_recheck_in(s, s->recheck_delay);
        } else
                s->recheck_delay = 0;
        return 0;
}

/* Every entry once per interval, PROBE_BATCH at a time: the rest of the loop gets its turn
 * between batches however many entries there are. */
static int on_probe_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        LinkScheduler *s = userdata;
        unsigned n = 0;
        int r;

        if (!s->cursor)
                s->cursor = s->entries;
        while (s->cursor && n < PROBE_BATCH) {
                LinkProbeEntry *e = s->cursor;

                s->cursor = e->next;
                if (e->retired)
                        continue;
                probe_into_ready(s, e);
                n++;
        }
        apply_ready(s);         /* may remove entries; removal moves the cursor on */

        if (s->cursor)
                r = sd_event_source_set_time(source, usec);     /* due at once, after what is pending */
        else
                r = sd_event_source_set_time_relative(source, s->probe_interval);
        if (r < 0)
                log_error_errno(r, "Failed to rearm the link probe: %m");
        return 0;
}

static void update_probe_timer(LinkScheduler *s) {
        int enabled = SD_EVENT_OFF;
        int r;

        if (!s->entries) {
                (void) sd_event_source_set_enabled(s->probe_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_get_enabled(s->probe_timer, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        r = sd_event_source_set_time_relative(s->probe_timer, s->probe_interval);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->probe_timer, SD_EVENT_ON);
        if (r < 0)
                log_error_errno(r, "Failed to start the link probe: %m");
}

void link_scheduler_add(LinkScheduler *s, LinkProbeEntry *e) {
        LIST_PREPEND(s->entries, e);
        update_probe_timer(s);
}

void link_scheduler_remove(LinkScheduler *s, LinkProbeEntry *e) {
        ready_remove(s, e);
        if (s->cursor == e)
                s->cursor = e->next;
        LIST_REMOVE(s->entries, e);
        update_probe_timer(s);
}

int link_scheduler_set_interval(LinkScheduler *s, uint64_t usec) {
        int enabled = SD_EVENT_OFF;

        if (usec == 0)
                return -EINVAL;
        s->probe_interval = usec;
        (void) sd_event_source_set_time_accuracy(s->probe_timer, MAX(usec / 10, 1));
        (void) sd_event_source_get_enabled(s->probe_timer, &enabled);
        if (enabled != SD_EVENT_OFF)
                return sd_event_source_set_time_relative(s->probe_timer, usec);
        return 0;
}

int link_scheduler_init(LinkScheduler *s, sd_event *e, uint64_t interval, const LinkSchedulerOps *ops,
                        void *userdata) {
        int r;

        *s = (LinkScheduler) {
                .event = sd_event_ref(e),
                .ops = ops,
                .userdata = userdata,
                .probe_interval = interval,
        };

        r = sd_event_add_time_relative(e, &s->probe_timer, CLOCK_MONOTONIC, interval,
                                       MAX(interval / 10, 1), on_probe_timer, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(s->probe_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(s->probe_timer, "link-probe");

        r = sd_event_add_time_relative(e, &s->recheck_timer, CLOCK_MONOTONIC, 0, 1, on_recheck, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(s->recheck_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(s->recheck_timer, "link-recheck");
        return 0;
}

void link_scheduler_deinit(LinkScheduler *s) {
        s->probe_timer = sd_event_source_disable_unref(s->probe_timer);
        s->recheck_timer = sd_event_source_disable_unref(s->recheck_timer);
        s->event = sd_event_unref(s->event);
}
