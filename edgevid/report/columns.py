"""The columns of a result row, defined once: every table of results (the markdown and HTML
report, the terminal table after `edgevid bench`, CSV) takes its cells from here. A new column is
one :class:`ResultColumn` in :data:`RESULT_COLUMNS`; ``views`` says where it shows.

``FLAT_FIELDS`` is the CSV/JSON row: every summary field as raw values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, FrozenSet

from edgevid.report.facts import of_record
from edgevid.report.model import Cell, Column, Table
from edgevid.results.select import numerics_failed, scenario_key

#: Views: "report" (grouped markdown/HTML tables), "terminal" (the table after a bench).
REPORT, TERMINAL = "report", "terminal"
BOTH = frozenset({REPORT, TERMINAL})


def _variant_cell(r: dict) -> Cell:
    """The variant, and a stream run's scenario label (both part of the identity)."""
    parts = [p for p in (r.get("variant"), scenario_key(r)) if p]
    return Cell(" · ".join(parts) or "—", " · ".join(parts) or None)


@dataclass(frozen=True)
class ResultColumn:
    key: str
    label: str
    cell: Callable[[dict], Cell]
    numeric: bool = False
    views: FrozenSet[str] = BOTH
    help: str = ""
    wide: bool = False  # in the terminal only with --wide (a pipe gets 100 columns)
    narrow: bool = False  # in the terminal only without --wide (a short form of a wide column)

    def column(self) -> Column:
        return Column(self.key, self.label, self.numeric, self.help)


def _summary(r: dict) -> dict:
    return r.get("summary") or {}


def short_reason(reason: str, limit: int = 120) -> str:
    reason = " ".join((reason or "").split())
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


def status_cell(r: dict) -> Cell:
    status = r.get("status")
    if numerics_failed(r):
        return Cell("ok, numerics FAIL", status, "bad", "ran, but outside the numerics tolerance")
    if status == "ok":
        stop = r.get("stop_reason")
        if stop not in (None, "converged"):
            return Cell(
                f"ok ({stop})",
                status,
                "warn",
                f"stopped by the {stop} before the CI target was met",
            )
        return Cell("ok", status, "good")
    reason = r.get("reason") or ""
    return Cell(
        f"{status}: {short_reason(reason)}" if reason else str(status), status, "bad", reason
    )


def input_cell(r: dict) -> Cell:
    from edgevid.results.store import shape_label

    text = shape_label(r.get("input_shape")) or "—"  # C x T x H x W, batch in front when not 1
    f = of_record(r)
    if f.reduced:
        return Cell(text + " (reduced)", text, "warn", f.shape_note)
    return Cell(text, text)


def precision_cell(r: dict) -> Cell:
    prec = r.get("precision") or "—"
    used = (r.get("runtime_settings") or {}).get("INFERENCE_PRECISION_HINT")
    return Cell(f"{prec} (runs {used})" if used else prec, prec)


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def ci_text(s: dict) -> str:
    """' [lo–hi]' of a summary, or ' [no CI, n=1]' where the run had too few samples."""
    if _finite(s.get("ci95_low")) and _finite(s.get("ci95_high")):
        return f" [{s['ci95_low']:.2f}–{s['ci95_high']:.2f}]"
    return f" [no CI, n={s.get('n', '?')}]" if s else ""


def ci_cell(r: dict) -> Cell:
    s = _summary(r)
    if not _finite(s.get("ci95_low")):
        return Cell("—")
    return Cell(f"{s['ci95_low']:.2f}–{s['ci95_high']:.2f}", s["ci95_low"])


def p50_cell(r: dict) -> Cell:
    s = _summary(r)
    if s.get("p50") is None:
        return Cell("—")
    return Cell(f"{s['p50']:.2f}{ci_text(s)}", s["p50"])


def numerics_cell(r: dict) -> Cell:
    n = r.get("numerics") or {}
    if n.get("max_abs_diff") is None:
        return Cell("—")
    detail = f"Δ {n['max_abs_diff']:.1e}, top-1 {n.get('top1_agree', 0):.0%}"
    if n.get("ok"):
        return Cell(f"ok ({detail})", "ok", "good")
    tol = n.get("tolerance")
    return Cell(
        f"FAIL ({detail})",
        "fail",
        "bad",
        f"outside tolerance {tol:.1e}" if tol is not None else "outside tolerance",
    )


def numerics_short_cell(r: dict) -> Cell:
    """The numerics cell in few characters, for a narrow terminal: ``ok Δ3.9e-05``."""
    full = numerics_cell(r)
    n = r.get("numerics") or {}
    if n.get("max_abs_diff") is None:
        return full
    word = "ok" if n.get("ok") else "FAIL"
    return Cell(f"{word} Δ{n['max_abs_diff']:.1e}", full.value, full.tone, full.note)


def throttled_cell(r: dict) -> Cell:
    t = r.get("throttled")
    if t is None:
        return Cell("n/a", None, "muted", r.get("throttle_reason") or "not readable")
    return Cell("yes", True, "bad", r.get("throttle_reason") or "") if t else Cell("no", False)


def _size_mb(r: dict):
    b = r.get("artifact_bytes")
    return b / 2**20 if b else None


def _params_m(r: dict):
    p = of_record(r).params
    return p / 1e6 if p is not None else None


RESULT_COLUMNS = (
    ResultColumn("model", "model", lambda r: Cell(str(r.get("model")), r.get("model"))),
    ResultColumn(
        "class",
        "class",
        lambda r: Cell(of_record(r).arch_class or "—", of_record(r).arch_class),
        False,
        frozenset({TERMINAL}),
        "the study class (the markdown and HTML reports group by it)",
        wide=True,
    ),
    ResultColumn("format", "format", lambda r: Cell(str(r.get("format")), r.get("format"))),
    ResultColumn("precision", "precision", precision_cell),
    ResultColumn(
        "variant",
        "variant",
        lambda r: _variant_cell(r),
        help="runtime options that tell two runs of one format apart; a stream run's scenario",
        wide=True,
    ),
    ResultColumn("input", "input", input_cell, help="CxTxHxW (BxCxTxHxW when the batch is not 1)"),
    ResultColumn("threads", "threads", lambda r: Cell.of(r.get("threads") or "default")),
    ResultColumn("status", "status", status_cell),
    ResultColumn(
        "p50",
        "p50 ms [95% CI]",
        p50_cell,
        True,
        frozenset({REPORT}),
        "median latency with the order-statistic 95% CI",
    ),
    ResultColumn(
        "p50_only", "p50 ms", lambda r: Cell.of(_summary(r).get("p50")), True, frozenset({TERMINAL})
    ),
    ResultColumn("ci", "95% CI of p50", ci_cell, False, frozenset({TERMINAL}), wide=True),
    ResultColumn("p90", "p90", lambda r: Cell.of(_summary(r).get("p90")), True, wide=True),
    ResultColumn("p99", "p99", lambda r: Cell.of(_summary(r).get("p99")), True),
    ResultColumn(
        "n", "n", lambda r: Cell.of(_summary(r).get("n")), True, help="timed iterations", wide=True
    ),
    ResultColumn(
        "load",
        "load ms",
        lambda r: Cell.of(r.get("load_ms"), 1),
        True,
        help="model load / compile",
        wide=True,
    ),
    ResultColumn(
        "cold",
        "cold start ms",
        lambda r: Cell.of(r.get("first_inference_ms"), 1),
        True,
        frozenset({REPORT}),
        "the first inference, kept out of the samples",
    ),
    ResultColumn("rss", "peak RSS MB", lambda r: Cell.of(r.get("peak_rss_mb"), 0), True),
    ResultColumn("size", "size MB", lambda r: Cell.of(_size_mb(r), 2), True, frozenset({REPORT})),
    ResultColumn("numerics", "numerics", numerics_cell, wide=True),
    ResultColumn(
        "numerics_short",
        "numerics",
        numerics_short_cell,
        False,
        frozenset({TERMINAL}),
        "ok or FAIL and the max abs difference (top-1 agreement with --wide)",
        narrow=True,
    ),
    ResultColumn("throttled", "throttled", throttled_cell, False, frozenset({REPORT})),
    ResultColumn(
        "params", "params M", lambda r: Cell.of(_params_m(r), 2), True, frozenset({REPORT})
    ),
    ResultColumn(
        "gflops",
        "GFLOPs",
        lambda r: Cell.of(of_record(r).gflops, 3),
        True,
        frozenset({REPORT}),
        "multiply-adds at the input run",
    ),
)


def result_table(
    records: list, view: str, table_id: str, caption: str = "", wide: bool = True
) -> Table:
    """The results as a table for ``view``; ``wide=False`` leaves out the terminal's wide
    columns (class, variant, CI, p90, n, load)."""
    cols = [
        c
        for c in RESULT_COLUMNS
        if view in c.views and (c.narrow != wide or not (c.wide or c.narrow))
    ]
    return Table(
        table_id, [c.column() for c in cols], [[c.cell(r) for c in cols] for r in records], caption
    )


# -- the flat row: CSV and JSON ------------------------------------------------------------------

SUMMARY_FIELDS = (
    "n",
    "mean",
    "std",
    "min",
    "p50",
    "p90",
    "p95",
    "p99",
    "max",
    "ci95_low",
    "ci95_high",
    "ci95_rel_halfwidth",
    "outliers",
)


def flat_row(r: dict) -> dict:
    f = of_record(r)
    s, n, env = _summary(r), r.get("numerics") or {}, r.get("env") or {}
    shape = r.get("input_shape") or []
    row = {
        "model": r.get("model"),
        "class": f.arch_class,
        "format": r.get("format"),
        "precision": r.get("precision"),
        "variant": r.get("variant"),
        "scenario": scenario_key(r),
        "device": r.get("device"),
        "input_shape": "x".join(map(str, shape)),
        "reduced_input": f.reduced,
        "threads": r.get("threads"),
        "status": r.get("status"),
        "reason": r.get("reason") or "",
    }
    row.update({f"summary_{k}": s.get(k) for k in SUMMARY_FIELDS})
    row.update(
        load_ms=r.get("load_ms"),
        first_inference_ms=r.get("first_inference_ms"),
        peak_rss_mb=r.get("peak_rss_mb"),
        artifact_bytes=r.get("artifact_bytes"),
        numerics_max_abs_diff=n.get("max_abs_diff"),
        numerics_top1_agree=n.get("top1_agree"),
        numerics_ok=n.get("ok"),
        throttled=r.get("throttled"),
        stop_reason=r.get("stop_reason"),
        warmup_iters=r.get("warmup_iters"),
        params=f.params,
        gflops=f.gflops,
        published_top1=f.top1,
        host=env.get("host"),
        cpu_model=env.get("cpu_model"),
        git_revision=env.get("git_revision"),
        created_at=r.get("created_at"),
        result_path=r.get("result_path"),
    )
    return row


def flat_table(records: list, table_id: str = "data") -> Table:
    rows = [flat_row(r) for r in records]
    keys = list(rows[0]) if rows else list(flat_row({}))
    cols = [
        Column(k, k, numeric=k.startswith("summary_") or k.endswith(("_ms", "_mb", "bytes")))
        for k in keys
    ]
    return Table(
        table_id,
        cols,
        [[Cell("" if v is None else str(v), v) for v in row.values()] for row in rows],
    )
