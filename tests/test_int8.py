"""int8 post-training quantization (exporters/quantize.py) on real runtimes: ONNX Runtime QDQ and
OpenVINO NNCF, checked against the fp32 reference of an exported x3d-tiny."""
import numpy as np
import pytest

from edgevid.artifacts.export import export
from edgevid.exporters import quantize as q
from edgevid.models.ref import resolve
from edgevid.runners.artifact import load_manifest, reference_input, reference_inputs

N_CALIB = 4
N_EVAL = 8  # seeded inputs for top-1 agreement; the calibration seeds are never among them


@pytest.fixture(scope="module")
def fp32(tmp_path_factory):
    root = tmp_path_factory.mktemp("int8")
    ref = resolve("x3d-tiny")
    onnx_dir = export(ref, "onnx", "fp32", root=root)
    ov_dir = export(ref, "openvino", "fp32", root=root)
    m = load_manifest(onnx_dir)
    return {"onnx": onnx_dir / "model.onnx", "ov": ov_dir / "model.xml", "manifest": m,
            "name": m["inputs"][0]["name"], "shape": m["inputs"][0]["shape"], "out": root}


def _eval_inputs(shape):
    return [reference_input(shape, 500 + i) for i in range(N_EVAL)]


def _ort_run(path, name, xs):
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [sess.run(None, {name: x})[0] for x in xs]


def _ov_run(path, name, xs):
    import openvino as ov

    compiled = ov.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    req = compiled.create_infer_request()
    return [np.array(req.infer({name: x})[compiled.output(0)]) for x in xs]


def _compare(fp, qt, label):
    diffs = [float(np.abs(a - b).max()) for a, b in zip(fp, qt)]
    scale = max(float(np.abs(a).max()) for a in fp)
    top1 = float(np.mean([a.argmax() == b.argmax() for a, b in zip(fp, qt)]))
    print(f"{label}: max abs diff {max(diffs):.3g} (logit scale {scale:.3g}, "
          f"rel {max(diffs) / scale:.3f}), top-1 agreement {top1:.2f} over {len(fp)} inputs")
    return max(diffs), scale, top1


def test_calibration_inputs_are_seeded_and_distinct():
    a, b = q.calibration_inputs([1, 3, 2, 8, 8], 3), q.calibration_inputs([1, 3, 2, 8, 8], 3)
    assert len(a) == 3 and all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], a[1]) and a[0].dtype == np.float32
    with pytest.raises(ValueError):
        q.calibration_inputs([1, 3], 0)


@pytest.mark.parametrize("symmetric", [False, True])
def test_onnxruntime_int8_qdq(fp32, symmetric):
    dst = fp32["out"] / f"ort-int8-{symmetric}.onnx"
    info = q.quantize_onnx_int8(fp32["onnx"], dst, fp32["name"], fp32["shape"], N_CALIB,
                                symmetric=symmetric)
    assert info["format"] == "QDQ" and info["per_channel"] and info["n_calib"] == N_CALIB
    assert not list(dst.parent.glob("*.preprocessed.onnx"))
    counts = q.onnx_qdq_counts(dst)
    assert counts["QuantizeLinear"] > 0 and counts["DequantizeLinear"] > 0
    assert q.onnx_qdq_counts(fp32["onnx"]) == {"QuantizeLinear": 0, "DequantizeLinear": 0}
    import onnx  # weights stored as int8 initializers (x3d-tiny is too small for sizes to tell)

    int8_inits = [t for t in onnx.load(str(dst)).graph.initializer
                  if t.data_type == onnx.TensorProto.INT8 and len(t.dims) >= 2]
    assert int8_inits

    m = fp32["manifest"]
    ref = np.asarray(m["reference"]["outputs"][0]["values"]).reshape(m["reference"]["outputs"][0]["shape"])
    out = _ort_run(dst, fp32["name"], [reference_inputs(m)[fp32["name"]]])[0]
    assert out.shape == ref.shape == (1, 10)
    xs = _eval_inputs(fp32["shape"])
    diff, scale, top1 = _compare(_ort_run(fp32["onnx"], fp32["name"], xs),
                                 _ort_run(dst, fp32["name"], xs), f"ORT int8 symmetric={symmetric}")
    assert np.isfinite(diff) and diff <= 0.5 * scale  # loose: random weights, random calibration
    assert 0.0 <= top1 <= 1.0
    assert float(np.abs(out - ref).max()) <= 0.5 * float(np.abs(ref).max())


@pytest.mark.parametrize("source", ["ov", "onnx"])
def test_openvino_int8_nncf(fp32, source):
    dst = fp32["out"] / f"ov-int8-from-{source}" / "model.xml"
    dst.parent.mkdir()
    info = q.quantize_openvino_int8(fp32[source], dst, fp32["name"], fp32["shape"], N_CALIB)
    assert info["quantizer"] == "nncf.quantize" and info["n_calib"] == N_CALIB
    assert dst.is_file() and dst.with_suffix(".bin").is_file()
    counts = q.openvino_int8_counts(dst)
    assert counts["FakeQuantize"] > 0 or counts["int8_constants"] > 0
    assert q.openvino_int8_counts(fp32["ov"]) == {"FakeQuantize": 0, "int8_constants": 0}

    m = fp32["manifest"]
    ref = np.asarray(m["reference"]["outputs"][0]["values"]).reshape(1, 10)
    out = _ov_run(dst, fp32["name"], [reference_inputs(m)[fp32["name"]]])[0]
    assert out.shape == (1, 10)
    xs = _eval_inputs(fp32["shape"])
    diff, scale, top1 = _compare(_ov_run(fp32["ov"], fp32["name"], xs),
                                 _ov_run(dst, fp32["name"], xs), f"OpenVINO int8 from {source}")
    assert np.isfinite(diff) and diff <= 0.5 * scale
    assert 0.0 <= top1 <= 1.0
    assert float(np.abs(out - ref).max()) <= 0.5 * float(np.abs(ref).max())
