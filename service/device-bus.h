/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of the devices: org.example.Tun1.Device at
 * /org/example/Tun1/device/N, served by a fallback vtable. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#define DEVICE_INTERFACE "org.example.Tun1.Device"
#define DEVICE_OBJECT_PREFIX "/org/example/Tun1/device"

typedef struct Device Device;
typedef struct Manager Manager;

int device_bus_register(Manager *m);
/* The address and route members (device-netcfg-bus.c), registered with the others. */
extern const sd_bus_vtable device_netcfg_vtable[];
/* InvalidArgs unless mtu is within DEVICE_MTU_MIN..MAX; what names it in the message
 * ("MTU", "Option MTU"). */
int device_bus_check_mtu(uint32_t mtu, const char *what, sd_bus_error *error);
/* UnknownObject for a device whose link the kernel removed before tund heard of it
 * (device_gone_errno): it goes away once the removal is heard. */
static inline bool device_gone_errno(int r) {
        return r == -EBADFD || r == -ENODEV;    /* the TUN fd detached; no such link */
}
int device_bus_gone_error(Device *d, sd_bus_error *error);
/* Failed with the reason, for r one of the namespace helper's own errors
 * (netns-helper-client.h); what: the phrase for what failed ("set its MTU"). */
int device_bus_helper_error(Device *d, int r, const char *what, sd_bus_error *error);
/* DEVICE_OBJECT_PREFIX/id */
int device_bus_path(uint64_t id, char **ret);

void device_bus_emit_added(Device *d);
/* After the device is gone, so that a client told of it finds it gone in the kernel too. */
void device_bus_emit_removed(Manager *m, const char *object_path);
void device_bus_emit_changed_strv(Device *d, char **properties);
/* MTUChanged with the device's MTU; LinkUp or LinkDown as its Up says. */
void device_bus_emit_mtu_changed(Device *d);
void device_bus_emit_link_up_down(Device *d);
#define device_bus_emit_changed(d, ...) \
        device_bus_emit_changed_strv((d), (char *[]) { __VA_ARGS__ })
