"""TFLite on real converters and LiteRT: litert-torch export at every precision, run, numerics."""
import numpy as np
import pytest
from conftest import COUNT_POLICY, FAST_POLICY

pytest.importorskip("litert_torch", reason="litert-torch not installed (pip install 'edgevid[tflite]')")
pytest.importorskip("ai_edge_litert", reason="ai-edge-litert not installed (pip install 'edgevid[tflite]')")

from edgevid.artifacts.export import export  # noqa: E402
from edgevid.exporters import tflite as tfl  # noqa: E402
from edgevid.exporters.base import ExportJob  # noqa: E402
from edgevid.models.ref import resolve  # noqa: E402
from edgevid.runners.artifact import load_manifest  # noqa: E402
from edgevid.runners.loop import TimingPolicy  # noqa: E402
from edgevid.runners.run import RunOptions, run_artifact  # noqa: E402

PRECISIONS = ("fp32", "fp16", "int8-dynamic", "int8")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("tfl-artifacts")


@pytest.fixture(scope="module")
def artifacts(root):
    ref = resolve("x3d-tiny")
    return {p: export(ref, "tflite", p, root=root) for p in PRECISIONS}


@pytest.fixture(scope="module")
def records(artifacts):
    policy = TimingPolicy.from_dict(COUNT_POLICY)
    return {p: run_artifact(d, RunOptions(threads=2), policy) for p, d in artifacts.items()}


def test_conv3d_rewrite_is_exact():
    import torch

    torch.manual_seed(0)
    for kw in [dict(in_channels=3, out_channels=4, kernel_size=(3, 3, 3), padding=1),
               dict(in_channels=6, out_channels=6, kernel_size=(5, 1, 1), padding=(2, 0, 0),
                    groups=6, bias=False),
               dict(in_channels=4, out_channels=8, kernel_size=(3, 3, 3), stride=(2, 2, 2),
                    dilation=(2, 1, 1), groups=2),
               dict(in_channels=3, out_channels=5, kernel_size=(2, 3, 3), stride=(2, 1, 1))]:
        net = torch.nn.Sequential(torch.nn.Conv3d(**kw)).eval()
        x = torch.randn(2, kw["in_channels"], 7, 9, 9)
        with torch.no_grad():
            want = net(x)
            assert tfl.rewrite_conv3d(net) == 1
            got = net(x)
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_manifest_io_layout_and_quantization(artifacts):
    for p, d in artifacts.items():
        m = load_manifest(d)
        assert m["format"] == "tflite" and m["runner"] == "litert" and m["file"] == "model.tflite"
        assert m["inputs"] == [{"name": "video", "shape": [1, 3, 4, 32, 32], "dtype": "float32"}]
        assert m["outputs"] == [{"name": "logits", "shape": [1, 10], "dtype": "float32"}]
        assert m["layout"].startswith("NCDHW")
        assert {"litert-torch", "ai-edge-litert", "torch"} <= set(m["converters"])
        assert m["rewrites"]["Conv3d -> sum over temporal taps of Conv2d"] > 0
        assert "CONV_3D" not in m["ops"] and not any(op.startswith("Flex") for op in m["ops"])
    assert load_manifest(artifacts["fp16"])["ops"].get("DEQUANTIZE", 0) > 0  # fp16 weights
    int8 = load_manifest(artifacts["int8"])
    assert [t["dtype"] for t in int8["io_tensors"]["inputs"]] == ["int8"]
    assert int8["io_tensors"]["inputs"][0]["quantization"]["scale"] > 0
    assert int8["quantization"]["calibration"]["n"] == len(tfl.CALIBRATION_SEEDS)
    assert load_manifest(artifacts["fp32"])["io_tensors"]["inputs"][0]["dtype"] == "float32"


@pytest.mark.parametrize("precision", PRECISIONS)
def test_runs_with_numerics(records, precision):
    r = records[precision]
    assert r["status"] == "ok", r["reason"]
    assert r["format"] == "tflite" and r["precision"] == precision
    assert r["summary"]["n"] == len(r["samples_ms"]) >= 5
    s = r["runtime_settings"]
    assert s["num_threads"] == 2 and s["xnnpack"] is True and s["delegate_partitions"] >= 1
    n = r["numerics"]
    print(f"tflite {precision}: max_abs_diff={n['max_abs_diff']:.3g} "
          f"(tolerance {n['tolerance']:.3g}) top1_agree={n['top1_agree']}")
    assert n["ok"] is True and n["top1_agree"] == 1.0, n


def test_precision_ordering_is_honest(records):
    diff = {p: r["numerics"]["max_abs_diff"] for p, r in records.items()}
    assert diff["fp32"] < 1e-5
    assert diff["fp16"] < 1e-3
    assert diff["int8"] > diff["fp32"] and diff["int8-dynamic"] > diff["fp32"]
    assert records["int8"]["runtime_settings"]["inputs"][0]["dtype"] == "int8"
    assert records["fp32"]["runtime_settings"]["inputs"][0]["dtype"] == "float32"


def test_xnnpack_off_and_threads_read_back(artifacts):
    policy = TimingPolicy.from_dict(FAST_POLICY)
    r = run_artifact(artifacts["fp32"], RunOptions(threads=1, device="xnnpack-off"), policy)
    assert r["status"] == "ok", r["reason"]
    s = r["runtime_settings"]
    assert s["xnnpack"] is False and s["delegate_partitions"] == 0 and s["num_threads"] == 1
    assert s["op_resolver"] == "BUILTIN_WITHOUT_DEFAULT_DELEGATES"
    assert r["numerics"]["ok"] is True


def test_user_calibration_clips(artifacts, root):
    """options['calibration'] replaces the seeded clips (cached float model: no re-conversion)."""
    from edgevid.models.ref import build_torch_model

    ref = resolve("x3d-tiny")
    shape = ref.input_shape
    clips = [np.full(shape[1:], 0.5, dtype=np.float32) * (i + 1) for i in range(3)]
    out = root / "user-calib"
    out.mkdir()
    job = ExportJob(ref=ref, precision="int8", out_dir=out, file_name="model.tflite",
                    model=build_torch_model(ref.to_dict()), options={"calibration": clips})
    files = tfl.export(job)
    assert files.extra["quantization"]["calibration"] == {"source": "user arrays", "n": 3}
    q = files.extra["io_tensors"]["inputs"][0]["quantization"]
    seeded = load_manifest(artifacts["int8"])["io_tensors"]["inputs"][0]["quantization"]
    assert q != seeded  # the input range comes from the user's clips (0.5 .. 1.5)
    with pytest.raises(ValueError, match="calibration clip of shape"):
        tfl.calibration_clips(shape, [np.zeros((3, 2, 8, 8), np.float32)])


def test_transformer_tiny_converts_fp32(root):
    r = run_artifact(export(resolve("vast-test"), "tflite", "fp32", root=root), RunOptions(threads=2),
                     TimingPolicy.from_dict(FAST_POLICY))
    assert r["status"] == "ok", r["reason"]
    assert r["numerics"]["ok"] is True and r["numerics"]["max_abs_diff"] < 1e-4, r["numerics"]
