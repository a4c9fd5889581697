#!/usr/bin/env bash
# Lint: fails when a source file is not formatted as .clang-format says, or
# when clang-tidy finds anything that .clang-tidy asks for.
#
#   scripts/lint.sh            both
#   scripts/lint.sh format     clang-format only: every tracked *.cpp, *.hpp, *.h, *.c
#   scripts/lint.sh tidy       clang-tidy only: the library sources (core/src,
#                              pool/src, drivers/*/src)
#
# Both are Debian 12's LLVM 14 (CLANG_FORMAT, CLANG_TIDY override the
# programs). clang-tidy reads the compiler flags from
# $BUILD_DIR/compile_commands.json (default build/; the top-level
# CMakeLists.txt exports it), so configure with cmake first. Files are checked
# in parallel, one process per CPU.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what=${1:-all}
case $what in
all | format | tidy) ;;
-h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) echo "lint: unknown argument $what (format, tidy or nothing)" >&2; exit 2 ;;
esac

log() { printf 'lint: %s\n' "$*" >&2; }

# pick VAR DEFAULT: the program named by $VAR, else DEFAULT-14, else DEFAULT
# when it is version 14.
pick() {
    local var=$1 tool=$2 prog
    prog=${!var:-}
    if [[ -z $prog ]]; then
        if command -v "$tool-14" >/dev/null; then
            prog=$tool-14
        elif command -v "$tool" >/dev/null && "$tool" --version | grep -q 'version 14\.'; then
            prog=$tool
        else
            log "$tool 14 not found (apt-get install $tool-14, or set $var)"
            exit 1
        fi
    fi
    echo "$prog"
}

jobs=$(nproc)
status=0

if [[ $what == all || $what == format ]]; then
    clang_format=$(pick CLANG_FORMAT clang-format)
    mapfile -d '' files < <(git ls-files -z -- '*.cpp' '*.hpp' '*.h' '*.c')
    log "clang-format: ${#files[@]} files"
    # --dry-run --Werror prints each difference and exits non-zero on any.
    if ! printf '%s\0' "${files[@]}" |
        xargs -0 -n 16 -P "$jobs" "$clang_format" --style=file --dry-run --Werror; then
        log "clang-format: files differ from .clang-format (fix with: $clang_format -i FILE…)"
        status=1
    fi
fi

if [[ $what == all || $what == tidy ]]; then
    clang_tidy=$(pick CLANG_TIDY clang-tidy)
    build_dir=${BUILD_DIR:-build}
    if [[ ! -f $build_dir/compile_commands.json ]]; then
        log "no $build_dir/compile_commands.json: configure first (cmake -S . -B $build_dir)"
        exit 1
    fi
    mapfile -d '' files < <(git ls-files -z -- 'core/src/*.cpp' 'pool/src/*.cpp' 'drivers/*/src/*.cpp')
    # A library source the build does not compile (an optional driver left
    # out) has no flags to check it with: say so instead of guessing them.
    checked=()
    for f in "${files[@]}"; do
        if grep -qF "\"file\": \"$PWD/$f\"" "$build_dir/compile_commands.json"; then
            checked+=("$f")
        else
            log "clang-tidy: $f is not in $build_dir/compile_commands.json, not checked"
        fi
    done
    log "clang-tidy: ${#checked[@]} files, $jobs at a time"
    # Any warning fails (--warnings-as-errors), and so does a file that does
    # not parse (clang-diagnostic-error). The -include works around GCC 12's
    # <source_location> under Clang 14 (see the header).
    if ! printf '%s\0' "${checked[@]}" |
        xargs -0 -n 1 -P "$jobs" "$clang_tidy" -p "$build_dir" --quiet --warnings-as-errors='*' \
            --extra-arg=-include --extra-arg="$PWD/scripts/lint/clang14_source_location.hpp"; then
        log "clang-tidy: findings above"
        status=1
    fi
fi

if ((status == 0)); then log "clean"; fi
exit "$status"
