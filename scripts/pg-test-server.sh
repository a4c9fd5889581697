#!/usr/bin/env bash
# Starts and stops a throwaway PostgreSQL (15 preferred) for uvdb's tests:
# loopback only, TLS with a test CA, SCRAM-SHA-256 passwords, and every
# non-TLS TCP connection refused, as in production.
#
#   scripts/pg-test-server.sh start DIR   DIR: a new or empty directory
#   . DIR/env.sh                          UVDB_TEST_* and PG* variables
#   scripts/pg-test-server.sh stop DIR    stops the server and removes DIR
#
# As root, the server runs as the `postgres` system user (PostgreSQL refuses
# root); otherwise it runs as the calling user. Progress goes to stderr;
# stdout carries only the summary printed by `start`.
# UVDB_PG_BINDIR overrides where initdb, pg_ctl and psql are taken from.
set -euo pipefail

readonly marker=.uvdb-test-server

uvdb_prog=pg-test-server
# shellcheck source=scripts/lib/pg-test-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/pg-test-common.sh"

usage() {
    echo "usage: $0 start DIR | stop DIR" >&2
    exit 2
}

# Variables left by a previously sourced env.sh must not steer our psql calls.
while read -r var; do unset "$var"; done < <(compgen -e | grep '^PG' || true)

have_ipv6_loopback() {
    grep -qi '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null
}

write_conf() {
    local dir=$1 port=$2 listen=$3
    cat >"$dir/data/uvdb-test.conf" <<EOF
# Written by scripts/pg-test-server.sh; included from postgresql.conf.
listen_addresses = '$listen'
port = $port
unix_socket_directories = '$dir'
max_connections = 120
shared_buffers = 128MB
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
ssl_ca_file = '$dir/ca.crt'
fsync = off
synchronous_commit = off
full_page_writes = off
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}

write_hba() {
    cat >"$1/data/pg_hba.conf" <<'EOF'
# Written by scripts/pg-test-server.sh. The unix socket lives in a mode-0700
# directory, so only the cluster owner (and root) can use the trust line.
# TYPE    DATABASE USER ADDRESS        METHOD
local     all      all                 trust
hostssl   all      all  127.0.0.1/32   scram-sha-256
hostssl   all      all  ::1/128        scram-sha-256
hostnossl all      all  0.0.0.0/0      reject
hostnossl all      all  ::/0           reject
EOF
}

# Prints a short summary on stdout (the only stdout output of this script).
summary() {
    local dir=$1
    # shellcheck disable=SC1091
    (
        . "$dir/env.sh"
        cat <<EOF
PostgreSQL test server running: 127.0.0.1:$UVDB_TEST_PORT (TLS, SCRAM-SHA-256)
  url:  postgresql://$UVDB_TEST_USER:***@127.0.0.1:$UVDB_TEST_PORT/$UVDB_TEST_DB?sslmode=verify-full&sslrootcert=$UVDB_TEST_CA
  env:  . $dir/env.sh
  log:  $dir/server.log
  stop: scripts/pg-test-server.sh stop $dir
EOF
    )
}

on_start_failure() {
    if [[ $started == 1 ]]; then
        as_user "$owner" "$bindir/pg_ctl" -D "$dir/data" stop -m immediate >/dev/null 2>&1 || true
    fi
    log "start failed; files kept for a look; remove them with: $0 stop $dir"
}

cmd_start() {
    # dir, owner, bindir and started are global: the EXIT trap below uses them.
    dir=$1
    started=0
    local port listen attempt log_lines test_pw admin_pw out version
    bindir=$(find_bindir)
    check_dir_name "$dir"

    if [[ -e $dir ]]; then
        [[ -d $dir ]] || die "$dir exists and is not a directory"
        if [[ -f $dir/$marker ]]; then
            if server_pid "$dir/data" >/dev/null && [[ -f $dir/env.sh ]]; then
                log "already running in $dir"
                summary "$dir"
                return 0
            fi
            die "$dir holds a test server that is not running; run: $0 stop $dir"
        fi
        [[ -z $(ls -A "$dir") ]] || die "$dir is not empty; give a new or empty directory"
    fi
    # The server's socket path must fit in sockaddr_un (107 bytes).
    ((${#dir} + 16 <= 107)) || die "path $dir is too long for a unix socket directory"

    owner=$(server_owner)

    mkdir -p "$dir"
    chmod 0700 "$dir"
    : >"$dir/$marker"
    if [[ $owner != "$(id -un)" ]]; then
        chown "$owner:" "$dir"
        as_user "$owner" test -w "$dir" ||
            die "user $owner cannot write $dir (is a parent directory closed to it?)"
    fi

    log "initdb ($bindir) as $owner in $dir/data"
    as_user "$owner" "$bindir/initdb" -D "$dir/data" --auth=trust --encoding=UTF8 --no-locale \
        --no-sync >"$dir/initdb.log" 2>&1 ||
        { tail -n 20 "$dir/initdb.log" >&2; die "initdb failed (log: $dir/initdb.log)"; }

    log "making test CA, unrelated CA and server certificate"
    make_certs "$dir" "$owner"

    write_hba "$dir"
    echo "include = 'uvdb-test.conf'" >>"$dir/data/postgresql.conf"
    listen=127.0.0.1
    if have_ipv6_loopback; then
        listen='127.0.0.1,::1'
    else
        log "no IPv6 loopback here: listening on 127.0.0.1 only"
    fi

    # If anything below fails, do not leave a server running.
    trap on_start_failure EXIT

    # A port can be taken between choosing and binding: then try another.
    for attempt in 1 2 3 4 5; do
        port=$(pick_port "")
        write_conf "$dir" "$port" "$listen"
        log_lines=0
        [[ -f $dir/server.log ]] && log_lines=$(wc -l <"$dir/server.log")
        log "starting server on port $port"
        if as_user "$owner" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
            >>"$dir/pg_ctl.log" 2>&1; then
            # The server also starts when only one of its addresses is bound.
            if ! tail -n "+$((log_lines + 1))" "$dir/server.log" | grep -q 'could not bind'; then
                started=1
                break
            fi
            as_user "$owner" "$bindir/pg_ctl" -D "$dir/data" stop -m immediate -w >>"$dir/pg_ctl.log" 2>&1
        fi
        if tail -n "+$((log_lines + 1))" "$dir/server.log" 2>/dev/null | grep -q 'could not bind'; then
            log "port $port is taken, trying another"
            continue
        fi
        tail -n 30 "$dir/server.log" >&2 2>/dev/null || true
        die "the server did not start (log: $dir/server.log)"
    done
    [[ $started == 1 ]] || die "the server did not start after $attempt attempts (log: $dir/server.log)"

    test_pw=$(openssl rand -hex 16)
    admin_pw=$(openssl rand -hex 16)
    log "creating roles uvdb_test, uvdb_admin and database uvdb_test"
    as_user "$owner" "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -d postgres \
        >/dev/null <<EOF || die "could not create the test roles (log: $dir/server.log)"
CREATE ROLE uvdb_test LOGIN PASSWORD '$test_pw';
CREATE ROLE uvdb_admin SUPERUSER LOGIN PASSWORD '$admin_pw';
CREATE DATABASE uvdb_test OWNER uvdb_test;
EOF

    local q="sslmode=verify-full&sslrootcert=$dir/ca.crt"
    local pgctl="$dir/pgctl.sh"
    cat >"$pgctl" <<EOF
#!/bin/sh
# Written by scripts/pg-test-server.sh: pg_ctl for the test cluster in
# $dir, run as its owner. Example: "\$UVDB_TEST_PGCTL" restart -m fast -w
cd / || exit 1
if [ "\$(id -u)" = 0 ]; then
    exec runuser -u $owner -- $bindir/pg_ctl -D $dir/data -l $dir/server.log "\$@"
fi
exec $bindir/pg_ctl -D $dir/data -l $dir/server.log "\$@"
EOF
    chmod 0755 "$pgctl"

    (
        umask 077
        {
            echo "# Written by scripts/pg-test-server.sh; source it: . $dir/env.sh"
            for kv in \
                "UVDB_TEST_URL=postgresql://uvdb_test:$test_pw@127.0.0.1:$port/uvdb_test?$q" \
                "UVDB_TEST_ADMIN_URL=postgresql://uvdb_admin:$admin_pw@127.0.0.1:$port/uvdb_test?$q" \
                "UVDB_TEST_CA=$dir/ca.crt" \
                "UVDB_TEST_OTHER_CA=$dir/other-ca.crt" \
                "UVDB_TEST_HOST=127.0.0.1" \
                "UVDB_TEST_PORT=$port" \
                "UVDB_TEST_USER=uvdb_test" \
                "UVDB_TEST_PASSWORD=$test_pw" \
                "UVDB_TEST_DB=uvdb_test" \
                "UVDB_TEST_ADMIN_USER=uvdb_admin" \
                "UVDB_TEST_ADMIN_PASSWORD=$admin_pw" \
                "UVDB_TEST_PGDATA=$dir/data" \
                "UVDB_TEST_PGCTL=$pgctl" \
                "UVDB_TEST_SERVER_LOG=$dir/server.log" \
                "PGHOST=127.0.0.1" \
                "PGPORT=$port" \
                "PGUSER=uvdb_test" \
                "PGPASSWORD=$test_pw" \
                "PGDATABASE=uvdb_test" \
                "PGSSLMODE=verify-full" \
                "PGSSLROOTCERT=$dir/ca.crt"; do
                echo "export ${kv%%=*}=$(shell_quote "${kv#*=}")"
            done
        } >"$dir/env.sh"
    )

    log "checking TLS, SCRAM and the refusal of plain TCP"
    local base="postgresql://uvdb_test:$test_pw"
    out=$("$bindir/psql" -X -A -t -q "$base@127.0.0.1:$port/uvdb_test?$q" \
        -c 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()' 2>&1) ||
        die "TLS connect as uvdb_test failed: $out"
    [[ $out == t ]] || die "connection as uvdb_test is not TLS (pg_stat_ssl.ssl = '$out')"
    if [[ $listen == *::1* ]]; then
        out=$("$bindir/psql" -X -A -t -q "$base@[::1]:$port/uvdb_test?$q" -c 'SELECT 1' 2>&1) ||
            die "TLS connect over ::1 failed: $out"
    fi
    out=$("$bindir/psql" -X -A -t -q \
        "postgresql://uvdb_admin:$admin_pw@127.0.0.1:$port/uvdb_test?$q" \
        -c 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user' 2>&1) ||
        die "TLS connect as uvdb_admin failed: $out"
    [[ $out == t ]] || die "uvdb_admin is not a superuser"
    if out=$("$bindir/psql" -X -A -t -q "$base@127.0.0.1:$port/uvdb_test?sslmode=disable" \
        -c 'SELECT 1' 2>&1); then
        die "a non-TLS connection was accepted"
    fi
    [[ $out == *"no encryption"* ]] || die "non-TLS connect failed, but not as expected: $out"
    if out=$("$bindir/psql" -X -A -t -q \
        "$base@127.0.0.1:$port/uvdb_test?sslmode=verify-full&sslrootcert=$dir/other-ca.crt" \
        -c 'SELECT 1' 2>&1); then
        die "a connection verified against the unrelated CA was accepted"
    fi

    version=$("$bindir/psql" -X -A -t -q "$base@127.0.0.1:$port/uvdb_test?$q" -c 'SHOW server_version')
    log "PostgreSQL $version ready"
    trap - EXIT
    summary "$dir"
}

cmd_stop() {
    local dir=$1 owner pid bindir
    [[ -e $dir ]] || { log "nothing at $dir"; return 0; }
    [[ -d $dir ]] || die "$dir is not a directory"
    if [[ ! -f $dir/$marker ]]; then
        # An empty directory is what `start` leaves if it failed at once.
        if [[ -z $(ls -A "$dir") ]]; then
            rmdir "$dir"
            return 0
        fi
        die "$dir was not made by this script; refusing to delete it"
    fi

    if pid=$(server_pid "$dir/data"); then
        bindir=$(find_bindir)
        owner=$(stat -c %U "$dir/data")
        log "stopping server (pid $pid)"
        as_user "$owner" "$bindir/pg_ctl" -D "$dir/data" stop -m fast -w -t 30 >/dev/null 2>&1 ||
            as_user "$owner" "$bindir/pg_ctl" -D "$dir/data" stop -m immediate -w -t 30 >/dev/null 2>&1 ||
            true
        if pid=$(server_pid "$dir/data"); then
            log "server still running: killing pid $pid"
            kill -KILL "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do
                server_pid "$dir/data" >/dev/null || break
                sleep 0.1
            done
        fi
    else
        log "server not running"
    fi
    rm -rf "$dir"
    log "removed $dir"
}

[[ $# == 2 ]] || usage
case $1 in
    start) cmd_start "$(realpath -m "$2")" ;;
    stop) cmd_stop "$(realpath -m "$2")" ;;
    *) usage ;;
esac
