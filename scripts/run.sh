#!/usr/bin/env bash
# Builds uvdb and runs the main job, uvdb-bench (the scenarios of
# docs/BENCHMARKS.md: pooled vs unpooled), against DATABASE_URL, or, when it is
# unset, against a throwaway local PostgreSQL (TLS + SCRAM) that it starts
# and stops. Extra arguments go to the program.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Only the program writes to stdout (it may print JSON); the rest goes to stderr.
{
    scripts/install-deps.sh
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUVDB_BUILD_TESTS=ON -DUVDB_BUILD_EXAMPLES=ON
    cmake --build build -j"$(nproc)"
} >&2

program=build/examples/uvdb-bench
[[ -x $program ]] || { echo "run.sh: $program was not built" >&2; exit 1; }

if [[ -z ${DATABASE_URL:-} ]]; then
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
# uvdb-bench reads DATABASE_URL; arguments choose scenarios and output (--json, --svg FILE…).
"$program" "$@" || status=$?
exit "$status"
