#!/usr/bin/env bash
# Builds uvdb and runs every test (CTest) against a throwaway PostgreSQL that
# it starts and stops, unless UVDB_TEST_URL already names a server.
# Without arguments (what CI runs, .ci/run) it then also:
#   - runs the cluster suite (ctest -L cluster) against a primary, a standby
#     and PgBouncer started by scripts/pg-test-cluster.sh (plain build only);
#   - runs scripts/lint.sh (clang-format and clang-tidy, Debian's LLVM 14);
#   - runs the libFuzzer targets for a bounded time (scripts/fuzz.sh);
#   - builds and runs the test suites under AddressSanitizer + UBSan + LSan
#     (preset asan, build-asan/) and under ThreadSanitizer (preset tsan,
#     build-tsan/), against the same server.
# Extra arguments go to ctest for the normal build only, e.g.
#   scripts/test.sh -R unit
# UVDB_CI_SANITIZERS=0 skips the sanitizer builds; UVDB_FUZZ_SECONDS sets
# the time per fuzz target (20 s).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Seconds since the start, for the timing summary at the end.
started=$SECONDS
timings=()
step_done() { timings+=("$(printf '%-34s %4d s' "$1" $((SECONDS - $2)))"); }

t=$SECONDS
scripts/install-deps.sh
step_done "install-deps" "$t"

t=$SECONDS
# -g1 (line tables: enough for a backtrace or a gdb "bt") instead of
# RelWithDebInfo's full -g: a library, test or example file compiles 25-28 %
# faster (pool_core.cpp 4.3 -> 3.3 s, pg_stream_test.cpp 4.7 -> 3.4 s).
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUVDB_BUILD_TESTS=ON -DUVDB_BUILD_EXAMPLES=ON \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
cmake --build build -j"$(nproc)"
step_done "build (RelWithDebInfo)" "$t"

# Servers this script started, stopped however it ends: success, failure or
# signal. Two throwaway single servers: the fault suite (which stops, restarts
# and cuts its server) runs on the second one at the same time as the other
# suites run on the first, which saves its 45-60 s in each of the three
# builds; the suites mostly wait on the network and timers, not on the CPU.
# UVDB_TEST_SERIAL=1 runs everything one after another on one server.
pg_dir=
pg_dir_fault=
cluster_dir=
fault_env=""
# shellcheck disable=SC2317  # called by the EXIT trap
stop_servers() {
    if [[ -n $cluster_dir ]]; then scripts/pg-test-cluster.sh stop "$cluster_dir" >/dev/null || true; fi
    if [[ -n $pg_dir_fault ]]; then scripts/pg-test-server.sh stop "$pg_dir_fault" || true; fi
    if [[ -n $pg_dir ]]; then scripts/pg-test-server.sh stop "$pg_dir" || true; fi
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z ${UVDB_TEST_URL:-} ]]; then
    pg_dir=$(mktemp -d /tmp/uvdb-pg.XXXXXX)
    scripts/pg-test-server.sh start "$pg_dir"
    if [[ ${UVDB_TEST_SERIAL:-0} != 1 ]]; then
        pg_dir_fault=$(mktemp -d /tmp/uvdb-pg-fault.XXXXXX)
        scripts/pg-test-server.sh start "$pg_dir_fault"
        fault_env="$pg_dir_fault/env.sh"
    fi
    # shellcheck disable=SC1091
    . "$pg_dir/env.sh"
fi

# run_suites SKIP CTEST-ARGS...: every suite the arguments select but those
# whose names match the regex SKIP ("" for none); with a second server, the
# fault suite runs on it in the background and its output is printed after
# the rest, so the two do not interleave. SKIP is given here because a -E on
# the command line replaces a test preset's name filter instead of adding to it.
run_suites() {
    local skip=$1
    shift
    if [[ -z $fault_env ]]; then
        if [[ -n $skip ]]; then ctest "$@" -E "^($skip)\$"; else ctest "$@"; fi
        return
    fi
    local log rc=0 fault_rc=0 pid
    log=$(mktemp /tmp/uvdb-fault-ctest.XXXXXX)
    # shellcheck disable=SC1090
    (. "$fault_env" && exec ctest "$@" -R '^fault$') >"$log" 2>&1 &
    pid=$!
    ctest "$@" -E "^(fault${skip:+|$skip})\$" || rc=$?
    wait "$pid" || fault_rc=$?
    echo "test.sh: the fault suite ran beside them, on its own server:"
    cat "$log"
    rm -f "$log"
    if [[ $rc -ne 0 ]]; then return "$rc"; fi
    return "$fault_rc"
}

status=0
t=$SECONDS
# The cluster suite (label `cluster`) needs scripts/pg-test-cluster.sh's
# cluster, not this single server: it runs in its own step below.
if [[ $# -eq 0 ]]; then
    run_suites "" --test-dir build --output-on-failure -LE cluster || status=$?
else
    ctest --test-dir build --output-on-failure "$@" || status=$?
fi
step_done "ctest (build/)" "$t"

# The rest runs only for the full run; ctest arguments select a subset.
if [[ $# -eq 0 ]]; then
    # The cluster suite (label `cluster`: failover, demoted primaries,
    # PgBouncer) against a primary + standby + PgBouncer started for it.
    # Plain build only: the sanitizer builds skip the label (time budget).
    t=$SECONDS
    cluster_dir=$(mktemp -d /tmp/uvdb-cluster.XXXXXX)
    if scripts/pg-test-cluster.sh start "$cluster_dir"; then
        # shellcheck disable=SC1091
        (. "$cluster_dir/env.sh" && ctest --test-dir build -L cluster --output-on-failure) || status=$?
    else
        echo "test.sh: the test cluster did not start" >&2
        status=1
    fi
    scripts/pg-test-cluster.sh stop "$cluster_dir" >/dev/null || status=1
    cluster_dir=
    step_done "ctest -L cluster (cluster)" "$t"

    # clang-format over every source file and clang-tidy over the library
    # sources (build/compile_commands.json): any difference or finding fails.
    t=$SECONDS
    scripts/lint.sh || status=$?
    step_done "lint.sh" "$t"

    # The libFuzzer targets (clang) from their seed corpora in the repository.
    t=$SECONDS
    UVDB_FUZZ_REQUIRED=1 UVDB_FUZZ_SECONDS=${UVDB_FUZZ_SECONDS:-20} scripts/fuzz.sh || status=$?
    step_done "fuzz.sh" "$t"

    # The sanitizer builds (CMakePresets.json): every suite but
    # install_consumer and plugin_consumer, which test packaging (the kv
    # plugin still loads under them in conformance_kv_plugin). Same server.
    if [[ ${UVDB_CI_SANITIZERS:-1} != 0 ]]; then
        for preset in asan tsan; do
            t=$SECONDS
            if cmake --preset "$preset" >/dev/null && cmake --build --preset "$preset"; then
                step_done "build ($preset)" "$t"
                t=$SECONDS
                run_suites "install_consumer|plugin_consumer" --preset "$preset" || status=$?
                step_done "ctest ($preset)" "$t"
            else
                echo "test.sh: the $preset build failed" >&2
                status=1
            fi
        done
    fi
fi

echo "test.sh: timings on $(nproc) cores (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
printf '  %s\n' "${timings[@]}"
printf '  %-34s %4d s\n' "total" $((SECONDS - started))
exit "$status"
