/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* CPU nanoseconds the kernel spends to send and receive one seqpacket message of size
 * bytes (sender and receiver together, batches of 64), measured for about seconds; a
 * negative errno on failure. */
double seqpacket_cpu_per_message(size_t size, double seconds);
