#!/usr/bin/env bash
# aigw "try it": on a fresh Debian 12 machine, as root, from anywhere:
#
#     sudo deploy/lab/run-lab.sh
#
# installs the dependencies, builds aigw into build/, starts the two-site lab
# (host1 - gwa - core - gwb - host2, namespaces aigw-lab-*), sends traffic
# through both gateways (ping IPv4/IPv6 both ways, a short iperf3 TCP run),
# prints `aigwctl status` and `aigwctl stats show` of gwa and gwb, and leaves
# the lab running. Running it again tears the old lab down first.
#
# Environment: AIGW_BUILD_DIR (default build), AIGW_LAB_KERNEL (gateways to run
# kernel-only SRv6 instead of aigw, e.g. "gwa" or "core"), SKIP_DEPS=1.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
build=${AIGW_BUILD_DIR:-build}
py=/usr/bin/python3
lab=(env AIGW_LAB_QUIET=1 "$py" deploy/lab/lab.py)

if [[ $(id -u) -ne 0 ]]; then
  echo "run-lab.sh: run as root (network namespaces, XDP)" >&2
  exit 1
fi

if [[ "${SKIP_DEPS:-0}" != 1 ]]; then
  echo "== dependencies"
  deploy/install-deps.sh
fi

echo "== build ($build)"
cmake -S . -B "$build"
cmake --build "$build" -j"$(nproc)"

echo "== lab"
"${lab[@]}" down >/dev/null           # idempotent: remove a previous lab
"${lab[@]}" up --build-dir "$build" --kernel "${AIGW_LAB_KERNEL:-}"

echo "== traffic"
rc=0
"${lab[@]}" traffic || rc=$?

cat <<EOF

The lab is still running (namespaces aigw-lab-*):
  deploy/lab/lab.py status                 agents and namespaces
  deploy/lab/lab.py ctl gwa stats show     any aigwctl command on gwa/core/gwb
  deploy/lab/lab.py exec host1 ping 198.51.100.10
  deploy/lab/lab.py down                   stop aigwd, remove namespaces and pins
EOF
exit $rc
