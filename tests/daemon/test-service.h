/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A small service inside the test process, standing where tund would: it owns
 * org.example.Tun1 on the harness's private system bus (tund itself is not started) and
 * exports one test object whose handlers call bus_peers_get_uid() and polkit_verify() at
 * their top and return when the answer is pending, as tund's method handlers do. Its
 * sd-event loop runs as a source of GLib's default main context, so every wait of the
 * harness (tb_caller_wait, tb_wait_until) serves it too.
 *
 * What the handlers saw is logged as "SENDER EVENT", EVENT one of uid-wait, uid-known,
 * uid-refused, check-pending, check-allowed, check-refused; the gone callback logs
 * "NAME gone". */

#include <glib.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-peers.h"
#include "harness.h"
#include "polkit.h"
#include "tund-limits.h"

#define TS_PATH  "/org/example/Tun1/test"
/* The policy file lets everyone call any interface at org.example.Tun1. */
#define TS_IFACE "org.example.Tun1.Test"

typedef struct TestService {
        TbEnv *env;
        sd_event *event;
        sd_bus *bus;
        GSource *source;        /* the sd-event loop in GLib's default context */
        sd_bus_slot *object;
        BusPeers *peers;
        PolkitRegistry *polkit;
        Limits limits;          /* the registry reads these at each check */
        GPtrArray *log;         /* of "SENDER EVENT" */
} TestService;

/* Starts the service in the test program's environment (tb_test_bus_env) with LIMITS
 * (NULL: LIMITS_DEFAULT) for its registry; NULL when the test is skipped (tb_can_run). */
TestService *ts_new(const Limits *limits);
void ts_free(TestService *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestService, ts_free)
/* A caller as the test user of ROLE. */
TbCaller *ts_caller_new(TestService *s, TbRole role);
/* Stops and restarts serving: while detached, what arrives for the service waits unread. */
void ts_detach(TestService *s);
void ts_attach(TestService *s);

/* The events logged for SENDER, in order, separated by spaces. */
char *ts_events(TestService *s, const char *sender);
#define ts_assert_events(s, sender, want) do {                          \
                g_autofree char *_events = ts_events((s), (sender));    \
                g_assert_cmpstr(_events, ==, (want));                   \
        } while (0)
/* How often EVENT was logged for SENDER. */
unsigned ts_count(TestService *s, const char *sender, const char *event);
/* Waits until EVENT was logged for SENDER at least N times; false on a hang. */
bool ts_wait_count(TestService *s, const char *sender, const char *event, unsigned n);

/* A call on the test object from a uid 0 GDBus connection, served meanwhile: its reply,
 * or NULL and ERROR. */
GVariant *ts_root_call(GDBusConnection *bus, const char *method, GVariant *args, GError **error);

/* Sends SIGSTOP or SIGCONT to polkitd. */
void ts_polkitd_stop(TbEnv *env);
void ts_polkitd_cont(TbEnv *env);
