"""The study report: rankings, FLOPs/params vs latency (Spearman with a bootstrap CI), classes
against the CNN baselines, latency vs published accuracy, and every failed configuration.

Built from result records (and the study's plan: what input each model ran at), like every
other report; renders through the same renderers.
"""

from __future__ import annotations

from typing import Optional

from edgevid.report import figures as fig
from edgevid.analysis.stats import median_spread, spearman
from edgevid.report.build import (
    class_order,
    failures_table,
    results_report,
    top1_of,
)
from edgevid.report.columns import ci_text, input_cell, status_cell
from edgevid.report.facts import of_record
from edgevid.results.select import newest
from edgevid.report.model import Cell, Column, Report, Section, Table, Text

CNN = "cnn"


def _backend(r: dict) -> str:
    return f"{r['format']} {r['precision']}"


def _groups(records: list) -> list:
    """(device, backend, records) for every device x backend, sorted."""
    keys = sorted({(str(r.get("device")), _backend(r)) for r in records})
    return [
        (d, b, [r for r in records if str(r.get("device")) == d and _backend(r) == b])
        for d, b in keys
    ]


def ranking_table(device: str, backend: str, records: list) -> Table:
    ok = sorted(fig.timed(records), key=lambda r: r["summary"]["p50"])
    rest = [r for r in records if r not in ok]
    rows = []
    for i, r in enumerate(ok + rest, 1):
        f = of_record(r)
        s = r.get("summary") or {}
        p50 = Cell(f"{s['p50']:.2f}{ci_text(s)}", s["p50"]) if r in ok else Cell("—")
        rows.append(
            [
                Cell.of(i if r in ok else None),
                Cell(r["model"], r["model"]),
                Cell(f.arch_class, f.arch_class),
                input_cell(r),
                p50,
                Cell.of(f.gflops, 3),
                Cell.of(f.params / 1e6 if f.params else None, 2),
                Cell.of(f.top1, 1),
                status_cell(r),
            ]
        )
    cols = [
        Column("rank", "rank", True),
        Column("model", "model"),
        Column("class", "class"),
        Column("input", "input"),
        Column("p50", "p50 ms [95% CI]", True),
        Column("gflops", "GFLOPs (at input)", True),
        Column("params", "params M", True),
        Column("top1", "published top-1 %", True),
        Column("status", "status"),
    ]
    return Table(
        f"rank-{fig._slug(device)}-{fig._slug(backend)}",
        cols,
        rows,
        f"{device}, {backend}: models by median latency",
    )


def correlation_table(records: list) -> Table:
    rows = []
    for device, backend, rs in _groups(records):
        ok = fig.timed(rs)
        classes = sorted({of_record(r).arch_class for r in ok}, key=class_order)
        for group in ["all"] + classes:
            sel = [r for r in ok if group == "all" or of_record(r).arch_class == group]
            if group != "all" and len(sel) < 3:
                continue
            lat = [r["summary"]["p50"] for r in sel]
            gf = spearman([of_record(r).gflops for r in sel], lat)
            pa = spearman([of_record(r).params for r in sel], lat)
            rows.append(
                [
                    Cell(device),
                    Cell(backend),
                    Cell(group),
                    Cell.of(gf.n),
                    Cell(gf.text(), gf.rho, _tone(gf)),
                    Cell(pa.text(), pa.rho, _tone(pa)),
                ]
            )
    cols = [
        Column("device", "device"),
        Column("backend", "backend"),
        Column("group", "models"),
        Column("n", "n", True),
        Column("rho_gflops", "Spearman ρ GFLOPs–p50 [95% CI]", True),
        Column("rho_params", "Spearman ρ params–p50 [95% CI]", True),
    ]
    return Table(
        "correlation",
        cols,
        rows,
        "Spearman's rank correlation over models, 95% bootstrap CI (2000 resamples of "
        "the models, fixed seed); a class with fewer than 3 models is left out",
    )


def _tone(c) -> Optional[str]:
    if c.rho is None or c.ci_low is None:
        return "muted"
    return "warn" if c.ci_low <= 0 <= c.ci_high else None


def class_table(records: list) -> Table:
    rows = []
    for device, backend, rs in _groups(records):
        ok = fig.timed(rs)
        by_class: dict = {}
        for r in ok:
            by_class.setdefault(of_record(r).arch_class, []).append(r["summary"]["p50"])
        base = median_spread(by_class.get(CNN, []))["median"]
        for cls in sorted(by_class, key=class_order):
            m = median_spread(by_class[cls])
            slow = m["median"] / base if base else None
            rows.append(
                [
                    Cell(device),
                    Cell(backend),
                    Cell(cls),
                    Cell.of(m["n"]),
                    Cell.of(m["median"], 2),
                    Cell(f"{m['q1']:.2f}–{m['q3']:.2f}", m["q3"] - m["q1"]),
                    Cell(f"{m['min']:.2f}–{m['max']:.2f}", m["max"] - m["min"]),
                    Cell(
                        "—" if slow is None else f"{slow:.2f}×",
                        slow,
                        "bad" if slow and slow > 1.5 else None,
                    ),
                ]
            )
    cols = [
        Column("device", "device"),
        Column("backend", "backend"),
        Column("class", "class"),
        Column("n", "models", True),
        Column("median", "median p50 ms", True),
        Column("iqr", "IQR ms", True),
        Column("range", "range ms", True),
        Column("slowdown", "slowdown vs CNN", True),
    ]
    return Table(
        "classes",
        cols,
        rows,
        "slowdown = the class's median p50 / the CNN baselines' median p50 on the same "
        "device and backend (— without a CNN result)",
    )


def inputs_table(reductions: dict, records: list) -> Table:
    rows = []
    models = sorted(reductions.values(), key=lambda r: r.model)
    for red in models:
        rec = next((r for r in records if r["model"] == red.model), None)
        f = of_record(rec) if rec else None
        rows.append(
            [
                Cell(red.model),
                Cell(f.arch_class if f else "—"),
                Cell("x".join(map(str, red.default))),
                Cell("x".join(map(str, red.shape)), None, "warn" if red.reduced else None),
                Cell(red.text(), red.how, "warn" if red.reduced else None),
                Cell.of(f.gflops if f else None, 3),
                Cell.of(f.params / 1e6 if f and f.params else None, 2),
                Cell.of(f.top1 if f else None, 1, note=f.accuracy_note if f else ""),
            ]
        )
    cols = [
        Column("model", "model"),
        Column("class", "class"),
        Column("default", "default input"),
        Column("run", "input run"),
        Column("how", "reduction"),
        Column("gflops", "GFLOPs at input run", True),
        Column("params", "params M", True),
        Column("top1", "published top-1 %", True),
    ]
    return Table("inputs", cols, rows, "C×T×H×W; GFLOPs recounted at the input run")


def skipped_table(skipped: list) -> Optional[Table]:
    if not skipped:
        return None
    rows = [[Cell(d), Cell(f), Cell(why, why, "muted")] for d, f, why in skipped]
    return Table(
        "skipped",
        [
            Column("device", "device"),
            Column("format", "format or model"),
            Column("reason", "reason"),
        ],
        rows,
        "formats (or, in a stream study, models) asked for but not run",
    )


def study_report(
    records: list,
    reductions: Optional[dict] = None,
    skipped: Optional[list] = None,
    meta: Optional[list] = None,
    title: str = "Lightweight-transformer study",
    accuracy: Optional[dict] = None,
) -> Report:
    records, _ = newest(r for r in records if r.get("kind", "bench") == "bench")
    base = results_report(records, title, accuracy)
    report = Report(title, list(meta or []) + base.meta[:1], list(base.flags))
    reductions = reductions or {}
    reduced = [r for r in reductions.values() if r.reduced]
    if reduced:
        report.flags = []  # the line below says it, with what each model ran at
        scale = reduced[0].scale
        report.flags.insert(
            0,
            f"Reduced input (--input-scale {scale:g}): "
            + "; ".join(f"{r.model} {r.text()}" for r in reduced)
            + ". Every table and plot marks it; GFLOPs are counted at the "
            "input run.",
        )
    fixed = [r.model for r in reductions.values() if r.how.startswith("full")]
    if fixed:
        report.flags.append(
            "Ran at the default input (the model takes no other shape): " + ", ".join(fixed) + "."
        )
    if reductions:
        report.sections.append(Section("Inputs", [inputs_table(reductions, records)], id="inputs"))
    ranks = Section("Rankings by p50", id="rankings")
    for device, backend, rs in _groups(records):
        ranks.add(ranking_table(device, backend, rs))
    report.sections.append(ranks)
    report.sections.append(
        Section(
            "FLOPs and params vs latency",
            [
                Text(
                    [
                        "Does a lower FLOP count mean a faster model? ρ = 1: the GFLOPs ranking is the "
                        "latency ranking; ρ near 0: it says nothing. A CI that spans 0 is marked."
                    ]
                ),
                correlation_table(records),
            ]
            + [
                f
                for f in (
                    fig.flops_scatter(d, [r for r in records if str(r.get("device")) == d])
                    for d in _devices(records)
                )
                if f
            ],
            id="correlation",
        )
    )
    report.sections.append(
        Section("Classes vs the CNN baselines", [class_table(records)], id="classes")
    )
    top1 = top1_of(records, accuracy)
    pareto = [
        f
        for f in (
            fig.accuracy_pareto(d, [r for r in records if str(r.get("device")) == d], top1)
            for d in _devices(records)
        )
        if f
    ]
    report.sections.append(
        Section(
            "Latency vs published accuracy",
            pareto
            or [
                Text(
                    [
                        "No published top-1 accuracy for at least two measured models: nothing to plot."
                    ]
                )
            ],
            id="accuracy",
        )
    )
    fails = [
        b for b in (failures_table(records, "study-failures"), skipped_table(skipped or [])) if b
    ]
    report.sections.append(
        Section(
            "Failed or unsupported configurations",
            fails or [Text(["Every configuration ran."])],
            id="failures",
        )
    )
    allres = Section("All results", id="results")
    allres.add(*[s for s in base.sections if s.id not in ("failures", "how")])
    _drop_figures(allres, {f.id for f in report.figures()})
    report.sections.append(allres)
    report.sections.append(next(s for s in base.sections if s.id == "how"))
    if reduced:  # every table says so, not only those with an input column
        for t in report.tables():
            if t.id in ("correlation", "classes") or t.id.startswith("rank-"):
                t.caption = "REDUCED INPUT (see Inputs). " + t.caption
    report.data = base.data
    return report


def _drop_figures(section: Section, ids: set) -> None:
    """Remove figures already shown elsewhere in the report (and sections left empty)."""
    keep = []
    for b in section.blocks:
        if isinstance(b, Section):
            _drop_figures(b, ids)
            if not b.blocks:
                continue
        elif getattr(b, "id", None) in ids and b.__class__.__name__ == "Figure":
            continue
        keep.append(b)
    section.blocks = keep


def _devices(records: list) -> list:
    return sorted({str(r.get("device")) for r in records})
