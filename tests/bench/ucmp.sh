#!/usr/bin/env bash
# Goodput of 8 TCP elephants on 4 unequal WAN paths (40/30/20/10 Mbit/s,
# tc HTB on the core's links), aigw's elephant placement against plain
# weighted 5-tuple hashing in the same run: tests/e2e/test_ucmp.py's
# benchmark (see tests/bench/README.md). Runs in throw-away namespaces.
#   tests/bench/ucmp.sh [--runs N] [--build DIR]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RUNS=5
BUILD="$REPO/build"
while (($#)); do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--build DIR]" >&2; exit 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || { echo "--runs: 1..99" >&2; exit 2; }
export AIGW_UCMP_RUNS=$RUNS AIGWD="$BUILD/agent/aigwd" AIGWCTL="$BUILD/agent/aigwctl" \
  AIGW_BPF_DIR="$BUILD/bpf"
exec /usr/bin/python3 "$REPO/tests/e2e/test_ucmp.py" -k bench
