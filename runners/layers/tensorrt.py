"""TensorRT layer profile: the engine's layer profiler (``IProfiler``), or trtexec's profile.

Python API: an ``IProfiler`` subclass is set on the execution context of a second session
(``IExecutionContext.profiler``); TensorRT calls ``report_layer_time(layer_name, ms)`` for every
layer after each inference (TensorRT Python API docs, ``tensorrt.IProfiler``). Profiling makes
the enqueue synchronise per layer, hence ``overhead``.

trtexec only: ``trtexec --loadEngine=E --separateProfileRun --exportProfile=F`` times the engine
and then runs a separate profiled pass, writing F as a JSON list (NVIDIA/TensorRT
``samples/common/sampleReporting.cpp``, ``Profiler::exportJSONProfile``)::

    [
      { "count" : 12 }
    , { "name" : "/conv/Conv + /act/Relu", "timeMs" : 1.2, "averageMs" : 0.1, "percentage" : 5.2 }
    ...
    ]

``count`` is the number of profiled inferences, ``timeMs`` the layer's total over them,
``averageMs`` = timeMs / count (10.x adds ``medianMs``). ``--dumpProfile`` prints the same as a
table (``Profiler::print``): ``=== Profile (N iterations ) ===``, a header ``Layer   Time (ms)
Avg. Time (ms)   Time %`` (10.x: ``Median Time (ms)`` too), one row per layer and ``Total``.
Layer names are ONNX node names joined by TensorRT's fusions: ``A + B``, ``PWN(A, B)``
(point-wise), ``{ForeignNode[A...B]}`` (a Myelin region), ``Reformatting CopyNode for Input
Tensor 0 to X``, ``X copy``; :func:`layer_parts` reads them.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from pathlib import Path

from . import NotAvailable
from .opclass import op_of

WARMUP = 3
_ROW = re.compile(r"^\s*(?P<name>.+?)\s+(?P<nums>-?\d+(?:\.\d+)?(?:\s+-?\d+(?:\.\d+)?){2,3})\s*$")
_ENTRY = re.compile(
    r'"name"\s*:\s*"(?P<name>.*?)"\s*,\s*"timeMs"\s*:\s*(?P<t>[-\d.eE+]+)'
    r'(?:\s*,\s*"averageMs"\s*:\s*(?P<a>[-\d.eE+]+))?'
)


def parse_profile_json(text: str) -> dict:
    """``--exportProfile`` JSON -> {"count": N, "layers": [{"name", "ms"}]} (ms per inference).

    Layer names are written unescaped by trtexec, so a name with a quote breaks the JSON; such
    files are read line by line instead."""
    try:
        data = json.loads(text)
        count = next((int(d["count"]) for d in data if "count" in d), None)
        rows = [(d["name"], float(d["timeMs"]), d.get("averageMs")) for d in data if "name" in d]
    except (ValueError, KeyError, TypeError):
        m = re.search(r'"count"\s*:\s*(\d+)', text)
        count = int(m.group(1)) if m else None
        rows = [(e["name"], float(e["t"]), e["a"]) for e in _ENTRY.finditer(text)]
    layers = []
    for name, total, avg in rows:
        ms = float(avg) if avg is not None else (total / count if count else total)
        layers.append({"name": name, "ms": ms})
    return {"count": count, "layers": layers}


def parse_profile_text(text: str) -> dict:
    """``--dumpProfile`` table (in trtexec's log) -> the same as :func:`parse_profile_json`."""
    count, inside = None, False
    layers: list = []
    for raw in text.splitlines():
        line = re.sub(r"^\s*(?:\[[^\]]*\]\s*)*", "", raw)  # "[07/02/2026-03:47:08] [I] "
        m = re.match(r"^=== Profile \((\d+) iterations \) ===", line)
        if m:
            count, layers, inside = int(m.group(1)), [], True
            continue
        if not inside or line.strip().startswith("Layer") or not line.strip():
            continue
        row = _ROW.match(line)
        if not row:
            inside = bool(layers) and False
            continue
        name, nums = row.group("name").strip(), [float(v) for v in row.group("nums").split()]
        if name == "Total":
            inside = False
            continue
        layers.append({"name": name, "ms": nums[1]})  # Time, Avg. Time, [Median], Time %
    return {"count": count, "layers": layers}


_REFORMAT = re.compile(r"^Reformatting CopyNode for (?:Input|Output) Tensor \d+ to (.+)$")


def layer_parts(name: str) -> tuple:
    """(op type, [(original name, op type)]) of a TensorRT layer name."""
    name = name.strip()
    m = _REFORMAT.match(name)
    if m:
        return "Reformat", [(n, "Reformat") for n, _ in layer_parts(m.group(1))[1]]
    if name.endswith(" copy"):
        return "Copy", [(name[: -len(" copy")], "Copy")]
    m = re.match(r"^\{?ForeignNode\[(.*)\]\}?$", name)
    if m:
        ends = [p for p in m.group(1).split("...") if p]
        return "ForeignNode", [(n, "ForeignNode") for n in ends]
    names = [p for p in re.split(r"\s*\+\s*|,\s*|PWN\(|\)", name) if p.strip()]
    parts = [(n.strip(), _type_of(n.strip())) for n in names]
    return (parts[0][1] if len(parts) == 1 else "Fused"), parts


def _type_of(original: str) -> str:
    return op_of(original) or original


def to_layers(parsed: dict) -> list:
    out = []
    for x in parsed["layers"]:
        op_type, parts = layer_parts(x["name"])
        layer = {"name": x["name"], "op_type": op_type, "ms": x["ms"], "originals": parts}
        if op_type == "ForeignNode":
            layer["op_class"] = "other"  # a Myelin region: its inner ops are not reported
        out.append(layer)
    return out


def _python_profile(session, inputs: dict, iterations: int) -> tuple:
    import tensorrt as trt

    class Profiler(trt.IProfiler):
        def __init__(self):
            trt.IProfiler.__init__(self)
            self.times, self.order, self.on = {}, [], False

        def report_layer_time(self, layer_name, ms):
            if not self.on:
                return
            if layer_name not in self.times:
                self.times[layer_name] = []
                self.order.append(layer_name)
            self.times[layer_name].append(float(ms))

    prof = Profiler()
    session._context.profiler = prof
    wall = []
    for i in range(WARMUP + iterations):
        prof.on = i >= WARMUP
        t0 = time.perf_counter_ns()
        session.infer(inputs)
        if prof.on:
            wall.append((time.perf_counter_ns() - t0) / 1e6)
    layers = [{"name": n, "ms": sum(prof.times[n]) / iterations} for n in prof.order]
    sums = (
        [sum(prof.times[n][i] for n in prof.order) for i in range(iterations)]
        if all(len(prof.times[n]) == iterations for n in prof.order)
        else []
    )
    return {"count": iterations, "layers": layers, "run_sums": sums}, wall


def _trtexec_profile(session, inputs: dict, iterations: int) -> tuple:
    from ..trtexec_session import _run
    from ..trtexec import bench_command

    tmp = Path(tempfile.mkdtemp(prefix="edgevid-trtprof-"))
    try:
        out = tmp / "profile.json"
        cmd = bench_command(
            session._engine,
            trtexec=session._exe,
            warmup_ms=200,
            duration_s=0,
            iterations=iterations,
            inputs=session._input_files(inputs),
        )
        cmd += ["--separateProfileRun", f"--exportProfile={out}"]
        _run(cmd, 600)
        parsed = parse_profile_json(out.read_text())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return parsed, []  # trtexec's own process: no per-inference wall time of the profiled pass


def profile(artifact_dir, manifest: dict, options, inputs: dict, iterations: int) -> dict:
    from ..record import Unsupported
    from ..tensorrt import load

    try:
        session = load(artifact_dir, manifest, options)
    except Unsupported as exc:
        raise NotAvailable(str(exc)) from exc
    try:
        if getattr(session, "TIMES_ITSELF", False):  # trtexec drives the engine
            parsed, wall = _trtexec_profile(session, inputs, iterations)
            how = "trtexec --separateProfileRun --exportProfile"
        else:
            parsed, wall = _python_profile(session, inputs, iterations)
            how = "tensorrt IProfiler (report_layer_time per layer)"
    finally:
        if hasattr(session, "close"):
            session.close()
    return {
        "profiler": how,
        "layers": to_layers(parsed),
        "wall_ms": wall,
        "run_sums": parsed.get("run_sums") or [],
        "settings": {"profiled_inferences": parsed.get("count")},
    }
