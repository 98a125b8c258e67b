/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tundctl address and route: add, del and list a device's addresses and routes. */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json-writer.h"
#include "macro.h"
#include "table.h"
#include "terminal.h"
#include "tundctl.h"

typedef enum NetcfgAction {
        NETCFG_LIST,
        NETCFG_ADD,
        NETCFG_DEL,
} NetcfgAction;

/* "address add DEVICE ADDRESS", "address del DEVICE ADDRESS", "address [list] DEVICE". */
static int parse_action(int argc, char **argv, const char *what, NetcfgAction *ret, char ***ret_args) {
        static const struct {
                const char *word;
                NetcfgAction action;
                int n_args;
        } actions[] = {
                { "add", NETCFG_ADD, 2 },
                { "del", NETCFG_DEL, 2 },
                { "delete", NETCFG_DEL, 2 },
                { "remove", NETCFG_DEL, 2 },
                { "list", NETCFG_LIST, 1 },
                { "show", NETCFG_LIST, 1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(actions); i++) {
                if (strcmp(argv[0], actions[i].word) != 0)
                        continue;
                if (argc - 1 != actions[i].n_args) {
                        fprintf(stderr, "tundctl: %s %s takes %s.\nTry 'tundctl %s --help'.\n", what,
                                argv[0], actions[i].n_args == 2 ? "a device and an address" : "a device",
                                what);
                        return EXIT_INVALID;
                }
                *ret = actions[i].action;
                *ret_args = argv + 1;
                return EXIT_OK;
        }
        if (argc != 1) {
                fprintf(stderr, "tundctl: Unknown %s command \"%s\" (add, del or list).\n", what, argv[0]);
                return EXIT_INVALID;
        }
        *ret = NETCFG_LIST;
        *ret_args = argv;
        return EXIT_OK;
}

static const TableColumn address_columns[] = {
        { "ADDRESS", false },
        { "PEER", false },
};

static const TableColumn route_columns[] = {
        { "DESTINATION", false },
        { "GATEWAY", false },
        { "METRIC", true },
        { "TABLE", true },
};

static int add_row(Table *t, const TundNetEntry *e, bool routes) {
        int r = table_add(t, e->first, NULL);

        if (r >= 0)
                r = table_add(t, e->peer ?: "-", NULL);
        if (r >= 0 && routes)
                r = e->has_metric ? table_addf(t, NULL, "%" PRIu32, e->metric) : table_add(t, "-", NULL);
        if (r >= 0 && routes)
                r = e->has_table ? table_addf(t, NULL, "%" PRIu32, e->table) : table_add(t, "-", NULL);
        return r;
}

static int print_table(Ctl *ctl, const TundNetEntry *entries, size_t n, bool routes) {
        _cleanup_(table_freep) Table *t = routes ? table_new(route_columns, ELEMENTSOF(route_columns)) :
                                                   table_new(address_columns, ELEMENTSOF(address_columns));

        if (!t)
                return ctl_fail(-ENOMEM, NULL, "Failed to list %s", routes ? "routes" : "addresses");
        for (size_t i = 0; i < n; i++)
                if (add_row(t, &entries[i], routes) < 0)
                        return ctl_fail(-ENOMEM, NULL, "Failed to list %s", routes ? "routes" : "addresses");
        if (ctl->pager)
                pager_open();
        table_print(t, stdout, ctl->legend);
        if (ctl->legend)
                printf("\n%zu %s listed.\n", n, routes ? (n == 1 ? "route" : "routes") :
                                                         (n == 1 ? "address" : "addresses"));
        return EXIT_OK;
}

static void print_json(Ctl *ctl, const TundNetEntry *entries, size_t n, bool routes) {
        JsonWriter w;

        json_writer_init(&w, stdout, ctl->json == JSON_PRETTY);
        json_begin_array(&w);
        for (size_t i = 0; i < n; i++) {
                const TundNetEntry *e = &entries[i];

                json_begin_object(&w);
                json_key(&w, routes ? "destination" : "address");
                json_string(&w, e->first);
                json_key(&w, routes ? "gateway" : "peer");
                json_string(&w, e->peer);
                if (routes) {
                        json_key(&w, "metric");
                        if (e->has_metric)
                                json_uint(&w, e->metric);
                        else
                                json_null(&w);
                        json_key(&w, "table");
                        if (e->has_table)
                                json_uint(&w, e->table);
                        else
                                json_null(&w);
                }
                json_end_object(&w);
        }
        json_end_array(&w);
        json_finish(&w);
}

static int list(Ctl *ctl, const char *device, bool routes) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        TundNetEntry *entries = NULL;
        TundBus *bus = NULL;
        size_t n = 0;
        int r;

        r = ctl_resolve(ctl, device, &path, &bus);
        if (r != EXIT_OK)
                return r;
        r = tund_bus_get_netcfg(bus, path, routes, &entries, &n, &error);
        if (r < 0) {
                r = ctl_fail(r, &error, "Failed to read the %s of %s", routes ? "routes" : "addresses", device);
                sd_bus_error_free(&error);
                return r;
        }
        if (ctl->json != JSON_OFF) {
                print_json(ctl, entries, n, routes);
                r = EXIT_OK;
        } else
                r = print_table(ctl, entries, n, routes);
        tund_net_entries_free(entries, n);
        return r;
}

static int change(Ctl *ctl, const char *device, const char *what, bool add, bool routes) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        TundNetEntry e = ctl->netcfg;
        TundBus *bus = NULL;
        int r;

        r = ctl_resolve(ctl, device, &path, &bus);
        if (r != EXIT_OK)
                return r;
        e.first = (char *) what;
        ctl_agent_open(ctl);
        r = routes ? tund_bus_change_route(bus, path, add, &e, &error) :
                     tund_bus_change_address(bus, path, add, &e, &error);
        if (r < 0) {
                r = ctl_fail(r, &error, "Failed to %s %s %s %s", add ? "add" : "remove",
                             routes ? "route" : "address", what, add ? "to" : "from");
                sd_bus_error_free(&error);
                return r;
        }
        return EXIT_OK;
}

/* The options given that ACTION does not take, in words; NULL when all apply. */
static const char *misplaced_options(const Ctl *ctl, NetcfgAction action, bool routes) {
        bool route_options = ctl->gateway_given || ctl->netcfg.has_metric || ctl->netcfg.has_table;

        if (!routes)
                return route_options ? "--gateway, --metric and --table" :
                       ctl->peer_given && action != NETCFG_ADD ? "--peer" : NULL;
        if (ctl->peer_given)
                return "--peer";
        return action == NETCFG_LIST && route_options ? "--gateway, --metric and --table" : NULL;
}

static int verb_netcfg(Ctl *ctl, int argc, char **argv, bool routes) {
        const char *what = routes ? "route" : "address", *bad;
        NetcfgAction action;
        char **args;
        int r;

        r = parse_action(argc, argv, what, &action, &args);
        if (r != EXIT_OK)
                return r;
        bad = misplaced_options(ctl, action, routes);
        if (bad) {
                fprintf(stderr, "tundctl: %s %s: %s do%s not apply.\n", what,
                        action == NETCFG_LIST ? "list" : argv[0], bad, strchr(bad, ' ') ? "" : "es");
                return EXIT_INVALID;
        }
        if (action == NETCFG_LIST)
                return list(ctl, args[0], routes);
        return change(ctl, args[0], args[1], action == NETCFG_ADD, routes);
}

int verb_address(Ctl *ctl, int argc, char **argv) {
        return verb_netcfg(ctl, argc, argv, false);
}

int verb_route(Ctl *ctl, int argc, char **argv) {
        return verb_netcfg(ctl, argc, argv, true);
}
