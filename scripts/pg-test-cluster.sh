#!/usr/bin/env bash
# Starts and drives a throwaway PostgreSQL cluster for uvdb's cluster tests
# (ctest -L cluster): a primary, a streaming-replication standby made with
# pg_basebackup -R, and PgBouncer (transaction pooling) in front of the
# primary. Loopback only, TLS with a test CA and SCRAM-SHA-256, every non-TLS
# TCP connection refused, as scripts/pg-test-server.sh does for one server.
#
#   scripts/pg-test-cluster.sh start DIR          DIR: a new or empty directory
#   . DIR/env.sh                                  UVDB_TEST_* variables
#   scripts/pg-test-cluster.sh promote DIR        fence (stop) the primary, promote the standby
#   scripts/pg-test-cluster.sh demote DIR         restart the fenced node as a standby of the new primary
#   scripts/pg-test-cluster.sh pause-replay DIR   the standby stops replaying WAL (lag grows)
#   scripts/pg-test-cluster.sh resume-replay DIR  it replays again
#   scripts/pg-test-cluster.sh stop DIR           stops everything and removes DIR
#
# The two nodes are node1 and node2; node1 starts as the primary. Their ports
# never change, so UVDB_TEST_PRIMARY_URL keeps naming node1 after `promote`
# (node2 is then the primary): DIR/roles holds the current roles
# (primary=nodeN, standby=nodeN|none, fenced=nodeN|none), and each
# subcommand prints one line saying what it did. PgBouncer follows the
# primary: `promote` points it at the new one and reloads it.
#
# As root, the servers and PgBouncer run as the `postgres` system user;
# otherwise as the calling user. Progress goes to stderr; stdout carries only
# the one-line summary of each subcommand. Every wait is bounded (60 s).
# UVDB_PG_BINDIR overrides where initdb, pg_ctl, psql and pg_basebackup are
# taken from; UVDB_PGBOUNCER that of pgbouncer.
set -euo pipefail

readonly marker=.uvdb-test-cluster
readonly wait_s=60

uvdb_prog=pg-test-cluster
# shellcheck source=scripts/lib/pg-test-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/pg-test-common.sh"

usage() {
    echo "usage: $0 start|stop|promote|demote|pause-replay|resume-replay DIR" >&2
    exit 2
}

# Variables left by a previously sourced env.sh must not steer our psql calls.
while read -r var; do unset "$var"; done < <(compgen -e | grep '^PG' || true)

find_pgbouncer() {
    local p=${UVDB_PGBOUNCER:-}
    [[ -n $p ]] || p=$(command -v pgbouncer 2>/dev/null) || p=/usr/sbin/pgbouncer
    [[ -x $p ]] || die "pgbouncer not found: run scripts/install-deps.sh"
    echo "$p"
}

bouncer_pid() {
    local pid
    [[ -f $dir/pgbouncer.pid ]] || return 1
    pid=$(cat "$dir/pgbouncer.pid")
    [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == pgbouncer* ]] || return 1
    echo "$pid"
}

node_port() { sed -n "s/^$1=//p" "$dir/ports"; }
role_of() { sed -n "s/^$1=//p" "$dir/roles"; }
set_roles() {
    printf 'primary=%s\nstandby=%s\nfenced=%s\n' "$1" "$2" "$3" >"$dir/roles.new"
    mv "$dir/roles.new" "$dir/roles"
}
other_node() { [[ $1 == node1 ]] && echo node2 || echo node1; }

# The node's own settings. pg_basebackup and pg_rewind copy the source's
# configuration files, so these are written again after each of them.
write_node_conf() {
    local node=$1 data=$dir/$1/data
    cat >"$data/uvdb-test.conf" <<EOF
# Written by scripts/pg-test-cluster.sh for $node; included from postgresql.conf.
listen_addresses = '$listen'
port = $(node_port "$node")
unix_socket_directories = '$dir/$node'
max_connections = 120
shared_buffers = 64MB
password_encryption = 'scram-sha-256'
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
ssl_ca_file = '$dir/ca.crt'
fsync = off
synchronous_commit = off
full_page_writes = on
wal_log_hints = on
wal_keep_size = 256MB
wal_receiver_status_interval = 1s
hot_standby_feedback = on
cluster_name = 'uvdb-$node'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    # The unix socket lives in a mode-0700 directory, so only the cluster
    # owner (and root) can use the trust lines: replication runs over them.
    cat >"$data/pg_hba.conf" <<'EOF'
# Written by scripts/pg-test-cluster.sh.
# TYPE    DATABASE    USER ADDRESS        METHOD
local     all         all                 trust
local     replication all                 trust
hostssl   all         all  127.0.0.1/32   scram-sha-256
hostssl   all         all  ::1/128        scram-sha-256
hostnossl all         all  0.0.0.0/0      reject
hostnossl all         all  ::/0           reject
EOF
    grep -q "^include = 'uvdb-test.conf'" "$data/postgresql.conf" ||
        echo "include = 'uvdb-test.conf'" >>"$data/postgresql.conf"
    # pg_rewind must be able to overwrite them later.
    [[ $owner == "$(id -un)" ]] || chown "$owner:" "$data/uvdb-test.conf" "$data/pg_hba.conf"
}

# Makes NODE a standby of PRIMARY: standby.signal, and one primary_conninfo
# (over PRIMARY's unix socket, trust) in postgresql.auto.conf, which is read
# last. pg_rewind copies the source's auto.conf, whose primary_conninfo, if
# any, names a node that is no longer the primary: dropped here.
set_upstream() {
    local node=$1 primary=$2 data=$dir/$1/data
    {
        grep -v '^primary_conninfo' "$data/postgresql.auto.conf" 2>/dev/null || true
        echo "primary_conninfo = 'host=$dir/$primary port=$(node_port "$primary") user=$owner application_name=$node'"
    } >"$data/postgresql.auto.conf.new"
    mv "$data/postgresql.auto.conf.new" "$data/postgresql.auto.conf"
    : >"$data/standby.signal"
    [[ $owner == "$(id -un)" ]] || chown "$owner:" "$data/postgresql.auto.conf" "$data/standby.signal"
    chmod 0600 "$data/postgresql.auto.conf" "$data/standby.signal"
}

pg_ctl_node() {
    local node=$1
    shift
    as_user "$owner" "$bindir/pg_ctl" -D "$dir/$node/data" -l "$dir/$node/server.log" "$@"
}

# psql as the cluster owner over the node's unix socket (trust).
psql_node() {
    local node=$1
    shift
    as_user "$owner" "$bindir/psql" -X -A -t -q -v ON_ERROR_STOP=1 -h "$dir/$node" \
        -p "$(node_port "$node")" -d postgres "$@"
}

# Waits until `psql_node NODE -c 'SELECT pg_is_in_recovery()'` prints WANT.
wait_recovery() {
    local node=$1 want=$2 out deadline=$((SECONDS + wait_s))
    while ((SECONDS < deadline)); do
        out=$(psql_node "$node" -c 'SELECT pg_is_in_recovery()' 2>/dev/null) || out=
        [[ $out == "$want" ]] && return 0
        sleep 0.1
    done
    die "$node: pg_is_in_recovery() is not '$want' after ${wait_s}s (log: $dir/$node/server.log)"
}

start_node() {
    local node=$1
    pg_ctl_node "$node" -w -t "$wait_s" start >>"$dir/pg_ctl.log" 2>&1 ||
        { tail -n 30 "$dir/$node/server.log" >&2; die "$node did not start (log: $dir/$node/server.log)"; }
}

stop_node() {
    local node=$1 pid
    server_pid "$dir/$node/data" >/dev/null || return 0
    pg_ctl_node "$node" -w -t "$wait_s" stop -m fast >>"$dir/pg_ctl.log" 2>&1 ||
        pg_ctl_node "$node" -w -t "$wait_s" stop -m immediate >>"$dir/pg_ctl.log" 2>&1 || true
    if pid=$(server_pid "$dir/$node/data"); then
        log "$node still running: killing pid $pid"
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            server_pid "$dir/$node/data" >/dev/null || break
            sleep 0.1
        done
    fi
}

# Fails unless nothing accepts TCP connections on the node's port.
check_refuses() {
    local port
    port=$(node_port "$1")
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "$1 (port $port) still accepts connections"
    fi
}

# A standby of PRIMARY made from scratch in NODE's directory.
basebackup_node() {
    local node=$1 primary=$2
    rm -rf "${dir:?}/$node/data"
    as_user "$owner" "$bindir/pg_basebackup" -h "$dir/$primary" -p "$(node_port "$primary")" \
        -U "$owner" -D "$dir/$node/data" -R -X stream -c fast --no-sync \
        >>"$dir/basebackup.log" 2>&1 ||
        { tail -n 20 "$dir/basebackup.log" >&2; die "pg_basebackup of $primary failed"; }
    write_node_conf "$node"
    set_upstream "$node" "$primary"
}

write_bouncer_conf() {
    local primary=$1
    # The primary's SCRAM secrets: PgBouncer checks clients with them and,
    # because a client proved it knows the password, logs in to the server
    # with the same exchange (no plain password stored anywhere).
    (
        umask 077
        psql_node "$primary" -F ' ' \
            -c "SELECT '\"' || rolname || '\" \"' || rolpassword || '\"' FROM pg_authid
                WHERE rolname IN ('uvdb_test', 'uvdb_admin') ORDER BY rolname" \
            >"$dir/pgbouncer.users.new"
    ) || die "could not read the SCRAM secrets from $primary"
    [[ $owner == "$(id -un)" ]] || chown "$owner:" "$dir/pgbouncer.users.new"
    mv "$dir/pgbouncer.users.new" "$dir/pgbouncer.users"
    cat >"$dir/pgbouncer.ini.new" <<EOF
; Written by scripts/pg-test-cluster.sh: PgBouncer in front of $primary.
[databases]
uvdb_test = host=127.0.0.1 port=$(node_port "$primary") dbname=uvdb_test

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $(node_port pgbouncer)
unix_socket_dir = $dir/pgbouncer
pidfile = $dir/pgbouncer.pid
logfile = $dir/pgbouncer.log
auth_type = scram-sha-256
auth_file = $dir/pgbouncer.users
admin_users = uvdb_admin
stats_users = uvdb_test
pool_mode = transaction
max_client_conn = 300
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
server_reset_query =
server_check_delay = 1
server_login_retry = 1
client_tls_sslmode = require
client_tls_key_file = $dir/server.key
client_tls_cert_file = $dir/server.crt
client_tls_ca_file = $dir/ca.crt
server_tls_sslmode = verify-full
server_tls_ca_file = $dir/ca.crt
EOF
    mv "$dir/pgbouncer.ini.new" "$dir/pgbouncer.ini"
}

# Waits until a query through PgBouncer as uvdb_test succeeds.
wait_bouncer() {
    local out deadline=$((SECONDS + wait_s))
    local url
    # shellcheck disable=SC1091
    url=$(. "$dir/env.sh" && echo "$UVDB_TEST_PGBOUNCER_URL")
    while ((SECONDS < deadline)); do
        out=$("$bindir/psql" -X -A -t -q "$url" -c 'SELECT 1' 2>&1) && [[ $out == 1 ]] && return 0
        sleep 0.1
    done
    tail -n 20 "$dir/pgbouncer.log" >&2 2>/dev/null || true
    die "no query through PgBouncer after ${wait_s}s: $out (log: $dir/pgbouncer.log)"
}

start_bouncer() {
    as_user "$owner" "$pgbouncer" -d -q "$dir/pgbouncer.ini" >>"$dir/pgbouncer-start.log" 2>&1 || {
        tail -n 20 "$dir/pgbouncer-start.log" "$dir/pgbouncer.log" >&2 2>/dev/null
        die "pgbouncer did not start (log: $dir/pgbouncer.log)"
    }
}

stop_bouncer() {
    local pid
    pid=$(bouncer_pid) || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        bouncer_pid >/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

write_env() {
    local p1 p2 pb q test_pw admin_pw kv
    p1=$(node_port node1)
    p2=$(node_port node2)
    pb=$(node_port pgbouncer)
    test_pw=$1
    admin_pw=$2
    q="sslmode=verify-full&sslrootcert=$dir/ca.crt"
    local t="uvdb_test:$test_pw" a="uvdb_admin:$admin_pw"
    local pgctl="$dir/pgctl.sh"
    cat >"$pgctl" <<EOF
#!/bin/sh
# Written by scripts/pg-test-cluster.sh: pg_ctl for node1 (the first primary)
# in $dir, run as its owner. Example: "\$UVDB_TEST_PGCTL" restart -m fast -w
cd / || exit 1
if [ "\$(id -u)" = 0 ]; then
    exec runuser -u $owner -- $bindir/pg_ctl -D $dir/node1/data -l $dir/node1/server.log "\$@"
fi
exec $bindir/pg_ctl -D $dir/node1/data -l $dir/node1/server.log "\$@"
EOF
    chmod 0755 "$pgctl"
    (
        umask 077
        {
            echo "# Written by scripts/pg-test-cluster.sh; source it: . $dir/env.sh"
            echo "# node1 is the first primary, node2 the first standby; $dir/roles has the current roles."
            for kv in \
                "UVDB_TEST_PRIMARY_URL=postgresql://$t@127.0.0.1:$p1/uvdb_test?$q" \
                "UVDB_TEST_STANDBY_URL=postgresql://$t@127.0.0.1:$p2/uvdb_test?$q" \
                "UVDB_TEST_MULTIHOST_URL=postgresql://$t@127.0.0.1:$p1,127.0.0.1:$p2/uvdb_test?$q&target_session_attrs=read-write" \
                "UVDB_TEST_PGBOUNCER_URL=postgresql://$t@127.0.0.1:$pb/uvdb_test?$q" \
                "UVDB_TEST_PRIMARY_ADMIN_URL=postgresql://$a@127.0.0.1:$p1/uvdb_test?$q" \
                "UVDB_TEST_STANDBY_ADMIN_URL=postgresql://$a@127.0.0.1:$p2/uvdb_test?$q" \
                "UVDB_TEST_PGBOUNCER_ADMIN_URL=postgresql://$a@127.0.0.1:$pb/pgbouncer?$q" \
                "UVDB_TEST_PRIMARY_PORT=$p1" \
                "UVDB_TEST_STANDBY_PORT=$p2" \
                "UVDB_TEST_PGBOUNCER_PORT=$pb" \
                "UVDB_TEST_CLUSTER_DIR=$dir" \
                "UVDB_TEST_CLUSTER_SCRIPT=$script_path" \
                "UVDB_TEST_URL=postgresql://$t@127.0.0.1:$p1/uvdb_test?$q" \
                "UVDB_TEST_ADMIN_URL=postgresql://$a@127.0.0.1:$p1/uvdb_test?$q" \
                "UVDB_TEST_CA=$dir/ca.crt" \
                "UVDB_TEST_OTHER_CA=$dir/other-ca.crt" \
                "UVDB_TEST_HOST=127.0.0.1" \
                "UVDB_TEST_PORT=$p1" \
                "UVDB_TEST_USER=uvdb_test" \
                "UVDB_TEST_PASSWORD=$test_pw" \
                "UVDB_TEST_DB=uvdb_test" \
                "UVDB_TEST_ADMIN_USER=uvdb_admin" \
                "UVDB_TEST_ADMIN_PASSWORD=$admin_pw" \
                "UVDB_TEST_PGDATA=$dir/node1/data" \
                "UVDB_TEST_PGCTL=$pgctl" \
                "UVDB_TEST_SERVER_LOG=$dir/node1/server.log"; do
                echo "export ${kv%%=*}=$(shell_quote "${kv#*=}")"
            done
        } >"$dir/env.sh"
    )
}

on_start_failure() {
    stop_bouncer
    stop_node node2
    stop_node node1
    log "start failed; files kept for a look; remove them with: $0 stop $dir"
}

cmd_start() {
    local test_pw admin_pw out p1 p2 pb
    check_dir_name "$dir"
    pgbouncer=$(find_pgbouncer)

    if [[ -e $dir ]]; then
        [[ -d $dir ]] || die "$dir exists and is not a directory"
        [[ ! -f $dir/$marker ]] || die "$dir already holds a test cluster; run: $0 stop $dir"
        [[ -z $(ls -A "$dir") ]] || die "$dir is not empty; give a new or empty directory"
    fi
    # The servers' socket paths must fit in sockaddr_un (107 bytes).
    ((${#dir} + 30 <= 107)) || die "path $dir is too long for a unix socket directory"

    owner=$(server_owner)

    mkdir -p "$dir"
    chmod 0700 "$dir"
    : >"$dir/$marker"
    mkdir -p "$dir/node1" "$dir/node2" "$dir/pgbouncer"
    chmod 0700 "$dir/node1" "$dir/node2" "$dir/pgbouncer"
    if [[ $owner != "$(id -un)" ]]; then
        chown -R "$owner:" "$dir"
        as_user "$owner" test -w "$dir" ||
            die "user $owner cannot write $dir (is a parent directory closed to it?)"
    fi
    listen=127.0.0.1
    grep -qi '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null && listen='127.0.0.1,::1'

    # If anything below fails, do not leave a server running.
    trap on_start_failure EXIT

    p1=$(pick_port)
    p2=$(pick_port "$p1")
    pb=$(pick_port "$p1" "$p2")
    printf 'node1=%s\nnode2=%s\npgbouncer=%s\n' "$p1" "$p2" "$pb" >"$dir/ports"

    log "initdb ($bindir) as $owner in $dir/node1/data"
    as_user "$owner" "$bindir/initdb" -D "$dir/node1/data" --auth=trust --encoding=UTF8 --no-locale \
        --no-sync >"$dir/initdb.log" 2>&1 ||
        { tail -n 20 "$dir/initdb.log" >&2; die "initdb failed (log: $dir/initdb.log)"; }
    make_certs "$dir" "$owner"
    write_node_conf node1
    log "starting node1 (primary) on port $p1"
    start_node node1
    wait_recovery node1 f

    test_pw=$(openssl rand -hex 16)
    admin_pw=$(openssl rand -hex 16)
    psql_node node1 >/dev/null <<EOF || die "could not create the test roles"
CREATE ROLE uvdb_test LOGIN PASSWORD '$test_pw';
CREATE ROLE uvdb_admin SUPERUSER LOGIN PASSWORD '$admin_pw';
CREATE DATABASE uvdb_test OWNER uvdb_test;
EOF

    log "pg_basebackup -R: node2 (standby) on port $p2"
    basebackup_node node2 node1
    start_node node2
    wait_recovery node2 t
    set_roles node1 node2 none
    write_env "$test_pw" "$admin_pw"

    log "starting PgBouncer (transaction pooling) on port $pb in front of node1"
    write_bouncer_conf node1
    start_bouncer
    wait_bouncer

    # The standby streams: a row written on the primary shows up there.
    out=$(psql_node node2 -c "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'")
    [[ $out == 1 ]] || log "warning: node2's WAL receiver is not streaming yet"
    # TLS is required: a plain TCP connection to a node is refused.
    if "$bindir/psql" -X -A -t -q "postgresql://uvdb_test:$test_pw@127.0.0.1:$p1/uvdb_test?sslmode=disable" \
        -c 'SELECT 1' >/dev/null 2>&1; then
        die "a non-TLS connection was accepted"
    fi
    trap - EXIT
    echo "cluster started in $dir: node1 primary :$p1, node2 standby :$p2, PgBouncer :$pb (TLS, SCRAM); . $dir/env.sh"
}

# Fence the primary (stop it: it accepts nothing), then promote the standby.
# Fencing first means there is never a moment with two writable nodes.
cmd_promote() {
    local primary standby
    primary=$(role_of primary)
    standby=$(role_of standby)
    [[ $standby != none ]] || die "no standby to promote (roles: $(tr '\n' ' ' <"$dir/roles"))"
    stop_node "$primary"
    check_refuses "$primary"
    pg_ctl_node "$standby" -w -t "$wait_s" promote >>"$dir/pg_ctl.log" 2>&1 ||
        die "pg_ctl promote $standby failed (log: $dir/$standby/server.log)"
    wait_recovery "$standby" f
    set_roles "$standby" none "$primary"
    # PgBouncer follows the primary.
    write_bouncer_conf "$standby"
    kill -HUP "$(bouncer_pid)" 2>/dev/null || log "warning: PgBouncer is not running"
    echo "promoted $standby (port $(node_port "$standby")) to primary; fenced $primary (port $(node_port "$primary")): stopped"
}

# Restart the fenced node as a standby of the current primary, from a fresh
# pg_basebackup. (pg_rewind was tried first and proved unreliable here after
# a few flips: a rewound node could refuse to start, "requested timeline does
# not contain minimum recovery point"; the test data are small, so a copy
# takes about a second.)
cmd_demote() {
    local fenced primary
    fenced=$(role_of fenced)
    primary=$(role_of primary)
    [[ $fenced != none ]] || die "no fenced node to demote (roles: $(tr '\n' ' ' <"$dir/roles"))"
    stop_node "$fenced"
    basebackup_node "$fenced" "$primary"
    start_node "$fenced"
    wait_recovery "$fenced" t
    set_roles "$primary" "$fenced" none
    echo "demoted $fenced (port $(node_port "$fenced")): standby of $primary (port $(node_port "$primary")) via pg_basebackup"
}

cmd_replay() {
    local fn=$1 want=$2 standby out deadline=$((SECONDS + wait_s))
    standby=$(role_of standby)
    [[ $standby != none ]] || die "no standby (roles: $(tr '\n' ' ' <"$dir/roles"))"
    psql_node "$standby" -c "SELECT $fn()" >/dev/null || die "$fn() on $standby failed"
    while ((SECONDS < deadline)); do
        out=$(psql_node "$standby" -c 'SELECT pg_get_wal_replay_pause_state()') || out=
        [[ $out == "$want" ]] && {
            echo "$standby (port $(node_port "$standby")): WAL replay $want"
            return 0
        }
        sleep 0.1
    done
    die "$standby: replay state is '$out', not '$want', after ${wait_s}s"
}

cmd_stop() {
    [[ -e $dir ]] || { log "nothing at $dir"; return 0; }
    [[ -d $dir ]] || die "$dir is not a directory"
    if [[ ! -f $dir/$marker ]]; then
        if [[ -z $(ls -A "$dir") ]]; then
            rmdir "$dir"
            return 0
        fi
        die "$dir was not made by this script; refusing to delete it"
    fi
    if [[ -d $dir/node1 ]]; then
        owner=$(stat -c %U "$dir/node1")
    else
        owner=$(id -un)
    fi
    stop_bouncer
    stop_node node2
    stop_node node1
    rm -rf "$dir"
    echo "cluster stopped; removed $dir"
}

# A running cluster's state for the other subcommands.
load_cluster() {
    [[ -f $dir/$marker && -f $dir/roles ]] || die "$dir holds no running test cluster"
    owner=$(stat -c %U "$dir/node1")
    listen=127.0.0.1
    grep -qi '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null && listen='127.0.0.1,::1'
}

[[ $# == 2 ]] || usage
script_path=$(realpath "${BASH_SOURCE[0]}")
dir=$(realpath -m "$2")
bindir=$(find_bindir)
owner=
listen=
pgbouncer=
case $1 in
    start) cmd_start ;;
    stop) cmd_stop ;;
    promote) load_cluster && cmd_promote ;;
    demote) load_cluster && cmd_demote ;;
    pause-replay) load_cluster && cmd_replay pg_wal_replay_pause paused ;;
    resume-replay) load_cluster && cmd_replay pg_wal_replay_resume 'not paused' ;;
    *) usage ;;
esac
