"""TensorRT through its Python API: build the engine (cached), run it with cuda-python buffers.

``Builder`` + ``OnnxParser`` + ``BuilderConfig`` (``set_memory_pool_limit``,
``BuilderFlag.FP16/INT8``, builder optimization level) -> ``build_serialized_network``;
``Runtime.deserialize_cuda_engine``; inference with ``set_tensor_address`` +
``execute_async_v3``. GPU memory, copies, the stream and CUDA events come from **cuda-python**
(``cuda.bindings.runtime``, or ``cuda.cudart`` in older releases) -- chosen over torch because
runners never import torch, and it is what NVIDIA's own TensorRT Python samples use. Host buffers
are pinned. Every ``infer`` records CUDA events around ``execute_async_v3``: the session declares
``HAS_GPU_TIME`` and ``gpu_ms()`` returns the last iteration's GPU time.
"""

from __future__ import annotations

import ctypes
import time
from pathlib import Path
from typing import Optional

import numpy as np

from .session import Session
from .trt_engine_cache import (
    cache_dir,
    cache_key,
    device_index,
    engine_file,
    read_meta,
    write_engine,
)


def _check(result):
    """cuda-python calls return (err, value...): raise on an error, return the value(s)."""
    err, *rest = result
    if int(err) != 0:
        raise RuntimeError(f"CUDA error {err}")
    return rest[0] if len(rest) == 1 else (tuple(rest) if rest else None)


def _gpu_name(cudart, device: int) -> str:
    props = _check(cudart.cudaGetDeviceProperties(device))
    name = props.name
    return (name.decode(errors="replace") if isinstance(name, bytes) else str(name)).strip("\x00 ")


def build_engine(trt, onnx_path: Path, build: dict, logger) -> bytes:
    """Parse the ONNX file and build a serialized engine with the artifact's settings."""
    builder = trt.Builder(logger)
    major = int(trt.__version__.split(".")[0])
    flags = 0 if major >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise RuntimeError("TensorRT's ONNX parser failed: " + " | ".join(errors[:5]))
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(build["workspace_bytes"]))
    for flag in build.get("builder_flags", []):
        config.set_flag(getattr(trt.BuilderFlag, flag))
    if not build.get("tf32", True) and hasattr(trt.BuilderFlag, "TF32"):
        config.clear_flag(trt.BuilderFlag.TF32)
    if build.get("builder_optimization_level") is not None and hasattr(
        config, "builder_optimization_level"
    ):
        config.builder_optimization_level = int(build["builder_optimization_level"])
    inputs = [network.get_input(i) for i in range(network.num_inputs)]
    if any(-1 in tuple(t.shape) for t in inputs):  # a dynamic input needs a profile
        profile = builder.create_optimization_profile()
        for t in inputs:
            s = build["input_shapes"][t.name]
            profile.set_shape(t.name, s["min"], s["opt"], s["max"])
        config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError("TensorRT could not build the engine (its log above says why)")
    return bytes(serialized)


class TensorRTSession(Session):
    """An engine, its execution context, pinned host + device buffers, a stream, two events."""

    HAS_GPU_TIME = True

    def __init__(self, trt, cudart, engine, manifest: dict, build: dict, settings: dict):
        self._cudart, self._engine = cudart, engine
        self._context = engine.create_execution_context()
        self.settings = settings
        self._stream = _check(cudart.cudaStreamCreate())
        self._start = _check(cudart.cudaEventCreate())
        self._end = _check(cudart.cudaEventCreate())
        self._host, self._dev, self._pinned = {}, {}, []
        self._inputs: list = []
        outputs: list = []
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            if is_input and -1 in tuple(self._context.get_tensor_shape(name)):
                self._context.set_input_shape(name, build["input_shapes"][name]["opt"])
            (self._inputs if is_input else outputs).append(name)
        for name in self._inputs + outputs:
            shape = tuple(self._context.get_tensor_shape(name))
            dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
            nbytes = max(int(np.prod(shape)) * dtype.itemsize, 1)
            ptr = _check(cudart.cudaMallocHost(nbytes))
            self._pinned.append(ptr)
            raw = np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_uint8)), (nbytes,))
            self._host[name] = (
                raw[: int(np.prod(shape)) * dtype.itemsize].view(dtype).reshape(shape)
            )
            self._dev[name] = _check(cudart.cudaMalloc(nbytes))
            self._context.set_tensor_address(name, int(self._dev[name]))
        wanted = [o["name"] for o in manifest["outputs"]]
        self._outputs = [n for n in wanted if n in outputs] + [
            n for n in outputs if n not in wanted
        ]
        self._last_gpu_ms: Optional[float] = None

    def infer(self, inputs: dict) -> list:
        c = self._cudart
        h2d, d2h = c.cudaMemcpyKind.cudaMemcpyHostToDevice, c.cudaMemcpyKind.cudaMemcpyDeviceToHost
        for name in self._inputs:
            host = self._host[name]
            np.copyto(host, np.asarray(inputs[name], dtype=host.dtype).reshape(host.shape))
            _check(
                c.cudaMemcpyAsync(self._dev[name], host.ctypes.data, host.nbytes, h2d, self._stream)
            )
        _check(c.cudaEventRecord(self._start, self._stream))
        if not self._context.execute_async_v3(self._stream):
            raise RuntimeError("TensorRT execute_async_v3 failed")
        _check(c.cudaEventRecord(self._end, self._stream))
        for name in self._outputs:
            host = self._host[name]
            _check(
                c.cudaMemcpyAsync(host.ctypes.data, self._dev[name], host.nbytes, d2h, self._stream)
            )
        _check(c.cudaStreamSynchronize(self._stream))
        self._last_gpu_ms = float(_check(c.cudaEventElapsedTime(self._start, self._end)))
        return [self._host[n].copy() for n in self._outputs]

    def gpu_ms(self) -> Optional[float]:
        """GPU time (ms) of the last ``infer``: CUDA events around ``execute_async_v3``."""
        return self._last_gpu_ms

    def close(self) -> None:
        c = self._cudart
        for ptr in self._dev.values():
            c.cudaFree(ptr)
        for ptr in self._pinned:
            c.cudaFreeHost(ptr)
        c.cudaEventDestroy(self._start)
        c.cudaEventDestroy(self._end)
        c.cudaStreamDestroy(self._stream)
        self._dev, self._pinned = {}, []

    def __del__(self):
        try:
            if self._dev:
                self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def load_python(
    trt, cudart, artifact_dir: Path, manifest: dict, build: dict, options
) -> TensorRTSession:
    device = device_index(options)
    _check(cudart.cudaSetDevice(device))
    gpu = _gpu_name(cudart, device)
    logger = trt.Logger(trt.Logger.WARNING)
    key = cache_key(manifest["sha256"], trt.__version__, gpu, manifest["precision"], build)
    path = engine_file(cache_dir(options), manifest, key)
    runtime = trt.Runtime(logger)
    engine, hit, meta = None, path.is_file(), {}
    if hit:
        engine = runtime.deserialize_cuda_engine(path.read_bytes())
        meta = read_meta(path)
        hit = engine is not None  # a stale or corrupt file is rebuilt
    build_ms = meta.get("build_ms")
    if engine is None:
        t0 = time.perf_counter()
        data = build_engine(trt, artifact_dir / manifest["file"], build, logger)
        build_ms = (time.perf_counter() - t0) * 1e3
        write_engine(
            path,
            data,
            {
                "key": key,
                "onnx_sha256": manifest["sha256"],
                "tensorrt": trt.__version__,
                "gpu": gpu,
                "precision": manifest["precision"],
                "build": build,
                "build_ms": build_ms,
                "built_with": "python",
            },
        )
        engine = runtime.deserialize_cuda_engine(data)
        if engine is None:
            raise RuntimeError("TensorRT could not deserialize the engine it just built")
    settings = {
        "api": "python",
        "tensorrt": trt.__version__,
        "gpu": gpu,
        "device": device,
        "precision": manifest["precision"],
        "builder_flags": build.get("builder_flags"),
        "tf32": build.get("tf32"),
        "workspace_bytes": build.get("workspace_bytes"),
        "builder_optimization_level": build.get("builder_optimization_level"),
        "engine_cache_key": key,
        "engine_path": str(path),
        "cache_hit": hit,
        "build_ms": build_ms,
        "engine_bytes": path.stat().st_size if path.is_file() else None,
        "gpu_timing": "cuda events around execute_async_v3 (Session.gpu_ms)",
    }
    return TensorRTSession(trt, cudart, engine, manifest, build, settings)
