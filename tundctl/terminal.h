/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the terminal allows: colour, cursor moves, a pager. */

#include <stdbool.h>

#define ANSI_BOLD       "\x1b[1m"
#define ANSI_GREEN      "\x1b[32m"
#define ANSI_RED        "\x1b[31m"
#define ANSI_NORMAL     "\x1b[0m"

bool stdout_is_tty(void);
/* Colour on stdout: a terminal, and neither NO_COLOR nor TERM=dumb. */
bool colors_enabled(void);
static inline const char *ansi(const char *code) {
        return colors_enabled() ? code : "";
}
/* Cursor moves: a terminal that is not TERM=dumb. */
bool cursor_moves_enabled(void);

/* Sends stdout through $TUNDCTL_PAGER, $PAGER or less -FRSXMK while on a terminal. */
void pager_open(void);
/* Waits for the pager to end. */
void pager_close(void);
