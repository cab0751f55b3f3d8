"""Bad input: one clear line on stderr, a non-zero exit code, nothing half-written."""
import json

from conftest import FAST, blocked_env, json_out, run_cli, seed_artifacts


def _one_line_error(proc, *needles):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    text = " ".join(proc.stderr.split())
    assert text.startswith("error:"), proc.stderr
    for needle in needles:
        assert needle in text, text


def test_unknown_model_suggests_close_names(workdir):
    proc = run_cli("export", "x3d-sx", "--to", "onnx", cwd=workdir)
    _one_line_error(proc, "unknown model 'x3d-sx'", "Did you mean", "x3d-s")
    assert proc.returncode == 2
    assert not (workdir / "artifacts").exists()


def test_unknown_format_lists_valid_ones(workdir):
    proc = run_cli("export", "x3d-tiny", "--to", "onnnx", cwd=workdir)
    _one_line_error(proc, "unknown format 'onnnx'", "onnx", "openvino", "pytorch")


def test_unsupported_precision(workdir):
    proc = run_cli("export", "x3d-tiny", "--to", "onnx", "--precision", "fp16", cwd=workdir)
    _one_line_error(proc, "does not support precision 'fp16'", "fp32")


def test_unknown_device_lists_valid_ones(workdir):
    proc = run_cli("bench", "x3d-tiny", "--device", "desktop-gpu-x", cwd=workdir)
    _one_line_error(proc, "unknown device 'desktop-gpu-x'", "desktop-cpu")


def test_bad_input_shape(workdir):
    for bad in ("3x8x160", "3xAx160x160", "3x0x16x16"):
        proc = run_cli("export", "x3d-tiny", "--to", "onnx", "--input-shape", bad, cwd=workdir)
        _one_line_error(proc, f"bad --input-shape '{bad}'")


def test_user_callable_needs_input_shape(workdir):
    proc = run_cli("export", "json:loads", "--to", "onnx", cwd=workdir)
    _one_line_error(proc, "--input-shape")


def test_missing_package_names_the_extra(workdir, tmp_path):
    env = blocked_env(tmp_path, "openvino")
    proc = run_cli("export", "x3d-tiny", "--to", "openvino", cwd=workdir, env=env)
    _one_line_error(proc, "pip install 'edgevid[openvino]'")
    assert not (workdir / "artifacts/x3d-tiny/openvino-fp32").exists()


def test_one_format_failing_does_not_stop_the_others(workdir, tmp_path, x3d_tiny_exports):
    seed_artifacts(x3d_tiny_exports, workdir / "artifacts")
    env = blocked_env(tmp_path, "openvino")
    proc = run_cli("bench", "x3d-tiny", *FAST, "--json", cwd=workdir, env=env)
    assert proc.returncode == 1
    records = json_out(proc)
    status = {(r["format"], r["precision"]): r["status"] for r in records}
    assert status == {("pytorch", "fp32"): "ok", ("onnx", "fp32"): "ok",
                      ("openvino", "fp32"): "unsupported", ("openvino", "fp16"): "unsupported",
                      ("tflite", "fp32"): "ok"}
    reasons = [r["reason"] for r in records if r["status"] != "ok"]
    assert all("edgevid[openvino]" in r for r in reasons)
    saved = sorted((workdir / "results").rglob("*.json"))
    assert len(saved) == 5  # failures are recorded too


def test_missing_and_corrupt_artifacts(workdir):
    import subprocess
    import sys

    def runner(d):
        return subprocess.run([sys.executable, "-m", "edgevid.runners", str(d)],
                              capture_output=True, text=True)

    proc = runner(workdir / "nope")
    assert proc.returncode == 2 and "artifact folder not found" in proc.stderr
    d = workdir / "art"
    d.mkdir()
    proc = runner(d)
    assert proc.returncode == 2 and "no artifact.json" in proc.stderr
    (d / "artifact.json").write_text("{not json")
    proc = runner(d)
    assert proc.returncode == 2 and "corrupt" in proc.stderr

    ok = run_cli("export", "x3d-tiny", "--to", "onnx", cwd=workdir)
    assert ok.returncode == 0, ok.stderr
    art = workdir / "artifacts/x3d-tiny/onnx-fp32"
    with open(art / "model.onnx", "r+b") as f:
        f.seek(200)
        f.write(b"\x00garbage\x00")
    proc = runner(art)
    assert proc.returncode == 2 and "does not match the sha256" in proc.stderr
    (art / "model.onnx").unlink()
    proc = runner(art)
    assert proc.returncode == 2 and "missing" in proc.stderr


def test_bad_device_profile_names_file_and_field(workdir):
    cases = {
        "threads: -1": "field 'threads'",
        "connection: {type: telnet}": "field 'connection.type'",
        "formats: [{format: tflitee}]": "field 'formats[0].format'",
        "formats: [{format: openvino, precision: int4}]": "field 'formats[0].precision'",
        "timing: {min_itrs: 5}": "field 'timing.min_itrs'",
        "colour: blue": "field 'colour'",
    }
    base = {"name": "bad", "connection": {"type": "local"}, "formats": ["onnx"]}
    import yaml

    for i, (override, needle) in enumerate(cases.items()):
        data = {**base, **yaml.safe_load(override)}
        path = workdir / f"bad{i}.yaml"
        path.write_text(yaml.safe_dump(data))
        proc = run_cli("bench", "x3d-tiny", "--device", path, cwd=workdir)
        _one_line_error(proc, str(path), needle)


def test_report_on_non_results(workdir):
    (workdir / "x.json").write_text(json.dumps({"hello": 1}))
    proc = run_cli("report", "x.json", cwd=workdir)
    _one_line_error(proc, "not an edgevid result")
    proc = run_cli("report", "nowhere", cwd=workdir)
    _one_line_error(proc, "no such results file or folder")
