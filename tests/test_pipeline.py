"""End to end on real runtimes: export -> convert -> run -> result -> SQLite -> report."""
import json
import sqlite3

import numpy as np
import pytest
from conftest import COUNT_POLICY, FAST, FAST_POLICY, json_out, run_cli, seed_artifacts

from edgevid.results import store
from edgevid.artifacts.export import export
from edgevid.models.ref import resolve
from edgevid.report import markdown
from edgevid.runners.artifact import load_manifest, reference_input
from edgevid.runners.loop import TimingPolicy
from edgevid.runners.record import REQUIRED_KEYS
from edgevid.runners.run import RunOptions, run_artifact


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    root = tmp_path_factory.mktemp("artifacts")
    ref = resolve("x3d-tiny")
    return {(f, p): export(ref, f, p, root=root)
            for f, p in [("pytorch", "fp32"), ("onnx", "fp32"), ("openvino", "fp32"),
                         ("openvino", "fp16")]}


def test_artifact_layout_and_manifest(artifacts):
    onnx_dir = artifacts[("onnx", "fp32")]
    assert onnx_dir.name == "onnx-fp32" and onnx_dir.parent.name == "x3d-tiny"
    m = load_manifest(onnx_dir)
    assert m["inputs"] == [{"name": "video", "shape": [1, 3, 4, 32, 32], "dtype": "float32"}]
    assert m["outputs"][0]["shape"] == [1, 10]
    assert m["opset"] == 17 and m["runner"] == "onnxruntime"
    assert m["bytes"] == (onnx_dir / "model.onnx").stat().st_size
    assert m["reference"]["source"] == "pytorch" and len(m["reference"]["outputs"][0]["values"]) == 10
    ov = load_manifest(artifacts[("openvino", "fp16")])
    assert ov["converted_from"]["sha256"] == m["sha256"]
    # fp16 IR weights are half the size of the fp32 ones
    bin16 = (artifacts[("openvino", "fp16")] / "model.bin").stat().st_size
    bin32 = (artifacts[("openvino", "fp32")] / "model.bin").stat().st_size
    assert bin16 < 0.6 * bin32


def test_reference_output_is_pytorch_on_the_seeded_input(artifacts):
    import torch

    from edgevid.models import create_model

    m = load_manifest(artifacts[("onnx", "fp32")])
    x = reference_input([1, 3, 4, 32, 32], m["reference"]["seed"])
    with torch.no_grad():
        want = create_model("x3d-tiny")(torch.from_numpy(x)).numpy().ravel()
    np.testing.assert_allclose(m["reference"]["outputs"][0]["values"], want, rtol=1e-5, atol=1e-6)


def test_export_is_cached_and_rebuilt_when_stale(artifacts):
    onnx_dir = artifacts[("onnx", "fp32")]
    before = load_manifest(onnx_dir)["exported_at"], (onnx_dir / "model.onnx").stat().st_mtime_ns
    again = export(resolve("x3d-tiny"), "onnx", root=onnx_dir.parent.parent)
    assert (load_manifest(again)["exported_at"], (again / "model.onnx").stat().st_mtime_ns) == before
    other = export(resolve("x3d-tiny", (1, 3, 2, 32, 32)), "onnx", root=onnx_dir.parent.parent)
    assert other.name == "onnx-fp32-3x2x32x32"
    assert load_manifest(other)["inputs"][0]["shape"] == [1, 3, 2, 32, 32]


@pytest.mark.parametrize("fmt,precision", [("onnx", "fp32"), ("openvino", "fp32"),
                                           ("openvino", "fp16"), ("pytorch", "fp32")])
def test_runner_times_and_checks_numerics(artifacts, fmt, precision):
    record = run_artifact(artifacts[(fmt, precision)], RunOptions(threads=2),
                          TimingPolicy.from_dict(COUNT_POLICY))
    assert record["status"] == "ok", record["reason"]
    assert set(REQUIRED_KEYS) <= set(record)
    s = record["summary"]
    assert s["n"] == len(record["samples_ms"]) >= 5
    assert s["min"] <= s["ci95_low"] <= s["p50"] <= s["ci95_high"] <= s["max"]
    assert s["p50"] == pytest.approx(float(np.median(record["samples_ms"])))
    assert record["load_ms"] > 0 and record["first_inference_ms"] > 0
    assert record["peak_rss_mb"] >= record["idle_rss_mb"] > 0
    n = record["numerics"]
    assert n["ok"] is True and n["top1_agree"] == 1.0
    assert n["max_abs_diff"] <= (1e-4 if precision == "fp32" else 3e-2)


def test_runtime_settings_are_read_back(artifacts):
    policy = TimingPolicy.from_dict(FAST_POLICY)
    ov = run_artifact(artifacts[("openvino", "fp32")], RunOptions(threads=1), policy)
    assert ov["runtime_settings"]["INFERENCE_PRECISION_HINT"] == "f32"
    assert ov["runtime_settings"]["INFERENCE_NUM_THREADS"] == "1"
    ort = run_artifact(artifacts[("onnx", "fp32")], RunOptions(threads=1), policy)
    assert ort["runtime_settings"]["intra_op_num_threads"] == 1
    assert ort["runtime_settings"]["providers"] == ["CPUExecutionProvider"]
    assert ort["runtime_settings"]["allow_spinning"] == "default"
    quiet = run_artifact(artifacts[("onnx", "fp32")], RunOptions(threads=1, spinning=False), policy)
    assert quiet["status"] == "ok", quiet["reason"]
    assert quiet["runtime_settings"]["allow_spinning"] == "0"  # read back from the session's config


def test_numerics_failure_is_marked_not_hidden(artifacts, tmp_path):
    import shutil

    d = tmp_path / "tampered"
    shutil.copytree(artifacts[("onnx", "fp32")], d)
    m = json.loads((d / "artifact.json").read_text())
    m["reference"]["outputs"][0]["values"] = [v + 1.0 for v in m["reference"]["outputs"][0]["values"]]
    from edgevid.runners.artifact import manifest_digest

    m["manifest_sha256"] = manifest_digest(m)  # a consistent manifest with a wrong reference
    (d / "artifact.json").write_text(json.dumps(m))
    record = run_artifact(d, RunOptions(threads=1), TimingPolicy.from_dict(FAST_POLICY))
    assert record["status"] == "ok"
    assert record["numerics"]["ok"] is False
    assert record["numerics"]["max_abs_diff"] == pytest.approx(1.0, abs=1e-4)
    assert "**FAIL (Δ" in markdown([{**record, "device": "here"}])


def test_bench_cli_writes_results_sqlite_and_report(workdir, x3d_tiny_exports):
    seed_artifacts(x3d_tiny_exports, workdir / "artifacts")
    proc = run_cli("bench", "x3d-tiny", "--device", "desktop-cpu", *FAST, "--json", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    records = json_out(proc)
    assert [(r["format"], r["precision"]) for r in records] == [
        ("pytorch", "fp32"), ("onnx", "fp32"), ("openvino", "fp32"), ("openvino", "fp16"),
        ("tflite", "fp32")]
    for r in records:
        assert r["status"] == "ok" and r["device"] == "desktop-cpu" and r["threads"] == 2
        assert r["numerics"]["ok"], r["numerics"]
        on_disk = store.load(r["result_path"])
        assert on_disk["samples_ms"] == r["samples_ms"]
        assert on_disk["env"]["runtimes"] and on_disk["env"]["edgevid_version"]
    rows = sqlite3.connect(workdir / "results" / "index.sqlite").execute(
        "SELECT path, format, p50, json FROM results").fetchall()
    assert len(rows) == len(records) == 5
    for path, fmt, p50, blob in rows:
        assert json.loads(blob) == store.load(path)
        assert p50 == store.load(path)["summary"]["p50"]

    proc = run_cli("report", "results", "--md", "reports/latest.md", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    md = (workdir / "reports" / "latest.md").read_text()
    table_rows = [ln for ln in md.splitlines() if ln.startswith("| x3d-tiny |")]
    assert len(table_rows) == 5
    for r in records:
        assert f"{r['summary']['p50']:.2f}" in md


def test_bench_one_format_with_threads(workdir):
    proc = run_cli("bench", "x3d-tiny", "--to", "onnxruntime", "--threads", "1", *FAST, "--json",
                   cwd=workdir)
    records = json_out(proc)
    assert proc.returncode == 0
    assert len(records) == 1 and records[0]["format"] == "onnx" and records[0]["threads"] == 1
    assert records[0]["runtime_settings"]["intra_op_num_threads"] == 1


def test_user_callable_and_plain_onnx_file(workdir, artifacts):
    (workdir / "mymodels.py").write_text(
        "import torch\n"
        "def tiny():\n"
        "    return torch.nn.Sequential(torch.nn.Conv3d(3, 4, 3), torch.nn.AdaptiveAvgPool3d(1),\n"
        "                               torch.nn.Flatten(), torch.nn.Linear(4, 5))\n")
    env = {"PYTHONPATH": str(workdir)}
    proc = run_cli("bench", "mymodels:tiny", "--input-shape", "3x4x16x16", "--to", "onnx",
                   "--to", "pytorch", *FAST, "--json", cwd=workdir, env=env)
    assert proc.returncode == 0, proc.stderr
    recs = json_out(proc)
    assert {r["model"] for r in recs} == {"mymodels.tiny"}
    assert all(r["numerics"]["ok"] and r["input_shape"] == [1, 3, 4, 16, 16] for r in recs)

    onnx_file = artifacts[("onnx", "fp32")] / "model.onnx"
    proc = run_cli("bench", str(onnx_file), "--to", "onnx", "--to", "openvino", *FAST, "--json",
                   cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    recs = json_out(proc)
    assert [r["status"] for r in recs] == ["ok", "ok"]
    assert recs[1]["numerics"]["reference"] == "onnxruntime"


def test_export_cli(workdir):
    proc = run_cli("export", "x3d-tiny", "--to", "openvino", "--precision", "fp16", "--json",
                   cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["format"] == "openvino" and info["precision"] == "fp16"
    assert (workdir / "artifacts/x3d-tiny/openvino-fp16/model.xml").is_file()
    assert (workdir / "artifacts/x3d-tiny/onnx-fp32/model.onnx").is_file()  # its source


def test_changed_model_source_makes_the_artifact_stale(workdir):
    (workdir / "usermods.py").write_text(
        "import torch\n"
        "def net():\n"
        "    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 2 * 4 * 4, 3))\n")
    import sys

    sys.path.insert(0, str(workdir))
    try:
        ref = resolve("usermods:net", (1, 3, 2, 4, 4))
        first = load_manifest(export(ref, "onnx", root=workdir / "a"))
        assert load_manifest(export(ref, "onnx", root=workdir / "a"))["exported_at"] == \
            first["exported_at"]
        (workdir / "usermods.py").write_text(
            (workdir / "usermods.py").read_text().replace(", 3))", ", 5))"))
        import importlib

        importlib.reload(importlib.import_module("usermods"))
        second = load_manifest(export(ref, "onnx", root=workdir / "a"))
        assert second["source_sha256"] != first["source_sha256"]
        assert second["outputs"][0]["shape"] == [1, 5]
    finally:
        sys.path.remove(str(workdir))
        sys.modules.pop("usermods", None)


def test_report_lists_every_runtime_version(workdir):
    proc = run_cli("bench", "x3d-tiny", "--to", "onnx", "--to", "openvino", *FAST, cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    md = run_cli("report", "results", cwd=workdir).stdout
    env_line = next(ln for ln in md.splitlines() if ln.startswith("- **desktop-cpu**"))
    assert "onnxruntime 1." in env_line and "openvino 20" in env_line
