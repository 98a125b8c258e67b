/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Opening a packet fd over the bus: GetDevice for a name, then OpenPacketFd with the
 * options, then the tund_fd of the fd received (tund-fd.c). */

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "tund-internal.h"

#define SERVICE         "org.example.Tun1"
#define MANAGER_PATH    "/org/example/Tun1"
#define MANAGER_IFACE   "org.example.Tun1.Manager"
#define DEVICE_IFACE    "org.example.Tun1.Device"

/* The service's errors as errno (tund_open(3) lists them). */
int tund_errno_from_error_name(const char *name, int r) {
        static const struct {
                const char *name;
                int errnum;
        } table[] = {
                { "org.example.Tun1.Error.NoSuchDevice", ENODEV },
                { SD_BUS_ERROR_UNKNOWN_OBJECT, ENODEV },
                { SD_BUS_ERROR_UNKNOWN_INTERFACE, ENODEV },
                { SD_BUS_ERROR_UNKNOWN_METHOD, ENODEV },
                { "org.example.Tun1.Error.Exists", EEXIST },
                { "org.example.Tun1.Error.NoSuchAddress", EADDRNOTAVAIL },
                { "org.example.Tun1.Error.NoSuchRoute", ESRCH },
                { "org.example.Tun1.Error.LimitsExceeded", ENOSPC },
                { "org.example.Tun1.Error.NotSupported", EOPNOTSUPP },
                { SD_BUS_ERROR_ACCESS_DENIED, EACCES },
                { SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED, EACCES },
                { SD_BUS_ERROR_INVALID_ARGS, EINVAL },
                { SD_BUS_ERROR_SERVICE_UNKNOWN, EHOSTDOWN },
                { SD_BUS_ERROR_NAME_HAS_NO_OWNER, EHOSTDOWN },
                { SD_BUS_ERROR_NO_REPLY, ETIMEDOUT },
                { SD_BUS_ERROR_TIMEOUT, ETIMEDOUT },
        };

        if (name)
                for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                        if (strcmp(name, table[i].name) == 0)
                                return -table[i].errnum;
        return r < 0 ? r : -EIO;
}

/* The device's object path: DEVICE itself when it is one, else GetDevice's answer (a copy
 * in *ret_owned). */
static int resolve(sd_bus *bus, const char *device, const char **ret_path, char **ret_owned) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *path;
        int r;

        *ret_owned = NULL;
        if (device[0] == '/') {
                if (!sd_bus_object_path_is_valid(device))
                        return -EINVAL;
                *ret_path = device;
                return 0;
        }
        if (device[0] == '\0')
                return -EINVAL;
        r = sd_bus_call_method(bus, SERVICE, MANAGER_PATH, MANAGER_IFACE, "GetDevice", &error, &reply, "s", device);
        if (r < 0) {
                r = tund_errno_from_error_name(error.name, r);
                goto finish;
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0) {
                r = -EBADMSG;
                goto finish;
        }
        *ret_owned = strdup(path);
        r = *ret_owned ? 0 : -ENOMEM;
        *ret_path = *ret_owned;
finish:
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        return r;
}

static int append_options(sd_bus_message *m, const struct tund_options *o) {
        static const char *const modes[] = {
                [TUND_MODE_PACKET] = "packet",
                [TUND_MODE_BATCH] = "batch",
                [TUND_MODE_VNET] = "vnet",
                [TUND_MODE_RING] = "ring",
        };
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "Mode", "s", modes[o->mode]);
        if (r >= 0 && o->mode == TUND_MODE_RING && o->vnet)
                r = sd_bus_message_append(m, "{sv}", "Vnet", "b", 1);
        if (r >= 0 && o->ring_slots)
                r = sd_bus_message_append(m, "{sv}", "RingSlots", "u", o->ring_slots);
        if (r >= 0 && o->slot_size)
                r = sd_bus_message_append(m, "{sv}", "SlotSize", "u", o->slot_size);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* OpenPacketFd: the fd received, a copy of our own. */
static int open_packet_fd(sd_bus *bus, const char *path, const struct tund_options *o, int *ret_fd) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        int fd, r;

        r = sd_bus_message_new_method_call(bus, &m, SERVICE, path, DEVICE_IFACE, "OpenPacketFd");
        if (r < 0)
                goto finish;
        r = append_options(m, o);
        if (r < 0)
                goto finish;
        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0) {
                r = tund_errno_from_error_name(error.name, r);
                goto finish;
        }
        r = sd_bus_message_read(reply, "h", &fd);
        if (r < 0) {
                r = -EBADMSG;
                goto finish;
        }
        /* The message owns the fd it carries. */
        r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (r < 0) {
                r = -errno;
                goto finish;
        }
        *ret_fd = r;
        r = 0;
finish:
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
        sd_bus_error_free(&error);
        return r;
}

int tund_open(sd_bus *bus, const char *device, const struct tund_options *options, tund_fd **ret) {
        struct tund_options o;
        sd_bus *own = NULL;
        const char *path = NULL;
        char *owned = NULL;
        int fd = -1, r;

        if (!device || !ret)
                return -EINVAL;
        r = tund_options_check(options, &o);
        if (r < 0)
                return r;
        if (!bus) {
                r = sd_bus_open_system(&own);
                if (r < 0)
                        return r;
                bus = own;
        }
        r = sd_bus_can_send(bus, SD_BUS_TYPE_UNIX_FD);
        if (r <= 0) {
                r = r < 0 ? r : -EOPNOTSUPP;    /* no fd passing on this connection */
                goto finish;
        }
        r = resolve(bus, device, &path, &owned);
        if (r < 0)
                goto finish;
        r = open_packet_fd(bus, path, &o, &fd);
        if (r < 0)
                goto finish;
        r = tund_fd_from_fd(fd, &o, ret);
        if (r < 0)
                close(fd);
finish:
        free(owned);
        sd_bus_flush_close_unref(own);
        return r;
}
