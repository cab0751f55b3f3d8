"""Exporter options from the CLI (`--export-opt key=value`, on export and bench) and from a
profile's format entry (`export:`), checked against what each exporter declares, reaching the
exporter and the artifact's cache key. Real CLI and converters on x3d-tiny."""
import importlib.util
import json

import numpy as np
import pytest
from conftest import FAST, run_cli


def _manifest(proc) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_calibration_count_and_clips_reach_the_onnx_int8_quantizer(workdir):
    m = _manifest(run_cli("export", "x3d-tiny", "--to", "onnx", "--precision", "int8",
                          "--export-opt", "calibration=2", "--json", cwd=workdir))
    assert m["options"] == {"calibration": 2}
    assert m["quantization"]["n_calib"] == 2 and m["quantization"]["calib_inputs"] != "user"
    clips = workdir / "clips.npy"
    np.save(clips, np.random.default_rng(0).standard_normal((3, 3, 4, 32, 32)).astype("f4"))
    m = _manifest(run_cli("export", "x3d-tiny", "--to", "onnx", "--precision", "int8",
                          "--export-opt", f"calibration={clips}", "--json", cwd=workdir))
    assert m["options"] == {"calibration": str(clips.resolve())}
    assert m["quantization"]["n_calib"] == 3 and m["quantization"]["calib_inputs"] == "user"


def test_options_are_part_of_the_cache_key(workdir):
    args = ("export", "x3d-tiny", "--to", "onnx", "--precision", "int8")
    first = run_cli(*args, "--export-opt", "calibration=2", cwd=workdir)
    assert first.returncode == 0, first.stderr
    again = run_cli(*args, "--export-opt", "calibration=2", cwd=workdir)
    assert again.returncode == 0 and "reusing" in again.stderr, again.stderr
    other = run_cli(*args, "--export-opt", "calibration=3", "--json", cwd=workdir)
    assert "reusing" not in other.stderr
    assert _manifest(other)["quantization"]["n_calib"] == 3
    # Each option set has its own folder: the calibration=2 artifact was not replaced.
    folders = sorted(d.name for d in (workdir / "artifacts/x3d-tiny").iterdir())
    assert folders == ["onnx-int8_calibration-2", "onnx-int8_calibration-3"]
    back = run_cli(*args, "--export-opt", "calibration=2", cwd=workdir)
    assert "reusing" in back.stderr, back.stderr


def test_a_changed_calibration_file_makes_the_artifact_stale(workdir):
    clips = workdir / "clips.npy"
    rng = np.random.default_rng(0)
    np.save(clips, rng.standard_normal((2, 3, 4, 32, 32)).astype("f4"))
    args = ("export", "x3d-tiny", "--to", "onnx", "--precision", "int8",
            "--export-opt", f"calibration={clips}")
    assert run_cli(*args, cwd=workdir).returncode == 0
    again = run_cli(*args, cwd=workdir)
    assert again.returncode == 0 and "reusing" in again.stderr, again.stderr
    np.save(clips, rng.standard_normal((2, 3, 4, 32, 32)).astype("f4"))  # same path, new clips
    changed = run_cli(*args, cwd=workdir)
    assert changed.returncode == 0, changed.stderr
    assert "reusing" not in changed.stderr
    assert f"{clips.resolve()} changed since export" in changed.stderr


@pytest.mark.parametrize("opt,needle", [
    ("conv3d=native", "format 'onnx' has no export option 'conv3d' (it takes: calibration)"),
    ("calibration=0", "'calibration' must be at least 1"),
    ("calibration=clips.txt", "must be a count or an existing .npy/.npz file"),
    ("calibration", "bad --export-opt 'calibration': write key=value"),
])
def test_bad_export_options_are_refused(workdir, opt, needle):
    proc = run_cli("export", "x3d-tiny", "--to", "onnx", "--precision", "int8", "--export-opt", opt,
                   cwd=workdir)
    assert proc.returncode == 2 and needle in " ".join(proc.stderr.split()), proc.stderr
    assert not (workdir / "artifacts").exists()


def test_bench_export_opt_goes_to_the_formats_that_take_it(workdir):
    bad = run_cli("bench", "x3d-tiny", "--to", "onnx", "--to", "openvino",
                  "--export-opt", "conv3d=native", *FAST, cwd=workdir)
    assert bad.returncode == 2 and "--export-opt conv3d: no chosen format takes it" in bad.stderr
    fp32 = run_cli("bench", "x3d-tiny", "--to", "onnx", "--export-opt", "calibration=2", *FAST,
                   cwd=workdir)
    assert fp32.returncode == 2 and "calibration applies to int8 only" in fp32.stderr, fp32.stderr
    proc = run_cli("bench", "x3d-tiny", "--to", "onnx", "--to", "openvino", "--precision", "int8",
                   "--export-opt", "calibration=2", "--threads", "1", *FAST, "--json",
                   cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    # desktop-cpu's entries set provider / device: the variant holds them and the option
    assert [(r["format"], r["variant"]) for r in records] == [
        ("onnx", "calibration=2,provider=CPUExecutionProvider"),
        ("openvino", "calibration=2,device=CPU")]
    assert all(r["status"] == "ok" for r in records), [r["reason"] for r in records]


def test_profile_export_mapping(workdir):
    good = workdir / "p.yaml"
    good.write_text("name: opts\nconnection: {type: local}\nthreads: 1\nformats:\n"
                    "  - {format: onnx, precision: int8, export: {calibration: 2}}\n")
    proc = run_cli("bench", "x3d-tiny", "--device", good, *FAST, "--json", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    (record,) = json.loads(proc.stdout)
    assert record["status"] == "ok" and record["variant"] == "calibration=2"
    manifest = json.loads((workdir / record["artifact_dir"] / "artifact.json").read_text())
    assert manifest["options"] == {"calibration": 2}
    bad = workdir / "bad.yaml"
    bad.write_text("name: opts\nconnection: {type: local}\nformats:\n"
                   "  - {format: openvino, export: {conv3d: native}}\n")
    proc = run_cli("bench", "x3d-tiny", "--device", bad, *FAST, cwd=workdir)
    assert proc.returncode == 2
    assert f"device profile {bad}: field 'formats[0].export'" in proc.stderr
    assert "no export option 'conv3d'" in proc.stderr


@pytest.mark.skipif(importlib.util.find_spec("coremltools") is None,
                    reason="coremltools not installed")
def test_coreml_compute_units_and_deployment_target(workdir):
    m = _manifest(run_cli("export", "x3d-tiny", "--to", "coreml", "--export-opt",
                          "compute_units=cpu_only", "--export-opt", "deployment_target=iOS17",
                          "--json", cwd=workdir))
    assert m["compute_units"] == "CPU_ONLY" and m["minimum_deployment_target"] == "iOS17"
    assert m["options"] == {"compute_units": "CPU_ONLY", "deployment_target": "iOS17"}


def test_formats_lists_the_export_options(workdir):
    rows = {r["name"]: r for r in json.loads(run_cli("formats", "--json", cwd=workdir).stdout)}
    assert rows["tflite"]["export_options"]["conv3d"]["choices"] == ["conv2d", "native"]
    assert set(rows["coreml"]["export_options"]) == {"compute_units", "deployment_target",
                                                      "coreml_frontend"}
    assert rows["pytorch"]["export_options"] == {}
