"""A real PostgreSQL server for the team-database tests: Debian's ``postgresql`` binaries,
``initdb`` in a temp folder owned by an unprivileged user (``postgres`` when run as root, else
the current user), trust authentication on a free loopback port; stopped (``pg_ctl stop``) after.
Skips, with the reason in one line, where the binaries are missing."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from sshd_device import free_port


def _bindir() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL tests need Debian's postgresql package (no "
                    "/usr/lib/postgresql/*/bin/initdb): apt-get install postgresql")
    return os.path.dirname(found[-1])


@dataclass
class PG:
    url: str
    data: Path
    as_user: list


def start_pg() -> PG:
    bindir = _bindir()
    try:
        import psycopg  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError:
        pytest.skip("PostgreSQL tests need the lab extra: pip install 'edgevid[lab]'")
    as_user: list = []
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser: cannot start PostgreSQL as a user")
        as_user = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="evpg-"))
    data = base / "data"
    if as_user:
        shutil.chown(base, "postgres")
    port = free_port()
    run = lambda *a: subprocess.run(as_user + list(a), check=True, capture_output=True,  # noqa: E731
                                     text=True, timeout=120)
    run(f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "edgevid", "--no-sync")
    run(f"{bindir}/pg_ctl", "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60",
        "-o", f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c max_connections=100", "start")
    run(f"{bindir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "edgevid", "results")
    return PG(f"postgresql+psycopg://edgevid@127.0.0.1:{port}/results", data, as_user)


def stop_pg(pg: PG) -> None:
    subprocess.run(pg.as_user + [f"{_bindir()}/pg_ctl", "-D", str(pg.data), "-m", "fast", "-w",
                                 "stop"], capture_output=True, timeout=60)
    shutil.rmtree(pg.data.parent, ignore_errors=True)
