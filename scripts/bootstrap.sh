#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv, installing everything with
# constraints.txt. Idempotent: re-runs pip only when pyproject.toml, constraints.txt or the list of
# package files changed.
#
# The install is editable in setuptools' strict mode: the package is laid out as installed
# (edgevid/, edgevid/exporters -> exporters/, edgevid/runners -> runners/) as a tree of links to
# the source files under build/__editable__.*, so static tools and IDEs resolve every module under
# its one name (edgevid.runners.loop) as Python does. Edits to files show at once; a new or
# removed module needs a re-run of this script (the file list is part of the stamp).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${EDGEVID_VENV:-$root/.venv}"
python="${PYTHON:-python3}"
stamp="$venv/.edgevid-install-stamp"
want="$( (cat "$root/pyproject.toml" "$root/constraints.txt";
          cd "$root" && find edgevid exporters runners -name '*.py' | LC_ALL=C sort) |
        sha256sum | cut -d' ' -f1)"

if [ ! -x "$venv/bin/python" ]; then
  echo "[bootstrap] creating $venv" >&2
  "$python" -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[bootstrap] installing edgevid[all,dev] with constraints.txt (first run takes about a minute)" >&2
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
  "$venv/bin/python" -m pip install -q -c "$root/constraints.txt" -e "$root[all,dev]" \
    --config-settings editable_mode=strict >&2
  echo "$want" > "$stamp"
fi
