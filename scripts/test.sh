#!/usr/bin/env bash
# Builds uvdb and runs every test (CTest) against a throwaway PostgreSQL that
# it starts and stops, unless UVDB_TEST_URL already names a server; then runs
# the libFuzzer targets for a bounded time (scripts/fuzz.sh).
# Extra arguments go to ctest, e.g. scripts/test.sh -R unit
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUVDB_BUILD_TESTS=ON -DUVDB_BUILD_EXAMPLES=ON
cmake --build build -j"$(nproc)"

if [[ -z ${UVDB_TEST_URL:-} ]]; then
    pg_dir=$(mktemp -d /tmp/uvdb-pg.XXXXXX)
    # Stop the server however this script ends: success, failure or signal.
    trap 'scripts/pg-test-server.sh stop "$pg_dir"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    scripts/pg-test-server.sh start "$pg_dir"
    # shellcheck disable=SC1091
    . "$pg_dir/env.sh"
fi

status=0
ctest --test-dir build --output-on-failure "$@" || status=$?

# The libFuzzer targets (clang) run for a bounded time from their seed corpus
# in the repository; skipped when ctest arguments select a subset.
if [[ $# -eq 0 ]]; then
    UVDB_FUZZ_REQUIRED=1 UVDB_FUZZ_SECONDS=${UVDB_FUZZ_SECONDS:-20} scripts/fuzz.sh || status=$?
fi
exit "$status"
