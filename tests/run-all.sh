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
# Tests keep their state in their own temporary directories: the host's
# accounting directory (the agent's default) must come out untouched.
host_state() { { find /var/lib/aigw -printf '%p %s %T@\n' 2>/dev/null || true; } | sort; }
before=$(host_state)
rc=0
ctest --output-on-failure --timeout 1800 "$@" || rc=$?
after=$(host_state)
if [[ $before != "$after" ]]; then
  echo "tests/run-all.sh: the suite changed the host's /var/lib/aigw (a test or benchmark" \
    "without its own accounting.state_dir/usage_dir):" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  rc=1
fi
exit $rc
