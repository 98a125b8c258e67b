/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One environment per test program, started by the first test that needs it. */

#include "harness-private.h"

static TbEnv *test_env;

TbEnv *tb_test_bus_env(void) {
        if (!tb_can_run())
                return NULL;
        if (!test_env)
                test_env = tb_env_new();
        return test_env;
}

TbEnv *tb_test_env(void) {
        TbEnv *env = tb_test_bus_env();

        if (env && tb_tund_pid(env) == 0)
                tb_tund_start(env);
        return env;
}

int tb_test_run(void) {
        int r = g_test_run();
        g_clear_pointer(&test_env, tb_env_free);
        return r;
}
