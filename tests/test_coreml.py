"""Core ML with the real coremltools: mlprogram export and spec validation everywhere; prediction
on macOS only (elsewhere the run is recorded as unsupported, with the reason)."""
import sys

import pytest
from conftest import FAST_POLICY

ct = pytest.importorskip("coremltools", reason="coremltools not installed (pip install 'edgevid[coreml]')")

from edgevid.artifacts.export import export  # noqa: E402
from edgevid.models.ref import resolve  # noqa: E402
from edgevid.runners.artifact import load_manifest, sha256_file  # noqa: E402
from edgevid.runners.loop import TimingPolicy  # noqa: E402
from edgevid.runners.run import RunOptions, run_artifact  # noqa: E402


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    root = tmp_path_factory.mktemp("coreml-artifacts")
    ref = resolve("x3d-tiny")
    return {p: export(ref, "coreml", p, root=root) for p in ("fp16", "fp32")}


def _weights_bytes(package):
    return sum(p.stat().st_size for p in (package / "Data").rglob("*.bin"))


@pytest.mark.parametrize("precision", ["fp16", "fp32"])
def test_mlpackage_spec_is_valid(artifacts, precision):
    d = artifacts[precision]
    m = load_manifest(d)
    package = d / m["file"]
    assert package.is_dir() and package.name == "model.mlpackage"
    assert m["sha256"] == sha256_file(package)  # the folder's hash
    assert m["inputs"] == [{"name": "video", "shape": [1, 3, 4, 32, 32], "dtype": "float32"}]
    assert m["outputs"] == [{"name": "logits", "shape": [1, 10], "dtype": "float32"}]
    assert m["compute_precision"] == precision and m["compute_units"] == "ALL"
    assert m["minimum_deployment_target"] == "iOS16"
    assert "coremltools" in m["converters"] and m["frontend"]
    spec = ct.utils.load_spec(str(package))
    assert spec.WhichOneof("Type") == "mlProgram"
    assert [i.name for i in spec.description.input] == ["video"]
    assert list(spec.description.input[0].type.multiArrayType.shape) == [1, 3, 4, 32, 32]
    assert [o.name for o in spec.description.output] == ["logits"]
    ml = ct.models.MLModel(str(package), skip_model_load=True)
    assert ml.get_spec().description.output[0].name == "logits"


def test_fp16_weights_are_half(artifacts):
    assert _weights_bytes(artifacts["fp16"] / "model.mlpackage") < \
        0.6 * _weights_bytes(artifacts["fp32"] / "model.mlpackage")


@pytest.mark.skipif(sys.platform == "darwin", reason="on macOS Core ML predicts: see the next test")
def test_run_is_unsupported_off_macos(artifacts):
    r = run_artifact(artifacts["fp16"], RunOptions(threads=2), TimingPolicy.from_dict(FAST_POLICY))
    assert r["status"] == "unsupported"
    assert "macOS" in r["reason"] and "validated" in r["reason"]
    assert r["samples_ms"] == [] and r["summary"] == {}


@pytest.mark.skipif(sys.platform != "darwin", reason="Core ML predicts on macOS/iOS only")
@pytest.mark.parametrize("device", ["cpu", "all"])
def test_predicts_on_macos(artifacts, device):
    r = run_artifact(artifacts["fp32"], RunOptions(device=device), TimingPolicy.from_dict(FAST_POLICY))
    assert r["status"] == "ok", r["reason"]
    assert r["numerics"]["ok"] is True, r["numerics"]
