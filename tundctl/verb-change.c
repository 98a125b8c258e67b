/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tundctl delete, set-mtu, set-offloads. */

#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "polkit-agent.h"
#include "strv.h"
#include "tundctl.h"

typedef int (*DeviceCall)(TundBus *bus, const char *path, const void *arg, sd_bus_error *error);

/* Resolves DEVICE and makes one call on it that may need polkit. */
static int on_device(Ctl *ctl, const char *device, DeviceCall fn, const void *arg, const char *what) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        TundBus *bus = NULL;
        int r;

        r = ctl_resolve(ctl, device, &path, &bus);
        if (r != EXIT_OK)
                return r;
        ctl_agent_open(ctl);
        r = fn(bus, path, arg, &error);
        if (r < 0) {
                r = ctl_fail(r, &error, "Failed to %s %s", what, device);
                sd_bus_error_free(&error);
                return r;
        }
        return EXIT_OK;
}

static int call_delete(TundBus *bus, const char *path, const void *arg, sd_bus_error *error) {
        return tund_bus_delete(bus, path, error);
}

static int call_set_mtu(TundBus *bus, const char *path, const void *arg, sd_bus_error *error) {
        return tund_bus_set_mtu(bus, path, *(const uint32_t *) arg, error);
}

static int call_set_offloads(TundBus *bus, const char *path, const void *arg, sd_bus_error *error) {
        return tund_bus_set_offloads(bus, path, (char **) arg, error);
}

int verb_delete(Ctl *ctl, int argc, char **argv) {
        int ret = EXIT_OK;

        /* Each device in turn; the first failure's code is the exit code. */
        for (int i = 0; i < argc; i++) {
                int r = on_device(ctl, argv[i], call_delete, NULL, "delete");
                if (r != EXIT_OK && ret == EXIT_OK)
                        ret = r;
        }
        return ret;
}

int verb_set_mtu(Ctl *ctl, int argc, char **argv) {
        uint32_t mtu;

        if (parse_mtu(argv[1], &mtu) < 0) {
                fprintf(stderr, "tundctl: Invalid MTU \"%s\": a number from 68 to 65535.\n", argv[1]);
                return EXIT_INVALID;
        }
        return on_device(ctl, argv[0], call_set_mtu, &mtu, "set the MTU of");
}

int verb_set_offloads(Ctl *ctl, int argc, char **argv) {
        _cleanup_(strv_freep) char **offloads = strv_new0();

        if (!offloads)
                return ctl_fail(-ENOMEM, NULL, "Failed to set offloads");
        for (int i = 1; i < argc; i++) {
                _cleanup_(strv_freep) char **words = NULL;
                if (strv_split(argv[i], ", ", &words) < 0)
                        return ctl_fail(-ENOMEM, NULL, "Failed to set offloads");
                for (char **w = words; *w; w++) {
                        if (strcmp(*w, "none") == 0)
                                continue;
                        char *copy = strdup(*w);
                        if (!copy || strv_push(&offloads, copy) < 0)
                                return ctl_fail(-ENOMEM, NULL, "Failed to set offloads");
                }
        }
        return on_device(ctl, argv[0], call_set_offloads, offloads, "set the offloads of");
}
