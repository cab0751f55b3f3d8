"""LiteRT runner: a .tflite artifact on the LiteRT (TFLite) interpreter, XNNPACK on by default.

Runtime: ``ai_edge_litert`` (``pip install ai-edge-litert``), or ``tflite_runtime`` on older
devices. Options: ``threads`` -> ``num_threads``; XNNPACK off with ``RunOptions.xnnpack = False``
where that field exists, or ``device`` set to one of ``NO_XNNPACK_DEVICES`` (e.g.
``--device xnnpack-off``): the builtin kernels then run without the default delegate.

Full-integer (int8) models take and return int8 tensors: the float input is quantized with the
input tensor's scale and zero point, and outputs are dequantized, so numerics compare in float
(the quantize/dequantize of the input and outputs is inside the timed call, as an app would do).

Read back: num_threads as set (the Python API has no getter; on Linux the process's thread count
before and after loading is recorded too), the number of delegate partitions XNNPACK took, the
op resolver, and each input/output tensor's dtype and quantization.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .session import Session as BaseSession

NAME = "litert"
NO_XNNPACK_DEVICES = ("xnnpack-off", "no-xnnpack", "builtin", "cpu-builtin", "cpu-no-xnnpack")


def _runtime():
    """(Interpreter class, OpResolverType or None, module name)."""
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        return Interpreter, OpResolverType, "ai_edge_litert"
    except ImportError:
        from tflite_runtime.interpreter import Interpreter  # older devices

        try:
            from tflite_runtime.interpreter import OpResolverType
        except ImportError:
            OpResolverType = None
        return Interpreter, OpResolverType, "tflite_runtime"


def version() -> str:
    try:
        import ai_edge_litert

        return "ai-edge-litert " + str(getattr(ai_edge_litert, "__version__", "?"))
    except ImportError:
        import tflite_runtime

        return "tflite-runtime " + str(getattr(tflite_runtime, "__version__", "?"))


def _os_threads():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def _quant(detail: dict):
    scale, zero = detail.get("quantization", (0.0, 0))
    return (float(scale), int(zero)) if scale else None


def _to_tensor(x: np.ndarray, detail: dict) -> np.ndarray:
    dtype = np.dtype(detail["dtype"])
    q = _quant(detail)
    if q is not None and np.issubdtype(dtype, np.integer):
        scale, zero = q
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale) + zero, info.min, info.max).astype(dtype)
    return np.ascontiguousarray(x, dtype=dtype)


def _from_tensor(y: np.ndarray, detail: dict) -> np.ndarray:
    q = _quant(detail)
    if q is not None and np.issubdtype(y.dtype, np.integer):
        scale, zero = q
        return (y.astype(np.float32) - zero) * np.float32(scale)
    return y.astype(np.float32, copy=False)


class Session(BaseSession):
    def __init__(self, interpreter, inputs: list, outputs: list, settings: dict):
        self._it = interpreter
        self._inputs = inputs  # [(name, detail)]
        self._outputs = outputs
        self.settings = settings

    def infer(self, inputs: dict) -> list:
        it = self._it
        for name, d in self._inputs:
            it.set_tensor(d["index"], _to_tensor(inputs[name], d))
        it.invoke()
        return [_from_tensor(it.get_tensor(d["index"]), d) for _, d in self._outputs]


def _xnnpack_wanted(options) -> bool:
    flag = getattr(options, "xnnpack", None)
    if flag is not None:
        return bool(flag)
    return (options.device or "").lower() not in NO_XNNPACK_DEVICES


def _io(it, manifest: dict) -> tuple:
    """[(manifest name, tensor detail)] for inputs and outputs, matched by signature name."""
    sigs = it.get_signature_list() or {}
    key = "serving_default" if "serving_default" in sigs else next(iter(sigs), None)
    ins, outs = it.get_input_details(), it.get_output_details()
    if key is None:  # no signature: position order
        return (
            [(s["name"], d) for s, d in zip(manifest["inputs"], ins)],
            [(s["name"], d) for s, d in zip(manifest["outputs"], outs)],
        )
    runner = it.get_signature_runner(key)
    by_index = {d["index"]: d for d in (*ins, *outs)}
    sig_in, sig_out = runner.get_input_details(), runner.get_output_details()

    def pick(specs, sig):
        out = []
        for spec in specs:
            if spec["name"] not in sig:
                raise RuntimeError(
                    f"the .tflite signature has no tensor {spec['name']!r} (it has {sorted(sig)})"
                )
            out.append((spec["name"], by_index.get(sig[spec["name"]]["index"], sig[spec["name"]])))
        return out

    return pick(manifest["inputs"], sig_in), pick(manifest["outputs"], sig_out)


def load(artifact_dir, manifest: dict, options) -> Session:
    Interpreter, OpResolverType, module = _runtime()
    xnnpack = _xnnpack_wanted(options)
    kwargs: dict = {"model_path": str(Path(artifact_dir) / manifest["file"])}
    if options.threads:
        kwargs["num_threads"] = int(options.threads)
    resolver = "AUTO (builtin kernels + default XNNPACK delegate)"
    if not xnnpack:
        if OpResolverType is None:
            raise RuntimeError(
                f"{module} cannot turn the default XNNPACK delegate off "
                f"(no OpResolverType): run with XNNPACK on"
            )
        kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        resolver = "BUILTIN_WITHOUT_DEFAULT_DELEGATES"
    threads_before = _os_threads()
    it = Interpreter(**kwargs)
    it.allocate_tensors()
    inputs, outputs = _io(it, manifest)
    partitions = None
    try:  # private API: node names; a delegate's kernel node is named DELEGATE
        partitions = sum(1 for op in it._get_ops_details() if op["op_name"] == "DELEGATE")  # noqa: SLF001
    except Exception:  # noqa: BLE001 - informative only
        pass
    threads_after = _os_threads()

    def tensor(name, d):
        q = _quant(d)
        return {
            "name": name,
            "dtype": np.dtype(d["dtype"]).name,
            "shape": [int(v) for v in d["shape"]],
            "quantization": None if q is None else {"scale": q[0], "zero_point": q[1]},
        }

    settings = {
        "runtime": module,
        "num_threads": int(options.threads) if options.threads else None,
        "num_threads_source": "set on the Interpreter (the Python API has no getter)"
        if options.threads
        else "runtime default",
        "os_threads_before_load": threads_before,
        "os_threads_after_load": threads_after,
        "xnnpack": xnnpack,
        # requested and actually applied: XNNPACK may take none of a graph (e.g. CONV_3D only)
        "xnnpack_applied": (partitions > 0) if partitions is not None else None,
        "op_resolver": resolver,
        "delegate_partitions": partitions,
        "inputs": [tensor(n, d) for n, d in inputs],
        "outputs": [tensor(n, d) for n, d in outputs],
    }
    return Session(it, inputs, outputs, settings)
