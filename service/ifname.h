/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The device names CreateDevice takes. */

#include <stdbool.h>

/* "" (the kernel picks tun%d), a pattern with exactly one %d, or an exact interface name:
 * 1..15 bytes, no '/', ':' or white space, not "." or "..". Returns false with
 * *ret_reason saying what is wrong. */
bool ifname_valid(const char *name, const char **ret_reason);

/* A pattern for the kernel to complete ("" or with %d), as opposed to an exact name. */
bool ifname_is_pattern(const char *name);
