"""Export orchestration: model -> exporter -> artifact folder with artifact.json.

Artifacts live in ``artifacts/<model>/<format>-<precision>[-<[B]xCxTxHxW>]/``. A folder is reused
only when its cache key matches (the model reference, the weights' sha256, every source file of the
user's package the model's module pulled in, or the zoo family file, the exporter options, the
converter versions, the upstream artifact it was converted from) AND every file of it still has the
sha256 its manifest records; otherwise it is rebuilt and the log says why. Each export writes into
a temporary folder that is renamed into place at the end, so a failed or interrupted export leaves
nothing half-written (and no empty folders). Converter output goes to ``export.log`` beside the
artifact (see :mod:`edgevid.artifacts.chatter`).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from edgevid import __version__
from edgevid.artifacts import chatter
from edgevid.backends import Backend, check_precision, get_backend
from edgevid.artifacts.cache import (
    cache_key,
    source_sha256,
    stale_reason,
    sweep_stale,
    user_sources,
)
from edgevid.errors import UserError
from edgevid.exporters.base import OUTPUT_NAME, ExportJob
from edgevid.models.ref import ModelRef, build_torch_model
from edgevid.outputs import inside, slug
from edgevid.runners.artifact import (
    MANIFEST,
    MANIFEST_VERSION,
    artifact_files,
    load_manifest,
    manifest_digest,
    reference_inputs,
    sha256_file,
)

REFERENCE_SEED = 1234
#: Relative tolerance of the numerics check, by precision (times max(1, |reference| max)).
RTOL = {"fp32": 1e-3, "fp16": 3e-2, "int8": 1e-1, "int8-dynamic": 1e-1}
DEFAULT_ROOT = Path("artifacts")
LOG_NAME = "export.log"
FAILED_LOGS = ".logs"  # under the artifact root: the converter output of failed exports


class ExportFailed(Exception):
    """The converter could not produce the format; the message names the step and the cause."""

    exit_code = 1  # 2 when the converter is not installed (nothing ran)

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def options_tag(options: Optional[dict]) -> str:
    """The exporter options as a folder-name part (``conv3d-native``, ``calibration-clips``), so
    artifacts made with different options live side by side instead of replacing each other."""
    parts = []
    for key, value in sorted((options or {}).items()):
        if isinstance(value, str) and os.sep in value:
            value = Path(value).stem  # a file option: its name, not its folder
        parts.append(f"{key}-{value}")
    return "_".join(parts)


def artifact_dir(
    root: Path, ref: ModelRef, backend: Backend, precision: str, options: Optional[dict] = None
) -> Path:
    tag = f"{backend.name}-{precision}" + ("" if ref.default_shape else f"-{ref.shape_tag}")
    extra = options_tag(options)
    return inside(root, Path(root) / slug(ref.name) / slug(tag + (f"_{extra}" if extra else "")))


def _exporter(backend: Backend):
    return importlib.import_module(f"edgevid.exporters.{backend.exporter}")


def _remove_if_empty(*folders: Path) -> None:
    for d in folders:
        try:
            d.rmdir()
        except OSError:
            pass


def export(
    ref: ModelRef,
    fmt: str,
    precision: Optional[str] = None,
    root: Path = DEFAULT_ROOT,
    force: bool = False,
    log: Callable[[str], None] = lambda msg: None,
    _model_cache: Optional[dict] = None,
    options: Optional[dict] = None,
) -> Path:
    """Make (or reuse) the artifact of ``ref`` in ``fmt``; return its folder.

    ``options`` are the exporter's options (e.g. the LiteRT conv3d rewrite); they reach the
    exporter as ``ExportJob.options`` and are part of the cache key."""
    backend = get_backend(fmt)
    precision = check_precision(backend, precision or backend.precisions[0])
    options = dict(options or {})
    root = Path(root)
    out_dir = artifact_dir(root, ref, backend, precision, options)
    created = [d for d in (root, out_dir.parent) if not d.exists()]
    sweep_stale(out_dir.parent)
    fd, pre = tempfile.mkstemp(prefix="edgevid-export-", suffix=".log")
    os.close(fd)
    pre_log = Path(pre)
    try:
        with chatter.captured(pre_log):
            exporter, versions = _load_exporter(backend)
        if ref.kind == "onnx" and backend.source == "torch" and backend.name != "onnx":
            raise ExportFailed(
                f"{ref.ref} is an ONNX file: format {backend.name!r} needs the PyTorch model",
                exit_code=2,
            )
        cache = _model_cache if _model_cache is not None else {}
        job = ExportJob(
            ref=ref,
            precision=precision,
            out_dir=out_dir,
            file_name=backend.file_name,
            options=options,
        )
        if backend.source != "torch":
            job.upstream_dir = export(
                ref, backend.source, None, root, force=False, log=log, _model_cache=cache
            )
            job.upstream_manifest = load_manifest(job.upstream_dir)
        key = cache_key(ref, versions, options, job.upstream_manifest)
        reason = stale_reason(out_dir, key)
        if not force and reason is None and out_dir.is_dir():
            log(f"reusing {out_dir}")
            return out_dir
        log(
            f"re-exporting {ref.name} to {backend.name} {precision}: {reason}"
            if reason
            else f"exporting {ref.name} to {backend.name} {precision}"
        )
        return _export_into(job, backend, exporter, versions, key, cache, out_dir, pre_log, root)
    except BaseException:
        _remove_if_empty(*reversed(created))
        raise
    finally:
        pre_log.unlink(missing_ok=True)


def _load_exporter(backend: Backend):
    try:
        exporter = _exporter(backend)
    except ImportError as e:
        raise ExportFailed(f"cannot load the {backend.name} exporter: {e}", exit_code=2) from e
    try:
        return exporter, exporter.versions()
    except ImportError as e:
        raise ExportFailed(
            f"the {backend.name} converter is not installed ({e.name}); install "
            f"it with: pip install 'edgevid[{backend.extra}]'",
            exit_code=2,
        ) from e


def _export_into(
    job: ExportJob,
    backend: Backend,
    exporter,
    versions: dict,
    key: dict,
    cache: dict,
    out_dir: Path,
    pre_log: Path,
    root: Path,
) -> Path:
    tmp = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    job.out_dir = tmp
    log_path = tmp / LOG_NAME
    shutil.copyfile(pre_log, log_path)
    t0 = time.perf_counter()
    try:
        with chatter.captured(log_path):
            if backend.source == "torch" and job.ref.kind != "onnx":
                if "model" not in cache:
                    cache["model"] = build_torch_model(job.ref.to_dict())
                job.model = cache["model"]
            files = exporter.export(job)
            export_s = time.perf_counter() - t0
            if job.ref.kind == "callable":  # modules the callable imported while building
                key = {**key, "sources": user_sources(job.ref)}
            manifest = _manifest(job, backend, files, versions, export_s, cache)
            manifest["cache_key"] = key
            manifest["options"] = key["options"]
            manifest["files"] = artifact_files(tmp)
            manifest["manifest_sha256"] = manifest_digest(manifest)
            _write_json(tmp / MANIFEST, manifest)
    except BaseException as e:
        kept = _keep_failed_log(log_path, root, out_dir)
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, (ExportFailed, UserError)) or not isinstance(e, Exception):
            raise  # KeyboardInterrupt / SystemExit: the temporary folder is gone
        first = next((ln for ln in str(e).splitlines() if ln.strip()), "")
        where = f" (converter output: {kept})" if kept else ""
        raise ExportFailed(
            f"{backend.name} export of {job.ref.name} failed: {type(e).__name__}: {first}"[:1500]
            + where
        ) from e
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return out_dir


def _keep_failed_log(log_path: Path, root: Path, out_dir: Path) -> Optional[Path]:
    """Move a failed export's converter output to ``<root>/.logs/<model>.<tag>.export.log``."""
    try:
        if not log_path.is_file() or log_path.stat().st_size == 0:
            return None
        dest = root / FAILED_LOGS / f"{out_dir.parent.name}.{out_dir.name}.{LOG_NAME}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(log_path), str(dest))
        return dest
    except OSError:
        return None


def _manifest(
    job: ExportJob, backend: Backend, files, versions: dict, export_s: float, cache: dict
) -> dict:
    path = job.out_dir / job.file_name
    size = sum(
        p.stat().st_size for p in job.out_dir.rglob("*") if p.is_file() and p.name != LOG_NAME
    )
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
        manifest["converted_from"] = {
            "format": job.upstream_manifest["format"],
            "sha256": job.upstream_manifest["sha256"],
        }
    else:
        reference = _reference(job, manifest, cache)
    reference["rtol"] = RTOL[job.precision]
    manifest["reference"] = reference
    if not manifest["outputs"]:
        manifest["outputs"] = [
            {"name": o["name"], "shape": o["shape"], "dtype": "float32"}
            for o in reference["outputs"]
        ]
    return manifest


def _reference(job: ExportJob, manifest: dict, cache: dict) -> dict:
    """The fixed seeded input's output from PyTorch (or ONNX Runtime for a user's .onnx file)."""
    probe = {
        "inputs": manifest["inputs"],
        "state": manifest.get("state"),  # a stream model's state: zeros (a stream's start)
        "reference": {"seed": REFERENCE_SEED},
    }
    inputs = reference_inputs(probe)
    if job.model is not None:
        import torch

        with torch.no_grad():
            out = job.model(*(torch.from_numpy(v) for v in inputs.values()))
        outs = [o.numpy() for o in (out if isinstance(out, (list, tuple)) else [out])]
        source = "pytorch"
    else:
        import onnxruntime as ort

        sess = ort.InferenceSession(
            str(job.out_dir / job.file_name), providers=["CPUExecutionProvider"]
        )
        outs, source = sess.run(None, inputs), "onnxruntime"
    if manifest.get("state"):  # the logits only: the next state is checked by the stream tests
        outs = outs[:1]
    names = [o["name"] for o in manifest["outputs"]] or [OUTPUT_NAME]
    return {
        "seed": REFERENCE_SEED,
        "source": source,
        "outputs": [
            {
                "name": n,
                "shape": list(np.shape(o)),
                "values": np.asarray(o, dtype=np.float32).ravel().tolist(),
            }
            for n, o in zip(names, outs)
        ],
    }


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1))
