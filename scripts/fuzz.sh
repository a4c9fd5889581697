#!/usr/bin/env bash
# Builds uvdb's libFuzzer targets with clang in build-fuzz/ (UVDB_FUZZ=ON) and
# runs each for a bounded time from its seed corpus in the repository.
# Exits non-zero when a target finds a crash, a leak or undefined behaviour;
# the input that did it is left in build-fuzz/artifacts/.
#
#   scripts/fuzz.sh                 every target, 20 s each, one per CPU at a time
#   UVDB_FUZZ_SECONDS=300 scripts/fuzz.sh config
#
# Without clang++ it says so and exits 0, unless UVDB_FUZZ_REQUIRED=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${UVDB_FUZZ_SECONDS:-20}
cxx=${UVDB_FUZZ_CXX:-clang++}
cc=${UVDB_FUZZ_CC:-clang}
jobs=${UVDB_FUZZ_BUILD_JOBS:-2}

if ! command -v "$cxx" >/dev/null 2>&1; then
    echo "fuzz.sh: $cxx not found; fuzzing skipped" >&2
    [[ ${UVDB_FUZZ_REQUIRED:-0} == 1 ]] && exit 1
    exit 0
fi

cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" \
    -DUVDB_FUZZ=ON -DUVDB_BUILD_TESTS=OFF -DUVDB_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-fuzz --target uvdb_fuzzers -j"$jobs"

mkdir -p build-fuzz/artifacts
# The targets run side by side, as many at once as there are CPUs
# (UVDB_FUZZ_PARALLEL overrides): each is single-threaded, so on CI's two
# cores five 20 s targets take 60 s instead of 100. Each one's output goes
# to a log that is printed when it ends, so the lines do not interleave.
parallel=${UVDB_FUZZ_PARALLEL:-$(nproc)}
logs=$(mktemp -d "${TMPDIR:-/tmp}/uvdb-fuzz-logs.XXXXXX")
status=0
ran=0
pids=()
names=()

# reap: waits for the oldest running target and reports it.
reap() {
    local pid=${pids[0]} name=${names[0]}
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
    if wait "$pid"; then
        cat "$logs/$name.log"
    else
        cat "$logs/$name.log"
        echo "fuzz.sh: $name FAILED; the input is in build-fuzz/artifacts/" >&2
        status=1
    fi
}

while read -r name exe corpus dict; do
    [[ -z $name ]] && continue
    if [[ $# -gt 0 ]] && [[ " $* " != *" $name "* ]]; then
        continue
    fi
    ran=$((ran + 1))
    ((${#pids[@]} >= parallel)) && reap
    # New inputs go to a scratch folder; the seed corpus in the repo is only read.
    work=$(mktemp -d "${TMPDIR:-/tmp}/uvdb-fuzz-$name.XXXXXX")
    args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
          -artifact_prefix="$PWD/build-fuzz/artifacts/$name-")
    [[ $dict != - ]] && args+=(-dict="$dict")
    echo "fuzz.sh: $name for ${seconds}s from $corpus"
    ("$exe" "${args[@]}" "$work" "$corpus" >"$logs/$name.log" 2>&1; rc=$?; rm -rf "$work"; exit $rc) &
    pids+=($!)
    names+=("$name")
done < build-fuzz/fuzzers.txt
while ((${#pids[@]} > 0)); do reap; done
rm -rf "$logs"

if [[ $ran -eq 0 ]]; then
    echo "fuzz.sh: no fuzz target matched${*:+: $*}" >&2
    exit 1
fi
exit "$status"
