/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Runs a fuzz target's entry point over every file of the directories given, without
 * libFuzzer: the seed corpus and any input that once crashed a target (regressions/)
 * are replayed by meson test with every compiler and under the sanitizers. */

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
        FILE *f = fopen(path, "rb");
        if (!f)
                return -1;
        uint8_t *buf = malloc(1u << 20);
        size_t n = buf ? fread(buf, 1, 1u << 20, f) : 0;
        fclose(f);
        if (!buf)
                return -1;
        /* Exactly sized, so that reads past the input are caught under ASan. */
        uint8_t *input = malloc(n ? n : 1);
        if (!input) {
                free(buf);
                return -1;
        }
        memcpy(input, buf, n);
        free(buf);
        LLVMFuzzerTestOneInput(input, n);
        free(input);
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned count = 0;
        for (int i = 1; i < argc; i++) {
                DIR *d = opendir(argv[i]);
                if (!d)
                        continue;       /* e.g. no regressions yet */
                struct dirent *de;
                while ((de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        char path[4096];
                        snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
                        if (replay_file(path) < 0) {
                                fprintf(stderr, "cannot read %s\n", path);
                                closedir(d);
                                return 1;
                        }
                        count++;
                }
                closedir(d);
        }
        printf("replayed %u inputs\n", count);
        return count > 0 ? 0 : 1;
}
