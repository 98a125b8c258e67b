/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The systemd unit stays hardened: systemd-analyze's exposure score at most 1.5. */

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

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/unit/security-exposure", test_security_exposure);
        return g_test_run();
}
