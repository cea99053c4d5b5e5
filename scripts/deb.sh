#!/usr/bin/env bash
# `make deb`: builds libnginx-mod-http-prefs_<version>_<arch>.deb from this
# tree with debhelper and dh_nginx (debian/), without network, and prints
# its path.  The version is debian/changelog's.
#
#   scripts/deb.sh [OUTDIR]        (default build/deb)
#
# The tree is copied to OUTDIR/ngx-prefs-<version>/ first (without build/,
# var/ and test server roots), because dpkg-buildpackage writes its results
# into the parent directory of the source; they end in OUTDIR.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

for tool in dpkg-buildpackage dpkg-parsechangelog dh dh_nginx; do
    command -v "$tool" >/dev/null 2>&1 \
        || { echo "deb: $tool is missing (make deps installs dpkg-dev, debhelper and nginx-dev)" >&2; exit 1; }
done

version=$(dpkg-parsechangelog -l debian/changelog -S Version)
arch=$(dpkg --print-architecture)
out=${1:-$top/build/deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/ngx-prefs-$version
deb=libnginx-mod-http-prefs_${version}_$arch.deb

rm -rf "$src"
rm -f "$out"/libnginx-mod-http-prefs*_"$arch".deb "$out"/ngx-prefs_*_"$arch".*
mkdir -p "$src"
tar -C "$top" --exclude-vcs --exclude=./build --exclude=./var \
    --exclude='./t/servroot*' --exclude=./bench/out --exclude=./fuzz/out \
    --exclude=./LEAD-NOTE-DO-NOT-COMMIT.md -cf - . | tar -C "$src" -xf -

# dpkg-checkbuilddeps (run by dpkg-buildpackage) names what is missing
(cd "$src" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1 || {
    tail -40 "$out/build.log" >&2
    echo "deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
    exit 1
}
[ -f "$out/$deb" ] || { echo "deb: dpkg-buildpackage made no $deb (see $out/build.log)" >&2; exit 1; }
rm -rf "$src"
echo "built $out/$deb"
