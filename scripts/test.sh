#!/usr/bin/env bash
# `make test`: a throwaway PostgreSQL under var/test-pg, migrations, the C
# unit tests, then the Test::Nginx suites in t/.  The database is destroyed
# afterwards, whatever happens.
#
# The suites run PREFS_TEST_JOBS (2) at a time, each on random ports with a
# server root of its own; a suite marked "# prefs-test: exclusive" (it
# stops the shared database, locks a table, or needs its jobs run by its
# own helper) runs afterwards, alone.
#
# Then the example suite of docs/testing.md (examples/t/), the way a user
# of the module runs it: in the environment of a fixture of its own
# (prefsctl fixture create), with Test::Nginx::Prefs (tools/perl).
#
#   scripts/test.sh MODULE [UNIT_TEST...]
#   TESTS="t/020-status.t" make test     runs only those suites
#   TESTS="examples/t/" make test        only the example suite
#   PREFS_TEST_JOBS=1 make test          one suite at a time
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
module=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
pgdir="$top/var/test-pg"

cleanup() {
    "$top/scripts/pg.sh" destroy "$pgdir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$top/scripts/pg.sh" destroy "$pgdir" >/dev/null 2>&1 || true
"$top/scripts/pg.sh" start "$pgdir" --fast
db=$(cat "$pgdir/conninfo")
"$top/tools/prefsctl" --db "$db" migrate >/dev/null

key="$top/var/test-secret.key"
mkdir -p "$top/var"
(umask 077 && "$top/build/prefs-secret" keygen > "$key")

status=0
failed_unit=
# every prove run's output is kept too, so that the end of the output can
# repeat what failed (a CI log is often read from its tail)
log="$top/var/test-suites.log"
: > "$log"

# the OpenAPI lint of t/195-openapi.t (pinned in package-lock.json)
"$top/scripts/npm.sh" || echo "npm.sh failed: t/195-openapi.t will fail" >&2

if [ $# -gt 0 ]; then
    echo "== C unit tests"
    "$top/scripts/unit.sh" "$@" || { status=1; failed_unit=1; }
fi

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
export TEST_NGINX_LOAD_MODULES="$module"
export TEST_NGINX_PREFS_DATABASE="$db"
export TEST_NGINX_PREFS_PGDIR="$pgdir"
export TEST_NGINX_PREFS_TOP="$top"
export TEST_NGINX_PREFS_KEY="$key"
export PREFS_DATABASE="$db"
export PREFS_SECRET_KEY="$key"
# a random free port and t/servroot_<port> per suite, so that suites (and
# checkouts) run side by side; both runners support it the same way
export TEST_NGINX_RANDOMIZE=${TEST_NGINX_RANDOMIZE:-1}

inc=()
perl -MTest::Nginx::Socket -e1 2>/dev/null || inc=(-I "$top/t/lib")

if [ "${SANITIZE:-}" = 1 ]; then
    # the module is instrumented, nginx is not: nginx alone (not psql, not
    # perl) runs with the sanitizer runtimes preloaded, through a wrapper
    asan_dir="$top/var/asan"
    rm -rf "$asan_dir"; mkdir -p "$asan_dir"
    wrapper="$(dirname "$module")/nginx-sanitized"
    cat > "$wrapper" <<WRAP
#!/bin/sh
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \\
ASAN_OPTIONS="detect_leaks=0:log_path=$asan_dir/asan:abort_on_error=0" \\
UBSAN_OPTIONS="print_stacktrace=1:log_path=$asan_dir/ubsan" \\
exec "$TEST_NGINX_BINARY" "\$@"
WRAP
    chmod +x "$wrapper"
    export TEST_NGINX_BINARY="$wrapper"
fi

parallel=()
exclusive=()
examples=()
# shellcheck disable=SC2086
for t in ${TESTS:-t/ examples/t/}; do
    if [ -d "$t" ]; then
        files=("${t%/}"/*.t)
    else
        files=("$t")
    fi
    for f in "${files[@]}"; do
        if [[ $f == examples/* || $f == ./examples/* ]]; then
            examples+=("$f")
        elif grep -q '^# prefs-test: exclusive' "$f"; then
            exclusive+=("$f")
        else
            parallel+=("$f")
        fi
    done
done

echo "== Test::Nginx suites"
start=$(date +%s)
if [ ${#parallel[@]} -gt 0 ]; then
    # shellcheck disable=SC2086
    prove "${inc[@]}" -I "$top/t" -j "${PREFS_TEST_JOBS:-2}" ${PROVE_FLAGS:-} \
        "${parallel[@]}" 2>&1 | tee -a "$log" || status=1
fi
if [ ${#exclusive[@]} -gt 0 ]; then
    echo "== suites that run alone"
    # shellcheck disable=SC2086
    prove "${inc[@]}" -I "$top/t" ${PROVE_FLAGS:-} "${exclusive[@]}" 2>&1 | tee -a "$log" \
        || status=1
fi
if [ ${#examples[@]} -gt 0 ]; then
    # alone, like the exclusive ones: its Events check wants no transaction
    # of another suite running in the cluster
    echo "== the example suite (docs/testing.md), in a fixture of its own"
    fixture="$top/var/example-fixture"
    rm -rf "$fixture"
    if env_lines=$("$top/tools/prefsctl" --db "$db" fixture create --dir "$fixture" \
                       --module "$module"); then
        # shellcheck disable=SC2086
        (eval "$env_lines" && prove "${inc[@]}" -I "$top/tools/perl" ${PROVE_FLAGS:-} \
             "${examples[@]}") 2>&1 | tee -a "$log" || status=1
        "$top/tools/prefsctl" fixture drop "$fixture" >/dev/null || status=1
    else
        echo "prefsctl fixture create failed" >&2
        status=1
    fi
fi
echo "suites: $(($(date +%s) - start)) s"

if [ "${SANITIZE:-}" = 1 ]; then
    if compgen -G "$top/var/asan/*" >/dev/null; then
        echo "sanitizer reports:" >&2
        cat "$top"/var/asan/* >&2
        status=1
    else
        echo "sanitizers: no reports"
    fi
fi

if [ $status -ne 0 ]; then
    echo "== what failed (the whole output is above, the suites' also in $log)"
    [ -z "$failed_unit" ] || echo "the C unit tests"
    grep -A 6 '^#   Failed test' "$log" | head -n 80
    sed -n '/^Test Summary Report/,/^Files=/p' "$log"
fi

exit $status
