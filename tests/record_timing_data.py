"""Record the real timings the deterministic tests replay (not a test; run by hand).

    .venv/bin/python tests/record_timing_data.py [timing|compare|openvino ...]

* ``timing_streams.json``: per-call times (ms) of x3d-tiny at 1x3x16x96x96 on ONNX Runtime, one
  thread, each call timed alone with ``perf_counter_ns`` after 20 warm-up calls: ``steady`` on
  the machine as it is, ``noisy`` while 3 processes per core switch between busy loops and
  sleeps at random (the noise test_measurement.py used to start itself).
* ``compare_x3d_tiny.json``: x3d-tiny at 1x3x8x64x64 and 1x3x16x64x64 on ONNX Runtime, one
  thread, the two sessions timed call by call alternating A B, B A, ..., 400 calls each.
* ``openvino_counters.json``: what ``runners/layers/openvino.py`` reads from OpenVINO's CPU
  plugin on vidtr-tiny (PERF_COUNT): the listed ``nodes`` (name, node type, kernel), their
  real_time (ms) after the warm-up (``base``) and [status, real_time] after each profiled call
  (``readings``, in the order of ``nodes``).

The tests assert what these recorded streams show (which configuration converges, which is
slower), so they give the same answer on every machine and every run.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

NOISE = """
import os, random, time
random.seed(os.getpid())
end = time.time() + float(os.environ["NOISE_S"])
while time.time() < end:
    busy = time.time() + random.uniform(0.002, 0.04)
    while time.time() < busy:
        pass
    time.sleep(random.uniform(0.001, 0.03))
"""


def _session(shape, root):
    from edgevid.artifacts.export import export
    from edgevid.models.ref import resolve
    from edgevid.runners import onnxruntime as ort_runner
    from edgevid.runners.artifact import load_manifest, reference_inputs
    from edgevid.runners.run import RunOptions

    d = export(resolve("x3d-tiny", shape), "onnx", root=root)
    m = load_manifest(d)
    sess = ort_runner.load(d, m, RunOptions(threads=1))
    x = reference_inputs(m)
    return lambda: sess.infer(x)


def _times(call, n, warmup=20):
    for _ in range(warmup):
        call()
    clock, out = time.perf_counter_ns, []
    for _ in range(n):
        t0 = clock()
        call()
        out.append(round((clock() - t0) / 1e6, 4))
    return out


def _meta(**extra):
    import onnxruntime
    import openvino

    return {
        "recorded_at": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor()}",
        "onnxruntime": onnxruntime.__version__,
        "openvino": openvino.__version__,
        **extra,
    }


def timing(root):
    call = _session((1, 3, 16, 96, 96), root)
    steady = _times(call, 1500)
    env = {**os.environ, "NOISE_S": "60"}
    noise = [
        subprocess.Popen([sys.executable, "-c", NOISE], env=env)
        for _ in range(3 * (os.cpu_count() or 1))
    ]
    try:
        noisy = _times(call, 1500)
    finally:
        for p in noise:
            p.kill()
            p.wait()
    out = {"meta": _meta(model="x3d-tiny 1x3x16x96x96 onnxruntime threads=1"),
           "steady": steady, "noisy": noisy}
    (DATA / "timing_streams.json").write_text(json.dumps(out))


def compare(root):
    calls = {t: _session((1, 3, t, 64, 64), root) for t in (8, 16)}
    for c in calls.values():
        for _ in range(10):
            c()
    keys = list(calls)
    samples = {t: [] for t in keys}
    clock = time.perf_counter_ns
    for i in range(400):
        for t in keys if i % 2 == 0 else keys[::-1]:
            t0 = clock()
            calls[t]()
            samples[t].append(round((clock() - t0) / 1e6, 4))
    out = {"meta": _meta(model="x3d-tiny 1x3x{8,16}x64x64 onnxruntime threads=1, interleaved"),
           "frames_8": samples[8], "frames_16": samples[16]}
    (DATA / "compare_x3d_tiny.json").write_text(json.dumps(out))


def openvino_counters(root, iterations=20):
    import openvino as ov

    from edgevid.artifacts.export import export
    from edgevid.models.ref import resolve
    from edgevid.runners.artifact import load_manifest, reference_inputs
    from edgevid.runners.layers import openvino as ovl

    d = export(resolve("vidtr-tiny"), "openvino", root=root)
    m = load_manifest(d)
    request = ov.Core().compile_model(
        str(d / m["file"]), "CPU",
        {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1", "PERF_COUNT": True,
         "INFERENCE_NUM_THREADS": 2, "INFERENCE_PRECISION_HINT": "f32"},
    ).create_infer_request()
    x = reference_inputs(m)
    for _ in range(ovl.WARMUP):
        request.infer(x)
    base = [ovl._reading(p) for p in request.profiling_info]
    nodes = [list(r[:3]) for r in base]
    readings = []
    for _ in range(iterations):
        request.infer(x)
        got = [ovl._reading(p) for p in request.profiling_info]
        assert [list(r[:3]) for r in got] == nodes  # the same nodes in the same order each call
        readings.append([[r[3], r[4]] for r in got])
    out = {"meta": _meta(model="vidtr-tiny openvino fp32, 2 threads", warmup=ovl.WARMUP),
           "nodes": nodes, "base": [r[4] for r in base], "readings": readings}
    (DATA / "openvino_counters.json").write_text(json.dumps(out))


if __name__ == "__main__":
    import tempfile

    which = sys.argv[1:] or ["timing", "compare", "openvino"]
    with tempfile.TemporaryDirectory() as tmp:
        for name in which:
            {"timing": timing, "compare": compare, "openvino": openvino_counters}[name](Path(tmp))
            print("recorded", name, file=sys.stderr)
