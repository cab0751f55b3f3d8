"""The results index behind a database URL: a real PostgreSQL server (tests/pg_server.py), eight
processes writing at once, history/report reading it back, rebuild re-importing the files, and
bad URLs answered in one line with exit 2."""
from __future__ import annotations

import json
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


def test_migration_4_fills_in_the_revision_of_older_rows(pg):
    """A database at schema version 3 (no git_revision column) with a row in it: opening it
    migrates, and a revision selector finds the row."""
    from sqlalchemy import create_engine, text

    from edgevid.results.db import MIGRATIONS, SCHEMA_TABLE, DbIndex
    from edgevid.results.query import parse

    admin = create_engine(pg.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE schema3"))
    admin.dispose()
    url = pg.url.rsplit("/", 1)[0] + "/schema3"
    old = create_engine(url)
    rec = _record("old", "nano", "cafe123", "2026-01-01T10:00:00+00:00", 10.0)
    with old.begin() as conn:
        conn.execute(text(f"CREATE TABLE {SCHEMA_TABLE} (version INTEGER NOT NULL)"))
        for stmt in (s for version in MIGRATIONS[:3] for s in version):
            conn.execute(text(stmt))
        conn.execute(text(f"INSERT INTO {SCHEMA_TABLE} (version) VALUES (3)"))
        conn.execute(text("INSERT INTO results (path, model, device, created_at, json, variant) "
                          "VALUES ('/x.json', 'old', 'nano', :w, :j, '')"),
                     {"w": rec["created_at"], "j": json.dumps(rec)})
    old.dispose()
    with DbIndex(url) as index:
        assert [r["device"] for r in index.find(parse("rev=cafe1234567"))] == ["nano"]
        assert index.find(parse("rev=cafe999")) == []


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


# -- compare and study read the index: the same tests on a SQLite file and on PostgreSQL ---------
@pytest.fixture(params=["sqlite", "postgresql"])
def team_db(request, tmp_path):
    """The index a team shares: a SQLite file, or the real PostgreSQL server (module-wide, so
    each test uses its own model names)."""
    if request.param == "sqlite":
        return str(tmp_path / "team.sqlite")
    return request.getfixturevalue("pg").url


def _record(model, device, rev, when, p50, threads=1):
    from edgevid.runners.loop import summarize
    from edgevid.runners.record import new_record

    s = [p50 * (1 + 0.002 * ((i * 7) % 11 - 5)) for i in range(30)]  # a tight spread around p50
    r = new_record(model=model, format="onnx", precision="fp32", device=device,
                   input_shape=[1, 3, 4, 32, 32], threads=threads, status="ok", samples_ms=s,
                   summary=summarize(s), created_at=when)
    r["env"] = {"git_revision": rev}
    return r


def test_compare_selects_each_side_from_the_index(team_db, tmp_path):
    from edgevid.results import store

    m = f"cmp-{tmp_path.name[-12:]}"  # this test's own model in a shared database
    main_old, main_new, pr = "aaaa111", "aaaa222", "bbbb333"
    for rec in (
        _record(m, "jetson-nano", main_old, "2026-01-01T10:00:00+00:00", 20.0),  # superseded
        _record(m, "jetson-nano", main_new, "2026-01-02T10:00:00+00:00", 10.0),  # main's newest
        _record(m, "jetson-nano", pr, "2026-01-03T10:00:00+00:00", 13.0),  # the PR: 30% slower
        _record(m, "orin-nano", pr, "2026-01-03T11:00:00+00:00", 5.0),
        _record(m, "jetson-nano", pr + "-dirty", "2026-01-04T10:00:00+00:00", 1.0),  # a dirty tree
    ):
        store.save(rec, tmp_path / "r", team_db)
    base = f"rev={main_old}|{main_new},device=jetson-nano,model={m}"
    new = f"rev:{pr}0123456789abcdef,device=jetson-nano,model={m}"  # a full SHA matches too
    p = run_cli("compare", base, new, "--db", team_db, "--fail-above", "5%", "--json",
                cwd=tmp_path)
    assert p.returncode == 1, p.stderr  # the gate fails the slower PR
    out = json.loads(p.stdout)
    (pair,) = out["pairs"]
    assert pair["device"] == "jetson-nano" and pair["label"] == "slower"
    assert 1.25 < pair["ratio"] < 1.35  # main's newest (10 ms), not the older 20 ms, nor dirty
    assert len(out["failing"]) == 1 and out["unpaired"] == []
    assert "1 older record(s) left out" in p.stderr
    # every device of the PR: the orin record has no base and is listed as unpaired
    p = run_cli("compare", base, f"rev={pr},model={m}", "--db", team_db, "--json", cwd=tmp_path)
    out = json.loads(p.stdout)
    assert [u["device"] for u in out["unpaired"]] == ["orin-nano"] and len(out["pairs"]) == 1
    # created_at ranges: until the first day is the superseded record alone
    p = run_cli("compare", f"model={m},device=jetson-nano,until=2026-01-01", new, "--db",
                team_db, "--json", cwd=tmp_path)
    assert 0.6 < json.loads(p.stdout)["pairs"][0]["ratio"] < 0.7, p.stderr
    # paths keep working, a path and a selector mix
    (pr_file,) = [f for f in (tmp_path / "r").rglob("*.json") if json.loads(f.read_text())[
        "env"]["git_revision"] == pr and "jetson" in str(f)]
    p = run_cli("compare", base, pr_file, "--db", team_db, "--json", cwd=tmp_path)
    assert p.returncode == 0 and json.loads(p.stdout)["pairs"][0]["label"] == "slower"


def test_compare_bad_selector_is_one_line_exit_2(team_db, tmp_path):
    from edgevid.results import store

    m = f"bad-{tmp_path.name[-12:]}"
    store.save(_record(m, "jetson-nano", "aaaa111", "2026-01-01T10:00:00+00:00", 10.0),
               tmp_path / "r", team_db)
    ok = f"rev=aaaa111,model={m}"
    cases = [
        ((ok, f"rev=cccc999,model={m}", "--db", team_db), "matches the new selector"),
        ((ok, "rev=xyz", "--db", team_db), "is not a git revision"),
        ((ok, "colour=red", "--db", team_db), "KEY one of rev, device"),
        ((ok, f"device=a,device=b,model={m}", "--db", team_db), "device given twice"),
        ((ok, ok), "give --db INDEX"),
        ((ok, ok, "--db", "postgresql+psycopg://edgevid@127.0.0.1:1/results"),
         "cannot use the database"),
        ((ok, ok, "--db", tmp_path / "none.sqlite"), "no results index at"),
    ]
    for args, says in cases:
        p = run_cli("compare", *args, cwd=tmp_path, timeout=120)
        assert p.returncode == 2, (args, p.stderr)
        assert says in p.stderr and "Traceback" not in p.stderr, (args, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1, (args, p.stderr)


def test_study_reuses_what_a_teammate_measured(team_db, tmp_path):
    """Teammate A's study measures and indexes; B's study on another machine (its own results
    folder; A's files not there) reuses A's record from the index and measures nothing."""
    import shutil

    from conftest import FAST

    args = ["study", "--models", "x3d-tiny", "--formats", "onnx", "--precision", "fp32",
            "--input-scale", "0.5", *FAST, "--artifacts", tmp_path / "art", "--db", team_db]
    # the shared PostgreSQL database may hold another parametrisation's x3d-tiny: a device of
    # this test's own (the desktop-cpu profile under another name)
    prof = tmp_path / "study-dev.yaml"
    text = (ROOT / "device_profiles" / "desktop-cpu.yaml").read_text()
    prof.write_text(text.replace("name: desktop-cpu", f"name: study-{tmp_path.name[-10:]}", 1))
    args += ["--device", prof]
    a = run_cli(*args, "--results", tmp_path / "ra", "--out", tmp_path / "repa", "--json",
                cwd=tmp_path)
    assert a.returncode == 0, a.stderr
    (fa,) = (tmp_path / "ra").rglob("*.json")  # the result file: the source of truth
    mine = json.loads(fa.read_text())
    assert "1/1 done (0 reused)" in a.stderr
    shutil.rmtree(tmp_path / "ra")  # B's machine does not have A's files
    b = run_cli(*args, "--results", tmp_path / "rb", "--out", tmp_path / "repb", "--json",
                cwd=tmp_path)
    assert b.returncode == 0, b.stderr
    assert "1/1 done (1 reused, 1 from the index)" in b.stderr
    assert not list((tmp_path / "rb").rglob("*.json"))  # nothing measured, nothing written
    study_b = json.loads((tmp_path / "repb" / "study.json").read_text())
    assert f"{mine['summary']['p50']:.2f}" in json.dumps(study_b)  # A's measurement reported
    # without the index B measures it anew
    c = run_cli(*args[:-4], "--device", prof, "--results", tmp_path / "rc", "--out",
                tmp_path / "repc", cwd=tmp_path)
    assert c.returncode == 0, c.stderr
    assert "1/1 done (0 reused)" in c.stderr and list((tmp_path / "rc").rglob("*.json"))
