/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "config.h"
#include "log.h"
#include "manager-bus.h"
#include "manager.h"
#include "privileges.h"
#include "tund-limits.h"

#define STATE_DIRECTORY_ENV "TUND_STATE_DIRECTORY"

#define NETNS_HELPER_SOCKET RUNSTATEDIR "/tund-netns-helper.socket"

typedef struct Arguments {
        const char *state_dir;
        const char *netns_helper_socket;
        const char *user;
        bool keep_root;
        Limits limits;
} Arguments;

static void help(void) {
        const Limits d = LIMITS_DEFAULT;

        printf("Usage: tund [OPTIONS...]\n"
               "\n"
               "Owns TUN devices for other programs, on the system bus as org.example.Tun1.\n"
               "\n"
               "  -h --help                  Show this help and exit\n"
               "     --version               Show the version and exit\n"
               "     --log-level=LEVEL       Log up to LEVEL: emerg, alert, crit, err, warning,\n"
               "                             notice, info (default) or debug\n"
               "     --log-target=TARGET     Log to auto (default: stderr), console,\n"
               "                             console-prefixed, journal, syslog, kmsg or null\n"
               "     --state-directory=PATH  Keep records of persistent devices in PATH\n"
               "                             (default: $" STATE_DIRECTORY_ENV ", else %s/tund)\n"
               "     --netns-helper-socket=PATH\n"
               "                             Reach the namespace helper, which acts for tund in\n"
               "                             other network namespaces, on PATH (default:\n"
               "                             " NETNS_HELPER_SOCKET "; \"\" for none)\n"
               "     --user=NAME             Started as root, run as user NAME with only\n"
               "                             CAP_NET_ADMIN and CAP_NET_BROADCAST (default " PRIVILEGES_USER_DEFAULT ")\n"
               "     --keep-root             Stay root when started as root, for development\n"
               "\n"
               "Limits (uid 0 is exempt from the per-user ones):\n"
               "     --max-devices-per-user=N         Devices one uid may own (default %u)\n"
               "     --max-packet-fds-per-device=N    Packet fds open on one device (default %u)\n"
               "     --max-packet-fds-per-user=N      Packet fds one uid may hold (default %u)\n"
               "     --max-pending-checks-per-user=N  Authorization checks waiting for one uid\n"
               "                                      (default %u)\n"
               "     --max-pending-checks=N           Authorization checks outstanding in all\n"
               "                                      (default %u, at most %u)\n"
               "     --polkit-timeout=SEC             Refuse a call polkit has not answered\n"
               "                                      about within SEC seconds (default %u)\n"
               "\n"
               "See tund(8) and org.example.Tun1(5).\n",
               RUNSTATEDIR,
               d.devices_per_user, d.packet_fds_per_device, d.packet_fds_per_user,
               d.pending_checks_per_user, d.pending_checks, LIMITS_PENDING_CHECKS_MAX,
               (unsigned) (d.polkit_timeout_usec / 1000000u));
}

/* Returns 1 to run, 0 to exit successfully, a negative errno on bad arguments. */
static int parse_argv(int argc, char *argv[], Arguments *args) {
        enum {
                ARG_VERSION = 0x100,
                ARG_LOG_LEVEL,
                ARG_LOG_TARGET,
                ARG_STATE_DIRECTORY,
                ARG_NETNS_HELPER_SOCKET,
                ARG_USER,
                ARG_KEEP_ROOT,
                ARG_LIMIT,                      /* tund-limits.c knows them by name */
        };
        static const struct option options[] = {
                { "help",                        no_argument,       NULL, 'h'                             },
                { "version",                     no_argument,       NULL, ARG_VERSION                     },
                { "log-level",                   required_argument, NULL, ARG_LOG_LEVEL                   },
                { "log-target",                  required_argument, NULL, ARG_LOG_TARGET                  },
                { "state-directory",             required_argument, NULL, ARG_STATE_DIRECTORY             },
                { "netns-helper-socket",         required_argument, NULL, ARG_NETNS_HELPER_SOCKET         },
                { "user",                        required_argument, NULL, ARG_USER                        },
                { "keep-root",                   no_argument,       NULL, ARG_KEEP_ROOT                   },
                { "max-devices-per-user",        required_argument, NULL, ARG_LIMIT                       },
                { "max-packet-fds-per-device",   required_argument, NULL, ARG_LIMIT                       },
                { "max-packet-fds-per-user",     required_argument, NULL, ARG_LIMIT                       },
                { "max-pending-checks-per-user", required_argument, NULL, ARG_LIMIT                       },
                { "max-pending-checks",          required_argument, NULL, ARG_LIMIT                       },
                { "polkit-timeout",              required_argument, NULL, ARG_LIMIT                       },
                {}
        };
        int c, level, option_index = 0, r;
        LogTarget target;

        while ((c = getopt_long(argc, argv, "h", options, &option_index)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("tund %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_LOG_LEVEL:
                        level = log_level_from_string(optarg);
                        if (level < 0)
                                return log_error_errno(level, "Unknown log level '%s'; use one of emerg, alert, crit, err, warning, notice, info, debug.", optarg);
                        log_set_max_level(level);
                        break;
                case ARG_LOG_TARGET:
                        target = log_target_from_string(optarg);
                        if (target < 0)
                                return log_error_errno(target, "Unknown log target '%s'; use one of auto, console, console-prefixed, journal, syslog, kmsg, null.", optarg);
                        log_set_target(target);
                        break;
                case ARG_STATE_DIRECTORY:
                        if (optarg[0] != '/')
                                return log_error_errno(EINVAL, "The state directory must be an absolute path, not '%s'.", optarg);
                        args->state_dir = optarg;
                        break;
                case ARG_NETNS_HELPER_SOCKET:
                        if (optarg[0] != '\0' && optarg[0] != '/')
                                return log_error_errno(EINVAL, "The namespace helper's socket must be an absolute path, not '%s'.", optarg);
                        args->netns_helper_socket = optarg;
                        break;
                case ARG_USER:
                        if (optarg[0] == '\0')
                                return log_error_errno(EINVAL, "The user name must not be empty.");
                        args->user = optarg;
                        break;
                case ARG_KEEP_ROOT:
                        args->keep_root = true;
                        break;
                case ARG_LIMIT:
                        r = limits_parse_option(&args->limits, options[option_index].name, optarg);
                        if (r < 0)
                                return r;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return log_error_errno(EINVAL, "Unhandled option %c.", c);
                }

        if (optind < argc)
                return log_error_errno(EINVAL, "tund takes no arguments, but got '%s'.", argv[optind]);
        return 1;
}

/* tund holds an fd per device (and the data plane more per client): take all the fds the
 * hard limit allows, as the soft limit of 1024 is meant for select() users. */
static void raise_fd_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return (void) log_warning_errno(errno, "Failed to read the fd limit: %m");
        if (rl.rlim_cur >= rl.rlim_max)
                return;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_warning_errno(errno, "Failed to raise the fd limit to %llu: %m",
                                  (unsigned long long) rl.rlim_max);
}

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ char *default_state_dir = NULL;
        Arguments args = {
                .user = PRIVILEGES_USER_DEFAULT,
                .netns_helper_socket = NETNS_HELPER_SOCKET,
                .limits = LIMITS_DEFAULT,
        };
        int r;

        r = parse_argv(argc, argv, &args);
        if (r <= 0)
                return r;

        if (!args.state_dir)
                args.state_dir = getenv(STATE_DIRECTORY_ENV);
        if (!args.state_dir || args.state_dir[0] == '\0') {
                if (asprintf(&default_state_dir, "%s/tund", RUNSTATEDIR) < 0)
                        return log_oom();
                args.state_dir = default_state_dir;
        }

        raise_fd_limit();

        /* Before the first fd of netlink, the bus or /dev/net/tun, and before any thread. */
        if (!args.keep_root) {
                r = privileges_drop(args.user, args.state_dir);
                if (r < 0)
                        return r;
        }

        r = manager_new(&m, args.state_dir, &args.limits, &manager_bus_ops);
        if (r < 0)
                return log_error_errno(r, "Failed to set up: %m");
        r = manager_set_netns_helper_socket(m, args.netns_helper_socket[0] ? args.netns_helper_socket : NULL);
        if (r < 0)
                return log_oom();
        r = manager_start(m);
        if (r < 0)
                return r;
        return manager_run(m);
}

int main(int argc, char *argv[]) {
        /* A fixed threshold (glibc's default start) turns off its adjustment: every packet
         * fd's large buffers stay mappings of their own, returned to the system when the fd
         * closes, rather than freed chunks that keep their pages. */
        (void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);

        int r = run(argc, argv);

        return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
