/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "device-bus.h"
#include "device.h"
#include "log.h"
#include "manager.h"
#include "netns-helper-client.h"
#include "packet-fd-options.h"
#include "polkit.h"
#include "tund-limits.h"

static Manager *device_manager(const Device *d) {
        return d->ctx->userdata;
}

static const char *const manage_device_actions[] = { "org.example.tun1.manage-device", NULL };

/* The device's owner and root need no authorization; anyone else needs manage-device.
 * Returns 1 with *ret_uid set when the caller may go on, 0 when the answer is pending (the
 * call is dispatched again), or a negative errno with error set. */
static int device_verify_caller(Device *d, sd_bus_message *message, uid_t *ret_uid, sd_bus_error *error) {
        uid_t uid;
        int r;

        r = bus_peers_get_uid(device_manager(d)->peers, message, &uid, error);
        if (r <= 0)
                return r;
        *ret_uid = uid;
        if (uid == d->owner)
                return 1;
        return polkit_verify(device_manager(d)->polkit, message, uid, manage_device_actions, error);
}

static int property_get_name(sd_bus *bus, const char *path, const char *interface,
                             const char *property, sd_bus_message *reply, void *userdata,
                             sd_bus_error *error) {
        Device *d = userdata;

        return sd_bus_message_append(reply, "s", d->name);
}

static int property_get_up(sd_bus *bus, const char *path, const char *interface,
                           const char *property, sd_bus_message *reply, void *userdata,
                           sd_bus_error *error) {
        Device *d = userdata;

        return sd_bus_message_append(reply, "b", d->up);
}

static int property_get_offloads(sd_bus *bus, const char *path, const char *interface,
                                 const char *property, sd_bus_message *reply, void *userdata,
                                 sd_bus_error *error) {
        Device *d = userdata;

        return bus_append_offloads(reply, d->offloads);
}

static int property_get_persistent(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error) {
        Device *d = userdata;

        return sd_bus_message_append(reply, "b", d->persistent);
}

static int property_get_clients(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error) {
        Device *d = userdata;

        return sd_bus_message_append(reply, "u", device_n_clients(d));
}

static int property_get_statistics(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error) {
        Device *d = userdata;
        DataplaneStats s;
        int r;

        device_get_statistics(d, &s);
        r = sd_bus_message_open_container(reply, 'a', "{st}");
        if (r < 0)
                return r;
#define APPEND(f) \
        r = sd_bus_message_append(reply, "{st}", #f, s.f); \
        if (r < 0) \
                return r;
        DATAPLANE_STATS_FIELDS(APPEND)
#undef APPEND
        return sd_bus_message_close_container(reply);
}

int device_bus_check_mtu(uint32_t mtu, const char *what, sd_bus_error *error) {
        if (mtu < DEVICE_MTU_MIN || mtu > DEVICE_MTU_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "%s %" PRIu32 " is out of range: it must be %u to %u.",
                                         what, mtu, DEVICE_MTU_MIN, DEVICE_MTU_MAX);
        return 0;
}

int device_bus_gone_error(Device *d, sd_bus_error *error) {
        return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_OBJECT,
                                 "Device %s is gone: it was deleted, or its network namespace was.", d->name);
}

int device_bus_helper_error(Device *d, int r, const char *what, sd_bus_error *error) {
        const char *why = r == -ECONNREFUSED ? "is not running (nothing answers on its socket)" :
                          r == -ETIME ? "did not answer in time" : "failed without an answer";
        return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                 "Device %s is in another network namespace, where tund acts through its namespace helper (tund-netns-helper.socket), which %s; tund cannot %s there now. See tund's log.",
                                 d->name, why, what);
}

static int method_set_mtu(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Device *d = userdata;
        uid_t uid;
        uint32_t mtu;
        int r;

        r = sd_bus_message_read(message, "u", &mtu);
        if (r < 0)
                return r;
        r = device_bus_check_mtu(mtu, "MTU", error);
        if (r < 0)
                return r;

        r = device_verify_caller(d, message, &uid, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = device_set_mtu(d, mtu);
        if (netns_helper_error_is_transport(r))
                return device_bus_helper_error(d, r, "set its MTU", error);
        if (device_gone_errno(r))
                return device_bus_gone_error(d, error);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to set MTU %" PRIu32 " on %s: %m", mtu, d->name);
        return sd_bus_reply_method_return(message, NULL);
}

static int method_set_offloads(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Device *d = userdata;
        unsigned offloads;
        uid_t uid;
        int r;

        r = bus_read_offloads(message, device_manager(d)->supported_offloads, &offloads, error);
        if (r < 0)
                return bus_read_failed(r, error);
        r = bus_check_raw_offloads(d->raw, d->vnet_header, offloads, error);
        if (r < 0)
                return r;

        r = device_verify_caller(d, message, &uid, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        r = device_set_offloads(d, offloads);
        if (device_gone_errno(r))
                return device_bus_gone_error(d, error);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to set the offloads of %s: %m", d->name);
        return sd_bus_reply_method_return(message, NULL);
}

static int check_packet_fd_limits(Device *d, uid_t uid, sd_bus_error *error) {
        const Limits *l = &device_manager(d)->limits;
        char what[64];

        if (device_n_clients(d) >= l->packet_fds_per_device) {
                snprintf(what, sizeof(what), "%s has that many packet fds open", d->name);
                return limits_error(error, "max-packet-fds-per-device", l->packet_fds_per_device, what);
        }
        if (uid != 0 && manager_n_packet_fds_of(device_manager(d), uid) >= l->packet_fds_per_user) {
                snprintf(what, sizeof(what), "uid %" PRIu32 " has that many packet fds open", (uint32_t) uid);
                return limits_error(error, "max-packet-fds-per-user", l->packet_fds_per_user, what);
        }
        return 0;
}

/* Raw devices hand over queues of the TUN itself, mode "tun", which no other device has. */
static int check_packet_fd_mode(Device *d, ClientOptions *opts, sd_bus_error *error) {
        if (d->raw) {
                if (opts->mode_given && !opts->tun)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Device %s is a raw device: its packet fds are queues of the TUN itself, Mode \"tun\" (the default there), not \"%s\".",
                                                 d->name, client_mode_to_string(opts->mode));
                opts->tun = true;
        } else if (opts->tun)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Mode \"tun\" is for raw devices only (CreateDevice option Raw); %s is not one: use packet, batch, vnet or ring.",
                                         d->name);
        return 0;
}

static int open_queue(Device *d, uid_t uid, int *ret_fd, sd_bus_error *error) {
        int r;

        r = device_open_queue(d, uid, ret_fd);
        if (r == -EREMOTE)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "Raw device %s is in another network namespace now, where tund cannot attach a queue to it (the kernel finds a TUN by name in the opener's namespace only); open it there with TUNSETIFF %s, IFF_TUN|IFF_NO_PI|IFF_MULTI_QUEUE%s.",
                                         d->name, d->name, d->vnet_header ? "|IFF_VNET_HDR" : "");
        if (device_gone_errno(r))
                return device_bus_gone_error(d, error);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to open a queue of raw device %s: %m", d->name);
        return 0;
}

static int method_open_packet_fd(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_close_ int fd = -EBADF;
        Device *d = userdata;
        ClientOptions opts;
        uid_t uid;
        int r;

        r = packet_fd_options_read(message, &opts, error);
        if (r < 0)
                return bus_read_failed(r, error);
        r = check_packet_fd_mode(d, &opts, error);
        if (r < 0)
                return r;

        r = device_verify_caller(d, message, &uid, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        if (sd_bus_can_send(sd_bus_message_get_bus(message), SD_BUS_TYPE_UNIX_FD) <= 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                        "This bus connection cannot pass file descriptors.");

        r = check_packet_fd_limits(d, uid, error);
        if (r < 0)
                return r;
        if (opts.tun) {
                r = open_queue(d, uid, &fd, error);
                if (r < 0)
                        return r;
                return sd_bus_reply_method_return(message, "h", fd);
        }
        r = device_open_packet_fd(d, &opts, uid, &fd);
        if (device_gone_errno(r))
                return device_bus_gone_error(d, error);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to open a %s packet fd on %s: %m",
                                               client_mode_to_string(opts.mode), d->name);
        return sd_bus_reply_method_return(message, "h", fd);
}

static int method_delete(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Device *d = userdata;
        uid_t uid;
        int r;

        r = device_verify_caller(d, message, &uid, error);
        if (r <= 0)
                return r < 0 ? r : 1;

        manager_delete_device(device_manager(d), d);
        return sd_bus_reply_method_return(message, NULL);
}

static const sd_bus_vtable device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get_name, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Index", "i", NULL, offsetof(Device, ifindex), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MTU", "u", NULL, offsetof(Device, mtu), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Up", "b", property_get_up, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Offloads", "as", property_get_offloads, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Owner", "u", NULL, offsetof(Device, owner), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Persistent", "b", property_get_persistent, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Clients", "u", property_get_clients, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Statistics", "a{st}", property_get_statistics, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("SetMTU",
                                SD_BUS_ARGS("u", mtu),
                                SD_BUS_NO_RESULT,
                                method_set_mtu,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetOffloads",
                                SD_BUS_ARGS("as", offloads),
                                SD_BUS_NO_RESULT,
                                method_set_offloads,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("OpenPacketFd",
                                SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("h", fd),
                                method_open_packet_fd,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Delete",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_delete,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL("LinkUp", NULL, 0),
        SD_BUS_SIGNAL("LinkDown", NULL, 0),
        SD_BUS_SIGNAL_WITH_ARGS("MTUChanged", SD_BUS_ARGS("u", mtu), 0),
        SD_BUS_VTABLE_END,
};

/* Paths are DEVICE_OBJECT_PREFIX/N with N in plain decimal, as the contract shows them. */
static int device_id_from_path(const char *path, uint64_t *ret) {
        const char *n;
        char *end;
        uint64_t id;

        n = path + strlen(DEVICE_OBJECT_PREFIX);
        if (strncmp(path, DEVICE_OBJECT_PREFIX "/", strlen(DEVICE_OBJECT_PREFIX "/")) != 0)
                return -ENOENT;
        n++;
        if (n[0] < '0' || n[0] > '9' || (n[0] == '0' && n[1] != '\0'))
                return -ENOENT;
        errno = 0;
        id = strtoull(n, &end, 10);
        if (errno != 0 || *end != '\0')
                return -ENOENT;
        *ret = id;
        return 0;
}

static int device_object_find(sd_bus *bus, const char *path, const char *interface,
                              void *userdata, void **found, sd_bus_error *error) {
        Manager *m = userdata;
        uint64_t id;
        Device *d;

        if (device_id_from_path(path, &id) < 0)
                return 0;
        d = manager_find_device_by_id(m, id);
        if (!d)
                return 0;
        *found = d;
        return 1;
}

static int device_node_enumerator(sd_bus *bus, const char *path, void *userdata,
                                  char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        size_t n = 0, i = 0;
        char **l;

        for (Device *d = m->devices; d; d = d->next)
                n++;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (Device *d = m->devices; d; d = d->next) {
                l[i] = strdup(d->object_path);
                if (!l[i]) {
                        for (size_t j = 0; j < i; j++)
                                free(l[j]);
                        free(l);
                        return -ENOMEM;
                }
                i++;
        }
        *nodes = l;
        return 1;
}

int device_bus_path(uint64_t id, char **ret) {
        return asprintf(ret, DEVICE_OBJECT_PREFIX "/%" PRIu64, id) < 0 ? -ENOMEM : 0;
}

int device_bus_register(Manager *m) {
        int r;

        r = sd_bus_add_fallback_vtable(m->bus, NULL, DEVICE_OBJECT_PREFIX, DEVICE_INTERFACE,
                                       device_vtable, device_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the device objects: %m");
        /* Addresses and routes: the same interface, served from device-netcfg-bus.c. */
        r = sd_bus_add_fallback_vtable(m->bus, NULL, DEVICE_OBJECT_PREFIX, DEVICE_INTERFACE,
                                       device_netcfg_vtable, device_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the address and route members of the device objects: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, DEVICE_OBJECT_PREFIX, device_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the device enumerator: %m");
        return 0;
}

void device_bus_emit_added(Device *d) {
        int r;

        r = sd_bus_emit_interfaces_added(device_manager(d)->bus, d->object_path, DEVICE_INTERFACE, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to announce %s: %m", d->object_path);
}

void device_bus_emit_removed(Manager *m, const char *object_path) {
        int r;

        r = sd_bus_emit_interfaces_removed(m->bus, object_path, DEVICE_INTERFACE, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to announce the removal of %s: %m", object_path);
}

void device_bus_emit_changed_strv(Device *d, char **properties) {
        int r;

        if (!properties[0])
                return;
        r = sd_bus_emit_properties_changed_strv(device_manager(d)->bus, d->object_path, DEVICE_INTERFACE, properties);
        if (r < 0)
                log_warning_errno(r, "Failed to announce changed properties of %s: %m", d->object_path);
}

void device_bus_emit_mtu_changed(Device *d) {
        int r;

        r = sd_bus_emit_signal(device_manager(d)->bus, d->object_path, DEVICE_INTERFACE, "MTUChanged", "u", d->mtu);
        if (r < 0)
                log_warning_errno(r, "Failed to announce the MTU of %s: %m", d->object_path);
}

void device_bus_emit_link_up_down(Device *d) {
        int r;

        r = sd_bus_emit_signal(device_manager(d)->bus, d->object_path, DEVICE_INTERFACE,
                               d->up ? "LinkUp" : "LinkDown", NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to announce the link state of %s: %m", d->object_path);
}
