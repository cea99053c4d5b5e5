#!/usr/bin/env bash
# bench/config_read.sh: an authenticated, negotiated GET .../Programs against
# nginx serving the identical body as a static file, same workers, same run;
# then the same route over 1,000 configured accounts, with the peak RSS of
# the worker processes (and, apart, of the helper).
#
#   bench/config_read.sh [SECONDS] [CONNECTIONS]
#   PREFS_BENCH_METRICS=1 bench/config_read.sh ...   the same with a
#                                  "prefs_api metrics" location (every request
#                                  counted); compare runs back to back
#
# Needs wrk (Debian package).  Writes bench/out/config_read.txt (and the wrk
# outputs beside it); var/bench-nginx/, var/bench-secret.key and the
# database under var/bench-pg are removed at exit.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
secs=${1:-10}
conns=${2:-50}
port=18181
out="$top/bench/out"
pgdir="$top/var/bench-pg"
prefix="$top/var/bench-nginx"
key="$top/var/bench-secret.key"
report="$out/config_read.txt"

. bench/lib.sh
bench_need wrk "apt-get install wrk"
bench_build
mkdir -p "$prefix/html"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_database
bench_account bench ReadOnly reader

cat > "$prefix/nginx.conf" <<CONF
$(bench_nginx_head)
http {
    access_log off;
    prefs_database "$db";
    prefs_secret_key $key;
    prefs_spool $prefix/spool;
    prefs_auth_cache_time 60s;
    server {
        listen 127.0.0.1:$port;
        location /Profiles/v4/ { prefs_api v4; }
        location = /prefs/status { prefs_api status; }
$( [ "${PREFS_BENCH_METRICS:-0}" = 1 ] && echo "        location = /prefs/metrics { prefs_api metrics; }")
        location /static/ { root $prefix/html; default_type application/json; }
    }
}
CONF
/usr/sbin/nginx -p "$prefix" -c "$prefix/nginx.conf"
sleep 1

auth=$(tools/pnauth bench reader "$secret")
url="http://127.0.0.1:$port/Profiles/v4/bench/Programs"
mkdir -p "$prefix/html/static"
curl -sf -H "Authorization: $auth" -H "Accept-Language: de-CH, de;q=0.9, en;q=0.5" "$url" \
    > "$prefix/html/static/programs.json"
bytes=$(wc -c < "$prefix/html/static/programs.json")

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'; }
p99() { sed -n 's/^ *99% *\([0-9.]*[a-z]*\).*/\1/p'; }

wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Authorization: $auth" \
    -H "Accept-Language: de-CH, de;q=0.9, en;q=0.5" "$url" > "$out/api.wrk"
wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/static/programs.json" > "$out/static.wrk"

api=$(rps < "$out/api.wrk")
static=$(rps < "$out/static.wrk")
errors=$(grep -c "Non-2xx" "$out/api.wrk" || true)

# 1,000 accounts: the same configuration and user copied in SQL
psql -X -q -d "$db" -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO prefs_account (client_id, name)
SELECT 'bench' || n, 'Bench ' || n FROM generate_series(1, 999) n;
INSERT INTO prefs_config_item (account_id, kind, key, body, is_active)
SELECT a.account_id, i.kind, i.key, i.body, i.is_active
  FROM prefs_config_item i JOIN prefs_account b ON b.account_id = i.account_id AND b.client_id = 'bench'
 CROSS JOIN prefs_account a WHERE a.client_id LIKE 'bench_%';
INSERT INTO prefs_user (account_id, user_name)
SELECT account_id, 'reader' FROM prefs_account WHERE client_id LIKE 'bench_%';
INSERT INTO prefs_user_group_member (user_id, group_id)
SELECT u.user_id, g.group_id FROM prefs_user u JOIN prefs_account a USING (account_id)
  JOIN prefs_user_group g ON g.name = 'ReadOnly' AND g.account_id IS NULL WHERE a.client_id LIKE 'bench_%';
INSERT INTO prefs_user_secret (user_id, sealed)
SELECT u.user_id, s.sealed FROM prefs_user u JOIN prefs_account a USING (account_id),
  (SELECT sealed FROM prefs_user_secret s JOIN prefs_user u USING (user_id)
     JOIN prefs_account a USING (account_id) WHERE a.client_id = 'bench') s
 WHERE a.client_id LIKE 'bench_%';
SQL

# a wrk script that walks the accounts, each with its own signature
lua="$out/accounts.lua"
{
    echo "local reqs = {}"
    for n in bench $(seq -f 'bench%g' 1 999); do
        printf 'reqs[#reqs+1] = wrk.format("GET", "/Profiles/v4/%s/Programs", {["Host"] = "127.0.0.1", ["Authorization"] = "%s", ["Accept-Language"] = "fr-FR"})\n' \
            "$n" "$(tools/pnauth "$n" reader "$secret")"
    done
    echo "local i = 0"
    echo "request = function() i = i % #reqs + 1; return reqs[i] end"
} > "$lua"

sample=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $(tools/pnauth bench7 reader "$secret")" \
    "http://127.0.0.1:$port/Profiles/v4/bench7/Programs")
[ "$sample" = 200 ] || { echo "bench: account bench7 answers $sample" >&2;
    curl -s -H "Authorization: $(tools/pnauth bench7 reader "$secret")" "http://127.0.0.1:$port/Profiles/v4/bench7/Programs" >&2;
    tail -5 "$prefix/logs/error.log" >&2; }

wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$lua" "http://127.0.0.1:$port" > "$out/accounts.wrk"
many=$(rps < "$out/accounts.wrk")

# peak RSS (VmHWM) of the master's children: the worker processes, and
# apart the helper (nginx's "cache manager process", see src/helper/ngx_prefs_helper.c)
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
workers_kb=0 nworkers=0 each='' helper_kb=0 nhelpers=0
for pid in $(pgrep -P "$(cat "$prefix/logs/nginx.pid")" || true); do
    cmd=$(tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" || true)
    kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$kb" ] || continue
    case $cmd in
        *"worker process"*)
            workers_kb=$((workers_kb + kb)); nworkers=$((nworkers + 1))
            each="$each${each:+, }$(mib "$kb")" ;;
        *"cache manager process"*)
            helper_kb=$((helper_kb + kb)); nhelpers=$((nhelpers + 1)) ;;
    esac
done
status=$(curl -s "http://127.0.0.1:$port/prefs/status")

{
    echo "config_read  $(date -u +%FT%TZ)  $(nproc) cores, 2 workers, $conns connections, ${secs}s each"
    echo "metrics                    $( [ "${PREFS_BENCH_METRICS:-0}" = 1 ] && echo "on (prefs_api metrics)" || echo off)"
    echo "body                       $bytes bytes (GET Programs, de-CH negotiated to de-DE)"
    echo "API requests/s             $api   (p99 $(p99 < "$out/api.wrk"))"
    echo "static file requests/s     $static   (p99 $(p99 < "$out/static.wrk"))"
    echo "ratio API/static           $(awk -v a="$api" -v s="$static" 'BEGIN { printf "%.2f", a / s }')"
    echo "non-2xx in the API run     $errors"
    echo "1,000 accounts requests/s  $many   (p99 $(p99 < "$out/accounts.wrk"))"
    echo "workers' peak RSS          $(mib "$workers_kb") MiB in all ($nworkers workers: $each MiB)"
    if [ "$nhelpers" -gt 0 ]; then
        echo "helper's peak RSS          $(mib "$helper_kb") MiB (not in the workers' figure)"
    else
        echo "helper's peak RSS          - (no helper process found)"
    fi
    echo "snapshots                  $(echo "$status" | grep -o '"Configuration":{[^}]*}' | tr '\n' ' ')"
} | tee "$report"
