/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the kernel says about links, asked without tund. */

#include "harness-private.h"

#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tun-compat.h"

bool tb_link_exists(const char *ifname) {
        return if_nametoindex(ifname) > 0;
}

int tb_link_ifindex(const char *ifname) {
        return (int) if_nametoindex(ifname);
}

unsigned tb_link_mtu(const char *ifname) {
        const char *argv[] = { "ip", "-o", "link", "show", "dev", ifname, NULL };
        g_autofree char *out = NULL;
        if (tb_run(argv, &out, NULL) != 0)
                return 0;
        const char *p = strstr(out, " mtu ");
        g_assert_nonnull(p);
        return (unsigned) strtoul(p + strlen(" mtu "), NULL, 10);
}

GHashTable *tb_links(void) {
        GHashTable *links = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        g_autoptr(GDir) d = g_dir_open("/sys/class/net", 0, NULL);
        const char *name;
        g_assert_nonnull(d);
        while ((name = g_dir_read_name(d)))
                g_hash_table_add(links, g_strdup(name));
        return links;
}

static bool link_gone(void *data) {
        if (!tb_link_exists(data))
                return true;
        g_usleep(20 * 1000);
        return false;
}

bool tb_wait_link_gone(const char *ifname) {
        return tb_wait_until(link_gone, (void *) ifname);
}

/* ethtool's feature names for what TUNSETOFFLOAD turns on (drivers/net/tun.c). */
static const struct {
        const char *feature;
        const char *offloads[2];
} feature_offloads[] = {
        { "tx-checksum-ip-generic",  { "csum" } },
        { "tx-tcp-segmentation",     { "tso4" } },
        { "tx-tcp6-segmentation",    { "tso6" } },
        { "tx-tcp-ecn-segmentation", { "tso-ecn" } },
        { "tx-udp-segmentation",     { "uso4", "uso6" } },
};

GHashTable *tb_link_kernel_offloads(const char *ifname) {
        const char *argv[] = { "ethtool", "-k", ifname, NULL };
        g_autofree char *out = NULL, *err = NULL;
        if (tb_run(argv, &out, &err) != 0)
                g_error("ethtool -k %s failed: %s", ifname, err);

        GHashTable *set = g_hash_table_new(g_str_hash, g_str_equal);
        g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
        for (char **l = lines; *l; l++) {
                g_autofree char *line = g_strstrip(g_strdup(*l));
                for (size_t i = 0; i < G_N_ELEMENTS(feature_offloads); i++) {
                        g_autofree char *on = g_strconcat(feature_offloads[i].feature, ": on", NULL);
                        if (!g_str_has_prefix(line, on))
                                continue;
                        for (size_t j = 0; j < 2 && feature_offloads[i].offloads[j]; j++)
                                g_hash_table_add(set, (char *) feature_offloads[i].offloads[j]);
                }
        }
        return set;
}

GHashTable *tb_kernel_supported_offloads(void) {
        static const struct {
                unsigned flags;
                const char *names[2];
        } probes[] = {
                { TUN_F_CSUM,                              { "csum" } },
                { TUN_F_CSUM | TUN_F_TSO4,                 { "tso4" } },
                { TUN_F_CSUM | TUN_F_TSO6,                 { "tso6" } },
                { TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN, { "tso-ecn" } },
                { TUN_F_CSUM | TUN_F_USO4 | TUN_F_USO6,    { "uso4", "uso6" } },
        };
        GHashTable *set = g_hash_table_new(g_str_hash, g_str_equal);
        g_hash_table_add(set, "gro-tcp");
        g_hash_table_add(set, "gro-udp");

        int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        g_assert_cmpint(fd, >=, 0);
        struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR };
        g_autofree char *name = tb_ifname("probe");
        g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
        g_assert_no_errno(ioctl(fd, TUNSETIFF, &ifr));
        for (size_t i = 0; i < G_N_ELEMENTS(probes); i++)
                if (ioctl(fd, TUNSETOFFLOAD, (unsigned long) probes[i].flags) == 0)
                        for (size_t j = 0; j < 2 && probes[i].names[j]; j++)
                                g_hash_table_add(set, (char *) probes[i].names[j]);
        close(fd);      /* not persistent: the link goes with the fd */
        return set;
}
