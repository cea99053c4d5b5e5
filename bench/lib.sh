# bench/lib.sh: what every benchmark sets up the same way, sourced by
# bench/*.sh after `set -euo pipefail` and `cd "$top"`.  A script sets $out,
# $pgdir, $prefix and $key first (each its own, so that benchmarks do not
# share a database or an nginx), then calls what it needs of these:
#
#   bench_need CMD [HINT]       exit with a message when CMD is missing
#   bench_build                 make; $prefix/logs; nginx loads a copy of the
#                               module (a rebuild during the run must not
#                               replace the code under the workers' feet);
#                               $rev names what is measured
#   bench_database [durable]    a fresh PostgreSQL under $pgdir, migrated;
#                               $db, PREFS_DATABASE, PREFS_SECRET_KEY;
#                               fsync off unless "durable" (the soak test:
#                               what was acknowledged must survive a restart)
#   bench_account ID GROUP [USER]
#                               an account with the demo configuration and
#                               a user of GROUP; $secret is its secret
#   bench_profiles N            N profiles of the account "bench"
#                               (bench/profiles.sql), VACUUM ANALYZE, then
#                               their rendered copies, one statement for
#                               each of $BENCH_JOBS (2) slices at once
#   bench_read_lua CLIENT FILE  a wrk script to FILE: GET Profile/{id} of
#                               CLIENT, ids at random in [lo, hi]; wrk's
#                               arguments after --: AUTH LO HI HOST
#   bench_nginx_head [WORKERS [CONNECTIONS]]
#                               the main context of a benchmark's nginx.conf
#                               (module, workers, error log, pid, events;
#                               "user root" when run as root), for the
#                               script's heredoc before its http block
#   bench_stop_nginx            stop the nginx of $prefix, waiting up to 5 s;
#                               fails when it is still running
#   bench_cleanup               bench_stop_nginx, then its prefix (when it
#                               stopped), the database and the key go (the
#                               scripts' EXIT traps call it)

bench_need() {
    command -v "$1" >/dev/null || {
        echo "bench: $1 is missing${2:+ ($2)}" >&2
        exit 1
    }
}

bench_build() {
    make -s all >/dev/null
    mkdir -p "$out" "$prefix/logs"
    cp build/ngx_http_prefs_module.so "$prefix/ngx_http_prefs_module.so"
    rev="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src sql 2>/dev/null || echo ' + uncommitted changes in src/ or sql/')"
}

bench_database() {
    scripts/pg.sh destroy "$pgdir" >/dev/null 2>&1 || true
    scripts/pg.sh start "$pgdir" $( [ "${1:-}" = durable ] || echo --fast ) >/dev/null 2>&1
    db=$(cat "$pgdir/conninfo")
    export PREFS_DATABASE="$db"
    (umask 077 && build/prefs-secret keygen > "$key")
    export PREFS_SECRET_KEY="$key"
    tools/prefsctl migrate >/dev/null
}

bench_account() {
    tools/prefsctl account create "$1" --name Bench >/dev/null
    secret=$(tools/prefsctl user create "$1" "${3:-api}" --group "$2" \
             | sed -n 's/.*"Secret" *: *"\([^"]*\)".*/\1/p')
    tools/prefsctl config import "$1" conf/demo-config.json >/dev/null
}

bench_profiles() {
    local jobs=${BENCH_JOBS:-2} k pids=()
    psql -X -q -d "$db" -v ON_ERROR_STOP=1 -v n="$1" -f bench/profiles.sql
    psql -X -q -d "$db" -v ON_ERROR_STOP=1 -c 'VACUUM ANALYZE' >/dev/null
    # the copies as the write functions store them (prefs_profile_doc_fill
    # renders the same, but a statement a profile: twice the time)
    for ((k = 0; k < jobs; k++)); do
        psql -X -q -d "$db" -v ON_ERROR_STOP=1 -c "INSERT INTO prefs_profile_doc
            (profile_id, src_xmin, doc)
            SELECT x.profile_id, x.xmin, prefs_data_profile_json(x, false)::text
              FROM prefs_profile x JOIN prefs_account a USING (account_id)
             WHERE a.client_id = 'bench' AND x.profile_id % $jobs = $k" &
        pids+=($!)
    done
    for k in "${pids[@]}"; do wait "$k"; done
}

bench_read_lua() {
    # (Host set explicitly: wrk.format called from a script lacks it)
    cat > "$2" <<LUA
local n = 0
function setup(thread) n = n + 1; thread:set("tid", n) end
function init(args)
    auth, lo, hi, host = args[1], tonumber(args[2]), tonumber(args[3]), args[4]
    math.randomseed(os.time() * 100 + tid)
end
function request()
    return wrk.format("GET", "/Profiles/v4/$1/Profile/" .. math.random(lo, hi),
                      { ["Host"] = host, ["Authorization"] = auth })
end
LUA
}

bench_nginx_head() {
    printf '%s\n' "load_module $prefix/ngx_http_prefs_module.so;" \
        "worker_processes ${1:-2};" "error_log logs/error.log warn;" \
        "pid logs/nginx.pid;"
    [ "$(id -u)" != 0 ] || echo "user root;"
    echo "events { worker_connections ${2:-4096}; }"
}

bench_stop_nginx() {
    local pid=''
    if [ -f "$prefix/logs/nginx.pid" ]; then
        pid=$(cat "$prefix/logs/nginx.pid" 2>/dev/null || true)
    fi
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        # the master exits after its workers and helper
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    ! { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
}

bench_cleanup() {
    # bench/out/ stays; the nginx prefix goes once nginx is gone
    if bench_stop_nginx; then
        rm -rf -- "$prefix"
    else
        echo "bench: nginx of $prefix did not stop: left in place" >&2
    fi
    scripts/pg.sh destroy "$pgdir" >/dev/null 2>&1 || true
    rm -f -- "$key"
}
