/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "offload-names.h"
#include "persist.h"

int record_new_id(char ret[static SD_ID128_STRING_MAX]) {
        sd_id128_t id;
        int r;

        r = sd_id128_randomize(&id);
        if (r < 0)
                return r;
        sd_id128_to_string(id, ret);
        return 0;
}

static bool record_id_valid(const char *id) {
        sd_id128_t parsed;

        return strlen(id) == SD_ID128_STRING_MAX - 1 && sd_id128_from_string(id, &parsed) >= 0;
}

int records_dir_make(const char *dir, mode_t mode) {
        _cleanup_free_ char *copy = strdup(dir);

        if (!copy)
                return -ENOMEM;
        for (char *p = copy + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        if (mkdir(copy, 0755) < 0 && errno != EEXIST)
                                return negative_errno();
                        *p = '/';
                }
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

int records_lock(const char *dir, int *ret_fd) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = records_dir_make(dir, 0755);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/lock", dir) < 0)
                return -ENOMEM;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int record_save(const char *dir, const DeviceRecord *rec) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        int r;

        r = records_dir_make(dir, 0755);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/%s", dir, rec->id) < 0 ||
            asprintf(&tmp, "%s/.#%s", dir, rec->id) < 0)
                return -ENOMEM;

        f = fopen(tmp, "we");
        if (!f)
                return negative_errno();
        fprintf(f, "NAME=%s\nIFINDEX=%i\nOWNER=%" PRIu32 "\nOFFLOADS=", rec->name, rec->ifindex, (uint32_t) rec->owner);
        FOREACH_OFFLOAD(o)
                if (rec->offloads & o)
                        fprintf(f, "%s ", offload_to_string(o));
        fputc('\n', f);
        /* Written only for raw devices, so that records of earlier versions read the same. */
        if (rec->raw)
                fprintf(f, "RAW=1\nVNET_HEADER=%i\n", rec->vnet_header);
        if (fflush(f) != 0 || ferror(f)) {
                r = negative_errno();
                unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0) {
                r = negative_errno();
                unlink(tmp);
                return r;
        }
        return 0;
}

int record_remove(const char *dir, const char *id) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", dir, id) < 0)
                return -ENOMEM;
        if (unlink(path) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

static unsigned parse_offloads(char *value) {
        unsigned set = 0;
        char *save = NULL;

        for (char *w = strtok_r(value, " ", &save); w; w = strtok_r(NULL, " ", &save))
                set |= offload_from_string(w);
        return set;
}

static int record_load(int dir_fd, const char *id, DeviceRecord *ret) {
        _cleanup_(fclosep) FILE *f = NULL;
        DeviceRecord rec = {};
        bool have_name = false, have_owner = false;
        char line[512];
        int fd;

        fd = openat(dir_fd, id, O_RDONLY|O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        f = fdopen(fd, "re");
        if (!f) {
                safe_close(fd);
                return negative_errno();
        }

        while (fgets(line, sizeof(line), f)) {
                char *value = strchr(line, '=');

                line[strcspn(line, "\n")] = '\0';
                if (!value)
                        continue;
                *value++ = '\0';

                if (strcmp(line, "NAME") == 0 && strlen(value) > 0 && strlen(value) < IFNAMSIZ) {
                        strcpy(rec.name, value);
                        have_name = true;
                } else if (strcmp(line, "OWNER") == 0) {
                        char *end;
                        unsigned long uid = strtoul(value, &end, 10);

                        if (*value && !*end && uid < UINT32_MAX) {
                                rec.owner = (uid_t) uid;
                                have_owner = true;
                        }
                } else if (strcmp(line, "IFINDEX") == 0) {
                        char *end;
                        long ifindex = strtol(value, &end, 10);

                        if (*value && !*end && ifindex > 0 && ifindex <= INT32_MAX)
                                rec.ifindex = (int) ifindex;
                } else if (strcmp(line, "OFFLOADS") == 0)
                        rec.offloads = parse_offloads(value);
                else if (strcmp(line, "RAW") == 0)
                        rec.raw = strcmp(value, "1") == 0;
                else if (strcmp(line, "VNET_HEADER") == 0)
                        rec.vnet_header = strcmp(value, "1") == 0;
        }
        if (rec.vnet_header && !rec.raw)
                return -EBADMSG;
        if (!have_name || !have_owner)
                return -EBADMSG;

        strcpy(rec.id, id);
        *ret = rec;
        return 0;
}

int records_load(const char *dir, DeviceRecord **ret, size_t *ret_n) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ DeviceRecord *recs = NULL;
        size_t n = 0;
        struct dirent *de;

        d = opendir(dir);
        if (!d) {
                if (errno != ENOENT)
                        return negative_errno();
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }

        while ((de = readdir(d))) {
                DeviceRecord *grown;
                int r;

                if (!record_id_valid(de->d_name))
                        continue;
                grown = realloc(recs, (n + 1) * sizeof(*recs));
                if (!grown)
                        return -ENOMEM;
                recs = grown;

                r = record_load(dirfd(d), de->d_name, &recs[n]);
                if (r < 0) {
                        log_warning_errno(r, "Ignoring unreadable device record %s/%s: %m", dir, de->d_name);
                        continue;
                }
                n++;
        }

        *ret = TAKE_PTR(recs);
        *ret_n = n;
        return 0;
}

bool fdstore_available(void) {
        return getenv("NOTIFY_SOCKET") != NULL;
}

int fdstore_push(const char *id, int fd) {
        _cleanup_free_ char *state = NULL;

        if (!fdstore_available())
                return 0;
        if (asprintf(&state, "FDSTORE=1\nFDNAME=%s", id) < 0)
                return -ENOMEM;
        return sd_pid_notify_with_fds(0, false, state, &fd, 1);
}

int fdstore_remove(const char *id) {
        if (!fdstore_available())
                return 0;
        return sd_notifyf(false, "FDSTOREREMOVE=1\nFDNAME=%s", id);
}
