"""Layer-level attribution: each runtime's own profiler, run after the timed loop.

One module per runtime with the same shape: ``profile(artifact_dir, manifest, options, inputs,
iterations) -> dict`` that loads its own profiling session, runs ``iterations`` inferences with
the profiler on and returns ``{"profiler": str, "layers": [{"name", "op_type", "ms",
["originals"], ["module"]}], "wall_ms": [per-inference wall times with the profiler on]}``
(``ms``: time per inference). :func:`profile` then maps every layer to its module path and op
class (``opclass``), sums, checks the sum against the timed run's median and records the
profiler's overhead. A runtime without a profiler module (or without its tool on this device)
gives ``{"available": False, "reason": ...}``.
"""
from __future__ import annotations

import importlib
import time
import traceback

from .opclass import annotate, summarize

#: runner name -> profiler module in this package
PROFILERS = {"onnxruntime": "onnxruntime", "openvino": "openvino", "pytorch": "pytorch",
             "tensorrt": "tensorrt", "litert": "litert"}
BOUND = 0.15


class NotAvailable(Exception):
    """This runtime's profiler cannot run here (e.g. no benchmark_model binary)."""


def _median(values):
    x = sorted(values)
    n = len(x)
    return None if not n else (x[n // 2] if n % 2 else (x[n // 2 - 1] + x[n // 2]) / 2)


def profile(runner: str, artifact_dir, manifest: dict, options, inputs: dict,
            iterations: int, end_to_end_ms) -> dict:
    """The ``layers`` entry of a record (never raises: a failure is recorded with its reason)."""
    name = PROFILERS.get(runner)
    if name is None:
        return {"available": False, "reason": f"no layer profiler for the {runner} runner"}
    t0 = time.perf_counter()
    try:
        mod = importlib.import_module(f"{__name__}.{name}")
        got = mod.profile(artifact_dir, manifest, options, inputs, max(1, int(iterations)))
    except NotAvailable as exc:
        return {"available": False, "reason": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the timed result stands; say why profiling failed
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"[:1000],
                "traceback": traceback.format_exc(limit=6)}
    layers = annotate([dict(x) for x in got["layers"]])
    for x in layers:
        x.pop("originals", None) if not x.get("originals") else None
    out = {"available": True, "profiler": got["profiler"], "iterations": int(iterations),
           "layers": layers, **summarize(layers, end_to_end_ms, BOUND)}
    wall = got.get("wall_ms") or []
    out["profiled_wall_ms"] = _median(wall)
    out["overhead"] = (out["profiled_wall_ms"] / end_to_end_ms - 1
                       if out["profiled_wall_ms"] and end_to_end_ms else None)
    out["sum_vs_profiled_wall"] = (out["sum_ms"] / out["profiled_wall_ms"]
                                   if out["profiled_wall_ms"] else None)
    out["profile_s"] = round(time.perf_counter() - t0, 3)
    for key in ("notes", "settings"):
        if got.get(key):
            out[key] = got[key]
    return out
