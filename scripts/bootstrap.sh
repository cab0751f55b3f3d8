#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv, installing everything with
# constraints.txt. Idempotent: re-runs pip only when pyproject.toml or constraints.txt changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${EDGEVID_VENV:-$root/.venv}"
python="${PYTHON:-python3}"
stamp="$venv/.edgevid-install-stamp"
want="$(cat "$root/pyproject.toml" "$root/constraints.txt" | sha256sum | cut -d' ' -f1)"

if [ ! -x "$venv/bin/python" ]; then
  echo "[bootstrap] creating $venv" >&2
  "$python" -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[bootstrap] installing edgevid[all,dev] with constraints.txt (first run takes about a minute)" >&2
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
  "$venv/bin/python" -m pip install -q -c "$root/constraints.txt" -e "$root[all,dev]" >&2
  echo "$want" > "$stamp"
fi
