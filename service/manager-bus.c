/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bus-errors.h"
#include "bus-options.h"
#include "bus-util.h"
#include "config.h"
#include "device-bus.h"
#include "ifname.h"
#include "log-control.h"
#include "log.h"
#include "manager-bus.h"
#include "manager.h"
#include "tund-limits.h"

static int read_option_mtu(sd_bus_message *message, void *field, void *userdata, sd_bus_error *error) {
        uint32_t u;
        int r;

        r = sd_bus_message_read(message, "u", &u);
        if (r < 0)
                return r;
        r = device_bus_check_mtu(u, "Option MTU", error);
        if (r < 0)
                return r;
        *(uint32_t *) field = u;
        return 0;
}

static int read_option_offloads(sd_bus_message *message, void *field, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return bus_read_offloads(message, m->supported_offloads, field, error);
}

static int read_option_owner(sd_bus_message *message, void *field, void *userdata, sd_bus_error *error) {
        uint32_t u;
        int r;

        r = sd_bus_message_read(message, "u", &u);
        if (r < 0)
                return r;
        if (u == UINT32_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option Owner %" PRIu32 " is not a valid uid.", u);
        *(uid_t *) field = (uid_t) u;
        return 0;
}

static const BusOption create_options[] = {
        { "MTU",        "u",  offsetof(DeviceConfig, mtu),        read_option_mtu      },
        { "Offloads",   "as", offsetof(DeviceConfig, offloads),   read_option_offloads },
        { "Persistent", "b",  offsetof(DeviceConfig, persistent), bus_option_read_bool },
        { "Owner",      "u",  offsetof(DeviceConfig, owner),      read_option_owner    },
        { "Raw",        "b",  offsetof(DeviceConfig, raw),        bus_option_read_bool },
        { "VnetHeader", "b",  offsetof(DeviceConfig, vnet_header), bus_option_read_bool },
};

static bool create_option_seen(uint32_t seen, const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(create_options); i++)
                if (strcmp(create_options[i].name, name) == 0)
                        return BUS_OPTION_SEEN(seen, i);
        return false;
}

/* Raw devices have offloads only with VnetHeader, and by default none: their clients set
 * their own with TUNSETOFFLOAD. */
static int check_raw_options(DeviceConfig *config, bool offloads_given, sd_bus_error *error) {
        if (config->vnet_header && !config->raw)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
                                        "Option VnetHeader belongs to raw devices only: give Raw true too.");
        if (!config->raw)
                return 0;
        if (!offloads_given)
                config->offloads = 0;
        return bus_check_raw_offloads(config->raw, config->vnet_header, config->offloads, error);
}

/* Reads the a{sv} of CreateDevice into config; every key and type is checked. */
static int read_create_options(sd_bus_message *message, Manager *m, DeviceConfig *config,
                               sd_bus_error *error) {
        uint32_t seen;
        int r;

        r = bus_read_options(message, create_options, ELEMENTSOF(create_options),
                             "known options are MTU (u), Offloads (as), Persistent (b), Owner (u), Raw (b) and VnetHeader (b)",
                             config, m, &seen, error);
        if (r < 0)
                return r;
        return check_raw_options(config, create_option_seen(seen, "Offloads"), error);
}

static int check_devices_limit(Manager *m, uid_t owner, sd_bus_error *error) {
        char what[64];

        if (!manager_devices_limit_reached(m, owner))
                return 0;
        snprintf(what, sizeof(what), "uid %" PRIu32 " owns that many devices already", (uint32_t) owner);
        return limits_error(error, "max-devices-per-user", m->limits.devices_per_user, what);
}

/* The device goes away when the sender of message leaves the bus (manager_on_peer_gone).
 * Its departure is still to come: the bus tells of a peer leaving after every call the peer
 * made, and bus-peers.c refuses the calls of a departed one. */
static int track_creator(Device *d, sd_bus_message *message) {
        const char *sender = sd_bus_message_get_sender(message);

        if (!sender)
                return -ENXIO;
        d->creator = strdup(sender);
        return d->creator ? 0 : -ENOMEM;
}

static int method_create_device(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        static const char *const create_actions[] = {
                "org.example.tun1.create-device", NULL };
        static const char *const create_for_other_actions[] = {
                "org.example.tun1.create-device", "org.example.tun1.manage-device", NULL };
        Manager *m = userdata;
        DeviceConfig config = {
                .mtu = DEVICE_MTU_DEFAULT,
                .offloads = m->supported_offloads,
        };
        const char *name, *reason;
        uid_t caller;
        Device *d;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return bus_read_failed(r, error);
        if (!ifname_valid(name, &reason))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid device name '%s': %s.", name, reason);
        config.name = name;

        r = bus_peers_get_uid(m->peers, message, &caller, error);
        if (r <= 0)
                return r < 0 ? r : 1;   /* 0: the bus answers later, this runs again */
        config.owner = caller;

        r = read_create_options(message, m, &config, error);
        if (r < 0)
                return bus_read_failed(r, error);

        r = check_devices_limit(m, config.owner, error);
        if (r < 0)
                return r;
        r = polkit_verify(m->polkit, message, caller,
                          config.owner == caller ? create_actions : create_for_other_actions,
                          error);
        if (r <= 0)
                return r < 0 ? r : 1;   /* 0: polkit answers later, this runs again */
        r = check_devices_limit(m, config.owner, error);        /* others may have created some meanwhile */
        if (r < 0)
                return r;

        if (!ifname_is_pattern(name) && manager_find_device_by_name(m, name))
                return sd_bus_error_setf(error, BUS_ERROR_EXISTS,
                                         "A device named '%s' exists already; choose another name.", name);

        r = manager_create_device(m, &config, &d);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, BUS_ERROR_EXISTS,
                                         "An interface named '%s' exists already; choose another name.", name);
        if (r == -EEXIST)
                return sd_bus_error_setf(error, BUS_ERROR_EXISTS,
                                         "The kernel completed '%s' with the name of a device tund manages in another network namespace; choose another name.", name);
        if (r == -ENFILE)
                return sd_bus_error_setf(error, BUS_ERROR_EXISTS,
                                         "Every name of pattern '%s' is taken; choose another pattern.", name);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to create device '%s': %m", name);

        if (!config.persistent) {
                r = track_creator(d, message);
                if (r < 0) {
                        manager_remove_device(m, d);
                        device_free(d);
                        return sd_bus_error_set_errnof(error, r, "Failed to follow the caller's connection: %m");
                }
        }

        device_bus_emit_added(d);
        return sd_bus_reply_method_return(message, "o", d->object_path);
}

static int method_get_device(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        Device *d;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return bus_read_failed(r, error);

        d = manager_find_device_by_name(m, name);
        if (!d)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_DEVICE,
                                         "No device named '%s' is managed by this service (see ListDevices).", name);
        return sd_bus_reply_method_return(message, "o", d->object_path);
}

static int method_list_devices(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(so)");
        if (r < 0)
                return r;
        for (Device *d = m->devices; d; d = d->next) {
                r = sd_bus_message_append(reply, "(so)", d->name, d->object_path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply,
                                void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int property_get_supported_offloads(sd_bus *bus, const char *path, const char *interface,
                                           const char *property, sd_bus_message *reply,
                                           void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return bus_append_offloads(reply, m->supported_offloads);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("SupportedOffloads", "as", property_get_supported_offloads, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("CreateDevice",
                                SD_BUS_ARGS("s", name, "a{sv}", options),
                                SD_BUS_RESULT("o", device),
                                method_create_device,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetDevice",
                                SD_BUS_ARGS("s", name),
                                SD_BUS_RESULT("o", device),
                                method_get_device,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListDevices",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(so)", devices),
                                method_list_devices,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int manager_bus_register(Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(m->bus, NULL, MANAGER_OBJECT_PATH, MANAGER_INTERFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the manager object: %m");
        r = sd_bus_add_object_manager(m->bus, NULL, MANAGER_OBJECT_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to add the object manager: %m");
        r = device_bus_register(m);
        if (r < 0)
                return r;
        return log_control_register(m->bus, m->peers);
}

const ManagerOps manager_bus_ops = {
        .register_objects = manager_bus_register,
        .device_path = device_bus_path,
        .device_changed = device_bus_emit_changed_strv,
        .device_mtu_changed = device_bus_emit_mtu_changed,
        .device_up_changed = device_bus_emit_link_up_down,
        .device_removed = device_bus_emit_removed,
};
