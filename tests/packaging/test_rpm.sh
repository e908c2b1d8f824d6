#!/usr/bin/env bash
# The RPM (issue 10 item 4), as far as Debian can check it: the spec
# (packaging/rpm/aigw.spec) builds with rpmbuild, rpmlint finds nothing
# beyond the overrides packaging/rpm/aigw.rpmlintrc explains, rpm -qp shows
# the metadata an EL/Fedora user relies on (description, dependencies by
# package name, %config(noreplace), systemd scriptlets, not relocatable),
# and an install into a scratch rpm database (--nodeps --noscripts: this is
# not an RPM system) lays the files out as the spec says; an erase keeps an
# edited configuration as .rpmsave. The RPM built here links Debian's
# libraries: it is for these checks, not for installing on EL/Fedora.
#   tests/packaging/test_rpm.sh
# Skipped (77) without root or without rpmbuild/rpmlint.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
[[ $(id -u) -eq 0 ]] || { echo "skipped: needs root"; exit 77; }
for t in rpmbuild rpmlint rpm help2man; do
  command -v $t >/dev/null || { echo "skipped: $t missing (deploy/install-deps.sh)"; exit 77; }
done
work=$(mktemp -d /tmp/aigwt-rpm.XXXXXX)
# AIGW_PKG_KEEP=1 keeps the work directory (build log, RPM, rpmlint output).
if [[ ${AIGW_PKG_KEEP:-} == 1 ]]; then trap 'echo "kept $work"' EXIT; else trap 'rm -rf "$work"' EXIT; fi
fail() { echo "FAIL: $*" >&2; exit 1; }
spec=$src/packaging/rpm/aigw.spec
version=$(sed -n 's/^Version: *//p' "$spec")

# The source tarball: the tracked files only.
mkdir -p "$work"/{SOURCES,tree}
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$src" ls-files -z | (cd "$src" && tar --null -T - -cf -) | tar -xf - -C "$work/tree"
else
  cp -a "$src/." "$work/tree" && rm -rf "$work/tree/build"
fi
tar -C "$work/tree" --transform "s,^\.,aigw-$version," -czf "$work/SOURCES/aigw-$version.tar.gz" .
rpmbuild -bb --nodeps --define "_topdir $work" --define "aigw_foreign_build 1" \
  --define "_smp_build_ncpus $(nproc)" --load "$src/packaging/rpm/macros.debian-host" \
  "$spec" >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; fail "rpmbuild"; }
rpmfile=$(ls "$work"/RPMS/*/aigw-"$version"-1*.rpm)
echo "built $(basename "$rpmfile")"

# rpmlint: no error or warning but the explained overrides.
rpmlint -c "$src/packaging/rpm/aigw.rpmlintrc" "$spec" "$rpmfile" >"$work/rpmlint.txt" 2>&1 || true
if grep -E ': (E|W): ' "$work/rpmlint.txt"; then fail "rpmlint reports the above"; fi
echo "rpmlint: $(tail -1 "$work/rpmlint.txt")"

q() { rpm -qp "$@" "$rpmfile" 2>/dev/null; }
[[ $(q --qf '%{SUMMARY}') == "AI-compute WAN gateway"* ]] || fail "summary: $(q --qf '%{SUMMARY}')"
q --qf '%{DESCRIPTION}' | grep -q "End.DT4/DT6/DT46" || fail "no real description"
[[ $(q --qf '%{PREFIXES}') == "(none)" ]] || fail "relocatable: prefixes $(q --qf '%{PREFIXES}')"
reqs=$(q --requires)
for p in "libbpf(x86-64) >= 1.1" "libnl3(x86-64)" "fmt(x86-64)" "yaml-cpp(x86-64)" \
    "prometheus-cpp(x86-64)" "civetweb(x86-64)"; do
  grep -qxF "$p" <<<"$reqs" || fail "Requires lacks '$p':"$'\n'"$reqs"
done
if grep -E '\.so' <<<"$reqs"; then fail "Requires names Debian sonames (above)"; fi
q --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' | grep -qx "cn /etc/aigw/aigw.yaml" ||
  fail "/etc/aigw/aigw.yaml is not %config(noreplace)"
scripts=$(q --scripts)
for s in "systemctl --no-reload preset aigwd.service" "disable --now aigwd.service" \
    "try-restart aigwd.service" "aigwd --detach --config /etc/aigw/aigw.yaml" \
    "systemd-tmpfiles --create aigw.conf"; do
  grep -qF "$s" <<<"$scripts" || fail "scriptlets lack '$s':"$'\n'"$scripts"
done
echo "metadata: summary, description, Requires by name, %config(noreplace), scriptlets"

# A scratch rpm database: the file layout, then an erase with an edited
# configuration.
root=$work/root
rpm --root "$root" --initdb
rpm --root "$root" -i --nodeps --noscripts "$rpmfile" || fail "scratch install"
for f in /usr/sbin/aigwd /usr/bin/aigwctl /usr/lib/systemd/system/aigwd.service \
    /usr/lib/tmpfiles.d/aigw.conf /usr/share/bash-completion/completions/aigwctl \
    /usr/share/aigw/grafana/aigw-operations.json /usr/share/aigw/prometheus/aigw-rules.yml \
    /usr/share/aigw/examples/aigw.yaml /etc/aigw/aigw.yaml /usr/share/man/man8/aigwd.8.gz \
    /usr/share/man/man8/aigwctl.8.gz /usr/share/man/man5/aigw.yaml.5.gz \
    /usr/share/licenses/aigw/copyright /usr/share/doc/aigw/README.md; do
  [[ -e $root$f ]] || fail "$f not installed"
done
file "$root/usr/sbin/aigwd" | grep -q ", stripped" || fail "aigwd not stripped"
zcat "$root/usr/share/man/man5/aigw.yaml.5.gz" | grep -q metrics_listen || fail "aigw.yaml(5) lacks the reference"
echo "scratch install: $(rpm --root "$root" -ql aigw | wc -l) files in place"
echo "# edited" >>"$root/etc/aigw/aigw.yaml"
rpm --root "$root" -e --noscripts aigw || fail "scratch erase"
[[ ! -e $root/usr/sbin/aigwd ]] || fail "aigwd left after erase"
[[ -e $root/etc/aigw/aigw.yaml.rpmsave ]] || fail "the edited configuration was not kept as .rpmsave"
echo "erased: the edited configuration kept as aigw.yaml.rpmsave"
