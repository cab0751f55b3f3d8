"""The results index behind a database URL: a real PostgreSQL server (tests/pg_server.py), eight
processes writing at once, history/report reading it back, rebuild re-importing the files, and
bad URLs answered in one line with exit 2."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from conftest import ROOT, json_out, run_cli
from pg_server import start_pg, stop_pg

WRITER = """
import sys, time
from pathlib import Path
from edgevid.results import store
from edgevid.runners.record import new_record
from edgevid.runners.loop import summarize
url, root, who, n, start = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
while time.time() < start:
    time.sleep(0.01)
for i in range(n):
    s = [10.0 + i, 10.5 + i, 11.0 + i]
    r = new_record(model="teammodel", format="onnx", precision="fp32", device=f"ci-{who}",
                   input_shape=[1, 3, 4, 32, 32], threads=i + 1, status="ok", samples_ms=s,
                   summary=summarize(s), created_at=f"2026-01-01T00:00:{i:02d}Z")
    store.save(r, root, url)
"""


@pytest.fixture(scope="module")
def pg():
    server = start_pg()
    yield server
    stop_pg(server)


def test_eight_concurrent_writers_lose_nothing(pg, tmp_path):
    writers, per = 8, 5
    start = time.time() + 3.0  # every process is connected and waiting when the gun goes
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, pg.url, str(tmp_path / f"r{w}"),
                               str(w), str(per), str(start)], cwd=ROOT, stderr=subprocess.PIPE,
                              text=True) for w in range(writers)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read() if p.stderr else ""
        assert "warning" not in (p.stderr.read() if p.stderr else "")
    out = json_out(run_cli("history", "teammodel", "--db", pg.url, "--json", cwd=tmp_path))
    assert len(out) == writers * per
    assert {r["device"] for r in out} == {f"ci-{w}" for w in range(writers)}
    # the report reads the same database
    rep = run_cli("report", "--db", pg.url, "--json", cwd=tmp_path)
    assert rep.returncode == 0, rep.stderr
    # result files are the source of truth: rebuild re-imports (upsert: nothing doubled)
    reb = run_cli("index", "rebuild", "--results", tmp_path / "r0", "--db", pg.url, "--json",
                  cwd=tmp_path)
    assert json_out(reb)["results"] == per
    again = json_out(run_cli("history", "teammodel", "--db", pg.url, "--json", cwd=tmp_path))
    assert len(again) == writers * per


def test_schema_is_versioned(pg):
    from sqlalchemy import create_engine, text

    from edgevid.results.db import MIGRATIONS, DbIndex

    with DbIndex(pg.url) as index:
        assert index.migrate() == len(MIGRATIONS)
    with create_engine(pg.url).connect() as conn:
        assert conn.execute(text("SELECT version FROM edgevid_schema")).scalar() == len(MIGRATIONS)


@pytest.mark.parametrize("url, says", [
    ("postgresql+psycopg://edgevid@127.0.0.1:1/results", "cannot use the database"),
    ("nosuchdb://x/y", "not a usable database URL"),
])
def test_bad_database_url_is_one_line_exit_2(url, says, workdir):
    for args in (("history", "m", "--db", url), ("bench", "x3d-tiny", "--to", "onnx", "--db", url)):
        proc = run_cli(*args, cwd=workdir, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert says in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (workdir / "results").exists()  # nothing measured
