"""TensorRT runner: builds the engine on this GPU from the artifact's ONNX + build settings, caches
it, and runs it. This module only picks the way to reach TensorRT, in this order:

1. The Python API (``import tensorrt``, TensorRT >= 10; 8.6 works too) with cuda-python:
   ``runners/trt_api.py`` (GPU time per iteration from CUDA events).
2. The ``trtexec`` program alone (on PATH, the ``trtexec`` option, or JetPack's
   ``/usr/src/tensorrt/bin/trtexec``): ``runners/trtexec_session.py`` (trtexec times its own loop
   under the same timing policy; command lines and log parsing in ``runners/trtexec.py``).

Where neither exists, ``load`` raises ``Unsupported`` (status "unsupported" in the record). The
engine cache (``runners/trt_engine_cache.py``) is shared by both; ``Session.settings`` records the
cache key, whether the cache hit, and the build time (of this build, or of the cached engine's).
"""

from __future__ import annotations

from pathlib import Path

from .record import Unsupported
from .session import Session
from .trt_api import load_python
from .trt_engine_cache import CACHE_ENV, build_settings, cache_dir, cache_key  # noqa: F401
from .trtexec_session import load_trtexec, trtexec_path, trtexec_version

NAME = "tensorrt"
NOT_INSTALLED = (
    "TensorRT is not installed here: the engine is built on the target device "
    "(JetPack ships TensorRT and trtexec)"
)
NO_CUDA_PYTHON = (
    "TensorRT's Python API is installed but cuda-python is not: pip install "
    "cuda-python (the runner allocates GPU memory and times with CUDA events "
    "through it), or put trtexec on PATH"
)


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


def version() -> str:
    trt = _tensorrt()
    if trt is not None:
        return trt.__version__
    exe = trtexec_path()
    if exe:
        return trtexec_version(exe) or "trtexec (version unknown)"
    return "not installed"


def load(artifact_dir, manifest: dict, options) -> Session:
    build = build_settings(manifest)
    trt = _tensorrt()
    if trt is not None:
        cudart = _cudart()
        if cudart is not None:
            return load_python(trt, cudart, Path(artifact_dir), manifest, build, options)
        if trtexec_path(options) is None:
            raise Unsupported(NO_CUDA_PYTHON)
    exe = trtexec_path(options)
    if exe is None:
        raise Unsupported(NOT_INSTALLED)
    return load_trtexec(exe, Path(artifact_dir), manifest, build, options)
