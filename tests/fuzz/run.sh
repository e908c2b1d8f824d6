#!/bin/sh
# Long fuzzing runs (issue 8 "hostile input"): >= 1,000,000 packets through
# the XDP programs, >= 100,000 configuration files through the parser, and
# 1,000,000 control requests. Each fuzzer prints its figures (inputs, rate,
# verdicts and drop reasons hit, findings); the script exits 1 when any of
# them found something. As root, after building the fuzz targets:
#
#   tests/fuzz/run.sh [BUILD_DIR] [SEED]
#
# PACKETS, CONFIGS and REQUESTS override the counts.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
seed=${2:-$(date +%s)}
bin=$build/tests/fuzz
status=0
echo "== seed $seed"
"$bin/aigw-packet-fuzz" --seed "$seed" --iterations "${PACKETS:-1000000}" --reports 2 || status=1
"$bin/aigw-config-fuzz" --seed "$seed" --iterations "${CONFIGS:-100000}" --reports 2 \
  "$src/deploy/examples/aigw.yaml" "$src/tests/unit/data" "$here/packet_fuzz.yaml" || status=1
"$bin/aigw-proto-fuzz" --seed "$seed" --iterations "${REQUESTS:-1000000}" --reports 2 || status=1
exit $status
