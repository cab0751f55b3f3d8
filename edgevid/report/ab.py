"""The report of an A/B run (``edgevid ab``): the verdict in words, both sides, and a plot of
the per-round ratios over time beside each side's block medians. Built from the stored record."""

from __future__ import annotations

import math

from edgevid.analysis import ab as stats
from edgevid.analysis import ab_words
from edgevid.report.model import Cell, Column, Figure, Report, Section, Table, Text


def _summary(ab: dict) -> stats.Summary:
    s = ab["summary"]

    def num(key: str) -> float:
        v = s.get(key)
        return float("nan") if v is None else float(v)

    return stats.Summary(
        verdict=s.get("verdict"),
        ratio=num("ratio"),
        ci_low=num("ci_low"),
        ci_high=num("ci_high"),
        margin=num("margin"),
        rounds=int(s["rounds"]),
        trials=int(s["trials"]),
        base_p50=num("base_p50"),
        new_p50=num("new_p50"),
        per_trial_ratio=list(s.get("per_trial_ratio") or []),
        confidence=float(s.get("confidence") or stats.CONFIDENCE),
        decision_confidence=float(s.get("decision_confidence") or stats.DECISION_CONFIDENCE),
        decision_ci_low=num("decision_ci_low"),
        decision_ci_high=num("decision_ci_high"),
        fail_above=s.get("fail_above"),
        gate=s.get("gate"),
    )


def ab_report(record: dict, key: str = "ab") -> Report:
    """The report of one ab record; ``key`` prefixes its ids (several in one page)."""
    ab = record["ab"]
    s = _summary(ab)
    sides = ab["sides"]
    lines = [
        ab_words.in_words(s),
        *([ab_words.gate_words(s, ab.get("stop_reason"))] if s.fail_above is not None else []),
        f"Stopped: {ab['stop_reason']} after {ab['seconds']:.0f} s "
        f"({ab['plan']['block_s']} s blocks, {ab['plan']['rounds_per_trial']} rounds per trial).",
    ]
    load = ab.get("load") or []
    if load and load[-1].get("loadavg"):
        lines.append(
            "Machine load (1-min load average, start to end): "
            + " → ".join(f"{x['loadavg'][0]:.2f}" for x in load if x.get("loadavg"))
        )
    table = Table(
        f"{key}-sides",
        [
            Column("side", "side"),
            Column("artifact", "artifact"),
            Column("p50", "p50 ms", numeric=True),
            Column("numerics", "numerics"),
        ],
    )
    for name in ("base", "new"):
        side = sides[name]
        num = side.get("numerics") or {}
        ok = num.get("ok")
        table.rows.append(
            [
                Cell(name.upper(), name),
                Cell(str(side.get("label") or side.get("artifact_dir")), side.get("artifact_dir")),
                Cell.of(getattr(s, f"{name}_p50")),
                Cell(
                    "ok" if ok else ("FAIL" if ok is False else "not checked"),
                    ok,
                    tone="bad" if ok is False else None,
                ),
            ]
        )
    rounds = ab.get("rounds") or []
    starts: dict = {}
    for r in rounds:
        starts.setdefault(r["trial"], r["t"])
    fig = Figure(
        f"{key}-rounds",
        "ab",
        "NEW/BASE per round, and each side's block medians",
        {
            "t": [r["t"] for r in rounds],
            "ratio": [r["ratio"] for r in rounds],
            "base_ms": [_median(r["base_ms"]) for r in rounds],
            "new_ms": [_median(r["new_ms"]) for r in rounds],
            "margin": s.margin,
            "trial_starts": sorted(starts.values()),
        },
        caption="A flat cloud of ratios while both sides' medians move means the pairing "
        "cancelled the machine's drift.",
    )
    title = s.verdict or f"no verdict ({record.get('reason') or ab['stop_reason']})"
    section = Section("A/B: " + title, id=key).add(Text(lines), table)
    if rounds:
        section.add(fig)
    return Report(f"edgevid ab: {record.get('model')}", sections=[section])


def _median(xs: list) -> float:
    xs = sorted(xs)
    if not xs:
        return math.nan
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2
