/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A device's state changes, without a bus or a TUN: what device_apply_link_state() tells
 * its owner through DeviceOps, in which order, and only for what changed. */

#include <glib.h>
#include <string.h>

#include "device.h"

typedef struct Recorder {
        GPtrArray *events;      /* of strings */
} Recorder;

static Recorder recorder;

static void record(const char *event) {
        g_ptr_array_add(recorder.events, g_strdup(event));
}

static void on_changed(Device *d, char **properties) {
        g_autofree char *joined = g_strjoinv(",", properties);
        g_autofree char *event = g_strconcat("changed:", joined, NULL);
        record(event);
}

static void on_mtu_changed(Device *d) {
        g_autofree char *event = g_strdup_printf("mtu:%u", d->mtu);
        record(event);
}

static void on_up_changed(Device *d) {
        record(d->up ? "up" : "down");
}

static void on_rename(Device *d, const char *name) {
        g_autofree char *event = g_strdup_printf("rename:%s>%s", d->name, name);
        record(event);
        device_set_name(d, name);
}

static const DeviceOps ops = {
        .properties_changed = on_changed,
        .mtu_changed = on_mtu_changed,
        .up_changed = on_up_changed,
        .rename = on_rename,
};

static const DeviceContext ctx = { .ops = &ops };

static Device *device_fixture(void) {
        Device *d = g_new0(Device, 1);
        d->ctx = &ctx;
        d->tun_fd = -1;
        d->ifindex = 7;
        d->mtu = 1500;
        device_set_name(d, "tun0");
        g_clear_pointer(&recorder.events, g_ptr_array_unref);
        recorder.events = g_ptr_array_new_with_free_func(g_free);
        return d;
}

static LinkState state_of(const Device *d) {
        LinkState s = { .ifindex = d->ifindex, .mtu = d->mtu, .up = d->up };
        g_strlcpy(s.name, d->name, sizeof(s.name));
        return s;
}

static void assert_events(const char *const *want) {
        g_ptr_array_add(recorder.events, NULL);
        g_autofree char *got = g_strjoinv(" ", (char **) recorder.events->pdata);
        g_autofree char *expected = g_strjoinv(" ", (char **) want);
        g_assert_cmpstr(got, ==, expected);
        g_ptr_array_remove_index(recorder.events, recorder.events->len - 1);
        g_ptr_array_set_size(recorder.events, 0);
}

static void test_nothing_changed(void) {
        Device *d = device_fixture();
        LinkState s = state_of(d);
        device_apply_link_state(d, &s);
        assert_events((const char *[]) { NULL });
        device_free(d);
}

static void test_each_change_once(void) {
        Device *d = device_fixture();
        LinkState s = state_of(d);

        s.up = true;
        device_apply_link_state(d, &s);
        assert_events((const char *[]) { "changed:Up", "up", NULL });
        device_apply_link_state(d, &s);
        assert_events((const char *[]) { NULL });

        s.mtu = 1280;
        device_apply_link_state(d, &s);
        assert_events((const char *[]) { "changed:MTU", "mtu:1280", NULL });
        g_assert_cmpuint(d->mtu, ==, 1280);

        s.up = false;
        device_apply_link_state(d, &s);
        assert_events((const char *[]) { "changed:Up", "down", NULL });
        device_free(d);
}

/* A move to another namespace: a new ifindex, maybe a new name, everything in one
 * PropertiesChanged, then the signals. */
static void test_move_and_rename(void) {
        Device *d = device_fixture();
        LinkState s = state_of(d);
        s.ifindex = 42;
        g_strlcpy(s.name, "vpn0", sizeof(s.name));
        s.mtu = 9000;
        s.up = true;
        device_apply_link_state(d, &s);
        assert_events((const char *[]) {
                "rename:tun0>vpn0", "changed:Index,Name,MTU,Up", "mtu:9000", "up", NULL });
        g_assert_cmpint(d->ifindex, ==, 42);
        g_assert_cmpstr(d->name, ==, "vpn0");
        device_free(d);
}

/* Without a rename op the device renames itself; without the others nothing breaks. */
static void test_no_ops(void) {
        static const DeviceOps none = {};
        static const DeviceContext bare = { .ops = &none };
        Device *d = device_fixture();
        d->ctx = &bare;
        LinkState s = state_of(d);
        g_strlcpy(s.name, "tun9", sizeof(s.name));
        s.mtu = 1400;
        device_apply_link_state(d, &s);
        g_assert_cmpstr(d->name, ==, "tun9");
        g_assert_cmpuint(d->mtu, ==, 1400);
        assert_events((const char *[]) { NULL });
        device_free(d);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/device-state/nothing-changed", test_nothing_changed);
        g_test_add_func("/device-state/each-change-once", test_each_change_once);
        g_test_add_func("/device-state/move-and-rename", test_move_and_rename);
        g_test_add_func("/device-state/no-ops", test_no_ops);
        int r = g_test_run();
        g_clear_pointer(&recorder.events, g_ptr_array_unref);
        return r;
}
