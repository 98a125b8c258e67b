/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* OpenPacketFd end to end, as root: a private system bus with the project's policy file,
 * tund itself, two devices it creates moved into two namespaces, packet fds handed over
 * by D-Bus and a forwarding client between them; UDP through it, then Delete: the fd
 * reads end-of-file and the client ends. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "netns-util.h"

#define SERVICE "org.example.Tun1"
#define DEVICE_IFACE "org.example.Tun1.Device"

typedef struct Service {
        char *dir;
        pid_t bus_pid, tund_pid;
        sd_bus *bus;
} Service;

/* Namespaces and devices carry the PID (set in main()): test runs of other worktrees on the
 * same machine use other names. */
static char *ns_a, *ns_b, *if_a, *if_b;

static bool need_root(void) {
        if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) < 0) {
                g_test_skip("needs root and /dev/net/tun");
                return false;
        }
        if (!g_getenv("TUND") || !g_getenv("TUND_POLICY") || !g_getenv("DATAPLANE_FORWARD")) {
                g_test_skip("needs TUND, TUND_POLICY and DATAPLANE_FORWARD (set by meson test)");
                return false;
        }
        return true;
}

static void write_bus_config(const char *dir) {
        g_autofree char *conf = g_build_filename(dir, "bus.conf", NULL);
        g_autofree char *policy_dir = g_build_filename(dir, "policy", NULL);
        g_autofree char *policy = g_build_filename(policy_dir, "org.example.Tun1.conf", NULL);
        g_autofree char *text = NULL, *policy_text = NULL;

        text = g_strdup_printf(
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                "<busconfig>\n"
                "  <type>system</type>\n"
                "  <auth>EXTERNAL</auth>\n"
                "  <listen>unix:path=%s/bus.sock</listen>\n"
                "  <policy context=\"default\">\n"
                "    <allow user=\"*\"/>\n"
                "    <deny own=\"*\"/>\n"
                "    <deny send_type=\"method_call\"/>\n"
                "    <allow send_type=\"signal\"/>\n"
                "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
                "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
                "    <allow receive_type=\"method_call\"/>\n"
                "    <allow receive_type=\"method_return\"/>\n"
                "    <allow receive_type=\"error\"/>\n"
                "    <allow receive_type=\"signal\"/>\n"
                "    <allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus\"/>\n"
                "    <allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
                "    <allow send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus.Properties\"/>\n"
                "  </policy>\n"
                "  <includedir>%s</includedir>\n"
                "</busconfig>\n", dir, policy_dir);
        g_assert_true(g_file_set_contents(conf, text, -1, NULL));
        g_assert_cmpint(g_mkdir(policy_dir, 0755), ==, 0);
        g_assert_true(g_file_get_contents(g_getenv("TUND_POLICY"), &policy_text, NULL, NULL));
        g_assert_true(g_file_set_contents(policy, policy_text, -1, NULL));
}

static int bus_connect(const char *address, sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        (void) sd_bus_set_address(bus, address);
        (void) sd_bus_set_bus_client(bus, true);
        (void) sd_bus_negotiate_fds(bus, true);
        r = sd_bus_start(bus);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return 0;
}

static bool name_has_owner(sd_bus *bus) {
        sd_bus_message *reply = NULL;
        int has = 0;

        if (sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", NULL, &reply, "s", SERVICE) >= 0)
                (void) sd_bus_message_read(reply, "b", &has);
        sd_bus_message_unref(reply);
        return has;
}

static void service_start(Service *s) {
        g_autofree char *conf = NULL, *address = NULL, *state_arg = NULL;

        *s = (Service) { .bus_pid = -1, .tund_pid = -1 };
        s->dir = g_dir_make_tmp("tpfd-XXXXXX", NULL);
        g_assert_nonnull(s->dir);
        write_bus_config(s->dir);
        conf = g_strdup_printf("--config-file=%s/bus.conf", s->dir);
        address = g_strdup_printf("unix:path=%s/bus.sock", s->dir);
        state_arg = g_strdup_printf("--state-directory=%s/state", s->dir);

        /* --pdeathsig: they end with this test even when an assertion aborts it. */
        s->bus_pid = spawn_command("setpriv", "--pdeathsig", "TERM", "--", "dbus-daemon", conf,
                                   "--nofork", "--nopidfile", NULL);
        g_assert_cmpint(s->bus_pid, >, 0);
        for (unsigned i = 0; i < 200 && bus_connect(address, &s->bus) < 0; i++)
                g_usleep(25 * 1000);
        g_assert_nonnull(s->bus);

        g_setenv("DBUS_SYSTEM_BUS_ADDRESS", address, TRUE);
        s->tund_pid = spawn_command("setpriv", "--pdeathsig", "TERM", "--", g_getenv("TUND"), state_arg, NULL);
        g_assert_cmpint(s->tund_pid, >, 0);
        for (unsigned i = 0; i < 400 && !name_has_owner(s->bus); i++)
                g_usleep(25 * 1000);
        g_assert_true(name_has_owner(s->bus));
}

static void stop_pid(pid_t pid) {
        if (pid <= 0)
                return;
        kill(pid, SIGTERM);
        g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
}

static void remove_tree(const char *dir) {
        GDir *d = g_dir_open(dir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
                g_autofree char *path = g_build_filename(dir, name, NULL);
                if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK))
                        remove_tree(path);
                else
                        g_unlink(path);
        }
        if (d)
                g_dir_close(d);
        g_rmdir(dir);
}

/* Closing our connection removes the devices we created; then tund and the bus stop. */
static void service_stop(Service *s) {
        s->bus = sd_bus_flush_close_unref(s->bus);
        stop_pid(s->tund_pid);
        stop_pid(s->bus_pid);
        remove_tree(s->dir);
        g_free(s->dir);
}

static char *create_device(Service *s, const char *name) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *path;
        char *ret;
        int r;

        r = sd_bus_call_method(s->bus, SERVICE, "/org/example/Tun1", "org.example.Tun1.Manager",
                               "CreateDevice", &error, &reply, "sa{sv}", name, 0);
        if (r < 0)
                g_error("CreateDevice(%s): %s", name, error.message);
        g_assert_cmpint(sd_bus_message_read(reply, "o", &path), >, 0);
        ret = g_strdup(path);
        sd_bus_message_unref(reply);
        return ret;
}

/* Returns the fd, or -1 with *ret_error_name set (to be freed). */
static int open_packet_fd(Service *s, const char *path, const char *mode, char **ret_error_name) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int fd = -1, r;

        r = sd_bus_call_method(s->bus, SERVICE, path, DEVICE_IFACE, "OpenPacketFd", &error, &reply,
                               "a{sv}", 1, "Mode", "s", mode);
        if (r < 0) {
                *ret_error_name = g_strdup(error.name);
                sd_bus_error_free(&error);
                return -1;
        }
        g_assert_cmpint(sd_bus_message_read(reply, "h", &fd), >, 0);
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);     /* the message owns the one it read */
        sd_bus_message_unref(reply);
        return fd;
}

static uint32_t get_clients(Service *s, const char *path) {
        uint32_t n = 0;

        g_assert_cmpint(sd_bus_get_property_trivial(s->bus, SERVICE, path, DEVICE_IFACE, "Clients",
                                                    NULL, 'u', &n), >=, 0);
        return n;
}

static uint64_t get_statistic(Service *s, const char *path, const char *key) {
        sd_bus_message *reply = NULL;
        const char *k;
        uint64_t v, found = 0;

        g_assert_cmpint(sd_bus_get_property(s->bus, SERVICE, path, DEVICE_IFACE, "Statistics",
                                            NULL, &reply, "a{st}"), >=, 0);
        g_assert_cmpint(sd_bus_message_enter_container(reply, 'a', "{st}"), >, 0);
        while (sd_bus_message_read(reply, "{st}", &k, &v) > 0)
                if (strcmp(k, key) == 0)
                        found = v;
        sd_bus_message_unref(reply);
        return found;
}

/* A UDP datagram from namespace A to B, resent until it arrives. */
static void udp_through(void) {
        struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(6100) };
        int tx = socket_in_netns(ns_a, AF_INET, SOCK_DGRAM, 0);
        int rx = socket_in_netns(ns_b, AF_INET, SOCK_DGRAM, 0);
        struct timeval tv = { .tv_sec = 1 };
        char buf[64];
        bool ok = false;

        inet_pton(AF_INET, "10.81.0.2", &to.sin_addr);
        g_assert_cmpint(tx, >=, 0);
        g_assert_cmpint(rx, >=, 0);
        g_assert_cmpint(bind(rx, (struct sockaddr *) &to, sizeof(to)), ==, 0);
        setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        for (unsigned i = 0; i < 10 && !ok; i++) {
                g_assert_cmpint(sendto(tx, "tund", 4, 0, (struct sockaddr *) &to, sizeof(to)), ==, 4);
                ok = recv_retry(rx, buf, sizeof(buf), 0) == 4 && memcmp(buf, "tund", 4) == 0;
        }
        g_assert_true(ok);
        close(tx);
        close(rx);
}

static void test_open_packet_fd(void) {
        g_autofree char *path_a = NULL, *path_b = NULL, *error_name = NULL, *report = NULL;
        Service s;
        int fd_a, fd_b, out, status;
        pid_t fwd;

        if (!need_root())
                return;
        service_start(&s);
        path_a = create_device(&s, if_a);
        path_b = create_device(&s, if_b);
        g_assert_cmpint(netns_setup(ns_a, if_a, "10.81.0.1/24", NULL, 1500), ==, 0);
        g_assert_cmpint(netns_setup(ns_b, if_b, "10.81.0.2/24", NULL, 1500), ==, 0);

        g_assert_cmpint(open_packet_fd(&s, path_a, "ring", &error_name), ==, -1);
        g_assert_cmpstr(error_name, ==, "org.freedesktop.DBus.Error.InvalidArgs");

        fd_a = open_packet_fd(&s, path_a, "packet", &error_name);
        fd_b = open_packet_fd(&s, path_b, "packet", &error_name);
        g_assert_cmpint(fd_a, >=, 0);
        g_assert_cmpint(fd_b, >=, 0);
        g_assert_cmpuint(get_clients(&s, path_a), ==, 1);

        fwd = forwarder_start(g_getenv("DATAPLANE_FORWARD"), "packet", fd_a, fd_b, "--check", NULL, &out);
        g_assert_cmpint(fwd, >, 0);
        close(fd_a);
        close(fd_b);

        udp_through();
        /* The counters follow the packets, a moment later. */
        for (unsigned i = 0; i < 500 && get_statistic(&s, path_b, "tx_packets") == 0; i++)
                g_usleep(10 * 1000);
        g_assert_cmpuint(get_statistic(&s, path_a, "rx_packets"), >, 0);
        g_assert_cmpuint(get_statistic(&s, path_b, "tx_packets"), >, 0);

        /* Delete: the client's fd on A reads end-of-file, and the client ends. */
        g_assert_cmpint(sd_bus_call_method(s.bus, SERVICE, path_a, DEVICE_IFACE, "Delete", NULL, NULL, ""), >=, 0);
        report = g_malloc0(4096);
        for (size_t len = 0; len < 4095;) {
                ssize_t n = read(out, report + len, 4095 - len);
                if (n <= 0)
                        break;
                len += n;
        }
        close(out);
        g_assert_cmpint(waitpid(fwd, &status, 0), ==, fwd);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        g_test_message("forwarder: %s", report);
        g_assert_nonnull(strstr(report, " bad=0 "));

        service_stop(&s);
        netns_remove(ns_a);
        netns_remove(ns_b);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        ns_a = name_with_pid("tpfa");
        ns_b = name_with_pid("tpfb");
        if_a = name_with_pid("tpf0");
        if_b = name_with_pid("tpf1");
        netns_remove_stale("tpfa");
        netns_remove_stale("tpfb");
        signal(SIGPIPE, SIG_IGN);
        g_test_add_func("/dataplane/open-packet-fd", test_open_packet_fd);
        return g_test_run();
}
