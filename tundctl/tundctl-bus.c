/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "tund.h"
#include "strv.h"
#include "tundctl-bus.h"

#define SERVICE        "org.example.Tun1"
#define MANAGER_PATH   "/org/example/Tun1"
#define MANAGER_IFACE  "org.example.Tun1.Manager"
#define DEVICE_IFACE   "org.example.Tun1.Device"
#define DEVICE_PREFIX  "/org/example/Tun1/device"

struct TundBus {
        sd_bus *bus;
        bool interactive;
        const TundWatch *watch;
        void *watch_userdata;
};


/* The service's errors as errno (libtund's map), so that tundctl's exit codes tell them
 * apart. */
static int bus_errno(const sd_bus_error *error, int r) {
        return tund_errno_from_error_name(error ? error->name : NULL, r);
}

int tund_bus_open(TundBus **ret, bool interactive) {
        TundBus *b = calloc(1, sizeof(*b));
        int r;

        if (!b)
                return -ENOMEM;
        r = sd_bus_open_system(&b->bus);
        if (r < 0) {
                free(b);
                return r;
        }
        b->interactive = interactive;
        *ret = b;
        return 0;
}

TundBus *tund_bus_free(TundBus *b) {
        if (!b)
                return NULL;
        sd_bus_flush_close_unref(b->bus);
        return mfree(b);
}

/* The loop ends (with EXIT_FAILURE) when the bus goes away. */
int tund_bus_attach_event(TundBus *b, sd_event *event) {
        int r = sd_bus_set_exit_on_disconnect(b->bus, true);
        if (r < 0)
                return r;
        return sd_bus_attach_event(b->bus, event, SD_EVENT_PRIORITY_NORMAL);
}

void tund_stats_free(TundStat *stats, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(stats[i].name);
        free(stats);
}

TundDevice *tund_device_free(TundDevice *d) {
        if (!d)
                return NULL;
        free(d->path);
        free(d->name);
        strv_free(d->offloads);
        tund_stats_free(d->stats, d->n_stats);
        strv_free(d->addresses);
        strv_free(d->routes);
        return mfree(d);
}

void tund_device_list_free(TundDevice **devices, size_t n) {
        for (size_t i = 0; i < n; i++)
                tund_device_free(devices[i]);
        free(devices);
}

/* A method call; with AUTH it may need polkit and carries the interactive flag if asked. */
static int call(TundBus *b, const char *path, const char *iface, const char *member, bool auth,
                sd_bus_message **reply, sd_bus_error *error, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(b->bus, &m, SERVICE, path, iface, member);
        if (r < 0)
                return r;
        if (auth && b->interactive) {
                r = sd_bus_message_set_allow_interactive_authorization(m, true);
                if (r < 0)
                        return r;
        }
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return r;
        }
        /* Someone may be typing a password: no timeout then. */
        r = sd_bus_call(b->bus, m, auth && b->interactive ? UINT64_MAX : 0, error, reply);
        return r < 0 ? bus_errno(error, r) : 0;
}

int tund_bus_version(TundBus *b, char **ret, sd_bus_error *error) {
        int r = sd_bus_get_property_string(b->bus, SERVICE, MANAGER_PATH, MANAGER_IFACE,
                                           "Version", error, ret);
        return r < 0 ? bus_errno(error, r) : 0;
}

int tund_bus_resolve(TundBus *b, const char *device, char **ret_path, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        int r;

        if (device[0] == '/') {
                if (!sd_bus_object_path_is_valid(device))
                        return -EINVAL;
                *ret_path = strdup(device);
                return *ret_path ? 0 : -ENOMEM;
        }
        r = call(b, MANAGER_PATH, MANAGER_IFACE, "GetDevice", false, &reply, error, "s", device);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        *ret_path = strdup(path);
        return *ret_path ? 0 : -ENOMEM;
}

static int read_strv(sd_bus_message *m, char ***ret) {
        char **l = NULL;
        int r = sd_bus_message_read_strv(m, &l);
        if (r < 0)
                return r;
        strv_free(*ret);
        *ret = l ?: strv_new0();
        return *ret ? 0 : -ENOMEM;
}

static int compare_stats(const void *a, const void *b) {
        return strcmp(((const TundStat *) a)->name, ((const TundStat *) b)->name);
}

static int read_stats(sd_bus_message *m, TundStat **ret, size_t *ret_n) {
        TundStat *stats = NULL;
        size_t n = 0;
        const char *name;
        uint64_t value;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{st}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "{st}", &name, &value)) > 0) {
                TundStat *s = realloc(stats, (n + 1) * sizeof(*s));
                if (!s) {
                        tund_stats_free(stats, n);
                        return -ENOMEM;
                }
                stats = s;
                stats[n].value = value;
                stats[n].name = strdup(name);
                if (!stats[n++].name) {
                        tund_stats_free(stats, n);
                        return -ENOMEM;
                }
        }
        if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0) {
                tund_stats_free(stats, n);
                return r;
        }
        if (n > 0)
                qsort(stats, n, sizeof(*stats), compare_stats);
        *ret = stats;
        *ret_n = n;
        return 0;
}

void tund_net_entries_free(TundNetEntry *entries, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(entries[i].first);
                free(entries[i].peer);
        }
        free(entries);
}

/* One option of an address or a route: Peer or Gateway (s), Metric or Table (u); others
 * are skipped. */
static int read_net_option(sd_bus_message *m, const char *key, TundNetEntry *e) {
        const char *s;

        if (strcmp(key, "Peer") == 0 || strcmp(key, "Gateway") == 0) {
                int r = sd_bus_message_read(m, "v", "s", &s);
                if (r < 0)
                        return r;
                free(e->peer);
                e->peer = strdup(s);
                return e->peer ? 0 : -ENOMEM;
        }
        if (strcmp(key, "Metric") == 0) {
                e->has_metric = true;
                return sd_bus_message_read(m, "v", "u", &e->metric);
        }
        if (strcmp(key, "Table") == 0) {
                e->has_table = true;
                return sd_bus_message_read(m, "v", "u", &e->table);
        }
        return sd_bus_message_skip(m, "v");
}

/* One (sa{sv}): the address or destination, then its options. */
static int read_net_entry(sd_bus_message *m, TundNetEntry *e) {
        const char *first, *key;
        int r;

        r = sd_bus_message_read(m, "s", &first);
        if (r < 0)
                return r;
        e->first = strdup(first);
        if (!e->first)
                return -ENOMEM;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0)
                        r = read_net_option(m, key, e);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r;
}

/* a(sa{sv}), as Addresses and Routes carry them. */
static int read_net_entries(sd_bus_message *m, TundNetEntry **ret, size_t *ret_n) {
        TundNetEntry *entries = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(sa{sv})");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'r', "sa{sv}")) > 0) {
                TundNetEntry *more = reallocarray(entries, n + 1, sizeof(*entries));
                if (!more) {
                        r = -ENOMEM;
                        break;
                }
                entries = more;
                entries[n++] = (TundNetEntry) {};
                r = read_net_entry(m, &entries[n - 1]);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0) {
                tund_net_entries_free(entries, n);
                return r;
        }
        *ret = entries;
        *ret_n = n;
        return 0;
}

/* "10.8.0.2/24 peer 10.8.0.1", "10.0.0.0/8 via 10.8.0.1 metric 5 table 100". */
static char *format_net_entry(const TundNetEntry *e, bool route) {
        char metric[32] = "", table[32] = "", *text;

        if (e->has_metric)
                snprintf(metric, sizeof(metric), " metric %" PRIu32, e->metric);
        if (e->has_table)
                snprintf(table, sizeof(table), " table %" PRIu32, e->table);
        if (asprintf(&text, "%s%s%s%s%s", e->first, e->peer ? (route ? " via " : " peer ") : "",
                     e->peer ?: "", metric, table) < 0)
                return NULL;
        return text;
}

/* Addresses or Routes as texts. */
static int read_entries(sd_bus_message *m, bool route, char ***ret) {
        TundNetEntry *entries = NULL;
        char **l = strv_new0();
        size_t n = 0;
        int r;

        if (!l)
                return -ENOMEM;
        r = read_net_entries(m, &entries, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char *text = format_net_entry(&entries[i], route);
                r = text ? strv_push(&l, text) : -ENOMEM;
        }
        tund_net_entries_free(entries, n);
        if (r < 0) {
                strv_free(l);
                return r;
        }
        strv_free(*ret);
        *ret = l;
        return 0;
}

static int read_property(sd_bus_message *m, const char *name, TundDevice *d) {
        const char *s;
        int b, r;

        if (strcmp(name, "Name") == 0) {
                r = sd_bus_message_read(m, "v", "s", &s);
                if (r < 0)
                        return r;
                free(d->name);
                d->name = strdup(s);
                return d->name ? 0 : -ENOMEM;
        }
        if (strcmp(name, "Index") == 0)
                return sd_bus_message_read(m, "v", "i", &d->index);
        if (strcmp(name, "MTU") == 0)
                return sd_bus_message_read(m, "v", "u", &d->mtu);
        if (strcmp(name, "Owner") == 0)
                return sd_bus_message_read(m, "v", "u", &d->owner);
        if (strcmp(name, "Clients") == 0)
                return sd_bus_message_read(m, "v", "u", &d->clients);
        if (strcmp(name, "Up") == 0 || strcmp(name, "Persistent") == 0) {
                r = sd_bus_message_read(m, "v", "b", &b);
                if (r >= 0)
                        *(name[0] == 'U' ? &d->up : &d->persistent) = b;
                return r;
        }
        r = 0;
        if (strcmp(name, "Offloads") == 0 || strcmp(name, "Statistics") == 0 ||
            strcmp(name, "Addresses") == 0 || strcmp(name, "Routes") == 0) {
                r = sd_bus_message_enter_container(m, 'v', NULL);
                if (r < 0)
                        return r;
                if (name[0] == 'O')
                        r = read_strv(m, &d->offloads);
                else if (name[0] == 'S') {
                        tund_stats_free(d->stats, d->n_stats);
                        d->stats = NULL;
                        d->n_stats = 0;
                        r = read_stats(m, &d->stats, &d->n_stats);
                } else if (name[0] == 'A') {
                        d->has_addresses = true;
                        r = read_entries(m, false, &d->addresses);
                } else {
                        d->has_routes = true;
                        r = read_entries(m, true, &d->routes);
                }
                if (r < 0)
                        return r;
                return sd_bus_message_exit_container(m);
        }
        return sd_bus_message_skip(m, "v");
}

/* An a{sv} of Device properties into D. */
static int read_properties(sd_bus_message *m, TundDevice *d) {
        const char *name;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                r = read_property(m, name, d);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static TundDevice *device_new(const char *path) {
        TundDevice *d = calloc(1, sizeof(*d));
        if (!d)
                return NULL;
        d->path = strdup(path);
        d->offloads = strv_new0();
        d->addresses = strv_new0();
        d->routes = strv_new0();
        if (!d->path || !d->offloads || !d->addresses || !d->routes)
                return tund_device_free(d);
        return d;
}

int tund_bus_get_device(TundBus *b, const char *path, TundDevice **ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(tund_device_freep) TundDevice *d = NULL;
        int r;

        r = call(b, path, "org.freedesktop.DBus.Properties", "GetAll", false, &reply, error,
                 "s", DEVICE_IFACE);
        if (r < 0)
                return r;
        d = device_new(path);
        if (!d)
                return -ENOMEM;
        r = read_properties(reply, d);
        if (r < 0)
                return r;
        if (!d->name)   /* an object that is not a device */
                return -ENODEV;
        *ret = TAKE_PTR(d);
        return 0;
}

static int compare_devices(const void *a, const void *b) {
        const TundDevice *x = *(TundDevice *const *) a, *y = *(TundDevice *const *) b;
        if (x->index != y->index)
                return x->index < y->index ? -1 : 1;
        return strcmp(x->name, y->name);
}

/* ListDevices' paths. */
static int list_paths(TundBus *b, char ***ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char **paths = strv_new0();
        const char *name, *path;
        int r;

        if (!paths)
                return -ENOMEM;
        r = call(b, MANAGER_PATH, MANAGER_IFACE, "ListDevices", false, &reply, error, NULL);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(so)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(so)", &name, &path)) > 0) {
                char *p = strdup(path);
                r = p ? strv_push(&paths, p) : -ENOMEM;
        }
        if (r < 0) {
                strv_free(paths);
                return r;
        }
        *ret = paths;
        return 0;
}

int tund_bus_list(TundBus *b, TundDevice ***ret, size_t *ret_n, sd_bus_error *error) {
        _cleanup_(strv_freep) char **paths = NULL;
        TundDevice **devices;
        size_t n = 0;
        int r;

        r = list_paths(b, &paths, error);
        if (r < 0)
                return r;
        devices = calloc(strv_length(paths) + 1, sizeof(*devices));
        if (!devices)
                return -ENOMEM;
        for (char **p = paths; *p; p++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                r = tund_bus_get_device(b, *p, &devices[n], &e);
                if (r == -ENODEV) {     /* gone since ListDevices */
                        sd_bus_error_free(&e);
                        continue;
                }
                if (r < 0) {
                        sd_bus_error_move(error, &e);
                        tund_device_list_free(devices, n);
                        return r;
                }
                n++;
        }
        if (n > 0)
                qsort(devices, n, sizeof(*devices), compare_devices);
        *ret = devices;
        *ret_n = n;
        return 0;
}

int tund_bus_get_statistics(TundBus *b, const char *path, TundStat **ret, size_t *ret_n,
                            sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = call(b, path, "org.freedesktop.DBus.Properties", "Get", false, &reply, error,
                 "ss", DEVICE_IFACE, "Statistics");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'v', "a{st}");
        if (r < 0)
                return r;
        return read_stats(reply, ret, ret_n);
}

static int append_create_options(sd_bus_message *m, const TundCreateOptions *o) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && o->mtu > 0)
                r = sd_bus_message_append(m, "{sv}", "MTU", "u", o->mtu);
        if (r >= 0 && o->offloads) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "Offloads");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, o->offloads);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && o->set_owner)
                r = sd_bus_message_append(m, "{sv}", "Owner", "u", o->owner);
        if (r >= 0 && o->persistent)
                r = sd_bus_message_append(m, "{sv}", "Persistent", "b", 1);
        if (r >= 0 && o->raw)
                r = sd_bus_message_append(m, "{sv}", "Raw", "b", 1);
        if (r >= 0 && o->vnet_header)
                r = sd_bus_message_append(m, "{sv}", "VnetHeader", "b", 1);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

int tund_bus_create(TundBus *b, const char *name, const TundCreateOptions *options,
                    char **ret_path, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        const char *path;
        int r;

        r = sd_bus_message_new_method_call(b->bus, &m, SERVICE, MANAGER_PATH, MANAGER_IFACE,
                                           "CreateDevice");
        if (r >= 0 && b->interactive)
                r = sd_bus_message_set_allow_interactive_authorization(m, true);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = append_create_options(m, options);
        if (r < 0)
                return r;
        r = sd_bus_call(b->bus, m, b->interactive ? UINT64_MAX : 0, error, &reply);
        if (r < 0)
                return bus_errno(error, r);
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        *ret_path = strdup(path);
        return *ret_path ? 0 : -ENOMEM;
}

int tund_bus_delete(TundBus *b, const char *path, sd_bus_error *error) {
        return call(b, path, DEVICE_IFACE, "Delete", true, NULL, error, NULL);
}

int tund_bus_set_mtu(TundBus *b, const char *path, uint32_t mtu, sd_bus_error *error) {
        return call(b, path, DEVICE_IFACE, "SetMTU", true, NULL, error, "u", mtu);
}

int tund_bus_set_offloads(TundBus *b, const char *path, char **offloads, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(b->bus, &m, SERVICE, path, DEVICE_IFACE, "SetOffloads");
        if (r >= 0 && b->interactive)
                r = sd_bus_message_set_allow_interactive_authorization(m, true);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, offloads);
        if (r < 0)
                return r;
        r = sd_bus_call(b->bus, m, b->interactive ? UINT64_MAX : 0, error, NULL);
        return r < 0 ? bus_errno(error, r) : 0;
}

int tund_bus_get_netcfg(TundBus *b, const char *path, bool routes, TundNetEntry **ret, size_t *ret_n,
                        sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = call(b, path, "org.freedesktop.DBus.Properties", "Get", false, &reply, error,
                 "ss", DEVICE_IFACE, routes ? "Routes" : "Addresses");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'v', "a(sa{sv})");
        if (r < 0)
                return r;
        return read_net_entries(reply, ret, ret_n);
}

/* A call that may need polkit, built by the caller after its method's name. */
static int call_message(TundBus *b, sd_bus_message *m, sd_bus_error *error) {
        int r;

        if (b->interactive) {
                r = sd_bus_message_set_allow_interactive_authorization(m, true);
                if (r < 0)
                        return r;
        }
        r = sd_bus_call(b->bus, m, b->interactive ? UINT64_MAX : 0, error, NULL);
        return r < 0 ? bus_errno(error, r) : 0;
}

int tund_bus_change_address(TundBus *b, const char *path, bool add, const TundNetEntry *address,
                            sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(b->bus, &m, SERVICE, path, DEVICE_IFACE,
                                           add ? "AddAddress" : "RemoveAddress");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", address->first);
        if (r >= 0 && add)
                r = address->peer ? sd_bus_message_append(m, "a{sv}", 1, "Peer", "s", address->peer) :
                                    sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return r;
        return call_message(b, m, error);
}

int tund_bus_change_route(TundBus *b, const char *path, bool add, const TundNetEntry *route,
                          sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(b->bus, &m, SERVICE, path, DEVICE_IFACE,
                                           add ? "AddRoute" : "RemoveRoute");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", route->first);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && route->peer)
                r = sd_bus_message_append(m, "{sv}", "Gateway", "s", route->peer);
        if (r >= 0 && route->has_metric)
                r = sd_bus_message_append(m, "{sv}", "Metric", "u", route->metric);
        if (r >= 0 && route->has_table)
                r = sd_bus_message_append(m, "{sv}", "Table", "u", route->table);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return call_message(b, m, error);
}

/* The watch: signals as callbacks. */

static int on_interfaces_added(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        TundBus *b = userdata;
        _cleanup_(tund_device_freep) TundDevice *d = NULL;
        const char *path, *iface;
        int r;

        r = sd_bus_message_read(m, "o", &path);
        if (r < 0 || !(d = device_new(path)))
                return 0;
        r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
                r = sd_bus_message_read(m, "s", &iface);
                if (r < 0)
                        break;
                if (strcmp(iface, DEVICE_IFACE) == 0)
                        r = read_properties(m, d);
                else
                        r = sd_bus_message_skip(m, "a{sv}");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0 && d->name && b->watch->added)
                b->watch->added(path, d, b->watch_userdata);
        return 0;
}

static int on_interfaces_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        TundBus *b = userdata;
        _cleanup_(strv_freep) char **ifaces = NULL;
        const char *path;

        if (sd_bus_message_read(m, "o", &path) < 0 || sd_bus_message_read_strv(m, &ifaces) < 0)
                return 0;
        if (strv_contains(ifaces, DEVICE_IFACE) && b->watch->removed)
                b->watch->removed(path, b->watch_userdata);
        return 0;
}

static int on_device_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        TundBus *b = userdata;
        const char *path = sd_bus_message_get_path(m);
        uint32_t mtu;

        if (!path)
                return 0;
        if (sd_bus_message_is_signal(m, DEVICE_IFACE, "LinkUp") && b->watch->link_up)
                b->watch->link_up(path, b->watch_userdata);
        else if (sd_bus_message_is_signal(m, DEVICE_IFACE, "LinkDown") && b->watch->link_down)
                b->watch->link_down(path, b->watch_userdata);
        else if (sd_bus_message_is_signal(m, DEVICE_IFACE, "MTUChanged") && b->watch->mtu_changed &&
                 sd_bus_message_read(m, "u", &mtu) >= 0)
                b->watch->mtu_changed(path, mtu, b->watch_userdata);
        return 0;
}

/* One changed property as NAME=VALUE. */
static char *format_assignment(const char *name, const TundDevice *d) {
        _cleanup_free_ char *joined = NULL;
        char *s = NULL;
        int r = -1;

        if (strcmp(name, "Name") == 0)
                r = asprintf(&s, "Name=%s", strna(d->name));
        else if (strcmp(name, "Index") == 0)
                r = asprintf(&s, "Index=%" PRIi32, d->index);
        else if (strcmp(name, "MTU") == 0)
                r = asprintf(&s, "MTU=%" PRIu32, d->mtu);
        else if (strcmp(name, "Up") == 0)
                r = asprintf(&s, "Up=%s", d->up ? "yes" : "no");
        else if (strcmp(name, "Clients") == 0)
                r = asprintf(&s, "Clients=%" PRIu32, d->clients);
        else if (strcmp(name, "Offloads") == 0) {
                joined = strv_join(d->offloads, ",");
                if (joined)
                        r = asprintf(&s, "Offloads=%s", joined[0] ? joined : "none");
        } else if (strcmp(name, "Addresses") == 0 || strcmp(name, "Routes") == 0) {
                joined = strv_join(name[0] == 'A' ? d->addresses : d->routes, ", ");
                if (joined)
                        r = asprintf(&s, "%s=%s", name, joined);
        } else
                r = asprintf(&s, "%s", name);
        return r < 0 ? NULL : s;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        TundBus *b = userdata;
        _cleanup_(tund_device_freep) TundDevice *d = NULL;
        _cleanup_(strv_freep) char **assignments = strv_new0(), **invalidated = NULL;
        const char *path = sd_bus_message_get_path(m), *iface, *name;
        int r;

        if (!path || !assignments || !(d = device_new(path)))
                return 0;
        r = sd_bus_message_read(m, "s", &iface);
        if (r < 0 || strcmp(iface, DEVICE_IFACE) != 0)
                return 0;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &name);
                if (r >= 0)
                        r = read_property(m, name, d);
                if (r >= 0) {
                        char *a = format_assignment(name, d);
                        r = a ? strv_push(&assignments, a) : -ENOMEM;
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_read_strv(m, &invalidated);
        for (char **i = invalidated; r >= 0 && i && *i; i++) {
                char *a = strdup(*i);
                r = a ? strv_push(&assignments, a) : -ENOMEM;
        }
        if (r >= 0 && assignments[0] && b->watch->changed)
                b->watch->changed(path, assignments, b->watch_userdata);
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        TundBus *b = userdata;
        const char *name, *old_owner, *new_owner, *sender = sd_bus_message_get_sender(m);

        /* Only the bus itself speaks for name ownership. */
        if (!sender || strcmp(sender, "org.freedesktop.DBus") != 0)
                return 0;
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (strcmp(name, SERVICE) == 0 && new_owner[0] == '\0' && b->watch->service_gone)
                b->watch->service_gone(b->watch_userdata);
        return 0;
}

int tund_bus_watch(TundBus *b, const TundWatch *watch, void *userdata, sd_bus_error *error) {
        static const struct {
                const char *rule;
                sd_bus_message_handler_t handler;
        } matches[] = {
                { "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                  "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" SERVICE "'",
                  on_name_owner_changed },
                { "type='signal',sender='" SERVICE "',path='" MANAGER_PATH "',"
                  "interface='org.freedesktop.DBus.ObjectManager',member='InterfacesAdded'",
                  on_interfaces_added },
                { "type='signal',sender='" SERVICE "',path='" MANAGER_PATH "',"
                  "interface='org.freedesktop.DBus.ObjectManager',member='InterfacesRemoved'",
                  on_interfaces_removed },
                { "type='signal',sender='" SERVICE "',path_namespace='" DEVICE_PREFIX "',"
                  "interface='" DEVICE_IFACE "'",
                  on_device_signal },
                { "type='signal',sender='" SERVICE "',path_namespace='" DEVICE_PREFIX "',"
                  "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                  "arg0='" DEVICE_IFACE "'",
                  on_properties_changed },
        };
        _cleanup_free_ char *version = NULL;
        int r;

        b->watch = watch;
        b->watch_userdata = userdata;
        for (size_t i = 0; i < ELEMENTSOF(matches); i++) {
                r = sd_bus_add_match(b->bus, NULL, matches[i].rule, matches[i].handler, b);
                if (r < 0)
                        return bus_errno(error, r);
        }
        /* The service may not be running (or be activated by this call). */
        return tund_bus_version(b, &version, error);
}
