#!/usr/bin/env bash
# bench/soak.sh: a soak test.  A mixed workload at about twice the load a
# node is sized for, for DURATION seconds (default 600), with a PostgreSQL
# restart and a SIGKILL of the helper process in the middle.
#
#   bench/soak.sh [DURATION]          e.g. bench/soak.sh 90 for a short run
#
# The load (docs/operations.md "Soak test" says how it was chosen), each
# part at a fixed rate, the SCALE environment variable multiplying all:
#
#   signed configuration reads   GET Programs (Accept-Language)   2,000/s  wrk
#   profile reads                GET Profile/{id}                   400/s  wrk
#   profile writes               POST Profile/{id}/Preferences      100/s  soak-client.py
#   webhook deliveries           preference.added/.updated          100/s  soak-receiver.py
#
# PostgreSQL restarts at 40 % of the run, the helper is killed at 60 %.
# The report (printed, and bench/out/soak.txt): requests/s and p99 per 10 s
# of each kind, errors by kind (HTTP status, socket error) inside and outside
# the restart window, RSS of the workers and the helper per 10 s, and the
# checks: no 5xx or connection error outside the restart window, flat RSS,
# every write acknowledged with 2xx in the database, every event selected
# by the subscription received by the receiver or still being retried.
# Exits 1 when a check fails.
#
# Needs wrk, python3, curl, psql.  Runs on 127.0.0.1:18183 (nginx) and
# :18184 (receiver); var/soak-* is removed at exit, bench/out/soak/ stays.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
duration=${1:-600}
scale=${SCALE:-1}
port=18183
rport=18184
profiles=${PROFILES:-20000}
workers=2
out="$top/bench/out"
dir="$out/soak"
pgdir="$top/var/soak-pg"
prefix="$top/var/soak-nginx"
key="$top/var/soak-secret.key"
report="$out/soak.txt"

rate() { awk -v r="$1" -v s="$scale" 'BEGIN { v = r * s; printf "%d", v < 1 ? 1 : v }'; }
config_rate=$(rate 2000)
profile_rate=$(rate 400)
write_rate=$(rate 100)

[ "$duration" -ge 60 ] 2>/dev/null || { echo "soak: DURATION must be at least 60 seconds" >&2; exit 2; }
for c in wrk python3 curl psql; do
    command -v $c >/dev/null || { echo "soak: $c is missing (scripts/deps.sh)" >&2; exit 1; }
done
. bench/lib.sh
bench_build
rm -rf "$dir"
mkdir -p "$dir" "$prefix/spool"

pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    bench_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "soak: $*" >&2; }

bench_database durable
q() { psql -X -q -A -t -d "$db" -v ON_ERROR_STOP=1 "$@"; }
bench_account soak Integration

# profiles with a home email each, set-based
q -v n="$profiles" <<'SQL'
SELECT account_id AS acct FROM prefs_account WHERE client_id = 'soak' \gset
SELECT user_id AS uid FROM prefs_user WHERE account_id = :acct AND user_name = 'api' \gset
INSERT INTO prefs_profile (account_id, first_name, last_name, default_locale,
    customer_type, edited_by, created_at, updated_at, edited_at)
SELECT :acct, 'First' || n, 'Last' || n, 'en-US', 'Consumer', :uid, now(), now(), now()
  FROM generate_series(1, :n) n ORDER BY n;
INSERT INTO prefs_profile_email (account_id, profile_id, address, type, is_default,
                                 created_at, updated_at)
SELECT :acct, profile_id, 'p' || profile_id || '.home@example.com', 'Personal', true,
       now(), now()
  FROM prefs_profile WHERE account_id = :acct ORDER BY profile_id;
SQL
read -r lo hi < <(q -F ' ' -c "SELECT min(profile_id), max(profile_id) FROM prefs_profile")

# the subscription: preference events to the receiver
whsecret="whsec_$(head -c 24 /dev/urandom | base64)"
sealed=$(printf '%s' "$whsecret" | build/prefs-secret seal "$key")
q -v sealed="$sealed" -v url="http://127.0.0.1:$rport/hook" <<'SQL' >/dev/null
INSERT INTO prefs_webhook_subscription (account_id, name, url, state,
    subscriptions, secret_sealed, validated_at)
SELECT account_id, 'soak', :'url', 'Active',
       '[{"EventType": "preference.added"}, {"EventType": "preference.updated"}]',
       :'sealed', now()
  FROM prefs_account WHERE client_id = 'soak';
INSERT INTO prefs_webhook_settings (account_id, max_concurrent_requests, duration)
SELECT account_id, 5000, 1 FROM prefs_account WHERE client_id = 'soak';
SQL

cat > "$prefix/nginx.conf" <<CONF
$(bench_nginx_head "$workers")
http {
    access_log off;
    prefs_database "$db";
    prefs_secret_key $key;
    prefs_spool $prefix/spool;
    prefs_auth_cache_time 60s;
    prefs_webhook_allow_http on;
    prefs_webhook_allow_network 127.0.0.0/8;
    prefs_webhook_retries 2s 5s 10s 20s 30s 60s;
    server {
        listen 127.0.0.1:$port;
        location /Profiles/v4/ { prefs_api v4; }
        location = /prefs/status { prefs_api status; }
    }
}
CONF

python3 bench/soak-receiver.py "$rport" "$dir/hook.log" 97 &
pids+=($!)
/usr/sbin/nginx -p "$prefix" -c "$prefix/nginx.conf"
base="http://127.0.0.1:$port"
for _ in $(seq 100); do
    curl -s "$base/prefs/status" | grep -q '"Listening": *[1-9t]' && break
    sleep 0.1
done
master=$(cat "$prefix/logs/nginx.pid")
helper_pid() { pgrep -P "$master" -f 'cache manager' | head -1; }
worker_pids() { pgrep -P "$master" -f 'worker process' | tr '\n' ' '; }
rss_kb() { local s=0 p v; for p in "$@"; do v=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0); s=$((s + ${v:-0})); done; echo $s; }

# the requests must work before the clock starts
export SOAK_SECRET="$secret"
auth=$(tools/pnauth soak api "$secret")
code=$(curl -s -o "$dir/sample-config.json" -w '%{http_code}' -H "Authorization: $auth" \
    -H 'Accept-Language: de-CH, de;q=0.9' "$base/Profiles/v4/soak/Programs")
[ "$code" = 200 ] || { say "GET Programs answers $code"; cat "$dir/sample-config.json" >&2; exit 1; }
python3 bench/soak-client.py write "$port" soak api 1 1 "$lo" "$lo" 0.5 "$dir/sample-write.log"
grep -q ' 200 - ' "$dir/sample-write.log" ||
    { say "the write is refused:"; cat "$dir/sample-write.log" >&2; tail -3 "$prefix/logs/error.log" >&2; exit 1; }
code=$(curl -s -o "$dir/sample-profile.json" -w '%{http_code}' -H "Authorization: $auth" \
    "$base/Profiles/v4/soak/Profile/$lo")
[ "$code" = 200 ] || { say "GET Profile/$lo answers $code"; cat "$dir/sample-profile.json" >&2; exit 1; }

# wrk: 10-second slices; each prints "SLICE start end requests p99(us)
# socket-errors statuses".  Paced with delay() (ms between an answer and
# the connection's next request): CONNECTIONS x 1000 / RATE; none while the
# run is more than 10 % behind RATE, twice that while it is 10 % ahead.
cat > "$dir/read.lua" <<'LUA'
local threads = {}
local n = 0
function setup(thread)
    n = n + 1
    thread:set("tid", n)
    table.insert(threads, thread)
end
function init(args)
    kind, auth, lo, hi = args[1], args[2], tonumber(args[3]), tonumber(args[4])
    rate, conns = tonumber(args[5]), tonumber(args[6])
    pause = conns * 1000 / rate
    math.randomseed(os.time() * 100 + tid)
    statuses = {}
    t0, sent = os.time(), 0
end
function request()
    sent = sent + 1
    if kind == "config" then
        return wrk.format("GET", "/Profiles/v4/soak/Programs",
            { ["Host"] = "127.0.0.1", ["Authorization"] = auth,
              ["Accept-Language"] = "de-CH, de;q=0.9, en;q=0.5" })
    end
    return wrk.format("GET", "/Profiles/v4/soak/Profile/" .. math.random(lo, hi),
        { ["Host"] = "127.0.0.1", ["Authorization"] = auth })
end
function delay()
    local expected = (os.time() - t0 + 0.5) * rate
    if sent > expected * 1.1 then return 2 * pause end
    if sent < expected * 0.9 then return 0 end
    return pause
end
function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
    local all = {}
    for _, t in ipairs(threads) do
        for k, v in pairs(t:get("statuses")) do all[k] = (all[k] or 0) + v end
    end
    local s = {}
    for k, v in pairs(all) do table.insert(s, k .. ":" .. v) end
    local e = summary.errors
    io.write(string.format("%d %d %s connect:%d,read:%d,write:%d,timeout:%d %s\n",
        summary.requests, latency:percentile(99), "x", e.connect, e.read, e.write,
        e.timeout, table.concat(s, ",")))
end
LUA
# wrk_loop KIND RATE CONNECTIONS UNTIL
wrk_loop() {
    local kind=$1 r=$2 c=$3 until=$4 a b line
    while [ "$(date +%s)" -lt "$until" ]; do
        a=$(date +%s.%N)
        line=$(wrk -t1 -c"$c" -d10s --timeout 5s -s "$dir/read.lua" "$base" -- \
               "$kind" "$(tools/pnauth soak api "$secret")" "$lo" "$hi" "$r" "$c" 2>&1 | tail -1)
        b=$(date +%s.%N)
        # "requests p99 x errors statuses" -> "SLICE start end requests p99
        # errors statuses"; a wrk that failed counts as an error of its own
        if [[ $line =~ ^[0-9]+\ [0-9]+\ x\  ]]; then
            set -- $line
            echo "SLICE $a $b $1 $2 $4 ${5:-}" >> "$dir/wrk-$kind.txt"
        else
            echo "SLICE $a $b 0 0 connect:0,read:0,write:0,timeout:0 wrk-failed:1" >> "$dir/wrk-$kind.txt"
            echo "soak: wrk ($kind) failed: $line" >&2
        fi
    done
}

start=$(date +%s.%N)
end_at=$(( ${start%.*} + duration ))
echo "start=$start" > "$dir/events"
echo "grace=10" >> "$dir/events"
say "load for ${duration}s: config reads ${config_rate}/s, profile reads ${profile_rate}/s, writes ${write_rate}/s"

load=()
wrk_loop config "$config_rate" 32 "$end_at" & load+=($!)
wrk_loop profile "$profile_rate" 16 "$end_at" & load+=($!)
python3 bench/soak-client.py write "$port" soak api "$write_rate" 32 "$lo" "$hi" "$duration" "$dir/writes.log" &
load+=($!)
pids+=("${load[@]}")
(
    while [ "$(date +%s)" -lt "$end_at" ]; do
        h=$(helper_pid || true)
        echo "$(date +%s.%N) $(rss_kb $(worker_pids)) $(rss_kb ${h:-}) ${h:--}"
        sleep 5
    done
) > "$dir/rss.log" &
load+=($!)
pids+=($!)

sleep $(( duration * 4 / 10 ))
echo "pg_stop=$(date +%s.%N)" >> "$dir/events"
say "PostgreSQL restart at $(date -u +%T)"
scripts/pg.sh stop "$pgdir" >/dev/null 2>&1
scripts/pg.sh start "$pgdir" >/dev/null 2>&1
echo "pg_started=$(date +%s.%N)" >> "$dir/events"
say "PostgreSQL up again at $(date -u +%T)"

sleep $(( duration * 2 / 10 ))
h=$(helper_pid)
echo "helper_pid=$h" >> "$dir/events"
echo "helper_kill=$(date +%s.%N)" >> "$dir/events"
kill -KILL "$h"
say "helper $h killed at $(date -u +%T)"
for _ in $(seq 100); do
    n=$(helper_pid || true)
    [ -n "$n" ] && [ "$n" != "$h" ] && break
    sleep 0.1
done
echo "helper_new_pid=${n:-none}" >> "$dir/events"
echo "helper_new=$(date +%s.%N)" >> "$dir/events"
say "new helper ${n:-none} at $(date -u +%T)"

for p in "${load[@]}"; do wait "$p" || true; done
echo "end=$(date +%s.%N)" >> "$dir/events"

# let the deliveries drain (at most 120 s), then take what the database has
say "load ended at $(date -u +%T); waiting for the webhook backlog"
for _ in $(seq 120); do
    n=$(q -c "SELECT count(*) FROM prefs_event e
               WHERE e.event_type IN ('preference.added', 'preference.updated')
                 AND e.event_id NOT IN (SELECT event_id FROM prefs_webhook_delivery
                                         WHERE state = 'delivered' AND event_id IS NOT NULL)")
    [ "$n" = 0 ] && break
    sleep 1
done
q -c "SELECT profile_id, extract(epoch FROM customer_date)::bigint FROM prefs_preference
       WHERE filter_id = 'NewsletterEmail'" > "$dir/db-writes.txt"
# each event with the state of its latest delivery (none: not claimed yet)
q -c "SELECT e.event_id, d.state
        FROM prefs_event e
        LEFT JOIN (SELECT DISTINCT ON (event_id) event_id, state
                     FROM prefs_webhook_delivery WHERE kind = 'event'
                    ORDER BY event_id, delivery_id DESC) d USING (event_id)
       WHERE e.event_type IN ('preference.added', 'preference.updated')" > "$dir/db-events.txt"
kill "$(cat "$prefix/logs/nginx.pid")" 2>/dev/null || true
sleep 1
cp "$prefix/logs/error.log" "$dir/error.log"

{
    echo "bench/soak.sh ($(date -u +%Y-%m-%dT%H:%M:%SZ), $rev, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
    echo "${duration}s; targets: config reads ${config_rate}/s, profile reads ${profile_rate}/s over $profiles profiles, writes ${write_rate}/s (SCALE=$scale)"
} > "$report"
status=0
python3 bench/soak-client.py report "$dir" >> "$report" || status=1
cat "$report"
exit $status
