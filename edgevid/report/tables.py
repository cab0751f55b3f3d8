"""Report-model tables for `edgevid compare` (one row per pair) and the op-support matrix (a
model x format grid, the failing op in each cell)."""

from __future__ import annotations

import math
from typing import Iterable, Optional

from edgevid.report.model import Cell, Column, Report, Section, Table, Text

# -- compare --------------------------------------------------------------------------------------

COMPARE_COLUMNS = (
    ("model", "model", False),
    ("format", "format", False),
    ("precision", "precision", False),
    ("device", "device", False),
    ("input", "input", False),
    ("threads", "threads", True),
    ("base_p50", "base p50 ms", True),
    ("new_p50", "new p50 ms", True),
    ("change", "change", True),
    ("ci", "95% CI of ratio", False),
    ("p", "p", True),
    ("n", "n base/new", False),
    ("verdict", "verdict", False),
)


def _shape(shape) -> str:
    return "x".join(str(v) for v in (shape or ())[1:]) or "—"


def _nan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def compare_table(pairs: Iterable, table_id: str = "compare") -> Table:
    from edgevid.analysis.compare import FASTER, SLOWER

    tone = {SLOWER: "bad", FASTER: "good"}
    rows = []
    for p in pairs:
        ci = "—" if _nan(p.ci_low) else f"{p.ci_low:.3f}–{p.ci_high:.3f}"
        change = None if _nan(p.ratio) else (p.ratio - 1) * 100
        pv = (
            "—"
            if _nan(p.p_value)
            else (f"{p.p_value:.1e}" if p.p_value < 1e-3 else f"{p.p_value:.3f}")
        )
        fmt = str(p.format) + (f" [{p.variant}]" if getattr(p, "variant", "") else "")
        rows.append(
            [
                Cell(str(p.model), p.model),
                Cell(fmt, p.format),
                Cell(str(p.precision), p.precision),
                Cell(str(p.device), p.device),
                Cell(_shape(p.input_shape)),
                Cell.of(p.threads),
                Cell.of(p.base_p50, 3),
                Cell.of(p.new_p50, 3),
                Cell("—" if change is None else f"{change:+.1f}%", change, tone.get(p.label)),
                Cell(ci, None if _nan(p.ci_low) else p.ci_low),
                Cell(pv, None if _nan(p.p_value) else p.p_value),
                Cell(f"{p.n_base}/{p.n_new}", p.n_new),
                Cell(p.label, p.label, tone.get(p.label)),
            ]
        )
    return Table(
        table_id,
        [Column(k, label, num) for k, label, num in COMPARE_COLUMNS],
        rows,
        "ratio = median(new) / median(base); 95% bootstrap CI; two-sided Mann-Whitney p",
    )


def unpaired_table(unpaired: Iterable, table_id: str = "unpaired") -> Optional[Table]:
    rows = [
        [
            Cell(u.side),
            Cell(str(u.model)),
            Cell(str(u.format)),
            Cell(str(u.precision)),
            Cell(str(u.device)),
            Cell(str(u.status)),
            Cell(u.reason, u.reason, "muted"),
        ]
        for u in unpaired
    ]
    if not rows:
        return None
    keys = ("side", "model", "format", "precision", "device", "status", "reason")
    return Table(table_id, [Column(k, k) for k in keys], rows, "records that took no part")


def compare_report(
    pairs: list,
    unpaired: list,
    title: str = "edgevid compare",
    failing: Optional[list] = None,
    threshold: Optional[float] = None,
) -> Report:
    sec = Section("Pairs", [compare_table(pairs)], id="pairs")
    report = Report(title, [f"{len(pairs)} paired configuration(s), {len(unpaired)} unpaired."])
    if threshold is not None:
        report.meta.append(
            f"Gate: fail a pair slower by more than {threshold:.0%} (CI lower "
            f"bound); {len(failing or [])} failing."
        )
    report.sections.append(sec)
    un = unpaired_table(unpaired)
    if un:
        report.sections.append(Section("Unpaired", [un], id="unpaired"))
    return report


# -- op-support matrix ----------------------------------------------------------------------------

SYMBOL = {
    "ok": "✓",
    "numerics": "⚠ numerics",
    "converted": "◐ converted",
    "unsupported": "– not installed",
    "export-failed": "✗ export",
    "run-failed": "✗ run",
}
TONE = {
    "ok": "good",
    "numerics": "warn",
    "converted": "muted",
    "unsupported": "muted",
    "export-failed": "bad",
    "run-failed": "bad",
}
LEGEND = (
    "✓ converted and numerically matches PyTorch · ⚠ runs, outside tolerance · "
    "◐ converted and validated, runs on another platform · ✗ failed (op named where "
    "the message names one)"
)


def matrix_table(records: list, table_id: str = "matrix") -> Table:
    """The op-support grid: one row per model, one column per (format, precision)."""
    from edgevid.backends import names
    from edgevid.analysis.ops import cell

    cells = [cell(r) for r in records]
    order = {n: i for i, n in enumerate(names())}
    cols = sorted(
        {(c["format"], c["precision"]) for c in cells},
        key=lambda fp: (order.get(fp[0], len(order)), fp[1]),
    )
    by = {(c["model"], c["format"], c["precision"]): c for c in cells}
    rows = []
    for m in sorted({c["model"] for c in cells}):
        row = [Cell(m, m)]
        for f, p in cols:
            c = by.get((m, f, p))
            if c is None:
                row.append(Cell("", None))
                continue
            text = SYMBOL[c["verdict"]] + (f" ({c['op']})" if c["op"] else "")
            row.append(Cell(text, c["verdict"], TONE[c["verdict"]], c["note"]))
        rows.append(row)
    columns = [Column("model", "model")] + [Column(f"{f}-{p}", f"{f} {p}") for f, p in cols]
    return Table(table_id, columns, rows, LEGEND)


def matrix_notes(records: list) -> Text:
    from edgevid.analysis.ops import cell

    notes = [cell(r) for r in records]
    return Text(
        [
            f"{c['model']} / {c['format']} {c['precision']}: {SYMBOL[c['verdict']]} — {c['note']}"
            for c in notes
            if c["verdict"] != "ok"
        ],
        bullets=True,
    )


def matrix_report(records: list, title: str = "Op-support matrix") -> Report:
    blocks: list = [matrix_table(records)]
    notes = matrix_notes(records)
    if notes.lines:
        blocks.append(Section("Notes", [notes]))
    return Report(
        title,
        [f"{len(records)} model x format cell(s)."],
        sections=[Section("Matrix", blocks, id="matrix")],
    )


def matrix_markdown(records: list) -> str:
    """The op-support grid and its notes as markdown (through the report model)."""
    from edgevid.report import to_markdown

    table = matrix_table(records)
    table.caption = ""
    notes = matrix_notes(records)
    parts = [to_markdown.table(table)]
    if notes.lines:
        parts += ["Notes:", to_markdown.text(notes)]
    return "\n\n".join(parts + [LEGEND])
