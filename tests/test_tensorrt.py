"""TensorRT target: build settings in the artifact, engine cache keys, trtexec parsing, the
"unsupported" record where TensorRT is absent, and the real build/run where it is present."""
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest
from conftest import FAST_POLICY

from edgevid.artifacts.export import export
from edgevid.models.ref import resolve
from edgevid.runners import tensorrt as trt_runner
from edgevid.runners import trtexec
from edgevid.runners.artifact import check_numerics, load_manifest, reference_inputs
from edgevid.runners.loop import TimingPolicy
from edgevid.runners.run import RunOptions, run_artifact

DATA = Path(__file__).parent / "data"
HAVE_TRT = importlib.util.find_spec("tensorrt") is not None
SHAPE = [1, 3, 4, 32, 32]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("trt-artifacts")


@pytest.fixture(scope="module")
def artifacts(root):
    ref = resolve("x3d-tiny")
    return {p: export(ref, "tensorrt", p, root=root) for p in ("fp16", "fp32", "int8")}


@pytest.mark.parametrize("precision,flags,tf32", [("fp16", ["FP16"], True), ("fp32", [], False),
                                                  ("int8", ["INT8", "FP16"], True)])
def test_build_settings_in_manifest(artifacts, precision, flags, tf32):
    d = artifacts[precision]
    assert d.name == f"tensorrt-{precision}" and (d / "model.onnx").is_file()
    m = load_manifest(d)
    assert m["format"] == "tensorrt" and m["runner"] == "tensorrt" and m["precision"] == precision
    b = m["build"]
    assert b["precision"] == precision and b["builder_flags"] == flags and b["tf32"] is tf32
    assert b["workspace_bytes"] == 1 << 30 and b["builder_optimization_level"] == 3
    assert b["input_shapes"] == {"video": {"min": SHAPE, "opt": SHAPE, "max": SHAPE}}
    assert b["explicit_quantization"] is (precision == "int8")
    cmd = b["trtexec"].split()
    assert cmd[:3] == ["trtexec", "--onnx=model.onnx", "--saveEngine=model.engine"]
    for f in flags:
        assert f"--{f.lower()}" in cmd
    assert ("--noTF32" in cmd) is (not tf32)
    assert "--memPoolSize=workspace:1024M" in cmd and "--builderOptimizationLevel=3" in cmd
    for which in ("min", "opt", "max"):
        assert f"--{which}Shapes=video:1x3x4x32x32" in cmd
    assert m["inputs"] == [{"name": "video", "shape": SHAPE, "dtype": "float32"}]
    assert m["outputs"][0]["shape"] == [1, 10]
    assert m["reference"]["source"] == "pytorch"
    assert m["reference"]["rtol"] == {"fp16": 3e-2, "fp32": 1e-3, "int8": 1e-1}[precision]


def test_fp_artifacts_copy_the_onnx_and_int8_holds_qdq(artifacts, root):
    from edgevid.exporters.quantize import onnx_qdq_counts

    onnx_sha = load_manifest(root / "x3d-tiny" / "onnx-fp32")["sha256"]
    for p in ("fp16", "fp32"):
        m = load_manifest(artifacts[p])
        assert m["sha256"] == onnx_sha and m["converted_from"]["sha256"] == onnx_sha
    m8 = load_manifest(artifacts["int8"])
    assert m8["sha256"] != onnx_sha
    assert m8["quantization"]["activations"] == "int8 symmetric"  # TensorRT: zero points 0
    counts = onnx_qdq_counts(artifacts["int8"] / "model.onnx")
    assert counts["QuantizeLinear"] > 0 and counts["DequantizeLinear"] > 0


def test_cache_key_changes_with_each_component():
    base = dict(onnx_sha256="a" * 64, tensorrt_version="10.3.0", gpu_name="Orin",
                precision="fp16", build={"builder_flags": ["FP16"], "workspace_bytes": 1 << 30})
    key = trt_runner.cache_key(**base)
    assert key == trt_runner.cache_key(**base)  # stable
    assert key == trt_runner.cache_key(**{**base, "gpu_name": " Orin "})  # whitespace-insensitive
    assert len(key) == 32 and all(c in "0123456789abcdef" for c in key)
    changes = {"onnx_sha256": "b" * 64, "tensorrt_version": "10.4.0", "gpu_name": "RTX 4090",
               "precision": "int8", "build": {"builder_flags": ["FP16"], "workspace_bytes": 1 << 29}}
    keys = {key}
    for field, value in changes.items():
        k = trt_runner.cache_key(**{**base, field: value})
        assert k != key, field
        keys.add(k)
    assert len(keys) == 1 + len(changes)
    # the equivalent trtexec command line is documentation, not a build input
    assert key == trt_runner.cache_key(**{**base, "build": {**base["build"], "trtexec": "x"}})


def test_cache_dir_default_env_and_option(monkeypatch, tmp_path):
    monkeypatch.delenv(trt_runner.CACHE_ENV, raising=False)
    assert trt_runner.cache_dir() == Path.home() / ".cache" / "edgevid" / "engines"
    monkeypatch.setenv(trt_runner.CACHE_ENV, str(tmp_path / "env"))
    assert trt_runner.cache_dir(RunOptions()) == tmp_path / "env"

    class Opt:
        engine_cache = str(tmp_path / "opt")

    assert trt_runner.cache_dir(Opt()) == tmp_path / "opt"


def test_parse_real_trtexec_log():
    parsed = trtexec.parse_log((DATA / "trtexec_10.16_excerpt.log").read_text())
    assert parsed["passed"] is True and parsed["tensorrt_build"] == 101600
    assert parsed["tensorrt_version"] == "10.16.0"
    assert parsed["device"] == "NVIDIA RTX 6000 Ada Generation"
    assert parsed["build_s"] == pytest.approx(3.10201) and parsed["deserialize_s"] == pytest.approx(0.0033933)
    assert parsed["throughput_qps"] == 18392
    assert parsed["latency_ms"] == pytest.approx({"min": 0.0334473, "max": 0.882324, "mean": 0.0431899,
                                                  "p50": 0.0386963, "p90": 0.0480957,
                                                  "p95": 0.0548096, "p99": 0.144043})
    assert parsed["gpu_compute_ms"]["p50"] == pytest.approx(0.0297852)
    assert parsed["gpu_compute_ms"]["p99"] == pytest.approx(0.0952148)
    assert parsed["h2d_ms"]["mean"] == pytest.approx(0.00441713)
    assert parsed["d2h_ms"]["max"] == pytest.approx(0.476074)
    assert parsed["enqueue_ms"]["min"] == pytest.approx(0.0222168)
    assert parsed["total_host_walltime_s"] == pytest.approx(3.00005)
    assert parsed["total_gpu_compute_s"] == pytest.approx(1.84486)
    assert (parsed["warmup_queries"], parsed["warmup_ms"]) == (3349, 200)
    assert parsed["timed_queries"] == 55177

    fields = trtexec.summary_fields(parsed)
    assert fields["status"] == "ok"
    s = fields["summary"]
    assert set(s) >= {"mean", "std", "min", "p50", "p90", "p95", "p99", "max", "ci95_low", "ci95_high"}
    assert s["p50"] == pytest.approx(0.0386963) and s["n"] == 55177 and s["std"] is None
    assert fields["gpu_summary"]["p50"] == pytest.approx(0.0297852)
    assert fields["build_ms"] == pytest.approx(3102.01)
    assert fields["gpu_name"] == "NVIDIA RTX 6000 Ada Generation"


def test_parse_trtexec_summary_with_foreign_prefix():
    parsed = trtexec.parse_log((DATA / "trtexec_8.x_summary.log").read_text())
    assert parsed["throughput_qps"] == pytest.approx(120.699)
    assert parsed["latency_ms"]["p50"] == pytest.approx(9.76404)
    assert parsed["gpu_compute_ms"]["mean"] == pytest.approx(8.23978)
    assert "passed" not in parsed and "build_s" not in parsed
    assert trtexec.summary_fields(parsed)["status"] == "error"  # no PASSED line: not trusted
    # the old single-percentile form, '=' optional as some copies show it
    one = trtexec.parse_log("[I] GPU Compute Time: min = 3.17834 ms, max = 3.88306 ms, mean = "
                            "3.63242 ms, median = 3.71753 ms, percentile(99%) 3.87793 ms")
    assert one["gpu_compute_ms"] == pytest.approx({"min": 3.17834, "max": 3.88306, "mean": 3.63242,
                                                   "p50": 3.71753, "p99": 3.87793})


def test_parse_export_times_and_outputs():
    # Built from the documented --exportTimes format (sampleReporting.cpp exportJSONTrace),
    # not copied from a real file.
    trace = [{"startEnqMs": t, "endEnqMs": t + 0.1, "startH2dMs": t, "endH2dMs": t + 0.1,
              "startComputeMs": t + 0.1, "endComputeMs": t + 1.1, "startD2hMs": t + 1.1,
              "endD2hMs": t + 1.2, "h2dMs": 0.1, "computeMs": 1.0 + i / 100, "d2hMs": 0.1,
              "latencyMs": 1.2 + i / 100, "endToEndMs": 1.2} for i, t in enumerate(range(0, 400, 40))]
    got = trtexec.parse_times(json.dumps(trace), warmup_ms=200)
    assert len(got["gpu_ms"]) == 5 and got["gpu_ms"][0] == pytest.approx(1.05)
    assert got["latency_ms"] == pytest.approx([1.25, 1.26, 1.27, 1.28, 1.29])
    outs = trtexec.parse_outputs('[\n  { "name" : "logits"\n  , "dimensions" : "1x3"\n'
                                 '  , "values" : [ 0.5, -1, 2e-3 ]\n  }\n]\n')
    assert outs == {"logits": ([1, 3], [0.5, -1.0, 0.002])}


def test_command_builders():
    build = {"builder_flags": ["INT8", "FP16"], "tf32": True, "workspace_bytes": 512 << 20,
             "builder_optimization_level": 5,
             "input_shapes": {"in:0": {"min": [1, 3], "opt": [2, 3], "max": [4, 3]}}}
    cmd = trtexec.build_command("m.onnx", "e.plan", build, trtexec="/x/trtexec")
    assert cmd == ["/x/trtexec", "--onnx=m.onnx", "--saveEngine=e.plan", "--int8", "--fp16",
                   "--memPoolSize=workspace:512M", "--builderOptimizationLevel=5",
                   "--minShapes='in:0':1x3", "--optShapes='in:0':2x3", "--maxShapes='in:0':4x3",
                   "--skipInference"]
    bench = trtexec.bench_command("e.plan", warmup_ms=100, duration_s=2, inputs={"video": "v.bin"},
                                  export_times="t.json")
    assert bench == ["trtexec", "--loadEngine=e.plan", "--warmUp=100", "--duration=2",
                     "--iterations=10", "--loadInputs=video:v.bin", "--exportTimes=t.json",
                     "--useSpinWait"]


@pytest.mark.skipif(HAVE_TRT or trt_runner.trtexec_path() is not None,
                    reason="TensorRT is installed here")
def test_run_record_is_unsupported_without_tensorrt(artifacts):
    record = run_artifact(artifacts["fp16"], RunOptions(threads=2), TimingPolicy.from_dict(FAST_POLICY))
    assert record["status"] == "unsupported"
    assert record["reason"] == ("TensorRT is not installed here: the engine is built on the target "
                                "device (JetPack ships TensorRT and trtexec)")
    assert record["format"] == "tensorrt" and record["precision"] == "fp16"
    assert record["samples_ms"] == [] and record["env"]["runtimes"] == {"tensorrt": "not installed"}


def test_tensorrt_without_cuda_python_is_unsupported(artifacts, monkeypatch):
    monkeypatch.setattr(trt_runner, "_tensorrt", lambda: object())
    monkeypatch.setattr(trt_runner, "_cudart", lambda: None)
    monkeypatch.setattr(trt_runner, "trtexec_path", lambda options=None: None)
    from edgevid.runners.record import Unsupported

    with pytest.raises(Unsupported, match="cuda-python"):
        trt_runner.load(artifacts["fp16"], load_manifest(artifacts["fp16"]), RunOptions())


FAKE_TRTEXEC = '''\
#!{python}
"""A stand-in for trtexec: its "engine" is the ONNX file, run by ONNX Runtime; it prints the
lines edgevid parses, in trtexec's format."""
import json, shutil, sys
args = dict(a[2:].split("=", 1) if "=" in a else (a[2:], "") for a in sys.argv[1:])
import numpy as np
print("&&&& RUNNING TensorRT.trtexec [TensorRT v100600] [b26] # trtexec")
if "help" in args:
    sys.exit(0)
print("[01/01/2025-00:00:00] [I] TensorRT version: 10.6.0")
if "onnx" in args:
    shutil.copyfile(args["onnx"], args["saveEngine"])
    print("[01/01/2025-00:00:00] [I] Engine built in 1.5 sec.")
    with open(args["saveEngine"] + ".flags", "w") as f:
        json.dump(sorted(args), f)
else:
    import os
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")  # as edgevid does: runners/telemetry.py
    import onnxruntime as ort
    sess = ort.InferenceSession(args["loadEngine"], providers=["CPUExecutionProvider"])
    feeds = {{}}
    for spec in args["loadInputs"].split(","):
        name, path = spec.split(":", 1)
        feeds[name] = np.fromfile(path, dtype=np.float32).reshape(sess.get_inputs()[0].shape)
    outs = sess.run(None, feeds)
    if "exportOutput" in args:
        with open(args["exportOutput"], "w") as f:
            json.dump([{{"name": o.name, "dimensions": "x".join(map(str, v.shape)),
                        "values": v.ravel().tolist()}} for o, v in zip(sess.get_outputs(), outs)], f)
    if "exportTimes" in args:
        with open(args["exportTimes"], "w") as f:
            json.dump([{{"startComputeMs": t, "computeMs": 0.5, "latencyMs": 0.7}} for t in range(0, 1000, 50)], f)
    print("[01/01/2025-00:00:01] [I] Warmup completed 4 queries over 200 ms")
    print("[01/01/2025-00:00:01] [I] Throughput: 1400 qps")
    print("[01/01/2025-00:00:01] [I] Latency: min = 0.7 ms, max = 0.7 ms, mean = 0.7 ms, median = 0.7 ms, percentile(90%) = 0.7 ms, percentile(95%) = 0.7 ms, percentile(99%) = 0.7 ms")
    print("[01/01/2025-00:00:01] [I] GPU Compute Time: min = 0.5 ms, max = 0.5 ms, mean = 0.5 ms, median = 0.5 ms, percentile(90%) = 0.5 ms, percentile(95%) = 0.5 ms, percentile(99%) = 0.5 ms")
print("&&&& PASSED TensorRT.trtexec [TensorRT v100600] [b26] # trtexec")
'''


@pytest.mark.skipif(HAVE_TRT, reason="the TensorRT Python API takes precedence over trtexec")
def test_trtexec_path_builds_caches_and_runs_with_a_stand_in(artifacts, tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "trtexec"
    fake.write_text(FAKE_TRTEXEC.format(python=sys.executable))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv(trt_runner.CACHE_ENV, str(tmp_path / "engines"))
    d = artifacts["fp16"]
    m = load_manifest(d)
    assert trt_runner.version() == "10.6.0"

    s1 = trt_runner.load(d, m, RunOptions())
    st = s1.settings
    assert st["api"] == "trtexec" and st["cache_hit"] is False and st["build_ms"] == 1500
    assert st["tensorrt"] == "10.6.0" and "--fp16" in st["build_command"]
    engine = Path(st["engine_path"])
    assert engine.parent == tmp_path / "engines" and engine.is_file()
    (flags_file,) = (tmp_path / "engines").glob(".*.tmp.flags")  # written by the stand-in
    assert "fp16" in json.loads(flags_file.read_text())
    meta = json.loads(engine.with_suffix(".json").read_text())
    assert meta["key"] == st["engine_cache_key"] and meta["onnx_sha256"] == m["sha256"]

    outputs = s1.infer(reference_inputs(m))
    assert outputs[0].shape == (1, 10)
    assert check_numerics(m, outputs)["ok"] is True
    timing = s1.external_timing(reference_inputs(m), warmup_ms=200, duration_s=1)
    assert len(timing["samples_ms"]) == 16 and timing["gpu_ms"][0] == 0.5
    assert timing["trtexec"]["summary"]["p50"] == 0.7 and timing["trtexec"]["status"] == "ok"
    s1.close()

    s2 = trt_runner.load(d, m, RunOptions())
    assert s2.settings["cache_hit"] is True and s2.settings["build_ms"] == 1500
    assert s2.settings["engine_cache_key"] == st["engine_cache_key"]
    s2.close()


@pytest.mark.skipif(not HAVE_TRT, reason="TensorRT not installed")
@pytest.mark.parametrize("precision", ["fp16", "fp32", "int8"])
def test_real_tensorrt_build_and_run(artifacts, tmp_path, monkeypatch, precision):
    monkeypatch.setenv(trt_runner.CACHE_ENV, str(tmp_path / "engines"))
    policy = TimingPolicy.from_dict(FAST_POLICY)
    first = run_artifact(artifacts[precision], RunOptions(), policy)
    assert first["status"] == "ok", first["reason"]
    st = first["runtime_settings"]
    assert st["api"] == "python" and st["cache_hit"] is False and st["build_ms"] > 0
    assert first["numerics"]["ok"], first["numerics"]
    again = run_artifact(artifacts[precision], RunOptions(), policy)
    assert again["runtime_settings"]["cache_hit"] is True
    assert again["runtime_settings"]["engine_cache_key"] == st["engine_cache_key"]
    session = trt_runner.load(artifacts[precision], load_manifest(artifacts[precision]), RunOptions())
    session.infer(reference_inputs(load_manifest(artifacts[precision])))
    assert session.gpu_ms() > 0


@pytest.mark.parametrize("name,conn,first", [("jetson-orin-nano", "ssh", ("tensorrt", "fp16")),
                                             ("desktop-gpu", "local", ("tensorrt", "fp16"))])
def test_gpu_device_profiles_validate(name, conn, first):
    from edgevid.run.profiles import PROFILES_DIR, load_profile

    p = load_profile(PROFILES_DIR / f"{name}.yaml")
    assert p.connection["type"] == conn and (p.formats[0].format, p.formats[0].precision) == first
    assert any(f.format == "onnx" and f.options.get("provider") == "CUDAExecutionProvider"
               for f in p.formats)
    assert p.thermal.limit_c > 0
    if conn == "ssh":
        assert {"host", "user", "port", "python", "workdir"} <= set(p.connection)
        assert all(z.startswith("/sys/devices/virtual/thermal/thermal_zone") for z in p.thermal.zones)
