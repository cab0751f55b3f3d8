"""Reading an artifact folder (model file + artifact.json) and checking numerics, numpy only."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

MANIFEST = "artifact.json"
MANIFEST_VERSION = 1


class ArtifactError(Exception):
    """The artifact folder is missing, incomplete or corrupt."""


def load_manifest(artifact_dir) -> dict:
    d = Path(artifact_dir)
    path = d / MANIFEST
    if not d.is_dir():
        raise ArtifactError(f"artifact folder not found: {d}")
    if not path.is_file():
        raise ArtifactError(f"no {MANIFEST} in {d}: export the model again")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ArtifactError(f"corrupt {path}: {e}; export the model again") from e
    for key in ("model", "format", "precision", "file", "inputs", "outputs", "sha256"):
        if key not in manifest:
            raise ArtifactError(f"{path} lacks the field {key!r}; export the model again")
    model_file = d / manifest["file"]
    if not model_file.exists():
        raise ArtifactError(f"{path} names {manifest['file']}, which is missing from {d}")
    return manifest


def sha256_file(path) -> str:
    """sha256 of a file, or of a folder (e.g. a Core ML .mlpackage): its files' relative paths
    and contents in sorted order."""
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def verify_file(artifact_dir, manifest: dict) -> None:
    """Raise ArtifactError if the model file is not the one the manifest describes."""
    path = Path(artifact_dir) / manifest["file"]
    if sha256_file(path) != manifest["sha256"]:
        raise ArtifactError(f"{path} does not match the sha256 in its manifest (corrupt or "
                            f"replaced); export the model again")


def reference_input(shape, seed: int, dtype="float32") -> np.ndarray:
    """The fixed input every exporter and runner agrees on: standard normal from numpy's PCG64."""
    return np.random.default_rng(seed).standard_normal(tuple(shape)).astype(dtype)


def reference_inputs(manifest: dict) -> dict:
    seed = manifest["reference"]["seed"]
    return {
        spec["name"]: reference_input(spec["shape"], seed + i, spec.get("dtype", "float32"))
        for i, spec in enumerate(manifest["inputs"])
    }


def tolerance(manifest: dict, ref: np.ndarray) -> float:
    """Absolute tolerance: the manifest's relative tolerance times the reference output's scale
    (its largest magnitude). Randomly initialised models have small logits, so no floor of 1."""
    rel = manifest["reference"].get("rtol", 1e-3)
    return float(rel * max(float(np.abs(ref).max()), 1e-12))


def check_numerics(manifest: dict, outputs) -> dict:
    """Compare the first output with the PyTorch reference stored in the manifest."""
    ref_spec = manifest.get("reference", {}).get("outputs")
    if not ref_spec:
        return {"max_abs_diff": None, "top1_agree": None, "ok": None,
                "reason": "artifact has no reference output"}
    ref = np.asarray(ref_spec[0]["values"], dtype=np.float64).reshape(ref_spec[0]["shape"])
    out = np.asarray(outputs[0], dtype=np.float64)
    if out.shape != ref.shape:
        return {"max_abs_diff": None, "top1_agree": False, "ok": False,
                "reason": f"output shape {list(out.shape)} != reference {list(ref.shape)}"}
    diff = float(np.abs(out - ref).max())
    tol = tolerance(manifest, ref)
    flat_out, flat_ref = out.reshape(out.shape[0], -1), ref.reshape(ref.shape[0], -1)
    top1 = float(np.mean(flat_out.argmax(-1) == flat_ref.argmax(-1)))
    return {"max_abs_diff": diff, "tolerance": tol, "top1_agree": top1,
            "ok": bool(diff <= tol and top1 == 1.0),
            "reference": manifest["reference"].get("source", "pytorch")}
