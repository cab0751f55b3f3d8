"""The PyTorch runner's CUDA path (run option ``device``): on a machine with a CUDA GPU the same
artifact runs there and matches the CPU reference; where torch sees no GPU (this project's CI),
the record is ``unsupported`` with the reason -- never a silent CPU run."""
import json
import subprocess
import sys

import pytest
from conftest import FAST_POLICY

from edgevid.artifacts.export import export
from edgevid.models.ref import resolve
from edgevid.runners.pytorch import torch_device
from edgevid.runners.record import Unsupported


def test_device_option_parses_to_a_torch_device():
    assert torch_device(None) == "cpu" and torch_device("CPU") == "cpu"
    assert torch_device("0") == "cuda:0" and torch_device("cuda:1") == "cuda:1"
    with pytest.raises(Unsupported, match="neither cpu nor a CUDA index"):
        torch_device("GPU.0")


def _run(art, tmp_path, device):
    out = tmp_path / f"r-{device}.json"
    proc = subprocess.run(
        [sys.executable, "-m", "edgevid.runners", str(art), "--threads", "1", "--quiet",
         "--policy", json.dumps(FAST_POLICY), "--options", json.dumps({"device": device}),
         "--out", str(out)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text())


def test_cuda_device_runs_there_or_says_why_not(tmp_path):
    import torch

    art = export(resolve("x3d-tiny"), "pytorch", root=tmp_path)
    record = _run(art, tmp_path, "0")
    if torch.cuda.is_available():
        assert record["status"] == "ok", record["reason"]
        assert record["numerics"]["ok"] and record["runtime_settings"]["device"] == "cuda:0"
    else:
        assert record["status"] == "unsupported"
        assert "no CUDA device cuda:0" in record["reason"]
        assert record["samples_ms"] == []
