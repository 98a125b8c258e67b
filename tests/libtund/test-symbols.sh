#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# libtund exports exactly the functions <tund.h> declares, each at version LIBTUND_1, and
# nothing else (libtund.sym). Arguments: tund.h, the built libtund.so.
set -uo pipefail

header=$1
library=$2
echo "1..1"
# Declarations: "type tund_name(" at the start of a line; static inline helpers are not
# symbols.
declared=$(grep -E '^[a-z].*[ *]tund_[a-z_]+\(' "$header" | grep -v '^static' |
           grep -oE 'tund_[a-z_]+\(' | tr -d '(' | sort -u)
exported=$(nm -D --defined-only "$library" | awk '$2 == "T" { print $3 }' | sort -u)
expected=$(sed 's/$/@@LIBTUND_1/' <<<"$declared")
if [[ "$exported" == "$expected" ]]; then
        echo "ok 1 exported symbols are <tund.h>'s"
        exit 0
fi
echo "not ok 1 exported symbols are <tund.h>'s"
diff <(echo "$expected") <(echo "$exported") | sed 's/^/# /'
exit 1
