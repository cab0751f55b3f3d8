"""Issue 9, defects 3 and 6: a numerics failure is a failure everywhere; a corrupt SQLite index
loses nothing. Real CLI and runtimes. The numerics failure is real too: a user model whose
output is random (torch.randn in forward), so ONNX Runtime's output cannot match PyTorch's."""
import json
import sqlite3

from conftest import FAST, run_cli

NOISY = """
import torch
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3 * 2 * 4 * 4, 10)
    def forward(self, x):
        return self.fc(x.flatten(1)){noise}
def build():
    return Net()
"""
ARGS = ("--to", "onnx", "--input-shape", "3x2x4x4", *FAST)


def _model(workdir, noisy: bool):
    noise = " + 10 * torch.randn(x.shape[0], 10)" if noisy else ""
    (workdir / "netmod.py").write_text(NOISY.format(noise=noise))
    return {"PYTHONPATH": str(workdir)}


def test_numerics_failure_fails_bench_matrix_report_and_compare(workdir):
    env = _model(workdir, noisy=True)
    p = run_cli("bench", "netmod:build", *ARGS, "--results", "bad", cwd=workdir, env=env)
    assert p.returncode == 1, p.stderr
    assert "numerics are outside tolerance (FAIL)" in " ".join(p.stderr.split())
    assert "FAIL" in p.stdout  # the table
    js = run_cli("bench", "netmod:build", *ARGS, "--results", "bad", "--json", cwd=workdir,
                 env=env)
    assert js.returncode == 1
    (record,) = json.loads(js.stdout)
    assert record["status"] == "ok" and record["numerics"]["ok"] is False
    md = run_cli("report", "bad", cwd=workdir)
    row = next(ln for ln in md.stdout.splitlines() if ln.startswith("| netmod.build"))
    assert "numerics FAIL" in row and "**FAIL" in row  # status and numerics cells, in bold
    m = run_cli("matrix", "netmod:build", "--to", "onnx", "--input-shape", "3x2x4x4",
                "--results", "bad-m", cwd=workdir, env=env)
    assert m.returncode == 1 and "numerics" in m.stdout and "FAIL" in m.stderr, m.stderr

    env = _model(workdir, noisy=False)  # the same model name, now deterministic
    ok = run_cli("bench", "netmod:build", *ARGS, "--results", "good", cwd=workdir, env=env)
    assert ok.returncode == 0, ok.stderr
    as_base = run_cli("compare", "bad", "good", cwd=workdir)
    assert as_base.returncode == 2
    assert "refusing netmod.build onnx fp32 (base) as a baseline" in \
        " ".join(as_base.stderr.split())
    as_new = run_cli("compare", "good", "bad", "--fail-above", "5%", "--json", cwd=workdir)
    assert as_new.returncode == 2, as_new.stderr  # nothing left to pair
    assert "refusing netmod.build onnx fp32 (new) as a candidate" in \
        " ".join(as_new.stderr.split())
    assert json.loads(as_new.stdout)["exit_code"] == 2


def _corrupt(db):
    db.write_bytes(b"this is not a database\0" * 200)


def test_corrupt_index_keeps_every_measurement(workdir):
    (workdir / "results").mkdir()
    _corrupt(workdir / "results/index.sqlite")
    p = run_cli("bench", "x3d-tiny", "--to", "onnx", "--to", "pytorch", *FAST, "--json",
                cwd=workdir)
    assert p.returncode == 0, p.stderr
    records = json.loads(p.stdout)
    assert [r["status"] for r in records] == ["ok", "ok"]
    assert "index" in p.stderr and "rebuilt" in p.stderr and "warning" in p.stderr
    assert "Traceback" not in p.stderr
    assert (workdir / "results/index.sqlite.corrupt").is_file()
    files = sorted((workdir / "results").rglob("*.json"))
    assert len(files) == 2
    rows = sqlite3.connect(workdir / "results/index.sqlite").execute(
        "SELECT format FROM results").fetchall()
    assert sorted(r[0] for r in rows) == ["onnx", "pytorch"]

    _corrupt(workdir / "results/index.sqlite")
    h = run_cli("history", "x3d-tiny", "--json", cwd=workdir)
    assert h.returncode == 0, h.stderr
    assert len(json.loads(h.stdout)) == 2 and "rebuilt" in h.stderr

    _corrupt(workdir / "results/index.sqlite")
    r = run_cli("index", "rebuild", "--json", cwd=workdir)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"index": "results/index.sqlite", "results": 2,
                                    "was_corrupt": True}
