#!/usr/bin/env bash
# Builds the DEB (and the RPM when rpmbuild is installed) from a build tree.
# Usage: packaging/build-packages.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr
cmake --build "$build" -j"$(nproc)"
gens=DEB
command -v rpmbuild >/dev/null && gens="DEB;RPM"
(cd "$build" && cpack -G "$gens")
ls -l "$build"/*.deb "$build"/*.rpm 2>/dev/null || true
