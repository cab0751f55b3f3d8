#!/usr/bin/env bash
# Run the test suite on real runtimes. Does the whole set-up: the system packages the tests start
# (scripts/system-packages.txt: installed as root on Debian, else named in one line and their
# tests skip) and .venv (scripts/bootstrap.sh). Extra arguments go to pytest, e.g.
#   bash scripts/test.sh -m "not slow"     # the quick set
#   bash scripts/test.sh -n 0              # one process (no pytest-xdist workers)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/system_deps.sh
source scripts/system_deps.sh
system_deps_install
bash scripts/bootstrap.sh
# One pytest-xdist worker per core; a test module stays on one worker (its module-scoped fixtures
# -- exports, an sshd device -- are made once). Arguments given here come later and win (-n 0).
exec .venv/bin/python -m pytest -q -n auto --dist loadfile "$@"
