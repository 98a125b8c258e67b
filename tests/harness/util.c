/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers of the bus tests: sets of names, source files, running programs. */

#include "harness-private.h"

#include <sys/wait.h>

GHashTable *tb_strv_set(const char *const *strv) {
        GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        for (; strv && *strv; strv++)
                g_hash_table_add(set, g_strdup(*strv));
        return set;
}

bool tb_sets_equal(GHashTable *a, GHashTable *b) {
        if (g_hash_table_size(a) != g_hash_table_size(b))
                return false;
        GHashTableIter iter;
        gpointer key;
        g_hash_table_iter_init(&iter, a);
        while (g_hash_table_iter_next(&iter, &key, NULL))
                if (!g_hash_table_contains(b, key))
                        return false;
        return true;
}

static int compare_strings(gconstpointer a, gconstpointer b, gpointer data) {
        return g_strcmp0(*(char *const *) a, *(char *const *) b);
}

char *tb_set_to_string(GHashTable *set) {
        g_autofree const char **keys = (const char **) g_hash_table_get_keys_as_array(set, NULL);
        g_qsort_with_data(keys, g_hash_table_size(set), sizeof(char *), compare_strings, NULL);
        return g_strjoinv(" ", (char **) keys);
}

char *tb_source_path(const char *relative) {
        const char *root = g_getenv("TB_SOURCE_ROOT");
        g_assert_nonnull(root);
        return g_build_filename(root, relative, NULL);
}

int tb_run(const char *const *argv, char **out, char **err) {
        g_autoptr(GError) error = NULL;
        g_autofree char *o = NULL, *e = NULL;
        int status;
        if (!g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &o, &e,
                          &status, &error))
                g_error("Failed to run %s: %s", argv[0], error->message);
        if (out)
                *out = g_steal_pointer(&o);
        if (err)
                *err = g_steal_pointer(&e);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

GVariant *tb_options(const char *first_key, ...) {
        GVariantBuilder b;
        va_list ap;
        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        va_start(ap, first_key);
        for (const char *key = first_key; key; key = va_arg(ap, const char *))
                g_variant_builder_add(&b, "{sv}", key, va_arg(ap, GVariant *));
        va_end(ap);
        return g_variant_builder_end(&b);
}

GHashTable *tb_variant_strv_set(GVariant *as) {
        g_autofree const char **strv = g_variant_get_strv(as, NULL);
        return tb_strv_set(strv);
}
