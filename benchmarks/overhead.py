"""How much does edgevid's runner add to a runtime's own latency? A script, not a test.

For one model (default x3d-xs) at its default input, with the same artifact and the same threads:

* OpenVINO: the IR is timed by OpenVINO's own ``benchmark_app`` (shipped with the openvino pip
  package; its "Median:" latency line) and by edgevid's runner (``python -m edgevid.runners``,
  ``summary.p50``).
* ONNX Runtime: the .onnx is timed by a bare loop of ``session.run`` (``perf_counter_ns`` around
  each call, in its own process, with the runner's SessionOptions: intra_op_num_threads=THREADS,
  inter_op_num_threads=1, ORT_SEQUENTIAL, ORT_ENABLE_ALL) and by edgevid's runner.

The two tools run back to back, alternating which goes first, for N rounds, each for SECONDS of
timed iterations (edgevid: ``--policy {"min_time_s": S, "max_time_s": S}``). Printed: the median
latency of each, their ratio (edgevid / reference) per round and overall (median of the rounds'
medians, edgevid over reference), and the exact commands run. A ratio near 1.00 means the runner
adds nothing measurable; on a shared machine the round-to-round spread says how far to trust it.

benchmark_app refuses ``-hint latency`` together with ``-nthreads``/``-nstreams`` ("fine tune
options ... set -hint option to none"), so it runs with ``-hint none -nthreads T -nstreams 1
-nireq 1``; the compiled model then reports PERFORMANCE_HINT LATENCY, NUM_STREAMS 1 and
INFERENCE_NUM_THREADS T, the settings edgevid's OpenVINO runner asks for. benchmark_app fills the
input with random values; edgevid uses its seeded reference input (same shape; a CNN's latency
does not depend on the values).

    python benchmarks/overhead.py [--model x3d-xs] [--rounds 3] [--seconds 10] [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BARE_ORT = r"""
import json, sys, time
import numpy as np
import onnxruntime as ort
path, threads, seconds, shape = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
so = ort.SessionOptions()
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
name = sess.get_inputs()[0].name
x = {name: np.random.default_rng(0).standard_normal(
    [int(v) for v in shape.split("x")]).astype(np.float32)}
for _ in range(10):
    sess.run(None, x)
clock, samples = time.perf_counter_ns, []
end = time.monotonic() + seconds
while time.monotonic() < end:
    t0 = clock()
    sess.run(None, x)
    samples.append((clock() - t0) / 1e6)
print(json.dumps({"p50": float(np.median(samples)), "n": len(samples)}))
"""

MEDIAN = re.compile(r"Median:\s+([0-9.]+)\s*ms")


def run(cmd: list, timeout: float) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        sys.exit(f"command failed ({proc.returncode}): {shlex.join(cmd)}\n{tail}")
    return proc.stdout


def ensure_artifacts(model: str, root: Path) -> tuple:
    """The model's fp32 OpenVINO and ONNX artifacts (`edgevid export MODEL --to openvino` makes
    both: OpenVINO is converted from the ONNX artifact)."""
    ov_dir, onnx_dir = root / model / "openvino-fp32", root / model / "onnx-fp32"
    if not (ov_dir / "artifact.json").is_file() or not (onnx_dir / "artifact.json").is_file():
        print(f"exporting {model} ...", file=sys.stderr)
        run([sys.executable, "-m", "edgevid.cli", "export", model, "--to", "openvino"], 900)
        if not (onnx_dir / "artifact.json").is_file():
            run([sys.executable, "-m", "edgevid.cli", "export", model, "--to", "onnx"], 900)
    return ov_dir, onnx_dir


def edgevid_cmd(artifact_dir: Path, threads: int, seconds: float, out: Path) -> list:
    policy = {"min_time_s": seconds, "max_time_s": seconds}
    return [sys.executable, "-m", "edgevid.runners", str(artifact_dir), "--threads", str(threads),
            "--quiet", "--policy", json.dumps(policy), "--out", str(out)]


def edgevid_p50(cmd: list, out: Path, seconds: float) -> float:
    run(cmd, timeout=seconds + 120)
    record = json.loads(out.read_text())
    if record["status"] != "ok":
        sys.exit(f"edgevid runner: status {record['status']}: {record['reason']}")
    return float(record["summary"]["p50"])


def benchmark_app_cmd(xml: Path, threads: int, seconds: float) -> list:
    app = Path(sys.executable).with_name("benchmark_app")
    return [str(app if app.exists() else "benchmark_app"), "-m", str(xml), "-d", "CPU",
            "-hint", "none", "-nthreads", str(threads), "-nstreams", "1", "-nireq", "1",
            "-t", str(int(round(seconds))), "-infer_precision", "f32"]


def benchmark_app_p50(cmd: list, seconds: float) -> float:
    text = run(cmd, timeout=seconds + 120)
    m = MEDIAN.search(text)
    if not m:
        sys.exit("benchmark_app printed no 'Median: ... ms' line:\n" + text[-2000:])
    return float(m.group(1))


def bare_ort_cmd(onnx: Path, threads: int, seconds: float, shape: list) -> list:
    return [sys.executable, "-c", BARE_ORT, str(onnx), str(threads), str(seconds),
            "x".join(map(str, shape))]


def measure_rounds(a, cases: dict, rows: list, p50s: dict) -> None:
    """Each round: per runtime, edgevid and the reference back to back, alternating the order."""
    for r in range(a.rounds):
        for runtime, (mine, ref) in cases.items():
            order = (mine, ref) if r % 2 == 0 else (ref, mine)
            got = {}
            for label, cmd, measure in order:
                print(f"round {r + 1}/{a.rounds}: {runtime} {label} ...", file=sys.stderr,
                      flush=True)
                got[label] = measure(cmd)
            ed, rf = got["edgevid"], got[ref[0]]
            p50s[runtime]["edgevid"].append(ed)
            p50s[runtime]["reference"].append(rf)
            rows.append((str(r + 1), runtime, ref[0], f"{ed:.3f}", f"{rf:.3f}", f"{ed / rf:.3f}",
                         "edgevid" if order[0] is mine else "reference"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="x3d-xs")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--artifacts", type=Path, default=ROOT / "artifacts")
    a = p.parse_args(argv)

    ov_dir, onnx_dir = ensure_artifacts(a.model, a.artifacts)
    ov_manifest = json.loads((ov_dir / "artifact.json").read_text())
    onnx_manifest = json.loads((onnx_dir / "artifact.json").read_text())
    shape = onnx_manifest["inputs"][0]["shape"]

    tmp = Path(tempfile.mkdtemp(prefix="edgevid-overhead-"))
    out = tmp / "record.json"
    cases = {
        "openvino": (
            ("edgevid", edgevid_cmd(ov_dir, a.threads, a.seconds, out),
             lambda c: edgevid_p50(c, out, a.seconds)),
            ("benchmark_app", benchmark_app_cmd(ov_dir / ov_manifest["file"], a.threads,
                                                a.seconds),
             lambda c: benchmark_app_p50(c, a.seconds))),
        "onnxruntime": (
            ("edgevid", edgevid_cmd(onnx_dir, a.threads, a.seconds, out),
             lambda c: edgevid_p50(c, out, a.seconds)),
            ("bare session.run loop", bare_ort_cmd(onnx_dir / onnx_manifest["file"], a.threads,
                                                   a.seconds, shape),
             lambda c: float(json.loads(run(c, a.seconds + 120))["p50"]))),
    }

    rows, p50s = [], {name: {"edgevid": [], "reference": []} for name in cases}
    try:
        measure_rounds(a, cases, rows, p50s)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for runtime, (_, ref) in cases.items():
        ed = statistics.median(p50s[runtime]["edgevid"])
        rf = statistics.median(p50s[runtime]["reference"])
        rows.append(("all", runtime, ref[0], f"{ed:.3f}", f"{rf:.3f}", f"{ed / rf:.3f}", ""))

    head = ("round", "runtime", "reference", "edgevid p50 ms", "reference p50 ms",
            "edgevid/ref", "ran first")
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    print(f"\n{a.model}, input {'x'.join(map(str, shape))}, {a.threads} threads, "
          f"{a.seconds:g} s per measurement, {a.rounds} rounds\n")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))
    print("\ncommands (run from the repository root):")
    for runtime, pair in cases.items():
        for label, cmd, _ in pair:
            shown = cmd if "-c" not in cmd else cmd[:2] + ["<bare loop, see BARE_ORT in "
                                                           "benchmarks/overhead.py>"] + cmd[3:]
            print(f"  {runtime} / {label}: {shlex.join(shown)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
