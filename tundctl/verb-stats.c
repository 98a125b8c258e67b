/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tundctl stats: a device's counters; with --watch refreshed with per-second rates, in
 * place on a terminal, as repeated blocks elsewhere. */

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device-output.h"
#include "macro.h"
#include "table.h"
#include "terminal.h"
#include "tundctl.h"


typedef struct Sample {
        TundStat *stats;
        size_t n;
        uint64_t usec;          /* CLOCK_MONOTONIC */
} Sample;

typedef struct Stats {
        Ctl *ctl;
        TundBus *bus;
        const char *device;
        const char *path;
        Sample previous;
        bool have_previous;
        size_t lines_shown;     /* of the last block, for moving back over it */
        int code;
} Stats;

static const TableColumn columns[] = {
        { "COUNTER", false },
        { "VALUE", true },
        { "RATE/S", true },
};

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* Per-second change of STAT since the previous sample; false without one. */
static bool rate_of(const Stats *s, const Sample *now, const TundStat *stat, double *ret) {
        if (!s->have_previous || now->usec <= s->previous.usec)
                return false;
        for (size_t i = 0; i < s->previous.n; i++)
                if (strcmp(s->previous.stats[i].name, stat->name) == 0) {
                        double delta = stat->value >= s->previous.stats[i].value ?
                                (double) (stat->value - s->previous.stats[i].value) : 0;
                        *ret = delta * 1e6 / (double) (now->usec - s->previous.usec);
                        return true;
                }
        return false;
}

static void print_json(Stats *s, const Sample *now) {
        JsonWriter w;
        double rate;

        json_writer_init(&w, stdout, s->ctl->json == JSON_PRETTY);
        json_begin_object(&w);
        json_key(&w, "Device");
        json_string(&w, s->device);
        json_key(&w, "Path");
        json_string(&w, s->path);
        json_key(&w, "Statistics");
        json_stats(&w, now->stats, now->n);
        if (s->ctl->watch) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                json_key(&w, "Timestamp");
                json_uint(&w, (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000);
                json_key(&w, "Rates");
                json_begin_object(&w);
                for (size_t i = 0; i < now->n; i++)
                        if (rate_of(s, now, &now->stats[i], &rate)) {
                                json_key(&w, now->stats[i].name);
                                json_double(&w, rate);
                        }
                json_end_object(&w);
        }
        json_end_object(&w);
        json_finish(&w);
}

/* The text block of one sample, written to F. */
static int write_block(Stats *s, const Sample *now, FILE *f) {
        _cleanup_(table_freep) Table *t = table_new(columns, s->ctl->watch ? 3 : 2);
        double rate;
        int r = t ? 0 : -ENOMEM;

        for (size_t i = 0; r >= 0 && i < now->n; i++) {
                r = table_add(t, now->stats[i].name, NULL);
                if (r >= 0)
                        r = table_addf(t, NULL, "%" PRIu64, now->stats[i].value);
                if (r >= 0 && s->ctl->watch)
                        r = rate_of(s, now, &now->stats[i], &rate) ?
                                table_addf(t, NULL, "%.1f", rate) : table_add(t, "-", NULL);
        }
        if (r < 0)
                return r;
        if (s->ctl->watch) {
                char stamp[64];
                format_timestamp_now(stamp, sizeof(stamp));
                fprintf(f, "%s%s%s %s\n", ansi(ANSI_BOLD), s->device, ansi(ANSI_NORMAL), stamp);
        }
        table_print(t, f, s->ctl->legend);
        return 0;
}

static int print_text(Stats *s, const Sample *now) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, lines = 0;
        FILE *f = open_memstream(&buf, &size);
        int r;

        if (!f)
                return -ENOMEM;
        r = write_block(s, now, f);
        fclose(f);
        if (r < 0)
                return r;
        for (size_t i = 0; i < size; i++)
                lines += buf[i] == '\n';
        if (s->lines_shown > 0) {
                if (cursor_moves_enabled())
                        printf("\x1b[%zuA\r\x1b[J", s->lines_shown);
                else
                        putchar('\n');
        }
        fwrite(buf, 1, size, stdout);
        fflush(stdout);
        s->lines_shown = lines;
        return 0;
}

/* One sample: fetch, show, keep for the next rates. */
static int sample(Stats *s) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        Sample now = { .usec = now_usec() };
        int r;

        r = tund_bus_get_statistics(s->bus, s->path, &now.stats, &now.n, &error);
        if (r < 0) {
                s->code = ctl_fail(r, &error, "Failed to get the statistics of %s", s->device);
                sd_bus_error_free(&error);
                return r;
        }
        if (s->ctl->json != JSON_OFF)
                print_json(s, &now);
        else
                r = print_text(s, &now);
        tund_stats_free(s->previous.stats, s->previous.n);
        s->previous = now;
        s->have_previous = true;
        if (r < 0)
                s->code = ctl_fail(r, NULL, "Failed to show statistics");
        return r;
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Stats *s = userdata;

        if (sample(s) < 0)
                return sd_event_exit(sd_event_source_get_event(source), s->code);
        return sd_event_source_set_time(source, usec + s->ctl->interval_usec);
}

static int watch(Stats *s) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        sd_event_source *timer = NULL;
        uint64_t now;
        int r;

        r = ctl_event_new(&event, NULL, NULL);
        if (r >= 0)
                r = sd_event_now(event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(event, &timer, CLOCK_MONOTONIC, now + s->ctl->interval_usec,
                                      0, on_timer, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(timer, SD_EVENT_ON);
        if (r < 0)
                return ctl_fail(r, NULL, "Failed to watch statistics");
        r = sd_event_loop(event);
        sd_event_source_unref(timer);
        return r < 0 ? ctl_fail(r, NULL, "Failed to watch statistics") : r;
}

int verb_stats(Ctl *ctl, int argc, char **argv) {
        _cleanup_free_ char *path = NULL;
        Stats s = { .ctl = ctl, .device = argv[0] };
        int r;

        if (ctl->watch && block_exit_signals() < 0)
                return ctl_fail(negative_errno(), NULL, "Failed to watch statistics");
        r = ctl_resolve(ctl, argv[0], &path, &s.bus);
        if (r != EXIT_OK)
                return r;
        s.path = path;
        if (sample(&s) < 0)
                r = s.code;
        else if (ctl->watch)
                r = watch(&s);
        tund_stats_free(s.previous.stats, s.previous.n);
        return r;
}
