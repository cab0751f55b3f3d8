"""Defect 8: an ONNX file with dynamic dimensions. With --input-shape it runs on every
ONNX-fed format (ONNX Runtime, OpenVINO; TensorRT gets static build shapes); without it the error
names the dynamic dimensions. Real CLI on x3d-tiny, short timing knobs."""
import json

import pytest
from conftest import FAST, run_cli


@pytest.fixture(scope="module")
def dynamic_onnx(tmp_path_factory):
    """x3d-tiny exported by edgevid, then given symbolic batch and frame dimensions (what
    torch.onnx.export(dynamic_axes=...) writes)."""
    import onnx

    d = tmp_path_factory.mktemp("dyn")
    proc = run_cli("export", "x3d-tiny", "--to", "onnx", "--artifacts", d / "a", "--json", cwd=d)
    assert proc.returncode == 0, proc.stderr
    src = d / "a" / "x3d-tiny" / "onnx-fp32" / "model.onnx"
    model = onnx.load(str(src))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for axis, name in ((0, "batch"), (2, "frames")):
        dims[axis].Clear()
        dims[axis].dim_param = name
    out = model.graph.output[0].type.tensor_type.shape.dim
    out[0].Clear()
    out[0].dim_param = "batch"
    path = d / "dyn.onnx"
    onnx.save(model, str(path))
    return path


def test_without_input_shape_the_error_names_the_dynamic_dimensions(dynamic_onnx, workdir):
    proc = run_cli("bench", dynamic_onnx, "--to", "onnx", *FAST, cwd=workdir)
    assert proc.returncode == 2
    text = " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr and text.startswith("error:"), proc.stderr
    assert "batch (axis 0)" in text and "frames (axis 2)" in text and "--input-shape" in text


def test_input_shape_that_contradicts_a_fixed_dimension_is_refused(dynamic_onnx, workdir):
    proc = run_cli("export", dynamic_onnx, "--to", "onnx", "--input-shape", "4x4x32x32",
                   cwd=workdir)
    assert proc.returncode == 2 and "axis 1 is 3, not 4" in proc.stderr, proc.stderr


def test_with_input_shape_every_onnx_fed_format_runs(dynamic_onnx, workdir):
    proc = run_cli("bench", dynamic_onnx, "--to", "onnx", "--to", "openvino",
                   "--input-shape", "3x4x32x32", "--threads", "1", *FAST, "--json", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    assert [r["format"] for r in records] == ["onnx", "openvino"]
    for r in records:
        assert r["status"] == "ok", r["reason"]
        assert r["input_shape"] == [1, 3, 4, 32, 32]
        assert r["numerics"]["ok"] is True, r["numerics"]
    manifest = json.loads((workdir / records[0]["artifact_dir"] / "artifact.json").read_text())
    assert manifest["inputs"][0]["shape"] == [1, 3, 4, 32, 32]
    assert manifest["outputs"][0]["shape"] == [1, 10]
    assert manifest["fixed_dimensions"]["video"] == ["batch", 3, "frames", 32, 32]

    trt = run_cli("export", dynamic_onnx, "--to", "tensorrt", "--input-shape", "3x4x32x32",
                  "--json", cwd=workdir)
    assert trt.returncode == 0, trt.stderr
    build = json.loads(trt.stdout)["build"]
    assert build["input_shapes"]["video"]["opt"] == [1, 3, 4, 32, 32]
