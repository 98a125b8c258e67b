/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tundctl status: everything about devices. */

#include <stdio.h>
#include <stdlib.h>

#include "device-output.h"
#include "macro.h"
#include "terminal.h"
#include "tundctl.h"

/* The devices named, in order (all of them without names). */
static int collect(Ctl *ctl, TundBus *bus, int argc, char **argv, TundDevice ***ret, size_t *ret_n) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        TundDevice **devices;
        int r;

        if (argc == 0) {
                r = tund_bus_list(bus, ret, ret_n, &error);
                if (r < 0) {
                        r = ctl_fail(r, &error, "Failed to list devices");
                        sd_bus_error_free(&error);
                        return r;
                }
                return EXIT_OK;
        }
        devices = calloc((size_t) argc, sizeof(*devices));
        if (!devices)
                return ctl_fail(-ENOMEM, NULL, "Failed to show status");
        for (int i = 0; i < argc; i++) {
                _cleanup_free_ char *path = NULL;
                r = ctl_resolve(ctl, argv[i], &path, NULL);
                if (r == EXIT_OK) {
                        r = tund_bus_get_device(bus, path, &devices[i], &error);
                        if (r < 0)
                                r = ctl_fail(r, &error, "Failed to get device %s", argv[i]);
                        sd_bus_error_free(&error);
                }
                if (r != EXIT_OK) {
                        tund_device_list_free(devices, (size_t) i);
                        return r;
                }
        }
        *ret = devices;
        *ret_n = (size_t) argc;
        return EXIT_OK;
}

int verb_status(Ctl *ctl, int argc, char **argv) {
        TundDevice **devices = NULL;
        TundBus *bus = NULL;
        size_t n = 0;
        int r;

        r = ctl_bus(ctl, &bus);
        if (r != EXIT_OK)
                return r;
        r = collect(ctl, bus, argc, argv, &devices, &n);
        if (r != EXIT_OK)
                return r;
        if (ctl->json != JSON_OFF)
                print_json_devices(devices, n, ctl->json == JSON_PRETTY, true);
        else {
                if (ctl->pager)
                        pager_open();
                for (size_t i = 0; i < n; i++) {
                        if (i > 0)
                                putchar('\n');
                        print_device_status(devices[i]);
                }
        }
        tund_device_list_free(devices, n);
        return EXIT_OK;
}
