"""TensorRT engine cache, standard library only: where built engines live and the key they are
filed under.

Engines are cached in ``~/.cache/edgevid/engines`` (``$EDGEVID_ENGINE_CACHE`` or the
``engine_cache`` run option override it) under a key made of the ONNX file's sha256, the TensorRT
version, the GPU name, the precision and the other build settings. Beside each ``.engine`` a
``.json`` holds what it was built from and how long the build took.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Optional

CACHE_ENV = "EDGEVID_ENGINE_CACHE"


def cache_key(
    onnx_sha256: str,
    tensorrt_version: str,
    gpu_name: str,
    precision: str,
    build: Optional[dict] = None,
) -> str:
    """Key of a built engine: what makes one engine differ from another."""
    settings = {k: v for k, v in (build or {}).items() if k not in ("trtexec", "precision")}
    blob = json.dumps(
        {
            "onnx_sha256": onnx_sha256,
            "tensorrt": str(tensorrt_version),
            "gpu": str(gpu_name).strip(),
            "precision": precision,
            "build": settings,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def cache_dir(options=None) -> Path:
    """The engine folder: the ``engine_cache`` option, ``$EDGEVID_ENGINE_CACHE``, or the default."""
    d = getattr(options, "engine_cache", None) or os.environ.get(CACHE_ENV)
    return Path(d).expanduser() if d else Path.home() / ".cache" / "edgevid" / "engines"


def engine_file(cache: Path, manifest: dict, key: str) -> Path:
    return cache / f"{manifest['model']}-{manifest['precision']}-{key}.engine"


def write_engine(path: Path, data: bytes, meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1))


def read_meta(path: Path) -> dict:
    try:
        return json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}


def build_settings(manifest: dict) -> dict:
    build = manifest.get("build")
    if not isinstance(build, dict):
        raise RuntimeError(
            "the artifact's manifest has no TensorRT build settings: export it "
            "again with `edgevid export MODEL --to tensorrt`"
        )
    return build


def device_index(options) -> int:
    text = (
        str(getattr(options, "device", None) or "0").lower().replace("cuda:", "").replace("gpu", "")
    )
    try:
        return int(text or 0)
    except ValueError:
        raise RuntimeError(
            f"TensorRT device must be a CUDA device index such as 0 or cuda:0, "
            f"got {options.device!r}"
        ) from None
