#!/usr/bin/env bash
# Builds ngx_http_prefs_module.so against the nginx that Debian installs:
# the nginx-dev source tree, configured with the flags Debian's nginx was
# configured with (--with-compat), so the module loads with load_module.
#
#   scripts/build.sh OUTDIR [sanitize]
#
# NGINX_SRC overrides the tree (an upstream nginx source tree works too).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: build.sh OUTDIR [sanitize]}
mode=${2:-}
src=${NGINX_SRC:-/usr/share/nginx/src}

[ -d "$src/auto" ] || { echo "build: no nginx source tree at $src (install nginx-dev)" >&2; exit 1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
tree="$out/nginx"

ccopt="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC -D_FORTIFY_SOURCE=2"
ccopt="$ccopt -Wall -Wextra -Werror -Wno-unused-parameter"
ldopt="-Wl,-z,relro -Wl,-z,now -fPIC"
if [ "$mode" = sanitize ]; then
    ccopt="${ccopt/-O2/-O1} -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
    ccopt="${ccopt/-D_FORTIFY_SOURCE=2/}"
    ldopt="$ldopt -fsanitize=address,undefined"
fi

# Configure once per set of flags; make then rebuilds only what changed.
stamp="$tree/.prefs-configured"
want="$ccopt|$ldopt|$top|$src|$(cksum < "$top/config")"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    rm -rf "$tree"
    cp -a "$src" "$tree"
    flags=()
    if [ -f "$src/conf_flags" ]; then
        # shellcheck disable=SC1091
        . "$src/conf_flags"
        flags=("${NGX_CONF_FLAGS[@]}")
    else
        flags=(--with-compat --with-http_ssl_module --with-threads)
    fi
    (cd "$tree" && ./configure "${flags[@]}" \
        --with-cc-opt="$ccopt" --with-ld-opt="$ldopt" \
        --add-dynamic-module="$top" >"$out/configure.log" 2>&1) \
        || { tail -30 "$out/configure.log" >&2; exit 1; }
    echo "$want" > "$stamp"
fi

make -s -C "$tree" -f objs/Makefile modules >"$out/make.log" 2>&1 \
    || { grep -E 'error|warning' "$out/make.log" | head -40 >&2; tail -5 "$out/make.log" >&2; exit 1; }
cp "$tree/objs/ngx_http_prefs_module.so" "$out/ngx_http_prefs_module.so"
echo "built $out/ngx_http_prefs_module.so"
