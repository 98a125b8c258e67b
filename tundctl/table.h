/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A text table: columns fitted to their widest cell, a bold legend line, cells that may
 * carry a colour (not counted in widths). */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct TableColumn {
        const char *header;
        bool right;             /* right-aligned (numbers) */
} TableColumn;

typedef struct Table Table;

Table *table_new(const TableColumn *columns, size_t n_columns);
Table *table_free(Table *t);
static inline void table_freep(Table **t) {
        table_free(*t);
}
/* Adds the next cell, row by row; COLOR is an ANSI code or NULL. */
int table_add(Table *t, const char *text, const char *color);
int table_addf(Table *t, const char *color, const char *format, ...)
        __attribute__((format(printf, 3, 4)));
size_t table_rows(const Table *t);
void table_print(const Table *t, FILE *f, bool legend);
