"""PyTorch eager layer profile: per-module times from forward pre-hooks and hooks.

Every module gets a forward pre-hook and a forward hook that read ``perf_counter_ns``; a
module's *self* time is its time minus its children's, so a leaf module (``Conv3d``,
``Linear``, ``LayerNorm``) is one layer with its own type, and a container's self time is the
functional code of its ``forward`` (``q @ k.transpose(-2, -1)``, ``softmax``, reshapes), one layer
typed after the module class with ``/self`` appended to its name. The self times add up to the
root module's time exactly; hooks cost a few microseconds per module, which ``overhead`` shows.
Unprofiled inferences (hooks switched off, returning at once) alternate with the profiled ones
for the side-by-side end-to-end reference.
A module called several times per inference (shared weights) adds up its calls. Host-only, like
the PyTorch runner (it rebuilds the model through ``runners/pytorch.py``).
"""

from __future__ import annotations

import time
from pathlib import Path

WARMUP = 3

#: nn module class -> op type understood by ``opclass.classify`` (others: the class name)
_TYPES = {
    "Conv1d": "Conv",
    "Conv2d": "Conv",
    "Conv3d": "Conv",
    "ConvTranspose3d": "Conv",
    "Linear": "Gemm",
    "LayerNorm": "LayerNormalization",
    "BatchNorm1d": "BatchNorm",
    "BatchNorm2d": "BatchNorm",
    "BatchNorm3d": "BatchNorm",
    "GroupNorm": "GroupNorm",
    "ReLU": "Relu",
    "ReLU6": "Relu6",
    "GELU": "Gelu",
    "SiLU": "Silu",
    "Sigmoid": "Sigmoid",
    "Hardswish": "HardSwish",
    "Hardsigmoid": "HardSigmoid",
    "Dropout": "Dropout",
    "Identity": "Identity",
    "Softmax": "Softmax",
    "AvgPool3d": "AveragePool",
    "MaxPool3d": "MaxPool",
    "AdaptiveAvgPool3d": "GlobalAveragePool",
    "AdaptiveAvgPool2d": "GlobalAveragePool",
    "AdaptiveAvgPool1d": "GlobalAveragePool",
    "Flatten": "Flatten",
    "MultiheadAttention": "MatMul",
    "Tanh": "Tanh",
}


def _median(values):
    x = sorted(values)
    n = len(x)
    return x[n // 2] if n % 2 else (x[n // 2 - 1] + x[n // 2]) / 2


def _self_type(module) -> str:
    """A container's self time: attention code in an attention module, else its class name."""
    return type(module).__name__


def profile(artifact_dir, manifest: dict, options, inputs: dict, iterations: int) -> dict:
    import torch

    from ..pytorch import load

    session = load(artifact_dir, manifest, options)
    model = session._model
    names = {m: n for n, m in model.named_modules()}
    stack: list = []
    totals: dict = {}  # totals[name] = [total_ns, child_ns] for the current inference
    clock = time.perf_counter_ns

    on = [False]

    def pre(module, args):
        if on[0]:
            stack.append([module, clock(), 0])

    def post(module, args, out):
        if not on[0]:
            return
        mod, t0, child = stack.pop()
        dt = clock() - t0
        if stack:
            stack[-1][2] += dt
        acc = totals.setdefault(names[mod], [0, 0])
        acc[0] += dt
        acc[1] += child

    handles = []
    for m in model.modules():
        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post))
    per_run, wall, plain = [], [], []
    try:
        tensors = [torch.from_numpy(v) for v in inputs.values()]
        with torch.inference_mode():
            for i in range(WARMUP + iterations):
                on[0] = False  # hooks return at once: the side-by-side reference
                t0 = clock()
                model(*tensors)
                t1 = clock()
                on[0] = True
                totals.clear()
                model(*tensors)
                t2 = clock()
                if i >= WARMUP:
                    plain.append((t1 - t0) / 1e6)
                    wall.append((t2 - t1) / 1e6)
                    per_run.append({n: (a - c) / 1e6 for n, (a, c) in totals.items()})
    finally:
        for h in handles:
            h.remove()
    mods = dict(model.named_modules())
    layers = []
    for name, module in mods.items():
        if name not in per_run[0]:
            continue  # never called
        leaf = not any(True for _ in module.children())
        cls = type(module).__name__
        layers.append(
            {
                "name": name or "(model)" if leaf else (name or "(model)") + "/self",
                "module": name,
                "op_type": _TYPES.get(cls, cls) if leaf else _self_type(module) + ".forward",
                "ms": _median([r.get(name, 0.0) for r in per_run]),
                "leaf": leaf,
            }
        )
    for layer in layers:
        if not layer["leaf"]:
            layer["op_class"] = _container_class(layer["module"], mods[layer["module"]])
    return {
        "profiler": "pytorch forward hooks (self time per module)",
        "layers": layers,
        "wall_ms": wall,
        "plain_ms": plain,
        "run_sums": [sum(r.values()) for r in per_run],
        "settings": {"warmup": WARMUP, "modules": len(layers)},
    }


def _container_class(path: str, module) -> str:
    """Op class of a container's own forward code."""
    from .opclass import is_attention_scope

    name = type(module).__name__.lower()
    if is_attention_scope(path) or name.endswith("attention") or "attention" in name:
        return "attention"
    if "norm" in name:
        return "normalisation"
    if "pool" in name:
        return "pooling"
    return "other"


__all__ = ["Path", "profile"]
