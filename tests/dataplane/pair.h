/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* For the end-to-end tests through tund (test-packet-fd, test-ring): a device's Clients and
 * Statistics, and a pair of devices in two namespaces whose packet fds dataplane-forward
 * bridges, with real traffic between the namespaces. Failures are GLib test assertions. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

unsigned get_clients(GDBusConnection *bus, const char *path);
/* Waits until the Clients property reads N (tund learns of a closed fd a moment later). */
void wait_clients(GDBusConnection *bus, const char *path, unsigned n);
uint64_t get_statistic(GDBusConnection *bus, const char *path, const char *key);

typedef struct Pair {
        GDBusConnection *bus;
        const char *ns_a, *ns_b;
        char *path_a, *path_b;
        char *addr4_b, *addr6_b;        /* B's addresses */
        unsigned mtu;
        pid_t forwarder;
        int forwarder_out;
        char *report;
} Pair;

/* Devices if_a in ns_a (10.NET.0.1/24, fdNET::1/64) and if_b in ns_b (.2, ::2) with MTU,
 * each with a packet fd opened with options (a{sv}, consumed if floating) and bridged by
 * dataplane-forward FORWARDER_MODE --check ($DATAPLANE_FORWARD). */
void pair_setup(Pair *p, TbEnv *env, const char *ns_a, const char *if_a, const char *ns_b,
                const char *if_b, unsigned net, unsigned mtu, GVariant *options,
                const char *forwarder_mode);
/* Both devices' Statistics as test messages (for transfer_check). */
void pair_log_statistics(void *userdata);
/* TRANSFER_BYTES over TCP from A to B, checked. */
void pair_transfer(Pair *p, int family);
/* Deletes A: the client's fd on A reads end-of-file, the client prints its report (kept in
 * p->report) and ends, closing its fd on B, whose Clients goes back to 0. Every packet the
 * client read was whole, and when PLAIN no longer than the MTU, with valid checksums. */
void pair_finish_by_delete(Pair *p, bool plain);
/* Removes the namespaces and frees what p holds. */
void pair_free(Pair *p);
