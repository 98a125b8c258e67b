/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What tundctl's verbs share: the options, the bus, exit codes and error reports. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "tundctl-bus.h"

/* Exit codes (documented in tundctl(1)). */
enum {
        EXIT_OK = 0,
        EXIT_GENERIC = 1,       /* any other failure */
        EXIT_INVALID = 2,       /* bad command line or arguments the service refused */
        EXIT_NO_DEVICE = 3,     /* no such device */
        EXIT_DENIED = 4,        /* polkit said no, or would have asked */
        EXIT_EXISTS = 5,        /* the name is taken */
        EXIT_NOT_SUPPORTED = 6, /* an offload this kernel lacks */
        EXIT_NO_SERVICE = 7,    /* tund is not running and could not be started */
        EXIT_NOT_FOUND = 8,     /* no such address or route on the device */
};

typedef enum JsonMode {
        JSON_OFF,
        JSON_SHORT,
        JSON_PRETTY,
} JsonMode;

typedef struct Ctl {
        JsonMode json;
        bool legend;
        bool pager;
        bool ask_password;
        bool persistent;
        bool watch;
        uint64_t interval_usec;
        TundCreateOptions create;       /* --mtu, --offloads, --owner, --persistent */
        TundNetEntry netcfg;            /* --peer or --gateway, --metric, --table */
        bool peer_given, gateway_given;
        const char *attach_mode;        /* --mode */
        TundBus *bus;
} Ctl;

/* Connects on first use. */
int ctl_bus(Ctl *ctl, TundBus **ret);
/* Prints "WHAT: why" for R (and the service's message when there is one) on stderr and
 * returns the exit code for R. */
int ctl_fail(int r, const sd_bus_error *error, const char *format, ...)
        __attribute__((format(printf, 3, 4)));
int exit_code_from_errno(int r);
/* Resolves DEVICE (name or path) to a path, reporting failure (returns an exit code);
 * RET_BUS (may be NULL) gets the connection. */
int ctl_resolve(Ctl *ctl, const char *device, char **ret_path, TundBus **ret_bus);
/* For the calls that may need polkit: the agent, when asking is allowed. */
void ctl_agent_open(Ctl *ctl);

/* Verbs: ARGV holds the verb's own arguments; they return exit codes. */
int verb_list(Ctl *ctl, int argc, char **argv);
int verb_status(Ctl *ctl, int argc, char **argv);
int verb_create(Ctl *ctl, int argc, char **argv);
int verb_delete(Ctl *ctl, int argc, char **argv);
int verb_set_mtu(Ctl *ctl, int argc, char **argv);
int verb_set_offloads(Ctl *ctl, int argc, char **argv);
int verb_monitor(Ctl *ctl, int argc, char **argv);
int verb_stats(Ctl *ctl, int argc, char **argv);
int verb_address(Ctl *ctl, int argc, char **argv);
int verb_route(Ctl *ctl, int argc, char **argv);
int verb_attach(Ctl *ctl, int argc, char **argv);

/* Event-loop verbs end on SIGINT and SIGTERM: blocks them for sd-event. */
int block_exit_signals(void);
/* The default loop with SIGINT and SIGTERM going to on_signal (NULL: end the loop with
 * EXIT_OK). */
int ctl_event_new(sd_event **ret, sd_event_signal_handler_t on_signal, void *userdata);
/* "1280" as an MTU (68-65535). */
int parse_mtu(const char *s, uint32_t *ret);
/* "2026-12-02 05:55:25.123456" now, local time. */
void format_timestamp_now(char *buf, size_t size);
