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
    -e "s|@KEY@|$key|g" -e "s|@TOP@|$top|g" \
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

# The preference center, with a link for a demo profile (a new link each
# run: links are signed, not stored).  The profile is the first with the
# address jane.demo@example.com, made once.
api="http://127.0.0.1:$port/Profiles/v4/demo"
call() {
    local method=$1 path=$2 body=${3:-}
    curl -s --max-time 10 -X "$method" \
         -H "Authorization: $("$top/tools/pnauth" demo admin "$secret")" \
         ${body:+-H 'Content-Type: application/json' -d "$body"} "$api/$path"
}
for _ in $(seq 1 50); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/prefs/status" && break
    sleep 0.2
done
demo_id=$(call GET 'Profile/Email?emailAddress=jane.demo%40example.com' \
          | sed -n 's/.*"ProfileId" *: *\([0-9][0-9]*\).*/\1/p' | head -1)
if [ -z "$demo_id" ]; then
    demo_id=$(call POST Profile '{"CustomerName":{"FirstName":"Jane","LastName":"Demo"},"CustomFields":[{"Name":"FavoriteCategory","Value":"Garden"}],"Emails":[{"EmailAddress":"jane.demo@example.com","EmailAddressType":"Personal","IsDefault":true}]}' \
              | sed -n 's/.*"ProfileId" *: *\([0-9][0-9]*\).*/\1/p')
fi
link=$(call POST "Profile/$demo_id/Links" \
       '{"Scopes":["preferences:read","preferences:write","consents:write","unsubscribe:NewsletterEmail"],"Lifetime":86400}')
page=$(printf '%s' "$link" | sed -n 's/.*"Url" *: *"\([^"]*\)".*/\1/p')
unsubscribe=$(printf '%s' "$link" | sed -n 's/.*"UnsubscribeUrls" *: *\[{[^]]*"Url" *: *"\([^"]*\)".*/\1/p')
if [ -n "$page" ]; then
    cat <<MSG
  The preference center (html/preference-center/) is served at
  http://127.0.0.1:$port/preference-center/ ; a link for the demo profile
  $demo_id (valid one day):

    $page

  one-click unsubscribe (RFC 8058) from NewsletterEmail:

    curl -s -d List-Unsubscribe=One-Click '$unsubscribe'

MSG
else
    echo "  (no demo link: $link)" >&2
fi

while kill -0 "$nginx_pid" 2>/dev/null && kill -0 "$watch_pid" 2>/dev/null; do
    sleep 1 &
    wait $! || true
done
