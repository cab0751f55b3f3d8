"""The device-side runner needs numpy + one runtime only: copied on its own, with torch, scipy and
edgevid made unimportable, it still loads, checks and times every artifact of the CPU formats."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FAST_POLICY, blocked_env

from edgevid.artifacts.export import export
from edgevid.models.ref import resolve

RUNNERS = Path(__file__).resolve().parent.parent / "runners"


@pytest.mark.parametrize("fmt", ["onnx", "openvino", "tflite"])
def test_copied_runner_runs_without_torch_or_edgevid(fmt, tmp_path):
    if fmt == "tflite":
        pytest.importorskip("litert_torch", reason="litert-torch (edgevid[tflite]) not installed")
    art = export(resolve("x3d-tiny"), fmt, root=tmp_path / "host")
    device = tmp_path / "device"
    shutil.copytree(RUNNERS, device / "runners", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(art, device / "model")
    env = blocked_env(tmp_path, "torch", "edgevid", "scipy", "litert_torch")
    for blocked in ("torch", "edgevid"):  # the block is real in this environment
        probe = subprocess.run([sys.executable, "-c", f"import {blocked}"], cwd=device, env=env,
                               capture_output=True, text=True)
        assert probe.returncode != 0 and "No module named" in probe.stderr
    out = device / "result.json"
    proc = subprocess.run(
        [sys.executable, "-m", "runners", "model", "--threads", "1", "--quiet",
         "--policy", json.dumps(FAST_POLICY), "--device-name", "pi", "--out", str(out)],
        cwd=device, env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(out.read_text())
    assert record["status"] == "ok", record["reason"]
    assert record["device"] == "pi" and record["numerics"]["ok"]
    assert "torch" not in record["env"]["runtimes"]
