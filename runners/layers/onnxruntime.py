"""ONNX Runtime layer profile: the session profiler's JSON trace, per-node kernel times.

A second session with ``SessionOptions.enable_profiling`` (built by the timed session's own
``session_options`` and ``open_session``: same provider, threads and graph
optimisation level as the timed one) runs ``WARMUP`` inferences, then ``iterations`` profiled
ones; ``end_profiling()`` writes a Chrome-trace JSON list: one ``cat: "Session"`` event
``model_run`` per inference and one ``cat: "Node"`` event ``<node name>_kernel_time`` per node
per inference, with ``dur`` in microseconds and ``args.op_name`` (the kernel's op type, e.g.
``FusedMatMul`` after fusion) and ``args.provider`` (onnxruntime docs, "Profiling tools"; the
format is onnxruntime/core/common/profiler.cc). A node's time per inference is its median over
the profiled inferences (robust to a stray slow one on a shared machine); ``wall_ms`` are the
``model_run`` durations. A plain session (no profiling) runs alternately with the profiled one
for the side-by-side end-to-end reference (``alternate``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

from ..onnxruntime import open_session, session_options
from . import alternate

WARMUP = 3
SUFFIX = "_kernel_time"


def _median(values):
    x = sorted(values)
    n = len(x)
    return x[n // 2] if n % 2 else (x[n // 2 - 1] + x[n // 2]) / 2


def parse_trace(events: list, skip_runs: int = 0) -> dict:
    """Per-node times (ms per inference) and per-run wall times from a profiler trace."""
    runs = sorted(
        (e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"),
        key=lambda e: e["ts"],
    )[skip_runs:]
    if not runs:
        raise RuntimeError("the ONNX Runtime profile has no model_run events")
    starts = [(r["ts"], r["ts"] + r["dur"]) for r in runs]
    per_node, order, types = {}, [], {}
    for e in sorted(
        (e for e in events if e.get("cat") == "Node" and str(e.get("name", "")).endswith(SUFFIX)),
        key=lambda e: e["ts"],
    ):
        run = next((i for i, (a, b) in enumerate(starts) if a <= e["ts"] <= b), None)
        if run is None:
            continue  # a warm-up run
        name = e["name"][: -len(SUFFIX)]
        if name not in per_node:
            per_node[name] = [0.0] * len(runs)
            order.append(name)
            types[name] = (e.get("args") or {}).get("op_name")
        per_node[name][run] += e["dur"] / 1000.0
    layers = [{"name": n, "op_type": types[n], "ms": _median(per_node[n])} for n in order]
    sums = [sum(per_node[n][i] for n in order) for i in range(len(runs))]
    return {"layers": layers, "wall_ms": [r["dur"] / 1000.0 for r in runs], "run_sums": sums}


def profile(artifact_dir, manifest: dict, options, inputs: dict, iterations: int) -> dict:
    tmp = tempfile.mkdtemp(prefix="edgevid-ortprof-")
    try:
        so = session_options(options)  # the timed session's options, plus the profiler
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(tmp, "ort")
        sess = open_session(artifact_dir, manifest, options, so)
        plain_sess = open_session(artifact_dir, manifest, options, session_options(options))
        plain, wall = alternate(
            lambda: plain_sess.run(None, inputs), lambda: sess.run(None, inputs), WARMUP, iterations
        )
        trace = sess.end_profiling()
        with open(trace) as f:
            parsed = parse_trace(json.load(f), skip_runs=WARMUP)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "profiler": "onnxruntime session profiler (per-node kernel time)",
        "layers": parsed["layers"],
        "wall_ms": wall,
        "plain_ms": plain,
        "run_sums": parsed["run_sums"],
        "run_wall_ms": parsed["wall_ms"],
        "settings": {
            "provider": sess.get_providers()[0],
            "warmup": WARMUP,
            "model_run_ms_median": _median(parsed["wall_ms"]),
        },
    }
