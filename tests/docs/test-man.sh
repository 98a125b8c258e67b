#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Renders every man page the build installs as man(1) would show it, with groff's warnings
# on, and fails on any warning or on a page that renders empty. Arguments: the built pages.
set -uo pipefail

if ! command -v man >/dev/null; then
        echo "1..0 # SKIP man (man-db) is not installed"
        exit 0
fi
if [[ $# -eq 0 ]]; then
        echo "Bail out! no man pages given"
        exit 1
fi

echo "1..$#"
n=0
failed=0
for page in "$@"; do
        n=$((n + 1))
        err=$(mktemp)
        out=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>"$err")
        status=$?
        name=$(basename "$page")
        if [[ $status -ne 0 || -s $err || -z $out ]]; then
                echo "not ok $n $name"
                echo "# man exited $status; what it said:"
                sed 's/^/#   /' "$err"
                [[ -z $out ]] && echo "#   (no output)"
                failed=1
        else
                echo "ok $n $name"
        fi
        rm -f "$err"
done
exit "$failed"
