#!/usr/bin/env bash
# bench/import.sh: the bulk import bench (issue 12).  PROFILES profiles
# (default 1,000,000) of the bench shape (2 emails, 1 mobile phone, 1
# address, 10 preferences, 5 consents, 5 custom fields, one alternate id;
# bench/import_record.sql) generated as NDJSON, staged over HTTP in requests
# of about 25 MB, executed by the helper (SuppressEvents: an initial load);
# then, in the same run on the same database, plain COPY of the same final
# rows (the profile tables and the rendered copies) into tables of the same
# shape with the same indexes (CREATE TABLE ... (LIKE ... INCLUDING ALL)).
# Prints profiles/s and rows/s end to end (stage + execute) and for
# execute alone, the COPY rate, their ratio (goal: end to end >= 0.5 of
# COPY), and the peak RSS of the workers and of the helper.
#
#   PROFILES=20000 bench/import.sh       (a quick run, not for the goal)
#
# Then the read bench on the imported profiles (wrk on GET Profile/{id},
# and prefs_profile_get alone from pgbench, as bench/profile.sh does).
#
# Needs curl, jq, wrk and pgbench.  Writes bench/out/import.txt.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
profiles=${PROFILES:-1000000}
[[ $profiles =~ ^[1-9][0-9]*$ ]] || { echo "bench: PROFILES must be a positive integer" >&2; exit 1; }
port=${PORT:-18182}
batch=${BATCH:-500}
out="$top/bench/out"
pgdir="$top/var/bench-import-pg"
prefix="$top/var/bench-import-nginx"
key="$top/var/bench-import-secret.key"
report="$out/import.txt"
work="$prefix/data"

. bench/lib.sh
bench_need curl
bench_need jq "apt-get install jq"
bench_need wrk "apt-get install wrk"
bench_need pgbench "apt-get install postgresql-contrib"
bench_build
mkdir -p "$work"

sampler=
cleanup() {
    [ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true
    bench_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_database
bench_account benchimport Integration
acct=$(psql -X -At -d "$db" -c "SELECT account_id FROM prefs_account WHERE client_id = 'benchimport'")

# --------------------------------------------------------------------------
# the records, as NDJSON, cut into files of at most 25 MB (whole lines)

t0=$(date +%s.%N)
psql -X -q -d "$db" -v ON_ERROR_STOP=1 \
     -c '\i bench/import_record.sql' \
     -c "\\copy (SELECT pg_temp.bench_import_record(i, 'imp')::text FROM generate_series(1, $profiles) i ORDER BY i) TO '$work/all.ndjson'"
split -C 25000000 -d -a 4 "$work/all.ndjson" "$work/part."
bytes=$(stat -c %s "$work/all.ndjson")
rm -f "$work/all.ndjson"
gen_s=$(echo "$(date +%s.%N) - $t0" | bc)

cat > "$prefix/nginx.conf" <<CONF
load_module $prefix/ngx_http_prefs_module.so;
worker_processes 2;
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $prefix/body;
    prefs_database "$db";
    prefs_secret_key $key;
    prefs_spool $prefix/spool;
    prefs_import_batch $batch;
    server {
        listen 127.0.0.1:$port;
        location /Profiles/v4/ { prefs_api v4; client_max_body_size 28m; }
    }
}
CONF
mkdir -p "$prefix/body" "$prefix/spool"
nginx -p "$prefix/" -c "$prefix/nginx.conf"
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

# the peak RSS (kB) of the workers and of the helper, sampled every 200 ms
master=$(cat "$prefix/logs/nginx.pid")
( wmax=0; hmax=0
  while :; do
      while read -r rss args; do
          case $args in
              *worker*) [ "$rss" -gt "$wmax" ] && wmax=$rss ;;
              *'cache manager'*) [ "$rss" -gt "$hmax" ] && hmax=$rss ;;
          esac
      done < <(ps -o rss=,args= --ppid "$master" 2>/dev/null)
      echo "$wmax $hmax" > "$prefix/rss"
      sleep 0.2
  done ) &
sampler=$!

base="http://127.0.0.1:$port/Profiles/v4/Async/benchimport/Import"
auth() { PNAUTH_SECRET=$secret tools/pnauth benchimport api -; }

# --------------------------------------------------------------------------
# initiate, stage, execute, wait

t_start=$(date +%s.%N)
token=$(curl -sf -H "Authorization: $(auth)" -H 'Content-Type: application/json' "$base" \
        -d '{"Name":"bench","SuppressEvents":true}' | jq -r .AccessToken)
requests=0
for f in "$work"/part.*; do
    curl -sf -H "Authorization: $(auth)" -H 'Content-Type: application/x-ndjson' \
         --data-binary "@$f" "$base/$token/Stage" > "$prefix/stage.json" \
        || { echo "bench: a Stage request failed" >&2; exit 1; }
    requests=$((requests + 1))
done
t_staged=$(date +%s.%N)
jq -c '{TotalRecordsReceived, ValidationSuccessful, ValidationFailed}' "$prefix/stage.json"
curl -sf -X POST -H "Authorization: $(auth)" "$base/$token/Execute" > /dev/null
while :; do
    st=$(curl -sf -H "Authorization: $(auth)" "$base/$token/Status")
    case $(jq -r .Status <<<"$st") in Completed|Failed) break ;; esac
    sleep 1
done
t_done=$(date +%s.%N)
read -r wrss hrss < "$prefix/rss"

status=$(jq -r .Status <<<"$st")
processed=$(jq -r .Processed <<<"$st")
failed=$(jq -r '.ValidationFailed + .Exceptions' <<<"$st")
exec_s=$(psql -X -At -d "$db" -c "SELECT extract(epoch FROM completed_at - started_at)
                                   FROM prefs_import WHERE access_token = $token")
stage_s=$(echo "$t_staged - $t_start" | bc)
e2e_s=$(echo "$t_done - $t_start" | bc)

# --------------------------------------------------------------------------
# the read bench on the imported profiles: every one has its current
# rendered copy (a read never renders); wrk on GET Profile/{id} at random,
# and in the same run the read's SQL alone (prefs_profile_get, prepared,
# from pgbench with as many connections as the workers' pools), as
# bench/profile.sh measures both on the profiles it loads

current=$(psql -X -At -d "$db" -c "SELECT count(*) FROM prefs_profile x JOIN prefs_profile_doc d
                                   USING (profile_id) WHERE x.account_id = $acct AND d.src_xmin = x.xmin")
read -r lo hi < <(psql -X -At -F ' ' -d "$db" -c \
    "SELECT min(profile_id), max(profile_id) FROM prefs_profile WHERE account_id = $acct")
bench_read_lua benchimport "$work/read.lua"
rauth=$(tools/pnauth benchimport api "$secret")
wrk -t2 -c32 -d3s -s "$work/read.lua" "http://127.0.0.1:$port" -- "$rauth" "$lo" "$hi" "127.0.0.1:$port" >/dev/null
wrk -t2 -c32 -d"${READ_SECS:-10}s" --latency -s "$work/read.lua" "http://127.0.0.1:$port" -- \
    "$rauth" "$lo" "$hi" "127.0.0.1:$port" > "$work/read.wrk"
read_rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$work/read.wrk")
read_p99=$(sed -n 's/^ *99% *\([0-9.]*[a-z]*\).*/\1/p' "$work/read.wrk")
read_bad=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$work/read.wrk")
printf '\\set id random(%s, %s)\nSELECT prefs_profile_get(%s, :id, false);\n' "$lo" "$hi" "$acct" \
    > "$work/get.pgbench.sql"
get_tps=$(pgbench -n -M prepared -c 16 -j 2 -T "${READ_SECS:-10}" -f "$work/get.pgbench.sql" "$db" 2>&1 |
          sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)

# --------------------------------------------------------------------------
# the same final rows through plain COPY into tables of the same shape

tables="prefs_profile prefs_profile_email prefs_profile_phone prefs_profile_address
        prefs_profile_alternate_id prefs_profile_custom_field prefs_preference prefs_consent
        prefs_consent_assoc prefs_profile_doc"
rows=0
for t in $tables; do
    # the rendered copies have no account_id: theirs are the account's profiles'
    where="account_id = $acct"
    [ "$t" != prefs_profile_doc ] \
        || where="profile_id IN (SELECT profile_id FROM prefs_profile WHERE account_id = $acct)"
    psql -X -q -d "$db" -v ON_ERROR_STOP=1 \
         -c "\\copy (SELECT * FROM $t WHERE $where) TO '$work/$t.copy'" \
         -c "CREATE TABLE bench_copy_$t (LIKE $t INCLUDING ALL)"
    rows=$((rows + $(wc -l < "$work/$t.copy")))
done
t0=$(date +%s.%N)
for t in $tables; do
    psql -X -q -d "$db" -v ON_ERROR_STOP=1 -c "\\copy bench_copy_$t FROM '$work/$t.copy'"
done
copy_s=$(echo "$(date +%s.%N) - $t0" | bc)
docs=$(psql -X -At -d "$db" -c "SELECT count(*) FROM prefs_profile p JOIN prefs_profile_doc d USING (profile_id)
                                WHERE p.account_id = $acct")

rate() { echo "scale=0; $1 / $2" | bc; }
{
    echo "bench/import.sh at $rev, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs"
    echo "profiles $profiles, NDJSON $bytes bytes in $requests Stage requests (generated in ${gen_s}s), batch $batch"
    echo "import: $status, processed $processed, refused $failed; rendered copies $docs"
    echo "final rows (profile tables + rendered copies): $rows"
    echo "stage:      ${stage_s}s  $(rate "$profiles" "$stage_s") profiles/s"
    echo "execute:    ${exec_s}s  $(rate "$profiles" "$exec_s") profiles/s  $(rate "$rows" "$exec_s") rows/s"
    echo "end to end: ${e2e_s}s  $(rate "$profiles" "$e2e_s") profiles/s  $(rate "$rows" "$e2e_s") rows/s"
    echo "plain COPY: ${copy_s}s  $(rate "$rows" "$copy_s") rows/s"
    echo "end to end / COPY: $(echo "scale=3; ($rows / $e2e_s) / ($rows / $copy_s)" | bc)  (goal >= 0.5)"
    echo "execute / COPY:    $(echo "scale=3; ($rows / $exec_s) / ($rows / $copy_s)" | bc)"
    echo "peak RSS: workers ${wrss} kB, helper ${hrss} kB"
    echo "current rendered copies: $current of $processed profiles"
    echo "read (wrk, 32 connections): ${read_rps} requests/s, p99 ${read_p99}, non-2xx ${read_bad:-0}"
    echo "prefs_profile_get alone (pgbench, 16 connections): ${get_tps} tps; read/this $(echo "scale=2; $read_rps / $get_tps" | bc)"
} | tee "$report"
