#!/usr/bin/env bash
# Checks the layer rule of src/: every #include points down or sideways
# within a directory, never up, and no two files include each other's
# headers (a circle):
#
#   src/ngx_http_prefs_module.c   the top: directives, conf, init/exit
#   src/http/api/                 one file per API
#   src/http/  src/helper/        the worker's HTTP side; the helper process
#   src/core/                     conf, shared zone, libpq pool, statements
#   src/lib/                      pure C, no nginx headers
#
# http and helper are side by side: neither includes the other.
#
#   scripts/check-layers.sh [SRC_DIR]
set -euo pipefail

src=${1:-$(cd "$(dirname "$0")/../src" && pwd)}
cd "$src"

rank() {
    case $1 in
        lib/*)      echo 0 ;;
        core/*)     echo 1 ;;
        http/api/*) echo 3 ;;
        http/*)     echo 2 ;;
        helper/*)   echo 2 ;;
        *)          echo 4 ;;
    esac
}

side() {
    case $1 in
        http/*)   echo http ;;
        helper/*) echo helper ;;
        *)        echo - ;;
    esac
}

declare -A where
while read -r f; do
    where[$(basename "$f")]=$f
done < <(find . -name '*.h' | sed 's|^\./||')

status=0
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT

while read -r f; do
    if [[ $f == lib/* ]] && grep -qE '^#include <ngx_' "$f"; then
        echo "check-layers: $f: src/lib is pure C: no nginx headers" >&2
        status=1
    fi

    from=${f%.[ch]}

    while read -r h; do
        to=${where[$h]:-}
        [ -n "$to" ] || continue

        if [ "$(rank "$to")" -gt "$(rank "$f")" ]; then
            echo "check-layers: $f includes $to, a higher layer" >&2
            status=1
        elif [ "$(rank "$to")" -eq "$(rank "$f")" ] \
             && [ "$(side "$to")" != "$(side "$f")" ]
        then
            echo "check-layers: $f includes $to: http and helper are" \
                 "side by side" >&2
            status=1
        fi

        [ "${to%.h}" = "$from" ] || echo "$from ${to%.h}" >> "$edges"
    done < <(sed -n 's/^#include "\(.*\)"/\1/p' "$f")
done < <(find . -name '*.[ch]' | sed 's|^\./||' | sort)

if ! tsort "$edges" > /dev/null 2> "$edges.err"; then
    echo "check-layers: files include each other:" >&2
    grep -v 'input contains a loop' "$edges.err" | sed 's/^tsort: //' \
        | sort -u | head -20 | sed 's/^/  /' >&2
    status=1
fi
rm -f "$edges.err"

[ $status -eq 0 ] && echo "check-layers: $(find . -name '*.[ch]' | wc -l) files, no include points up, no circle"
exit $status
