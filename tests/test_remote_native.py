"""Devices reached without the Python runner: Android over adb (LiteRT's benchmark_model), an
iPhone (manual: export + Xcode steps + import). Command construction and parsing are checked
against recorded/reconstructed outputs (tests/data, see test_import.py's docstring for which is
which); the adb transport runs for real only where adb and an attached device exist."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli

from edgevid.tools import benchmark_model as bm
from edgevid.transports import RunSpec, make
from edgevid.transports.adb import record_from_output
from edgevid.transports.connection import Connection

DATA = Path(__file__).parent / "data"
POLICY = {"warmup_min": 10, "warmup_max_s": 5.0, "min_iters": 50, "min_time_s": 10.0,
          "max_time_s": 60.0}


def phone(tmp_path, serial="R58M12345XY"):
    binary = tmp_path / "benchmark_model"
    binary.write_bytes(b"\x7fELF stand-in: never run here")
    return make("phone", Connection(type="adb", serial=serial, workdir="/data/local/tmp/edgevid",
                                    benchmark_model=str(binary)))


def test_adb_commands_are_quoted_and_carry_the_profile(tmp_path):
    t = phone(tmp_path)
    assert t.adb_args() == ["adb", "-s", "R58M12345XY"]
    args = t.shell_args("echo 'x'; touch /tmp/y")
    assert args[:3] == ["adb", "-s", "R58M12345XY"] and args[3] == "shell"
    assert args[4] == "sh -c 'echo '\"'\"'x'\"'\"'; touch /tmp/y'"  # one quoted word
    transfer = {"cache_key": "0123456789abcdef01234567",
                "binary": "/data/local/tmp/edgevid/bin/aa/benchmark_model"}
    manifest = {"file": "model.tflite"}
    cmd = t.command(transfer, manifest, RunSpec(4, POLICY, {"device": "gpu"}))
    assert cmd == ["/data/local/tmp/edgevid/bin/aa/benchmark_model",
                   "--graph=/data/local/tmp/edgevid/artifacts/0123456789abcdef01234567/"
                   "model.tflite", "--num_threads=4", "--use_gpu=true", "--warmup_runs=10",
                   "--warmup_min_secs=5", "--num_runs=50", "--min_secs=10", "--max_secs=60"]
    for delegate, flag in (("xnnpack", "--use_xnnpack=true"), ("nnapi", "--use_nnapi=true"),
                           (None, "--use_xnnpack=true")):
        assert flag in bm.command("b", "g", 1, delegate, POLICY)
    # a format the phone cannot run, and a profile without the binary, are refused early
    assert "benchmark_model only" in t.missing(type("E", (), {"format": "onnx"})())
    nobin = make("p2", Connection(type="adb", benchmark_model=str(tmp_path / "absent")))
    assert "no benchmark_model binary" in nobin.missing(type("E", (), {"format": "tflite"})())


def test_benchmark_model_output_becomes_the_record(tmp_path):
    art = tmp_path / "art"
    art.mkdir()
    manifest = {"model": "x3d-tiny", "format": "tflite", "precision": "fp32", "file":
                "model.tflite", "inputs": [{"name": "video", "shape": [1, 3, 4, 32, 32]}],
                "sha256": "0" * 64, "bytes": 123}
    text = (DATA / "benchmark_model_2.x_reconstructed.log").read_text()
    rec = record_from_output(text, manifest, art, RunSpec(4, POLICY, {"device": "xnnpack"}),
                             ["benchmark_model", "--graph=g"], 0, {"cache_key": "k"}, "adb x")
    assert rec["status"] == "ok" and rec["timing_source"] == "benchmark_model"
    s = rec["summary"]
    assert s["n"] == 244 and s["p50"] == pytest.approx(40.731) and s["p90"] is None
    assert rec["first_inference_ms"] == pytest.approx(61.25) and rec["warmup_iters"] == 121
    # no .tflite here and so nothing the host's LiteRT could check: said, not faked
    assert rec["numerics"]["ok"] is None and "not checked" in rec["numerics"]["reason"]
    failed = record_from_output("ERROR: Could not open 'g'.\n", manifest, art,
                                RunSpec(4, POLICY, {}), ["b"], 1, {}, "adb x")
    assert failed["status"] == "error" and "Could not open" in failed["reason"]


def _attached_device():
    if shutil.which("adb") is None:
        return None, "no adb program on PATH (Android platform tools)"
    out = subprocess.run(["adb", "devices"], capture_output=True, text=True, timeout=30).stdout
    serials = [ln.split()[0] for ln in out.splitlines()[1:] if ln.strip().endswith("device")]
    return (serials[0], "") if serials else (None, "no Android device attached (adb devices)")


def test_adb_device_check_for_real(tmp_path):
    serial, why = _attached_device()
    if serial is None:
        pytest.skip(why)
    t = make("phone", Connection(type="adb", serial=serial, workdir="/data/local/tmp/edgevid"))
    probe = t.check()
    assert probe["os_release"].startswith("Android") and probe["arch"]


def test_iphone_bench_exports_and_writes_the_xcode_steps(tmp_path):
    pytest.importorskip("coremltools", reason="coremltools (edgevid[coreml]) not installed")
    proc = run_cli("bench", "x3d-tiny", "--device", "iphone", "--to", "coreml", "--json",
                   cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # nothing was measured here
    (rec,) = json.loads(proc.stdout)
    assert rec["status"] == "unsupported" and "edgevid import" in rec["reason"]
    steps = Path(rec["steps"]).read_text()
    assert "Xcode" in steps and "edgevid import iphone-report.json --model x3d-tiny" in steps
    report = tmp_path / "iphone-report.json"
    report.write_text(json.dumps({"tool": "xcode", "device_name": "iPhone 15 Pro",
                                  "compute_units": "all", "prediction_median_ms": 3.1,
                                  "load_median_ms": 41.0}))
    imp = run_cli("import", report, "--model", "x3d-tiny", "--device", "iphone", "--precision",
                  "fp16", "--json", cwd=tmp_path)
    assert imp.returncode == 0, imp.stderr
    got = json.loads(imp.stdout)
    assert got["format"] == "coreml" and got["summary"]["p50"] == 3.1
    assert got["summary"]["mean"] is None and got["load_ms"] == 41.0
