#!/usr/bin/env bash
# Run the test suite on real runtimes. Sets up .venv on first use. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest -q "$@"
