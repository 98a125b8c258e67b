/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tundctl: the command line, the verbs' table, help. */

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "macro.h"
#include "polkit-agent.h"
#include "strv.h"
#include "terminal.h"
#include "tundctl.h"

/* Options that only some verbs take. */
enum {
        OPT_JSON = 1 << 0,
        OPT_LEGEND = 1 << 1,
        OPT_CREATE = 1 << 2,    /* --mtu, --offloads, --owner, --persistent, --raw, --vnet-header */
        OPT_WATCH = 1 << 3,     /* --watch, --interval */
        OPT_NETCFG = 1 << 4,    /* --peer, --gateway, --metric, --table */
        OPT_ATTACH = 1 << 5,    /* --mode */
};

typedef struct Verb {
        const char *name;
        int min_args, max_args;
        int (*run)(Ctl *ctl, int argc, char **argv);
        unsigned options;
        const char *usage;
        const char *summary;    /* for --help */
        const char *help;       /* for COMMAND --help */
} Verb;

static const Verb verbs[] = {
        {
                .name = "list", .min_args = 0, .max_args = 0, .run = verb_list,
                .options = OPT_JSON | OPT_LEGEND,
                .usage = "list",
                .summary = "List devices",
                .help = "List the devices tund manages: name, index, MTU, up, offloads, clients,\n"
                        "owner, persistent.",
        },
        {
                .name = "status", .min_args = 0, .max_args = -1, .run = verb_status,
                .options = OPT_JSON,
                .usage = "status [DEVICE...]",
                .summary = "Show everything about devices",
                .help = "Show everything about the devices named (all without arguments),\n"
                        "statistics included.",
        },
        {
                .name = "create", .min_args = 1, .max_args = 1, .run = verb_create,
                .options = OPT_CREATE,
                .usage = "create NAME [--mtu=MTU] [--offloads=LIST] [--owner=USER] [--persistent] [--raw [--vnet-header]]",
                .summary = "Create a device",
                .help = "Create a device. NAME is an interface name or a pattern with one %d.\n"
                        "Without --persistent the device lives while tundctl runs: it waits, and\n"
                        "removes the device on Ctrl-C or SIGTERM. With --persistent it returns at once.\n"
                        "With --raw its packet fds are queues of the TUN itself (--vnet-header: with\n"
                        "a virtio_net_hdr before each packet).",
        },
        {
                .name = "delete", .min_args = 1, .max_args = -1, .run = verb_delete,
                .usage = "delete DEVICE...",
                .summary = "Remove devices",
                .help = "Remove devices.",
        },
        {
                .name = "set-mtu", .min_args = 2, .max_args = 2, .run = verb_set_mtu,
                .usage = "set-mtu DEVICE MTU",
                .summary = "Set a device's MTU",
                .help = "Set a device's MTU (68-65535).",
        },
        {
                .name = "set-offloads", .min_args = 2, .max_args = -1, .run = verb_set_offloads,
                .usage = "set-offloads DEVICE OFFLOAD...",
                .summary = "Set a device's offloads",
                .help = "Enable exactly these offloads (names separated by spaces or commas;\n"
                        "\"none\" for none).",
        },
        {
                .name = "monitor", .min_args = 0, .max_args = 0, .run = verb_monitor,
                .usage = "monitor",
                .summary = "Follow devices and link events",
                .help = "Print a timestamped line for each device that comes or goes and each\n"
                        "LinkUp, LinkDown, MTUChanged and property change, until Ctrl-C or the\n"
                        "service ends.",
        },
        {
                .name = "stats", .min_args = 1, .max_args = 1, .run = verb_stats,
                .options = OPT_JSON | OPT_LEGEND | OPT_WATCH,
                .usage = "stats DEVICE [--watch] [--interval=SEC]",
                .summary = "Show a device's counters (and rates)",
                .help = "Show a device's counters; with --watch refresh them with per-second rates.",
        },
        {
                .name = "address", .min_args = 1, .max_args = 3, .run = verb_address,
                .options = OPT_JSON | OPT_LEGEND | OPT_NETCFG,
                .usage = "address [list] DEVICE | address add DEVICE ADDRESS [--peer=PEER] | address del DEVICE ADDRESS",
                .summary = "List, add or remove a device's addresses",
                .help = "List a device's addresses, add one (\"10.8.0.2/24\", \"fd00:8::2/64\"; with --peer\n"
                        "the remote end of a point-to-point link), or remove one.",
        },
        {
                .name = "route", .min_args = 1, .max_args = 3, .run = verb_route,
                .options = OPT_JSON | OPT_LEGEND | OPT_NETCFG,
                .usage = "route [list] DEVICE | route add|del DEVICE DESTINATION [--gateway=ADDR] [--metric=N] [--table=N]",
                .summary = "List, add or remove routes through a device",
                .help = "List the routes through a device, add one (\"0.0.0.0/0\", \"10.0.0.0/8\", \"fd00::/8\"),\n"
                        "or remove the one with this destination, metric and table (and gateway).",
        },
        {
                .name = "attach", .min_args = 2, .max_args = -1, .run = verb_attach,
                .options = OPT_ATTACH,
                .usage = "attach DEVICE [--mode=MODE] -- COMMAND [ARGUMENT...]",
                .summary = "Run a program on a packet fd of a device",
                .help = "Open a packet fd of DEVICE (mode packet, batch or vnet) and run COMMAND with it\n"
                        "as fd 3, $TUND_FD, $TUND_MODE and $TUND_DEVICE saying so. A program written\n"
                        "for an inherited TUN fd (IFF_NO_PI, no vnet header) works on it unchanged in\n"
                        "mode packet. No password is asked: the device's owner or root.",
        },
};

static const Verb *find_verb(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(verbs[i].name, name) == 0)
                        return &verbs[i];
        return NULL;
}

static void print_help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n\n"
               "%sQuery and control the TUN devices of tund.%s\n\n"
               "Commands:\n", program_invocation_short_name, ansi(ANSI_BOLD), ansi(ANSI_NORMAL));
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-22s %s\n", verbs[i].name, verbs[i].summary);
        printf("  %-22s %s\n", "help [COMMAND]", "Show help, for all commands or one");
        printf("\nUsage:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  tundctl %s\n", verbs[i].usage);
        printf("\nOptions:\n"
               "  -h --help              Show this help, or a command's\n"
               "     --version           Show the version\n"
               "     --json=MODE         Output JSON: short, pretty or off (list, status, stats,\n"
               "                         address, route)\n"
               "     --no-legend         Leave out column headers and the summary\n"
               "     --no-pager          Do not pipe output into a pager\n"
               "     --no-ask-password   Do not ask for a password (no polkit agent)\n"
               "     --mtu=MTU           create: the MTU\n"
               "     --offloads=LIST     create: offloads, comma-separated, or \"none\"\n"
               "     --owner=USER        create: the user owning the device (name or uid)\n"
               "     --persistent        create: the device outlives tundctl and tund restarts\n"
               "     --raw               create: a raw device (clients get queues of the TUN)\n"
               "     --vnet-header       create --raw: its queues carry a virtio_net_hdr\n"
               "  -w --watch             stats: refresh until interrupted\n"
               "     --interval=SEC      stats --watch: seconds between refreshes (default 1)\n"
               "     --peer=ADDRESS      address add: the remote end of a point-to-point link\n"
               "     --gateway=ADDRESS   route: the gateway\n"
               "     --metric=N          route: the metric (0-4294967295)\n"
               "     --table=N           route: the routing table (1-4294967295; default main)\n"
               "     --mode=MODE         attach: packet (default), batch or vnet\n"
               "\nSee the tundctl(1) man page for details.\n");
}

static void print_verb_help(const Verb *v) {
        printf("%s %s\n\n%s\n", program_invocation_short_name, v->usage, v->help);
        if (v->options & OPT_JSON)
                printf("\n  --json=MODE   short, pretty or off\n");
        if (v->options & OPT_LEGEND)
                printf("  --no-legend   no column headers, no summary\n");
}

static int parse_offload_list(const char *s, char ***ret) {
        int r = strv_split(s, ", ", ret);
        if (r < 0)
                return r;
        if (strv_length(*ret) == 1 && strcmp((*ret)[0], "none") == 0) {
                free((*ret)[0]);
                (*ret)[0] = NULL;
        }
        return 0;
}

static int parse_owner(const char *s, uint32_t *ret) {
        struct passwd *pw = getpwnam(s);
        char *end;
        unsigned long u;

        if (pw) {
                *ret = pw->pw_uid;
                return 0;
        }
        errno = 0;
        u = strtoul(s, &end, 10);
        if (errno || end == s || *end || u >= UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) u;
        return 0;
}

int parse_mtu(const char *s, uint32_t *ret) {
        char *end;
        unsigned long u;

        errno = 0;
        u = strtoul(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || u < 68 || u > 65535)
                return -EINVAL;
        *ret = (uint32_t) u;
        return 0;
}

static int parse_interval(const char *s, uint64_t *ret) {
        char *end;
        double d;

        errno = 0;
        d = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(d) || d < 0.01 || d > 86400)
                return -EINVAL;
        *ret = (uint64_t) (d * 1e6);
        return 0;
}

static int parse_u32(const char *s, uint32_t *ret) {
        char *end;
        unsigned long long u;

        errno = 0;
        u = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || u > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) u;
        return 0;
}

static int set_text(char **field, const char *arg) {
        char *copy = strdup(arg);

        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

static int parse_json(const char *s, JsonMode *ret) {
        if (strcmp(s, "short") == 0)
                *ret = JSON_SHORT;
        else if (strcmp(s, "pretty") == 0)
                *ret = JSON_PRETTY;
        else if (strcmp(s, "off") == 0)
                *ret = JSON_OFF;
        else
                return -EINVAL;
        return 0;
}

enum {
        ARG_VERSION = 0x100, ARG_JSON, ARG_NO_LEGEND, ARG_NO_PAGER, ARG_NO_ASK_PASSWORD,
        ARG_MTU, ARG_OFFLOADS, ARG_OWNER, ARG_PERSISTENT, ARG_RAW, ARG_VNET_HEADER, ARG_INTERVAL,
        ARG_PEER, ARG_GATEWAY, ARG_METRIC, ARG_TABLE, ARG_MODE,
};

typedef struct Args {
        bool help, version;
        unsigned given;         /* OPT_* seen */
} Args;

static int usage_error(const char *format, const char *arg) {
        fputs("tundctl: ", stderr);
        fprintf(stderr, format, arg);
        fputs("\nTry 'tundctl --help'.\n", stderr);
        return EXIT_INVALID;
}

static int parse_option(Ctl *ctl, Args *a, int c, const char *arg) {
        switch (c) {
        case 'h':
                a->help = true;
                return 0;
        case ARG_VERSION:
                a->version = true;
                return 0;
        case ARG_JSON:
                a->given |= OPT_JSON;
                return parse_json(arg, &ctl->json) < 0 ?
                        usage_error("Unknown JSON mode \"%s\" (short, pretty or off).", arg) : 0;
        case ARG_NO_LEGEND:
                a->given |= OPT_LEGEND;
                ctl->legend = false;
                return 0;
        case ARG_NO_PAGER:
                ctl->pager = false;
                return 0;
        case ARG_NO_ASK_PASSWORD:
                ctl->ask_password = false;
                return 0;
        case ARG_MTU:
                a->given |= OPT_CREATE;
                return parse_mtu(arg, &ctl->create.mtu) < 0 ?
                        usage_error("Invalid MTU \"%s\": a number from 68 to 65535.", arg) : 0;
        case ARG_OFFLOADS:
                a->given |= OPT_CREATE;
                strv_free(ctl->create.offloads);
                return parse_offload_list(arg, &ctl->create.offloads) < 0 ? EXIT_GENERIC : 0;
        case ARG_OWNER:
                a->given |= OPT_CREATE;
                ctl->create.set_owner = true;
                return parse_owner(arg, &ctl->create.owner) < 0 ?
                        usage_error("Unknown user \"%s\".", arg) : 0;
        case ARG_PERSISTENT:
                a->given |= OPT_CREATE;
                ctl->create.persistent = true;
                return 0;
        case ARG_RAW:
                a->given |= OPT_CREATE;
                ctl->create.raw = true;
                return 0;
        case ARG_VNET_HEADER:
                a->given |= OPT_CREATE;
                ctl->create.vnet_header = true;
                return 0;
        case 'w':
                a->given |= OPT_WATCH;
                ctl->watch = true;
                return 0;
        case ARG_INTERVAL:
                a->given |= OPT_WATCH;
                return parse_interval(arg, &ctl->interval_usec) < 0 ?
                        usage_error("Invalid interval \"%s\": seconds, 0.01 or more.", arg) : 0;
        case ARG_PEER:
        case ARG_GATEWAY:
                a->given |= OPT_NETCFG;
                *(c == ARG_PEER ? &ctl->peer_given : &ctl->gateway_given) = true;
                if (ctl->peer_given && ctl->gateway_given)
                        return usage_error("--%s: --peer is for addresses and --gateway for routes, not both.",
                                           c == ARG_PEER ? "peer" : "gateway");
                return set_text(&ctl->netcfg.peer, arg) < 0 ? EXIT_GENERIC : 0;
        case ARG_METRIC:
                a->given |= OPT_NETCFG;
                ctl->netcfg.has_metric = true;
                return parse_u32(arg, &ctl->netcfg.metric) < 0 ?
                        usage_error("Invalid metric \"%s\": a number from 0 to 4294967295.", arg) : 0;
        case ARG_TABLE:
                a->given |= OPT_NETCFG;
                ctl->netcfg.has_table = true;
                return parse_u32(arg, &ctl->netcfg.table) < 0 ?
                        usage_error("Invalid table \"%s\": a number from 1 to 4294967295.", arg) : 0;
        case ARG_MODE:
                a->given |= OPT_ATTACH;
                ctl->attach_mode = arg;
                return 0;
        default:
                return EXIT_INVALID;    /* getopt said why */
        }
}

static int parse_argv(Ctl *ctl, Args *a, int argc, char **argv) {
        static const struct option options[] = {
                { "help",            no_argument,       NULL, 'h' },
                { "version",         no_argument,       NULL, ARG_VERSION },
                { "json",            required_argument, NULL, ARG_JSON },
                { "no-legend",       no_argument,       NULL, ARG_NO_LEGEND },
                { "no-pager",        no_argument,       NULL, ARG_NO_PAGER },
                { "no-ask-password", no_argument,       NULL, ARG_NO_ASK_PASSWORD },
                { "mtu",             required_argument, NULL, ARG_MTU },
                { "offloads",        required_argument, NULL, ARG_OFFLOADS },
                { "owner",           required_argument, NULL, ARG_OWNER },
                { "persistent",      no_argument,       NULL, ARG_PERSISTENT },
                { "raw",             no_argument,       NULL, ARG_RAW },
                { "vnet-header",     no_argument,       NULL, ARG_VNET_HEADER },
                { "watch",           no_argument,       NULL, 'w' },
                { "interval",        required_argument, NULL, ARG_INTERVAL },
                { "peer",            required_argument, NULL, ARG_PEER },
                { "gateway",         required_argument, NULL, ARG_GATEWAY },
                { "metric",          required_argument, NULL, ARG_METRIC },
                { "table",           required_argument, NULL, ARG_TABLE },
                { "mode",            required_argument, NULL, ARG_MODE },
                {}
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "hw", options, NULL)) >= 0) {
                r = parse_option(ctl, a, c, optarg);
                if (r != 0)
                        return r;
        }
        return 0;
}

static const char *option_names(unsigned opt) {
        switch (opt) {
        case OPT_JSON:   return "--json";
        case OPT_LEGEND: return "--no-legend";
        case OPT_CREATE: return "--mtu, --offloads, --owner, --persistent, --raw and --vnet-header";
        case OPT_WATCH:  return "--watch and --interval";
        case OPT_NETCFG: return "--peer, --gateway, --metric and --table";
        default:         return "--mode";
        }
}

static int run_verb(Ctl *ctl, const Args *a, int argc, char **argv) {
        const char *name = argc > 0 ? argv[0] : "list";
        const Verb *v;
        int n = argc > 0 ? argc - 1 : 0;

        if (strcmp(name, "help") == 0) {
                if (argc < 2) {
                        print_help();
                        return EXIT_OK;
                }
                v = find_verb(argv[1]);
                if (!v)
                        return usage_error("Unknown command \"%s\".", argv[1]);
                print_verb_help(v);
                return EXIT_OK;
        }
        v = find_verb(name);
        if (!v)
                return usage_error("Unknown command \"%s\".", name);
        if (a->help) {
                print_verb_help(v);
                return EXIT_OK;
        }
        for (unsigned opt = 1; opt <= OPT_ATTACH; opt <<= 1)
                if ((a->given & opt) && !(v->options & opt)) {
                        fprintf(stderr, "tundctl: %s: %s do not apply.\n", v->name, option_names(opt));
                        return EXIT_INVALID;
                }
        if (n < v->min_args)
                return usage_error("Too few arguments; usage: tundctl %s", v->usage);
        if (v->max_args >= 0 && n > v->max_args)
                return usage_error("Too many arguments; usage: tundctl %s", v->usage);
        return v->run(ctl, n, argv + 1);
}

int main(int argc, char **argv) {
        Ctl ctl = {
                .legend = true,
                .pager = true,
                .ask_password = true,
                .interval_usec = 1000000,
        };
        Args a = {};
        int r;

        r = parse_argv(&ctl, &a, argc, argv);
        if (r == 0) {
                if (a.version)
                        printf("tundctl %s\n", PACKAGE_VERSION);
                else if (a.help && optind >= argc)
                        print_help();
                else
                        r = run_verb(&ctl, &a, argc - optind, argv + optind);
        }
        polkit_agent_close();
        pager_close();
        tund_bus_free(ctl.bus);
        strv_free(ctl.create.offloads);
        free(ctl.netcfg.peer);
        return r;
}
