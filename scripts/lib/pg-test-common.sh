# shellcheck shell=bash
# Shell functions shared by scripts/pg-test-server.sh and
# scripts/pg-test-cluster.sh (sourced, not run). The sourcing script sets
# `uvdb_prog` (its name in messages) first.

log() { printf '%s: %s\n' "${uvdb_prog:-pg-test}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_bindir() {
    local d
    if [[ -n "${UVDB_PG_BINDIR:-}" ]]; then
        echo "$UVDB_PG_BINDIR"
        return
    fi
    for d in /usr/lib/postgresql/15/bin $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV); do
        if [[ -x $d/initdb ]]; then
            echo "$d"
            return
        fi
    done
    d=$(command -v initdb 2>/dev/null) || die "initdb not found: run scripts/install-deps.sh"
    dirname "$d"
}

# Runs a command as USER from /, so that a cwd such as /root (mode 0700)
# does not trouble the server's tools.
as_user() {
    local user=$1
    shift
    if [[ $user == "$(id -un)" ]]; then
        (cd / && "$@")
    elif ((EUID == 0)); then
        (cd / && runuser -u "$user" -- "$@")
    else
        die "the cluster belongs to $user; run this as $user or as root"
    fi
}

# Only a plain path: it goes into a URL, a config file and a shell script.
check_dir_name() {
    [[ $1 =~ ^/[A-Za-z0-9._/+-]+$ ]] ||
        die "DIR '$1' may contain only letters, digits and . _ / + -"
}

# The user the servers run as: `postgres` as root (PostgreSQL refuses to run
# as root), else the caller.
server_owner() {
    if ((EUID == 0)); then
        id postgres >/dev/null 2>&1 || die "user 'postgres' missing: run scripts/install-deps.sh"
        echo postgres
    else
        id -un
    fi
}

# pid of a live postmaster whose data directory is $1, or failure.
server_pid() {
    local pid
    [[ -f $1/postmaster.pid ]] || return 1
    pid=$(head -n 1 "$1/postmaster.pid")
    # A killed postmaster may linger as a zombie until it is reaped: dead too.
    [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == postgres* ]] &&
        ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null || return 1
    echo "$pid"
}

port_in_use() {
    local port=$1
    if command -v ss >/dev/null; then
        [[ -n $(ss -Hltn "sport = :$port" 2>/dev/null) ]] && return 0
    fi
    # Connecting succeeds only if something listens there.
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    return 1
}

# A free port on loopback, not one of "$@".
pick_port() {
    local port
    for _ in $(seq 1 200); do
        # Below Linux's ephemeral range (32768+), where outgoing sockets bind.
        port=$((15000 + (RANDOM * 32768 + RANDOM) % 17000))
        [[ " $* " == *" $port "* ]] && continue
        port_in_use "$port" || { echo "$port"; return; }
    done
    die "found no free TCP port on loopback"
}

# Single-quoted for the shell; our values never contain a quote, but be safe.
shell_quote() {
    printf "'%s'" "${1//\'/\'\\\'\'}"
}

# make_certs DIR OWNER: a test CA, an unrelated CA and a server certificate
# for localhost, 127.0.0.1 and ::1 in DIR.
make_certs() {
    local dir=$1 owner=$2 ext
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    local ca_ext=(-addext "basicConstraints=critical,CA:TRUE"
        -addext "keyUsage=critical,keyCertSign,cRLSign")
    (
        umask 077
        cd "$dir"
        openssl req -x509 "${ec[@]}" -days 30 -subj "/CN=uvdb test CA" "${ca_ext[@]}" \
            -keyout ca.key -out ca.crt
        openssl req -x509 "${ec[@]}" -days 30 -subj "/CN=uvdb unrelated test CA" "${ca_ext[@]}" \
            -keyout other-ca.key -out other-ca.crt
        openssl req -new "${ec[@]}" -subj "/CN=localhost" -keyout server.key -out server.csr
        ext=$(mktemp server-ext.XXXXXX)
        cat >"$ext" <<'EOF'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
EOF
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
            -days 30 -extfile "$ext" -out server.crt
        rm -f server.csr "$ext"
        chmod 0644 ca.crt other-ca.crt server.crt
        chmod 0600 ca.key other-ca.key server.key
    ) >"$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log" >&2; die "openssl could not make the test certificates"; }
    # PostgreSQL and PgBouncer insist that the key belongs to their user, mode 0600.
    if [[ $owner != "$(id -un)" ]]; then
        chown "$owner:" "$dir/server.key" "$dir/server.crt"
    fi
}
