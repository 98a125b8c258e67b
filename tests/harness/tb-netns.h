/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the data plane's tests and benchmark need around tund: network namespaces, TUN
 * devices opened as tund opens them, sockets in a namespace, and a forwarding client. Plain
 * C, no GLib. Name namespaces and devices with tb_ifname(): the harness's reaper removes
 * them when the process ends (tb_env_new() or tb_reap_at_exit() starts it), and those of a
 * process killed before its reaper ran when the next test starts. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Runs a command (NULL-terminated argv, searched in PATH), stdout and stderr discarded.
 * Returns its exit status, or -1 when it could not run. */
int run_command(const char *arg0, ...) __attribute__((sentinel));
/* The same, with its stdout returned in *ret_out (malloc'ed). */
int run_command_capture(char **ret_out, const char *arg0, ...) __attribute__((sentinel));
/* Starts a command in the background; returns its PID or -1. */
pid_t spawn_command(const char *arg0, ...) __attribute__((sentinel));

/* A TUN opened like tund opens it: IFF_TUN|IFF_NO_PI|IFF_VNET_HDR, every kernel offload
 * this kernel takes. Returns the fd or negative errno. */
int tun_open(const char *name);
/* A TUN with the given IFF_* flags, no offloads set. */
int tun_open_flags(const char *name, int flags);
int tun_set_offloads(int fd, unsigned tun_flags);
unsigned tun_all_offloads(void);

/* Creates namespace ns (deleting a stale one first), moves ifname into it, gives it the
 * addresses (CIDR, either may be NULL) and MTU, and brings it and lo up. */
int netns_setup(const char *ns, const char *ifname, const char *addr4, const char *addr6, unsigned mtu);
void netns_remove(const char *ns);

/* socket(2) in namespace ns. */
int socket_in_netns(const char *ns, int domain, int type, int protocol);

/* Starts tests/dataplane/dataplane-forward MODE a b [extra...], passing the two fds.
 * Its stdout goes to *ret_out (a pipe). Returns the PID or -1. */
pid_t forwarder_start(const char *path, const char *mode, int fd_a, int fd_b, const char *extra1,
                      const char *extra2, int *ret_out);

/* Number of open fds of this process. */
unsigned count_open_fds(void);

/* recv() and write() that carry on after EINTR. A socket with a timeout (SO_RCVTIMEO /
 * SO_SNDTIMEO) is not restarted by the kernel: it fails with EINTR when the process is
 * stopped or frozen and resumed, which the tests must not take for an error. write_all()
 * also finishes a partial write; it returns 0 or -errno. */
ssize_t recv_retry(int fd, void *buf, size_t len, int flags);
int write_all(int fd, const void *buf, size_t len);
