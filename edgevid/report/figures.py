"""Figure data from result records: plain lists and dicts (see ``edgevid.report.svg`` for the
drawings). Only ``ok`` results with samples take part; a figure with nothing to show is not made.
"""

from __future__ import annotations

from typing import Optional, Union

from edgevid.analysis.stats import box_stats, pareto_front, spearman
from edgevid.report.facts import of_record
from edgevid.report.model import Figure, Text

#: Iterations of each run in the warm-up trace: the whole warm-up and the start of the timed run.
TRACE_TIMED = 60
REDUCED = " (reduced input)"


def timed(records: list) -> list:
    return [
        r
        for r in records
        if r.get("status") == "ok" and r.get("samples_ms") and (r.get("summary") or {}).get("p50")
    ]


def label(r: dict) -> str:
    return f"{r['model']} · {r['format']} {r['precision']}"


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in str(text)).strip("-").lower()


def _reduced(records: list) -> bool:
    return any(of_record(r).reduced for r in records)


def fastest_per_model(records: list) -> dict:
    """model -> its fastest ok record (lowest p50 over formats)."""
    best: dict = {}
    for r in timed(records):
        if r["model"] not in best or r["summary"]["p50"] < best[r["model"]]["summary"]["p50"]:
            best[r["model"]] = r
    return best


def distribution(device: str, records: list) -> Optional[Figure]:
    rs = sorted(timed(records), key=lambda r: (r["summary"]["p50"], label(r)))
    if not rs:
        return None
    items = [
        {"label": label(r), "class": of_record(r).arch_class, **box_stats(r["samples_ms"])}
        for r in rs
    ]
    red = _reduced(rs)
    return Figure(
        f"dist-{_slug(device)}",
        "distribution",
        f"Latency distribution on {device}" + (REDUCED if red else ""),
        {"device": device, "items": items, "reduced": red},
        "Per model and format, from the raw samples: box = quartiles, whiskers = the "
        "most extreme sample within 1.5 IQR, dot = p99. Log scale.",
    )


def flops_scatter(device: str, records: list) -> Optional[Union[Figure, Text]]:
    rs = [r for r in timed(records) if of_record(r).gflops]
    if not rs:
        return None
    if len({r["model"] for r in rs}) < 2:  # one point says nothing: a sentence says it all
        r = min(rs, key=lambda r: r["summary"]["p50"])
        return Text(
            [
                f"Latency vs GFLOPs on {device}: one model only ({r['model']}, "
                f"{of_record(r).gflops:.2f} GFLOPs, p50 {r['summary']['p50']:.2f} ms on "
                f"{r['format']}); the plot needs two or more."
            ]
        )
    points = [
        {
            "model": r["model"],
            "format": r["format"],
            "class": of_record(r).arch_class,
            "x": of_record(r).gflops,
            "y": r["summary"]["p50"],
        }
        for r in rs
    ]
    rho = {}
    for fmt in sorted({p["format"] for p in points}):
        ps = [p for p in points if p["format"] == fmt]
        rho[fmt] = spearman([p["x"] for p in ps], [p["y"] for p in ps]).text()
    red = _reduced(rs)
    return Figure(
        f"flops-{_slug(device)}",
        "scatter",
        f"Latency vs GFLOPs on {device}" + (REDUCED if red else ""),
        {
            "device": device,
            "points": points,
            "rho": rho,
            "reduced": red,
            "x_label": "GFLOPs at the input run (log)",
            "y_label": "p50 latency, ms (log)",
        },
        "Spearman's rank correlation per format (95% bootstrap CI over models): "
        + "; ".join(f"{k}: {v}" for k, v in rho.items()),
    )


def accuracy_pareto(device: str, records: list, top1: dict) -> Optional[Figure]:
    """Latency (fastest format per model) against published top-1, the Pareto front marked."""
    best = fastest_per_model(records)
    pts = [
        {
            "model": m,
            "format": r["format"],
            "class": of_record(r).arch_class,
            "latency": r["summary"]["p50"],
            "top1": top1[m],
        }
        for m, r in sorted(best.items())
        if top1.get(m) is not None
    ]
    if len(pts) < 2:
        return None
    front = pareto_front([p["latency"] for p in pts], [p["top1"] for p in pts])
    red = _reduced([best[p["model"]] for p in pts])
    return Figure(
        f"pareto-{_slug(device)}",
        "pareto",
        f"Latency vs published top-1 on {device}" + (REDUCED if red else ""),
        {"device": device, "points": pts, "front": front, "reduced": red},
        "Each model at its fastest format; the line joins the Pareto front (no model "
        "is both faster and more accurate). Front: "
        + ", ".join(pts[i]["model"] for i in front)
        + ".",
    )


def heatmap(records: list) -> Optional[Union[Figure, Text]]:
    devices = sorted({r.get("device") for r in timed(records)}, key=str)
    if not devices:
        return None
    best = {d: fastest_per_model([r for r in records if r.get("device") == d]) for d in devices}
    models = sorted(
        {m for b in best.values() for m in b}, key=lambda m: (_class_order(m, records), m)
    )
    if len(models) * len(devices) == 1:  # a 1x1 grid: say it in words
        r = best[devices[0]][models[0]]
        return Text(
            [
                f"One model on one device: {models[0]} on {devices[0]}, fastest on "
                f"{r['format']}, p50 {r['summary']['p50']:.2f} ms."
            ]
        )
    values = [
        [(best[d][m]["summary"]["p50"] if m in best[d] else None) for d in devices] for m in models
    ]
    notes = [[(best[d][m]["format"] if m in best[d] else "") for d in devices] for m in models]
    red = _reduced([r for b in best.values() for r in b.values()])
    return Figure(
        "heatmap",
        "heatmap",
        "p50 latency, device × model" + (REDUCED if red else ""),
        {
            "rows": models,
            "cols": devices,
            "values": values,
            "notes": notes,
            "classes": [_class_of(m, records) for m in models],
            "reduced": red,
        },
        "Each cell: the model's fastest format on that device (named in the cell), "
        "p50 in ms; colour on a log scale; blank: no ok result.",
    )


def _class_of(model: str, records: list) -> str:
    r = next(r for r in records if r.get("model") == model)
    return of_record(r).arch_class


def _class_order(model: str, records: list) -> int:
    from edgevid.models.registry import ARCH_CLASSES

    c = _class_of(model, records)
    return ARCH_CLASSES.index(c) if c in ARCH_CLASSES else len(ARCH_CLASSES)


def warmup_trace(device: str, records: list) -> Optional[Figure]:
    rs = sorted(timed(records), key=label)
    series = []
    for r in rs:
        warm = list(r.get("warmup_ms") or [])
        p50 = r["summary"]["p50"]
        vals = [v / p50 for v in warm + list(r["samples_ms"][:TRACE_TIMED])]
        series.append(
            {"label": label(r), "warmup": len(warm), "values": [round(v, 3) for v in vals]}
        )
    if not series:
        return None
    return Figure(
        f"trace-{_slug(device)}",
        "trace",
        f"Warm-up trace on {device}" + (REDUCED if _reduced(rs) else ""),
        {"device": device, "series": series, "timed_shown": TRACE_TIMED},
        f"Iteration times in order, each run divided by its p50: the warm-up "
        f"iterations, then the first {TRACE_TIMED} timed ones (the dot marks where "
        f"timing began).",
    )
