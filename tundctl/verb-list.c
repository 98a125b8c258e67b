/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tundctl list: a table of the devices. */

#include <inttypes.h>
#include <stdio.h>

#include "device-output.h"
#include "macro.h"
#include "table.h"
#include "terminal.h"
#include "tundctl.h"

static const TableColumn columns[] = {
        { "NAME", false },
        { "INDEX", true },
        { "MTU", true },
        { "UP", false },
        { "OFFLOADS", false },
        { "CLIENTS", true },
        { "OWNER", false },
        { "PERSISTENT", false },
};

static int add_row(Table *t, const TundDevice *d) {
        _cleanup_free_ char *offloads = format_offloads(d->offloads);
        char owner[64];
        int r;

        format_owner(d->owner, owner, sizeof(owner));
        r = table_add(t, d->name, NULL);
        if (r >= 0)
                r = table_addf(t, NULL, "%" PRIi32, d->index);
        if (r >= 0)
                r = table_addf(t, NULL, "%" PRIu32, d->mtu);
        if (r >= 0)
                r = table_add(t, d->up ? "yes" : "no", d->up ? ANSI_GREEN : ANSI_RED);
        if (r >= 0)
                r = table_add(t, offloads, NULL);
        if (r >= 0)
                r = table_addf(t, NULL, "%" PRIu32, d->clients);
        if (r >= 0)
                r = table_add(t, owner, NULL);
        if (r >= 0)
                r = table_add(t, d->persistent ? "yes" : "no", NULL);
        return r;
}

static int print_table(Ctl *ctl, TundDevice **devices, size_t n) {
        _cleanup_(table_freep) Table *t = table_new(columns, ELEMENTSOF(columns));

        if (!t)
                return ctl_fail(-ENOMEM, NULL, "Failed to list devices");
        for (size_t i = 0; i < n; i++)
                if (add_row(t, devices[i]) < 0)
                        return ctl_fail(-ENOMEM, NULL, "Failed to list devices");
        if (ctl->pager)
                pager_open();
        table_print(t, stdout, ctl->legend);
        if (ctl->legend)
                printf("\n%zu device%s listed.\n", n, n == 1 ? "" : "s");
        return EXIT_OK;
}

static void print_json(Ctl *ctl, TundDevice **devices, size_t n) {
        print_json_devices(devices, n, ctl->json == JSON_PRETTY, false);
}

int verb_list(Ctl *ctl, int argc, char **argv) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        TundDevice **devices = NULL;
        TundBus *bus = NULL;
        size_t n = 0;
        int r;

        r = ctl_bus(ctl, &bus);
        if (r != EXIT_OK)
                return r;
        r = tund_bus_list(bus, &devices, &n, &error);
        if (r < 0) {
                r = ctl_fail(r, &error, "Failed to list devices");
                sd_bus_error_free(&error);
                return r;
        }
        if (ctl->json != JSON_OFF) {
                print_json(ctl, devices, n);
                r = EXIT_OK;
        } else
                r = print_table(ctl, devices, n);
        tund_device_list_free(devices, n);
        return r;
}
