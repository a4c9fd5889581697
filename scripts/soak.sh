#!/usr/bin/env bash
# Soak test: a pooled load for a given time while faults from docs/FAULTS.md are
# injected every few seconds (backend terminated, server restarted fast and
# immediate, a backend stopped with SIGSTOP, the role's connection limit
# lowered), then a report: every failure with its time and whether it fell
# inside a fault window, RSS after warm-up and at the end, open fds, and the
# server's count of the pool's connections against the pool's own. The
# warm-up replaces connections until the pool has made 1000 connects, so RSS is
# measured after glibc's per-thread caches have filled (tests/soak/README.md).
#
#   scripts/soak.sh            5 minutes (300 s)
#   scripts/soak.sh 30         30 s (warm-up and fault interval shrink to fit)
#   UVDB_SOAK_ARGS="--clients 64 --faults terminate,restart-fast" scripts/soak.sh 120
#
# Runs against the server in UVDB_TEST_URL / UVDB_TEST_ADMIN_URL /
# UVDB_TEST_PGCTL when UVDB_TEST_URL is set (restart faults need pg_ctl and
# are skipped without UVDB_TEST_PGCTL); otherwise it starts a throwaway
# server with scripts/pg-test-server.sh and stops it afterwards. It needs a
# superuser URL (UVDB_TEST_ADMIN_URL) for the faults, so DATABASE_URL alone
# is not enough. Builds uvdb-soak in ${UVDB_SOAK_BUILD_DIR:-build-soak}.
# Exit status: uvdb-soak's (0 when every acceptance check passed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-300}
[[ $seconds =~ ^[0-9]+$ ]] && ((seconds >= 10)) || { echo "soak.sh: seconds must be a number >= 10" >&2; exit 2; }
build=${UVDB_SOAK_BUILD_DIR:-build-soak}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUVDB_BUILD_TESTS=ON \
    -DUVDB_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target uvdb-soak -j"${UVDB_SOAK_BUILD_JOBS:-2}"

if [[ -z ${UVDB_TEST_URL:-} ]]; then
    pg_dir=$(mktemp -d /tmp/uvdb-soak-pg.XXXXXX)
    trap 'scripts/pg-test-server.sh stop "$pg_dir"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    scripts/pg-test-server.sh start "$pg_dir" >/dev/null
    # shellcheck disable=SC1091
    . "$pg_dir/env.sh"
fi

# Short runs: warm-up a fifth of the time (at most 20 s), a fault every
# tenth (5-10 s), so even a 30 s smoke run sees a few faults.
warmup=$((seconds / 5 > 20 ? 20 : seconds / 5))
every=$((seconds / 10 < 5 ? 5 : (seconds / 10 > 10 ? 10 : seconds / 10)))
echo "soak.sh: load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
# shellcheck disable=SC2086
status=0
"$build/tests/soak/uvdb-soak" --seconds "$seconds" --warmup "$warmup" --fault-every "$every" \
    ${UVDB_SOAK_ARGS:-} || status=$?
echo "soak.sh: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
exit "$status"
