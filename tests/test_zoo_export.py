"""Every family's tiny test configuration exports to ONNX and OpenVINO and matches PyTorch."""
import pytest
from conftest import FAST_POLICY

from edgevid.artifacts.export import export
from edgevid.models import list_models
from edgevid.models.ref import resolve
from edgevid.runners.loop import TimingPolicy
from edgevid.runners.run import RunOptions, run_artifact

TINY = [s.name for s in list_models(include_hidden=True) if s.hidden]


def test_every_family_has_a_tiny_config():
    families = {s.family for s in list_models(include_hidden=True)}
    assert families == {s.family for s in list_models(include_hidden=True) if s.hidden}


@pytest.mark.parametrize("name", TINY)
def test_tiny_config_exports_and_matches_pytorch(name, tmp_path):
    ref = resolve(name)
    policy = TimingPolicy.from_dict({**FAST_POLICY, "max_time_s": 0.3})
    for fmt in ("onnx", "openvino"):
        record = run_artifact(export(ref, fmt, root=tmp_path), RunOptions(threads=2), policy)
        assert record["status"] == "ok", f"{name} on {fmt}: {record['reason']}"
        scale = max(abs(v) for v in _ref_values(tmp_path, name))
        assert record["numerics"]["max_abs_diff"] <= 1e-3 * scale, record["numerics"]
        assert record["numerics"]["ok"] and record["numerics"]["top1_agree"] == 1.0


def _ref_values(root, name):
    import json

    return json.loads((root / name / "onnx-fp32" / "artifact.json").read_text())[
        "reference"]["outputs"][0]["values"]
