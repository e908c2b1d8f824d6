#!/usr/bin/env bash
# Builds the Debian package (debian/, debhelper) from a clean copy of this
# tree and checks it with lintian. Usage: packaging/build-deb.sh OUTDIR
# OUTDIR gets aigw_VERSION_ARCH.deb, the -dbgsym package, .buildinfo,
# .changes and lintian.txt. Needs the build dependencies of debian/control
# (deploy/install-deps.sh --package).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
work=$(mktemp -d /tmp/aigw-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The tracked files only (a build tree or local junk must not leak in).
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$src" ls-files -z | (cd "$src" && tar --null -T - -cf -) | (mkdir "$work/aigw" && tar -xf - -C "$work/aigw")
else
  cp -a "$src" "$work/aigw" && rm -rf "$work/aigw/build"
fi
(cd "$work/aigw" && dpkg-buildpackage -b -us -uc -j"$(nproc)" >"$work/build.log" 2>&1) || {
  tail -40 "$work/build.log" >&2; exit 1; }
cp "$work"/*.deb "$work"/*.ddeb "$work"/*.buildinfo "$work"/*.changes "$out"/ 2>/dev/null || true
lintian --pedantic --info --display-info "$work"/*.changes >"$out/lintian.txt" 2>&1 || true
ls -l "$out"
