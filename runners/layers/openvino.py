"""OpenVINO layer profile: performance counters per executed layer, with its original layers.

A second compiled model with ``PERF_COUNT: True`` (same device, hints and threads as the timed
one) runs ``WARMUP`` inferences and then ``iterations`` profiled ones; after each,
``InferRequest.profiling_info`` lists every node of the executable graph with ``node_name``,
``node_type`` (the plugin's layer type, e.g. ``FullyConnected``, ``Subgraph``), ``exec_type``
(the kernel), ``real_time`` and ``status`` (OpenVINO docs, "Performance counters" /
``ov::ProfilingInfo``). A node's time per inference is its median over the profiled inferences.
The CPU plugin reports ``real_time`` as the node's *mean since compilation* in whole
microseconds (checked on OpenVINO 2026.4: the value falls call after call as a slow first call
is averaged out), so each call's own time is recovered from the running means
(:func:`_per_call`). Its ``status`` is derived from that same truncated mean: ``EXECUTED`` when
it is at least 1 us, else ``NOT_RUN`` (the plugin's ``Graph::getPerfData``). A node of about a
microsecond therefore flips between the two from call to call while it runs in every call: a
node is kept if it is ``EXECUTED`` in any profiled call, and each of its readings is used
whatever its status (a ``NOT_RUN`` reading is a mean of 0 us). Nodes never ``EXECUTED``
(constant-folded, ``OPTIMIZED_OUT``) are left out. :func:`node_times` does this on the
readings, one list per call, so that it can be checked on a recorded sequence. The per-inference end-to-end time the layers are checked
against is ``InferRequest.latency`` (the runtime's own, without Python's call overhead). A second compiled model
without PERF_COUNT runs alternately with it for the side-by-side end-to-end reference.

The original layers each executed node came from are in the runtime model
(``CompiledModel.get_runtime_model()``): its ops' ``rt_info["originalLayersNames"]`` (comma
separated names of the IR layers it fused) and ``rt_info["layerType"]``. The CPU plugin creates
some nodes with fresh names (``Multiply_5028``, ``MVN_31``, reorders) that carry no module scope;
those get the module their nearest scoped neighbours in the runtime graph share
(``near_modules``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from . import alternate
from .opclass import common_module, module_path, op_of

WARMUP = 3
NEAR_DEPTH = 8


def _median(values):
    x = sorted(values)
    n = len(x)
    return x[n // 2] if n % 2 else (x[n // 2 - 1] + x[n // 2]) / 2


def _str(info, key):
    if key not in info:
        return ""
    v = info[key]
    return v.astype(str) if hasattr(v, "astype") else str(v)


def runtime_graph(compiled) -> dict:
    """name -> {"type", "originals": [names], "up": [names], "down": [names]}."""
    graph = {}
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        name = op.get_friendly_name()
        graph[name] = {
            "type": _str(info, "layerType"),
            "originals": [n for n in _str(info, "originalLayersNames").split(",") if n],
            "up": [v.get_node().get_friendly_name() for v in op.input_values()],
            "down": [
                t.get_node().get_friendly_name()
                for o in op.outputs()
                for t in o.get_target_inputs()
            ],
        }
    return graph


def _scoped(graph: dict, name: str):
    node = graph.get(name) or {}
    paths = [module_path(n) for n in (node.get("originals") or [name])]
    paths = [p for p in paths if p is not None]
    return paths


def near_modules(graph: dict, name: str) -> list:
    """Module paths of the nearest scoped producers and consumers of ``name`` (BFS)."""
    found = []
    for direction in ("up", "down"):
        frontier, seen = [name], {name}
        for _ in range(NEAR_DEPTH):
            nxt, hit = [], []
            for n in frontier:
                for m in (graph.get(n) or {}).get(direction, []):
                    if m in seen or (graph.get(m) or {}).get("type") in ("Const", "Constant"):
                        continue
                    seen.add(m)
                    paths = _scoped(graph, m)
                    (hit.extend(paths) if paths else nxt.append(m))
            if hit:
                found += hit
                break
            frontier = nxt
    return found


def profile(artifact_dir, manifest: dict, options, inputs: dict, iterations: int) -> dict:
    import openvino as ov

    core = ov.Core()
    device = options.device or "CPU"
    config = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1", "PERF_COUNT": True}
    if options.threads:
        config["INFERENCE_NUM_THREADS"] = int(options.threads)
    if manifest["precision"] == "fp32":
        config["INFERENCE_PRECISION_HINT"] = "f32"
    path = str(Path(artifact_dir) / manifest["file"])
    compiled = core.compile_model(path, device, config)
    request = compiled.create_infer_request()
    plain_request = core.compile_model(
        path, device, {k: v for k, v in config.items() if k != "PERF_COUNT"}
    ).create_infer_request()
    readings, lat = [], []  # per profiled call: its counters; request.latency

    def read(k):
        lat.append(float(request.latency))
        readings.append([_reading(p) for p in request.profiling_info])

    for _ in range(WARMUP):
        plain_request.infer(inputs)
        request.infer(inputs)
    base = {r[0]: r[4] for r in map(_reading, request.profiling_info)}
    plain, wall = alternate(
        lambda: plain_request.infer(inputs),
        lambda: request.infer(inputs),
        0,
        iterations,
        after=read,
    )
    order, types, times = node_times(readings, WARMUP, base)
    sums = [sum(times[n][i] for n in order) for i in range(len(readings))]
    graph = runtime_graph(compiled)
    layers = []
    for name in order:
        node = graph.get(name) or {}
        orig = [n for n in node.get("originals") or [] if n]
        layer = {
            "name": name,
            "op_type": types[name][0],
            "kernel": types[name][1],
            "ms": _median(times[name]),
        }
        scoped = [n for n in orig if module_path(n) is not None]
        if orig and scoped:
            layer["originals"] = [(n, _original_type(n, name, types[name][0])) for n in orig]
        else:  # reorders, and nodes the plugin made under fresh names: ask the graph
            layer["module"] = common_module(near_modules(graph, name))
            layer["module_source"] = "graph neighbours"
        layers.append(layer)
    return {
        "profiler": "openvino performance counters (PERF_COUNT, real_time per node)",
        "layers": layers,
        "wall_ms": wall,
        "plain_ms": plain,
        "run_sums": sums,
        "run_wall_ms": lat,
        "settings": {"device": device, "warmup": WARMUP, "executed_nodes": len(order)},
    }


def _reading(p) -> tuple:
    """(node_name, node_type, exec_type, status, real_time in ms) of one ``ProfilingInfo``."""
    status = str(p.status).split(".")[-1]
    return (p.node_name, p.node_type, p.exec_type, status, p.real_time.total_seconds() * 1e3)


def node_times(readings: list, before: int, base: Optional[dict] = None) -> tuple:
    """Each executed node's time in each profiled call, from the counters read after each call.

    ``readings``: one list per profiled call of ``(node_name, node_type, exec_type, status,
    real_time_ms)``; ``before`` calls (the warm-up) preceded the first and left the counters at
    ``base`` (node -> real_time_ms). Returns ``(order, types, times)``: the nodes ``EXECUTED`` in
    at least one call, in the order first seen; node -> ``(node_type, exec_type)``; node -> one
    time per call (``len(readings)`` of them, always). A reading of a kept node counts whatever
    its status (see the module docstring); a node missing from a call's listing altogether has
    no reading for that call (``None``), which :func:`_per_call` bridges."""
    order: list = []
    types: dict = {}
    for calls in readings:
        for name, node_type, exec_type, status, _ in calls:
            if status == "EXECUTED" and name not in types:
                order.append(name)
                types[name] = (node_type, exec_type)
    means: dict = {name: [None] * len(readings) for name in order}
    for k, calls in enumerate(readings):
        for name, _, _, _, ms in calls:
            if name in means:
                means[name][k] = ms
    base = base or {}
    times = {name: _per_call(means[name], before, base.get(name)) for name in order}
    return order, types, times


def _per_call(means: list, before: int, base=None) -> list:
    """Each call's time from the cumulative means a node's counter reports after each call;
    ``before`` calls (the warm-up) preceded the first reading and left the mean ``base``:
    call n's time is ``n m_n - (n-1) m_(n-1)``. The counter's microsecond rounding can make a
    tiny node's value slightly off; it is kept at or above zero.

    A call without a reading (``None``) is bridged: the next reading's total since the last one,
    ``n m_n - p m_p``, is shared evenly by the calls in between; calls after the last reading
    get the last mean. Without ``base``, the first reading's mean stands for its call (the
    warm-up's share of the total is unknown). Returns one value per entry of ``means``."""
    out: list = []
    prev, prev_n = base, before  # the last known mean and the number of calls it covers
    gap = 0
    for i, m in enumerate(means):
        n = before + i + 1
        if m is None:
            gap += 1
            continue
        if prev is None:
            total = m * (gap + 1)
        else:
            total = n * m - prev_n * prev
        share = max(0.0, total / (gap + 1))
        out.extend([share] * (gap + 1))
        prev, prev_n, gap = m, n, 0
    out.extend([max(0.0, prev or 0.0)] * gap)
    return out


def _original_type(name: str, layer_name: str, fused_type: str) -> str:
    """The op type of one original layer: the executed node's own type for the original it is
    named after, else read from the ONNX-style name (``/blocks.0/conv/Conv`` -> ``Conv``)."""
    if name == layer_name:
        return fused_type
    return op_of(name) or fused_type
