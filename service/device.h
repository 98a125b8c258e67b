/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One TUN device that tund manages: its state and what can be done to it. Its D-Bus face
 * is device-bus.c. */

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "dataplane/dataplane.h"
#include "link/link-monitor.h"
#include "persist.h"

#define DEVICE_MTU_MIN 68u
#define DEVICE_MTU_MAX 65535u
#define DEVICE_MTU_DEFAULT 1500u

typedef struct Manager Manager;
typedef struct Device Device;

typedef struct DeviceConfig {
        const char *name;               /* "", a pattern with %d, or an exact name */
        uint32_t mtu;
        unsigned offloads;              /* Offload bits */
        bool persistent;
        uid_t owner;
} DeviceConfig;

struct Device {
        Manager *manager;
        uint64_t id;                    /* the N of its object path, never reused */
        char *object_path;

        int tun_fd;
        char name[IFNAMSIZ];
        int ifindex;
        uint32_t mtu;
        bool up;                        /* between LinkUp and LinkDown */
        unsigned offloads;
        uid_t owner;
        bool persistent;
        char record_id[SD_ID128_STRING_MAX];    /* persistent devices only */

        char *creator;                  /* the bus peer a non-persistent device goes with */
        bool creator_gone;              /* it left: the device is to be removed */
        LinkWatch *link_watch;
        Dataplane *dataplane;           /* moves the packets of its packet fds */

        Device *prev, *next;            /* in manager->devices */
};

/* Creates the TUN and applies the configuration; on failure nothing is left behind.
 * -EBUSY when an interface of that exact name exists. */
int device_create(Manager *m, const DeviceConfig *config, Device **ret);

/* Manages again a persistent device of an earlier run: tun_fd (taken over) from the fd
 * store or attached by name. */
int device_adopt(Manager *m, int tun_fd, const DeviceRecord *rec, Device **ret);

/* Forgets the device: closing its fd removes a non-persistent one from the kernel, a
 * persistent one stays. */
Device *device_free(Device *d);

/* Removes the device for good, persistent or not, and frees it. */
void device_delete(Device *d);

/* The device goes away when the sender of m leaves the bus (manager_peer_gone). */
int device_track_creator(Device *d, sd_bus_message *m);

int device_set_mtu(Device *d, uint32_t mtu);
int device_set_offloads(Device *d, unsigned offloads);

/* Takes a link's state as the kernel reports it; emits LinkUp/LinkDown, MTUChanged and
 * PropertiesChanged for what changed. The link monitor feeds this. */
void device_apply_link_state(Device *d, const LinkState *state);

/* Opens a packet fd on the device for uid; *ret_fd is for the caller to hand over and
 * close. */
int device_open_packet_fd(Device *d, ClientMode mode, uid_t uid, int *ret_fd);

unsigned device_n_clients(Device *d);
unsigned device_n_clients_of(Device *d, uid_t uid);
void device_get_statistics(Device *d, DataplaneStats *ret);
