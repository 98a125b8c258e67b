/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "log-control.h"
#include "log.h"

#define LOG_CONTROL_PATH "/org/freedesktop/LogControl1"
#define LOG_CONTROL_INTERFACE "org.freedesktop.LogControl1"
#define PROPERTIES_INTERFACE "org.freedesktop.DBus.Properties"

static bool is_log_control_set(sd_bus_message *m) {
        return sd_bus_message_is_method_call(m, PROPERTIES_INTERFACE, "Set") > 0 &&
               strcmp(sd_bus_message_get_path(m) ?: "", LOG_CONTROL_PATH) == 0;
}

/* A property setter cannot wait for the bus to say who is calling, so a Set is held here
 * until the caller's uid is known, and dispatched again then. */
static int log_control_filter(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        BusPeers *peers = userdata;
        uid_t uid;
        int r;

        if (!is_log_control_set(m))
                return 0;
        r = bus_peers_get_uid(peers, m, &uid, ret_error);
        if (r == 0)
                return 1;       /* held: dispatched again once the bus answered */
        return 0;               /* the setter checks the uid (or the error) again */
}

static int verify_root(sd_bus_message *value, BusPeers *peers, sd_bus_error *error) {
        uid_t uid;
        int r;

        r = bus_peers_get_uid(peers, value, &uid, error);
        if (r < 0)
                return r;
        if (r == 0 || uid != 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                        "Only root may change how tund logs.");
        return 0;
}

static int property_get_log_level(sd_bus *bus, const char *path, const char *interface,
                                  const char *property, sd_bus_message *reply, void *userdata,
                                  sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", log_level_to_string(log_get_max_level()));
}

static int property_get_log_target(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", log_target_to_string(log_get_target()));
}

static int apply_log_level(const char *s, sd_bus_error *error) {
        int level = log_level_from_string(s);

        if (level < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown log level '%s'; use emerg, alert, crit, err, warning, notice, info or debug.", s);
        log_set_max_level(level);
        log_info("Log level set to %s.", log_level_to_string(level));
        return 0;
}

static int apply_log_target(const char *s, sd_bus_error *error) {
        LogTarget target = log_target_from_string(s);

        if (target < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown log target '%s'; use auto, console, console-prefixed, journal, syslog, kmsg or null.", s);
        log_set_target(target);
        log_info("Log target set to %s.", log_target_to_string(target));
        return 0;
}

/* A string property that root sets: read, check the caller, apply, announce. */
static int set_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *value, BusPeers *peers, sd_bus_error *error,
                      int (*apply)(const char *s, sd_bus_error *error)) {
        const char *s;
        int r;

        r = sd_bus_message_read(value, "s", &s);
        if (r < 0)
                return r;
        r = verify_root(value, peers, error);
        if (r < 0)
                return r;
        r = apply(s, error);
        if (r < 0)
                return r;
        return sd_bus_emit_properties_changed(bus, path, interface, property, NULL);
}

static int property_set_log_level(sd_bus *bus, const char *path, const char *interface,
                                  const char *property, sd_bus_message *value, void *userdata,
                                  sd_bus_error *error) {
        return set_string(bus, path, interface, property, value, userdata, error, apply_log_level);
}

static int property_set_log_target(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *value, void *userdata,
                                   sd_bus_error *error) {
        return set_string(bus, path, interface, property, value, userdata, error, apply_log_target);
}

static int property_get_syslog_identifier(sd_bus *bus, const char *path, const char *interface,
                                          const char *property, sd_bus_message *reply, void *userdata,
                                          sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", log_identifier());
}

static const sd_bus_vtable log_control_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_WRITABLE_PROPERTY("LogLevel", "s", property_get_log_level, property_set_log_level, 0,
                                 SD_BUS_VTABLE_UNPRIVILEGED|SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_WRITABLE_PROPERTY("LogTarget", "s", property_get_log_target, property_set_log_target, 0,
                                 SD_BUS_VTABLE_UNPRIVILEGED|SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SyslogIdentifier", "s", property_get_syslog_identifier, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

int log_control_register(sd_bus *bus, BusPeers *peers) {
        int r;

        r = sd_bus_add_filter(bus, NULL, log_control_filter, peers);
        if (r < 0)
                return log_error_errno(r, "Failed to add the log control filter: %m");
        r = sd_bus_add_object_vtable(bus, NULL, LOG_CONTROL_PATH, LOG_CONTROL_INTERFACE, log_control_vtable, peers);
        if (r < 0)
                return log_error_errno(r, "Failed to add the log control object: %m");
        return 0;
}
