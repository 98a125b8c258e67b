/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strv.h"

char **strv_new0(void) {
        return calloc(1, sizeof(char *));
}

char **strv_free(char **l) {
        for (char **i = l; i && *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

int strv_push(char ***l, char *s) {
        size_t n = strv_length(*l);
        char **m = realloc(*l, (n + 2) * sizeof(char *));
        if (!m) {
                free(s);
                return -ENOMEM;
        }
        m[n] = s;
        m[n + 1] = NULL;
        *l = m;
        return 0;
}

bool strv_contains(char *const *l, const char *s) {
        for (; l && *l; l++)
                if (strcmp(*l, s) == 0)
                        return true;
        return false;
}

char *strv_join(char *const *l, const char *separator) {
        size_t len = 1, sl = strlen(separator);
        char *s, *p;

        for (char *const *i = l; i && *i; i++)
                len += strlen(*i) + sl;
        s = p = malloc(len);
        if (!s)
                return NULL;
        *p = '\0';
        for (char *const *i = l; i && *i; i++) {
                if (i != l)
                        p = stpcpy(p, separator);
                p = stpcpy(p, *i);
        }
        return s;
}

int strv_split(const char *s, const char *separators, char ***ret) {
        char **l = strv_new0();
        int r = 0;

        if (!l)
                return -ENOMEM;
        while (r >= 0 && *s) {
                size_t n = strcspn(s, separators);
                if (n > 0) {
                        char *w = strndup(s, n);
                        r = w ? strv_push(&l, w) : -ENOMEM;
                }
                s += n;
                s += strspn(s, separators);
        }
        if (r < 0)
                return strv_free(l), r;
        *ret = l;
        return 0;
}
