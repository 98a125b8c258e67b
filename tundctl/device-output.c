/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device-output.h"
#include "macro.h"
#include "strv.h"
#include "terminal.h"

void format_owner(uint32_t uid, char *buf, size_t size) {
        struct passwd *pw = getpwuid((uid_t) uid);
        if (pw)
                snprintf(buf, size, "%s", pw->pw_name);
        else
                snprintf(buf, size, "%" PRIu32, uid);
}

char *format_offloads(char *const *offloads) {
        if (!offloads || !offloads[0])
                return strdup("none");
        return strv_join(offloads, ",");
}

void json_stats(JsonWriter *w, const TundStat *stats, size_t n) {
        json_begin_object(w);
        for (size_t i = 0; i < n; i++) {
                json_key(w, stats[i].name);
                json_uint(w, stats[i].value);
        }
        json_end_object(w);
}

void json_device(JsonWriter *w, const TundDevice *d, bool full) {
        char owner[64];

        format_owner(d->owner, owner, sizeof(owner));
        json_begin_object(w);
        json_key(w, "Name");            json_string(w, d->name);
        json_key(w, "Path");            json_string(w, d->path);
        json_key(w, "Index");           json_int(w, d->index);
        json_key(w, "MTU");             json_uint(w, d->mtu);
        json_key(w, "Up");              json_bool(w, d->up);
        json_key(w, "Offloads");        json_strv(w, d->offloads);
        json_key(w, "Clients");         json_uint(w, d->clients);
        json_key(w, "Owner");           json_uint(w, d->owner);
        json_key(w, "OwnerName");       json_string(w, owner);
        json_key(w, "Persistent");      json_bool(w, d->persistent);
        if (full) {
                if (d->has_addresses) {
                        json_key(w, "Addresses");
                        json_strv(w, d->addresses);
                }
                if (d->has_routes) {
                        json_key(w, "Routes");
                        json_strv(w, d->routes);
                }
                json_key(w, "Statistics");
                json_stats(w, d->stats, d->n_stats);
        }
        json_end_object(w);
}

/* "      Label: " right-aligned as networkctl status aligns its fields. */
static void field(const char *label) {
        printf("%*s: ", 15, label);
}

static void print_list(const char *label, char *const *l) {
        field(label);
        if (!l || !l[0]) {
                printf("none\n");
                return;
        }
        for (char *const *i = l; *i; i++)
                printf("%*s%s\n", i == l ? 0 : 17, "", *i);
}

void print_device_status(const TundDevice *d) {
        _cleanup_free_ char *offloads = format_offloads(d->offloads);
        char owner[64];

        format_owner(d->owner, owner, sizeof(owner));
        printf("%s%s%s (%s)\n", ansi(ANSI_BOLD), d->name, ansi(ANSI_NORMAL), d->path);
        field("Index");         printf("%" PRIi32 "\n", d->index);
        field("State");
        printf("%s%s%s\n", ansi(d->up ? ANSI_GREEN : ANSI_RED), d->up ? "up" : "down",
               ansi(ANSI_NORMAL));
        field("MTU");           printf("%" PRIu32 "\n", d->mtu);
        field("Offloads");      printf("%s\n", strna(offloads));
        field("Clients");       printf("%" PRIu32 "\n", d->clients);
        field("Owner");         printf("%s (uid %" PRIu32 ")\n", owner, d->owner);
        field("Persistent");    printf("%s\n", d->persistent ? "yes" : "no");
        if (d->has_addresses)
                print_list("Addresses", d->addresses);
        if (d->has_routes)
                print_list("Routes", d->routes);
        field("Statistics");
        if (d->n_stats == 0)
                printf("none\n");
        for (size_t i = 0; i < d->n_stats; i++)
                printf("%*s%s: %" PRIu64 "\n", i == 0 ? 0 : 17, "", d->stats[i].name,
                       d->stats[i].value);
}

void print_json_devices(TundDevice **devices, size_t n, bool pretty, bool full) {
        JsonWriter w;

        json_writer_init(&w, stdout, pretty);
        json_begin_array(&w);
        for (size_t i = 0; i < n; i++)
                json_device(&w, devices[i], full);
        json_end_array(&w);
        json_finish(&w);
}
