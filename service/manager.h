/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one context of tund: its loop, bus connection and devices. Its D-Bus face is
 * manager-bus.c. */

#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-peers.h"
#include "device.h"
#include "hashmap.h"
#include "netcfg-monitor.h"
#include "persist.h"
#include "polkit.h"
#include "tund-limits.h"

struct nl_sock;

#define MANAGER_BUS_NAME "org.example.Tun1"

typedef struct Manager Manager;

/* The manager's face on the bus (manager-bus.c), which sits above it. */
typedef struct ManagerOps {
        /* Puts the objects on m->bus, before the name is asked for. */
        int (*register_objects)(Manager *m);
        /* The object path of the device with this id. */
        int (*device_path)(uint64_t id, char **ret);
        /* What devices tell, passed on. */
        void (*device_changed)(Device *d, char **properties);
        void (*device_mtu_changed)(Device *d);
        void (*device_up_changed)(Device *d);
        /* After the device is gone. */
        void (*device_removed)(Manager *m, const char *object_path);
} ManagerOps;

/* A persistent device of an earlier run not managed yet, tried again from time to time. */
typedef struct Unadopted {
        DeviceRecord rec;
        int fd;                         /* its TUN */
} Unadopted;

struct Manager {
        const ManagerOps *ops;
        sd_event *event;
        sd_bus *bus;
        struct nl_sock *rtnl;           /* in tund's own network namespace */
        LinkMonitor *link_monitor;
        NetcfgMonitor *netcfg_monitor;  /* addresses and routes in tund's namespace */
        BusPeers *peers;                /* who calls, and who left */
        PolkitRegistry *polkit;
        Limits limits;

        DeviceContext device_ctx;       /* what the devices borrow */
        Device *devices;                /* in the order they came */
        Hashmap *devices_by_id;
        Hashmap *devices_by_name;
        uint64_t next_device_id;
        sd_event_source *reaper;        /* removes the devices of creators that left */

        unsigned supported_offloads;    /* Offload bits, probed at start */
        char *state_dir;                /* records of persistent devices */
        char *netns_helper_socket;      /* the namespace helper's; NULL: none */
        int state_lock_fd;              /* held while tund manages them */
        Unadopted *unadopted;
        size_t n_unadopted;
        sd_event_source *adopt_retry;
};

/* state_dir: where records of persistent devices live. */
int manager_new(Manager **ret, const char *state_dir, const Limits *limits, const ManagerOps *ops);
Manager *manager_free(Manager *m);

/* Probes the kernel, connects to the system bus, manages the persistent devices of an
 * earlier run again and then asks for the bus name; READY=1 follows once it is ours. */
/* Where the namespace helper listens (tund-netns-helper.socket); before manager_start(). */
int manager_set_netns_helper_socket(Manager *m, const char *path);
int manager_start(Manager *m);
int manager_run(Manager *m);

/* What the manager's devices are given to tell it (manager-devices.c). */
extern const DeviceOps manager_device_ops;
/* What the netcfg monitor tells, handed to the device of that ifindex (manager-devices.c). */
extern const NetcfgMonitorOps manager_netcfg_ops;

/* Creates a device as config says and manages it; -EBUSY when an interface of that
 * exact name exists, -EEXIST when the kernel completed a pattern with the name of a
 * managed device in another network namespace. */
int manager_create_device(Manager *m, const DeviceConfig *config, Device **ret);
/* Removes the device for good, persistent or not, and frees it. */
void manager_delete_device(Manager *m, Device *d);
/* Into and out of the manager's list and tables (manager_free() and the restore). */
int manager_add_device(Manager *m, Device *d);
void manager_remove_device(Manager *m, Device *d);

/* The persistent devices of an earlier run, managed again (manager-restore.c). */
int manager_restore_devices(Manager *m);
void manager_forget_unadopted(Manager *m);

Device *manager_find_device_by_name(Manager *m, const char *name);
Device *manager_find_device_by_id(Manager *m, uint64_t id);

/* Devices whose Owner is owner; packet fds opened by uid, on all devices. */
unsigned manager_n_devices_of(Manager *m, uid_t owner);
unsigned manager_n_packet_fds_of(Manager *m, uid_t uid);
/* Whether owner may own no further device (max-devices-per-user; uid 0 never). */
bool manager_devices_limit_reached(Manager *m, uid_t owner);

static inline void manager_freep(Manager **m) {
        manager_free(*m);
}
