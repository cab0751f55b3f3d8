"""A record as a row of the results index: the same columns in the SQLite file
(``store.Index``) and in a server database (``db.DbIndex``)."""

from __future__ import annotations

import json
from pathlib import Path

from edgevid.results.select import scenario_key
from edgevid.runners.settings import strict_dumps

#: The index's columns (SQLite and a server database alike): the identity, the
#: summary a listing shows, and the whole record as JSON.
COLUMNS = (
    "path",
    "schema_version",
    "model",
    "format",
    "precision",
    "device",
    "input_shape",
    "threads",
    "status",
    "p50",
    "mean",
    "ci95_low",
    "ci95_high",
    "created_at",
    "json",
    "variant",
    "scenario",
    "git_revision",
)
#: Fills the git_revision column of rows indexed before it existed (:func:`revision_updates`).
BACKFILL_REVISION = "UPDATE results SET git_revision = :rev WHERE id = :id"


def revision_updates(rows) -> list:
    """``(id, json)`` rows -> the parameters of :data:`BACKFILL_REVISION`, one per row."""
    out = []
    for row_id, text in rows:
        try:
            rev = (json.loads(text).get("env") or {}).get("git_revision")
        except (TypeError, ValueError, AttributeError):
            rev = None
        out.append({"id": row_id, "rev": rev})
    return out


def index_row(path: Path, record: dict) -> dict:
    """A record as a row of the index (column -> value), for every database behind --db."""
    s = record.get("summary") or {}
    return {
        "path": str(Path(path).resolve()),
        "schema_version": record["schema_version"],
        "model": record["model"],
        "format": record["format"],
        "precision": record["precision"],
        "device": record["device"],
        "input_shape": "x".join(map(str, record.get("input_shape") or [])),
        "threads": record.get("threads"),
        "status": record["status"],
        "p50": s.get("p50"),
        "mean": s.get("mean"),
        "ci95_low": s.get("ci95_low"),
        "ci95_high": s.get("ci95_high"),
        "created_at": record.get("created_at"),
        "json": strict_dumps(record),
        "variant": record.get("variant") or "",
        "scenario": scenario_key(record),
        "git_revision": (record.get("env") or {}).get("git_revision"),
    }
