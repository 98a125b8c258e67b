/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A small streaming JSON writer: values are written as they come, commas and (when pretty)
 * indentation are its business, strings are escaped as RFC 8259 asks. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

typedef struct JsonWriter {
        FILE *f;
        bool pretty;
        unsigned depth;
        unsigned count[JSON_MAX_DEPTH];  /* values written at each depth */
        bool after_key;
} JsonWriter;

void json_writer_init(JsonWriter *w, FILE *f, bool pretty);
void json_begin_object(JsonWriter *w);
void json_end_object(JsonWriter *w);
void json_begin_array(JsonWriter *w);
void json_end_array(JsonWriter *w);
void json_key(JsonWriter *w, const char *key);
void json_string(JsonWriter *w, const char *s);         /* NULL: null */
void json_uint(JsonWriter *w, uint64_t u);
void json_int(JsonWriter *w, int64_t i);
void json_double(JsonWriter *w, double d);
void json_bool(JsonWriter *w, bool b);
void json_null(JsonWriter *w);
void json_strv(JsonWriter *w, char *const *l);
/* Ends the document with a newline. */
void json_finish(JsonWriter *w);

/* Writes S as a JSON string, quotes included. */
void json_write_escaped(FILE *f, const char *s);
