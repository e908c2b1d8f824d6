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
# Grafana dashboards: every panel query must parse as PromQL. promtool has
# no offline query check, so they go into a throw-away rules file (Grafana's
# variables replaced by plain values) that `promtool check rules` parses.
dashboards=("$repo"/deploy/grafana/*.json)
if ((${#dashboards[@]})); then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  /usr/bin/python3 - "$tmp/dashboards-rules.yml" "${dashboards[@]}" <<'PY'
import json, sys
out, files = sys.argv[1], sys.argv[2:]
builtin = {"$__rate_interval": "1m", "$__interval": "1m"}
rules = []
for path in files:
    with open(path) as f:
        d = json.load(f)
    # The dashboard's own query variables ("All" = .*); any other $name is an error.
    subst = dict(builtin)
    for v in d.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            subst["$" + v["name"]] = ".*"
    for p in d.get("panels", []):
        for t in p.get("targets", []):
            e = t["expr"]
            for k, v in sorted(subst.items(), key=lambda kv: -len(kv[0])):
                e = e.replace(k, v)
            if "$" in e:
                sys.exit(f"{path}: panel {p.get('title')!r}: unknown variable in {e!r}")
            rules.append((f"{path}: {p.get('title')}", e))
    if not rules:
        sys.exit(f"{path}: no panel queries")
with open(out, "w") as f:
    f.write("groups:\n  - name: dashboards\n    rules:\n")
    for i, (where, e) in enumerate(rules):
        f.write(f"      # {where}\n      - record: dashboard:query{i}\n        expr: {json.dumps(e)}\n")
print(f"{len(rules)} dashboard queries from {len(files)} file(s)")
PY
  "$promtool" check rules "$tmp/dashboards-rules.yml"
fi

cd "$here"  # rule_files in the test file are relative to it
"$promtool" test rules aigw-rules.test.yml
echo "promtool: configuration, rules, rule tests and dashboard queries OK"
