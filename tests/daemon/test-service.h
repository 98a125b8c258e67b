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

/* The test program's environment (bus and polkitd, no tund), started on first use; NULL
 * when the test is skipped (tb_can_run). */
TbEnv *ts_env(void);
/* g_test_run(), then stops the environment. */
int ts_run(void);

/* Starts the service with LIMITS (its registry then bounds checks by them). */
TestService *ts_new(TbEnv *env, const Limits *limits);
void ts_free(TestService *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestService, ts_free)
/* Stops and restarts serving: while detached, what arrives for the service waits unread. */
void ts_detach(TestService *s);
void ts_attach(TestService *s);

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
