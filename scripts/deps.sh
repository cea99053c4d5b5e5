#!/usr/bin/env bash
# Install the Debian packages ngx_prefs needs to build, test and benchmark.
#
# Usage: scripts/deps.sh [--check] [--dry-run] [EXTRA_PACKAGE...]
#
#   (no option)  install whatever is missing (apt-get, with sudo when not root)
#   --check      only report: list missing packages on stderr, exit 1 if any
#   --dry-run    print the apt-get commands instead of running them
#
# Fast and silent when everything is already installed (a single dpkg-query).
#
# Note: the Debian "postgresql" package creates and may auto-start a system
# cluster (port 5432, socket in /var/run/postgresql).  ngx_prefs never uses
# it: scripts/pg.sh runs private clusters with their own socket directory.
set -euo pipefail

PACKAGES=(
    build-essential
    perl
    nginx
    nginx-dev
    libjansson-dev
    libpq-dev
    libssl-dev
    postgresql
    postgresql-contrib
    libtest-base-perl
    libtest-longstring-perl
    libtext-diff-perl
    liblist-moreutils-perl
    libwww-perl
    wrk
    curl
    prometheus
    python3-prometheus-client
    # make deb (and t/210-package.t): dpkg-buildpackage, debhelper; nginx-dev
    # above brings dh_nginx
    dpkg-dev
    debhelper
    python3
    libyaml-libyaml-perl
    libjson-validator-perl
    nodejs
)
# npm comes with some builds of nodejs (NodeSource's); Debian's is apart
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

# Wanted, not needed: the browser suite (t/222-preference-center.t) drives
# Debian's chromium and is skipped, saying so, where it cannot be installed.
OPTIONAL=(chromium)

check_only=0
dry_run=0
while [ $# -gt 0 ]; do
    case $1 in
        --check) check_only=1 ;;
        --dry-run) dry_run=1 ;;
        -h|--help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
        --) shift; PACKAGES+=("$@"); break ;;
        -*) echo "deps.sh: unknown option '$1'" >&2; exit 2 ;;
        *) PACKAGES+=("$1") ;;
    esac
    shift
done

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "deps.sh: this script needs a Debian-like system (dpkg-query, apt-get)" >&2
    exit 1
fi

# One dpkg-query for all packages; unknown ones are reported on stderr by
# dpkg-query and simply do not appear as installed.
declare -A installed=()
while IFS=' ' read -r pkg status; do
    [ "$status" = "install ok installed" ] && installed[$pkg]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" "${OPTIONAL[@]}" 2>/dev/null || true)

missing=()
for pkg in "${PACKAGES[@]}"; do
    [ -n "${installed[$pkg]:-}" ] || missing+=("$pkg")
done
missing_optional=()
for pkg in "${OPTIONAL[@]}"; do
    [ -n "${installed[$pkg]:-}" ] || missing_optional+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ] && [ ${#missing_optional[@]} -eq 0 ]; then
    [ $check_only -eq 1 ] && echo "deps.sh: all ${#PACKAGES[@]} packages present" >&2
    exit 0
fi

[ ${#missing[@]} -eq 0 ] || echo "deps.sh: missing: ${missing[*]}" >&2
[ ${#missing_optional[@]} -eq 0 ] || echo "deps.sh: missing (optional): ${missing_optional[*]}" >&2
if [ $check_only -eq 1 ]; then
    [ ${#missing[@]} -eq 0 ] && exit 0
    exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "deps.sh: not root and sudo is not installed; as root run:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi

run() {
    if [ $dry_run -eq 1 ]; then
        echo "$*"
    else
        "$@"
    fi
}

export DEBIAN_FRONTEND=noninteractive
# sudo resets the environment; pass DEBIAN_FRONTEND explicitly through env.
run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
if [ ${#missing[@]} -gt 0 ]; then
    run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
    [ $dry_run -eq 1 ] || echo "deps.sh: installed: ${missing[*]}" >&2
fi
if [ ${#missing_optional[@]} -gt 0 ]; then
    if run "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -q --no-install-recommends "${missing_optional[@]}"; then
        [ $dry_run -eq 1 ] || echo "deps.sh: installed: ${missing_optional[*]}" >&2
    else
        echo "deps.sh: could not install ${missing_optional[*]}: the suites that need them are skipped" >&2
    fi
fi
