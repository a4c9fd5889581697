#!/usr/bin/env bash
# Builds uvdb-bench (and only what it links: core, pool, the PostgreSQL and
# SQLite drivers; no test suites) and runs it: the scenarios of
# docs/BENCHMARKS.md, pooled vs unpooled. The server is --url URL or
# DATABASE_URL (any driver: postgresql://…, sqlite:///path.db, a plugin's);
# when neither is given, a throwaway local PostgreSQL (TLS + SCRAM) that this
# script starts and stops. Extra arguments go to the program.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# A fresh build directory is configured without the test suites (they take
# most of a full build); an existing one keeps its settings, since
# `--target uvdb-bench` builds nothing else either way.
configure=(cmake -S . -B build)
if [[ ! -f build/CMakeCache.txt ]]; then
    configure+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DUVDB_BUILD_TESTS=OFF -DUVDB_BUILD_EXAMPLES=ON)
fi

# Only the program writes to stdout (it may print JSON); the rest goes to stderr.
{
    scripts/install-deps.sh
    "${configure[@]}"
    cmake --build build -j"$(nproc)" --target uvdb-bench
} >&2

program=build/examples/uvdb-bench
[[ -x $program ]] || { echo "run.sh: $program was not built" >&2; exit 1; }

# A server of our own only when the user named none (and wants a run, not --help).
needs_server=1
for arg in "$@"; do
    case $arg in
        --url | --url=* | --config | --config=* | -h | --help) needs_server=0 ;;
    esac
done

if [[ -z ${DATABASE_URL:-} && $needs_server == 1 ]]; then
    pg_dir=$(mktemp -d /tmp/uvdb-pg.XXXXXX)
    # Stop the server however this script ends: success, failure or signal.
    trap 'scripts/pg-test-server.sh stop "$pg_dir"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    scripts/pg-test-server.sh start "$pg_dir" >&2
    # shellcheck disable=SC1091
    . "$pg_dir/env.sh"
    export DATABASE_URL=$UVDB_TEST_URL
fi

status=0
# uvdb-bench reads --url, else DATABASE_URL; arguments choose scenarios and output (--json, --svg FILE…).
"$program" "$@" || status=$?
exit "$status"
