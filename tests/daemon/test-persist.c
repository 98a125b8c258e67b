/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offload-names.h"
#include "persist.h"

static char *write_file(const char *dir, const char *name, const char *contents) {
        char *path = g_build_filename(dir, name, NULL);

        g_assert_true(g_file_set_contents(path, contents, -1, NULL));
        return path;
}

static void test_roundtrip(void) {
        g_autofree char *dir = g_dir_make_tmp("test-persist-XXXXXX", NULL);
        g_autofree char *sub = g_build_filename(dir, "a", "b", NULL);
        DeviceRecord rec = { .owner = 1234, .ifindex = 4711, .offloads = OFFLOAD_CSUM|OFFLOAD_TSO4|OFFLOAD_GRO_UDP };
        DeviceRecord *loaded = NULL;
        size_t n = 0;

        g_assert_cmpint(record_new_id(rec.id), ==, 0);
        strcpy(rec.name, "td%name");
        g_assert_cmpint(record_save(sub, &rec), ==, 0);     /* creates a/b */

        g_assert_cmpint(records_load(sub, &loaded, &n), ==, 0);
        g_assert_cmpuint(n, ==, 1);
        g_assert_cmpstr(loaded[0].id, ==, rec.id);
        g_assert_cmpstr(loaded[0].name, ==, rec.name);
        g_assert_cmpuint(loaded[0].owner, ==, 1234);
        g_assert_cmpint(loaded[0].ifindex, ==, 4711);
        g_assert_cmpuint(loaded[0].offloads, ==, rec.offloads);
        free(loaded);

        g_assert_cmpint(record_remove(sub, rec.id), ==, 0);
        g_assert_cmpint(record_remove(sub, rec.id), ==, 0);  /* gone already: fine */
        g_assert_cmpint(records_load(sub, &loaded, &n), ==, 0);
        g_assert_cmpuint(n, ==, 0);
        free(loaded);

        g_rmdir(sub);
        *strrchr(sub, '/') = '\0';
        g_rmdir(sub);
        g_rmdir(dir);
}

static void test_raw_roundtrip(void) {
        g_autofree char *dir = g_dir_make_tmp("test-persist-XXXXXX", NULL);
        DeviceRecord raw = { .owner = 7, .ifindex = 9, .raw = true, .vnet_header = true,
                             .offloads = OFFLOAD_CSUM|OFFLOAD_TSO4 };
        DeviceRecord *loaded = NULL;
        size_t n = 0;

        g_assert_cmpint(record_new_id(raw.id), ==, 0);
        strcpy(raw.name, "raw0");
        g_assert_cmpint(record_save(dir, &raw), ==, 0);
        g_assert_cmpint(records_load(dir, &loaded, &n), ==, 0);
        g_assert_cmpuint(n, ==, 1);
        g_assert_true(loaded[0].raw);
        g_assert_true(loaded[0].vnet_header);
        g_assert_cmpuint(loaded[0].offloads, ==, raw.offloads);
        free(loaded);

        raw.vnet_header = false;
        g_assert_cmpint(record_save(dir, &raw), ==, 0);
        g_assert_cmpint(records_load(dir, &loaded, &n), ==, 0);
        g_assert_cmpuint(n, ==, 1);
        g_assert_true(loaded[0].raw);
        g_assert_false(loaded[0].vnet_header);
        free(loaded);
        g_assert_cmpint(record_remove(dir, raw.id), ==, 0);

        /* A vnet header belongs to raw devices only. */
        g_autofree char *bad = write_file(dir, "0123456789abcdef0123456789abcdef",
                                          "NAME=raw1\nOWNER=1\nVNET_HEADER=1\n");
        g_assert_cmpint(records_load(dir, &loaded, &n), ==, 0);
        g_assert_cmpuint(n, ==, 0);
        free(loaded);
        g_unlink(bad);
        g_rmdir(dir);
}

static void test_broken_and_foreign_files(void) {
        g_autofree char *dir = g_dir_make_tmp("test-persist-XXXXXX", NULL);
        g_autofree char *a = write_file(dir, "0123456789abcdef0123456789abcdef", "OWNER=5\n");
        g_autofree char *b = write_file(dir, "not-a-record", "NAME=x\nOWNER=1\n");
        g_autofree char *c = write_file(dir, "fedcba9876543210fedcba9876543210",
                                        "NAME=td1\nOWNER=7\nIFINDEX=-3\nOFFLOADS=csum bogus tso6\nJUNK\n");
        DeviceRecord *loaded = NULL;
        size_t n = 0;

        g_assert_cmpint(records_load(dir, &loaded, &n), ==, 0);
        g_assert_cmpuint(n, ==, 1);
        g_assert_cmpstr(loaded[0].name, ==, "td1");
        g_assert_cmpuint(loaded[0].owner, ==, 7);
        g_assert_cmpint(loaded[0].ifindex, ==, 0);
        g_assert_cmpuint(loaded[0].offloads, ==, OFFLOAD_CSUM|OFFLOAD_TSO6);
        free(loaded);

        g_unlink(a);
        g_unlink(b);
        g_unlink(c);
        g_rmdir(dir);
}

static void test_missing_directory(void) {
        DeviceRecord *loaded = (DeviceRecord *) 1;
        size_t n = 1;

        g_assert_cmpint(records_load("/nonexistent/test-persist", &loaded, &n), ==, 0);
        g_assert_null(loaded);
        g_assert_cmpuint(n, ==, 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        /* The fd store must stay out of these tests. */
        g_unsetenv("NOTIFY_SOCKET");
        g_test_add_func("/persist/roundtrip", test_roundtrip);
        g_test_add_func("/persist/raw-roundtrip", test_raw_roundtrip);
        g_test_add_func("/persist/broken-and-foreign-files", test_broken_and_foreign_files);
        g_test_add_func("/persist/missing-directory", test_missing_directory);
        return g_test_run();
}
