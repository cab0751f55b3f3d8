"""The result record: one JSON object per (model, format, precision, device, input shape, threads).

Keys other tools rely on are fixed (add more, rename none): schema_version, model, format,
precision, device, input_shape, threads, status, reason, samples_ms, summary, load_ms,
first_inference_ms, peak_rss_mb, artifact_bytes, numerics, env.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

SCHEMA_VERSION = 1
STATUSES = ("ok", "unsupported", "export-failed", "error")
SUMMARY_KEYS = ("mean", "std", "min", "p50", "p90", "p95", "p99", "max", "ci95_low", "ci95_high")
REQUIRED_KEYS = (
    "schema_version",
    "model",
    "format",
    "precision",
    "device",
    "input_shape",
    "threads",
    "status",
    "reason",
    "samples_ms",
    "summary",
    "load_ms",
    "first_inference_ms",
    "peak_rss_mb",
    "artifact_bytes",
    "numerics",
    "env",
)


class Unsupported(Exception):
    """This runtime cannot run here (e.g. Core ML off macOS): recorded as status 'unsupported'."""


def new_record(**fields) -> dict:
    """A record with every required key present (None where not measured), then ``fields``."""
    record: dict = {key: None for key in REQUIRED_KEYS}
    record.update(
        schema_version=SCHEMA_VERSION, samples_ms=[], summary={}, numerics={}, env={}, reason=""
    )
    unknown_status = fields.get("status") not in (None, *STATUSES)
    if unknown_status:
        raise ValueError(f"status must be one of {STATUSES}, got {fields['status']!r}")
    record.update(fields)
    return record


def record_for_artifact(manifest: dict, threads, **fields) -> dict:
    """A new record about running the artifact ``manifest`` describes: its model, format,
    precision, frame input's shape, size and sha256 filled in, then ``fields``. The runner and
    every transport that measures with another tool (adb, trtexec over ssh, by hand) start here."""
    from .state import frames_input

    return new_record(
        model=manifest["model"],
        format=manifest["format"],
        precision=manifest["precision"],
        input_shape=list(frames_input(manifest)["shape"]),
        threads=threads,
        artifact_bytes=manifest.get("bytes"),
        artifact_sha256=manifest["sha256"],
        **fields,
    )


class OutputPathError(ValueError):
    """An output path that edgevid will not write: not a regular file, or not writable."""


def output_target(path) -> Path:
    """Where writing ``path`` lands: a symlink's final target (so the link is kept), checked to
    be a regular file or a new path in a folder (or a folder that can be created).
    Raises OutputPathError otherwise: FIFOs, devices, sockets and folders are never replaced."""
    path = Path(path)
    target = Path(os.path.realpath(path))
    if target.exists() or target.is_symlink():
        mode = target.stat().st_mode
        if not stat.S_ISREG(mode):
            kind = (
                "a folder"
                if stat.S_ISDIR(mode)
                else "a FIFO"
                if stat.S_ISFIFO(mode)
                else "a device"
                if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket"
                if stat.S_ISSOCK(mode)
                else "not a regular file"
            )
            raise OutputPathError(f"{path} is {kind}, not a regular file; give a file path")
        if not os.access(str(target), os.W_OK):
            raise OutputPathError(f"{path} is not writable")
        return target
    parent = target.parent
    while not parent.exists():  # the first folder that exists must be a writable folder
        parent = parent.parent
    if not parent.is_dir():
        raise OutputPathError(f"cannot create {path}: {parent} is a file, not a folder")
    if not os.access(str(parent), os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot create {path}: {parent} is not writable")
    return target


def write_atomic(path, text: str) -> None:
    """Write ``text`` so that ``path`` is either the old file, the whole new one, or absent.
    A symlink is written through (its target is replaced, the link stays); anything that is not
    a regular file or a new path is refused (OutputPathError)."""
    path = output_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
