"""trtexec helpers, standard library only: build its command line and parse what it prints.

Used by the TensorRT runner where only the ``trtexec`` program is available (no TensorRT Python
bindings), and by the TensorRT exporter to record an equivalent command line.

Output format, checked against real logs (TensorRT 8.6 to 10.16):

- ``samples/common/sampleReporting.cpp`` in NVIDIA/TensorRT (``printEpilog``) prints, after
  ``=== Performance summary ===``::

      Throughput: 18392 qps
      Latency: min = 0.0334473 ms, max = 0.882324 ms, mean = 0.0431899 ms, median = 0.0386963 ms, percentile(90%) = 0.0480957 ms, ...
      Enqueue Time: min = ...   H2D Latency: ...   GPU Compute Time: ...   D2H Latency: ...
      Total Host Walltime: 3.00005 s
      Total GPU Compute Time: 1.84486 s

  each line behind a ``[MM/DD/YYYY-hh:mm:ss] [I] `` prefix. "Latency" is H2D + GPU compute + D2H
  of one query; "GPU Compute Time" is the kernels alone. Older versions printed one percentile
  (``percentile(99%)``), 10.x prints every ``--percentile`` (default 90,95,99).
- The build and load lines ``Engine built in 3.10201 sec.`` and ``Engine deserialized in
  0.0033933 sec.``, ``TensorRT version: 10.16.0``, ``Selected Device: <name>``, the prolog
  ``Warmup completed N queries over M ms`` / ``Timing trace has N queries over S s``, and the
  final ``&&&& PASSED`` / ``&&&& FAILED`` line: NVIDIA/trt-samples-for-hackathon-cn,
  cookbook/07-Tool/trtexec/result-01.log (TensorRT 10.16; excerpt in tests/data/).
- ``--exportTimes=FILE`` writes a JSON list with one object per query, warm-up included, with
  ``startComputeMs``, ``computeMs`` (GPU), ``latencyMs`` (H2D + compute + D2H), ``h2dMs``,
  ``d2hMs``, ``endToEndMs`` (sampleReporting.cpp ``exportJSONTrace``; samples/trtexec/tracer.py).
- ``--exportOutput=FILE``: ``[{"name": ..., "dimensions": "1x10", "values": [...]}]``
  (sampleReporting.cpp ``exportJSONOutput``).
- Options (``trtexec --help`` of TensorRT 10.6, trt-samples-for-hackathon-cn
  cookbook/07-Tool/trtexec/Help.txt): ``--memPoolSize=workspace:<N>M``, ``--fp16``, ``--int8``,
  ``--noTF32``, ``--builderOptimizationLevel=N``, ``--minShapes/--optShapes/--maxShapes=name:AxB``,
  ``--saveEngine``, ``--loadEngine``, ``--skipInference``, ``--warmUp=<ms>``, ``--duration=<s>``,
  ``--iterations=N``, ``--loadInputs=name:file`` (raw binary), ``--useSpinWait``.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Optional

#: trtexec's stat-line names -> our keys
STAT_LINES = {
    "Latency": "latency_ms",
    "End-to-End Host Latency": "end_to_end_ms",
    "Enqueue Time": "enqueue_ms",
    "H2D Latency": "h2d_ms",
    "GPU Compute Time": "gpu_compute_ms",
    "D2H Latency": "d2h_ms",
}
_PREFIX = re.compile(r"^\s*(?:\[[^\]]*\]\s*)*")  # "[07/02/2026-03:47:08] [I] " (and "[INFO] ")
_STAT = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9 \-]*?):\s*(?P<body>min\b.*)$")
_NUM = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf|nan)"
_FIELD = re.compile(
    r"(min|max|mean|median|percentile\((\d+(?:\.\d+)?)%\))\s*=?\s*" + _NUM + r"\s*ms"
)
_SCALARS = {
    "throughput_qps": re.compile(r"^Throughput:\s*" + _NUM + r"\s*qps"),
    "total_host_walltime_s": re.compile(r"^Total Host Walltime:\s*" + _NUM + r"\s*s\b"),
    "total_gpu_compute_s": re.compile(r"^Total GPU Compute Time:\s*" + _NUM + r"\s*s\b"),
    "build_s": re.compile(r"^Engine built in\s*" + _NUM + r"\s*sec"),
    "deserialize_s": re.compile(r"^Engine deserialized in\s*" + _NUM + r"\s*sec"),
}
_TEXTS = {
    "tensorrt_version": re.compile(r"^TensorRT version:\s*(\S+)"),
    "device": re.compile(r"^Selected Device:\s*(.+?)\s*$"),
}
_WARMUP = re.compile(r"^Warmup completed\s+(\d+)\s+queries over\s+" + _NUM + r"\s*ms")
_TRACE = re.compile(r"^Timing trace has\s+(\d+)\s+queries over\s+" + _NUM + r"\s*s")
_BANNER = re.compile(r"^&&&& (PASSED|FAILED|RUNNING) TensorRT\.trtexec(?: \[TensorRT v(\d+)\])?")


def _stat_body(body: str) -> dict:
    out = {}
    for key, pct, value in _FIELD.findall(body):
        name = key if not pct else "p" + (pct[:-2] if pct.endswith(".0") else pct)
        out["p50" if name == "median" else name] = float(value)
    return out


def parse_log(text: str) -> dict:
    """Everything edgevid uses from a trtexec log; keys absent where the log lacks the line.

    Stat lines become ``{"min", "max", "mean", "p50", "p90", "p95", "p99"}`` dicts (ms) under
    ``latency_ms``, ``gpu_compute_ms``, ``enqueue_ms``, ``h2d_ms``, ``d2h_ms``, ``end_to_end_ms``.
    """
    out: dict = {}
    for raw in text.splitlines():
        m = _BANNER.match(raw.strip())
        if m:
            if m.group(1) != "RUNNING":
                out["passed"] = m.group(1) == "PASSED"
            if m.group(2) and "tensorrt_build" not in out:
                out["tensorrt_build"] = int(m.group(2))  # 101600 = 10.16.0
            continue
        line = _PREFIX.sub("", raw, count=1).strip()
        if not line:
            continue
        m = _STAT.match(line)
        if m and m.group("name") in STAT_LINES:
            out[STAT_LINES[m.group("name")]] = _stat_body(m.group("body"))
            continue
        for key, rx in _SCALARS.items():
            m = rx.match(line)
            if m:
                out[key] = float(m.group(1))
                break
        else:
            for key, rx in _TEXTS.items():
                m = rx.match(line)
                if m and key not in out:
                    out[key] = m.group(1)
            m = _WARMUP.match(line)
            if m:
                out["warmup_queries"], out["warmup_ms"] = int(m.group(1)), float(m.group(2))
            m = _TRACE.match(line)
            if m:
                out["timed_queries"], out["timed_s"] = int(m.group(1)), float(m.group(2))
    return out


def summary_fields(parsed: dict) -> dict:
    """A trtexec log as result-record fields: ``summary`` from host latency (H2D + compute +
    D2H, edgevid's ``summary`` keys; std and the CI of the median are not in trtexec's summary,
    so they are None), ``gpu_summary`` from GPU compute time, throughput, build and load time."""

    def summary(stats: Optional[dict]) -> dict:
        if not stats:
            return {}
        return {
            "n": parsed.get("timed_queries"),
            "mean": stats.get("mean"),
            "std": None,
            "min": stats.get("min"),
            "p50": stats.get("p50"),
            "p90": stats.get("p90"),
            "p95": stats.get("p95"),
            "p99": stats.get("p99"),
            "max": stats.get("max"),
            "ci95_low": None,
            "ci95_high": None,
        }

    return {
        "summary": summary(parsed.get("latency_ms")),
        "gpu_summary": summary(parsed.get("gpu_compute_ms")),
        "throughput_qps": parsed.get("throughput_qps"),
        "build_ms": None if parsed.get("build_s") is None else parsed["build_s"] * 1e3,
        "deserialize_ms": (
            None if parsed.get("deserialize_s") is None else parsed["deserialize_s"] * 1e3
        ),
        "tensorrt_version": parsed.get("tensorrt_version"),
        "gpu_name": parsed.get("device"),
        "status": "ok" if parsed.get("passed") and parsed.get("latency_ms") else "error",
    }


def parse_times(text: str, warmup_ms: Optional[float] = None) -> dict:
    """Per-query times from an ``--exportTimes`` JSON file: ``latency_ms`` (H2D + compute +
    D2H) and ``gpu_ms`` (compute) lists. The file holds warm-up queries too: those whose compute
    started before ``warmup_ms`` are dropped, as trtexec's own summary does."""
    trace = json.loads(text)
    rows = [t for t in trace if isinstance(t, dict) and "computeMs" in t]
    if warmup_ms is not None:
        rows = [t for t in rows if t.get("startComputeMs", warmup_ms) >= warmup_ms]
    return {
        "latency_ms": [float(t["latencyMs"] if "latencyMs" in t else t["computeMs"]) for t in rows],
        "gpu_ms": [float(t["computeMs"]) for t in rows],
    }


def parse_outputs(text: str) -> dict:
    """``--exportOutput`` JSON -> {name: (dims list, flat values list)}."""
    out = {}
    for item in json.loads(text):
        dims = [int(d) for d in str(item.get("dimensions", "")).split("x") if d.strip()]
        out[item["name"]] = (dims, [float(v) for v in item["values"]])
    return out


def shape_spec(shapes: dict) -> str:
    """{"video": [1, 3, 4, 32, 32]} -> "video:1x3x4x32x32" (names with ':' quoted as trtexec
    asks)."""
    parts = []
    for name, dims in shapes.items():
        label = f"'{name}'" if ":" in name else name
        parts.append(f"{label}:" + "x".join(str(int(d)) for d in dims))
    return ",".join(parts)


def precision_flags(build: dict) -> list:
    """trtexec flags for the build settings' precision."""
    flags = [f"--{f.lower()}" for f in build.get("builder_flags", [])]
    if not build.get("tf32", True):
        flags.append("--noTF32")
    return flags


def build_command(
    onnx_path,
    engine_path,
    build: dict,
    *,
    trtexec: str = "trtexec",
    skip_inference: bool = True,
    extra: tuple = (),
) -> list:
    """Command that builds (and saves) the engine the build settings describe."""
    shapes = build.get("input_shapes") or {}
    cmd = [trtexec, f"--onnx={onnx_path}", f"--saveEngine={engine_path}", *precision_flags(build)]
    if build.get("workspace_bytes"):
        cmd.append(f"--memPoolSize=workspace:{int(build['workspace_bytes']) // (1 << 20)}M")
    if build.get("builder_optimization_level") is not None:
        cmd.append(f"--builderOptimizationLevel={int(build['builder_optimization_level'])}")
    if shapes:
        for which in ("min", "opt", "max"):
            spec = shape_spec({n: s[which] for n, s in shapes.items()})
            cmd.append(f"--{which}Shapes={spec}")
    if skip_inference:
        cmd.append("--skipInference")
    return cmd + list(extra)


def bench_command(
    engine_path,
    *,
    trtexec: str = "trtexec",
    warmup_ms: int = 500,
    duration_s: float = 3,
    iterations: int = 10,
    inputs: Optional[dict] = None,
    export_times=None,
    export_output=None,
    spin_wait: bool = True,
) -> list:
    """Command that loads a saved engine and times it (``inputs``: {name: raw binary file})."""
    cmd = [
        trtexec,
        f"--loadEngine={engine_path}",
        f"--warmUp={int(warmup_ms)}",
        f"--duration={duration_s:g}",
        f"--iterations={int(iterations)}",
    ]
    if inputs:
        cmd.append("--loadInputs=" + ",".join(f"{n}:{p}" for n, p in inputs.items()))
    if export_times:
        cmd.append(f"--exportTimes={export_times}")
    if export_output:
        cmd.append(f"--exportOutput={export_output}")
    if spin_wait:
        cmd.append("--useSpinWait")
    return cmd


def command_line(cmd: list) -> str:
    return " ".join(shlex.quote(str(c)) for c in cmd)
