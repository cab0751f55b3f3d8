"""Render a report's data table (one row per result, every summary field) as CSV."""

from __future__ import annotations

import csv
import io

from edgevid.report.model import Report, Table


def table(t: Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([c.key for c in t.columns])
    for row in t.rows:
        w.writerow(["" if c.value is None else c.value for c in row])
    return buf.getvalue()


def render(report: Report) -> str:
    if report.data is None:
        tables = report.tables()
        if not tables:
            return ""
        return table(tables[0])
    return table(report.data)
