"""What an exporter gets and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional


@dataclass
class ExportJob:
    ref: Any  # edgevid.models.ref.ModelRef
    precision: str
    out_dir: Path
    file_name: str
    model: Any = None  # torch.nn.Module for exporters whose SOURCE is "torch"
    upstream_dir: Optional[Path] = None  # artifact folder of SOURCE for converted formats
    upstream_manifest: Optional[dict] = None
    options: dict = field(default_factory=dict)


@dataclass
class ExportedFiles:
    inputs: list  # [{"name", "shape", "dtype"}]
    outputs: list  # [{"name", "shape", "dtype"}]
    extra: dict = field(default_factory=dict)  # format-specific manifest fields (opset, ...)


INPUT_NAME = "video"
OUTPUT_NAME = "logits"


def installed_version(dist: str) -> Optional[str]:
    """The installed version of distribution ``dist`` (None if it is not installed), read from its
    metadata: importing a converter just for ``__version__`` costs seconds (nncf, onnxslim), and
    every export and cached bench asks for the versions (the cache key)."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
