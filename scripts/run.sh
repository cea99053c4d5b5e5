#!/usr/bin/env bash
# `make run`: a private PostgreSQL under var/pg, migrations, a demo account,
# then nginx in the foreground on 127.0.0.1:$PORT.  Ctrl-C or SIGTERM stops
# nginx and PostgreSQL both: nothing it started is left running.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
module=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
port=${PORT:-8080}
var="$top/var"
prefix="$var/nginx"
pgdir="$var/pg"
nginx_bin=${NGINX:-/usr/sbin/nginx}

mkdir -p "$prefix/spool" "$prefix/client_body"

nginx_pid=
cleanup() {
    trap - INT TERM EXIT
    if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
        kill -TERM "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
    fi
    "$top/scripts/pg.sh" stop "$pgdir" || true
    echo "ngx_prefs: stopped" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# make does not pass a SIGTERM on to its recipe: watch it instead
watch_pid=${RUN_PARENT:-$PPID}

"$top/scripts/pg.sh" start "$pgdir"
cp "$pgdir/conninfo" "$var/prefs.conninfo"
db=$(cat "$var/prefs.conninfo")

key="$var/secret.key"
if [ ! -s "$key" ]; then
    (umask 077 && "$top/build/prefs-secret" keygen > "$key")
fi
export PREFS_SECRET_KEY="$key"

prefsctl="$top/tools/prefsctl"
"$prefsctl" migrate >/dev/null
if ! "$prefsctl" account list | grep -q '"ClientId" *: *"demo"'; then
    "$prefsctl" account create demo --name "Demo Company" >/dev/null
fi

# a rich demo configuration (locales, programs, filters, consents, fields)
if "$prefsctl" config export demo | grep -q '"Generation" *: *0\b'; then
    "$prefsctl" config import demo "$top/conf/demo-config.json" >/dev/null
fi

# the administrator's secret is shown once: a fresh one each run
if "$prefsctl" user list demo | grep -q '"UserName" *: *"admin"'; then
    secret=$("$prefsctl" user rotate-secret demo admin | sed -n 's/.*"Secret" *: *"\([^"]*\)".*/\1/p')
    "$prefsctl" user retire-secrets demo admin --keep 1 >/dev/null
else
    secret=$("$prefsctl" user create demo admin --group Administrators | sed -n 's/.*"Secret" *: *"\([^"]*\)".*/\1/p')
fi

user=
[ "$(id -u)" = 0 ] && user="user root;"
sed -e "s|@MODULE@|$module|g" -e "s|@DATABASE@|$db|g" \
    -e "s|@PORT@|$port|g" -e "s|@PREFIX@|$prefix|g" -e "s|@USER@|$user|g" \
    -e "s|@KEY@|$key|g" \
    "$top/conf/dev.conf.in" > "$prefix/nginx.conf"

"$nginx_bin" -t -q -p "$prefix" -c "$prefix/nginx.conf"

cat <<MSG

  ngx_prefs is serving on http://127.0.0.1:$port  (Ctrl-C stops it)

  database   $db
  account    demo (ClientId "demo")
  user       admin (group Administrators)
  secret     $secret   (shown once; a new one each run)

  curl -s http://127.0.0.1:$port/prefs/status
  curl -s -H "Authorization: \$(tools/pnauth demo admin $secret)" \\
       http://127.0.0.1:$port/Profiles/v4/demo/Users
  curl -s -H "Authorization: \$(tools/pnauth demo admin $secret)" \\
       -H "Accept-Language: de-CH" http://127.0.0.1:$port/Profiles/v4/demo/Programs
  curl -s -H "Authorization: \$(tools/pnauth demo admin $secret)" \\
       -H 'Content-Type: application/json' \\
       -d '{"CustomerName":{"FirstName":"Jane"},"CustomFields":[{"Name":"FavoriteCategory","Value":"Garden"}]}' \\
       http://127.0.0.1:$port/Profiles/v4/demo/Profile
  curl -s -H "Authorization: \$(tools/pnauth demo admin $secret)" \\
       "http://127.0.0.1:$port/Profiles/v4/demo/Events?limit=10"
  tools/prefsctl user list demo
  tools/prefsctl job enqueue prefs.echo '{"value":"hello"}'

MSG

"$nginx_bin" -p "$prefix" -c "$prefix/nginx.conf" &
nginx_pid=$!

while kill -0 "$nginx_pid" 2>/dev/null && kill -0 "$watch_pid" 2>/dev/null; do
    sleep 1 &
    wait $! || true
done
