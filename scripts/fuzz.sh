#!/usr/bin/env bash
# Builds uvdb's libFuzzer targets with clang in build-fuzz/ (UVDB_FUZZ=ON) and
# runs each for a bounded time from its seed corpus in the repository.
# Exits non-zero when a target finds a crash, a leak or undefined behaviour;
# the input that did it is left in build-fuzz/artifacts/.
#
#   scripts/fuzz.sh                 every target, 20 s each
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
status=0
ran=0
while read -r name exe corpus dict; do
    [[ -z $name ]] && continue
    if [[ $# -gt 0 ]] && [[ " $* " != *" $name "* ]]; then
        continue
    fi
    ran=$((ran + 1))
    # New inputs go to a scratch folder; the seed corpus in the repo is only read.
    work=$(mktemp -d "${TMPDIR:-/tmp}/uvdb-fuzz-$name.XXXXXX")
    args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
          -artifact_prefix="$PWD/build-fuzz/artifacts/$name-")
    [[ $dict != - ]] && args+=(-dict="$dict")
    echo "fuzz.sh: $name for ${seconds}s from $corpus"
    if ! "$exe" "${args[@]}" "$work" "$corpus"; then
        echo "fuzz.sh: $name FAILED; the input is in build-fuzz/artifacts/" >&2
        status=1
    fi
    rm -rf "$work"
done < build-fuzz/fuzzers.txt

if [[ $ran -eq 0 ]]; then
    echo "fuzz.sh: no fuzz target matched${*:+: $*}" >&2
    exit 1
fi
exit "$status"
