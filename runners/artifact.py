"""Reading an artifact folder (model file + artifact.json) and checking numerics, numpy only."""

from __future__ import annotations

import hashlib
import json
import re
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
    check_manifest(manifest, path)
    model_file = d / manifest["file"]
    if not model_file.exists():
        raise ArtifactError(f"{path} names {manifest['file']}, which is missing from {d}")
    return manifest


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_io(items, where: str, bad, need_shape: bool) -> None:
    if not isinstance(items, list) or (need_shape and not items):
        raise bad(where, "must be a non-empty list" if need_shape else "must be a list")
    for i, spec in enumerate(items):
        if not isinstance(spec, dict):
            raise bad(f"{where}[{i}]", "must be an object with name, shape, dtype")
        if not isinstance(spec.get("name"), str):
            raise bad(f"{where}[{i}].name", "must be a string")
        shape = spec.get("shape")
        ok = isinstance(shape, list) and all(
            (_is_int(v) and v > 0) or (not need_shape and isinstance(v, str)) for v in shape
        )
        if not ok:
            raise bad(f"{where}[{i}].shape", f"must be a list of positive integers, got {shape!r}")
        if "dtype" in spec and not isinstance(spec["dtype"], str):
            raise bad(f"{where}[{i}].dtype", "must be a string such as 'float32'")
        if need_shape and spec.get("dtype", "float32") not in _DTYPES:
            raise bad(f"{where}[{i}].dtype", f"must be one of {', '.join(_DTYPES)}")


_DTYPES = ("float32", "float16", "float64", "int8", "uint8", "int32", "int64")


def check_manifest(m, path) -> None:
    """Raise ArtifactError naming the file and the field if the manifest has a wrong type."""

    def bad(fld: str, why: str) -> ArtifactError:
        return ArtifactError(f"{path}: field '{fld}' {why}; export the model again")

    if not isinstance(m, dict):
        raise ArtifactError(f"{path}: not an artifact manifest (a JSON object is expected)")
    for key in ("model", "format", "precision", "file", "inputs", "outputs", "sha256"):
        if key not in m:
            raise ArtifactError(f"{path} lacks the field {key!r}; export the model again")
    for key in ("model", "format", "precision", "file", "sha256"):
        if not isinstance(m[key], str) or not m[key]:
            raise bad(key, f"must be a non-empty string, got {m[key]!r}")
    if "runner" in m and not (
        isinstance(m["runner"], str) and re.fullmatch(r"[a-z_][a-z0-9_]*", m["runner"])
    ):
        raise bad("runner", f"must be a runner module name, got {m['runner']!r}")
    f = m["file"]
    if Path(f).is_absolute() or ".." in Path(f).parts or f in (".", MANIFEST):
        raise bad("file", f"must name a file inside the artifact folder, got {f!r}")
    _check_io(m["inputs"], "inputs", bad, need_shape=True)
    _check_io(m["outputs"], "outputs", bad, need_shape=False)
    if "bytes" in m and not (m["bytes"] is None or (_is_int(m["bytes"]) and m["bytes"] >= 0)):
        raise bad("bytes", f"must be a non-negative integer, got {m['bytes']!r}")
    files = m.get("files")
    if files is not None:
        if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()
        ):
            raise bad("files", "must map relative paths to sha256 strings")
        for rel in files:
            if Path(rel).is_absolute() or ".." in Path(rel).parts:
                raise bad("files", f"names a path outside the artifact folder: {rel!r}")
    _check_state(m, bad)
    ref = m.get("reference")
    if ref is None:
        return
    if not isinstance(ref, dict):
        raise bad("reference", "must be an object")
    if "seed" not in ref or not _is_int(ref["seed"]) or ref["seed"] < 0:
        raise bad("reference.seed", f"must be a non-negative integer, got {ref.get('seed')!r}")
    if "rtol" in ref and (
        isinstance(ref["rtol"], bool)
        or not isinstance(ref["rtol"], (int, float))
        or not ref["rtol"] >= 0
    ):
        raise bad("reference.rtol", f"must be a non-negative number, got {ref['rtol']!r}")
    outs = ref.get("outputs", [])
    if not isinstance(outs, list):
        raise bad("reference.outputs", "must be a list")
    for i, o in enumerate(outs):
        where = f"reference.outputs[{i}]"
        if not isinstance(o, dict):
            raise bad(where, "must be an object with shape and values")
        shape, values = o.get("shape"), o.get("values")
        if not (isinstance(shape, list) and all(_is_int(v) and v >= 0 for v in shape)):
            raise bad(f"{where}.shape", f"must be a list of integers, got {shape!r}")
        if not (
            isinstance(values, list)
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        ):
            raise bad(f"{where}.values", "must be a list of numbers")
        n = 1
        for v in shape:
            n *= v
        if n != len(values):
            raise bad(f"{where}.values", f"holds {len(values)} numbers, shape {shape} needs {n}")


def _check_state(m: dict, bad) -> None:
    """A stream artifact's ``state``: pairs naming an input and an output of the same shape; one
    input (the frames) and at least one output (the logits first) are left undeclared."""
    state = m.get("state")
    if state is None:
        return
    if not isinstance(state, list) or not state:
        raise bad("state", "must be a non-empty list of {input, output} pairs")
    ins = {s["name"]: s["shape"] for s in m["inputs"]}
    outs = {s["name"]: s.get("shape") for s in m["outputs"]}
    for i, pair in enumerate(state):
        if not isinstance(pair, dict) or set(pair) != {"input", "output"}:
            raise bad(f"state[{i}]", "must be an object with 'input' and 'output'")
        a, b = pair["input"], pair["output"]
        if a not in ins or b not in outs:
            raise bad(f"state[{i}]", f"names {a!r} -> {b!r}, not an input and an output")
        if ins[a] != outs[b]:
            raise bad(
                f"state[{i}]", f"state shape mismatch: input {a!r} {ins[a]}, output {b!r} {outs[b]}"
            )
    free_in = [n for n in ins if n not in {p["input"] for p in state}]
    free_out = [n for n in outs if n not in {p["output"] for p in state}]
    if len(free_in) != 1 or not free_out:
        raise bad(
            "state",
            f"must leave one frames input and the logits undeclared, leaves {free_in} and {free_out}",
        )


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


#: Files of an artifact folder that are not part of the artifact (not hashed, not checked).
NOT_HASHED = (MANIFEST, "export.log")
#: Bookkeeping a device cache writes into an artifact folder it keeps (edgevid/transports/bundle.py).
CACHE_MARKS = (".edgevid-label",)


def artifact_files(artifact_dir) -> dict:
    """``{relative path: sha256}`` of every file of the artifact (all but the manifest and log)."""
    d = Path(artifact_dir)
    return {
        p.relative_to(d).as_posix(): sha256_file(p)
        for p in sorted(d.rglob("*"))
        if p.is_file()
        and p.relative_to(d).as_posix() not in NOT_HASHED
        and p.name not in CACHE_MARKS
    }


def changed_files(artifact_dir, manifest: dict) -> list:
    """Relative paths of files that differ from the manifest: changed, missing or added."""
    d = Path(artifact_dir)
    expected = manifest.get("files")
    if expected is None:  # manifests before per-file hashes: the main file only
        main = d / manifest["file"]
        ok = main.exists() and sha256_file(main) == manifest["sha256"]
        return [] if ok else [manifest["file"]]
    now = artifact_files(d)
    return sorted(rel for rel in set(expected) | set(now) if expected.get(rel) != now.get(rel))


def manifest_digest(manifest: dict) -> str:
    """sha256 of the manifest's own content (all but this digest): build settings, reference."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def verify_file(artifact_dir, manifest: dict) -> None:
    """Raise ArtifactError if any file of the artifact is not the one the manifest describes."""
    digest = manifest.get("manifest_sha256")
    if digest is not None and digest != manifest_digest(manifest):
        raise ArtifactError(
            f"{Path(artifact_dir) / MANIFEST} was edited after export (its "
            f"content does not match manifest_sha256); export the model again"
        )
    changed = changed_files(artifact_dir, manifest)
    if changed:
        path = Path(artifact_dir) / changed[0]
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        raise ArtifactError(
            f"{path}{more} does not match the sha256 in its manifest (corrupt, "
            f"replaced or added); export the model again"
        )


def reference_input(shape, seed: int, dtype="float32") -> np.ndarray:
    """The fixed input every exporter and runner agrees on: standard normal from numpy's PCG64."""
    return np.random.default_rng(seed).standard_normal(tuple(shape)).astype(dtype)


def reference_inputs(manifest: dict) -> dict:
    """The seeded inputs of the numerics check; a stream artifact's state inputs are zeros (the
    state at a stream's start)."""
    seed = manifest["reference"]["seed"]
    state = {p["input"] for p in manifest.get("state") or ()}
    return {
        spec["name"]: np.zeros(spec["shape"], spec.get("dtype", "float32"))
        if spec["name"] in state
        else reference_input(spec["shape"], seed + i, spec.get("dtype", "float32"))
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
        return {
            "max_abs_diff": None,
            "top1_agree": None,
            "ok": None,
            "reason": "artifact has no reference output",
        }
    ref = np.asarray(ref_spec[0]["values"], dtype=np.float64).reshape(ref_spec[0]["shape"])
    out = np.asarray(outputs[0], dtype=np.float64)
    if out.shape != ref.shape:
        return {
            "max_abs_diff": None,
            "top1_agree": False,
            "ok": False,
            "reason": f"output shape {list(out.shape)} != reference {list(ref.shape)}",
        }
    diff = float(np.abs(out - ref).max())
    tol = tolerance(manifest, ref)
    flat_out, flat_ref = out.reshape(out.shape[0], -1), ref.reshape(ref.shape[0], -1)
    top1 = float(np.mean(flat_out.argmax(-1) == flat_ref.argmax(-1)))
    return {
        "max_abs_diff": diff,
        "tolerance": tol,
        "top1_agree": top1,
        "ok": bool(diff <= tol and top1 == 1.0),
        "reference": manifest["reference"].get("source", "pytorch"),
    }
