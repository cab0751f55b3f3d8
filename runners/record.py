"""The result record: one JSON object per (model, format, precision, device, input shape, threads).

Keys other tools rely on are fixed (add more, rename none): schema_version, model, format,
precision, device, input_shape, threads, status, reason, samples_ms, summary, load_ms,
first_inference_ms, peak_rss_mb, artifact_bytes, numerics, env.
"""
from __future__ import annotations

import os
from pathlib import Path

SCHEMA_VERSION = 1
STATUSES = ("ok", "unsupported", "export-failed", "error")
SUMMARY_KEYS = ("mean", "std", "min", "p50", "p90", "p95", "p99", "max", "ci95_low", "ci95_high")
REQUIRED_KEYS = ("schema_version", "model", "format", "precision", "device", "input_shape",
                 "threads", "status", "reason", "samples_ms", "summary", "load_ms",
                 "first_inference_ms", "peak_rss_mb", "artifact_bytes", "numerics", "env")


class Unsupported(Exception):
    """This runtime cannot run here (e.g. Core ML off macOS): recorded as status 'unsupported'."""


def new_record(**fields) -> dict:
    """A record with every required key present (None where not measured), then ``fields``."""
    record: dict = {key: None for key in REQUIRED_KEYS}
    record.update(schema_version=SCHEMA_VERSION, samples_ms=[], summary={}, numerics={}, env={},
                  reason="")
    unknown_status = fields.get("status") not in (None, *STATUSES)
    if unknown_status:
        raise ValueError(f"status must be one of {STATUSES}, got {fields['status']!r}")
    record.update(fields)
    return record


def write_atomic(path, text: str) -> None:
    """Write ``text`` so that ``path`` is either the old file, the whole new one, or absent."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
