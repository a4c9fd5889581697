#!/usr/bin/env bash
# Builds uvdb and runs every test (CTest) against a throwaway PostgreSQL that
# it starts and stops, unless UVDB_TEST_URL already names a server.
# Without arguments (what CI runs, .ci/run) it then also:
#   - runs the cluster suite (ctest -L cluster) against a primary, a standby
#     and PgBouncer started by scripts/pg-test-cluster.sh (plain build only);
#   - builds and runs the test suites under AddressSanitizer + UBSan + LSan
#     (preset asan, build-asan/) and under ThreadSanitizer (preset tsan,
#     build-tsan/), against the same server;
#   - runs scripts/lint.sh (clang-format and clang-tidy, Debian's LLVM 14);
#   - runs the libFuzzer targets for a bounded time (scripts/fuzz.sh).
# The CPU-bound steps of a full run (the two sanitizer builds, lint.sh) run
# in a background lane at idle priority beside the test steps, which mostly
# wait on the network and on timers (see "The lane" below); the results are
# reported in the order above. UVDB_TEST_SERIAL=1 runs every step in the
# foreground, one after another, on one server.
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
    lane_stop
    if [[ -n $cluster_dir ]]; then scripts/pg-test-cluster.sh stop "$cluster_dir" >/dev/null || true; fi
    if [[ -n $pg_dir_fault ]]; then scripts/pg-test-server.sh stop "$pg_dir_fault" || true; fi
    if [[ -n $pg_dir ]]; then scripts/pg-test-server.sh stop "$pg_dir" || true; fi
}
# The lane: the CPU-bound steps of a full run (build-asan, build-tsan, lint,
# in the order the test steps need them) run one after another in one
# background subshell at idle priority (SCHED_IDLE through chrt; nice 19
# where chrt cannot), while the test steps run in the foreground. An idle
# process only gets the CPU that nothing else wants, and a test thread that
# wakes takes the CPU from it at once, so the tests keep their timing; on
# CI's 2 cores the builds and clang-tidy use the time the suites spend
# waiting. Each step's output is printed when the foreground reaches it.
# Without a lane (UVDB_TEST_SERIAL=1, or a ctest subset) lane_wait runs the
# step in the foreground.
lane_pid=
lane_dir=
lane_steps=()
# lane_run STEP: the step's command.
lane_run() {
    case $1 in
    lint) scripts/lint.sh ;;
    build-asan | build-tsan) cmake --preset "${1#build-}" >/dev/null && cmake --build --preset "${1#build-}" ;;
    *) echo "test.sh: no lane step $1" >&2; return 1 ;;
    esac
}
lane_start() {
    lane_dir=$(mktemp -d /tmp/uvdb-lane.XXXXXX)
    (
        chrt --idle --pid 0 "$BASHPID" >/dev/null 2>&1 || renice -n 19 -p "$BASHPID" >/dev/null 2>&1 || true
        for step in "${lane_steps[@]}"; do
            begun=$(date +%s)
            rc=0
            lane_run "$step" >"$lane_dir/$step.log" 2>&1 </dev/null || rc=$?
            echo "$rc $(($(date +%s) - begun))" >"$lane_dir/$step.tmp"
            mv "$lane_dir/$step.tmp" "$lane_dir/$step.done"
        done
    ) &
    lane_pid=$!
}
# lane_wait STEP: waits for STEP, prints its output and returns its status.
lane_wait() {
    local step=$1 rc secs
    if [[ -z $lane_pid ]]; then
        lane_run "$step"
        return
    fi
    while [[ ! -f $lane_dir/$step.done ]]; do
        if ! kill -0 "$lane_pid" 2>/dev/null && [[ ! -f $lane_dir/$step.done ]]; then
            echo "test.sh: the background lane ended before $step" >&2
            return 1
        fi
        sleep 1
    done
    cat "$lane_dir/$step.log"
    read -r rc secs <"$lane_dir/$step.done"
    timings+=("$(printf '%-34s %4d s' "  $step, its run in the lane" "$secs")")
    return "$rc"
}
# kill_tree PID: PID and every process below it, children first.
# shellcheck disable=SC2317  # called by lane_stop
kill_tree() {
    local list child children
    for list in /proc/"$1"/task/*/children; do
        children=()
        read -ra children 2>/dev/null <"$list" || true
        for child in "${children[@]}"; do kill_tree "$child"; done
    done
    kill "$1" 2>/dev/null || true
}
# shellcheck disable=SC2317  # called by the EXIT trap
lane_stop() {
    if [[ -n $lane_pid ]]; then
        kill_tree "$lane_pid"
        wait "$lane_pid" 2>/dev/null || true
        lane_pid=
    fi
    if [[ -n $lane_dir ]]; then rm -rf "$lane_dir"; fi
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
# A full run starts the lane now: the sanitizer builds and lint.sh need
# nothing from the test steps, only build/ (compile_commands.json).
if [[ $# -eq 0 ]]; then
    if [[ ${UVDB_CI_SANITIZERS:-1} != 0 ]]; then lane_steps+=(build-asan build-tsan); fi
    lane_steps+=(lint)
    if [[ ${UVDB_TEST_SERIAL:-0} != 1 ]]; then lane_start; fi
fi

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

    # The sanitizer builds (CMakePresets.json, built in the lane): every
    # suite but install_consumer and plugin_consumer, which test packaging
    # (the kv plugin still loads under them in conformance_kv_plugin). Same
    # server. The step times below are what the foreground waited.
    if [[ ${UVDB_CI_SANITIZERS:-1} != 0 ]]; then
        for preset in asan tsan; do
            t=$SECONDS
            if lane_wait "build-$preset"; then
                step_done "build ($preset)" "$t"
                t=$SECONDS
                run_suites "install_consumer|plugin_consumer" --preset "$preset" || status=$?
                step_done "ctest ($preset)" "$t"
            else
                step_done "build ($preset)" "$t"
                echo "test.sh: the $preset build failed" >&2
                status=1
            fi
        done
    fi

    # clang-format over every source file and clang-tidy over the library
    # sources (build/compile_commands.json): any difference or finding fails.
    t=$SECONDS
    lane_wait lint || status=$?
    step_done "lint.sh" "$t"

    # The libFuzzer targets (clang) from their seed corpora in the
    # repository; last, with the lane done: each target runs for a fixed
    # time, so it gets the whole CPU.
    t=$SECONDS
    UVDB_FUZZ_REQUIRED=1 UVDB_FUZZ_SECONDS=${UVDB_FUZZ_SECONDS:-20} scripts/fuzz.sh || status=$?
    step_done "fuzz.sh" "$t"
fi

echo "test.sh: timings on $(nproc) cores (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
if [[ -n $lane_dir ]]; then
    echo "test.sh: \"<step>, its run in the lane\" is a background step's own time; the line after it, what the run waited for it"
fi
printf '  %s\n' "${timings[@]}"
printf '  %-34s %4d s\n' "total" $((SECONDS - started))
exit "$status"
