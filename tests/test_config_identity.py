"""Defect 5: the runtime variant is part of a result's identity everywhere.

A profile listing `tflite` twice, with XNNPACK on and off, gives two results of one format and
precision that differ only in the variant. Real CLI, real LiteRT, x3d-tiny, short timing knobs."""
import json
import sqlite3

from conftest import FAST, run_cli, seed_artifacts

PROFILE = """\
name: variant-cpu
connection: {type: local}
formats:
  - {format: tflite, xnnpack: true}
  - {format: tflite, xnnpack: false}
threads: 1
"""


def _bench(workdir, results):
    proc = run_cli("bench", "x3d-tiny", "--device", workdir / "variant.yaml", *FAST,
                   "--results", results, "--json", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_variants_are_told_apart_in_files_index_compare_history_and_report(workdir,
                                                                            x3d_tiny_exports):
    seed_artifacts(x3d_tiny_exports, workdir / "artifacts")
    (workdir / "variant.yaml").write_text(PROFILE)
    base = _bench(workdir, "base")
    assert sorted(r["variant"] for r in base) == ["xnnpack=False", "xnnpack=True"]
    assert {r["runtime_settings"]["xnnpack"] for r in base} == {True, False}
    files = sorted(p.name for p in (workdir / "base").rglob("*.json"))
    assert len(files) == 2 and any("xnnpack_False" in f for f in files), files
    assert any("xnnpack_True" in f for f in files), files

    _bench(workdir, "new")
    proc = run_cli("compare", "base", "new", "--json", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    # each variant is paired with itself; none is dropped as "superseded"
    assert sorted(p["variant"] for p in out["pairs"]) == ["xnnpack=False", "xnnpack=True"]
    assert out["unpaired"] == [], out["unpaired"]

    with sqlite3.connect(workdir / "base" / "index.sqlite") as db:
        rows = db.execute("SELECT format, variant FROM results").fetchall()
    assert sorted(rows) == [("tflite", "xnnpack=False"), ("tflite", "xnnpack=True")]

    hist = run_cli("history", "x3d-tiny", "--results", "base", "--json", cwd=workdir)
    assert hist.returncode == 0, hist.stderr
    assert sorted(r["variant"] for r in json.loads(hist.stdout)) == ["xnnpack=False",
                                                                     "xnnpack=True"]
    rep = run_cli("report", "base", cwd=workdir)
    assert rep.returncode == 0, rep.stderr
    header = next(line for line in rep.stdout.splitlines() if line.startswith("| model"))
    assert "| variant |" in header
    assert "xnnpack=False" in rep.stdout and "xnnpack=True" in rep.stdout
