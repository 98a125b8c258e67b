/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A D-Bus client for the bus tests, run as an unprivileged user via setpriv. It holds one
 * connection to $DBUS_SYSTEM_BUS_ADDRESS for as long as its stdin is open, and makes calls
 * asynchronously as told, one a line:
 *     ID FLAGS DESTINATION PATH INTERFACE METHOD ARGS
 * (FLAGS: "i" interactive, "-" none; ARGS: a GVariant tuple in text form).
 * With FLAGS "s" the line is a signal to emit instead, METHOD being its member and
 * DESTINATION a unique name or "*" for a broadcast; its answer "ID ok ()" comes once the
 * signal is written to the bus.
 * It answers first "ready UNIQUE-NAME", then per call "ID ok REPLY" or
 * "ID error ERROR-NAME<TAB>MESSAGE", in the order the replies arrive. */

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct Caller {
        GDBusConnection *bus;
        GDataInputStream *in;
        GMainLoop *loop;
} Caller;

static void print_line(const char *format, ...) G_GNUC_PRINTF(1, 2);
static void print_line(const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        g_autofree char *s = g_strdup_vprintf(format, ap);
        va_end(ap);
        g_strdelimit(s, "\n", ' ');
        printf("%s\n", s);
        fflush(stdout);
}

static void on_reply(GObject *source, GAsyncResult *res, gpointer data) {
        unsigned id = GPOINTER_TO_UINT(data);
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &error);
        if (reply) {
                g_autofree char *text = g_variant_print(reply, TRUE);
                print_line("%u ok %s", id, text);
                return;
        }
        g_autofree char *name = g_dbus_error_get_remote_error(error);
        g_dbus_error_strip_remote_error(error);
        print_line("%u error %s\t%s", id, name ? name : "(local)", error->message);
}

static void emit_signal(Caller *c, unsigned id, const char *destination, const char *path,
                        const char *iface, const char *member, GVariant *args) {
        g_autoptr(GError) error = NULL;
        if (!g_dbus_connection_emit_signal(c->bus, destination, path, iface, member, args, &error) ||
            !g_dbus_connection_flush_sync(c->bus, NULL, &error)) {
                print_line("%u error (local)\t%s", id, error->message);
                return;
        }
        print_line("%u ok ()", id);
}

static void run_command(Caller *c, const char *line) {
        g_auto(GStrv) f = g_strsplit(line, " ", 7);
        if (g_strv_length(f) != 7) {
                print_line("0 error (bad-command)\t%s", line);
                return;
        }
        unsigned id = (unsigned) strtoul(f[0], NULL, 10);
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) args = g_variant_parse(NULL, f[6], NULL, NULL, &error);
        if (!args) {
                print_line("%u error (bad-args)\t%s", id, error->message);
                return;
        }
        if (strchr(f[1], 's')) {
                emit_signal(c, id, strcmp(f[2], "*") == 0 ? NULL : f[2], f[3], f[4], f[5], args);
                return;
        }
        GDBusCallFlags flags = strchr(f[1], 'i') ? G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION
                                                 : G_DBUS_CALL_FLAGS_NONE;
        g_dbus_connection_call(c->bus, f[2], f[3], f[4], f[5], args,
                               NULL, flags, G_MAXINT, NULL, on_reply, GUINT_TO_POINTER(id));
}

static void on_line(GObject *source, GAsyncResult *res, gpointer data) {
        Caller *c = data;
        g_autofree char *line = g_data_input_stream_read_line_finish(c->in, res, NULL, NULL);
        if (!line) {
                g_main_loop_quit(c->loop);
                return;
        }
        run_command(c, line);
        g_data_input_stream_read_line_async(c->in, G_PRIORITY_DEFAULT, NULL, on_line, c);
}

int main(int argc, char **argv) {
        g_autoptr(GError) error = NULL;
        const char *address = g_getenv("DBUS_SYSTEM_BUS_ADDRESS");
        Caller c = {};

        if (!address) {
                fprintf(stderr, "DBUS_SYSTEM_BUS_ADDRESS is not set\n");
                return EXIT_FAILURE;
        }
        c.bus = g_dbus_connection_new_for_address_sync(
                address,
                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                NULL, NULL, &error);
        if (!c.bus) {
                fprintf(stderr, "Failed to connect to %s: %s\n", address, error->message);
                return EXIT_FAILURE;
        }
        c.loop = g_main_loop_new(NULL, FALSE);
        g_autoptr(GInputStream) stdin_stream = g_unix_input_stream_new(0, FALSE);
        c.in = g_data_input_stream_new(stdin_stream);
        print_line("ready %s", g_dbus_connection_get_unique_name(c.bus));

        g_data_input_stream_read_line_async(c.in, G_PRIORITY_DEFAULT, NULL, on_line, &c);
        g_main_loop_run(c.loop);

        g_dbus_connection_close_sync(c.bus, NULL, NULL);
        g_object_unref(c.bus);
        g_object_unref(c.in);
        g_main_loop_unref(c.loop);
        return EXIT_SUCCESS;
}
