"""Render the report model as JSON: sections, tables (cells with text, value, tone, note),
figures with their data. NaN and infinities become null."""

from __future__ import annotations

import json
import math

from edgevid.report.model import Report


def _clean(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def to_obj(report: Report) -> dict:
    return _clean(report.to_dict())


def render(report: Report) -> str:
    return json.dumps(to_obj(report), indent=1, default=str) + "\n"
