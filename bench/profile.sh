#!/usr/bin/env bash
# bench/profile.sh: bench/profile_read and bench/profile_write.  wrk on an
# authenticated GET Profile/{id} of a realistic profile, over 100,000 such
# profiles picked at random, and on a preference upsert (POST
# Profile/{id}/Preferences); in the same run pgbench -S and pgbench -N
# on the same database with as many connections as nginx's pools have.
#
#   bench/profile.sh [SECONDS] [CONNECTIONS]
#
# (PROFILES=N in the environment builds N profiles instead of 100,000: for
# trying the script out quickly, not for numbers.)
#
# A profile: 2 emails, 1 mobile phone, 1 postal address (the three kinds
# of contact point), 10 preferences over 7 filters and those contact
# points, 5 consent rows over the 3 consent types (3 current, 2 history),
# 5 custom fields; written straight into the tables with set-based SQL,
# then their rendered copies built in one statement (prefs_profile_doc_build).
# Then the write engine's batch figure: 1,000 profiles of that shape
# through one prefs_engine_apply call (bench/engine_batch.sql), profiles/s
# and rows/s, and the same profiles updated in one call; and the same
# forced through the engine's per-profile path (prefs.engine_set_based off).
# Goals (issue 11): read >= 0.5 of pgbench -S, write >= 0.6 of pgbench -N
# with p99 < 20 ms; one database round trip per request
# (the workers' "Queries" counters of the status endpoint; the auth cache
# makes authentication free); and the WAL a write and a pgbench -N
# transaction write (pg_current_wal_lsn before and after each run).
#
# Needs wrk and pgbench (Debian packages).  Writes bench/out/profile.txt.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
secs=${1:-10}
conns=${2:-32}
port=${PORT:-18181}     # PORT=N: another port, when something else has 18181
profiles=${PROFILES:-100000}
workers=2
dbconns=16          # prefs_db_connections: per worker
out="$top/bench/out"
pgdir="$top/var/bench-pg"
prefix="$top/var/bench-nginx"
key="$top/var/bench-secret.key"
report="$out/profile.txt"

. bench/lib.sh
bench_need wrk "apt-get install wrk"
bench_need pgbench "apt-get install postgresql-contrib"
bench_need jq "apt-get install jq"
bench_build

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_database
bench_account bench Integration

# --------------------------------------------------------------------------
# 100,000 profiles, set-based, straight into the tables prefs_profile_get
# reads; values valid for the demo configuration (checked below through
# the API).  Rows of one profile are written together, as the API would.

t0=$(date +%s)
psql -X -q -d "$db" -v ON_ERROR_STOP=1 -v n="$profiles" -f bench/profiles.sql
psql -X -q -d "$db" -v ON_ERROR_STOP=1 -c 'VACUUM ANALYZE' >/dev/null
build_secs=$(( $(date +%s) - t0 ))
# every profile has its rendered copy (prefs_profile_doc): the API's
# writes keep it, a load straight into the tables builds it, set-based
# (after ANALYZE: the renderer's plans need the tables' statistics)
t1=$(date +%s)
copies=$(psql -X -At -d "$db" -v ON_ERROR_STOP=1 -c "SELECT prefs_profile_doc_build(NULL)")
copy_secs=$(( $(date +%s) - t1 ))
read -r lo hi count < <(psql -X -At -F ' ' -d "$db" -c \
    "SELECT min(profile_id), max(profile_id), count(*) FROM prefs_profile p
       JOIN prefs_account a USING (account_id) WHERE a.client_id = 'bench'")
[ "$count" = "$profiles" ] && [ $((hi - lo + 1)) = "$profiles" ] ||
    { echo "bench: expected $profiles profiles with contiguous ids, have $count ($lo..$hi)" >&2; exit 1; }
rows=$(psql -X -At -d "$db" -c "SELECT (SELECT count(*) FROM prefs_preference) || ' preferences, '
    || (SELECT count(*) FROM prefs_consent_assoc) || ' consent links, '
    || (SELECT count(*) FROM prefs_consent) || ' consents, '
    || (SELECT count(*) FROM prefs_profile_custom_field) || ' custom fields, '
    || pg_size_pretty(pg_database_size(current_database()))")

# pgbench's tables, in the same database (pgbench_*: no collision)
pgbench -i -s 10 -q "$db" >"$out/pgbench-init.log" 2>&1 ||
    { cat "$out/pgbench-init.log" >&2; exit 1; }

cat > "$prefix/nginx.conf" <<CONF
$(bench_nginx_head "$workers")
http {
    access_log off;
    prefs_database "$db";
    prefs_db_connections $dbconns;
    prefs_secret_key $key;
    prefs_spool $prefix/spool;
    prefs_auth_cache_time 60s;
    server {
        listen 127.0.0.1:$port;
        location /Profiles/v4/ { prefs_api v4; }
        location = /prefs/status { prefs_api status; }
    }
}
CONF
: > "$prefix/logs/error.log"
/usr/sbin/nginx -p "$prefix" -c "$prefix/nginx.conf"
sleep 1

base="http://127.0.0.1:$port"
auth=$(tools/pnauth bench api "$secret")

# a sample profile through the API: it must render every part
mid=$(( (lo + hi) / 2 ))
curl -sf -H "Authorization: $auth" "$base/Profiles/v4/bench/Profile/$mid" > "$out/profile-sample.json" ||
    { echo "bench: GET Profile/$mid failed" >&2; curl -s -H "Authorization: $auth" "$base/Profiles/v4/bench/Profile/$mid" >&2;
      tail -5 "$prefix/logs/error.log" >&2; exit 1; }
shape=$(jq -c '[(.Emails | length), (.PhoneNumbers | length), (.Addresses | length),
                ([.Emails[].EmailPreferences[], .PhoneNumbers[].PhonePreferences[],
                  .Addresses[].AddressPreferences[], .ProfilePreferences[]] | length),
                (.ProfilePreferences | length), (.Consents | length), (.CustomFields | length)]' "$out/profile-sample.json")
hist=$(curl -sf -H "Authorization: $auth" "$base/Profiles/v4/bench/Profile/$mid?includeConsentHistory=true" | jq '.Consents | length')
[ "$shape" = "[2,1,1,10,0,3,5]" ] && [ "$hist" = 5 ] ||
    { echo "bench: the sample profile renders as $shape (emails, phones, addresses, preferences," \
           "profile-level preferences, consents, custom fields), $hist consents with history;" \
           "expected [2,1,1,10,0,3,5] and 5" >&2; exit 1; }
bytes=$(wc -c < "$out/profile-sample.json")
# the upsert the write run does, once through the API, must be accepted
wbody="{\"Emails\":[{\"EmailAddress\":\"p$mid.home@example.com\",\"EmailPreferences\":[{\"FilterId\":\"NewsletterEmail\",\"PreferenceType\":1,\"FrequencyId\":\"W\",\"PreferenceAttributes\":[{\"Key\":\"Topic\",\"Value\":\"Recipes\"}]}]}]}"
code=$(curl -s -o "$out/upsert-sample.json" -w '%{http_code}' -H "Authorization: $auth" \
    -H 'Content-Type: application/json' --data "$wbody" "$base/Profiles/v4/bench/Profile/$mid/Preferences")
[ "$code" = 200 ] || { echo "bench: POST Profile/$mid/Preferences answers $code:" >&2; cat "$out/upsert-sample.json" >&2; exit 1; }

# wrk scripts: random profile ids; Host set explicitly (wrk.format called
# from a script lacks it otherwise)
bench_read_lua bench "$out/profile_read.lua"
cat > "$out/profile_write.lua" <<'LUA'
-- one preference upserted: NewsletterEmail on the home email, its
-- FrequencyId flipped from what this thread last set (seeded "W")
local n = 0
local last = {}
function setup(thread) n = n + 1; thread:set("tid", n) end
function init(args)
    auth, lo, hi, host = args[1], tonumber(args[2]), tonumber(args[3]), args[4]
    math.randomseed(os.time() * 100 + tid + 50)
end
function request()
    local id = math.random(lo, hi)
    local f = last[id] == "M" and "W" or "M"
    last[id] = f
    return wrk.format("POST", "/Profiles/v4/bench/Profile/" .. id .. "/Preferences",
        { ["Host"] = host, ["Authorization"] = auth, ["Content-Type"] = "application/json" },
        '{"Emails":[{"EmailAddress":"p' .. id .. '.home@example.com","EmailPreferences":[{'
        .. '"FilterId":"NewsletterEmail","PreferenceType":1,"FrequencyId":"' .. f .. '",'
        .. '"PreferenceAttributes":[{"Key":"Topic","Value":"Recipes"}]}]}]}')
end
LUA

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'; }
p99() { sed -n 's/^ *99% *\([0-9.]*[a-z]*\).*/\1/p'; }
done_reqs() { sed -n 's/^ *\([0-9]*\) requests in .*/\1/p'; }
non2xx() { local v; v=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p'); echo "${v:-0}"; }
sockerr() { local v; v=$(sed -n 's/^ *Socket errors: *//p'); echo "${v:-none}"; }
# the workers' Queries counters, summed (each process copies its counters
# into the status zone once a second: wait that long first).  The status
# request itself runs one query: a difference of two counts includes the
# first one's, which per_req takes off.
queries() { sleep 1.5; curl -sf "$base/prefs/status" | jq '[.Workers[].Queries] | add'; }
per_req() { awk -v q="$1" -v n="$2" 'BEGIN { printf("%.3f", n > 0 ? (q - 1) / n : 0) }'; }
dberrors() { curl -sf "$base/prefs/status" | jq '[.Workers[].Errors] | add'; }
# WAL written between two LSNs, per request (the other work of the
# database meanwhile is small: the status requests, autovacuum)
wal_lsn() { psql -X -At -d "$db" -c "SELECT pg_current_wal_lsn()"; }
wal_per() { psql -X -At -d "$db" -c "SELECT round(pg_wal_lsn_diff('$2', '$1') / greatest($3, 1))"; }
events() { psql -X -At -d "$db" -c "SELECT count(*) FROM prefs_event WHERE event_type = 'preference.updated'"; }
allevents() { psql -X -At -d "$db" -c "SELECT count(*) FROM prefs_event"; }
# one signature for every run (well inside the account's 900 s window), so
# that each worker authenticates once, in the warm-up, and then from cache
wrk_run() { # NAME LUA SECONDS
    wrk -t2 -c"$conns" -d"${3:-$secs}s" --latency -s "$2" "$base" -- \
        "$auth" "$lo" "$hi" "127.0.0.1:$port" > "$out/$1.wrk"
}

# warm-up: every worker authenticates and loads the configuration once,
# PostgreSQL's caches fill; its queries come before the first count
wrk_run warmup "$out/profile_read.lua" 3

acct=$(psql -X -At -d "$db" -c "SELECT account_id FROM prefs_account WHERE client_id = 'bench'")

# profile_read, warm
q0=$(queries)
wrk_run profile_read "$out/profile_read.lua"
q1=$(queries)
read_n=$(done_reqs < "$out/profile_read.wrk")

# pgbench -S: as many connections as the workers' pools together
pgb_c=$((dbconns * workers))
pgb_run() { # NAME ARGS...: tps into $pgb, p99 into $pgb_p99, failures into $pgb_fail
    local name=$1; shift
    rm -rf "$prefix/pgbench"; mkdir -p "$prefix/pgbench"
    pgbench -c "$pgb_c" -j 2 -T "$secs" -l --sampling-rate=0.1 --log-prefix="$prefix/pgbench/tx" \
        "$@" "$db" > "$out/$name.pgbench" 2>&1 || { cat "$out/$name.pgbench" >&2; exit 1; }
    pgb=$(sed -n 's/^tps = \([0-9.]*\) (without.*/\1/p' "$out/$name.pgbench" | head -1)
    [ -n "$pgb" ] || pgb=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out/$name.pgbench" | tail -1)
    pgb_fail=$(sed -n 's/^number of failed transactions: *\([0-9]*\).*/\1/p' "$out/$name.pgbench")
    pgb_p99=$(cat "$prefix"/pgbench/tx.* | awk '{ print $3 }' | sort -n |
        awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; printf("%.2fms", v[i] / 1000) }')
}
pgb_run pgbench_select -S
sel_tps=$pgb sel_p99=$pgb_p99 sel_fail=${pgb_fail:-n/a}
# pgbench -N: the simple-update transaction (three updates and an insert),
# the baseline of the write
wl0=$(wal_lsn)
pgb_run pgbench_update -N
wl1=$(wal_lsn)
upd_tps=$pgb upd_p99=$pgb_p99 upd_fail=${pgb_fail:-n/a}
upd_n=$(sed -n 's/^number of transactions actually processed: *\([0-9]*\).*/\1/p' "$out/pgbench_update.pgbench")
upd_wal=$(wal_per "$wl0" "$wl1" "$upd_n")

# diagnostic: the read's SQL alone, prepared as nginx prepares it, from
# pgbench with the same connections: what the database can give
printf '\\set id random(%s, %s)\nSELECT body FROM prefs_profile_read(%s, :id, false);\n' "$lo" "$hi" "$acct" \
    > "$out/profile_get.pgbench.sql"
pgb_run profile_get -M prepared -f "$out/profile_get.pgbench.sql"
sql_tps=$pgb sql_p99=$pgb_p99

# profile_write
e0=$(events); a0=$(allevents)
q2=$(queries)
wl2=$(wal_lsn)
wrk_run profile_write "$out/profile_write.lua"
wl3=$(wal_lsn)
q3=$(queries)
e1=$(events); a1=$(allevents)
write_n=$(done_reqs < "$out/profile_write.wrk")
write_wal=$(wal_per "$wl2" "$wl3" "$write_n")

# the write engine's batch (bench/engine_batch.sql): 1,000 profiles of the
# import's shape through one prefs_engine_apply call, then the same
# profiles again by ProfileId (one preference changed each), after the
# runs above (it adds profiles they do not pick)
uid=$(psql -X -At -d "$db" -c "SELECT user_id FROM prefs_user WHERE account_id = $acct AND user_name = 'api'")
# set-based (the engine's path for new profiles), then forced through the
# per-profile path (what the set-based path replaces), the same shape
for c in 1 p; do
    psql -X -d "$db" -v ON_ERROR_STOP=1 -v acct="$acct" -v uid="$uid" -v n="${BATCH:-1000}" \
        -v tag="batch$c" $( [ "$c" = p ] && echo "-v per_item=1" ) \
        -f bench/engine_batch.sql > "$out/engine_batch$c.txt" 2>&1 ||
        { echo "bench: bench/engine_batch.sql failed:" >&2; cat "$out/engine_batch$c.txt" >&2; exit 1; }
done
batch_line() { # create|update 1|p: the report's line
    awk -v k="$1" '$1 == k { printf("%s profiles in %ss: %s profiles/s, %s rows/s (%s data rows, %s events, %s failed)",
                                    $2, $3, $4, $6, $5, $7, $8) }' "$out/engine_batch$2.txt"
}

read_rps=$(rps < "$out/profile_read.wrk")
write_rps=$(rps < "$out/profile_write.wrk")
logged=$(grep -cE '\[(error|alert|crit|emerg)\]' "$prefix/logs/error.log" || true)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf("%.2f", b > 0 ? a / b : 0) }'; }

{
    echo "profile  $(date -u +%FT%TZ)  $(nproc) cores, $workers workers, $conns connections, ${secs}s each"
    echo "build                      $rev"
    echo "data                       $profiles profiles built in ${build_secs}s ($rows)"
    echo "profile                    $bytes bytes (2 emails, 1 mobile, 1 address, 10 preferences, 3 of 5 consents, 5 custom fields)"
    echo "profile_read requests/s    $read_rps   (p99 $(p99 < "$out/profile_read.wrk"); every profile has its rendered copy)"
    echo "rendered copies            $copies built in ${copy_secs}s after the load (prefs_profile_doc_build, one statement); no read renders"
    echo "profile_write requests/s   $write_rps   (p99 $(p99 < "$out/profile_write.wrk"))"
    echo "pgbench -S tps             $sel_tps   (p99 $sel_p99; -c $pgb_c = prefs_db_connections $dbconns x $workers workers, -j 2)"
    echo "ratio read/pgbench -S      $(ratio "$read_rps" "$sel_tps")   (goal >= 0.50)"
    echo "pgbench -N tps             $upd_tps   (p99 $upd_p99; same -c/-j)"
    echo "ratio write/pgbench -N     $(ratio "$write_rps" "$upd_tps")   (goal >= 0.60, p99 < 20 ms)"
    echo "WAL per write              $write_wal bytes   (pgbench -N: $upd_wal bytes a transaction)"
    echo "prefs_profile_read alone   $sql_tps   (p99 $sql_p99; pgbench -M prepared, same -c/-j; read/this $(ratio "$read_rps" "$sql_tps"))"
    echo "engine batch create        $(batch_line create 1)   (set-based)"
    echo "engine batch update        $(batch_line update 1)   (same profiles by ProfileId, one preference each)"
    echo "  create, per profile      $(batch_line create p)   (prefs.engine_set_based off)"
    echo "  update, per profile      $(batch_line update p)"
    echo "queries per read           $(per_req $((q1 - q0)) "$read_n")   ($((q1 - q0 - 1)) queries / $read_n requests; goal 1)"
    echo "queries per write          $(per_req $((q3 - q2)) "$write_n")   ($((q3 - q2 - 1)) queries / $write_n requests; goal 1)"
    echo "writes that changed        $(ratio $((e1 - e0)) "$write_n")   ($((e1 - e0)) preference.updated events / $write_n requests; $((a1 - a0)) events in all)"
    echo "non-2xx                    read $(non2xx < "$out/profile_read.wrk"), write $(non2xx < "$out/profile_write.wrk");" \
         "socket errors: read $(sockerr < "$out/profile_read.wrk"); write $(sockerr < "$out/profile_write.wrk")"
    echo "pgbench failed tx          -S $sel_fail, -N $upd_fail"
    echo "database errors            $(dberrors) (workers' Errors counters)"
    echo "error.log                  $logged lines at error or worse"
} | tee "$report"
