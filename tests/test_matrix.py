"""The op-support matrix on real converters: a failing op is named, cells are stored results."""
import json

from conftest import run_cli

from edgevid.analysis.ops import failing_op

SVD_MODEL = """
import torch

class SvdHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(4, 3)

    def forward(self, x):                      # x: (B, C, T, H, W)
        f = x.mean(dim=(2, 3))                 # (B, C, W)
        s = torch.linalg.svdvals(f)            # an op ONNX export does not support
        return self.proj(torch.nn.functional.pad(s, (0, 4 - s.shape[-1])))

def svd_head():
    return SvdHead()
"""


def test_failing_op_names_the_operator_in_real_messages():
    msg = ("onnx export of x failed: UnsupportedOperatorError: Exporting the operator "
           "'aten::linalg_svd' to ONNX opset version 17 is not supported.")
    assert failing_op(msg) == "aten::linalg_svd"
    assert failing_op("nothing to see") is None


def test_matrix_names_the_failing_op_and_stores_cells(workdir):
    (workdir / "svdmodels.py").write_text(SVD_MODEL)
    env = {"PYTHONPATH": str(workdir)}
    proc = run_cli("matrix", "x3d-tiny", "svdmodels:svd_head", "--to", "onnx", "--to", "openvino",
                   "--to", "pytorch", "--input-shape", "3x4x32x32", "--json", cwd=workdir,
                   env=env)
    assert proc.returncode == 1, proc.stderr  # a cell failed
    cells = {(c["model"], c["format"]): c for c in json.loads(proc.stdout)}
    assert len(cells) == 6
    for fmt in ("onnx", "openvino", "pytorch"):
        assert cells[("x3d-tiny", fmt)]["verdict"] == "ok"
    assert cells[("svdmodels.svd_head", "pytorch")]["verdict"] == "ok"
    bad = cells[("svdmodels.svd_head", "onnx")]
    assert bad["verdict"] == "export-failed" and bad["op"].startswith("aten::linalg_svd")
    assert cells[("svdmodels.svd_head", "openvino")]["verdict"] == "export-failed"

    saved = [json.loads(p.read_text()) for p in (workdir / "results").rglob("check-*.json")]
    assert len(saved) == 6 and all(r["kind"] == "check" for r in saved)
    proc = run_cli("report", "results", "--md", "report.md", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    md = (workdir / "report.md").read_text()
    assert "## Op-support matrix" in md
    row = next(ln for ln in md.splitlines() if ln.startswith("| svdmodels.svd_head |"))
    assert row.count("✗ export (aten::linalg_svd") == 2 and row.count("✓") == 1
