#!/usr/bin/env bash
# bench/webhooks.sh: bench/webhooks.  Webhook deliveries per second to a
# local receiver, and latency from the write's commit to the receiver, at
# idle and under a burst.
#
#   bench/webhooks.sh [BURST] [SUBSCRIPTIONS]
#
# The receiver is nginx itself ("return 204" in a location of the same
# server), logging $msec and the webhook-id of each request; an event's
# recorded_date is its commit time to a millisecond or so (each event is
# written by a one-statement transaction).
#
#   idle:  100 events, one every 100 ms: latency p50/p90/p99/max
#   burst: BURST events (default 10,000) committed in one transaction, each
#          delivered to SUBSCRIPTIONS subscriptions (default 1): deliveries
#          per second from the commit to the last receipt, and the latency
#          of each delivery
#
# Goals (issue 6): p50 < 50 ms at idle, >= 2,000 deliveries/s.
# Writes bench/out/webhooks.txt.  The helper's webhook client posts over
# plain HTTP (allowed to 127.0.0.0/8 for the bench) with keep-alive.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
burst=${1:-10000}
nsubs=${2:-1}
port=18182
out="$top/bench/out"
pgdir="$top/var/bench-wh-pg"
prefix="$top/var/bench-wh-nginx"
key="$top/var/bench-wh-secret.key"
report="$out/webhooks.txt"

. bench/lib.sh
bench_build
mkdir -p "$prefix/conf"

cleanup() { bench_cleanup; }
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_database
tools/prefsctl account create bench --name Bench >/dev/null

q() { psql -X -q -A -t -d "$db" -v ON_ERROR_STOP=1 "$@"; }

for i in $(seq "$nsubs"); do
    secret="whsec_$(head -c 24 /dev/urandom | base64)"
    sealed=$(printf '%s' "$secret" | build/prefs-secret seal "$key")
    q -v sealed="$sealed" -v url="http://127.0.0.1:$port/hook/$i" <<'SQL'
INSERT INTO prefs_webhook_subscription (account_id, name, url, state,
    subscriptions, secret_sealed, validated_at)
SELECT account_id, 'bench', :'url', 'Active',
       '[{"EventType": "profile.created"}]', :'sealed', now()
  FROM prefs_account WHERE client_id = 'bench';
SQL
done
# the account's rate must not be what is measured
q -c "INSERT INTO prefs_webhook_settings (account_id, max_concurrent_requests, duration)
      SELECT account_id, 5000, 1 FROM prefs_account WHERE client_id = 'bench'" >/dev/null
acct=$(q -c "SELECT account_id FROM prefs_account WHERE client_id = 'bench'")

cat > "$prefix/conf/nginx.conf" <<CONF
load_module $prefix/ngx_http_prefs_module.so;
worker_processes 2;
daemon on;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 4096; }
http {
    prefs_database "$db";
    prefs_spool spool;
    prefs_secret_key $key;
    prefs_webhook_allow_http on;
    prefs_webhook_allow_network 127.0.0.0/8;
    log_format hook '\$msec \$http_webhook_id';
    access_log off;
    server {
        listen 127.0.0.1:$port;
        location /hook/ { access_log logs/hook.log hook; return 204; }
        location = /prefs/status { prefs_api status; }
    }
}
CONF
mkdir -p "$prefix/spool"
/usr/sbin/nginx -p "$prefix/" -c conf/nginx.conf
for _ in $(seq 100); do
    curl -s "http://127.0.0.1:$port/prefs/status" | grep -q '"Listening": *[1-9t]' && break
    sleep 0.1
done
sleep 1

# latency of each event delivered: receipt (hook.log) - recorded_date
latencies() {
    local from=$1
    q -c "CREATE TEMP TABLE h (t double precision, id bigint);" \
      -c "\\copy h FROM '$prefix/logs/hook.log' WITH (FORMAT text, DELIMITER ' ')" \
      -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)::numeric, 1) || ' ' ||
                 round(percentile_cont(0.9) WITHIN GROUP (ORDER BY l)::numeric, 1) || ' ' ||
                 round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)::numeric, 1) || ' ' ||
                 round(max(l)::numeric, 1) || ' ' || count(*) || ' ' ||
                 round((max(h.t) - min(extract(epoch FROM e.recorded_date)))::numeric, 3)
            FROM (SELECT h.t, h.id, (h.t - extract(epoch FROM e.recorded_date)) * 1000 AS l
                    FROM h JOIN prefs_event e ON e.event_id = h.id
                   WHERE e.event_id > $from) h
            JOIN prefs_event e ON e.event_id = h.id"
}

# idle: one event every 100 ms
: > "$prefix/logs/hook.log"
kill -USR1 "$(cat "$prefix/logs/nginx.pid")"; sleep 0.5
start=$(q -c "SELECT coalesce(max(event_id), 0) FROM prefs_event")
for i in $(seq 100); do
    q -c "SELECT prefs_event_add($acct, NULL, 'profile.created', $i, '{}')" >/dev/null
    sleep 0.1
done
sleep 2
read -r i50 i90 i99 imax icount _ <<< "$(latencies "$start" | tail -1)"

# burst
start=$(q -c "SELECT coalesce(max(event_id), 0) FROM prefs_event")
want=$((burst * nsubs))
q -c "SELECT count(*) FROM (SELECT prefs_event_add($acct, NULL, 'profile.created', g, jsonb_build_object('n', g))
      FROM generate_series(1, $burst) g) x" >/dev/null
for _ in $(seq 600); do
    n=$(q -c "SELECT count(*) FROM prefs_webhook_delivery d JOIN prefs_event e USING (event_id)
              WHERE d.state = 'delivered' AND e.event_id > $start")
    [ "$n" -ge "$want" ] && break
    sleep 0.5
done
read -r b50 b90 b99 bmax bcount bspan <<< "$(latencies "$start" | tail -1)"
rate=$(awk -v n="$bcount" -v s="$bspan" 'BEGIN { printf "%d", (s > 0 ? n / s : 0) }')

{
    echo "bench/webhooks.sh ($(date -u +%Y-%m-%dT%H:%M:%SZ), $rev, $(nproc) cores)"
    echo "receiver: nginx return 204 on the same host; client: the helper's webhook client, plain HTTP, keep-alive"
    echo "idle:  $icount events, latency commit->receipt ms: p50 $i50  p90 $i90  p99 $i99  max $imax"
    echo "burst: $burst events x $nsubs subscription(s) = $bcount deliveries in $bspan s: $rate deliveries/s"
    echo "       latency commit->receipt ms: p50 $b50  p90 $b90  p99 $b99  max $bmax"
    echo "goals: idle p50 < 50 ms; >= 2,000 deliveries/s"
} | tee "$report"
