"""Where the time goes: rows for reports and `compare` from records' ``layers`` breakdowns.

A record made with ``edgevid bench --layers`` holds ``layers`` (see ``runners/layers``):
per layer its name, PyTorch module path, op class, the runtime's op type and time per inference,
plus the sum, the end-to-end latency it is checked against and the profiler's overhead. This
module turns that into plain rows (column names + lists of strings) for any renderer, a markdown
section, and the per-layer diff `edgevid compare` prints.
"""

from __future__ import annotations

from typing import Optional

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
TOP = 10


def _shape(shape) -> str:
    return "x".join(str(v) for v in (shape or ())[1:]) or "—"


def _f(v, digits: int = 2) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _pct(v: Optional[float], sign: bool = False) -> str:
    return "—" if v is None else (f"{v:+.1%}" if sign else f"{v:.1%}")


def with_layers(records: list) -> list:
    return [r for r in records if isinstance(r.get("layers"), dict)]


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


def _md(columns, rows) -> list:
    esc = [[str(c).replace("|", "\\|") for c in row] for row in rows]
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)] + [
        "| " + " | ".join(row) + " |" for row in esc
    ]


def markdown_section(records: list) -> str:
    """'Where the time goes' section of the markdown report ('' when no record has layers)."""
    recs = with_layers(records)
    if not recs:
        return ""
    lines = [
        "## Where the time goes (per layer)",
        "",
        (
            "Second run with the runtime's own profiler, after the timed run (the headline "
            "numbers are never profiled). Shares are of the summed layer time (per-layer "
            "medians). `sum / run`: the layers' total over the same profiled inference's time "
            "(median over inferences; bound ±15%); `sum / unprofiled`: summed layers over the "
            "median of unprofiled inferences run alternately with the profiled ones; `overhead`: "
            "how much slower an inference ran with the profiler on."
        ),
        "",
    ]
    lines += _md(SHARE_COLUMNS, share_rows(recs))
    for r in recs:
        if not (r["layers"].get("available") and r["layers"].get("layers")):
            continue
        lines += ["", f"### Ten slowest layers: {' / '.join(_ident(r))}", ""]
        lines += _md(SLOWEST_COLUMNS, slowest_rows(r))
    return "\n".join(lines) + "\n"


def layer_diffs(base: list, new: list, top: int = TOP) -> list:
    """Per configuration with a breakdown on both sides: op-class and per-layer changes."""
    from edgevid.results.select import comparable

    b, _ = comparable(with_layers(base))
    n, _ = comparable(with_layers(new))
    out = []
    for key in sorted(set(b) & set(n), key=lambda k: tuple(map(str, k))):
        lb, ln = b[key]["layers"], n[key]["layers"]
        if not (lb.get("available") and ln.get("available")):
            continue
        classes = []
        for c in OP_CLASSES:
            x, y = (lb.get("by_class") or {}).get(c, 0.0), (ln.get("by_class") or {}).get(c, 0.0)
            if x or y:
                classes.append({"op_class": c, "base_ms": x, "new_ms": y, "delta_ms": y - x})
        old = {x["name"]: x for x in lb.get("layers") or []}
        changed = []
        for x in ln.get("layers") or []:
            prev = old.pop(x["name"], None)
            base_ms = prev["ms"] if prev else 0.0
            changed.append(
                {
                    "name": x["name"],
                    "module": x.get("module"),
                    "op_class": x["op_class"],
                    "base_ms": base_ms,
                    "new_ms": x["ms"],
                    "delta_ms": x["ms"] - base_ms,
                    "only_in": None if prev else "new",
                }
            )
        changed += [
            {
                "name": x["name"],
                "module": x.get("module"),
                "op_class": x["op_class"],
                "base_ms": x["ms"],
                "new_ms": 0.0,
                "delta_ms": -x["ms"],
                "only_in": "base",
            }
            for x in old.values()
        ]
        changed.sort(key=lambda d: -d["delta_ms"])
        out.append(
            {
                "key": [*key[:3], key[4], list(key[5] or []), key[6]],  # no variant
                "base_sum_ms": lb.get("sum_ms"),
                "new_sum_ms": ln.get("sum_ms"),
                "by_class": classes,
                "slower_layers": changed[:top],
            }
        )
    return out


def print_layer_diffs(diffs: list, console) -> None:
    from rich.table import Table

    for d in diffs:
        k = d["key"]
        t = Table(
            title=f"layers that got slower: {k[0]} {k[1]} {k[2]} on {k[3]} "
            f"(sum {_f(d['base_sum_ms'])} -> {_f(d['new_sum_ms'])} ms)"
        )
        for c in ("layer", "module", "op class", "base ms", "new ms", "Δ ms"):
            t.add_column(c, overflow="fold")
        for x in d["slower_layers"]:
            t.add_row(
                str(x["name"])[:60],
                x.get("module") or "(model)",
                x["op_class"],
                f"{x['base_ms']:.3f}",
                f"{x['new_ms']:.3f}",
                f"{x['delta_ms']:+.3f}",
            )
        console.print(t)
        t = Table(title="by op class")
        for c in ("op class", "base ms", "new ms", "Δ ms"):
            t.add_column(c)
        for x in d["by_class"]:
            t.add_row(
                x["op_class"], f"{x['base_ms']:.3f}", f"{x['new_ms']:.3f}", f"{x['delta_ms']:+.3f}"
            )
        console.print(t)


def report_sections(records: list) -> list:
    """The report model's sections (edgevid.report): between-session spread, op-class shares and
    each configuration's ten slowest layers; every renderer (markdown, HTML, ...) shows them."""
    from edgevid.report.model import Cell, Column, Section, Table, Text
    from edgevid.report.sessions import SPREAD_COLUMNS, spread_rows

    def table(tid, columns, rows, caption=""):
        cols = [Column(c.replace(" ", "_"), c) for c in columns]
        return Table(tid, cols, [[Cell(str(v)) for v in row] for row in rows], caption)

    out = []
    spread = spread_rows(records)
    if spread:
        out.append(
            Section(
                "Between-session spread", [table("sessions", SPREAD_COLUMNS, spread)], id="sessions"
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
            table("layer-shares", SHARE_COLUMNS, share_rows(recs)),
        ]
        for i, r in enumerate(recs):
            if r["layers"].get("available") and r["layers"].get("layers"):
                blocks.append(
                    Section(
                        f"Ten slowest layers: {' / '.join(_ident(r))}",
                        [table(f"slowest-{i}", SLOWEST_COLUMNS, slowest_rows(r))],
                    )
                )
        out.append(Section("Where the time goes (per layer)", blocks, id="layers"))
    return out
