#!/usr/bin/env bash
# Installs the Debian 12 packages that uvdb needs to build and test.
# Asks dpkg first: when everything is present it changes nothing and
# returns at once; apt-get runs only for what is missing.
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    libuv1-dev libpq-dev libssl-dev libtomlplusplus-dev catch2 libspdlog-dev libsqlite3-dev
    postgresql postgresql-contrib openssl
    pgbouncer  # the cluster tests (scripts/pg-test-cluster.sh) put it in front of the primary
    clang libclang-rt-14-dev clang-format-14 clang-tidy-14
    python3 python3-prometheus-client  # the metrics tests parse uvdb's output with it
)

command -v dpkg-query >/dev/null ||
    { echo "install-deps: needs a Debian-based system (dpkg-query not found)" >&2; exit 1; }

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$pkg")
done
((${#missing[@]} == 0)) && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if ((EUID == 0)); then
    sudo=()
elif command -v sudo >/dev/null; then
    sudo=(sudo)
else
    echo "install-deps: missing packages and neither root nor sudo: ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
