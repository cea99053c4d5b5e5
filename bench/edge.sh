#!/usr/bin/env bash
# bench/edge.sh: consent at the edge (docs/edge.md).  The same small
# proxied request, same nginx, same run: through a plain proxy_pass
# location, and through one with prefs_edge, prefs_require_consent and the
# X-Consent-* headers, visitors cycling over 1,000 profiles the workers
# keep (warm); then the same with prefs_edge_cache_size far below the
# visitors (cold: most requests wait for a query), with the miss rate.
#
#   bench/edge.sh [SECONDS] [CONNECTIONS]     (SECONDS: each of 7 wrk runs)
#
# Needs wrk (Debian package) and python3 (to sign the visitors' tokens with
# a link key the benchmark puts in the account).  Writes bench/out/edge.txt
# (and the wrk outputs beside it); var/bench-edge-nginx/,
# var/bench-edge-secret.key and the database under var/bench-edge-pg are
# removed at exit.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
secs=${1:-10}
conns=${2:-50}
port=18191
out="$top/bench/out"
pgdir="$top/var/bench-edge-pg"
prefix="$top/var/bench-edge-nginx"
key="$top/var/bench-edge-secret.key"
report="$out/edge.txt"
profiles=2000

. bench/lib.sh
bench_need wrk "apt-get install wrk"
bench_need python3
bench_build

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_database
bench_account bench Administrators admin

# the visitors: profiles with Marketing granted, and a link key the
# benchmark knows (sealed as the module seals its own)
linkkey=bench0123456789abcdef0123456789a
sealed=$(echo "$linkkey" | build/prefs-secret seal "$key")
account=$(psql -X -A -t -q -d "$db" -v ON_ERROR_STOP=1 -v sealed="$sealed" <<'SQL'
INSERT INTO prefs_link_key (account_id, key_id, sealed)
SELECT account_id, 1, :'sealed' FROM prefs_account WHERE client_id = 'bench';
SELECT account_id FROM prefs_account WHERE client_id = 'bench';
SQL
)
psql -X -q -d "$db" -v ON_ERROR_STOP=1 -v account="$account" -v n="$profiles" <<'SQL'
INSERT INTO prefs_profile (account_id, default_locale)
SELECT :'account', 'en-US' FROM generate_series(1, :'n');
INSERT INTO prefs_consent (account_id, profile_id, type_name, version, status, customer_date)
SELECT :'account', profile_id, 'Marketing', '2.0', 1, now()
  FROM prefs_profile WHERE account_id = :'account';
SQL

# one wrk script per set of visitors: each request a visitor's cookie
python3 - "$db" "$account" "$linkkey" "$out" <<'PY'
import base64, hashlib, hmac, subprocess, sys, time
db, account, key, out = sys.argv[1:]
ids = subprocess.check_output(["psql", "-X", "-A", "-t", "-d", db, "-c",
    "SELECT profile_id FROM prefs_profile WHERE account_id = %d ORDER BY profile_id" % int(account)]).split()
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def token(pid):
    payload = "1|%s|%s|1|%d|1|0|0|edge" % (account, pid.decode(), time.time() + 86400)
    t = "pl1." + b64(payload.encode())
    return t + "." + b64(hmac.new(key.encode(), t.encode(), hashlib.sha256).digest())
for name, path, n in (("warm", "/edge", 1000), ("plain", "/plain", 1000), ("cold", "/edge", len(ids))):
    with open("%s/edge-%s.lua" % (out, name), "w") as f:
        f.write("local reqs = {}\n")
        for pid in ids[:n]:
            f.write('reqs[#reqs+1] = wrk.format("GET", "%s", {["Host"] = "127.0.0.1", ["Cookie"] = "prefs=%s"})\n'
                    % (path, token(pid)))
        f.write("local i = 0\nrequest = function() i = i % #reqs + 1; return reqs[i] end\n")
PY

start_nginx() {
    cat > "$prefix/nginx.conf" <<CONF
$(bench_nginx_head)
http {
    access_log off;
    prefs_database "$db";
    prefs_secret_key $key;
    prefs_spool $prefix/spool;
    prefs_edge_cache_size $1;
    upstream echo { server 127.0.0.1:$port; keepalive 32; }
    server {
        listen 127.0.0.1:$port;
        location = /prefs/status { prefs_api status; }
        location /echo { return 200 "ok \$http_x_consent_marketing\n"; }
        location /plain {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://echo/echo;
        }
        location /edge {
            prefs_edge bench \$cookie_prefs;
            prefs_require_consent Marketing;
            prefs_edge_unknown deny;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Consent-Marketing \$prefs_consent_Marketing;
            proxy_pass http://echo/echo;
        }
    }
}
CONF
    /usr/sbin/nginx -p "$prefix" -c "$prefix/nginx.conf"
    sleep 1
}

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'; }
p99() { sed -n 's/^ *99% *\([0-9.]*[a-z]*\).*/\1/p'; }
reqs() { sed -n 's/^ *\([0-9]*\) requests in.*/\1/p'; }
non2xx() { sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p'; }
queries() {
    sleep 1.2   # the workers copy their counters each second
    curl -s "http://127.0.0.1:$port/prefs/status" \
        | python3 -c 'import json,sys; print(sum(w.get("Queries", 0) for w in json.load(sys.stdin).get("Workers", [])))'
}

# --- warm: 1,000 visitors, the workers keep 10,000 -----------------------------

start_nginx 10000
sample=$(curl -s -H "Cookie: $(sed -n '2s/.*\["Cookie"\] = "\([^"]*\)".*/\1/p' "$out/edge-warm.lua")" \
    "http://127.0.0.1:$port/edge")
[ "$sample" = "ok Granted" ] || { echo "bench: /edge answers \"$sample\"" >&2; tail -5 "$prefix/logs/error.log" >&2; exit 1; }

wrk -t2 -c"$conns" -d3s -s "$out/edge-warm.lua" "http://127.0.0.1:$port" > /dev/null   # fills the caches
# three rounds, plain and warm in turn (a busy machine moves both alike);
# the median round of each is reported
q0=$(queries)
for round in 1 2 3; do
    wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$out/edge-plain.lua" "http://127.0.0.1:$port" \
        > "$out/edge-plain-$round.wrk"
    wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$out/edge-warm.lua" "http://127.0.0.1:$port" \
        > "$out/edge-warm-$round.wrk"
done
q1=$(queries)
median() {
    for round in 1 2 3; do echo "$(rps < "$out/edge-$1-$round.wrk") $round"; done | sort -n | sed -n '2s/.* //p'
}
cp "$out/edge-plain-$(median plain).wrk" "$out/edge-plain.wrk"
cp "$out/edge-warm-$(median warm).wrk" "$out/edge-warm.wrk"
plain=$(rps < "$out/edge-plain.wrk")
warm=$(rps < "$out/edge-warm.wrk")
rounds="plain $(for r in 1 2 3; do printf '%s ' "$(rps < "$out/edge-plain-$r.wrk")"; done)/ warm $(for r in 1 2 3; do printf '%s ' "$(rps < "$out/edge-warm-$r.wrk")"; done)"
warm_queries=$((q1 - q0 - 1))
bench_stop_nginx

# --- cold: 2,000 visitors, the workers keep 100 each ----------------------------

start_nginx 100
q0=$(queries)
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$out/edge-cold.lua" "http://127.0.0.1:$port" > "$out/edge-cold.wrk"
q1=$(queries)
cold=$(rps < "$out/edge-cold.wrk")
cold_reqs=$(reqs < "$out/edge-cold.wrk")
cold_queries=$((q1 - q0 - 1))

{
    echo "edge  $(date -u +%FT%TZ)  $rev  $(nproc) cores, 2 workers, $conns connections, ${secs}s each"
    echo "plain proxy_pass requests/s       $plain   (p99 $(p99 < "$out/edge-plain.wrk"))"
    echo "prefs_edge + require, warm        $warm   (p99 $(p99 < "$out/edge-warm.wrk"), queries during the run: $warm_queries)"
    echo "ratio warm/plain                  $(awk -v a="$warm" -v s="$plain" 'BEGIN { printf "%.2f", a / s }')   (medians of 3 rounds: $rounds)"
    echo "non-2xx (plain, warm)             $(non2xx < "$out/edge-plain.wrk" || true) $(non2xx < "$out/edge-warm.wrk" || true)"
    echo "cold: 2,000 visitors, cache 100   $cold   (p99 $(p99 < "$out/edge-cold.wrk"), non-2xx $(non2xx < "$out/edge-cold.wrk" || true))"
    echo "cold misses                       $cold_queries queries / $cold_reqs requests ($(awk -v q="$cold_queries" -v r="$cold_reqs" 'BEGIN { printf "%.0f", r ? 100 * q / r : 0 }')%)"
} | tee "$report"
