/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <math.h>

#include "json-writer.h"

void json_writer_init(JsonWriter *w, FILE *f, bool pretty) {
        *w = (JsonWriter) { .f = f, .pretty = pretty };
}

static void newline_indent(JsonWriter *w) {
        if (!w->pretty)
                return;
        fputc('\n', w->f);
        for (unsigned i = 0; i < w->depth; i++)
                fputs("  ", w->f);
}

/* Before any value or key: the comma and line break it needs. */
static void before_value(JsonWriter *w) {
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        if (w->depth > 0) {
                if (w->count[w->depth] > 0)
                        fputc(',', w->f);
                newline_indent(w);
        }
        w->count[w->depth]++;
}

static void begin(JsonWriter *w, char c) {
        before_value(w);
        fputc(c, w->f);
        if (w->depth + 1 < JSON_MAX_DEPTH)
                w->depth++;
        w->count[w->depth] = 0;
}

static void end(JsonWriter *w, char c) {
        bool empty = w->count[w->depth] == 0;
        if (w->depth > 0)
                w->depth--;
        if (!empty)
                newline_indent(w);
        fputc(c, w->f);
}

void json_begin_object(JsonWriter *w) {
        begin(w, '{');
}

void json_end_object(JsonWriter *w) {
        end(w, '}');
}

void json_begin_array(JsonWriter *w) {
        begin(w, '[');
}

void json_end_array(JsonWriter *w) {
        end(w, ']');
}

void json_write_escaped(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                switch (*p) {
                case '"':  fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\b': fputs("\\b", f); break;
                case '\f': fputs("\\f", f); break;
                case '\n': fputs("\\n", f); break;
                case '\r': fputs("\\r", f); break;
                case '\t': fputs("\\t", f); break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
        fputc('"', f);
}

void json_key(JsonWriter *w, const char *key) {
        before_value(w);
        json_write_escaped(w->f, key);
        fputs(w->pretty ? ": " : ":", w->f);
        w->after_key = true;
}

void json_string(JsonWriter *w, const char *s) {
        if (!s)
                return json_null(w);
        before_value(w);
        json_write_escaped(w->f, s);
}

void json_uint(JsonWriter *w, uint64_t u) {
        before_value(w);
        fprintf(w->f, "%" PRIu64, u);
}

void json_int(JsonWriter *w, int64_t i) {
        before_value(w);
        fprintf(w->f, "%" PRIi64, i);
}

void json_double(JsonWriter *w, double d) {
        if (!isfinite(d))
                return json_null(w);
        before_value(w);
        fprintf(w->f, "%.3f", d);
}

void json_bool(JsonWriter *w, bool b) {
        before_value(w);
        fputs(b ? "true" : "false", w->f);
}

void json_null(JsonWriter *w) {
        before_value(w);
        fputs("null", w->f);
}

void json_strv(JsonWriter *w, char *const *l) {
        json_begin_array(w);
        for (; l && *l; l++)
                json_string(w, *l);
        json_end_array(w);
}

void json_finish(JsonWriter *w) {
        fputc('\n', w->f);
        w->count[0] = 0;
}
