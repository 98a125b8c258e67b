/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Input: 2 bytes of MTU (big-endian), 1 byte of room (0: plenty; else that many KiB and
 * segments), then one TUN message (virtio_net_hdr + packet). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "offload.h"

#define ROOM_BYTES (4u << 20)
#define ROOM_SEGS 70000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static uint8_t *buf;
        static struct iovec *segs;

        if (size < 3)
                return 0;
        if (!buf) {
                buf = malloc(ROOM_BYTES);
                segs = malloc(ROOM_SEGS * sizeof(struct iovec));
                if (!buf || !segs)
                        abort();
        }

        uint32_t mtu = (uint32_t) (data[0] << 8 | data[1]);
        size_t room = data[2];
        SplitOutput out = {
                .buf = buf,
                .buf_size = room ? room * 1024 : ROOM_BYTES,
                .segs = segs,
                .max_segs = room ? room : ROOM_SEGS,
        };

        /* A copy of exactly the message's size, so any over-read is caught. */
        size_t len = size - 3;
        uint8_t *msg = malloc(len ? len : 1);
        if (!msg)
                abort();
        memcpy(msg, data + 3, len);

        int r = offload_split(msg, len, mtu, &out);
        if (r >= 0) {
                if ((size_t) r != out.n_segs || out.drop != OFFLOAD_DROP_NONE)
                        abort();
                const uint8_t *end = buf;
                for (size_t i = 0; i < out.n_segs; i++) {
                        const uint8_t *p = out.segs[i].iov_base;
                        if (p < buf || p + out.segs[i].iov_len > buf + out.buf_size || out.segs[i].iov_len > mtu)
                                abort();
                        end = p + out.segs[i].iov_len;
                }
                (void) end;
        } else if (r == -ENOBUFS) {
                if (out.needed_segs <= out.max_segs && out.needed_bytes <= out.buf_size)
                        abort();
        } else if (r != -EINVAL || out.drop == OFFLOAD_DROP_NONE || !offload_drop_to_string(out.drop))
                abort();

        free(msg);
        return 0;
}
