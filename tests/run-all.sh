#!/usr/bin/env bash
# Installs what is missing (Debian packages), builds aigw and runs the whole
# test suite (unit, datapath, e2e) with ctest. Needs root (BPF, network
# namespaces). Usage: tests/run-all.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AIGW_BUILD_DIR:-build}

if [[ $(id -u) -ne 0 ]]; then
  echo "tests/run-all.sh: run as root (BPF programs, network namespaces)" >&2
  exit 1
fi
deploy/install-deps.sh
# Leftovers of an interrupted earlier run would break this one.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^aigwt-' || true); do
  ip netns del "$ns" || true
done

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure --timeout 1800 "$@"
