/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* All of tundctl's talk with org.example.Tun1: devices as plain structs, calls that return
 * negative errno (and fill ERROR with the service's words), and a watch that turns the
 * service's signals into callbacks. Nothing else in tundctl knows about D-Bus; this file is
 * the one to point at libtund once it exists. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

typedef struct TundStat {
        char *name;
        uint64_t value;
} TundStat;

typedef struct TundDevice {
        char *path;
        char *name;
        int32_t index;
        uint32_t mtu;
        bool up;
        char **offloads;        /* NULL-terminated */
        uint32_t owner;
        bool persistent;
        uint32_t clients;
        TundStat *stats;        /* sorted by name */
        size_t n_stats;
        char **addresses;       /* NULL-terminated, "10.8.0.2/24" or "10.8.0.2/24 peer 10.8.0.1" */
        char **routes;          /* NULL-terminated, "10.0.0.0/8 via 10.8.0.1 metric 5 table 100" */
        bool has_addresses, has_routes;
} TundDevice;

/* An address (Addresses) or a route (Routes) of a device, or one to add or remove. */
typedef struct TundNetEntry {
        char *first;            /* the address with its prefix, or the destination */
        char *peer;             /* address: its Peer; route: its Gateway; NULL: none */
        uint32_t metric, table; /* routes */
        bool has_metric, has_table;
} TundNetEntry;

typedef struct TundCreateOptions {
        uint32_t mtu;           /* 0: the service's default */
        char **offloads;        /* NULL: the service's default; an empty list: none */
        bool set_owner;
        uint32_t owner;
        bool persistent;
        bool raw;               /* a raw device: clients get queues of the TUN itself */
        bool vnet_header;       /* raw only: the queues carry a virtio_net_hdr */
} TundCreateOptions;

typedef struct TundBus TundBus;

/* INTERACTIVE: calls that may need polkit carry ALLOW_INTERACTIVE_AUTHORIZATION. */
int tund_bus_open(TundBus **ret, bool interactive);
TundBus *tund_bus_free(TundBus *b);
static inline void tund_bus_freep(TundBus **b) {
        if (*b)
                tund_bus_free(*b);
}
int tund_bus_attach_event(TundBus *b, sd_event *event);

TundDevice *tund_device_free(TundDevice *d);
static inline void tund_device_freep(TundDevice **d) {
        if (*d)
                tund_device_free(*d);
}
void tund_device_list_free(TundDevice **devices, size_t n);
void tund_stats_free(TundStat *stats, size_t n);

int tund_bus_version(TundBus *b, char **ret, sd_bus_error *error);
/* A name ("tun0") or an object path ("/org/example/Tun1/device/3") to an object path. */
int tund_bus_resolve(TundBus *b, const char *device, char **ret_path, sd_bus_error *error);
int tund_bus_get_device(TundBus *b, const char *path, TundDevice **ret, sd_bus_error *error);
/* Every managed device, sorted by index, then name. */
int tund_bus_list(TundBus *b, TundDevice ***ret, size_t *ret_n, sd_bus_error *error);
int tund_bus_get_statistics(TundBus *b, const char *path, TundStat **ret, size_t *ret_n,
                            sd_bus_error *error);

int tund_bus_create(TundBus *b, const char *name, const TundCreateOptions *options,
                    char **ret_path, sd_bus_error *error);
int tund_bus_delete(TundBus *b, const char *path, sd_bus_error *error);
int tund_bus_set_mtu(TundBus *b, const char *path, uint32_t mtu, sd_bus_error *error);
int tund_bus_set_offloads(TundBus *b, const char *path, char **offloads, sd_bus_error *error);

void tund_net_entries_free(TundNetEntry *entries, size_t n);
/* ROUTES: the device's Routes, else its Addresses. */
int tund_bus_get_netcfg(TundBus *b, const char *path, bool routes, TundNetEntry **ret, size_t *ret_n,
                        sd_bus_error *error);
/* AddAddress or RemoveAddress (which takes no peer); AddRoute or RemoveRoute. */
int tund_bus_change_address(TundBus *b, const char *path, bool add, const TundNetEntry *address,
                            sd_bus_error *error);
int tund_bus_change_route(TundBus *b, const char *path, bool add, const TundNetEntry *route,
                          sd_bus_error *error);

/* What the service says while a watch runs. Any callback may be NULL. PATH is the device's
 * object path. A property change comes as NAME=VALUE texts ("MTU=1400", "Up=no"). */
typedef struct TundWatch {
        void (*added)(const char *path, const TundDevice *device, void *userdata);
        void (*removed)(const char *path, void *userdata);
        void (*link_up)(const char *path, void *userdata);
        void (*link_down)(const char *path, void *userdata);
        void (*mtu_changed)(const char *path, uint32_t mtu, void *userdata);
        void (*changed)(const char *path, char **assignments, void *userdata);
        void (*service_gone)(void *userdata);
} TundWatch;

/* Subscribes (the calls return once the bus has the matches); callbacks run from the event
 * loop the bus is attached to. WATCH must outlive the bus. */
int tund_bus_watch(TundBus *b, const TundWatch *watch, void *userdata, sd_bus_error *error);
