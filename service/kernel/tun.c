/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "log.h"
#include "offload-names.h"
#include "tun-compat.h"
#include "tun.h"

#define TUN_FLAGS (IFF_TUN|IFF_NO_PI|IFF_VNET_HDR)

static int tun_raw_flags(bool vnet_header) {
        return IFF_TUN|IFF_NO_PI|IFF_MULTI_QUEUE|(vnet_header ? IFF_VNET_HDR : 0);
}

/* flags: the IFF_* of TUNSETIFF. nonblock: for tund's own fds; a queue handed to a client
 * is opened as a plain open() would give it. */
static int tun_open(const char *name, int flags, bool nonblock, int *ret_fd, char *ret_name) {
        _cleanup_close_ int fd = -EBADF;
        struct ifreq ifr = { .ifr_flags = (short) flags };
        int hdr_size = sizeof(struct virtio_net_hdr);

        if (strlen(name) >= IFNAMSIZ)
                return -EINVAL;
        strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);

        fd = open("/dev/net/tun", O_RDWR|O_CLOEXEC|(nonblock ? O_NONBLOCK : 0));
        if (fd < 0)
                return negative_errno();
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                return negative_errno();
        /* A persistent device keeps the header size an earlier user set. */
        if ((flags & IFF_VNET_HDR) && ioctl(fd, TUNSETVNETHDRSZ, &hdr_size) < 0)
                return negative_errno();

        if (ret_name) {
                memcpy(ret_name, ifr.ifr_name, IFNAMSIZ);
                ret_name[IFNAMSIZ - 1] = '\0';
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int tun_create(const char *name, int *ret_fd, char ret_name[static IFNAMSIZ]) {
        return tun_open(name, TUN_FLAGS|IFF_TUN_EXCL, true, ret_fd, ret_name);
}

int tun_detach_queue(int fd) {
        struct ifreq ifr = { .ifr_flags = IFF_DETACH_QUEUE };
        char name[IFNAMSIZ];
        unsigned flags;
        int r;

        /* An fd of the fd store was detached by the run that stored it. */
        r = tun_get_info(fd, name, &flags);
        if (r < 0)
                return r;
        if (flags & IFF_DETACH_QUEUE)
                return 0;
        if (ioctl(fd, TUNSETQUEUE, &ifr) < 0)
                return negative_errno();
        return 0;
}

/* A raw device's anchor queue: detached, so that it gets none of the device's packets. */
static int take_detached(int *fd, int *ret_fd) {
        int r = tun_detach_queue(*fd);

        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(*fd);
        return 0;
}

int tun_create_raw(const char *name, bool vnet_header, int *ret_fd, char ret_name[static IFNAMSIZ]) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = tun_open(name, tun_raw_flags(vnet_header)|IFF_TUN_EXCL, true, &fd, ret_name);
        if (r < 0)
                return r;
        return take_detached(&fd, ret_fd);
}

int tun_open_queue(const char *name, bool vnet_header, int *ret_fd) {
        return tun_open(name, tun_raw_flags(vnet_header), false, ret_fd, NULL);
}

/* TUNSETIFF creates a device when none has the name: such a one is not ours and goes away
 * again when fd is closed. */
static int tun_attach_flags(const char *name, int flags, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        char actual[IFNAMSIZ];
        unsigned got;
        int r;

        r = tun_open(name, flags, true, &fd, actual);
        if (r < 0)
                return r;
        r = tun_get_info(fd, actual, &got);
        if (r < 0)
                return r;
        if (!(got & IFF_PERSIST))
                return -ENODEV;

        *ret_fd = TAKE_FD(fd);
        return 0;
}

int tun_attach(const char *name, int *ret_fd) {
        return tun_attach_flags(name, TUN_FLAGS, ret_fd);
}

int tun_attach_raw(const char *name, bool vnet_header, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = tun_attach_flags(name, tun_raw_flags(vnet_header), &fd);
        if (r < 0)
                return r;
        return take_detached(&fd, ret_fd);
}

int tun_get_info(int fd, char ret_name[static IFNAMSIZ], unsigned *ret_flags) {
        struct ifreq ifr = {};

        if (ioctl(fd, TUNGETIFF, &ifr) < 0)
                return negative_errno();
        if (ret_name) {
                memcpy(ret_name, ifr.ifr_name, IFNAMSIZ);
                ret_name[IFNAMSIZ - 1] = '\0';
        }
        if (ret_flags)
                *ret_flags = (unsigned short) ifr.ifr_flags;
        return 0;
}

int tun_in_own_netns(int fd) {
        _cleanup_close_ int ns = -EBADF;
        struct stat dev_ns, own_ns;

        ns = ioctl(fd, TUNGETDEVNETNS);
        if (ns < 0)
                return negative_errno();
        if (fstat(ns, &dev_ns) < 0 || stat("/proc/self/ns/net", &own_ns) < 0)
                return negative_errno();
        return dev_ns.st_dev == own_ns.st_dev && dev_ns.st_ino == own_ns.st_ino;
}

unsigned tun_flags_from_offloads(unsigned offloads) {
        /* Debian 12's kernel headers predate the USO flags; the running kernel knows them. */
        static const struct {
                Offload offload;
                unsigned tun_flag;
        } flags[] = {
                { OFFLOAD_CSUM,    TUN_F_CSUM    },
                { OFFLOAD_TSO4,    TUN_F_TSO4    },
                { OFFLOAD_TSO6,    TUN_F_TSO6    },
                { OFFLOAD_TSO_ECN, TUN_F_TSO_ECN },
                { OFFLOAD_USO4,    TUN_F_USO4    },
                { OFFLOAD_USO6,    TUN_F_USO6    },
        };
        unsigned set = 0;

        for (size_t i = 0; i < ELEMENTSOF(flags); i++)
                if (offloads & flags[i].offload)
                        set |= flags[i].tun_flag;
        return set;
}

int tun_set_offloads(int fd, unsigned offloads) {
        if (ioctl(fd, TUNSETOFFLOAD, (unsigned long) tun_flags_from_offloads(offloads)) < 0)
                return negative_errno();
        return 0;
}

int tun_set_persist(int fd, bool persist) {
        if (ioctl(fd, TUNSETPERSIST, (unsigned long) persist) < 0)
                return negative_errno();
        return 0;
}

int tun_probe_offloads(unsigned *ret) {
        /* Each set adds one feature to ones already known to work; the kernel refuses a
         * set with a bit it lacks. */
        static const unsigned probes[] = {
                OFFLOAD_CSUM,
                OFFLOAD_CSUM|OFFLOAD_TSO4,
                OFFLOAD_CSUM|OFFLOAD_TSO6,
                OFFLOAD_CSUM|OFFLOAD_TSO4|OFFLOAD_TSO_ECN,
                OFFLOAD_CSUM|OFFLOAD_TSO6|OFFLOAD_TSO_ECN,
                OFFLOAD_CSUM|OFFLOAD_USO4|OFFLOAD_USO6,
        };
        _cleanup_close_ int fd = -EBADF;
        unsigned supported = 0;
        int r;

        r = tun_open("", TUN_FLAGS, true, &fd, NULL);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(probes); i++)
                if (tun_set_offloads(fd, probes[i]) >= 0)
                        supported |= probes[i];
                else
                        log_debug("The kernel refuses TUN offloads 0x%x.", tun_flags_from_offloads(probes[i]));

        *ret = supported;
        return 0;
}
