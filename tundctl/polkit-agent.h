/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A text polkit agent (pkttyagent) for the calls that may ask for a password, as systemctl
 * runs one: only for a caller other than root whose stdin is a terminal. */

/* Starts pkttyagent and waits until it is registered (it closes its notify fd then).
 * Returns 1 when it runs, 0 when none is needed, or a negative errno. */
int polkit_agent_open(void);
/* Stops it, if it runs. */
void polkit_agent_close(void);
