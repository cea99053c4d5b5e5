#!/usr/bin/env bash
# bench/export.sh: a full segment export of N profiles (bench/profiles.sql,
# the profiles of bench/profile.sh) through the API, in the same run as
# COPY of the same profiles' stored copies; then an incremental export
# after 1% of the profiles changed.
#
#   PROFILES=N bench/export.sh        (default 1,000,000)
#
# Prints and writes to bench/out/export.txt: the snapshot (the helper's job)
# time; the NDJSON download and the JSON pages (1,000 a request) in
# profiles/s and MB/s against COPY (SELECT doc ...) TO STDOUT; the peak RSS
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
report="$out/export.txt"

. bench/lib.sh
bench_need curl
bench_need jq "apt-get install jq"
bench_build
mkdir -p "$prefix/spool"

cleanup() { bench_cleanup; }
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l | xargs printf '%.2f'; }
rate() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }
mb() { echo "$1 / 1048576 / $2" | bc -l | xargs printf '%.1f'; }

bench_database
bench_account bench Integration

t0=$(now)
bench_profiles "$profiles"
psql -X -q -d "$db" -v ON_ERROR_STOP=1 -c 'VACUUM ANALYZE prefs_profile_doc' >/dev/null
load=$(secs "$t0" "$(now)")
acct=$(psql -X -At -d "$db" -c "SELECT account_id FROM prefs_account WHERE client_id = 'bench'")
psql -X -At -d "$db" -v ON_ERROR_STOP=1 -c "SELECT outcome FROM prefs_seg_call($acct, 'Segment', 'POST', NULL,
    '{\"Name\":\"everyone\",\"Criteria\":[{\"Field\":\"LastName\",\"Operator\":\"StartsWith\",\"Value\":\"last\"}]}')" >/dev/null

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

t0=$(now)
js_bytes=0
for ((off = 1; off <= rows; off += 1000)); do
    n=$(api "$base/Export/$tok?limit=1000&offset=$off&keepAlive=true" | wc -c)
    js_bytes=$((js_bytes + n))
done
js_s=$(secs "$t0" "$(now)")
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
    echo "load + rendered copies     ${load}s"
    echo "snapshot (helper's job)    ${snap_s}s for $rows profiles ($(rate "$rows" "$snap_s") profiles/s)"
    echo "COPY (stored copies)       ${copy_s}s: $(rate "$rows" "$copy_s") profiles/s, $(mb "$copy_bytes" "$copy_s") MB/s"
    echo "NDJSON download            ${nd_s}s: $(rate "$nd_lines" "$nd_s") profiles/s, $(mb "$nd_bytes" "$nd_s") MB/s ($(echo "$copy_s / $nd_s" | bc -l | xargs printf '%.2f') x COPY)"
    echo "JSON pages of 1,000        ${js_s}s: $(rate "$rows" "$js_s") profiles/s, $(mb "$js_bytes" "$js_s") MB/s ($(echo "$copy_s / $js_s" | bc -l | xargs printf '%.2f') x COPY)"
    echo "peak RSS, workers          ${w0} kB before, ${w1} kB after"
    echo "peak RSS, helper           ${h0} kB before, ${h1} kB after"
    echo "incremental (1% changed)   ${inc_rows} profiles in ${inc_s}s; plan of its query:"
    printf '%s\n' "$plan" | sed 's/^/    /'
} | tee "$report"
