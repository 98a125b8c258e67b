/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <net/if.h>
#include <string.h>

#include "ifname.h"
#include "macro.h"

bool ifname_is_pattern(const char *name) {
        return name[0] == '\0' || strchr(name, '%');
}

bool ifname_valid(const char *name, const char **ret_reason) {
        const char *percent;

        if (name[0] == '\0')
                return true;
        if (strlen(name) >= IFNAMSIZ)
                return fail_because(ret_reason, "interface names are at most 15 bytes long");
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return fail_because(ret_reason, "\".\" and \"..\" are not interface names");

        for (const char *p = name; *p; p++) {
                if (*p == '/' || *p == ':')
                        return fail_because(ret_reason, "interface names may not contain '/' or ':'");
                /* The kernel's own test (isspace() in the C locale). */
                if (strchr(" \t\n\v\f\r", *p))
                        return fail_because(ret_reason, "interface names may not contain white space");
        }

        percent = strchr(name, '%');
        if (percent && (percent[1] != 'd' || strchr(percent + 2, '%')))
                return fail_because(ret_reason, "a name pattern holds exactly one '%d' and no other '%'");
        return true;
}
