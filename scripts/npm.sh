#!/usr/bin/env bash
# Installs the npm packages that package-lock.json pins (the OpenAPI lint,
# @redocly/cli; playwright-core for t/browser/, which drives the system's
# chromium and downloads no browser) into node_modules/, with the machine's node and npm
# (scripts/deps.sh installs them).  `make test` runs it; it does nothing when
# node_modules/ already holds what package-lock.json says.
#
#   scripts/npm.sh
#
# Without the npm registry it fails within NPM_TIMEOUT seconds (default
# 300), saying so; it never waits forever.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
stamp=node_modules/.prefs-lock.sum

command -v npm >/dev/null 2>&1 || { echo "npm.sh: npm is missing (scripts/deps.sh installs it)" >&2; exit 1; }
sum=$(cksum < package-lock.json)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && [ -x node_modules/.bin/redocly ] \
        && [ -f node_modules/playwright-core/package.json ]; then
    exit 0
fi

echo "npm.sh: installing the packages of package-lock.json" >&2
mkdir -p "$top/var"
# npm ci: exactly the lock file; no install scripts are needed
if ! timeout "${NPM_TIMEOUT:-300}" npm ci --no-audit --no-fund --ignore-scripts \
        --fetch-retries=2 --fetch-timeout=30000 >"$top/var/npm.log" 2>&1; then
    echo "npm.sh: 'npm ci' failed or timed out (is the npm registry reachable?); its output:" >&2
    tail -20 "$top/var/npm.log" >&2
    exit 1
fi
echo "$sum" > "$stamp"
echo "npm.sh: installed ($(node_modules/.bin/redocly --version 2>/dev/null | tail -1))" >&2
