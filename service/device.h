/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One TUN device that tund manages: its TUN fd, link, offloads, data plane and record.
 * It knows nothing of the bus or of other devices: what changes is told through the
 * DeviceOps of its context, and whoever owns it (the manager) keeps it in its lists. Its
 * D-Bus face is device-bus.c. */

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "dataplane.h"
#include "link-monitor.h"
#include "persist.h"
#include "rtnl-addr.h"

#define DEVICE_MTU_MIN 68u
#define DEVICE_MTU_MAX 65535u
#define DEVICE_MTU_DEFAULT 1500u

typedef struct Device Device;
typedef struct NetcfgMonitor NetcfgMonitor;
struct nl_sock;

/* A link's addresses and routes, as the kernel told them. */
typedef struct NetcfgLists {
        NetAddress *addresses;
        size_t n_addresses;
        NetRoute *routes;
        size_t n_routes;
} NetcfgLists;

/* What a device tells its owner; each may be NULL. */
typedef struct DeviceOps {
        /* These properties (NULL-terminated) changed. */
        void (*properties_changed)(Device *d, char **properties);
        void (*mtu_changed)(Device *d);         /* after properties_changed */
        void (*up_changed)(Device *d);          /* LinkUp or LinkDown, as d->up says */
        /* The link was renamed; the owner calls device_set_name(d, name) in between
         * whatever it keeps by name (without the op, the device renames itself). */
        void (*rename)(Device *d, const char *name);
        /* The link was deleted behind tund's back (or its namespace was): the owner
         * removes the device. */
        void (*link_gone)(Device *d);
} DeviceOps;

/* What devices borrow from their owner. */
typedef struct DeviceContext {
        sd_event *event;
        struct nl_sock *rtnl;           /* in tund's own network namespace */
        LinkMonitor *link_monitor;
        NetcfgMonitor *netcfg_monitor;  /* after a change of tund's own: flushed */
        const char *state_dir;          /* records of persistent devices */
        const char *netns_helper_socket;        /* acts in other namespaces; NULL: none */
        unsigned supported_offloads;
        const DeviceOps *ops;
        void *userdata;                 /* the owner's, for its ops */
} DeviceContext;

typedef struct DeviceConfig {
        const char *name;               /* "", a pattern with %d, or an exact name */
        uint32_t mtu;
        unsigned offloads;              /* Offload bits */
        bool persistent;                /* for the owner: device_make_persistent() */
        uid_t owner;
        bool raw;                       /* clients get queues of the TUN itself */
        bool vnet_header;               /* raw only: the queues carry a virtio_net_hdr */
} DeviceConfig;

/* The queues a raw device handed to one uid (device_n_clients_of). */
typedef struct RawQueueOwner {
        uid_t uid;
        unsigned n;
} RawQueueOwner;

struct Device {
        const DeviceContext *ctx;       /* borrowed */
        uint64_t id;                    /* the owner's: the N of its object path */
        char *object_path;              /* the owner's */

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
        Dataplane *dataplane;           /* moves the packets of its packet fds; none if raw */

        /* Raw devices (device-raw.c): tun_fd is a detached queue, the device's anchor. The
         * kernel counts the queues; tund cannot see a client close one. */
        bool raw, vnet_header;
        RawQueueOwner *queue_owners;
        size_t n_queue_owners;
        unsigned raw_clients;           /* the count Clients last announced */
        sd_event_source *raw_clients_timer;

        NetcfgLists netcfg;             /* in tund's own namespace (device-netcfg.c) */
        /* In another namespace: the routes the helper last listed, and when (device-remote.c):
         * a flood of Gets costs one helper run a second, not one each. */
        NetcfgLists remote;
        uint64_t remote_routes_usec;

        Device *prev, *next;            /* in the owner's list */
};

/* Creates the TUN and applies the configuration; on failure nothing is left behind.
 * -EBUSY when an interface of that exact name exists. */
int device_create(const DeviceContext *ctx, const DeviceConfig *config, Device **ret);

/* Manages again a persistent device of an earlier run: tun_fd (taken over) from the fd
 * store or attached by name. */
int device_adopt(const DeviceContext *ctx, int tun_fd, const DeviceRecord *rec, Device **ret);

/* Forgets the device: closing its fd removes a non-persistent one from the kernel, a
 * persistent one stays. */
Device *device_free(Device *d);

/* Makes the TUN outlive tund: persistent in the kernel, a record, the fd store. */
int device_make_persistent(Device *d);
/* Undoes that, so that freeing the device removes it from the kernel. */
void device_drop_persistence(Device *d);

/* Of the supported Offload bits, those this device can have (raw devices: the kernel's with
 * a vnet header, else none). */
unsigned device_offloads_possible(const Device *d, unsigned supported);

int device_set_mtu(Device *d, uint32_t mtu);
int device_set_offloads(Device *d, unsigned offloads);
void device_set_name(Device *d, const char *name);

/* Takes a link's state as the kernel reports it and tells the ops what changed. The link
 * monitor feeds this. */
void device_apply_link_state(Device *d, const LinkState *state);

/* Opens a packet fd on the device for uid; *ret_fd is for the caller to hand over and
 * close. */
int device_open_packet_fd(Device *d, const ClientOptions *o, uid_t uid, int *ret_fd);

/* A new queue of a raw device for uid; -EREMOTE while the device is in another network
 * namespace (TUNSETIFF finds names in tund's own only), -EBADFD when it is gone. */
int device_open_queue(Device *d, uid_t uid, int *ret_fd);

unsigned device_n_clients(Device *d);
unsigned device_n_clients_of(Device *d, uid_t uid);
void device_get_statistics(Device *d, DataplaneStats *ret);

/* device-raw.c, for device.c. */
int device_raw_get_statistics(Device *d, DataplaneStats *ret);
unsigned device_raw_n_clients(Device *d);
unsigned device_raw_n_clients_of(Device *d, uid_t uid);
void device_raw_done(Device *d);

/* device-remote.c: in another namespace, through the namespace helper. */
int device_remote_set_mtu(Device *d, uint32_t mtu);
int device_remote_change_address(Device *d, bool add, const NetAddress *a);
int device_remote_change_route(Device *d, bool add, const NetRoute *r);
int device_remote_foreach_route(Device *d, void (*func)(const NetRoute *r, void *userdata), void *userdata);
void device_remote_forget(Device *d);

/* Addresses and routes (device-netcfg.c). Changes are the kernel's answer as -errno. In
 * another network namespace the namespace helper makes them, and its own errors may come
 * back too (netns-helper-client.h: -ECONNREFUSED, -ETIME, -EBADE). What changes is told as the properties Addresses and Routes, once per change, before a
 * change of tund's own returns. */
int device_add_address(Device *d, const NetAddress *a);
/* The address with a's local address and prefix length, whatever its peer;
 * -EADDRNOTAVAIL when the device has none. */
int device_remove_address(Device *d, const NetAddress *a);
int device_add_route(Device *d, const NetRoute *r);
/* The route with r's destination, metric and table (and gateway, when r has one);
 * -ESRCH when the device has none. */
int device_remove_route(Device *d, const NetRoute *r);

/* What the kernel told about the device's addresses and routes (the netcfg monitor's
 * notifications, mapped to the device by its owner). */
void device_apply_address(Device *d, const NetAddress *a, bool present);
void device_apply_route(Device *d, const NetRoute *r, bool present, bool replace);
/* Reads them all again; announce: tell what differs. */
int device_reload_netcfg(Device *d, bool announce);
void device_clear_netcfg(Device *d);
/* The link changed (up, down, moved): what the kernel dropped silently goes too. */
void device_netcfg_link_changed(Device *d);

/* Calls func for each address or route wherever the device is (in another namespace,
 * asked of the kernel there: addresses directly, routes through the namespace helper, as
 * the kernel has no route dump addressed to another namespace). */
int device_foreach_address(Device *d, void (*func)(const NetAddress *a, void *userdata), void *userdata);
int device_foreach_route(Device *d, void (*func)(const NetRoute *r, void *userdata), void *userdata);
