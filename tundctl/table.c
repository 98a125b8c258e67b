/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "table.h"
#include "terminal.h"

typedef struct Cell {
        char *text;
        const char *color;
} Cell;

struct Table {
        const TableColumn *columns;
        size_t n_columns;
        Cell *cells;
        size_t n_cells;
};

Table *table_new(const TableColumn *columns, size_t n_columns) {
        Table *t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->columns = columns;
        t->n_columns = n_columns;
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i].text);
        free(t->cells);
        return mfree(t);
}

int table_add(Table *t, const char *text, const char *color) {
        Cell *c = realloc(t->cells, (t->n_cells + 1) * sizeof(*c));
        if (!c)
                return -ENOMEM;
        t->cells = c;
        c[t->n_cells].text = strdup(text ?: "");
        if (!c[t->n_cells].text)
                return -ENOMEM;
        c[t->n_cells++].color = color;
        return 0;
}

int table_addf(Table *t, const char *color, const char *format, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return table_add(t, s, color);
}

size_t table_rows(const Table *t) {
        return t->n_cells / t->n_columns;
}

/* Characters on screen: UTF-8 continuation bytes take no column. */
static size_t text_width(const char *s) {
        size_t w = 0;
        for (; *s; s++)
                w += ((unsigned char) *s & 0xc0) != 0x80;
        return w;
}

static void print_cell(FILE *f, const char *text, const char *color, size_t width, bool right,
                       bool last) {
        size_t pad = width - MIN(width, text_width(text));
        bool colored = color && colors_enabled();

        if (right)
                fprintf(f, "%*s", (int) pad, "");
        fprintf(f, "%s%s%s", colored ? color : "", text, colored ? ANSI_NORMAL : "");
        if (!right && !last)
                fprintf(f, "%*s", (int) pad, "");
        if (!last)
                fputc(' ', f);
}

void table_print(const Table *t, FILE *f, bool legend) {
        size_t widths[t->n_columns];

        for (size_t c = 0; c < t->n_columns; c++)
                widths[c] = legend ? text_width(t->columns[c].header) : 0;
        for (size_t i = 0; i < t->n_cells; i++)
                widths[i % t->n_columns] = MAX(widths[i % t->n_columns],
                                               text_width(t->cells[i].text));
        if (legend) {
                for (size_t c = 0; c < t->n_columns; c++)
                        print_cell(f, t->columns[c].header, ANSI_BOLD, widths[c],
                                   t->columns[c].right, c + 1 == t->n_columns);
                fputc('\n', f);
        }
        for (size_t i = 0; i < t->n_cells; i++) {
                size_t c = i % t->n_columns;
                print_cell(f, t->cells[i].text, t->cells[i].color, widths[c],
                           t->columns[c].right, c + 1 == t->n_columns);
                if (c + 1 == t->n_columns)
                        fputc('\n', f);
        }
}
