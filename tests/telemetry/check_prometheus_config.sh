#!/usr/bin/env bash
# Static checks of the shipped Prometheus files with promtool (Debian package
# prometheus): the example configuration, the rules, and the rules' unit tests
# (aigw-rules.test.yml). Exit 77 (skipped) when promtool is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
promtool=${PROMTOOL:-$(command -v promtool || true)}
if [[ -z "$promtool" || ! -x "$promtool" ]]; then
  echo "promtool not installed (Debian package prometheus): skipped"
  exit 77
fi
shopt -s nullglob
configs=("$repo"/deploy/prometheus/prometheus*.yml)
rules=("$repo"/deploy/prometheus/*-rules.yml)
((${#configs[@]})) || { echo "no deploy/prometheus/prometheus*.yml"; exit 1; }
((${#rules[@]})) || { echo "no deploy/prometheus/*-rules.yml"; exit 1; }
"$promtool" check config "${configs[@]}"
"$promtool" check rules "${rules[@]}"
cd "$here"  # rule_files in the test file are relative to it
"$promtool" test rules aigw-rules.test.yml
echo "promtool: configuration, rules and rule tests OK"
