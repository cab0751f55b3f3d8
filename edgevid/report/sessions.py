"""Rows for reports and `compare`: between-session spread and the session method's verdicts,
as column names + rows of strings, and as report-model tables that every renderer shows."""

from __future__ import annotations

import math
from typing import Optional

from edgevid.report.model import Cell, Column, Table

SPREAD_COLUMNS = (
    "model",
    "format",
    "precision",
    "device",
    "input",
    "threads",
    "sessions",
    "within-run p50 [95% CI]",
    "median of session medians [CI]",
    "CI coverage",
    "session CV",
    "session medians ms",
)
VERDICT_COLUMNS = (
    "model",
    "format",
    "precision",
    "device",
    "input",
    "threads",
    "sessions b/n",
    "base ms",
    "new ms",
    "change",
    "CI of ratio",
    "U p",
    "KS p",
    "verdict",
)


def _f(v, digits: int = 2) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _shape(shape) -> str:
    return "x".join(str(v) for v in (shape or ())[1:]) or "—"


def _pct(v: Optional[float]) -> str:
    return "—" if v is None else f"{v:+.1%}"


def spread_rows(records: list) -> list:
    """One row per record with more than one session."""
    rows = []
    for r in records:
        ss = r.get("session_summary") or {}
        if ss.get("n_sessions", 0) < 2:
            continue
        s = r.get("summary") or {}
        rows.append(
            [
                str(r.get("model")),
                str(r.get("format")),
                str(r.get("precision")),
                str(r.get("device")),
                _shape(r.get("input_shape")),
                str(r.get("threads") or "default"),
                str(ss["n_sessions"]),
                f"{_f(s.get('p50'))} [{_f(s.get('ci95_low'))}–{_f(s.get('ci95_high'))}]",
                (f"{_f(ss.get('median'))} [{_f(ss.get('ci95_low'))}–{_f(ss.get('ci95_high'))}]"),
                f"{ss.get('ci_confidence', 0):.0%}",
                "—" if ss.get("cv") is None else f"{ss['cv']:.1%}",
                ", ".join(_f(m) for m in ss.get("medians") or []),
            ]
        )
    return rows


def verdict_rows(verdicts: dict) -> list:
    """Rows for ``session_stats.compare_session_records`` output (key -> verdict)."""
    rows = []
    for key in sorted(verdicts, key=lambda k: tuple(map(str, k))):
        v = verdicts[key]
        model, fmt, prec, device, shape, threads = key
        ci = (
            f"{_f(v.get('ci_low'), 3)}–{_f(v.get('ci_high'), 3)}"
            if v.get("ci_low") is not None
            else "—"
        )
        rows.append(
            [
                str(model),
                str(fmt),
                str(prec),
                str(device),
                _shape(shape),
                str(threads or "default"),
                f"{v['n_base']}/{v['n_new']}",
                _f(v.get("base_median")),
                _f(v.get("new_median")),
                _pct(v["ratio"] - 1) if v.get("ratio") is not None else "—",
                ci,
                _f(v.get("p_mannwhitney"), 3),
                _f(v.get("p_ks"), 3),
                f"{v['verdict']}: {v.get('reason', '')}",
            ]
        )
    return rows


def verdict_table(verdicts: dict) -> Table:
    """The session method's verdicts as a report-model table: fail bad, pass good."""
    tone = {"fail": "bad", "pass": "good", "inconclusive": "warn"}
    rows = []
    for key, row in zip(sorted(verdicts, key=lambda k: tuple(map(str, k))), verdict_rows(verdicts)):
        t = tone.get(verdicts[key]["verdict"])
        rows.append([Cell(v, v, t) for v in row])
    columns = [Column(c.replace(" ", "_"), c) for c in VERDICT_COLUMNS]
    return Table("session-verdicts", columns, rows)
