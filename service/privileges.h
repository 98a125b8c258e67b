/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* tund started as root outside a service manager (by hand, or by a bus daemon's activation
 * where no systemd runs) drops to what tund.service grants it: its own user and group,
 * CAP_NET_ADMIN and CAP_NET_BROADCAST alone (bounding set included), no new privileges. */

#define PRIVILEGES_USER_DEFAULT "tund"

/* When the effective uid is 0: gives STATE_DIR (made 0700 if missing) and the files in it to
 * USER, then becomes USER with those two capabilities only, and checks that it did. Returns
 * 1 when it dropped, 0 when not root (nothing to do: systemd started tund as its user), or
 * a negative errno, logged. */
int privileges_drop(const char *user, const char *state_dir);
