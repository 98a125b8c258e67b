/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The systemd unit stays hardened: systemd-analyze's exposure score at most 1.5, and the
 * service as a whole bounded (tasks, memory, fds) behind tund's own limits. */

#include "harness.h"

#include <stdlib.h>

#define MAX_EXPOSURE 1.5

static char *unit_path(void) {
        const char *built = g_getenv("TB_UNIT");
        if (built && g_file_test(built, G_FILE_TEST_EXISTS))
                return g_strdup(built);
        return tb_source_path("systemd/tund.service");
}

static void test_security_exposure(void) {
        g_autofree char *analyze = g_find_program_in_path("systemd-analyze");
        if (!analyze) {
                g_test_skip("systemd-analyze is not installed");
                return;
        }
        g_autofree char *unit = unit_path();
        g_assert_true(g_file_test(unit, G_FILE_TEST_EXISTS));

        const char *argv[] = { analyze, "security", "--offline=yes", "--no-pager", unit, NULL };
        g_autofree char *out = NULL, *err = NULL;
        int status = tb_run(argv, &out, &err);
        g_test_message("%s", err);

        /* "→ Overall exposure level for tund.service: 1.2 OK 🙂" */
        const char *line = strstr(out, "Overall exposure level for ");
        if (!line)
                g_error("systemd-analyze (status %d) printed no exposure level:\n%s\n%s", status, out, err);
        const char *score = strstr(line, ": ");
        g_assert_nonnull(score);
        double exposure = g_ascii_strtod(score + 2, NULL);
        g_test_message("exposure level of %s: %.1f", unit, exposure);
        if (exposure > MAX_EXPOSURE)
                g_error("%s scores %.1f, more than %.1f:\n%s", unit, exposure, MAX_EXPOSURE, out);
}

/* The value of KEY= in the unit, as systemd-analyze verify would read it. */
static char *unit_setting(const char *contents, const char *key) {
        g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
        g_autofree char *prefix = g_strconcat(key, "=", NULL);
        for (char **l = lines; *l; l++)
                if (g_str_has_prefix(*l, prefix))
                        return g_strdup(*l + strlen(prefix));
        return NULL;
}

/* Each bound is set, to a number: "infinity" would be no bound at all. */
static void test_resource_bounds(void) {
        g_autofree char *unit = unit_path();
        g_autofree char *contents = NULL;
        g_assert_true(g_file_get_contents(unit, &contents, NULL, NULL));
        const char *keys[] = { "TasksMax", "MemoryMax", "MemoryHigh", "LimitNOFILE" };
        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
                g_autofree char *value = unit_setting(contents, keys[i]);
                if (!value)
                        g_error("%s sets no %s=", unit, keys[i]);
                g_test_message("%s=%s", keys[i], value);
                g_assert_true(g_ascii_isdigit(value[0]));
        }
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/unit/security-exposure", test_security_exposure);
        g_test_add_func("/unit/resource-bounds", test_resource_bounds);
        return g_test_run();
}
