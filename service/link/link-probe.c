/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>

#include "link-probe.h"
#include "macro.h"
#include "tun.h"

static int interface_ioctl(int ioctl_fd, unsigned long request, const char *name, struct ifreq *ifr) {
        *ifr = (struct ifreq) {};
        memcpy(ifr->ifr_name, name, strnlen(name, IFNAMSIZ - 1));
        if (ioctl(ioctl_fd, request, ifr) < 0)
                /* ENODEV: the name we asked by is no longer this device's. */
                return errno == ENODEV ? -EAGAIN : negative_errno();
        return 0;
}

int link_probe_read(int tun_fd, int ioctl_fd, LinkState *ret, bool *ret_admin_up) {
        char name[IFNAMSIZ], after[IFNAMSIZ];
        struct ifreq ifr;
        LinkState s = {};
        bool admin_up;
        int r;

        r = tun_get_info(tun_fd, name, NULL);
        if (r < 0)
                return r;

        r = interface_ioctl(ioctl_fd, SIOCGIFINDEX, name, &ifr);
        if (r < 0)
                return r;
        s.ifindex = ifr.ifr_ifindex;

        r = interface_ioctl(ioctl_fd, SIOCGIFFLAGS, name, &ifr);
        if (r < 0)
                return r;
        s.up = (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
        admin_up = ifr.ifr_flags & IFF_UP;

        r = interface_ioctl(ioctl_fd, SIOCGIFMTU, name, &ifr);
        if (r < 0)
                return r;
        s.mtu = (uint32_t) ifr.ifr_mtu;

        /* The answers were about the name read first; they are this device's only if it
         * still has that name (another device may have taken it after a rename). */
        r = tun_get_info(tun_fd, after, NULL);
        if (r < 0)
                return r;
        if (strcmp(name, after) != 0)
                return -EAGAIN;

        memcpy(s.name, name, IFNAMSIZ);
        *ret = s;
        *ret_admin_up = admin_up;
        return 0;
}
