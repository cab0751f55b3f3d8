"""TensorRT runner: builds the engine on this GPU from the artifact's ONNX + build settings, caches
it, and runs it.

Two ways to reach TensorRT, tried in this order:

1. The Python API (``import tensorrt``, TensorRT >= 10; 8.6 works too): ``Builder`` +
   ``OnnxParser`` + ``BuilderConfig`` (``set_memory_pool_limit``, ``BuilderFlag.FP16/INT8``,
   builder optimization level) -> ``build_serialized_network``; ``Runtime.deserialize_cuda_engine``;
   inference with ``set_tensor_address`` + ``execute_async_v3``. GPU memory, copies, the stream
   and CUDA events come from **cuda-python** (``pip install cuda-python``; ``cuda.bindings.runtime``,
   or ``cuda.cudart`` in older releases) -- chosen over torch because runners never import torch,
   and it is what NVIDIA's own TensorRT Python samples use. Host buffers are pinned.
2. The ``trtexec`` program alone (on PATH, or JetPack's ``/usr/src/tensorrt/bin/trtexec``): the
   engine is built with ``trtexec --saveEngine``; ``infer`` runs ``trtexec --loadEngine
   --loadInputs --exportOutput`` (one process per call: right outputs, but its wall clock includes
   process start -- ``Session.external_timing()`` gives trtexec's own per-query timings instead;
   see ``runners/trtexec.py`` for the output formats).

Where neither exists, ``load`` raises ``Unsupported`` (status "unsupported" in the record).

Engines are cached in ``~/.cache/edgevid/engines`` (``$EDGEVID_ENGINE_CACHE`` or the
``engine_cache`` run option override it) under a key made of the ONNX file's sha256, the TensorRT
version, the GPU name, the precision and the other build settings; ``Session.settings`` records
the key, whether the cache hit, and the build time (of this build, or of the cached engine's).

GPU time: on the Python path every ``infer`` records CUDA events around ``execute_async_v3``;
``Session.gpu_ms()`` returns the last iteration's GPU time (ms), for the shared loop to collect
next to its wall-clock samples.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

import numpy as np

from .record import Unsupported
from .trtexec import bench_command, build_command, command_line, parse_log, parse_outputs, \
    parse_times, summary_fields

NAME = "tensorrt"
NOT_INSTALLED = ("TensorRT is not installed here: the engine is built on the target device "
                 "(JetPack ships TensorRT and trtexec)")
NO_CUDA_PYTHON = ("TensorRT's Python API is installed but cuda-python is not: pip install "
                  "cuda-python (the runner allocates GPU memory and times with CUDA events "
                  "through it), or put trtexec on PATH")
CACHE_ENV = "EDGEVID_ENGINE_CACHE"
TRTEXEC_PLACES = ("/usr/src/tensorrt/bin/trtexec", "/usr/local/tensorrt/bin/trtexec")


# ---------------------------------------------------------------- what is installed


def _tensorrt():
    try:
        import tensorrt

        return tensorrt
    except ImportError:
        return None


def _cudart():
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        try:
            from cuda import cudart  # older cuda-python
        except ImportError:
            return None
    return cudart


def trtexec_path(options=None) -> Optional[str]:
    """trtexec from the ``trtexec`` option, PATH, or where JetPack / NVIDIA's tarball put it."""
    named = getattr(options, "trtexec", None) or "trtexec"
    found = shutil.which(named)
    if found:
        return found
    return next((p for p in TRTEXEC_PLACES if os.access(p, os.X_OK)), None)


def version() -> str:
    trt = _tensorrt()
    if trt is not None:
        return trt.__version__
    exe = trtexec_path()
    if exe:
        return _trtexec_version(exe) or "trtexec (version unknown)"
    return "not installed"


def _trtexec_version(exe: str) -> Optional[str]:
    try:
        text = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    build = parse_log(text.splitlines()[0] if text else "").get("tensorrt_build")
    if not build:
        return None
    # TensorRT encodes MAJOR*10000 + MINOR*100 + PATCH (v101600 = 10.16.0; v8601 = 8.6.1)
    return f"{build // 10000}.{build // 100 % 100}.{build % 100}"


# ---------------------------------------------------------------- engine cache


def cache_key(onnx_sha256: str, tensorrt_version: str, gpu_name: str, precision: str,
              build: Optional[dict] = None) -> str:
    """Key of a built engine: what makes one engine differ from another."""
    settings = {k: v for k, v in (build or {}).items() if k not in ("trtexec", "precision")}
    blob = json.dumps({"onnx_sha256": onnx_sha256, "tensorrt": str(tensorrt_version),
                       "gpu": str(gpu_name).strip(), "precision": precision,
                       "build": settings}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def cache_dir(options=None) -> Path:
    d = getattr(options, "engine_cache", None) or os.environ.get(CACHE_ENV)
    return Path(d).expanduser() if d else Path.home() / ".cache" / "edgevid" / "engines"


def _engine_file(cache: Path, manifest: dict, key: str) -> Path:
    return cache / f"{manifest['model']}-{manifest['precision']}-{key}.engine"


def _write_engine(path: Path, data: bytes, meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1))


def _read_meta(path: Path) -> dict:
    try:
        return json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}


def _build_settings(manifest: dict) -> dict:
    build = manifest.get("build")
    if not isinstance(build, dict):
        raise RuntimeError("the artifact's manifest has no TensorRT build settings: export it "
                           "again with `edgevid export MODEL --to tensorrt`")
    return build


def _device_index(options) -> int:
    text = str(getattr(options, "device", None) or "0").lower().replace("cuda:", "").replace("gpu", "")
    try:
        return int(text or 0)
    except ValueError:
        raise RuntimeError(f"TensorRT device must be a CUDA device index such as 0 or cuda:0, "
                           f"got {options.device!r}") from None


def load(artifact_dir, manifest: dict, options):
    build = _build_settings(manifest)
    trt = _tensorrt()
    if trt is not None:
        cudart = _cudart()
        if cudart is not None:
            return _load_python(trt, cudart, Path(artifact_dir), manifest, build, options)
        if trtexec_path(options) is None:
            raise Unsupported(NO_CUDA_PYTHON)
    exe = trtexec_path(options)
    if exe is None:
        raise Unsupported(NOT_INSTALLED)
    return _load_trtexec(exe, Path(artifact_dir), manifest, build, options)


# ---------------------------------------------------------------- Python API


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
    if build.get("builder_optimization_level") is not None and hasattr(config, "builder_optimization_level"):
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


class Session:
    """An engine, its execution context, pinned host + device buffers, a stream, two events."""

    def __init__(self, trt, cudart, engine, manifest: dict, build: dict, settings: dict):
        self._cudart, self._engine = cudart, engine
        self._context = engine.create_execution_context()
        self.settings = settings
        self._stream = _check(cudart.cudaStreamCreate())
        self._start = _check(cudart.cudaEventCreate())
        self._end = _check(cudart.cudaEventCreate())
        self._host, self._dev, self._pinned = {}, {}, []
        self._inputs, outputs = [], []
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
            self._host[name] = raw[: int(np.prod(shape)) * dtype.itemsize].view(dtype).reshape(shape)
            self._dev[name] = _check(cudart.cudaMalloc(nbytes))
            self._context.set_tensor_address(name, int(self._dev[name]))
        wanted = [o["name"] for o in manifest["outputs"]]
        self._outputs = [n for n in wanted if n in outputs] + [n for n in outputs if n not in wanted]
        self._last_gpu_ms: Optional[float] = None

    def infer(self, inputs: dict) -> list:
        c = self._cudart
        h2d, d2h = c.cudaMemcpyKind.cudaMemcpyHostToDevice, c.cudaMemcpyKind.cudaMemcpyDeviceToHost
        for name in self._inputs:
            host = self._host[name]
            np.copyto(host, np.asarray(inputs[name], dtype=host.dtype).reshape(host.shape))
            _check(c.cudaMemcpyAsync(self._dev[name], host.ctypes.data, host.nbytes, h2d, self._stream))
        _check(c.cudaEventRecord(self._start, self._stream))
        if not self._context.execute_async_v3(self._stream):
            raise RuntimeError("TensorRT execute_async_v3 failed")
        _check(c.cudaEventRecord(self._end, self._stream))
        for name in self._outputs:
            host = self._host[name]
            _check(c.cudaMemcpyAsync(host.ctypes.data, self._dev[name], host.nbytes, d2h, self._stream))
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


def _load_python(trt, cudart, artifact_dir: Path, manifest: dict, build: dict, options) -> Session:
    device = _device_index(options)
    _check(cudart.cudaSetDevice(device))
    gpu = _gpu_name(cudart, device)
    logger = trt.Logger(trt.Logger.WARNING)
    key = cache_key(manifest["sha256"], trt.__version__, gpu, manifest["precision"], build)
    path = _engine_file(cache_dir(options), manifest, key)
    runtime = trt.Runtime(logger)
    engine, hit, meta = None, path.is_file(), {}
    if hit:
        engine = runtime.deserialize_cuda_engine(path.read_bytes())
        meta = _read_meta(path)
        hit = engine is not None  # a stale or corrupt file is rebuilt
    build_ms = meta.get("build_ms")
    if engine is None:
        t0 = time.perf_counter()
        data = build_engine(trt, artifact_dir / manifest["file"], build, logger)
        build_ms = (time.perf_counter() - t0) * 1e3
        _write_engine(path, data, {"key": key, "onnx_sha256": manifest["sha256"],
                                   "tensorrt": trt.__version__, "gpu": gpu,
                                   "precision": manifest["precision"], "build": build,
                                   "build_ms": build_ms, "built_with": "python"})
        engine = runtime.deserialize_cuda_engine(data)
        if engine is None:
            raise RuntimeError("TensorRT could not deserialize the engine it just built")
    settings = {
        "api": "python", "tensorrt": trt.__version__, "gpu": gpu, "device": device,
        "precision": manifest["precision"], "builder_flags": build.get("builder_flags"),
        "tf32": build.get("tf32"), "workspace_bytes": build.get("workspace_bytes"),
        "builder_optimization_level": build.get("builder_optimization_level"),
        "engine_cache_key": key, "engine_path": str(path), "cache_hit": hit,
        "build_ms": build_ms, "engine_bytes": path.stat().st_size if path.is_file() else None,
        "gpu_timing": "cuda events around execute_async_v3 (Session.gpu_ms)",
    }
    return Session(trt, cudart, engine, manifest, build, settings)


# ---------------------------------------------------------------- trtexec only


def _gpu_name_without_cuda() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
        if out:
            return out.splitlines()[0].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:  # Jetson: no nvidia-smi on older JetPack; the board model names the GPU
        return Path("/proc/device-tree/model").read_text().strip("\x00 \n")
    except OSError:
        return "unknown GPU"


def _run(cmd: list, timeout_s: float) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout_s)
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        tail = " | ".join(ln for ln in text.strip().splitlines()[-6:])
        raise RuntimeError(f"trtexec exited with code {proc.returncode}: {tail}"[:2000])
    return text


class TrtexecSession:
    """A cached engine driven by the trtexec program."""

    def __init__(self, exe: str, engine: Path, manifest: dict, settings: dict):
        self._exe, self._engine, self._manifest = exe, engine, manifest
        self.settings = settings
        self._tmp = Path(tempfile.mkdtemp(prefix="edgevid-trtexec-"))

    def _input_files(self, inputs: dict) -> dict:
        files = {}
        for spec in self._manifest["inputs"]:
            path = self._tmp / f"{spec['name']}.bin"
            np.ascontiguousarray(inputs[spec["name"]], dtype=spec.get("dtype", "float32")).tofile(path)
            files[spec["name"]] = path
        return files

    def infer(self, inputs: dict) -> list:
        out = self._tmp / "outputs.json"
        cmd = bench_command(self._engine, trtexec=self._exe, warmup_ms=0, duration_s=0,
                            iterations=1, inputs=self._input_files(inputs), export_output=out,
                            spin_wait=False)
        _run(cmd, 600)
        got = parse_outputs(out.read_text())
        result = []
        for spec in self._manifest["outputs"]:
            dims, values = got[spec["name"]]
            result.append(np.asarray(values, dtype=np.float32).reshape(dims or spec["shape"]))
        return result

    def external_timing(self, inputs: dict, warmup_ms: int = 500, duration_s: float = 3,
                        iterations: int = 10) -> dict:
        """trtexec's own timing of the engine: per-query host latency (H2D + GPU + D2H) and GPU
        compute samples (ms), and its summary as result fields."""
        times = self._tmp / "times.json"
        cmd = bench_command(self._engine, trtexec=self._exe, warmup_ms=warmup_ms,
                            duration_s=duration_s, iterations=iterations,
                            inputs=self._input_files(inputs), export_times=times)
        text = _run(cmd, 600 + duration_s)
        parsed = parse_log(text)
        samples = parse_times(times.read_text(), warmup_ms=parsed.get("warmup_ms", warmup_ms))
        return {"samples_ms": samples["latency_ms"], "gpu_ms": samples["gpu_ms"],
                "trtexec": summary_fields(parsed), "command": command_line(cmd)}

    def gpu_ms(self) -> Optional[float]:
        return None  # per-call GPU time is not observable through one trtexec run per call

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


def _load_trtexec(exe: str, artifact_dir: Path, manifest: dict, build: dict, options):
    trt_version = _trtexec_version(exe) or "unknown"
    gpu = _gpu_name_without_cuda()
    key = cache_key(manifest["sha256"], trt_version, gpu, manifest["precision"], build)
    path = _engine_file(cache_dir(options), manifest, key)
    hit = path.is_file()
    meta = _read_meta(path) if hit else {}
    build_ms = meta.get("build_ms")
    command = None
    if not hit:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        cmd = build_command(artifact_dir / manifest["file"], tmp, build, trtexec=exe)
        command = command_line(cmd)
        t0 = time.perf_counter()
        text = _run(cmd, 3600)
        wall_ms = (time.perf_counter() - t0) * 1e3
        parsed = parse_log(text)
        build_ms = parsed["build_s"] * 1e3 if parsed.get("build_s") is not None else wall_ms
        if not tmp.is_file():
            raise RuntimeError(f"trtexec did not write the engine ({command})")
        os.replace(tmp, path)
        path.with_suffix(".json").write_text(json.dumps(
            {"key": key, "onnx_sha256": manifest["sha256"], "tensorrt": trt_version, "gpu": gpu,
             "precision": manifest["precision"], "build": build, "build_ms": build_ms,
             "built_with": "trtexec", "command": command}, indent=1))
    settings = {
        "api": "trtexec", "trtexec": exe, "tensorrt": trt_version, "gpu": gpu,
        "precision": manifest["precision"], "builder_flags": build.get("builder_flags"),
        "tf32": build.get("tf32"), "workspace_bytes": build.get("workspace_bytes"),
        "builder_optimization_level": build.get("builder_optimization_level"),
        "engine_cache_key": key, "engine_path": str(path), "cache_hit": hit,
        "build_ms": build_ms, "build_command": command or meta.get("command"),
        "engine_bytes": path.stat().st_size,
        "wall_clock_includes_process_start": True,
        "gpu_timing": "trtexec --exportTimes (TrtexecSession.external_timing)",
    }
    return TrtexecSession(exe, path, manifest, settings)
