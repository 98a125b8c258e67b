/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tundctl's JSON writer: escaping, nesting, commas, pretty printing. */

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#include "json-writer.h"

/* What WRITE(w) produces, as a string. */
static char *written(bool pretty, void (*write)(JsonWriter *w)) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        JsonWriter w;

        g_assert_nonnull(f);
        json_writer_init(&w, f, pretty);
        write(&w);
        fclose(f);
        char *s = g_strdup(buf);
        free(buf);
        return s;
}

static void write_strings(JsonWriter *w) {
        json_begin_array(w);
        json_string(w, "plain");
        json_string(w, "quote \" backslash \\ slash /");
        json_string(w, "\b\f\n\r\t");
        json_string(w, "\x01\x1f\x7f");
        json_string(w, "ünïcødé ✓");
        json_string(w, NULL);
        json_string(w, "");
        json_end_array(w);
        json_finish(w);
}

static void test_escaping(void) {
        g_autofree char *s = written(false, write_strings);
        g_assert_cmpstr(s, ==,
                        "[\"plain\",\"quote \\\" backslash \\\\ slash /\",\"\\b\\f\\n\\r\\t\","
                        "\"\\u0001\\u001f\\u007f\",\"ünïcødé ✓\",null,\"\"]\n");
}

static void write_nested(JsonWriter *w) {
        char *l[] = { "a", "b", NULL };
        json_begin_object(w);
        json_key(w, "n");
        json_uint(w, UINT64_MAX);
        json_key(w, "i");
        json_int(w, -5);
        json_key(w, "b");
        json_bool(w, true);
        json_key(w, "l");
        json_strv(w, l);
        json_key(w, "e");
        json_begin_object(w);
        json_end_object(w);
        json_key(w, "d");
        json_double(w, 1.5);
        json_key(w, "k\"ey");
        json_null(w);
        json_end_object(w);
        json_finish(w);
}

static void test_nesting(void) {
        g_autofree char *s = written(false, write_nested);
        g_assert_cmpstr(s, ==,
                        "{\"n\":18446744073709551615,\"i\":-5,\"b\":true,\"l\":[\"a\",\"b\"],"
                        "\"e\":{},\"d\":1.500,\"k\\\"ey\":null}\n");
}

static void test_pretty(void) {
        g_autofree char *s = written(true, write_nested);
        g_assert_cmpstr(s, ==,
                        "{\n"
                        "  \"n\": 18446744073709551615,\n"
                        "  \"i\": -5,\n"
                        "  \"b\": true,\n"
                        "  \"l\": [\n"
                        "    \"a\",\n"
                        "    \"b\"\n"
                        "  ],\n"
                        "  \"e\": {},\n"
                        "  \"d\": 1.500,\n"
                        "  \"k\\\"ey\": null\n"
                        "}\n");
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/json-writer/escaping", test_escaping);
        g_test_add_func("/json-writer/nesting", test_nesting);
        g_test_add_func("/json-writer/pretty", test_pretty);
        return g_test_run();
}
