"""Parameter and FLOP counts for zoo models.

Counting convention (the one fvcore uses, and so do the X3D, MoViNet and most video-transformer
papers): **one multiply-add = one FLOP**, counted for convolutions, matrix multiplies (linear
layers, batched matmuls, einsums that lower to them) and scaled-dot-product attention; element-wise
ops, norms, activations and pooling are not counted. Batch size 1, at the model's default input.

The count runs on PyTorch's meta device, so nothing is allocated and no arithmetic is done: it is
fast even for ViT-B-sized video transformers -- but not free: the first count in a process imports
``torch._dynamo`` (about 2 s here) and the whole zoo takes about 25 s. So ``spec_stats`` keeps a
zoo model's counts in a small JSON cache (``$XDG_CACHE_HOME/edgevid/model-stats.json``, else
``~/.cache/edgevid/``; ``EDGEVID_STATS_CACHE=FILE`` moves it, ``=off`` turns it off), keyed by the
variant's name, the input and a digest of this package's source files and torch's version: any
change to the zoo's code or to torch counts again. An unwritable cache is only a slower count.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

COUNTING_CONVENTION = (
    "GFLOPs = multiply-adds (1 MAC = 1 FLOP, as fvcore counts) of conv, matmul and attention "
    "at the default input, batch 1; element-wise ops not counted"
)


@dataclass(frozen=True)
class ModelStats:
    params: int
    gflops: float


def count_model(builder, input_shape: Sequence[int]) -> ModelStats:
    """Count params and GFLOPs of ``builder()`` at ``input_shape`` (C, T, H, W)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = builder().eval()
        x = torch.empty((1, *input_shape))
    params = sum(p.numel() for p in model.parameters())
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    # FlopCounterMode counts 2 FLOPs per multiply-add.
    return ModelStats(params=int(params), gflops=counter.get_total_flops() / 2 / 1e9)


def spec_stats(spec, input_shape: Optional[Sequence[int]] = None) -> ModelStats:
    """``count_model`` of a zoo variant, through the cache (see the module's docstring)."""
    shape = tuple(input_shape or spec.input)
    path = cache_file() if _cacheable(spec) else None
    key = f"{spec.name} {'x'.join(map(str, shape))}"
    if path is not None:
        hit = _read(path).get(key)
        if hit:
            return ModelStats(params=int(hit["params"]), gflops=float(hit["gflops"]))
    stats = count_model(spec.build, shape)
    if path is not None:
        _write(path, key, stats)
    return stats


def cache_file() -> Optional[Path]:
    where = os.environ.get("EDGEVID_STATS_CACHE", "")
    if where == "off":
        return None
    if where:
        return Path(where)
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "edgevid" / "model-stats.json"


def _cacheable(spec) -> bool:
    """Only variants built by this package: the digest covers their code and nothing else."""
    return getattr(spec.builder, "__module__", "").startswith(__package__ + ".")


@lru_cache(maxsize=1)
def code_digest() -> str:
    import torch

    h = hashlib.sha256(f"torch {torch.__version__}\0".encode())
    for f in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    ok = isinstance(data, dict) and data.get("code") == code_digest()
    return data.get("counts", {}) if ok and isinstance(data.get("counts"), dict) else {}


def _write(path: Path, key: str, stats: ModelStats) -> None:
    """Add one entry (entries of other code digests are dropped); atomic, so a concurrent reader
    sees the old file or the new one. Two concurrent writers may lose an entry: it is counted
    again next time."""
    counts = {**_read(path), key: {"params": stats.params, "gflops": stats.gflops}}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"code": code_digest(), "counts": counts}, sort_keys=True))
        os.replace(tmp, path)
    except OSError:  # read-only, full, or not a folder: the count stands, uncached
        try:
            tmp.unlink()
        except OSError:
            pass
