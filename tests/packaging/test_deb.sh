#!/usr/bin/env bash
# The Debian package as an operator meets it (issue 10): built from this
# tree by packaging/build-deb.sh, lintian --pedantic clean, then installed,
# upgraded, removed and purged on this machine, leaving nothing behind.
#   tests/packaging/test_deb.sh [--reproducible]
# --reproducible builds a second time and requires byte-identical packages.
# Needs root; skipped (77) where aigw is already installed (a developer's
# machine: never clobber it) or the build tools are missing. Nothing is
# started: without systemd as PID 1 the unit is not run (the maintainer
# scripts' systemd calls are no-ops), and no interface is touched.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
[[ $(id -u) -eq 0 ]] || { echo "skipped: needs root"; exit 77; }
for t in dpkg-buildpackage lintian help2man dh; do
  command -v $t >/dev/null || { echo "skipped: $t missing (deploy/install-deps.sh)"; exit 77; }
done
if dpkg-query -W -f='${Status}' aigw 2>/dev/null | grep -q "installed"; then
  echo "skipped: an aigw package is installed here; not touching it"; exit 77
fi
work=$(mktemp -d /tmp/aigwt-deb.XXXXXX)
cleanup() { dpkg -P aigw >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$src/packaging/build-deb.sh" "$work/a" >/dev/null
deb=$(ls "$work"/a/aigw_*_*.deb)
echo "built $(basename "$deb")"

# lintian --pedantic: nothing but the overridden tags (which it does not print).
if grep -E '^[EWIP]: ' "$work/a/lintian.txt"; then fail "lintian reports the tags above"; fi
echo "lintian --pedantic: clean ($(grep -c '^N: ' "$work/a/lintian.txt" || true) notes)"

# Depends from dpkg-shlibdeps: the libraries the binaries link, libc included.
dep=$(dpkg-deb -f "$deb" Depends)
# libxdp1: aigwd's RDMA proxy opens AF_XDP sockets with it.
for lib in libc6 libstdc++6 libgcc-s1 libbpf1 libnl-3-200 libxdp1; do
  [[ $dep == *"$lib "* ]] || fail "Depends lacks $lib: $dep"
done
# Stripped, with the debug symbols in the -dbgsym package.
dpkg-deb -x "$deb" "$work/x"
for b in usr/sbin/aigwd usr/bin/aigwctl; do
  file "$work/x/$b" | grep -q ", stripped" || fail "$b is not stripped"
done
ls "$work"/a/aigw-dbgsym_*.deb >/dev/null || fail "no -dbgsym package"

if [[ ${1:-} == --reproducible ]]; then
  "$src/packaging/build-deb.sh" "$work/b" >/dev/null
  cmp "$deb" "$work/b/$(basename "$deb")" || fail "two builds differ (diffoscope them)"
  echo "reproducible: two builds are byte-identical"
fi

# Install: files in place, man pages, nothing started (no configuration).
dpkg -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i"; }
for f in /usr/sbin/aigwd /usr/bin/aigwctl /lib/systemd/system/aigwd.service \
    /usr/lib/tmpfiles.d/aigw.conf /usr/share/bash-completion/completions/aigwctl \
    /usr/share/aigw/grafana/aigw-operations.json /usr/share/aigw/prometheus/aigw-rules.yml \
    /usr/share/aigw/examples/aigw.yaml /usr/share/doc/aigw/copyright; do
  [[ -e $f ]] || fail "$f not installed"
done
for m in aigwd.8 aigwctl.8 aigw.yaml.5; do
  [[ -e /usr/share/man/man${m##*.}/$m.gz ]] || fail "man page $m missing"
done
zcat /usr/share/man/man5/aigw.yaml.5.gz | grep -q "metrics_listen" || fail "aigw.yaml(5) lacks the reference"
/usr/sbin/aigwd --version | grep -q "$(dpkg-deb -f "$deb" Version | sed 's/-[^-]*$//')" || fail "aigwd --version"
/usr/sbin/aigwd --check --config /usr/share/aigw/examples/aigw.yaml >/dev/null 2>&1 && \
  fail "--check accepted the example's interfaces, which do not exist here"
echo "installed: binaries, unit, tmpfiles, completion, dashboards, rules, man pages"

# Upgrade to a later build (the same files, version -2): dpkg runs the
# upgrade paths of the maintainer scripts.
dpkg-deb -R "$deb" "$work/up"
sed -i 's/^Version: \(.*\)-1$/Version: \1-2/' "$work/up/DEBIAN/control"
dpkg-deb -b "$work/up" "$work/up.deb" >/dev/null
if [[ -n ${AIGW_BPF_DIR:-} && -f $AIGW_BPF_DIR/xdp_pass.bpf.o ]]; then
  # Under traffic: the lab's gateways run the installed aigwd; dpkg -i, then
  # each agent restarted onto the new binary (what systemd does on upgrade):
  # nothing lost, nothing leaked natively, counters continue.
  rc=0
  AIGWD=/usr/sbin/aigwd AIGWCTL=/usr/bin/aigwctl AIGW_UPGRADE_DEB="$work/up.deb" \
    /usr/bin/python3 "$src/tests/e2e/test_package_upgrade.py" >"$work/upgrade.log" 2>&1 || rc=$?
  if [[ $rc == 77 ]]; then  # skipped: the lab's core needs the kernel's SRv6 (see the log)
    grep -m1 "skipped" "$work/upgrade.log" || true
    echo "note: upgrade under traffic skipped on this kernel: upgrade without the lab's traffic"
    dpkg -i "$work/up.deb" >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; fail "upgrade"; }
  elif [[ $rc != 0 ]]; then
    cat "$work/upgrade.log"; fail "upgrade under traffic"
  fi
  grep "^\[e2e\] .* all received" "$work/upgrade.log" || true
else
  echo "note: AIGW_BPF_DIR unset (no build tree): upgrade without the lab's traffic"
  dpkg -i "$work/up.deb" >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; fail "upgrade"; }
fi
[[ $(dpkg-query -W -f='${Version}' aigw) == *-2 ]] || fail "not upgraded"
echo "upgraded to $(dpkg-query -W -f='${Version}' aigw)"

# The operator configures it (state appears), then removes and purges.
mkdir -p /etc/aigw /var/lib/aigw/usage
cp /usr/share/aigw/examples/aigw.yaml /etc/aigw/aigw.yaml
touch /var/lib/aigw/usage/usage-1h-20261202T000000Z.jsonl
dpkg -r aigw >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "dpkg -r"; }
[[ ! -e /usr/sbin/aigwd ]] || fail "aigwd left after remove"
[[ -e /etc/aigw/aigw.yaml ]] || fail "remove took the configuration (only purge may)"
dpkg -P aigw >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg -P"; }
for d in /etc/aigw /var/lib/aigw /run/aigw /sys/fs/bpf/aigw /usr/share/aigw /usr/share/doc/aigw; do
  [[ ! -e $d ]] || fail "$d left after purge"
done
dpkg-query -W aigw >/dev/null 2>&1 && fail "dpkg still knows aigw after purge"
echo "removed (configuration kept) and purged: nothing left"
