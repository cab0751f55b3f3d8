"""The one configuration path: the runner's options have one definition (RunOptions), from which
the profile's format options and the runner's flags are derived; the settings travel as objects
and become the runner's JSON in one place; the trtexec runner honours the timing policy."""
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import fields

import pytest
from conftest import FAST, run_cli

from edgevid.run.profiles import FORMAT_OPTIONS
from edgevid.runners.loop import TimingPolicy
from edgevid.runners.run import RunOptions
from edgevid.runners.trtexec_session import timing_flags


def test_profile_format_options_and_runner_flags_come_from_run_options():
    assert set(FORMAT_OPTIONS) == {f.name for f in fields(RunOptions) if f.metadata.get("profile")}
    assert {"provider", "device", "xnnpack", "engine_cache", "trtexec"} <= set(FORMAT_OPTIONS)
    text = subprocess.run([sys.executable, "-m", "edgevid.runners", "--help"],
                          capture_output=True, text=True).stdout
    for f in fields(RunOptions):
        assert "--" + f.name.replace("_", "-") in text, f.name


def test_runner_flags_are_checked_like_the_json(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "edgevid.runners", str(tmp_path), "--xnnpack",
                           "maybe"], capture_output=True, text=True)
    assert proc.returncode == 2 and "expected true or false" in proc.stderr


def test_policy_as_trtexec_flags():
    p = TimingPolicy(min_iters=7, min_time_s=0.5, warmup_max_s=2.0)
    assert timing_flags(p) == {"warmup_ms": 2000, "duration_s": 0.5, "iterations": 7}
    assert timing_flags(TimingPolicy(warmup_min=0, warmup_max=0))["warmup_ms"] == 0


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None,
                    reason="TensorRT's Python API is installed: it takes precedence over trtexec")
def test_trtexec_bench_honours_the_timing_policy(workdir, tmp_path):
    """`edgevid bench --to tensorrt` through the trtexec path. No GPU here: a stand-in trtexec
    (tests/test_tensorrt.py's, which runs the ONNX file with ONNX Runtime and prints trtexec's
    lines) takes its place, and the test checks the command line the runner gave it."""
    from test_tensorrt import FAKE_TRTEXEC

    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "trtexec"
    fake.write_text(FAKE_TRTEXEC.format(python=sys.executable))
    fake.chmod(0o755)
    env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
           "EDGEVID_ENGINE_CACHE": str(tmp_path / "engines")}
    proc = run_cli("bench", "x3d-tiny", "--device", "desktop-gpu", "--to", "tensorrt", *FAST,
                   "--warmup-max", "4", "--json", cwd=workdir, env=env)
    assert proc.returncode == 0, proc.stderr
    (r,) = json.loads(proc.stdout)
    assert r["status"] == "ok", r["reason"]
    assert r["variant"] == "device=0" and r["timing_source"] == "trtexec"
    assert r["trtexec_timing"] == {"warmup_ms": 10000, "duration_s": 0.2, "iterations": 5}
    cmd = r["trtexec_command"]
    assert "--iterations=5" in cmd and "--duration=0.2" in cmd and "--warmUp=10000" in cmd
    assert r["timing_policy"]["min_iters"] == 5 and r["timing_policy"]["warmup_max"] == 4
    assert r["stop_reason"] == "external" and r["warmup_iters"] == 4
    assert len(r["samples_ms"]) == 16 and r["gpu_samples_ms"][0] == 0.5
