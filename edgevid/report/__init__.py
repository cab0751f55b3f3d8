"""Reports built from result records only; nothing is re-run.

One model (``model``: rows, groups, figures), built once (``build``, ``tables``, the study in
``study_report``), and one renderer per output: ``to_terminal`` (rich), ``to_markdown``,
``to_html`` (self-contained, inline SVG plots from ``svg``), ``to_csv``, ``to_json``. Every table
of results takes its cells from ``columns``: a new column or report type is added in one place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from edgevid.report.build import load_records, results_report
from edgevid.report.model import Cell, Column, Figure, Report, Section, Table, Text

FORMATS = ("md", "html", "csv", "json")


def render(report: Report, fmt: str) -> str:
    """The report as text in ``fmt``: md, html, csv or json."""
    from edgevid.report import to_csv, to_html, to_json, to_markdown

    renderers = {
        "md": to_markdown.render,
        "html": to_html.render,
        "csv": to_csv.render,
        "json": to_json.render,
    }
    return renderers[fmt](report)


def write(report: Report, path, fmt: Optional[str] = None) -> Path:
    """Write ``report`` to ``path`` atomically; ``fmt`` defaults to the file's suffix."""
    from edgevid.runners.record import write_atomic

    path = Path(path)
    fmt = fmt or {".markdown": "md", ".htm": "html"}.get(path.suffix, path.suffix.lstrip("."))
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r} (one of {', '.join(FORMATS)})")
    write_atomic(path, render(report, fmt))
    return path


def markdown(records: list, title: str = "edgevid report") -> str:
    """The markdown report of ``records`` (grouped by device, then model class)."""
    return render(results_report(records, title), "md")


def write_markdown(records: list, path, title: Optional[str] = None) -> None:
    write(results_report(records, title or "edgevid report"), path, "md")


__all__ = [
    "Cell",
    "Column",
    "Figure",
    "Report",
    "Section",
    "Table",
    "Text",
    "load_records",
    "markdown",
    "render",
    "results_report",
    "write",
    "write_markdown",
]
