"""A record as a row of the results index: the same columns in the SQLite file
(``store.Index``) and in a server database (``db.DbIndex``)."""

from __future__ import annotations

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
)


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
    }
