/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What outlives tund for persistent devices: a record file per device in the state
 * directory (RUNSTATEDIR/tund unless overridden) and, under a service manager, the
 * device's TUN fd in the manager's fd store (named after the record). */

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-id128.h>

typedef struct DeviceRecord {
        char id[SD_ID128_STRING_MAX];   /* file name and fd store name */
        char name[IFNAMSIZ];            /* interface name, for re-attaching without fd store */
        int ifindex;                    /* tells our device from another of the same name */
        uid_t owner;
        unsigned offloads;
        bool raw;                       /* a raw device (IFF_MULTI_QUEUE), attached as one */
        bool vnet_header;               /* raw only: with IFF_VNET_HDR */
} DeviceRecord;

/* Makes DIR with MODE where it is missing, and its missing parents with 0755. */
int records_dir_make(const char *dir, mode_t mode);

/* Takes the lock of the state directory (DIR/lock), which the tund that manages the
 * devices of an earlier run holds while it runs: -EBUSY when another holds it. */
int records_lock(const char *dir, int *ret_fd);

int record_new_id(char ret[static SD_ID128_STRING_MAX]);
int record_save(const char *dir, const DeviceRecord *rec);
int record_remove(const char *dir, const char *id);
/* Loads every readable record; broken files are logged and skipped. */
int records_load(const char *dir, DeviceRecord **ret, size_t *ret_n);

/* The fd store of the service manager; no-ops when tund does not run under one. */
bool fdstore_available(void);
int fdstore_push(const char *id, int fd);
int fdstore_remove(const char *id);
