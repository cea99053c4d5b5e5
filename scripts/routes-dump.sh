#!/usr/bin/env bash
# Prints the router's route table (one line per route and API, see
# t/routes/routes_dump.c), for t/195-openapi.t.
#
#   scripts/routes-dump.sh BUILD_DIR      (build or build/asan: the nginx
#                                          tree that scripts/build.sh configured)
#
# ngx_prefs_routes.c (the table) and ngx_prefs_router.c (the method names)
# are compiled as the module compiles them, their undefined symbols (the
# handlers, nginx's functions) are made weak, and they are linked with the
# printer: the table is read from the code itself, not from its text.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
tree="$build/nginx"
out="$build/routes"

[ -f "$tree/objs/Makefile" ] || { echo "routes-dump: no configured nginx tree in $tree (make first)" >&2; exit 1; }
mkdir -p "$out"
src="$top/src/http/api/ngx_prefs_routes.c"
router="$top/src/http/ngx_prefs_router.c"
if [ ! -x "$out/routes-dump" ] || [ "$src" -nt "$out/routes-dump" ] \
   || [ "$router" -nt "$out/routes-dump" ] \
   || [ "$top/t/routes/routes_dump.c" -nt "$out/routes-dump" ] \
   || [ -n "$(find "$top/src" -name '*.h' -newer "$out/routes-dump" -print -quit)" ]; then
    # the include path of the module's own build, from its Makefile
    incs=$(make -s -C "$tree" -f objs/Makefile --no-print-directory \
           --eval 'prefs-print-incs: ; @echo $(ALL_INCS)' prefs-print-incs)
    flags=(-std=gnu99 -O1 -fPIC -Wall -Wextra -Werror -Wno-unused-parameter)
    # shellcheck disable=SC2086
    (cd "$tree" && cc "${flags[@]}" $incs -c "$src" -o "$out/routes.o" \
        && cc "${flags[@]}" $incs -c "$router" -o "$out/router.o" \
        && cc "${flags[@]}" $incs -c "$top/t/routes/routes_dump.c" -o "$out/dump.o")
    objcopy --weaken "$out/routes.o" "$out/routes-weak.o"
    objcopy --weaken "$out/router.o" "$out/router-weak.o"
    cc -o "$out/routes-dump" "$out/dump.o" "$out/routes-weak.o" "$out/router-weak.o"
fi
exec "$out/routes-dump"
