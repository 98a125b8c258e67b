/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unprivileged connections: the tb-caller helper run as a test user via setpriv. */

#include "harness-private.h"

#include <stdio.h>
#include <stdlib.h>

struct TbCaller {
        TbEnv *env;
        GSubprocess *proc;
        GDataInputStream *out;
        GOutputStream *in;
        char *unique_name;
        GHashTable *replies;    /* id → line after the id */
        unsigned next_id;
        bool reading, eof;
};

static void on_line(GObject *source, GAsyncResult *res, gpointer data);

static void read_next_line(TbCaller *c) {
        c->reading = true;
        g_data_input_stream_read_line_async(c->out, G_PRIORITY_DEFAULT, NULL, on_line, c);
}

static void on_line(GObject *source, GAsyncResult *res, gpointer data) {
        TbCaller *c = data;
        g_autoptr(GError) error = NULL;
        g_autofree char *line = g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), res, NULL, &error);
        c->reading = false;
        if (!line) {
                c->eof = true;
                return;
        }
        if (g_str_has_prefix(line, "ready "))
                c->unique_name = g_strdup(line + strlen("ready "));
        else {
                char *end;
                unsigned id = (unsigned) strtoul(line, &end, 10);
                g_assert_true(*end == ' ');
                g_hash_table_insert(c->replies, GUINT_TO_POINTER(id), g_strdup(end + 1));
        }
        read_next_line(c);
}

static bool caller_ready(void *data) {
        TbCaller *c = data;
        if (!c->unique_name && !c->eof)
                g_main_context_iteration(NULL, TRUE);
        return c->unique_name || c->eof;
}

TbCaller *tb_caller_new(TbEnv *env, const TbUser *user) {
        const char *helper = env->caller_path;
        g_autofree char *reuid = g_strdup_printf("--reuid=%u", (unsigned) user->uid);
        g_autofree char *regid = g_strdup_printf("--regid=%u", (unsigned) user->gid);
        g_autofree char *address = g_strconcat("DBUS_SYSTEM_BUS_ADDRESS=", env->address, NULL);
        const char *argv[] = { "setpriv", reuid, regid, "--clear-groups", "--",
                               "env", address, helper, NULL };

        TbCaller *c = g_new0(TbCaller, 1);
        c->env = env;
        c->replies = g_hash_table_new_full(NULL, NULL, NULL, g_free);
        c->next_id = 1;
        c->proc = tb_spawn(env, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, argv, NULL);
        c->in = g_subprocess_get_stdin_pipe(c->proc);
        c->out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(c->proc));
        g_ptr_array_add(env->callers, c);
        tb_env_write_pids(env);

        read_next_line(c);
        g_assert_true(tb_wait_until(caller_ready, c));
        if (!c->unique_name)
                g_error("tb-caller as %s did not connect to the bus", user->name);
        return c;
}

void tb_caller_free(TbCaller *c) {
        if (!c)
                return;
        /* End of input closes its connection and ends it. */
        g_output_stream_close(c->in, NULL, NULL);
        int status = tb_subprocess_wait(c->proc);
        g_assert_cmpint(status, ==, 0);
        while (c->reading)
                g_main_context_iteration(NULL, TRUE);
        g_ptr_array_remove(c->env->callers, c);
        tb_env_write_pids(c->env);
        g_object_unref(c->out);
        g_object_unref(c->proc);
        g_hash_table_unref(c->replies);
        g_free(c->unique_name);
        g_free(c);
}

const char *tb_caller_unique_name(TbCaller *c) {
        return c->unique_name;
}

pid_t tb_caller_pid(TbCaller *c) {
        const char *id = g_subprocess_get_identifier(c->proc);
        return id ? (pid_t) atoi(id) : 0;
}

unsigned tb_caller_send_to(TbCaller *c, bool interactive, const char *destination, const char *path,
                           const char *iface, const char *method, GVariant *args) {
        if (!args)
                args = g_variant_new("()");
        g_variant_ref_sink(args);
        g_autofree char *text = g_variant_print(args, TRUE);
        g_variant_unref(args);
        unsigned id = c->next_id++;
        g_autofree char *line = g_strdup_printf("%u %s %s %s %s %s %s\n", id, interactive ? "i" : "-",
                                                destination, path, iface, method, text);
        g_autoptr(GError) error = NULL;
        g_assert_true(g_output_stream_write_all(c->in, line, strlen(line), NULL, NULL, &error));
        g_assert_no_error(error);
        return id;
}

unsigned tb_caller_send(TbCaller *c, bool interactive, const char *path, const char *iface,
                        const char *method, GVariant *args) {
        return tb_caller_send_to(c, interactive, TB_BUS_NAME, path, iface, method, args);
}

unsigned tb_caller_emit_signal(TbCaller *c, const char *destination, const char *path,
                               const char *iface, const char *member, GVariant *args) {
        g_variant_ref_sink(args);
        g_autofree char *text = g_variant_print(args, TRUE);
        g_variant_unref(args);
        unsigned id = c->next_id++;
        g_autofree char *line = g_strdup_printf("%u s %s %s %s %s %s\n", id, destination ? destination : "*",
                                                path, iface, member, text);
        g_autoptr(GError) error = NULL;
        g_assert_true(g_output_stream_write_all(c->in, line, strlen(line), NULL, NULL, &error));
        g_assert_no_error(error);
        return id;
}

bool tb_caller_has_reply(TbCaller *c, unsigned id) {
        return g_hash_table_contains(c->replies, GUINT_TO_POINTER(id));
}

typedef struct ReplyWait {
        TbCaller *c;
        unsigned id;
} ReplyWait;

static bool reply_arrived(void *data) {
        ReplyWait *w = data;
        if (tb_caller_has_reply(w->c, w->id) || w->c->eof)
                return true;
        g_main_context_iteration(NULL, TRUE);
        return false;
}

GVariant *tb_caller_wait(TbCaller *c, unsigned id, GError **error) {
        ReplyWait w = { c, id };
        if (!tb_wait_until(reply_arrived, &w) || !tb_caller_has_reply(c, id))
                g_error("no reply from tb-caller to call %u", id);

        g_autofree char *line = NULL;
        g_hash_table_steal_extended(c->replies, GUINT_TO_POINTER(id), NULL, (gpointer *) &line);
        if (g_str_has_prefix(line, "ok ")) {
                g_autoptr(GError) parse_error = NULL;
                GVariant *v = g_variant_parse(NULL, line + 3, NULL, NULL, &parse_error);
                g_assert_no_error(parse_error);
                return v;       /* g_variant_parse gives a full reference */
        }
        g_assert_true(g_str_has_prefix(line, "error "));
        g_auto(GStrv) f = g_strsplit(line + strlen("error "), "\t", 2);
        g_assert_cmpuint(g_strv_length(f), ==, 2);
        /* The same as GDBus makes of a remote error, so tb_assert_dbus_error works on both. */
        g_propagate_error(error, g_dbus_error_new_for_dbus_error(f[0], f[1]));
        return NULL;
}

GVariant *tb_caller_call(TbCaller *c, bool interactive, const char *path, const char *iface,
                         const char *method, GVariant *args, GError **error) {
        unsigned id = tb_caller_send(c, interactive, path, iface, method, args);
        return tb_caller_wait(c, id, error);
}

void tb_caller_expect(TbCaller *c, bool interactive, const char *path, const char *iface,
                      const char *method, GVariant *args, const char *error_name) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) r = tb_caller_call(c, interactive, path, iface, method, args, &error);
        tb_assert_reply(r, error, error_name);
}
