/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "persist.h"
#include "privileges.h"

/* What tund.service grants (CapabilityBoundingSet=, AmbientCapabilities=): TUNSETIFF and
 * rtnetlink, and the link events of other namespaces (NETLINK_LISTEN_ALL_NSID). */
#define KEPT_CAPS ((UINT64_C(1) << CAP_NET_ADMIN) | (UINT64_C(1) << CAP_NET_BROADCAST))
#define KEPT_CAPS_TEXT "CAP_NET_ADMIN CAP_NET_BROADCAST"

typedef struct User {
        const char *name;
        uid_t uid;
        gid_t gid;
} User;

typedef struct CapSets {
        uint64_t effective, permitted, inheritable;
} CapSets;

static bool user_missing_error(int r) {
        /* What getpwnam_r(3) may return for "no such user" besides 0 with no entry. */
        return r == ENOENT || r == ESRCH || r == EBADF || r == EPERM;
}

static int user_lookup(const char *name, User *ret) {
        long max = sysconf(_SC_GETPW_R_SIZE_MAX);
        size_t size = max > 0 ? (size_t) max : 4096;

        for (;;) {
                _cleanup_free_ char *buf = malloc(size);
                struct passwd pw, *found = NULL;
                int r;

                if (!buf)
                        return log_oom();
                r = getpwnam_r(name, &pw, buf, size, &found);
                if (r == ERANGE && size < 1024 * 1024) {
                        size *= 2;
                        continue;
                }
                if (r != 0 && !user_missing_error(r))
                        return log_error_errno(r, "Failed to look up user '%s': %m", name);
                if (!found)
                        return log_error_errno(ESRCH, "User '%s' does not exist; create it (systemd-sysusers creates 'tund' from tund.conf) or run with --keep-root.", name);
                if (found->pw_uid == 0)
                        return log_error_errno(EINVAL, "User '%s' is uid 0; to stay root, run with --keep-root.", name);
                *ret = (User) { .name = name, .uid = found->pw_uid, .gid = found->pw_gid };
                return 0;
        }
}

static int cap_last_cap(unsigned *ret) {
        _cleanup_(fclosep) FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
        unsigned last;

        if (!f)
                return log_error_errno(errno, "Failed to open /proc/sys/kernel/cap_last_cap: %m");
        if (fscanf(f, "%u", &last) != 1 || last > 63)
                return log_error_errno(EBADMSG, "Failed to read /proc/sys/kernel/cap_last_cap: %m");
        *ret = last;
        return 0;
}

static bool dot_or_dotdot(const char *name) {
        return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/* The records and the lock a tund that ran as root left there become the user's, so that
 * this tund can still lock, replace and remove them. */
static int state_dir_give(const char *dir, const User *u) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        r = records_dir_make(dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create the state directory %s: %m", dir);
        d = opendir(dir);
        if (!d)
                return log_error_errno(errno, "Failed to open the state directory %s: %m", dir);
        if (fchown(dirfd(d), u->uid, u->gid) < 0)
                return log_error_errno(errno, "Failed to give the state directory %s to user %s: %m", dir, u->name);

        while ((errno = 0, de = readdir(d)))
                if (!dot_or_dotdot(de->d_name) &&
                    fchownat(dirfd(d), de->d_name, u->uid, u->gid, AT_SYMLINK_NOFOLLOW) < 0 &&
                    errno != ENOENT)
                        return log_error_errno(errno, "Failed to give %s/%s to user %s: %m", dir, de->d_name, u->name);
        if (errno != 0)
                return log_error_errno(errno, "Failed to read the state directory %s: %m", dir);
        return 0;
}

static bool cap_kept(unsigned c) {
        return KEPT_CAPS & (UINT64_C(1) << c);
}

/* What no program tund might execute could gain back; needs CAP_SETPCAP, so while root. */
static int bounding_set_limit(unsigned last) {
        for (unsigned c = 0; c <= last; c++)
                if (!cap_kept(c) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
                        return log_error_errno(errno, "Failed to drop capability %u from the bounding set: %m", c);
        return 0;
}

/* With PR_SET_KEEPCAPS the permitted set outlives the change of uid; the effective set is
 * emptied by it and set again from the permitted one afterwards. */
static int identity_change(const User *u) {
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return log_error_errno(errno, "Failed to keep capabilities across the change of user: %m");
        if (setgroups(1, &u->gid) < 0)
                return log_error_errno(errno, "Failed to set the groups to %u alone: %m", (unsigned) u->gid);
        if (setresgid(u->gid, u->gid, u->gid) < 0)
                return log_error_errno(errno, "Failed to change to group %u: %m", (unsigned) u->gid);
        if (setresuid(u->uid, u->uid, u->uid) < 0)
                return log_error_errno(errno, "Failed to change to user %s (uid %u): %m", u->name, (unsigned) u->uid);
        return 0;
}

static int caps_get(CapSets *ret) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};

        if (syscall(SYS_capget, &h, d) < 0)
                return negative_errno();
        *ret = (CapSets) {};
        for (size_t i = 0; i < ELEMENTSOF(d); i++) {
                ret->effective |= (uint64_t) d[i].effective << (32 * i);
                ret->permitted |= (uint64_t) d[i].permitted << (32 * i);
                ret->inheritable |= (uint64_t) d[i].inheritable << (32 * i);
        }
        return 0;
}

static int caps_set(const CapSets *c) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};

        for (size_t i = 0; i < ELEMENTSOF(d); i++)
                d[i] = (struct __user_cap_data_struct) {
                        .effective = (uint32_t) (c->effective >> (32 * i)),
                        .permitted = (uint32_t) (c->permitted >> (32 * i)),
                        .inheritable = (uint32_t) (c->inheritable >> (32 * i)),
                };
        if (syscall(SYS_capset, &h, d) < 0)
                return negative_errno();
        return 0;
}

static int caps_settle(void) {
        /* Exactly what the unit's AmbientCapabilities= gives: the two in every set,
         * ambient (and so inheritable) too. */
        const CapSets kept = { .effective = KEPT_CAPS, .permitted = KEPT_CAPS, .inheritable = KEPT_CAPS };
        int r;

        r = caps_set(&kept);
        if (r < 0)
                return log_error_errno(r, "Failed to set the capabilities to " KEPT_CAPS_TEXT ": %m");
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return log_error_errno(errno, "Failed to clear the ambient capabilities: %m");
        for (unsigned c = 0; c < 64; c++)
                if (cap_kept(c) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
                        return log_error_errno(errno, "Failed to make capability %u ambient: %m", c);
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return log_error_errno(errno, "Failed to reset PR_SET_KEEPCAPS: %m");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return log_error_errno(errno, "Failed to set no_new_privs: %m");
        /* The change of uid made tund undumpable, which the unit's tund is not: no core
         * dumps, /proc/PID owned by root, and LeakSanitizer unable to stop its threads. Its
         * memory holds nothing of root's, and only tund itself runs as its user. */
        if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
                return log_error_errno(errno, "Failed to make the process dumpable again: %m");
        return 0;
}

static int ids_check(const User *u) {
        uid_t ruid, euid, suid;
        gid_t rgid, egid, sgid;

        if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0)
                return log_error_errno(errno, "Failed to read the user and group after dropping privileges: %m");
        if (ruid != u->uid || euid != u->uid || suid != u->uid ||
            rgid != u->gid || egid != u->gid || sgid != u->gid)
                return log_error_errno(EPERM, "After dropping privileges the uids are %u/%u/%u and gids %u/%u/%u, not user %s's %u and %u.",
                                       (unsigned) ruid, (unsigned) euid, (unsigned) suid,
                                       (unsigned) rgid, (unsigned) egid, (unsigned) sgid,
                                       u->name, (unsigned) u->uid, (unsigned) u->gid);
        return 0;
}

static int caps_check(unsigned last) {
        CapSets c;
        int r;

        r = caps_get(&c);
        if (r < 0)
                return log_error_errno(r, "Failed to read the capabilities after dropping privileges: %m");
        if (c.effective != KEPT_CAPS || c.permitted != KEPT_CAPS || c.inheritable != KEPT_CAPS)
                return log_error_errno(EPERM, "After dropping privileges the capabilities are effective %#" PRIx64 ", permitted %#" PRIx64 ", inheritable %#" PRIx64 ", not %#" PRIx64 " in each.",
                                       c.effective, c.permitted, c.inheritable, KEPT_CAPS);
        for (unsigned i = 0; i <= last; i++) {
                const char *where = cap_kept(i) ? "missing from" : "still in";

                if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) != cap_kept(i))
                        return log_error_errno(EPERM, "After dropping privileges capability %u is %s the bounding set.", i, where);
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0) != cap_kept(i))
                        return log_error_errno(EPERM, "After dropping privileges capability %u is %s the ambient set.", i, where);
        }
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
                return log_error_errno(EPERM, "After dropping privileges no_new_privs is not set.");
        return 0;
}

/* Before any thread starts: capset() and prctl() change the calling thread alone. */
int privileges_drop(const char *user, const char *state_dir) {
        unsigned last = 0;
        User u;
        int r;

        if (geteuid() != 0)
                return 0;

        r = user_lookup(user, &u);
        if (r < 0)
                return r;
        r = cap_last_cap(&last);
        if (r < 0)
                return r;
        r = state_dir_give(state_dir, &u);
        if (r < 0)
                return r;
        r = bounding_set_limit(last);
        if (r < 0)
                return r;
        r = identity_change(&u);
        if (r < 0)
                return r;
        r = caps_settle();
        if (r < 0)
                return r;
        r = ids_check(&u);
        if (r < 0)
                return r;
        r = caps_check(last);
        if (r < 0)
                return r;

        log_info("Dropped privileges to user %s (uid %u): " KEPT_CAPS_TEXT ".", u.name, (unsigned) u.uid);
        return 1;
}
