"""The one definition of a result's identity, and the choices every reader of records makes.

A result is identified by (model, format, precision, variant, device, input shape incl. batch,
threads): the variant is the runtime and exporter options (an execution provider, a delegate,
``calibration=2``). Everything that pairs, indexes, reuses or names results uses :func:`identity`:
``compare``, the session and layer comparisons, the reports, the study's reuse of results on disk.
"""

from __future__ import annotations

from typing import Iterable, Optional

IDENTITY_FIELDS = ("model", "format", "precision", "variant", "device", "input_shape", "threads")
#: The position of ``variant`` in an identity: a failure record made before the runtime options
#: were known carries none, and matches on the other fields alone (:func:`without_variant`).
_VARIANT = IDENTITY_FIELDS.index("variant")


def identity(record: dict) -> tuple:
    """A record's identity, in the order of :data:`IDENTITY_FIELDS`."""
    shape = record.get("input_shape")
    return (
        record.get("model"),
        record.get("format"),
        record.get("precision"),
        record.get("variant") or "",
        record.get("device"),
        tuple(shape) if shape is not None else None,
        record.get("threads"),
    )


def without_variant(key: tuple) -> tuple:
    """An identity with its variant left out."""
    return key[:_VARIANT] + key[_VARIANT + 1 :]


def short_key(key: tuple) -> list:
    """An identity as JSON output shows it: [model, format, precision, device, input, threads]."""
    k = dict(zip(IDENTITY_FIELDS, key))
    shape = k["input_shape"]
    return [k["model"], k["format"], k["precision"], k["device"], list(shape or []), k["threads"]]


def numerics_failed(record: dict) -> bool:
    """The run worked, but its outputs are outside tolerance of PyTorch's (``FAIL``)."""
    return record.get("status") == "ok" and (record.get("numerics") or {}).get("ok") is False


def is_timed(record: dict) -> bool:
    """A run that worked and kept its samples (the matrix's check runs keep none)."""
    return record.get("status") == "ok" and bool(record.get("samples_ms"))


def _newest_first_order(records: list) -> list:
    """Indices oldest to newest: by ``created_at`` where present, then by load order."""
    return sorted(range(len(records)), key=lambda i: (records[i].get("created_at") or "", i))


def newest(records: Iterable[dict]) -> tuple:
    """The newest record per identity, and how many older ones it superseded."""
    records = list(records)
    chosen: dict = {}
    for i in _newest_first_order(records):
        chosen[identity(records[i])] = records[i]
    return list(chosen.values()), len(records) - len(chosen)


NUMERICS_REASON = "numerics outside tolerance (FAIL): not compared"
SUPERSEDED_REASON = "superseded by a newer record with the same key"


def comparable(records: Iterable[dict]) -> tuple:
    """What a comparison may use: the newest timed record per identity whose numerics did not
    fail. Returns ``(by_identity, left_out)``, ``left_out`` being ``(record, reason)`` pairs."""
    records = list(records)
    chosen: dict = {}
    left_out: list = []
    for i in _newest_first_order(records):
        record = records[i]
        reason: Optional[str] = None
        if not is_timed(record):
            status = record.get("status")
            reason = "not timed (no samples_ms)" if status == "ok" else f"status {status!r}"
        elif numerics_failed(record):  # a wrong output is no baseline, and no candidate either
            reason = NUMERICS_REASON
        if reason:
            left_out.append((record, reason))
            continue
        key = identity(record)
        if key in chosen:
            left_out.append((chosen[key], SUPERSEDED_REASON))
        chosen[key] = record
    return chosen, left_out
