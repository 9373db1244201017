#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests: `initdb` + `pg_ctl` in DIR, listening on
# 127.0.0.1 only (no Unix socket outside DIR), no docker, no system service.
#
#   scripts/pg-cluster.sh start DIR   initialise DIR if empty, start, print the URL
#   scripts/pg-cluster.sh stop DIR    stop the cluster (DIR stays; remove it yourself)
#   scripts/pg-cluster.sh url DIR     print the URL of a started cluster
#
# The URL is postgres://imadm:PASSWORD@127.0.0.1:PORT/imadm with scram-sha-256
# authentication: the password is random, kept in DIR/password (0600). The port is a free
# one picked at start. `IMADM_TEST_PG=$(scripts/pg-cluster.sh start DIR)` is what the
# server's PostgreSQL tests read.
#
# initdb refuses to run as root: as root, the cluster belongs to `nobody` (DIR is handed
# to it) and every PostgreSQL binary runs through setpriv as that user.
set -euo pipefail

die() { echo "pg-cluster: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 start|stop|url DIR"
cmd=$1
dir=$2

bindir=""
if command -v initdb >/dev/null 2>&1; then
    # A symlink onto PATH (e.g. /usr/local/bin/initdb): the real directory has psql too.
    bindir=$(dirname "$(readlink -f "$(command -v initdb)")")
else
    # Debian keeps the server binaries off PATH; take the newest major version.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/initdb" ] && { bindir=$d; break; }
    done
fi
[ -n "$bindir" ] || die "initdb not found (Debian: apt-get install postgresql)"

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
    else
        "$@"
    fi
}

data=$dir/data

url() {
    local port pw
    port=$(cat "$dir/port")
    pw=$(cat "$dir/password")
    echo "postgres://imadm:${pw}@127.0.0.1:${port}/imadm"
}

free_port() {
    # Bind port 0 and read back what the kernel chose; PostgreSQL takes it a moment later.
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

case $cmd in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    data=$dir/data
    if [ "$(id -u)" -eq 0 ]; then
        chown nobody:nogroup "$dir"
        chmod 0700 "$dir"
        as_owner test -x "$dir" ||
            die "nobody cannot reach $dir: pick a DIR whose parents others may search (e.g. under /tmp)"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        umask 077
        head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$dir/password"
        [ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$dir/password"
        # The superuser is the test user; scram for TCP, nothing else listens.
        as_owner "$bindir/initdb" -D "$data" -U imadm --pwfile="$dir/password" \
            --auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --no-locale \
            >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    fi
    free_port >"$dir/port"
    port=$(cat "$dir/port")
    as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null \
        || { cat "$dir/server.log" >&2; die "pg_ctl start failed"; }
    PGPASSWORD=$(cat "$dir/password") "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U imadm \
        -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE imadm" >/dev/null 2>&1 ||
        true # already there (a restart)
    url
    ;;
stop)
    [ -f "$data/PG_VERSION" ] || die "no cluster in $dir"
    as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    ;;
url)
    url
    ;;
*)
    die "usage: $0 start|stop|url DIR"
    ;;
esac
