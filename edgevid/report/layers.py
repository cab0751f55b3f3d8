"""Where the time goes: rows for reports and `compare` from records' ``layers`` breakdowns.

A record made with ``edgevid bench --layers`` holds ``layers`` (see ``runners/layers``):
per layer its name, PyTorch module path, op class, the runtime's op type and time per inference,
plus the sum, the end-to-end latency it is checked against and the profiler's overhead. This
module turns that into rows and report-model tables: the report's sections, and the tables of the
per-layer diff (``edgevid.analysis.layers``) that `edgevid compare` prints.
"""

from __future__ import annotations

from typing import Optional

from edgevid.analysis.layers import TOP, with_layers
from edgevid.report.model import Cell, Column, Section, Table, Text
from edgevid.report.sessions import SPREAD_COLUMNS, spread_rows
from edgevid.runners.layers.opclass import OP_CLASSES

SHARE_COLUMNS = (
    "model",
    "format",
    "precision",
    "device",
    "input",
    "profiler",
    "layers",
    "sum ms",
    "unprofiled ms",
    "sum / run",
    "sum / unprofiled",
    "overhead",
) + OP_CLASSES
SLOWEST_COLUMNS = ("rank", "layer", "module", "op class", "op type", "ms", "share")


def _shape(shape) -> str:
    return "x".join(str(v) for v in (shape or ())[1:]) or "—"


def _f(v, digits: int = 2) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _pct(v: Optional[float], sign: bool = False) -> str:
    return "—" if v is None else (f"{v:+.1%}" if sign else f"{v:.1%}")


def _ident(r: dict) -> list:
    return [
        str(r.get("model")),
        str(r.get("format")),
        str(r.get("precision")),
        str(r.get("device")),
        _shape(r.get("input_shape")),
    ]


def share_rows(records: list) -> list:
    """One row per record with a breakdown: share of the summed layer time by op class."""
    rows = []
    for r in with_layers(records):
        lay = r["layers"]
        if not lay.get("available"):
            rows.append(
                _ident(r)
                + [f"not available: {lay.get('reason', '')}"]
                + ["—"] * (len(SHARE_COLUMNS) - 6)
            )
            continue
        shares = lay.get("shares") or {}
        ratio = lay.get("sum_ratio")
        rows.append(
            _ident(r)
            + [
                str(lay.get("profiler")),
                str(len(lay.get("layers") or [])),
                _f(lay.get("sum_ms")),
                _f(lay.get("end_to_end_ms")),
                (_f(ratio) + ("" if lay.get("within_bound") else " **outside ±15%**"))
                if ratio is not None
                else "—",
                _f(lay.get("sum_vs_unprofiled")),
                _pct(lay.get("overhead"), sign=True),
            ]
            + [_pct(shares.get(c)) for c in OP_CLASSES]
        )
    return rows


def slowest_rows(record: dict, top: int = TOP) -> list:
    lay = record.get("layers") or {}
    layers = sorted(lay.get("layers") or [], key=lambda x: -x["ms"])[:top]
    total = lay.get("sum_ms") or 0
    return [
        [
            str(i + 1),
            str(x["name"])[:80],
            x.get("module") or "(model)",
            x["op_class"],
            str(x.get("op_type")),
            f"{x['ms']:.3f}",
            _pct(x["ms"] / total if total else None),
        ]
        for i, x in enumerate(layers)
    ]


def report_sections(records: list) -> list:
    """The report model's sections (edgevid.report): between-session spread, op-class shares and
    each configuration's ten slowest layers; every renderer (markdown, HTML, ...) shows them."""
    out = []
    spread = spread_rows(records)
    if spread:
        out.append(
            Section(
                "Between-session spread",
                [_table("sessions", SPREAD_COLUMNS, spread)],
                id="sessions",
            )
        )
    recs = with_layers(records)
    if recs:
        blocks = [
            Text(
                [
                    "Second run with the runtime's own profiler, after the timed run. "
                    "`sum / run`: layers over the same profiled inference (bound ±15%); "
                    "`sum / unprofiled`: over unprofiled inferences run alternately."
                ]
            ),
            _table("layer-shares", SHARE_COLUMNS, share_rows(recs)),
        ]
        for i, r in enumerate(recs):
            if r["layers"].get("available") and r["layers"].get("layers"):
                blocks.append(
                    Section(
                        f"Ten slowest layers: {' / '.join(_ident(r))}",
                        [_table(f"slowest-{i}", SLOWEST_COLUMNS, slowest_rows(r))],
                    )
                )
        out.append(Section("Where the time goes (per layer)", blocks, id="layers"))
    return out


def _table(tid: str, columns, rows, caption: str = "") -> Table:
    cols = [Column(c.replace(" ", "_"), c) for c in columns]
    return Table(tid, cols, [[Cell(str(v)) for v in row] for row in rows], caption)


def diff_tables(diffs: list) -> list:
    """``(title, table)`` per configuration: the layers that got slower, then by op class."""
    out = []
    for i, d in enumerate(diffs):
        k = d["key"]
        rows = [
            [
                str(x["name"])[:60],
                x.get("module") or "(model)",
                x["op_class"],
                f"{x['base_ms']:.3f}",
                f"{x['new_ms']:.3f}",
                f"{x['delta_ms']:+.3f}",
            ]
            for x in d["slower_layers"]
        ]
        title = (
            f"layers that got slower: {k[0]} {k[1]} {k[2]} on {k[3]} "
            f"(sum {_f(d['base_sum_ms'])} -> {_f(d['new_sum_ms'])} ms)"
        )
        layer_cols = ("layer", "module", "op class", "base ms", "new ms", "Δ ms")
        out.append((title, _table(f"layer-diff-{i}", layer_cols, rows)))
        by_class = [
            [x["op_class"], f"{x['base_ms']:.3f}", f"{x['new_ms']:.3f}", f"{x['delta_ms']:+.3f}"]
            for x in d["by_class"]
        ]
        class_cols = ("op class", "base ms", "new ms", "Δ ms")
        out.append(("by op class", _table(f"class-diff-{i}", class_cols, by_class)))
    return out
