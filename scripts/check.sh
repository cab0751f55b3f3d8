#!/usr/bin/env bash
# Static checks: ruff (lint + format check) and mypy over edgevid/, exporters/, runners/, and
# vermin: runners/ must run on the devices' own Python (3.8, JetPack 5). Sets up .venv on first
# use. Exit code non-zero on the first failing check.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
py="${EDGEVID_VENV:-$root/.venv}/bin/python"
dirs=(edgevid exporters runners)

echo "[check] ruff check" >&2
"$py" -m ruff check "${dirs[@]}"
echo "[check] ruff format --check" >&2
"$py" -m ruff format --check "${dirs[@]}"

# exporters/ and runners/ are the packages edgevid.exporters / edgevid.runners (package-dir
# mapping). The strict editable install (scripts/bootstrap.sh) lays the package out as it is
# installed, as a tree of links to the source files; mypy checks that tree, so every module has
# one name (edgevid.runners.loop, never runners.loop) and imports resolve as they do at run time.
tree="$("$py" -c 'import edgevid, os; print(os.path.dirname(os.path.dirname(edgevid.__file__)))')"
if [ "$tree" = "$root" ]; then
  echo "[check] edgevid is not installed in strict editable mode: rerun scripts/bootstrap.sh" >&2
  exit 2
fi
echo "[check] mypy -p edgevid (package tree $tree)" >&2
(cd "$tree" && MYPYPATH="$tree" "$py" -m mypy --config-file "$root/pyproject.toml" \
  --cache-dir "$root/.mypy_cache" -p edgevid)

echo "[check] vermin: runners/ on Python 3.8" >&2
"$(dirname "$py")/vermin" -t=3.8- --no-tips --violations --eval-annotations runners/

echo "[check] host code imports edgevid.runners, never the bare name runners" >&2
if grep -rnE '^\s*(from|import) runners(\.|\s|$)' edgevid exporters tests benchmarks; then
  echo "[check] the lines above import the bare top-level name 'runners'" >&2
  exit 1
fi
echo "[check] all passed" >&2
