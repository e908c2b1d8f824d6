#!/usr/bin/env bash
# Installs the Debian 12 packages aigw needs to build, test and run its lab.
# Usage: deploy/install-deps.sh [--build-only]
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

build=(
  build-essential cmake pkg-config clang llvm bpftool libbpf-dev libxdp-dev
  libelf-dev zlib1g-dev libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libboost-dev libfmt-dev
  catch2 prometheus-cpp-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libssl-dev
)
# The packages' own builds and checks (tests/packaging): Debian, and the RPM
# built here for inspection with rpmbuild and rpmlint.
package=(debhelper lintian help2man file rpm rpmlint)
test=(
  iproute2 iputils-ping ethtool tshark python3 python3-scapy python3-numpy iperf3 netsniff-ng
  prometheus nfdump xdp-tools procps
)

pkgs=("${build[@]}" "${package[@]}")
[[ "${1:-}" == "--build-only" ]] || pkgs+=("${test[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  # tshark asks whether non-root users may capture; answer no.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "all dependencies present"
fi
