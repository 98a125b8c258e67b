/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tundctl against the real tund on the private bus: its output (plain, --no-legend, JSON),
 * its changes seen by the kernel, a device held while it runs, its exit codes (also as
 * unprivileged users), monitor and stats --watch read line by line. */

#include <errno.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static const char *tundctl_path(void) {
        const char *p = g_getenv("TUNDCTL");
        g_assert_nonnull(p);
        return p;
}

/* The command line running tundctl with ARGS on the test bus, as USER (NULL: root), with
 * ENV_EXTRA ("KEY=VALUE" or "-u" "KEY", NULL-terminated; may be NULL) in its environment;
 * on a terminal of its own (script(1)) when TTY is set. */
static GPtrArray *tundctl_argv(TbEnv *env, const TbUser *user, const char *const *env_extra,
                               bool tty, const char *first, va_list ap) {
        GPtrArray *inner = g_ptr_array_new_with_free_func(g_free);
        GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);

        if (user) {
                g_ptr_array_add(inner, g_strdup("setpriv"));
                g_ptr_array_add(inner, g_strdup_printf("--reuid=%u", (unsigned) user->uid));
                g_ptr_array_add(inner, g_strdup_printf("--regid=%u", (unsigned) user->gid));
                g_ptr_array_add(inner, g_strdup("--clear-groups"));
                g_ptr_array_add(inner, g_strdup("--"));
        }
        g_ptr_array_add(inner, g_strdup("env"));
        for (const char *const *e = env_extra; e && *e; e++)
                g_ptr_array_add(inner, g_strdup(*e));
        g_ptr_array_add(inner, g_strconcat("DBUS_SYSTEM_BUS_ADDRESS=", tb_env_address(env), NULL));
        /* Test users may not reach the build folder; they run the harness's copy. */
        g_ptr_array_add(inner, g_strdup(user ? tb_env_user_program(env, tundctl_path()) : tundctl_path()));
        for (const char *a = first; a; a = va_arg(ap, const char *))
                g_ptr_array_add(inner, g_strdup(a));

        /* Every run is bounded, whatever the test does with it. --foreground: timeout passes
         * the test's SIGTERM to tundctl alone, not to its process group, which under
         * LeakSanitizer holds the leak checker's tracer at exit (a signal there stalls it). */
        g_ptr_array_add(argv, g_strdup("timeout"));
        g_ptr_array_add(argv, g_strdup("--foreground"));
        g_ptr_array_add(argv, g_strdup("-k"));
        g_ptr_array_add(argv, g_strdup("5"));
        g_ptr_array_add(argv, g_strdup_printf("%d", TB_HANG_SECONDS));
        if (tty) {
                GString *command = g_string_new(NULL);
                for (guint i = 0; i < inner->len; i++) {
                        g_autofree char *q = g_shell_quote(inner->pdata[i]);
                        g_string_append_printf(command, "%s%s", i ? " " : "", q);
                }
                g_ptr_array_add(argv, g_strdup("script"));
                g_ptr_array_add(argv, g_strdup("-qfec"));
                g_ptr_array_add(argv, g_string_free(command, FALSE));
                g_ptr_array_add(argv, g_strdup("/dev/null"));
        } else
                for (guint i = 0; i < inner->len; i++)
                        g_ptr_array_add(argv, g_strdup(inner->pdata[i]));
        g_ptr_array_add(argv, NULL);
        g_ptr_array_unref(inner);
        return argv;
}

/* Runs tundctl to its end; returns its exit status, with its stdout in *OUT. */
static int ctl_run_as(TbEnv *env, const TbUser *user, char **out, const char *first, ...)
        G_GNUC_NULL_TERMINATED;
static int ctl_run_as(TbEnv *env, const TbUser *user, char **out, const char *first, ...) {
        g_autofree char *o = NULL, *e = NULL;
        va_list ap;

        va_start(ap, first);
        g_autoptr(GPtrArray) argv = tundctl_argv(env, user, NULL, false, first, ap);
        va_end(ap);
        int status = tb_run((const char *const *) argv->pdata, &o, &e);
        g_test_message("tundctl %s: exit %d\n%s%s", first, status, o, e);
        if (out)
                *out = g_steal_pointer(&o);
        return status;
}
#define ctl_run(env, out, ...) ctl_run_as((env), NULL, (out), __VA_ARGS__, NULL)

/* A tundctl that keeps running: its output lines as they come. */
typedef struct Running {
        GSubprocess *proc;
        GDataInputStream *streams[2];   /* stdout, stderr */
        GPtrArray *lines[2];
        bool eof[2];
        bool exited;
        int status;
} Running;

static void read_next(Running *r, int which);

typedef struct LineRead {
        Running *r;
        int which;
} LineRead;

static void on_line(GObject *source, GAsyncResult *res, gpointer data) {
        LineRead *lr = data;
        g_autofree char *line = g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), res, NULL, NULL);
        if (!line) {
                lr->r->eof[lr->which] = true;
                g_free(lr);
                return;
        }
        g_ptr_array_add(lr->r->lines[lr->which], g_steal_pointer(&line));
        read_next(lr->r, lr->which);
        g_free(lr);
}

static void read_next(Running *r, int which) {
        LineRead *lr = g_new(LineRead, 1);
        *lr = (LineRead) { r, which };
        g_data_input_stream_read_line_async(r->streams[which], G_PRIORITY_DEFAULT, NULL, on_line, lr);
}

static void on_process_exit(GObject *source, GAsyncResult *res, gpointer data) {
        Running *r = data;
        g_subprocess_wait_finish(G_SUBPROCESS(source), res, NULL);
        r->status = g_subprocess_get_if_exited(r->proc) ? g_subprocess_get_exit_status(r->proc) : -1;
        if (!g_subprocess_get_if_exited(r->proc))
                g_test_message("tundctl ended by signal %d", g_subprocess_get_if_signaled(r->proc) ? g_subprocess_get_term_sig(r->proc) : 0);
        r->exited = true;
}

static Running *running_new(GPtrArray *argv) {
        g_autoptr(GError) error = NULL;
        Running *r = g_new0(Running, 1);

        r->proc = g_subprocess_newv((const char *const *) argv->pdata,
                                    /* stdin a pipe, never a terminal the test runs on */
                                    G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                    G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
        g_assert_no_error(error);
        r->streams[0] = g_data_input_stream_new(g_subprocess_get_stdout_pipe(r->proc));
        r->streams[1] = g_data_input_stream_new(g_subprocess_get_stderr_pipe(r->proc));
        for (int i = 0; i < 2; i++) {
                r->lines[i] = g_ptr_array_new_with_free_func(g_free);
                read_next(r, i);
        }
        g_subprocess_wait_async(r->proc, NULL, on_process_exit, r);
        return r;
}

/* Starts tundctl as root, its output read as it comes. */
static Running *ctl_start(TbEnv *env, const char *first, ...) G_GNUC_NULL_TERMINATED;
static Running *ctl_start(TbEnv *env, const char *first, ...) {
        va_list ap;
        va_start(ap, first);
        g_autoptr(GPtrArray) argv = tundctl_argv(env, NULL, NULL, false, first, ap);
        va_end(ap);
        return running_new(argv);
}

/* Starts tundctl as USER, off a terminal. */
static Running *running_new_as(TbEnv *env, const TbUser *user, const char *first, ...) G_GNUC_NULL_TERMINATED;
static Running *running_new_as(TbEnv *env, const TbUser *user, const char *first, ...) {
        va_list ap;
        va_start(ap, first);
        g_autoptr(GPtrArray) argv = tundctl_argv(env, user, NULL, false, first, ap);
        va_end(ap);
        return running_new(argv);
}

/* Starts tundctl on a terminal, as USER (NULL: root), with ENV_EXTRA; its terminal's output
 * (stdout and stderr) comes as lines of stdout. */
static Running *ctl_start_tty(TbEnv *env, const TbUser *user, const char *const *env_extra,
                              const char *first, ...) G_GNUC_NULL_TERMINATED;
static Running *ctl_start_tty(TbEnv *env, const TbUser *user, const char *const *env_extra,
                              const char *first, ...) {
        va_list ap;
        va_start(ap, first);
        g_autoptr(GPtrArray) argv = tundctl_argv(env, user, env_extra, true, first, ap);
        va_end(ap);
        return running_new(argv);
}

static bool running_ended(void *data);

/* Runs tundctl on a terminal to its end; the terminal's output, or NULL after a hang. */
static char *tty_output(Running *r) {
        if (!tb_wait_until(running_ended, r))
                return NULL;
        g_autofree char *joined = NULL;
        g_ptr_array_add(r->lines[0], NULL);
        joined = g_strjoinv("\n", (char **) r->lines[0]->pdata);
        g_ptr_array_remove_index(r->lines[0], r->lines[0]->len - 1);
        g_test_message("on a terminal:\n%s", joined);
        return g_steal_pointer(&joined);
}

typedef struct LineWait {
        Running *r;
        int which;
        const char *needle;
        guint from;
        int found;
} LineWait;

static bool line_arrived(void *data) {
        LineWait *w = data;
        GPtrArray *lines = w->r->lines[w->which];
        for (guint i = w->from; i < lines->len; i++)
                if (strstr(lines->pdata[i], w->needle)) {
                        w->found = (int) i;
                        return true;
                }
        if (w->r->eof[w->which])
                return true;
        g_main_context_iteration(NULL, TRUE);
        return false;
}

/* Waits for a line holding NEEDLE (stdout: WHICH 0, stderr: 1) at index FROM or later;
 * returns the line (owned by R) or NULL after a hang or the end of the stream. */
static const char *wait_line(Running *r, int which, guint from, const char *needle) {
        LineWait w = { r, which, needle, from, -1 };
        if (!tb_wait_until(line_arrived, &w) || w.found < 0) {
                for (guint i = 0; i < r->lines[which]->len; i++)
                        g_test_message("line %u: %s", i, (char *) r->lines[which]->pdata[i]);
                return NULL;
        }
        return r->lines[which]->pdata[w.found];
}

static bool running_ended(void *data) {
        Running *r = data;
        if (r->exited && r->eof[0] && r->eof[1])
                return true;
        g_main_context_iteration(NULL, TRUE);
        return false;
}

/* Sends SIGTERM and waits for the exit and the end of output; returns the exit status. */
static int ctl_stop(Running *r) {
        g_subprocess_send_signal(r->proc, SIGTERM);
        g_assert_true(tb_wait_until(running_ended, r));
        if (r->status != 0)
                for (guint i = 0; i < r->lines[1]->len; i++)
                        g_test_message("tundctl's stderr: %s", (const char *) r->lines[1]->pdata[i]);
        return r->status;
}

static bool proc_exited(void *data) {
        return running_ended(data);
}

static void running_free(Running *r) {
        if (!r)
                return;
        if (!r->exited) {
                g_subprocess_force_exit(r->proc);
                tb_wait_until(proc_exited, r);
        }
        for (int i = 0; i < 2; i++) {
                g_clear_object(&r->streams[i]);
                g_ptr_array_unref(r->lines[i]);
        }
        g_object_unref(r->proc);
        g_free(r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Running, running_free)

/* Runs python3 on JSON (in a file) with CODE, which prints what the test compares. */
static char *json_query(const char *json, const char *code) {
        g_autofree char *file = NULL;
        g_autoptr(GError) error = NULL;
        int fd = g_file_open_tmp("tundctl-json-XXXXXX", &file, &error);
        g_assert_no_error(error);
        close(fd);
        g_assert_true(g_file_set_contents(file, json, -1, NULL));
        g_autofree char *script = g_strconcat("import json, sys\nd = json.load(open(sys.argv[1]))\n", code, NULL);
        const char *argv[] = { "python3", "-c", script, file, NULL };
        char *out = NULL;
        g_autofree char *err = NULL;
        int status = tb_run(argv, &out, &err);
        unlink(file);
        if (status != 0)
                g_error("JSON did not parse (%s): %s\n%s", err, json, code);
        g_strstrip(out);
        return out;
}

static unsigned count_lines(const char *s) {
        unsigned n = 0;
        for (; *s; s++)
                n += *s == '\n';
        return n;
}

static bool has_line_starting(const char *text, const char *prefix) {
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l; l++)
                if (g_str_has_prefix(*l, prefix))
                        return true;
        return false;
}

static bool is_timestamped(const char *line) {
        return g_regex_match_simple("^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{6} ", line, 0, 0);
}

static void test_version_and_help(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *out = NULL, *help = NULL, *verb = NULL;
        g_assert_cmpint(ctl_run(env, &out, "--version"), ==, 0);
        g_autofree char *want = g_strdup_printf("tundctl %s\n", g_getenv("TB_VERSION"));
        g_assert_cmpstr(out, ==, want);
        g_assert_cmpint(ctl_run(env, &help, "--help"), ==, 0);
        g_assert_nonnull(strstr(help, "set-offloads"));
        g_assert_null(strstr(help, "\x1b["));     /* no colour off a terminal */
        g_assert_cmpint(ctl_run(env, &verb, "set-mtu", "--help"), ==, 0);
        g_assert_true(g_str_has_prefix(verb, "tundctl set-mtu DEVICE MTU"));
}

static void test_list(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *a = tb_ifname("la"), *b = tb_ifname("lb");
        g_autofree char *pa = tb_create_ok(bus, a, tb_options("MTU", g_variant_new_uint32(1400), NULL));
        g_autofree char *pb = tb_create_ok(bus, b, NULL);
        g_autoptr(GHashTable) devices = tb_list_devices(bus);
        unsigned n = g_hash_table_size(devices);

        g_autofree char *plain = NULL;
        g_assert_cmpint(ctl_run(env, &plain, "list"), ==, 0);
        g_assert_true(g_str_has_prefix(plain, "NAME "));
        g_assert_nonnull(strstr(plain, "INDEX"));
        g_assert_nonnull(strstr(plain, "PERSISTENT"));
        g_assert_true(has_line_starting(plain, a));
        g_assert_true(has_line_starting(plain, b));
        g_autofree char *summary = g_strdup_printf("\n\n%u devices listed.\n", n);
        g_assert_true(g_str_has_suffix(plain, summary));
        g_assert_null(strstr(plain, "\x1b["));

        /* Bare tundctl is list. */
        g_autofree char *bare = NULL;
        g_assert_cmpint(ctl_run(env, &bare, "--no-legend"), ==, 0);
        g_autofree char *no_legend = NULL;
        g_assert_cmpint(ctl_run(env, &no_legend, "list", "--no-legend"), ==, 0);
        g_assert_cmpuint(count_lines(no_legend), ==, n);
        g_assert_null(strstr(no_legend, "NAME"));
        g_assert_null(strstr(no_legend, "listed"));
        g_assert_true(has_line_starting(no_legend, a));
        g_assert_cmpuint(count_lines(bare), ==, n);

        g_autofree char *json = NULL;
        g_assert_cmpint(ctl_run(env, &json, "list", "--json=short"), ==, 0);
        g_assert_cmpuint(count_lines(json), ==, 1);
        g_autofree char *code = g_strdup_printf(
                "x = [e for e in d if e['Name'] == '%s'][0]\n"
                "print(len(d), x['MTU'], x['Index'], x['Up'], x['Persistent'], x['Owner'], x['Clients'], x['Path'])\n", a);
        g_autofree char *got = json_query(json, code);
        g_autofree char *expect = g_strdup_printf("%u 1400 %d False False 0 0 %s", n, tb_link_ifindex(a), pa);
        g_assert_cmpstr(got, ==, expect);

        g_autofree char *pretty = NULL;
        g_assert_cmpint(ctl_run(env, &pretty, "list", "--json=pretty"), ==, 0);
        g_assert_cmpuint(count_lines(pretty), >, n);
        g_autofree char *count = json_query(pretty, "print(len(d))");
        g_autofree char *n_text = g_strdup_printf("%u", n);
        g_assert_cmpstr(count, ==, n_text);

        tb_delete_ok(bus, pa);
        tb_delete_ok(bus, pb);
}

static void test_status(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("st");
        g_autofree char *path = tb_create_ok(bus, name, tb_options("MTU", g_variant_new_uint32(1380), NULL));

        g_autofree char *plain = NULL;
        g_assert_cmpint(ctl_run(env, &plain, "status", name), ==, 0);
        g_autofree char *head = g_strdup_printf("%s (%s)\n", name, path);
        g_assert_true(g_str_has_prefix(plain, head));
        g_assert_nonnull(strstr(plain, "MTU: 1380\n"));
        g_assert_nonnull(strstr(plain, "Persistent: no\n"));
        g_assert_nonnull(strstr(plain, "Statistics: "));
        g_assert_nonnull(strstr(plain, "rx_packets: 0\n"));
        g_assert_nonnull(strstr(plain, "drops_queue_full: 0\n"));

        /* An object path names the same device. */
        g_autofree char *by_path = NULL;
        g_assert_cmpint(ctl_run(env, &by_path, "status", path), ==, 0);
        g_assert_cmpstr(by_path, ==, plain);

        g_autofree char *json = NULL;
        g_assert_cmpint(ctl_run(env, &json, "status", "--json=short", name), ==, 0);
        g_autofree char *got = json_query(json,
                "x = d[0]\nprint(len(d), x['Name'], x['MTU'], x['Statistics']['rx_packets'], "
                "x['Statistics']['gso_split'], sorted(x['Offloads']) == sorted(set(x['Offloads'])))\n");
        g_autofree char *expect = g_strdup_printf("1 %s 1380 0 0 True", name);
        g_assert_cmpstr(got, ==, expect);

        tb_delete_ok(bus, path);
}

static void test_stats(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("ss");
        g_autofree char *path = tb_create_ok(bus, name, NULL);

        g_autofree char *plain = NULL, *no_legend = NULL, *json = NULL;
        g_assert_cmpint(ctl_run(env, &plain, "stats", name), ==, 0);
        g_assert_true(g_str_has_prefix(plain, "COUNTER "));
        g_assert_true(has_line_starting(plain, "tx_packets "));
        g_assert_cmpint(ctl_run(env, &no_legend, "stats", "--no-legend", name), ==, 0);
        g_assert_true(g_str_has_prefix(no_legend, "drops_"));
        g_assert_cmpuint(count_lines(no_legend) + 1, ==, count_lines(plain));
        g_assert_cmpint(ctl_run(env, &json, "stats", "--json=short", name), ==, 0);
        g_autofree char *got = json_query(json, "print(d['Device'], d['Statistics']['rx_bytes'], d['Statistics']['tx_bytes'])");
        g_autofree char *expect = g_strdup_printf("%s 0 0", name);
        g_assert_cmpstr(got, ==, expect);

        tb_delete_ok(bus, path);
}

static void test_stats_watch(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("sw");
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        g_autoptr(Running) r = ctl_start(env, "stats", name, "--watch", "--interval=0.2", NULL);

        /* Off a terminal each refresh is a block of its own: a line with the name and
         * the time, then the table with rates (none yet in the first). */
        guint from = 0;
        for (int block = 0; block < 3; block++) {
                const char *title = wait_line(r, 0, from, name);
                g_assert_nonnull(title);
                g_autofree char *prefix = g_strconcat(name, " ", NULL);
                g_assert_true(g_str_has_prefix(title, prefix));
                g_assert_nonnull(wait_line(r, 0, from, "RATE/S"));
                const char *rx = wait_line(r, 0, from, "rx_packets ");
                g_assert_nonnull(rx);
                g_assert_true(g_str_has_suffix(rx, block == 0 ? " -" : " 0.0"));
                from = r->lines[0]->len;
        }
        for (guint i = 0; i < r->lines[0]->len; i++)
                g_assert_null(strstr(r->lines[0]->pdata[i], "\x1b["));
        g_assert_cmpint(ctl_stop(r), ==, 0);

        /* A device that goes away ends the watch: no such device. */
        g_autoptr(Running) gone = ctl_start(env, "stats", name, "--watch", "--interval=0.2", NULL);
        g_assert_nonnull(wait_line(gone, 0, 0, "RATE/S"));
        tb_delete_ok(bus, path);
        g_assert_true(tb_wait_until(running_ended, gone));
        g_assert_cmpint(gone->status, ==, 3);
}

static void test_create_delete(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *name = tb_ifname("cd");
        g_autofree char *out = NULL;

        g_assert_cmpint(ctl_run(env, &out, "create", name, "--persistent", "--mtu=1400",
                                "--offloads=csum,tso4,gro-tcp"), ==, 0);
        g_autofree char *said = g_strdup_printf("Created persistent device %s (", name);
        g_assert_true(g_str_has_prefix(out, said));
        g_assert_true(tb_link_exists(name));
        g_assert_cmpuint(tb_link_mtu(name), ==, 1400);
        const char *kernel_want[] = { "csum", "tso4", NULL };
        g_autoptr(GHashTable) want = tb_strv_set(kernel_want);
        g_autoptr(GHashTable) kernel = tb_link_kernel_offloads(name);
        tb_assert_sets_equal(kernel, want);

        g_assert_cmpint(ctl_run(env, NULL, "set-mtu", name, "1300"), ==, 0);
        g_assert_cmpuint(tb_link_mtu(name), ==, 1300);

        g_assert_cmpint(ctl_run(env, NULL, "set-offloads", name, "csum", "tso4,tso6"), ==, 0);
        const char *kernel_want2[] = { "csum", "tso4", "tso6", NULL };
        g_autoptr(GHashTable) want2 = tb_strv_set(kernel_want2);
        g_autoptr(GHashTable) kernel2 = tb_link_kernel_offloads(name);
        tb_assert_sets_equal(kernel2, want2);
        g_autofree char *json = NULL;
        g_assert_cmpint(ctl_run(env, &json, "status", "--json=short", name), ==, 0);
        g_autofree char *got = json_query(json, "print(' '.join(sorted(d[0]['Offloads'])), d[0]['Persistent'])");
        g_assert_cmpstr(got, ==, "csum tso4 tso6 True");

        g_assert_cmpint(ctl_run(env, NULL, "set-offloads", name, "none"), ==, 0);
        g_autoptr(GHashTable) kernel3 = tb_link_kernel_offloads(name);
        g_assert_cmpuint(g_hash_table_size(kernel3), ==, 0);

        g_assert_cmpint(ctl_run(env, NULL, "delete", name), ==, 0);
        g_assert_true(tb_wait_link_gone(name));
}

/* --raw: a raw device, whose packet fd is a queue of the TUN; --vnet-header only with it. */
static void test_create_raw(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("cr"), *other = tb_ifname("cv");
        g_autofree char *out = NULL;

        g_assert_cmpint(ctl_run(env, &out, "create", name, "--persistent", "--raw", "--vnet-header",
                                "--offloads=csum,tso4"), ==, 0);
        g_assert_true(tb_link_exists(name));
        g_autofree char *path = tb_get_device_ok(bus, name);
        g_autoptr(GError) error = NULL;
        int q = tb_open_packet_fd(bus, path, NULL, &error);
        g_assert_no_error(error);
        struct ifreq ifr = {};
        g_assert_cmpint(ioctl(q, TUNGETIFF, &ifr), ==, 0);
        g_assert_true(ifr.ifr_flags & IFF_MULTI_QUEUE);
        g_assert_true(ifr.ifr_flags & IFF_VNET_HDR);
        close(q);
        const char *kernel_want[] = { "csum", "tso4", NULL };
        g_autoptr(GHashTable) want = tb_strv_set(kernel_want);
        g_autoptr(GHashTable) kernel = tb_link_kernel_offloads(name);
        tb_assert_sets_equal(kernel, want);
        g_assert_cmpint(ctl_run(env, NULL, "delete", name), ==, 0);
        g_assert_true(tb_wait_link_gone(name));

        /* The service refuses a vnet header without --raw. */
        g_assert_cmpint(ctl_run(env, NULL, "create", other, "--persistent", "--vnet-header"), !=, 0);
        g_assert_false(tb_link_exists(other));
}

/* Up, without the IPv6 link-local address that would add traffic and addresses of its own. */
static void link_up(const char *name) {
        const char *mode[] = { "ip", "link", "set", name, "addrgenmode", "none", NULL };
        const char *up[] = { "ip", "link", "set", name, "up", NULL };

        g_assert_cmpint(tb_run(mode, NULL, NULL), ==, 0);
        g_assert_cmpint(tb_run(up, NULL, NULL), ==, 0);
}

/* address and route: add, list (plain, JSON), del, and their errors as exit codes. */
static void test_address_route(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("ar");
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        g_autofree char *plain = NULL, *json = NULL, *routes = NULL, *route_json = NULL;

        link_up(name);
        g_assert_cmpint(ctl_run(env, NULL, "address", "add", name, "10.61.0.2/24"), ==, 0);
        g_assert_cmpint(ctl_run(env, NULL, "address", "add", path, "10.61.1.2/32", "--peer=10.61.1.1"), ==, 0);
        g_assert_cmpint(ctl_run(env, NULL, "address", "add", name, "fd61::2/64"), ==, 0);
        g_assert_cmpint(ctl_run(env, &plain, "address", name), ==, 0);
        g_assert_true(g_str_has_prefix(plain, "ADDRESS "));
        g_assert_true(has_line_starting(plain, "10.61.1.2/32 10.61.1.1"));
        g_assert_true(g_str_has_suffix(plain, "\n3 addresses listed.\n"));
        g_assert_cmpint(ctl_run(env, &json, "address", "list", name, "--json=short"), ==, 0);
        g_autofree char *got = json_query(json, "print(sorted((e['address'], e['peer']) for e in d))");
        g_assert_cmpstr(got, ==, "[('10.61.0.2/24', None), ('10.61.1.2/32', '10.61.1.1'), ('fd61::2/64', None)]");

        g_assert_cmpint(ctl_run(env, NULL, "route", "add", name, "10.62.0.0/16", "--metric=7", "--table=100"), ==, 0);
        g_assert_cmpint(ctl_run(env, NULL, "route", "add", name, "10.63.0.0/16", "--gateway=10.61.0.1"), ==, 0);
        g_assert_cmpint(ctl_run(env, &routes, "route", name, "--no-legend"), ==, 0);
        g_assert_true(has_line_starting(routes, "10.63.0.0/16 10.61.0.1"));
        g_assert_null(strstr(routes, "DESTINATION"));
        g_assert_cmpint(ctl_run(env, &route_json, "route", "show", name, "--json=pretty"), ==, 0);
        g_autofree char *table = json_query(route_json,
                "print([(e['gateway'], e['metric'], e['table']) for e in d if e['destination'] == '10.62.0.0/16'])");
        g_assert_cmpstr(table, ==, "[(None, 7, 100)]");

        /* Errors: there already (5), not there (8), unparsable (2), options out of place (2). */
        g_assert_cmpint(ctl_run(env, NULL, "address", "add", name, "10.61.0.2/24"), ==, 5);
        g_assert_cmpint(ctl_run(env, NULL, "route", "add", name, "10.62.0.0/16", "--metric=7", "--table=100"), ==, 5);
        g_assert_cmpint(ctl_run(env, NULL, "address", "del", name, "10.61.9.9/24"), ==, 8);
        g_assert_cmpint(ctl_run(env, NULL, "route", "del", name, "10.62.0.0/16"), ==, 8);
        g_assert_cmpint(ctl_run(env, NULL, "address", "add", name, "10.61.0.300/24"), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "address", "del", name, "10.61.0.2/24", "--peer=10.61.0.1"), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "address", "add", name, "10.61.5.2/24", "--metric=1"), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "route", "list", name, "--table=100"), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "route", "add", name, "10.64.0.0/16", "--peer=10.61.0.1"), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "route", "add", name, "10.64.0.0/16", "--table=x"), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "address", "frob", name), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "address", "add", name), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "address", "no-such-device-here"), ==, 3);
        g_assert_cmpint(ctl_run(env, NULL, "stats", name, "--metric=1"), ==, 2);

        g_assert_cmpint(ctl_run(env, NULL, "route", "del", name, "10.62.0.0/16", "--metric=7", "--table=100"), ==, 0);
        g_assert_cmpint(ctl_run(env, NULL, "address", "remove", name, "10.61.1.2/32"), ==, 0);
        g_free(g_steal_pointer(&json));
        g_assert_cmpint(ctl_run(env, &json, "address", name, "--json=short"), ==, 0);
        g_free(g_steal_pointer(&got));
        got = json_query(json, "print(sorted(e['address'] for e in d))");
        g_assert_cmpstr(got, ==, "['10.61.0.2/24', 'fd61::2/64']");
        tb_delete_ok(bus, path);
}

/* configure-network: an owner without it is refused, one the rule allows is not. */
static void test_address_authorization(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        const TbUser *owner = tb_env_user(env, TB_ROLE_CREATE), *network = tb_env_user(env, TB_ROLE_NETWORK);
        g_autofree char *a = tb_ifname("aa"), *b = tb_ifname("ab");
        g_autofree char *pa = tb_create_ok(bus, a, tb_options("Owner", g_variant_new_uint32(owner->uid), NULL));
        g_autofree char *pb = tb_create_ok(bus, b, tb_options("Owner", g_variant_new_uint32(network->uid), NULL));

        link_up(a);
        link_up(b);
        g_assert_cmpint(ctl_run_as(env, owner, NULL, "address", "add", a, "10.65.0.2/24", "--no-ask-password", NULL), ==, 4);
        g_assert_cmpint(ctl_run_as(env, network, NULL, "address", "add", b, "10.65.1.2/24", "--no-ask-password", NULL), ==, 0);
        g_assert_cmpint(ctl_run_as(env, network, NULL, "route", "add", b, "10.66.0.0/16", "--no-ask-password", NULL), ==, 0);
        /* Reading is open to everyone. */
        g_autofree char *listed = NULL;
        g_assert_cmpint(ctl_run_as(env, owner, &listed, "route", b, "--no-legend", NULL), ==, 0);
        g_assert_true(has_line_starting(listed, "10.66.0.0/16"));
        tb_delete_ok(bus, pa);
        tb_delete_ok(bus, pb);
}

/* attach: the program gets a packet fd as fd 3 and the kernel's packets on it. */
static void test_attach(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        const TbUser *owner = tb_env_user(env, TB_ROLE_NOBODY), *other = tb_env_user(env, TB_ROLE_DENIED);
        g_autofree char *name = tb_ifname("at");
        g_autofree char *path = tb_create_ok(bus, name, tb_options("Owner", g_variant_new_uint32(owner->uid), NULL));
        /* Reads packets from fd 3 until a UDP datagram, and tells what it saw. */
        const char *reader =
                "import os, sys\n"
                "print(os.environ['TUND_FD'], os.environ['TUND_MODE'], os.environ['TUND_DEVICE'], flush=True)\n"
                "while True:\n"
                "    p = os.read(int(os.environ['TUND_FD']), 65535)\n"
                "    if p[0] >> 4 == 4 and p[9] == 17:\n"
                "        print('udp', len(p), flush=True)\n"
                "        break\n";

        link_up(name);
        g_assert_cmpint(ctl_run(env, NULL, "address", "add", name, "10.67.0.1/24"), ==, 0);
        g_autoptr(Running) r = running_new_as(env, owner, "attach", name, "--", "python3", "-c", reader, NULL);
        g_autofree char *first = g_strdup_printf("3 packet %s", name);
        g_assert_nonnull(wait_line(r, 0, 0, first));
        const char *send[] = { "python3", "-c",
                "import socket\n"
                "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                "for _ in range(3): s.sendto(b'x' * 20, ('10.67.0.2', 9))\n", NULL };
        g_assert_cmpint(tb_run(send, NULL, NULL), ==, 0);
        g_assert_nonnull(wait_line(r, 0, 0, "udp 48"));
        g_assert_true(tb_wait_until(running_ended, r));
        g_assert_cmpint(r->status, ==, 0);

        /* Modes, refusals and failures. */
        g_autofree char *out = NULL;
        g_assert_cmpint(ctl_run(env, &out, "attach", name, "--mode=batch", "--", "sh", "-c", "echo $TUND_MODE"), ==, 0);
        g_assert_cmpstr(out, ==, "batch\n");
        g_assert_cmpint(ctl_run(env, NULL, "attach", name, "--mode=ring", "--", "true"), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "attach", name, "--mode=frob", "--", "true"), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "attach", name), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "attach", "no-such-device-here", "--", "true"), ==, 3);
        g_assert_cmpint(ctl_run(env, NULL, "attach", name, "--", "/no/such/program"), ==, 127);
        g_assert_cmpint(ctl_run_as(env, other, NULL, "attach", name, "--", "true", NULL), ==, 4);
        tb_delete_ok(bus, path);
}

static void test_create_owner(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        const TbUser *user = tb_env_user(env, TB_ROLE_NOBODY);
        g_autofree char *name = tb_ifname("co");

        /* Root names the owner; the owner then needs no authorization for its device. */
        g_assert_cmpint(ctl_run(env, NULL, "create", name, "--persistent", "--owner", user->name), ==, 0);
        g_autofree char *json = NULL;
        g_assert_cmpint(ctl_run(env, &json, "status", "--json=short", name), ==, 0);
        g_autofree char *got = json_query(json, "print(d[0]['Owner'], d[0]['OwnerName'])");
        g_autofree char *expect = g_strdup_printf("%u %s", (unsigned) user->uid, user->name);
        g_assert_cmpstr(got, ==, expect);
        g_autofree char *listed = NULL;
        g_assert_cmpint(ctl_run(env, &listed, "list", "--no-legend"), ==, 0);
        g_autofree char *row = g_strdup_printf(" %s yes\n", user->name);
        g_assert_nonnull(strstr(listed, row));
        g_assert_cmpint(ctl_run_as(env, user, NULL, "set-mtu", name, "1420", "--no-ask-password", NULL), ==, 0);
        g_assert_cmpuint(tb_link_mtu(name), ==, 1420);
        g_assert_cmpint(ctl_run_as(env, user, NULL, "delete", name, "--no-ask-password", NULL), ==, 0);
        g_assert_true(tb_wait_link_gone(name));
        g_assert_cmpint(ctl_run(env, NULL, "create", name, "--owner=no-such-user-here"), ==, 2);
}

static void test_create_held(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *name = tb_ifname("ch");
        g_autoptr(Running) r = ctl_start(env, "create", name, NULL);

        g_assert_nonnull(wait_line(r, 0, 0, "lives while tundctl runs"));
        g_assert_true(tb_link_exists(name));
        g_autofree char *json = NULL;
        g_assert_cmpint(ctl_run(env, &json, "status", "--json=short", name), ==, 0);
        g_autofree char *persistent = json_query(json, "print(d[0]['Persistent'])");
        g_assert_cmpstr(persistent, ==, "False");
        g_assert_false(r->exited);

        g_assert_cmpint(ctl_stop(r), ==, 0);
        g_assert_true(tb_wait_link_gone(name));
        g_assert_cmpint(ctl_run(env, NULL, "status", name), ==, 3);

        /* Removed by someone else: tundctl says so and ends. */
        g_autoptr(Running) other = ctl_start(env, "create", name, NULL);
        g_assert_nonnull(wait_line(other, 0, 0, "lives while tundctl runs"));
        g_assert_cmpint(ctl_run(env, NULL, "delete", name), ==, 0);
        g_assert_nonnull(wait_line(other, 1, 0, "was removed"));
        g_assert_true(tb_wait_until(running_ended, other));
        g_assert_cmpint(other->status, ==, 0);
}

static void test_exit_codes(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("ex");
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        g_autofree char *missing = tb_ifname("nx");

        g_assert_cmpint(ctl_run(env, NULL, "status", missing), ==, 3);
        g_assert_cmpint(ctl_run(env, NULL, "set-mtu", missing, "1400"), ==, 3);
        g_assert_cmpint(ctl_run(env, NULL, "delete", missing), ==, 3);
        g_assert_cmpint(ctl_run(env, NULL, "stats", "/org/example/Tun1/device/999999"), ==, 3);
        g_assert_cmpint(ctl_run(env, NULL, "set-mtu", name, "10"), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "set-offloads", name, "bogus"), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "create", name, "--persistent"), ==, 5);
        g_assert_cmpint(ctl_run(env, NULL, "frobnicate"), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "list", "--json=long"), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "list", "--mtu=1400"), ==, 2);
        g_assert_cmpint(ctl_run(env, NULL, "set-mtu", name), ==, 2);

        /* polkit says no; and one that would ask, without a terminal or with
         * --no-ask-password, is refused without asking. */
        const TbUser *denied = tb_env_user(env, TB_ROLE_DENIED);
        const TbUser *nobody = tb_env_user(env, TB_ROLE_NOBODY);
        g_autofree char *other = tb_ifname("eo");
        g_assert_cmpint(ctl_run_as(env, denied, NULL, "create", other, "--persistent", "--no-ask-password", NULL), ==, 4);
        g_assert_cmpint(ctl_run_as(env, nobody, NULL, "create", other, "--persistent", "--no-ask-password", NULL), ==, 4);
        g_assert_cmpint(ctl_run_as(env, nobody, NULL, "create", other, "--persistent", NULL), ==, 4);
        g_assert_false(tb_link_exists(other));
        g_assert_cmpint(ctl_run_as(env, nobody, NULL, "set-mtu", name, "1400", "--no-ask-password", NULL), ==, 4);
        g_assert_cmpint(ctl_run_as(env, denied, NULL, "delete", name, "--no-ask-password", NULL), ==, 4);
        g_assert_true(tb_link_exists(name));
        /* Reading needs no authorization. */
        g_assert_cmpint(ctl_run_as(env, nobody, NULL, "status", name, NULL), ==, 0);

        tb_delete_ok(bus, path);
}

static void test_monitor(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("mo");
        g_autoptr(Running) r = ctl_start(env, "monitor", NULL);
        g_assert_nonnull(wait_line(r, 1, 0, "Monitoring"));

        g_autofree char *path = tb_create_ok(bus, name, NULL);
        g_autofree char *added = g_strdup_printf(" %s added: ", name);
        const char *line = wait_line(r, 0, 0, added);
        g_assert_nonnull(line);
        g_assert_true(is_timestamped(line));

        const char *up[] = { "ip", "link", "set", name, "up", NULL };
        const char *mtu[] = { "ip", "link", "set", name, "mtu", "1280", NULL };
        const char *down[] = { "ip", "link", "set", name, "down", NULL };
        g_autofree char *link_up = g_strdup_printf(" %s LinkUp", name);
        g_autofree char *mtu_changed = g_strdup_printf(" %s MTUChanged: 1280", name);
        g_autofree char *link_down = g_strdup_printf(" %s LinkDown", name);
        g_autofree char *removed = g_strdup_printf(" %s removed", name);
        g_assert_cmpint(tb_run(up, NULL, NULL), ==, 0);
        g_assert_nonnull((line = wait_line(r, 0, 0, link_up)));
        g_assert_true(is_timestamped(line));
        g_assert_cmpint(tb_run(mtu, NULL, NULL), ==, 0);
        g_assert_nonnull((line = wait_line(r, 0, 0, mtu_changed)));
        g_assert_true(is_timestamped(line));
        g_assert_cmpint(tb_run(down, NULL, NULL), ==, 0);
        g_assert_nonnull((line = wait_line(r, 0, 0, link_down)));
        g_assert_true(is_timestamped(line));
        /* PropertiesChanged may carry several properties: "changed: A=1 B=2". */
        g_autofree char *changed = g_strdup_printf(" %s changed: ", name);
        g_assert_nonnull((line = wait_line(r, 0, 0, "MTU=1280")));
        g_assert_nonnull(strstr(line, changed));

        g_autoptr(GError) error = NULL;
        int fd = tb_open_packet_fd(bus, path, NULL, &error);
        g_assert_no_error(error);
        g_assert_nonnull((line = wait_line(r, 0, 0, "Clients=1")));
        g_assert_nonnull(strstr(line, changed));
        close(fd);
        g_assert_nonnull((line = wait_line(r, 0, 0, "Clients=0")));
        g_assert_nonnull(strstr(line, changed));

        tb_delete_ok(bus, path);
        g_assert_nonnull((line = wait_line(r, 0, 0, removed)));
        g_assert_true(is_timestamped(line));
        for (guint i = 0; i < r->lines[0]->len; i++)
                g_assert_true(is_timestamped(r->lines[0]->pdata[i]));
        g_assert_cmpint(ctl_stop(r), ==, 0);
}

static void test_monitor_service_gone(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autoptr(Running) r = ctl_start(env, "monitor", NULL);
        g_assert_nonnull(wait_line(r, 1, 0, "Monitoring"));
        tb_tund_stop(env);
        g_assert_nonnull(wait_line(r, 0, 0, "The tund service ended."));
        g_assert_true(tb_wait_until(running_ended, r));
        g_assert_cmpint(r->status, ==, 0);

        /* With no tund to answer (and no activation file on this bus). */
        g_assert_cmpint(ctl_run(env, NULL, "list"), ==, 7);
        g_assert_cmpint(ctl_run(env, NULL, "monitor"), ==, 7);
}

static bool has_escape(Running *r) {
        for (guint i = 0; i < r->lines[0]->len; i++)
                if (strstr(r->lines[0]->pdata[i], "\x1b["))
                        return true;
        return false;
}

static void test_terminal(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        const char *colour[] = { "-u", "NO_COLOR", "TERM=xterm", "TUNDCTL_PAGER=sed s/^/paged:/", NULL };
        const char *no_colour[] = { "NO_COLOR=1", "TERM=xterm", "TUNDCTL_PAGER=sed s/^/paged:/", NULL };
        const char *dumb[] = { "-u", "NO_COLOR", "TERM=dumb", NULL };

        /* On a terminal: bold headers, through the pager. */
        g_autoptr(Running) paged = ctl_start_tty(env, NULL, colour, "list", NULL);
        g_autofree char *out = tty_output(paged);
        g_assert_nonnull(out);
        g_assert_nonnull(strstr(out, "paged:\x1b[1mNAME"));
        g_assert_nonnull(strstr(out, "paged:\r\n"));     /* the blank line before the summary */
        g_assert_nonnull(strstr(out, "devices listed."));

        g_autoptr(Running) unpaged = ctl_start_tty(env, NULL, colour, "list", "--no-pager", NULL);
        g_autofree char *out2 = tty_output(unpaged);
        g_assert_nonnull(out2);
        g_assert_null(strstr(out2, "paged:"));
        g_assert_nonnull(strstr(out2, "\x1b[1mNAME"));

        g_autoptr(Running) plain = ctl_start_tty(env, NULL, no_colour, "list", "--no-pager", NULL);
        g_autofree char *out3 = tty_output(plain);
        g_assert_nonnull(out3);
        g_assert_false(has_escape(plain));
        g_autoptr(Running) dumb_run = ctl_start_tty(env, NULL, dumb, "list", "--no-pager", NULL);
        g_autofree char *out4 = tty_output(dumb_run);
        g_assert_nonnull(out4);
        g_assert_false(has_escape(dumb_run));

        /* Off a terminal no pager runs, whatever TUNDCTL_PAGER says. */
        g_setenv("TUNDCTL_PAGER", "sed s/^/paged:/", TRUE);
        g_autofree char *piped = NULL;
        g_assert_cmpint(ctl_run(env, &piped, "list"), ==, 0);
        g_unsetenv("TUNDCTL_PAGER");
        g_assert_null(strstr(piped, "paged:"));
}

static void test_stats_watch_terminal(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        GDBusConnection *bus = tb_env_bus(env);
        g_autofree char *name = tb_ifname("sy");
        g_autofree char *path = tb_create_ok(bus, name, NULL);
        const char *term[] = { "TERM=xterm", NULL };
        g_autoptr(Running) r = ctl_start_tty(env, NULL, term, "stats", name, "--watch", "--interval=0.2", NULL);

        /* The second refresh moves the cursor back over the first and clears below. */
        const char *line = wait_line(r, 0, 0, "A\r\x1b[J");
        g_assert_nonnull(line);
        g_assert_nonnull(strstr(line, name));
        g_subprocess_send_signal(r->proc, SIGTERM);
        g_assert_true(tb_wait_until(running_ended, r));
        tb_delete_ok(bus, path);
}

/* The words of tund's refusal tell whether the call allowed interactive authorization. */
#define ASKED "and no polkit agent gave it"
#define NOT_ASKED "call again allowing interactive authorization"

static void test_password_agent(void) {
        TbEnv *env = tb_test_env();
        if (!env)
                return;
        g_autofree char *name = tb_ifname("pa");
        const TbUser *nobody = tb_env_user(env, TB_ROLE_NOBODY);

        /* On a terminal the call allows interactive authorization, with pkttyagent started
         * (--fallback, as systemctl does). polkitd hands a fallback agent a challenge only
         * for a subject in a login session, and there is no logind here, so the answer is
         * still no, in the words for a call that allowed asking. */
        g_autoptr(Running) r = ctl_start_tty(env, nobody, NULL, "create", name, "--persistent", NULL);
        g_autofree char *out = tty_output(r);
        g_assert_nonnull(out);
        g_assert_nonnull(strstr(out, ASKED));
        g_assert_cmpint(r->status, ==, 4);
        g_assert_false(tb_link_exists(name));

        /* --no-ask-password: the call does not allow it. */
        g_autoptr(Running) q = ctl_start_tty(env, nobody, NULL, "create", name, "--persistent",
                                             "--no-ask-password", NULL);
        g_autofree char *out2 = tty_output(q);
        g_assert_nonnull(out2);
        g_assert_nonnull(strstr(out2, NOT_ASKED));
        g_assert_cmpint(q->status, ==, 4);

        /* Nor off a terminal, where nobody could answer. */
        g_autoptr(Running) p = running_new_as(env, nobody, "create", name, "--persistent", NULL);
        g_assert_nonnull(wait_line(p, 1, 0, NOT_ASKED));
        g_assert_true(tb_wait_until(running_ended, p));
        g_assert_cmpint(p->status, ==, 4);
        g_assert_false(tb_link_exists(name));
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/tundctl/version-and-help", test_version_and_help);
        g_test_add_func("/tundctl/list", test_list);
        g_test_add_func("/tundctl/status", test_status);
        g_test_add_func("/tundctl/stats", test_stats);
        g_test_add_func("/tundctl/stats-watch", test_stats_watch);
        g_test_add_func("/tundctl/create-delete", test_create_delete);
        g_test_add_func("/tundctl/create-owner", test_create_owner);
        g_test_add_func("/tundctl/create-raw", test_create_raw);
        g_test_add_func("/tundctl/address-route", test_address_route);
        g_test_add_func("/tundctl/address-authorization", test_address_authorization);
        g_test_add_func("/tundctl/attach", test_attach);
        g_test_add_func("/tundctl/create-held", test_create_held);
        g_test_add_func("/tundctl/exit-codes", test_exit_codes);
        g_test_add_func("/tundctl/monitor", test_monitor);
        g_test_add_func("/tundctl/terminal", test_terminal);
        g_test_add_func("/tundctl/stats-watch-terminal", test_stats_watch_terminal);
        g_test_add_func("/tundctl/password-agent", test_password_agent);
        g_test_add_func("/tundctl/monitor-service-gone", test_monitor_service_gone);
        return tb_test_run();
}
