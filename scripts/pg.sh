#!/usr/bin/env bash
# A private PostgreSQL cluster living under a directory.
#
# Usage: scripts/pg.sh start   DIR [--fast] [--standby-of PRIMARY_DIR]
#        scripts/pg.sh stop    DIR
#        scripts/pg.sh status  DIR      (prints running/stopped; exit 0/3)
#        scripts/pg.sh destroy DIR      (stop, then remove the cluster)
#
# Layout: DIR/data (data directory), DIR/run (unix socket directory),
# DIR/postgresql.log, DIR/conninfo (one line: "host=... port=5432
# dbname=prefs user=prefs").  The server listens on the unix socket only,
# trusts local connections, has the superuser "prefs" and a database "prefs".
# --fast (for tests) turns off fsync, synchronous_commit and full_page_writes.
# --standby-of PRIMARY_DIR makes a new cluster a streaming standby of the
# cluster of PRIMARY_DIR (pg_basebackup -R over its socket: initdb's trust
# lets local replication connections in) instead of an empty one.
#
# PostgreSQL refuses to run as root: as root the server runs as "postgres"
# (or a system user "ngxprefs", created if needed).  When that user cannot
# reach DIR (e.g. a checkout under a 0700 mktemp directory), or the socket
# path would be too long or awkward, the data and/or socket live in
# /tmp/ngx_prefs-pg-<sha1(DIR)[0:12]> and DIR/data, DIR/run are symlinks;
# DIR/conninfo always names the real socket directory.
#
# Exit status: 0 ok, 1 failure, 2 usage, 3 "stopped" (status only).
# Progress goes to stderr; only "status" writes to stdout.
set -euo pipefail

PORT=5432
SOCKET_NAME=".s.PGSQL.$PORT"
SUPERUSER=prefs
DBNAME=prefs
START_TIMEOUT=60

say() { echo "pg.sh: $*" >&2; }
die() { say "$*"; exit 1; }
usage() {
    sed -n '2,7s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

# --------------------------------------------------------------------------
# arguments

[ $# -ge 2 ] || usage
cmd=$1
dir_arg=$2
shift 2
fast=0
standby_of=
while [ $# -gt 0 ]; do
    case $1 in
        --fast) [ "$cmd" = start ] || usage; fast=1 ;;
        --standby-of)
            [ "$cmd" = start ] && [ $# -ge 2 ] || usage
            standby_of=$2; shift ;;
        *) say "unknown option '$1'"; usage ;;
    esac
    shift
done
case $cmd in
    start|stop|status|destroy) ;;
    *) say "unknown command '$cmd'"; usage ;;
esac
[ -n "$dir_arg" ] || usage

# Libpq/PG environment must not steer any of the commands below.
unset PGDATA PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGOPTIONS \
      PGSERVICEFILE PGPASSFILE PGCONNECT_TIMEOUT PGTARGETSESSIONATTRS || true

DIR=$(realpath -m -- "$dir_arg")
[ "$DIR" != / ] || die "refusing to use / as the cluster directory"
HASH=$(printf '%s' "$DIR" | sha1sum | cut -c1-12)
PRIV=/tmp/ngx_prefs-pg-$HASH

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

# --------------------------------------------------------------------------
# binaries

# pg_bindir [MAJOR]: the bin directory of MAJOR, or of the highest version.
pg_bindir() {
    local want=${1:-} d best=
    if [ -n "$want" ]; then
        d=/usr/lib/postgresql/$want/bin
        [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
        return 1
    fi
    best=$(for d in /usr/lib/postgresql/*/bin; do
               [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && basename "$(dirname "$d")"
           done | sort -V | tail -n1)
    [ -n "$best" ] || return 1
    echo "/usr/lib/postgresql/$best/bin"
}

# --------------------------------------------------------------------------
# the unprivileged user the server runs as

PGUSER_=$(id -un)
ensure_pguser() {
    [ $IS_ROOT -eq 1 ] || return 0
    local owner
    # An existing cluster keeps running as whoever owns it.
    if [ -n "${1:-}" ] && [ -e "$1/PG_VERSION" ]; then
        owner=$(stat -c %U -- "$1")
        if [ "$owner" != root ] && [ "$owner" != UNKNOWN ]; then
            PGUSER_=$owner
            return 0
        fi
    fi
    if id -u postgres >/dev/null 2>&1; then
        PGUSER_=postgres
    else
        if ! id -u ngxprefs >/dev/null 2>&1; then
            say "creating system user ngxprefs"
            useradd --system --no-create-home --home-dir /nonexistent \
                    --shell /usr/sbin/nologin ngxprefs \
                || die "could not create system user ngxprefs"
        fi
        PGUSER_=ngxprefs
    fi
}

# as_pg CMD...: run CMD as the server user, from / (PostgreSQL tools fail
# when they cannot read the current directory).
as_pg() {
    if [ $IS_ROOT -eq 1 ]; then
        (cd / && exec runuser -u "$PGUSER_" -- "$@")
    else
        (cd / && exec "$@")
    fi
}

# can_reach USER PATH: whether USER may traverse into PATH (root only).
can_reach() {
    (cd / && runuser -u "$1" -- test -x "$2") 2>/dev/null
}

# own PATH...: hand paths we created as root to the server user.
own() {
    [ $IS_ROOT -eq 1 ] && chown -h "$PGUSER_:" -- "$@"
    return 0
}

# --------------------------------------------------------------------------
# locating an existing cluster

# Prints the real data directory of DIR's cluster, or nothing.
find_data() {
    if [ -L "$DIR/data" ]; then
        readlink -- "$DIR/data"
    elif [ -d "$DIR/data" ]; then
        echo "$DIR/data"
    elif [ -d "$PRIV/data" ] && [ ! -L "$PRIV" ]; then
        # DIR itself vanished (e.g. a removed temp checkout): still find it.
        echo "$PRIV/data"
    fi
}

# pm_pid DATA: the postmaster PID recorded in DATA/postmaster.pid, if any.
pm_pid() {
    local pid=
    if [ -r "$1/postmaster.pid" ]; then
        read -r pid <"$1/postmaster.pid" 2>/dev/null || true
    fi
    case $pid in ''|*[!0-9]*) return 1 ;; esac
    echo "$pid"
}

# pm_dead PID: the process is gone or a zombie nobody reaped yet (kill -0
# still "works" on a zombie, which fools pg_ctl and the postmaster).
pm_dead() {
    local state
    [ -r "/proc/$1/stat" ] || return 0
    state=$(sed -e 's/^.*) //' -e 's/ .*//' "/proc/$1/stat" 2>/dev/null) || return 0
    [ "$state" = Z ] || [ "$state" = X ]
}

# is_running DATA: pg_ctl status (0 running, else not).
is_running() {
    local data=$1 bindir pid
    [ -n "$data" ] && [ -e "$data/PG_VERSION" ] || return 1
    bindir=$(pg_bindir "$(cat "$data/PG_VERSION")") || bindir=$(pg_bindir) || return 1
    as_pg "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1 || return 1
    if pid=$(pm_pid "$data") && pm_dead "$pid"; then
        return 1
    fi
    return 0
}

lock_dir() {
    mkdir -p -- "$DIR" || die "cannot create $DIR"
    exec 9>>"$DIR/.pg.lock" || die "cannot open $DIR/.pg.lock"
    flock -w 120 9 || die "timed out waiting for the lock on $DIR"
}

# private_base: create (or check) the private directory in /tmp.
private_base() {
    if [ -e "$PRIV" ] || [ -L "$PRIV" ]; then
        if [ ! -d "$PRIV" ] || [ -L "$PRIV" ]; then
            die "$PRIV exists and is not a directory"
        fi
        local uid mode want
        uid=$(stat -c %u -- "$PRIV")
        mode=$(stat -c %a -- "$PRIV")
        want=$(id -u "$PGUSER_")
        [ "$uid" = "$want" ] || [ "$uid" = "$(id -u)" ] \
            || die "$PRIV is owned by uid $uid, not $PGUSER_; remove it"
        (( (8#$mode & 8#022) == 0 )) || die "$PRIV is group/world writable; remove it"
    else
        mkdir -m 0711 -- "$PRIV" || die "cannot create $PRIV"
    fi
    chmod 0711 -- "$PRIV"
    own "$PRIV"
}

# --------------------------------------------------------------------------
# commands

write_conf() { # DATA SOCKDIR
    local data=$1 sock=$2 onoff=on conf tmp
    [ $fast -eq 1 ] && onoff=off
    conf="$data/ngx_prefs.conf"
    tmp=$(mktemp "$data/.ngx_prefs.conf.XXXXXX")
    cat >"$tmp" <<EOF
# Written by scripts/pg.sh on every start; edit the script, not this file.
listen_addresses = ''
port = $PORT
unix_socket_directories = '${sock//\'/\'\'}'
unix_socket_permissions = 0777
max_connections = 200
fsync = $onoff
synchronous_commit = $onoff
full_page_writes = $onoff
EOF
    if [ -f "$conf" ] && cmp -s "$tmp" "$conf"; then
        rm -f -- "$tmp"
        return 1 # unchanged
    fi
    chmod 0600 -- "$tmp"
    own "$tmp"
    mv -f -- "$tmp" "$conf"
    return 0
}

ensure_database() { # BINDIR SOCKDIR
    local bindir=$1 sock=$2 have
    have=$("$bindir/psql" -X -q -At -h "$sock" -p $PORT -U $SUPERUSER -d postgres \
               -c "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'") \
        || die "cannot query the new server (see $DIR/postgresql.log)"
    if [ "$have" != 1 ]; then
        say "creating database $DBNAME"
        "$bindir/createdb" -h "$sock" -p $PORT -U $SUPERUSER $DBNAME \
            || die "createdb $DBNAME failed"
    fi
}

write_conninfo() { # SOCKDIR
    local tmp
    tmp=$(mktemp "$DIR/.conninfo.XXXXXX")
    printf 'host=%s port=%s dbname=%s user=%s\n' "$1" $PORT $DBNAME $SUPERUSER >"$tmp"
    chmod 0644 -- "$tmp"
    mv -f -- "$tmp" "$DIR/conninfo"
}

safe_path() { [[ $1 =~ ^[A-Za-z0-9/_.+@%:~-]+$ ]]; }

cmd_start() {
    local bindir data sock log data_private=0 run_private=0 major

    lock_dir

    # Already running: refresh settings and conninfo, done.
    data=$(find_data)
    ensure_pguser "$data"
    if [ -n "$data" ] && is_running "$data"; then
        bindir=$(pg_bindir "$(cat "$data/PG_VERSION")") || die "no binaries for PostgreSQL $(cat "$data/PG_VERSION")"
        sock=$(sed -n 5p "$data/postmaster.pid")
        [ -n "$sock" ] || die "cannot read the socket directory from $data/postmaster.pid"
        if write_conf "$data" "$sock"; then
            as_pg "$bindir/pg_ctl" reload -D "$data" -s >/dev/null
        fi
        ensure_database "$bindir" "$sock"
        write_conninfo "$sock"
        say "already running (socket $sock)"
        return 0
    fi

    # Where do data and socket live?
    if [ -L "$DIR/data" ]; then
        [ "$(readlink -- "$DIR/data")" = "$PRIV/data" ] \
            || die "$DIR/data is a symlink to $(readlink -- "$DIR/data"), expected $PRIV/data"
        data_private=1
    elif [ -e "$DIR/data" ]; then
        [ -d "$DIR/data" ] || die "$DIR/data is not a directory"
        if [ $IS_ROOT -eq 1 ] && ! can_reach "$PGUSER_" "$DIR"; then
            die "user $PGUSER_ cannot reach $DIR (parent directory not searchable); run 'pg.sh destroy $DIR' to start over in $PRIV"
        fi
    elif [ $IS_ROOT -eq 1 ] && ! can_reach "$PGUSER_" "$DIR"; then
        say "user $PGUSER_ cannot reach $DIR; using $PRIV"
        data_private=1
    elif ! safe_path "$DIR"; then
        say "$DIR has characters unsafe for a socket path; using $PRIV"
        data_private=1
    fi

    run_private=$data_private
    if [ $run_private -eq 0 ]; then
        local sockpath="$DIR/run/$SOCKET_NAME"
        if [ "$(LC_ALL=C; echo ${#sockpath})" -gt 107 ]; then
            say "socket path $sockpath is too long; socket in $PRIV/run"
            run_private=1
        elif [ $IS_ROOT -eq 1 ] && id -u nobody >/dev/null 2>&1 && ! can_reach nobody "$DIR"; then
            # nginx workers (e.g. user nobody) must reach the socket too.
            say "unprivileged users cannot reach $DIR; socket in $PRIV/run"
            run_private=1
        fi
    fi
    if [ $run_private -eq 1 ] || [ $data_private -eq 1 ]; then
        private_base
    fi

    # data directory (and log next to it)
    if [ $data_private -eq 1 ]; then
        data=$PRIV/data
        log=$PRIV/postgresql.log
        [ -d "$data" ] || { mkdir -m 0700 -- "$data"; own "$data"; }
        [ -L "$DIR/data" ] || ln -s -- "$data" "$DIR/data"
        [ -e "$DIR/postgresql.log" ] || [ -L "$DIR/postgresql.log" ] \
            || ln -s -- "$log" "$DIR/postgresql.log"
    else
        data=$DIR/data
        log=$DIR/postgresql.log
        [ -d "$data" ] || { mkdir -m 0700 -- "$data"; own "$data"; }
    fi
    if [ ! -e "$log" ]; then
        : >"$log"
        own "$log"
    fi

    # socket directory: world-searchable so that clients running as other
    # users (nginx workers) can connect.
    if [ $run_private -eq 1 ]; then
        sock=$PRIV/run
        [ -d "$sock" ] || mkdir -- "$sock"
        chmod 0755 -- "$sock"
        own "$sock"
        if [ ! -L "$DIR/run" ]; then
            if [ -d "$DIR/run" ]; then rmdir -- "$DIR/run" 2>/dev/null || true; fi
            [ -e "$DIR/run" ] && die "$DIR/run exists and is not empty"
            ln -s -- "$sock" "$DIR/run"
        fi
    else
        sock=$DIR/run
        [ -L "$sock" ] && rm -f -- "$sock"
        [ -d "$sock" ] || mkdir -- "$sock"
        chmod 0755 -- "$sock"
        own "$sock"
    fi

    # initdb
    if [ -e "$data/PG_VERSION" ]; then
        major=$(cat "$data/PG_VERSION")
        bindir=$(pg_bindir "$major") \
            || die "$data was made by PostgreSQL $major, which is not installed"
    else
        bindir=$(pg_bindir) || die "no PostgreSQL server in /usr/lib/postgresql/*/bin (run scripts/deps.sh)"
        if [ -n "$(ls -A -- "$data")" ]; then
            die "$data is not empty but holds no cluster"
        fi
        if [ -n "$standby_of" ]; then
            local psock
            psock=$(sed -n 's/^host=\([^ ]*\) .*/\1/p' "$standby_of/conninfo" 2>/dev/null) \
                && [ -n "$psock" ] || die "no running cluster in $standby_of"
            say "pg_basebackup of $standby_of into $data"
            as_pg "$bindir/pg_basebackup" -h "$psock" -p $PORT -U $SUPERUSER \
                -D "$data" -R -X stream -c fast >&2 \
                || die "pg_basebackup failed"
        fi
    fi
    if [ ! -e "$data/PG_VERSION" ]; then
        say "initdb $data ($(basename "$(dirname "$bindir")"))"
        local ctype=C out
        if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then ctype=C.UTF-8; fi
        if ! out=$(as_pg env LC_ALL=C "$bindir/initdb" -D "$data" -U $SUPERUSER -A trust \
                       -E UTF8 --lc-collate=C --lc-ctype=$ctype --lc-messages=C \
                       --no-instructions 2>&1); then
            printf '%s\n' "$out" >&2
            die "initdb failed"
        fi
        printf "\ninclude_if_exists = 'ngx_prefs.conf'\n" >>"$data/postgresql.conf"
    fi

    write_conf "$data" "$sock" || true

    # A postmaster that died and is still an unreaped zombie would make the
    # new one believe it is running: drop its stale lock file.  (PostgreSQL
    # still refuses to start while old backends hold the shared memory.)
    local oldpid
    if oldpid=$(pm_pid "$data") && pm_dead "$oldpid" && [ -d "/proc/$oldpid" ]; then
        say "removing stale lock files (PID $oldpid is dead)"
        rm -f -- "$data/postmaster.pid"
        if [ "$(head -n1 "$sock/$SOCKET_NAME.lock" 2>/dev/null)" = "$oldpid" ]; then
            rm -f -- "$sock/$SOCKET_NAME.lock" "$sock/$SOCKET_NAME"
        fi
    fi

    say "starting (socket $sock)"
    # fd 9 holds our lock: do not let the server inherit it.
    if ! as_pg "$bindir/pg_ctl" start -D "$data" -l "$log" -w -t $START_TIMEOUT -s \
             9>&- >/dev/null 2>"$DIR/.pg_ctl.err"; then
        cat "$DIR/.pg_ctl.err" >&2 || true
        rm -f -- "$DIR/.pg_ctl.err"
        say "--- last lines of $log:"
        tail -n 20 -- "$log" >&2 || true
        die "start failed"
    fi
    rm -f -- "$DIR/.pg_ctl.err"

    ensure_database "$bindir" "$sock"
    write_conninfo "$sock"
    say "running; conninfo in $DIR/conninfo"
}

do_stop() {
    local data bindir
    data=$(find_data)
    if [ -z "$data" ] || [ ! -e "$data/PG_VERSION" ]; then
        say "no cluster in $DIR"
        return 0
    fi
    ensure_pguser "$data"
    if ! is_running "$data"; then
        say "not running"
        return 0
    fi
    bindir=$(pg_bindir "$(cat "$data/PG_VERSION")") || bindir=$(pg_bindir)
    say "stopping"
    if ! as_pg "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 60 -s >/dev/null; then
        if is_running "$data"; then
            say "fast shutdown failed; trying immediate"
            if ! as_pg "$bindir/pg_ctl" stop -D "$data" -m immediate -w -t 30 -s >/dev/null; then
                if is_running "$data"; then
                    die "could not stop the server of $data"
                fi
            fi
        fi
    fi
    say "stopped"
}

cmd_status() {
    local data
    data=$(find_data)
    [ -n "$data" ] && ensure_pguser "$data"
    if is_running "$data"; then
        echo running
        exit 0
    fi
    echo stopped
    exit 3
}

cmd_destroy() {
    local data
    if [ ! -e "$DIR" ] && [ ! -e "$PRIV" ]; then
        say "nothing to destroy at $DIR"
        return 0
    fi
    if [ -e "$DIR" ]; then lock_dir; fi
    do_stop
    data=$(find_data)
    # Only ever delete what looks like ours.
    if [ -d "$DIR/data" ] && [ ! -L "$DIR/data" ] && [ ! -e "$DIR/data/PG_VERSION" ] \
       && [ -n "$(ls -A -- "$DIR/data")" ]; then
        die "$DIR/data does not look like a cluster; not removing it"
    fi
    say "removing $DIR"
    rm -rf -- "$DIR/data" "$DIR/run" "$DIR/postgresql.log" "$DIR/conninfo" \
              "$DIR/.pg_ctl.err" "$DIR"/.conninfo.??????
    if [ -d "$PRIV" ] && [ ! -L "$PRIV" ]; then
        rm -rf -- "$PRIV"
    fi
    rm -f -- "$DIR/.pg.lock"
    if [ -d "$DIR" ]; then
        rmdir -- "$DIR" 2>/dev/null || say "left $DIR in place (it holds other files)"
    fi
}

case $cmd in
    start) cmd_start ;;
    stop) [ -e "$DIR" ] && lock_dir; do_stop ;;
    status) cmd_status ;;
    destroy) cmd_destroy ;;
esac
