#!/usr/bin/env bash
# bench/export.sh: a full segment export of N profiles (bench/profiles.sql,
# the profiles of bench/profile.sh) through the API, in the same run as
# COPY of the same profiles' stored copies; then an incremental export
# after 1% of the profiles changed.
#
#   PROFILES=N bench/export.sh        (default 1,000,000)
#   KEEP=1 PROFILES=N bench/export.sh
#
# KEEP=1 keeps the loaded database (var/bench-export-pg-N, its key and the
# bench user's secret beside it) stopped after the run, and a later KEEP=1
# run of the same N starts it, migrates it (the functions of the tree being
# measured), renders again the copies the last run's incremental step made
# stale, and skips the load (26 minutes at 1,000,000 on a loaded machine).
# `scripts/pg.sh destroy var/bench-export-pg-N` and removing its .key,
# .secret and .loaded files drops it.
#
# Prints and writes to bench/out/export.txt: the snapshot (the helper's job)
# time; the NDJSON download and the JSON pages (1,000 a request, over one
# connection; and the first 20 pages with a curl and tools/pnauth each, as
# this script read them before) in profiles/s and MB/s against
# COPY (SELECT doc ...) TO STDOUT; the peak RSS
# of the workers and the helper before and after; the incremental export's
# rows and time, and the plan of its query.  Goal (issue 13): >= 0.5 of
# COPY's rate.
#
# Needs curl and jq.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
port=${PORT:-18183}
profiles=${PROFILES:-1000000}
out="$top/bench/out"
pgdir="$top/var/bench-export-pg"
prefix="$top/var/bench-export-nginx"
key="$top/var/bench-export-secret.key"
keep=${KEEP:-}
if [ -n "$keep" ]; then
    pgdir="$top/var/bench-export-pg-$profiles"
    prefix="$top/var/bench-export-nginx-$profiles"
    key="$pgdir.key"
fi
report="$out/export.txt"

. bench/lib.sh
bench_need curl
bench_need jq "apt-get install jq"
bench_build
mkdir -p "$prefix/spool"

cleanup() {
    if [ -z "$keep" ]; then
        bench_cleanup
    elif bench_stop_nginx; then
        rm -rf -- "$prefix"
        scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l | xargs printf '%.2f'; }
rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }
mb() { echo "$1 / 1048576 / $2" | bc -l | xargs printf '%.1f'; }

t0=$(now)
if [ -n "$keep" ] && [ -f "$pgdir.loaded" ]; then
    # the database of an earlier KEEP=1 run of the same N
    scripts/pg.sh start "$pgdir" --fast >/dev/null 2>&1
    db=$(cat "$pgdir/conninfo")
    export PREFS_DATABASE="$db" PREFS_SECRET_KEY="$key"
    tools/prefsctl migrate >/dev/null
    secret=$(cat "$pgdir.secret")
    acct=$(psql -X -At -d "$db" -c "SELECT account_id FROM prefs_account WHERE client_id = 'bench'")
    psql -X -q -d "$db" -v ON_ERROR_STOP=1 -c "UPDATE prefs_profile_doc d
        SET src_xmin = p.xmin, doc = prefs_data_profile_json(p, false)::text
        FROM prefs_profile p WHERE p.profile_id = d.profile_id
         AND p.account_id = $acct AND d.src_xmin <> p.xmin" \
        -c "UPDATE prefs_export SET status = 'Expired' WHERE status <> 'Expired'" \
        -c 'TRUNCATE prefs_export_row' \
        -c 'VACUUM ANALYZE prefs_profile_doc' >/dev/null
    load="kept from $(cat "$pgdir.loaded")"
else
    bench_database
    bench_account bench Integration
    bench_profiles "$profiles"
    psql -X -q -d "$db" -v ON_ERROR_STOP=1 -c 'VACUUM ANALYZE prefs_profile_doc' >/dev/null
    load="$(secs "$t0" "$(now)")s"
    acct=$(psql -X -At -d "$db" -c "SELECT account_id FROM prefs_account WHERE client_id = 'bench'")
    psql -X -At -d "$db" -v ON_ERROR_STOP=1 -c "SELECT outcome FROM prefs_seg_call($acct, 'Segment', 'POST', NULL,
        '{\"Name\":\"everyone\",\"Criteria\":[{\"Field\":\"LastName\",\"Operator\":\"StartsWith\",\"Value\":\"last\"}]}')" >/dev/null
    if [ -n "$keep" ]; then
        (umask 077 && printf '%s\n' "$secret" > "$pgdir.secret")
        date -u +%FT%TZ > "$pgdir.loaded"
    fi
fi

cat > "$prefix/nginx.conf" <<CONF
$(bench_nginx_head 2 1024)
http {
    access_log off;
    prefs_database "$db";
    prefs_secret_key $key;
    prefs_spool $prefix/spool;
    # the default prefs_db_query_timeout (30 s): the snapshot is taken in
    # steps, each a statement within it
    server {
        listen 127.0.0.1:$port;
        location /Profiles/v4/ { prefs_api v4; }
    }
}
CONF
: > "$prefix/logs/error.log"
/usr/sbin/nginx -p "$prefix" -c "$prefix/nginx.conf"
sleep 1
master=$(cat "$prefix/logs/nginx.pid")
hwm() { # the largest VmHWM (kB) among the master's children named $1
    local kb=0 p v
    for p in $(pgrep -P "$master" -f "$1"); do
        v=$(awk '/VmHWM/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
        [ "${v:-0}" -gt "$kb" ] && kb=$v
    done
    echo "$kb"
}
base="http://127.0.0.1:$port/Profiles/v4/Async/bench"
api() { curl -sS -H "Authorization: $(tools/pnauth bench api "$secret")" "$@"; }
export_of() { # starts an export (body $1), waits for it: "token seconds"
    local t0 tok st
    t0=$(now)
    tok=$(api -X POST -H 'Content-Type: application/json' -d "$1" "$base/Export/Segment/everyone" | jq -r .AccessToken)
    while :; do
        st=$(api "$base/Status/Token/$tok" | jq -r .Status)
        [ "$st" = Processing ] || break
        sleep 0.2
    done
    [ "$st" = Complete ] || { echo "bench: export $tok: $st" >&2; exit 1; }
    echo "$tok $(secs "$t0" "$(now)")"
}

w0=$(hwm 'worker process'); h0=$(hwm 'cache manager')

# COPY of the same documents: the baseline
t0=$(now)
copy_bytes=$(psql -X -d "$db" -c "COPY (SELECT d.doc FROM prefs_profile p JOIN prefs_profile_doc d
    USING (profile_id) WHERE p.account_id = $acct ORDER BY p.profile_id) TO STDOUT" | wc -c)
copy_s=$(secs "$t0" "$(now)")

read -r tok snap_s < <(export_of '{}')
rows=$(api "$base/Status/Token/$tok" | jq -r .RowCount)

t0=$(now)
nd_bytes=$(api -H 'Accept: application/x-ndjson' "$base/Export/$tok?keepAlive=true" | wc -c)
nd_s=$(secs "$t0" "$(now)")
nd_lines=$rows

# JSON pages as a client reads them: one connection (keep-alive), a
# request a page; the signature (PNAUTHINFO3 without request binding) made
# once for 100 pages, well within the account's window, as a client library
# makes it in microseconds in its own process
t0=$(now)
js_bytes=0
for ((off = 1; off <= rows; off += 100000)); do
    last=$((off + 99000 < rows ? off + 99000 : rows))
    n=$(api --fail "$base/Export/$tok?limit=1000&offset=[$off-$last:1000]&keepAlive=true" | wc -c)
    js_bytes=$((js_bytes + n))
done
js_s=$(secs "$t0" "$(now)")

# the same pages as this script read them before: a curl, a connection and
# a tools/pnauth (a Perl process) a page; the first 20 pages
sample=$((rows < 20000 ? rows : 20000))
t0=$(now)
sp_bytes=0
for ((off = 1; off <= sample; off += 1000)); do
    n=$(api --fail "$base/Export/$tok?limit=1000&offset=$off&keepAlive=true" | wc -c)
    sp_bytes=$((sp_bytes + n))
done
sp_s=$(secs "$t0" "$(now)")
api -X POST "$base/Export/$tok/Commit" >/dev/null

w1=$(hwm 'worker process'); h1=$(hwm 'cache manager')

# incremental: 1% of the profiles changed since
since=$(psql -X -At -d "$db" -c "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
sleep 0.1
psql -X -q -d "$db" -c "UPDATE prefs_profile SET edited_at = now() WHERE account_id = $acct AND profile_id % 100 = 0" >/dev/null
read -r itok inc_s < <(export_of "{\"LastDateTime\":\"$since\"}")
inc_rows=$(api "$base/Status/Token/$itok" | jq -r .RowCount)
plan=$(psql -X -At -d "$db" -c "SELECT prefs_export_explain($itok)")
api -X POST "$base/Export/$itok/Commit" >/dev/null

{
    echo "bench/export.sh ($(date -u +%Y-%m-%dT%H:%MZ), $rev): $profiles profiles, $(nproc) cores"
    echo "load + rendered copies     ${load}"
    echo "snapshot (helper's job)    ${snap_s}s for $rows profiles ($(rate "$rows" "$snap_s") profiles/s)"
    echo "COPY (stored copies)       ${copy_s}s: $(rate "$rows" "$copy_s") profiles/s, $(mb "$copy_bytes" "$copy_s") MB/s"
    echo "NDJSON download            ${nd_s}s: $(rate "$nd_lines" "$nd_s") profiles/s, $(mb "$nd_bytes" "$nd_s") MB/s ($(echo "$copy_s / $nd_s" | bc -l | xargs printf '%.2f') x COPY)"
    echo "JSON pages of 1,000        ${js_s}s: $(rate "$rows" "$js_s") profiles/s, $(mb "$js_bytes" "$js_s") MB/s ($(echo "$copy_s / $js_s" | bc -l | xargs printf '%.2f') x COPY)"
    echo "  a process a page         ${sp_s}s for the first $sample: $(rate "$sample" "$sp_s") profiles/s, $(mb "$sp_bytes" "$sp_s") MB/s ($(echo "$copy_s * $sample / $rows / $sp_s" | bc -l | xargs printf '%.2f') x COPY)"
    echo "peak RSS, workers          ${w0} kB before, ${w1} kB after"
    echo "peak RSS, helper           ${h0} kB before, ${h1} kB after"
    echo "incremental (1% changed)   ${inc_rows} profiles in ${inc_s}s; plan of its query:"
    printf '%s\n' "$plan" | sed 's/^/    /'
} | tee "$report"
