#!/usr/bin/env bash
# Static checks: ruff (lint + format check) and mypy over edgevid/, exporters/, runners/,
# vermin (runners/ must run on the devices' own Python: 3.8, JetPack 5), and the import graph
# (scripts/import_graph.py: no cycle between edgevid's modules or its subpackages). Sets up .venv on first
# use. Every check runs; the exit code is non-zero if any failed, and the last line names them.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh || exit 2
py="${EDGEVID_VENV:-$root/.venv}/bin/python"
dirs=(edgevid exporters runners)
failed=()
check() {  # check NAME COMMAND...: run it, remember a failure
  local name="$1"
  shift
  echo "[check] $name" >&2
  "$@" || failed+=("$name")
}

check "ruff check" "$py" -m ruff check "${dirs[@]}" scripts/import_graph.py
check "ruff format --check" "$py" -m ruff format --check "${dirs[@]}"

# exporters/ and runners/ are the packages edgevid.exporters / edgevid.runners (package-dir
# mapping). The strict editable install (scripts/bootstrap.sh) lays the package out as it is
# installed, as a tree of links to the source files; mypy checks that tree, so every module has
# one name (edgevid.runners.loop, never runners.loop) and imports resolve as they do at run time.
tree="$(cd / && "$py" -c 'import edgevid, os; print(os.path.dirname(os.path.dirname(edgevid.__file__)))')"
if [ "$tree" = "$root" ]; then
  echo "[check] edgevid is not installed in strict editable mode: rerun scripts/bootstrap.sh" >&2
  exit 2
fi
mypy_tree() {
  cd "$tree" && MYPYPATH="$tree" "$py" -m mypy --config-file "$root/pyproject.toml" \
    --cache-dir "$root/.mypy_cache" -p edgevid
}
check "mypy -p edgevid (package tree $tree)" mypy_tree
cd "$root"
check "vermin: runners/ on Python 3.8" \
  "$(dirname "$py")/vermin" -t=3.8- --no-tips --violations --eval-annotations runners/

check "no import cycle in edgevid (modules and subpackages)" "$py" scripts/import_graph.py

no_bare_runners() {
  if grep -rnE '^\s*(from|import) runners(\.|\s|$)' edgevid exporters tests benchmarks; then
    echo "the lines above import the bare top-level name 'runners': use edgevid.runners" >&2
    return 1
  fi
}
check "host code imports edgevid.runners, never the bare name runners" no_bare_runners

if [ ${#failed[@]} -gt 0 ]; then
  echo "[check] FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "[check] all passed" >&2
