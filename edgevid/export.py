"""Export orchestration: model -> exporter -> artifact folder with artifact.json.

Artifacts live in ``artifacts/<model>/<format>-<precision>[-<CxTxHxW>]/``. A folder is reused
when its manifest says it was made from the same model reference, shape, weights and converter
versions; otherwise it is rebuilt. Each export writes into a temporary folder that is renamed into
place at the end, so a failed or interrupted export leaves nothing half-written.
"""
from __future__ import annotations

import importlib
import json
import os
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from edgevid import __version__
from edgevid.backends import Backend, check_precision, get_backend
from edgevid.exporters.base import OUTPUT_NAME, ExportJob
from edgevid.modelref import ModelRef, build_torch_model
from edgevid.runners.artifact import (MANIFEST, MANIFEST_VERSION, ArtifactError, load_manifest,
                                      reference_inputs, sha256_file)

REFERENCE_SEED = 1234
#: Relative tolerance of the numerics check, by precision (times max(1, |reference| max)).
RTOL = {"fp32": 1e-3, "fp16": 3e-2, "int8": 1e-1, "int8-dynamic": 1e-1}
DEFAULT_ROOT = Path("artifacts")


class ExportFailed(Exception):
    """The converter could not produce the format; the message names the step and the cause."""


def artifact_dir(root: Path, ref: ModelRef, backend: Backend, precision: str) -> Path:
    tag = f"{backend.name}-{precision}" + ("" if ref.default_shape else f"-{ref.shape_tag}")
    return Path(root) / ref.name / tag


def _exporter(backend: Backend):
    return importlib.import_module(f"edgevid.exporters.{backend.exporter}")


def source_sha256(ref: ModelRef) -> Optional[str]:
    """Hash of what the model is built from: the family's source file (zoo), the user's module,
    or the .onnx file itself. A change to it makes cached artifacts stale."""
    import inspect

    if ref.kind == "onnx":
        return sha256_file(ref.ref)
    if ref.kind == "zoo":
        from edgevid.models import get_spec

        path = inspect.getsourcefile(get_spec(ref.ref).builder)
    else:
        module = importlib.import_module(ref.ref.partition(":")[0])
        path = getattr(module, "__file__", None)
    return sha256_file(path) if path else None


def _is_current(out_dir: Path, ref: ModelRef, versions: dict, options: dict) -> bool:
    try:
        m = load_manifest(out_dir)
    except ArtifactError:
        return False
    same_source = m.get("source_model") == json.loads(json.dumps(ref.to_dict()))
    return (same_source and m.get("converters") == versions
            and m.get("options", {}) == json.loads(json.dumps(options))
            and m.get("source_sha256") == source_sha256(ref))


def export(ref: ModelRef, fmt: str, precision: Optional[str] = None,
           root: Path = DEFAULT_ROOT, force: bool = False,
           log: Callable[[str], None] = lambda msg: None, _model_cache: Optional[dict] = None,
           options: Optional[dict] = None) -> Path:
    """Make (or reuse) the artifact of ``ref`` in ``fmt``; return its folder.

    ``options`` are the exporter's options (e.g. the LiteRT conv3d rewrite); they reach the
    exporter as ``ExportJob.options`` and are part of the cache key."""
    options = dict(options or {})
    backend = get_backend(fmt)
    precision = check_precision(backend, precision or backend.precisions[0])
    try:
        exporter = _exporter(backend)
    except ImportError as e:
        raise ExportFailed(f"cannot load the {backend.name} exporter: {e}") from e
    if ref.kind == "onnx" and backend.source == "torch" and backend.name != "onnx":
        raise ExportFailed(f"{ref.ref} is an ONNX file: format {backend.name!r} needs the PyTorch "
                           f"model")
    try:
        versions = exporter.versions()
    except ImportError as e:
        raise ExportFailed(f"the {backend.name} converter is not installed ({e.name}); install "
                           f"it with: pip install 'edgevid[{backend.extra}]'") from e
    out_dir = artifact_dir(root, ref, backend, precision)
    if not force and _is_current(out_dir, ref, versions, options):
        log(f"reusing {out_dir}")
        return out_dir

    cache = _model_cache if _model_cache is not None else {}
    job = ExportJob(ref=ref, precision=precision, out_dir=out_dir, file_name=backend.file_name,
                    options=options)
    if backend.source == "torch":
        if ref.kind != "onnx":
            if "model" not in cache:
                cache["model"] = build_torch_model(ref.to_dict())
            job.model = cache["model"]
    else:
        job.upstream_dir = export(ref, backend.source, None, root, force=False, log=log,
                                  _model_cache=cache)
        job.upstream_manifest = load_manifest(job.upstream_dir)

    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    job.out_dir = tmp
    log(f"exporting {ref.name} to {backend.name} {precision}")
    t0 = time.perf_counter()
    try:
        files = exporter.export(job)
        export_s = time.perf_counter() - t0
        manifest = _manifest(job, backend, files, versions, export_s, cache)
        _write_json(tmp / MANIFEST, manifest)
    except Exception as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, (ExportFailed, KeyboardInterrupt)):
            raise
        first = next((ln for ln in str(e).splitlines() if ln.strip()), "")
        raise ExportFailed(f"{backend.name} export of {ref.name} failed: "
                           f"{type(e).__name__}: {first}"[:1500]) from e
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return out_dir


def _manifest(job: ExportJob, backend: Backend, files, versions: dict, export_s: float,
              cache: dict) -> dict:
    path = job.out_dir / job.file_name
    size = sum(p.stat().st_size for p in job.out_dir.rglob("*") if p.is_file())
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "model": job.ref.name,
        "format": backend.name,
        "precision": job.precision,
        "runner": backend.runner,
        "file": job.file_name,
        "inputs": files.inputs,
        "outputs": files.outputs,
        "bytes": size,
        "sha256": sha256_file(path),
        "source_model": job.ref.to_dict(),
        "source_sha256": source_sha256(job.ref),
        "converters": versions,
        "edgevid_version": __version__,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "export_s": round(export_s, 3),
        "options": job.options,
        **files.extra,
    }
    if job.upstream_manifest is not None:
        reference = dict(job.upstream_manifest["reference"])
        manifest["converted_from"] = {"format": job.upstream_manifest["format"],
                                      "sha256": job.upstream_manifest["sha256"]}
    else:
        reference = _reference(job, manifest, cache)
    reference["rtol"] = RTOL[job.precision]
    manifest["reference"] = reference
    if not manifest["outputs"]:
        manifest["outputs"] = [{"name": o["name"], "shape": o["shape"], "dtype": "float32"}
                               for o in reference["outputs"]]
    return manifest


def _reference(job: ExportJob, manifest: dict, cache: dict) -> dict:
    """The fixed seeded input's output from PyTorch (or ONNX Runtime for a user's .onnx file)."""
    probe = {"inputs": manifest["inputs"], "reference": {"seed": REFERENCE_SEED}}
    inputs = reference_inputs(probe)
    if job.model is not None:
        import torch

        with torch.no_grad():
            out = job.model(*(torch.from_numpy(v) for v in inputs.values()))
        outs, source = [o.numpy() for o in (out if isinstance(out, (list, tuple)) else [out])], "pytorch"
    else:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(job.out_dir / job.file_name),
                                    providers=["CPUExecutionProvider"])
        outs, source = sess.run(None, inputs), "onnxruntime"
    names = [o["name"] for o in manifest["outputs"]] or [OUTPUT_NAME]
    return {
        "seed": REFERENCE_SEED,
        "source": source,
        "outputs": [{"name": n, "shape": list(np.shape(o)),
                     "values": np.asarray(o, dtype=np.float32).ravel().tolist()}
                    for n, o in zip(names, outs)],
    }


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1))
