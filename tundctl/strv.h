/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NULL-terminated string arrays. */

#include <stdbool.h>
#include <stddef.h>

char **strv_new0(void);                 /* an empty list */
char **strv_free(char **l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
size_t strv_length(char *const *l);
/* Appends S (taking it over, freed on failure). */
int strv_push(char ***l, char *s);
bool strv_contains(char *const *l, const char *s);
char *strv_join(char *const *l, const char *separator);
/* Splits at SEPARATORS, dropping empty words. */
int strv_split(const char *s, const char *separators, char ***ret);
