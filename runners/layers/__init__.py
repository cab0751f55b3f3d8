"""Layer-level attribution: each runtime's own profiler, run after the timed loop.

One module per runtime with the same shape: ``profile(artifact_dir, manifest, options, inputs,
iterations) -> dict`` that loads its own profiling session, runs ``iterations`` inferences with
the profiler on and returns ``{"profiler": str, "layers": [{"name", "op_type", "ms",
["originals"], ["module"]}], "wall_ms": [per-inference wall times with the profiler on]}``
(``ms``: time per inference) and, where the runtime allows, ``"plain_ms"``: unprofiled inferences
alternated with the profiled ones (a second, plain session), so that the end-to-end latency the
layers are checked against, and the profiler's overhead, are measured side by side on the same
stretch of machine load. :func:`profile` then maps every layer to its module path and op class
(``opclass``), sums, checks the sum (below) and records the profiler's overhead against that
end-to-end latency (else the timed run's median).

The check (``within_bound``, bound ``BOUND``) is ``coverage`` = ``sum_ratio``: per profiled
inference, the layers' total over that same inference's end-to-end time (``run_sums`` over
``run_wall_ms``, the runtime's own run time where it reports one), median over inferences -- does
the profiler account for the whole inference? Where a tool gives no per-inference totals
(trtexec, benchmark_model) it is the summed layers over the tool's own mean run time. Beside it,
``sum_vs_unprofiled``: the summed per-layer medians over the unprofiled median measured side by
side -- does the breakdown describe the latency a user sees? That one also carries the
profiler's slowdown of the kernels themselves and, on a loaded machine, the stalls that land on
whole runs but not on any one layer's median; ``overhead`` is the profiled over the unprofiled
median, minus one.
"""

from __future__ import annotations

import importlib
import time
import traceback

from .opclass import annotate, summarize

#: runner name -> profiler module in this package
PROFILERS = {
    "onnxruntime": "onnxruntime",
    "openvino": "openvino",
    "pytorch": "pytorch",
    "tensorrt": "tensorrt",
    "litert": "litert",
}
BOUND = 0.15


class NotAvailable(Exception):
    """This runtime's profiler cannot run here (e.g. no benchmark_model binary)."""


#: Unprofiled and profiled inferences alternate in blocks of this many: two sessions run one
#: after the other, and a block lets the idle one's spinning worker threads go to sleep.
BLOCK = 5


def alternate(plain, profiled, warmup: int, iterations: int, after=None) -> tuple:
    """Run ``plain()`` and ``profiled()`` in alternating blocks of :data:`BLOCK` after
    ``warmup`` calls of each; ``after(k)`` follows the k-th timed profiled call. Returns the
    per-call wall times (ms): ``(plain_ms, profiled_ms)``."""
    clock = time.perf_counter_ns
    for _ in range(warmup):
        plain()
        profiled()
    plain_ms: list = []
    prof_ms: list = []
    while len(prof_ms) < iterations:
        for _ in range(BLOCK):
            t0 = clock()
            plain()
            plain_ms.append((clock() - t0) / 1e6)
        for _ in range(min(BLOCK, iterations - len(prof_ms))):
            t0 = clock()
            profiled()
            prof_ms.append((clock() - t0) / 1e6)
            if after is not None:
                after(len(prof_ms) - 1)
    return plain_ms, prof_ms


def _median(values):
    x = sorted(values)
    n = len(x)
    return None if not n else (x[n // 2] if n % 2 else (x[n // 2 - 1] + x[n // 2]) / 2)


def profile(
    runner: str, artifact_dir, manifest: dict, options, inputs: dict, iterations: int, end_to_end_ms
) -> dict:
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
        return {
            "available": False,
            "reason": f"{type(exc).__name__}: {exc}"[:1000],
            "traceback": traceback.format_exc(limit=6),
        }
    layers = annotate([dict(x) for x in got["layers"]])
    plain = _median(got.get("plain_ms") or [])
    reference = plain if plain else end_to_end_ms
    out = {
        "available": True,
        "profiler": got["profiler"],
        "iterations": int(iterations),
        "layers": layers,
        **summarize(layers, reference, BOUND),
        "end_to_end_source": (
            "unprofiled inferences alternated with the profiled ones"
            if plain
            else "the timed run's median"
        ),
        "timed_p50_ms": end_to_end_ms,
        "sum_vs_timed_p50": (
            None if not end_to_end_ms else sum(x["ms"] for x in layers) / end_to_end_ms
        ),
    }
    wall = got.get("wall_ms") or []
    sums, runs = got.get("run_sums") or [], got.get("run_wall_ms") or wall
    out["sum_vs_unprofiled"], out["sum_vs_unprofiled_within_bound"] = (
        out.pop("sum_ratio"),
        out.pop("within_bound"),
    )
    if sums and len(sums) == len(runs):
        out["coverage"] = _median([a / b for a, b in zip(sums, runs) if b > 0])
    else:  # no per-inference totals (trtexec, benchmark_model): the sum vs the runtime's own run
        ref = _median(runs) if runs else reference
        out["coverage"] = out["sum_ms"] / ref if ref else None
    out["sum_ratio"] = out["coverage"]
    out["within_bound"] = None if out["coverage"] is None else abs(out["coverage"] - 1) <= BOUND
    out["profiled_wall_ms"] = _median(wall)
    out["overhead"] = (
        out["profiled_wall_ms"] / reference - 1 if out["profiled_wall_ms"] and reference else None
    )
    out["sum_vs_profiled_wall"] = (
        out["sum_ms"] / out["profiled_wall_ms"] if out["profiled_wall_ms"] else None
    )
    out["profile_s"] = round(time.perf_counter() - t0, 3)
    for key in ("notes", "settings"):
        if got.get(key):
            out[key] = got[key]
    return out
